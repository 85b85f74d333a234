"""Scrapy components built with ``scrapy.utils.test.get_crawler`` and called directly (no crawl running).

The end-to-end crawls (``test_crawl_*.py``, ``test_archive_e2e.py``) show the components work together; these
show each one's own rule: the pipelines on real saved pages, the Retry-After parser, the request budget, and
when a listing's mark may move.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import scrapy
from scrapy.exceptions import DropItem
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from habrmirror import settings as habr_settings
from habrmirror.capture import CaptureResult, FetchedPage, Outcome, judge
from habrmirror.crawl.middlewares import (
    RequestBudgetMiddleware,
    RequestBudgetSpent,
    RetryAfterMiddleware,
    retry_after_seconds,
)
from habrmirror.crawl.pipelines.index import IndexPipeline
from habrmirror.crawl.pipelines.media import IMAGE_OF_META, ImageCapturePipeline
from habrmirror.crawl.pipelines.validation import SchemaValidationPipeline
from habrmirror.crawl.recorder import WarcRecorder
from habrmirror.crawl.session import ArchiveSession
from habrmirror.crawl.spiders.article import ArticleSpider
from habrmirror.replica import ReplicaThread
from habrmirror.store.captures import iter_captures
from habrmirror.store.index import iter_rows
from habrmirror.store.marks import ListingWalk
from tests.conftest import FIXTURES

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
PAGE = "article-tm-804525-browsersaved-2024.html"  # a 2024 page with body images


def project_settings(**overrides: object) -> dict[str, object]:
    """habrmirror's settings module as a dict (get_crawler starts from Scrapy's defaults only)."""
    values = {name: getattr(habr_settings, name) for name in dir(habr_settings) if name.isupper()}
    return {**values, **overrides}


def crawler_for(archive: Path, **settings: object) -> scrapy.crawler.Crawler:
    crawler = get_crawler(ArticleSpider, project_settings(HABR_ARCHIVE_DIR=str(archive), **settings))
    crawler._apply_settings()  # stats, as a started crawl has them
    return crawler


def archived_result(
    url: str = "https://habr.com/ru/articles/804525/", body: bytes | None = None
) -> CaptureResult:
    page = FetchedPage(url, 200, body or (FIXTURES / PAGE).read_bytes(), WHEN, article_id=804525)
    result = judge(page)
    assert result.outcome is Outcome.ARCHIVED and result.article is not None
    return result


@pytest.fixture
def session(tmp_path: Path) -> Iterator[ArchiveSession]:
    crawler = crawler_for(tmp_path / "archive")
    session = ArchiveSession.of(crawler)
    yield session
    if not session.closed:
        session.spider_closed(crawler._create_spider(url="1"), "finished")


def close(session: ArchiveSession) -> dict:
    assert session.crawler is not None
    session.spider_closed(session.crawler._create_spider(url="1"), "finished")
    assert session.summary is not None
    return session.summary


# --- pipelines ------------------------------------------------------------------------------------------------


def test_index_pipeline_logs_the_capture_and_returns_the_row(session: ArchiveSession) -> None:
    result = SchemaValidationPipeline(session).process_item(archived_result())
    row = IndexPipeline(session).process_item(result)
    assert row["id"] == 804525 and row["fetched_url"] == "https://habr.com/ru/articles/804525/"
    assert row["captured_at"] == "2026-12-01T12:00:00+00:00"
    summary = close(session)
    assert summary["outcomes"] == {"archived": 1} and summary["failed"] == 0
    (line,) = iter_captures(session.root / "captures")
    assert (line.id, line.outcome, line.status, line.time) == (804525, "archived", 200, row["captured_at"])
    assert [image["url"] for image in line.images or []] == [image["url"] for image in row["images"]]
    assert list(iter_rows(session.root / "index")) == [row]


def test_validation_pipeline_drops_an_invalid_row_and_logs_why(session: ArchiveSession) -> None:
    result = archived_result()
    assert result.article is not None
    result.article.reading_time = "8 min"  # type: ignore[assignment]  # the schema wants an integer
    with pytest.raises(DropItem, match="fails the schema: reading_time"):
        SchemaValidationPipeline(session).process_item(result)
    assert session.crawler is not None
    assert session.crawler.stats.get_value("habrmirror/validation/errors/reading_time") == 1
    summary = close(session)
    assert summary["outcomes"] == {"invalid": 1}
    (line,) = iter_captures(session.root / "captures")
    assert line.outcome == "invalid" and line.reason and line.reason.startswith("reading_time: ")
    assert list(iter_rows(session.root / "index")) == []


def test_image_pipeline_records_each_image_and_its_outcome(tmp_path: Path) -> None:
    """Images fetched from the replica through the real WARC recorder; a missing one is reported, not fatal."""
    crawler = crawler_for(tmp_path / "archive")
    session = ArchiveSession.of(crawler)
    recorder = WarcRecorder.from_crawler(crawler)
    spider = crawler._create_spider(url="1")
    with ReplicaThread() as replica:
        url = f"{replica.origin}/ru/articles/804525/"
        with urllib.request.urlopen(url, timeout=10) as answer:  # its image URLs point at the replica
            result = archived_result(url, answer.read())
        assert result.article is not None
        result.article.images[0].url = f"{replica.origin}/ru/no-such-image.png"  # the replica 404s it
        fetched: list[str] = []

        async def download(request: scrapy.Request) -> Response:
            fetched.append(request.url)
            try:
                with urllib.request.urlopen(request.url, timeout=10) as answer:
                    status, body, headers = answer.status, answer.read(), dict(answer.headers)
            except urllib.error.HTTPError as error:
                status, body, headers = error.code, error.read(), dict(error.headers)
            response = Response(request.url, status=status, body=body, headers=headers, request=request)
            recorder.response_downloaded(response, request, spider)
            return response

        pipeline = ImageCapturePipeline(session, download)
        asyncio.run(pipeline.process_item(result))
    images = result.article.images
    assert (images[0].archived, images[0].error) == (False, "HTTP 404")
    assert all(image.archived and image.error is None for image in images[1:]), images
    assert set(fetched) >= {image.url for image in images}  # the originals, plus the resized copies
    assert crawler.stats.get_value("habrmirror/images/archived") == len(images) - 1
    assert crawler.stats.get_value("habrmirror/images/failed") == 1
    session.spider_closed(spider, "finished")
    assert session.summary is not None and len(session.summary["warc_files"]) == 1


# --- middlewares ----------------------------------------------------------------------------------------------


def test_retry_after_seconds() -> None:
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(b" 0 ") == 0.0
    later = datetime.now(timezone.utc) + timedelta(seconds=90)
    assert 80 <= (retry_after_seconds(format_datetime(later, usegmt=True).encode()) or 0) <= 90
    earlier = datetime.now(timezone.utc) - timedelta(hours=1)
    assert retry_after_seconds(format_datetime(earlier, usegmt=True).encode()) == 0.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(b"-5") is None
    assert retry_after_seconds(None) is None and retry_after_seconds(b"") is None


def test_retry_after_beyond_the_cap_is_not_waited_for() -> None:
    crawler = get_crawler(settings_dict={"HABR_RETRY_AFTER_MAX": 30})
    middleware = RetryAfterMiddleware.from_crawler(crawler)
    request = scrapy.Request("https://habr.com/ru/articles/1/")
    response = Response(request.url, status=429, headers={"Retry-After": "3600"}, request=request)
    assert asyncio.run(middleware.process_response(request, response)) is response


class _Engine:
    """Records what the budget middleware asks of the engine (no crawl is running in these tests)."""

    def __init__(self) -> None:
        self.closed: list[str] = []

    async def close_spider_async(self, reason: str) -> None:
        self.closed.append(reason)


def test_request_budget_stops_new_work_but_lets_images_of_downloaded_articles_out() -> None:
    crawler = get_crawler(settings_dict={"HABR_REQUEST_BUDGET": 2})
    engine = _Engine()
    crawler.engine = engine  # type: ignore[assignment]
    budget = RequestBudgetMiddleware.from_crawler(crawler)

    async def requests() -> None:  # in an event loop, as in a crawl (the close is scheduled on it)
        page = scrapy.Request("https://habr.com/ru/articles/1/")
        assert budget.process_request(page) is None and budget.process_request(page) is None
        assert engine.closed == []
        with pytest.raises(RequestBudgetSpent):
            budget.process_request(scrapy.Request("https://habr.com/ru/articles/2/"))
        image = scrapy.Request("https://habrastorage.org/x.png", meta={IMAGE_OF_META: 1})
        assert budget.process_request(image) is None
        with pytest.raises(RequestBudgetSpent):
            budget.process_request(scrapy.Request("https://habr.com/ru/articles/3/"))
        await asyncio.sleep(0)  # let the scheduled close run

    asyncio.run(requests())
    assert engine.closed == ["request_budget"]  # asked once, however many requests follow


def test_no_budget_means_no_middleware() -> None:
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        RequestBudgetMiddleware.from_crawler(get_crawler(settings_dict={"HABR_REQUEST_BUDGET": 0}))


# --- the listing-mark rule ------------------------------------------------------------------------------------


def utc(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc)


def walked(previous: datetime | None, *published: datetime, **flags: object) -> ListingWalk:
    walk = ListingWalk(key="ru/articles", previous_mark=previous)
    for moment in published:
        walk.see(moment)
    for name, value in flags.items():
        setattr(walk, name, value)
    return walk


def test_mark_moves_when_the_walk_reached_the_previous_mark() -> None:
    walk = walked(utc(10), utc(12), utc(9), reached_stop=True)
    assert walk.completed(run_ok=True)
    assert (walk.newest, walk.oldest) == (utc(12), utc(9))


def test_mark_stays_after_a_failed_or_interrupted_run() -> None:
    assert not walked(utc(10), utc(12), utc(9), reached_stop=True).completed(run_ok=False)
    failing = walked(utc(10), utc(12), utc(9), reached_stop=True, failed="listing page 3: HTTP 500")
    assert not failing.completed(run_ok=True)
    assert failing.why_not("finished", 0) == "listing page 3: HTTP 500"
    assert walked(utc(10)).why_not("shutdown", 0) == "run ended early (shutdown)"
    assert "2 transient failures" in walked(utc(10)).why_not("finished", 2)


def test_mark_stays_when_a_page_limit_stopped_the_walk_above_the_previous_mark() -> None:
    walk = walked(utc(10), utc(14), utc(12), hit_page_limit=True)
    assert not walk.completed(run_ok=True)
    assert walk.why_not("finished", 0) == "stopped (--pages/--since) before reaching the previous mark"


def test_first_run_takes_the_depth_the_user_chose_and_the_end_of_a_listing_always_completes() -> None:
    assert walked(None, utc(14), utc(12), hit_page_limit=True).completed(run_ok=True)
    assert not walked(None, utc(14)).completed(run_ok=True)  # neither a stop nor a limit: stopped mid-walk
    assert walked(utc(10), utc(14), utc(13), reached_end=True).completed(run_ok=True)


def test_stop_time_is_the_later_bound_widened_by_the_refresh_window() -> None:
    walk = walked(utc(10))
    assert walk.stop_time(since=utc(5), refresh_after=None) == utc(10)
    assert walk.stop_time(since=utc(12), refresh_after=None) == utc(12)
    assert walk.stop_time(since=None, refresh_after=utc(8)) == utc(8)
    assert walked(None).stop_time(since=None, refresh_after=utc(8)) is None  # first run: walk to the limit


def test_summary_json_of_a_session_is_what_the_run_file_holds(session: ArchiveSession) -> None:
    summary = close(session)
    (path,) = (session.root / "runs").glob("*.json")
    assert json.loads(path.read_text(encoding="utf-8")) == summary
