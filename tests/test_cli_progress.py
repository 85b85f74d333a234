"""The crawl's progress display (crawl/progress.py), built with get_crawler and fed stats by hand."""

from __future__ import annotations

import io

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from habrmirror.crawl.progress import ProgressReporter, duration, plural


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def reporter(stats: dict[str, int], total: tuple[str, int] | None = None) -> tuple[ProgressReporter, Clock]:
    crawler = get_crawler(settings_dict={"HABR_PROGRESS_INTERVAL": 5})
    assert crawler.stats is not None
    for key, value in stats.items():
        crawler.stats.set_value(key, value)
    built = ProgressReporter.from_crawler(crawler)
    assert built.interval == 5 and built.live is False  # pytest's stderr is not a terminal
    clock = Clock()
    progress = ProgressReporter(crawler.stats, built.interval, stream=io.StringIO(), clock=clock)
    if total:
        progress.unit, progress.total = total
    clock.now += 20
    return progress, clock


STATS = {
    "response_received_count": 60,
    "habrmirror/listings/pages": 2,
    "habrmirror/articles/archived": 30,
    "habrmirror/articles_refreshed": 4,
    "habrmirror/articles_skipped": 5,
    "habrmirror/articles/gone": 3,
    "habrmirror/articles/network_error": 1,
    "habrmirror/articles/robots": 1,
    "habrmirror/images/archived": 41,
}


def test_line_of_an_id_backfill_has_rate_and_eta() -> None:
    progress, _ = reporter(STATS, ("articles", 100))
    assert progress.line() == (
        "progress: 40/100 articles (40%), 2.0/s, ETA 30s | listing pages: 2 | articles: 26 new, 4 refreshed, "
        "5 already archived, 3 gone, 1 failed, 1 skipped by robots.txt | 60 responses | 41 images | in 20s"
    )


def test_line_of_an_open_walk_counts_responses() -> None:
    progress, _ = reporter({"response_received_count": 1, "habrmirror/listings/pages": 1})
    assert progress.line() == (
        "progress: 1 response (0.1/s) | listing pages: 1 | articles: 0 new, 0 refreshed, 0 already archived, "
        "0 gone, 0 failed | 0 images | in 20s"
    )


def test_final_line_is_always_printed_and_a_page_walk_counts_pages() -> None:
    progress, _ = reporter({**STATS, "habrmirror/failures/listing_error": 1}, ("listing pages", 4))
    assert progress.line().startswith("progress: 3/4 listing pages (75%), 0.1/s, ETA 6s | ")
    progress.spider_closed()
    assert isinstance(progress.stream, io.StringIO)
    final = progress.stream.getvalue()
    assert final.startswith("done: 3/4 listing pages, 0.1/s | listing pages: 2 | ") and final.endswith(
        " in 20s\n"
    )
    assert "2 failed" in final  # the article's network error and the listing page


def test_live_frame_renders() -> None:
    from rich.console import Console

    for total in (("articles", 100), None):
        progress, _ = reporter(STATS, total)
        console = Console(file=io.StringIO(), width=120)
        console.print(progress.render())
        text = console.file.getvalue()  # type: ignore[attr-defined]
        assert "new 26" in text and "listing pages 2" in text
        assert ("40/100 articles" in text) == bool(total)


def test_switched_off() -> None:
    with pytest.raises(NotConfigured):
        ProgressReporter.from_crawler(get_crawler(settings_dict={"HABR_PROGRESS_INTERVAL": 0}))


def test_words() -> None:
    assert [plural(n, "page") for n in (0, 1, 2)] == ["0 pages", "1 page", "2 pages"]
    assert [duration(s) for s in (5, 65, 7300)] == ["5s", "1m05s", "2h01m"]
