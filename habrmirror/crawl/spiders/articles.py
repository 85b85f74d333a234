"""``articles`` spider: the scheduled crawl of Habr's "All Articles" listings (or a backfill by id range).

Listing mode walks ``/ru/articles/`` and ``/ru/news/`` (``listings=``; the legacy ``all`` too) newest-first and
requests every post whose id is not archived yet, plus the posts published within ``refresh_days`` (re-captured
to catch edits). It walks back until it passes the mark the last *completed* run reached
(:mod:`habrmirror.store.marks`), or ``pages``/``since`` say stop. Id mode (``ids=454000-455000``) requests each id
in the range; ids that 404 are counted as gone, not as errors.

``scrapy crawl articles -a pages=5 -a listings=articles,news -s HABR_ARCHIVE_DIR=archives/``
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from habrmirror.capture import Outcome
from habrmirror.clock import iso, parse_utc, utc_now
from habrmirror.crawl.middlewares import RequestBudgetSpent
from habrmirror.crawl.spiders.base import HabrSpider
from habrmirror.pages.errors import PageError
from habrmirror.store.marks import CrawlState, ListingWalk
from habrmirror.urls import LISTING_KINDS, article_url, listing_url

LISTING_META = "habr_listing"


def article_priority(page: int) -> int:
    """Scheduler priority of the articles listed on listing page ``page`` (see :func:`listing_priority`)."""
    return -2 * page


def listing_priority(page: int) -> int:
    """Listing page N+1 goes before the articles of page N, but after those of page N-1: the walk runs one
    page ahead of the downloads. Parsing a listing waits behind the article pages already queued in the parse
    worker; without the lookahead the downloader would sit idle for that wait at every page boundary, with it
    at most ~two pages of article requests are queued (memory stays flat however long the walk)."""
    return article_priority(page) + 3


def parse_id_range(text: str) -> range:
    """``454000-455000`` (inclusive) or a single id."""
    first, sep, last = text.partition("-")
    try:
        start, stop = int(first), int(last) if sep else int(first)
    except ValueError:
        raise ValueError(f"ids must look like 454000-455000, got {text!r}") from None
    if start <= 0 or stop < start:
        raise ValueError(f"bad id range {text!r}")
    return range(start, stop + 1)


def parse_since(text: str | None) -> datetime | None:
    """An ISO date or datetime; naive values are taken as UTC."""
    if not text:
        return None
    return parse_utc(text)


class ArticlesSpider(HabrSpider):
    name = "articles"

    def __init__(
        self,
        pages: str | int | None = None,
        since: str | None = None,
        ids: str | None = None,
        refresh_days: str | float | None = None,
        listings: str = "articles,news",
        language: str = "ru",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_pages = int(pages) if pages else None
        self.since = parse_since(since)
        self.ids = parse_id_range(ids) if ids else None
        self.refresh_days = float(refresh_days) if refresh_days else 0.0
        self.kinds = [kind.strip() for kind in listings.split(",") if kind.strip()]
        unknown = [kind for kind in self.kinds if kind not in LISTING_KINDS]
        if unknown:
            raise ValueError(f"unknown listing {unknown[0]!r}; choose from {', '.join(LISTING_KINDS)}")
        self.language = language
        self.walks: dict[str, ListingWalk] = {}
        # ids this run has seen in a listing (and requested, unless archived already)
        self.requested: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArticlesSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, ArticlesSpider)
        spider.state = CrawlState.load(spider.session.writer.archive.state_dir)
        spider.session.add_finalizer(spider.finish_run)
        return spider

    state: CrawlState

    @property
    def refresh_after(self) -> datetime | None:
        """Posts published after this are re-captured even when archived."""
        return utc_now() - timedelta(days=self.refresh_days) if self.refresh_days > 0 else None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.parse_pool.start()
        if self.ids is not None:
            for article in self.ids:
                if self.session.is_archived(article):
                    self.session.stats_inc("articles_skipped")
                    continue
                yield self.article_request(article_url(article, self.origin, self.language), article)
            return
        for kind in self.kinds:
            key = f"{self.language}/{kind}"
            self.walks[key] = ListingWalk(key=key, previous_mark=self.state.mark(key))
            yield self.listing_request(kind, 1)

    def listing_request(self, kind: str, page: int, url: str | None = None) -> scrapy.Request:
        return scrapy.Request(
            url or listing_url(self.origin, kind, page, self.language),
            callback=self.parse_listing_page,
            errback=self.listing_failed,
            meta={LISTING_META: (kind, page)},
            dont_filter=True,
            priority=listing_priority(page),
        )

    async def parse_listing_page(self, response: Response) -> AsyncIterator[scrapy.Request]:
        kind, page_number = response.meta[LISTING_META]
        walk = self.walks[f"{self.language}/{kind}"]
        self.session.stats_inc("listings/pages")
        walk.pages += 1
        try:
            page = await self.parse_pool.parse_listing(response.url, response.body)
        except PageError as error:
            walk.failed = f"listing page {response.url}: {error}"
            self.session.note_failure(response.url, Outcome.LISTING_ERROR, str(error))
            return
        stop_at = walk.stop_time(self.since, self.refresh_after)
        passed = False
        for entry in page.entries:
            walk.see(entry.published_at)
            if stop_at and entry.published_at and entry.published_at < stop_at:
                passed = True
            if entry.id in self.requested:
                # listed twice: in two listings (``all`` holds both others), or pushed onto the next page
                # by posts published while we walk; one fetch per run
                continue
            self.requested.add(entry.id)
            archived = self.session.is_archived(entry.id)
            fresh = bool(
                self.refresh_after and entry.published_at and entry.published_at >= self.refresh_after
            )
            if archived and not fresh:
                self.session.stats_inc("articles_skipped")
            else:
                if archived:
                    self.session.stats_inc("articles_refreshed")
                yield self.article_request(entry.url, entry.id, article_priority(page_number))
        if passed:
            walk.reached_stop = True
            return
        if not page.next_url:
            walk.reached_end = True
            return
        if self.max_pages and page_number >= self.max_pages:
            walk.hit_page_limit = True
            return
        yield self.listing_request(kind, page_number + 1, page.next_url)

    def listing_failed(self, failure: Failure) -> None:
        if failure.check(RequestBudgetSpent):
            return  # the run is stopping; the mark stays (finish reason request_budget)
        request = failure.request  # type: ignore[attr-defined]
        kind, _ = request.meta[LISTING_META]
        response = getattr(failure.value, "response", None)
        reason = (
            f"HTTP {response.status}"
            if response is not None
            else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        )
        self.walks[f"{self.language}/{kind}"].failed = f"listing page {request.url}: {reason}"
        self.session.note_failure(request.url, Outcome.LISTING_ERROR, reason)

    def finish_run(self, reason: str) -> dict[str, Any]:
        """Move each listing's mark only when this run covered everything down to it (see crawl_state)."""
        transient = self.session.transient_failures()
        summary: dict[str, Any] = {}
        for key, walk in self.walks.items():
            moved = walk.completed(reason == "finished" and transient == 0) and walk.newest is not None
            if moved:
                assert walk.newest is not None
                self.state.set_mark(key, walk.newest)
            summary[key] = {
                "pages": walk.pages,
                "previous_mark": iso(walk.previous_mark) if walk.previous_mark else None,
                "newest_seen": iso(walk.newest) if walk.newest else None,
                "oldest_seen": iso(walk.oldest) if walk.oldest else None,
                "mark": iso(m) if (m := self.state.mark(key)) else None,
                "mark_moved": moved,
                "why_not_moved": None if moved else walk.why_not(reason, transient),
            }
        if self.walks:
            self.state.save()
        return {"listings": summary}
