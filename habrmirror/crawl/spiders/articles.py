"""``articles`` spider: the scheduled crawl of Habr's "All Articles" listings (or a backfill by id range).

Listing mode walks ``/ru/articles/`` and ``/ru/news/`` (``listings=``; the legacy ``all`` too) newest-first and
requests every post whose id is not archived yet, plus the posts published within ``refresh_days`` (re-captured
to catch edits). It walks back until it passes the mark the last *completed* run reached
(:mod:`habrmirror.store.marks`), or ``pages``/``since`` say stop. Id mode (``ids=454000-455000``) requests each id
in the range; ids that 404 are counted as gone, not as errors.

``scrapy crawl articles -a pages=5 -a listings=articles,news -s HABR_ARCHIVE_DIR=archives/``
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from habrmirror.capture import Outcome
from habrmirror.clock import iso, parse_utc, utc_now
from habrmirror.crawl.frontier.worker import FrontierLost
from habrmirror.crawl.middlewares import RequestBudgetSpent
from habrmirror.crawl.spiders.base import HabrSpider
from habrmirror.pages.errors import PageError
from habrmirror.store.layout import ArchiveDir
from habrmirror.store.marks import CrawlState, ListingWalk
from habrmirror.urls import LISTING_KINDS, MAX_ARTICLE_ID, article_url, at_origin, listing_url

LISTING_META = "habr_listing"
logger = logging.getLogger(__name__)
ID_BLOCK = 100  # ids per block a shared job's workers claim (``--ids`` with ``--redis``)


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
    """``454000-455000`` (inclusive) or a single id, each 1..:data:`~habrmirror.urls.MAX_ARTICLE_ID`."""
    first, sep, last = text.strip().partition("-")
    if not (first.strip().isascii() and first.strip().isdigit()) or (
        sep and not (last.strip().isascii() and last.strip().isdigit())
    ):
        raise ValueError(f"--ids must be an id range like 454000-455000 (or one id), got {text!r}")
    start, stop = int(first), int(last) if sep else int(first)
    if not 1 <= start <= MAX_ARTICLE_ID or not 1 <= stop <= MAX_ARTICLE_ID:
        raise ValueError(f"--ids {text!r}: Habr article ids are 1 to {MAX_ARTICLE_ID:,}")
    if stop < start:
        raise ValueError(
            f"bad id range {text!r}: the first id is larger than the last (write {stop}-{start})"
        )
    return range(start, stop + 1)


def parse_since(text: str | None) -> datetime | None:
    """An ISO date or datetime; naive values are taken as UTC."""
    if not text:
        return None
    try:
        return parse_utc(text.strip())
    except ValueError:
        raise ValueError(
            f"--since must be an ISO date like 2024-05-01 or 2024-05-01T12:00:00+03:00, got {text!r}"
        ) from None


def parse_pages(text: str | int | None) -> int | None:
    """``pages=N``: at most N listing pages per listing; None, "" or 0 mean no limit."""
    try:
        pages = int(text) if text not in (None, "") else 0
    except ValueError:
        raise ValueError(f"--pages must be a whole number, got {text!r}") from None
    if pages < 0:
        raise ValueError(f"--pages must be 0 (no limit) or more, got {pages}")
    return pages or None


def parse_refresh_days(text: str | float | None) -> float:
    """``refresh_days=N``: re-capture posts published in the last N days (0 or nothing: none)."""
    try:
        days = float(text) if text not in (None, "") else 0.0
    except ValueError:
        raise ValueError(f"--refresh-days must be a number of days, got {text!r}") from None
    if not math.isfinite(days) or days < 0:
        raise ValueError(f"--refresh-days must be 0 (off) or more days, got {text!r}")
    return days


def parse_listings(text: str) -> list[str]:
    """``articles,news`` -> the listing kinds, each one of :data:`~habrmirror.urls.LISTING_KINDS`, in order."""
    kinds = list(dict.fromkeys(kind.strip() for kind in text.split(",") if kind.strip()))
    unknown = [kind for kind in kinds if kind not in LISTING_KINDS]
    if unknown:
        raise ValueError(f"unknown listing {unknown[0]!r}; choose from {', '.join(LISTING_KINDS)}")
    if not kinds:
        raise ValueError(f"--listings names no listing; choose from {', '.join(LISTING_KINDS)}")
    return kinds


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
        self.max_pages = parse_pages(pages)
        self.since = parse_since(since)
        self.ids = parse_id_range(ids) if ids else None
        self.refresh_days = parse_refresh_days(refresh_days)
        self.kinds = parse_listings(listings)
        if language not in ("ru", "en"):
            raise ValueError(f"language must be ru or en, got {language!r}")
        self.language = language
        self.walks: dict[str, ListingWalk] = {}
        self.stopped: dict[str, str] = {}  # why each listing walk stopped, in words (the summary says it)
        self.walked: dict[
            str, set[str]
        ] = {}  # listing page URLs each walk has read (a next link must not loop)
        # ids this run has seen in a listing (and requested, unless archived already)
        self.requested: set[int] = set()
        self.known_gone = 0  # ids not requested: they answered 404/410 lately (store.gone back-off)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ArticlesSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, ArticlesSpider)
        # A shared job's workers walk back to the marks of the job's archive (moved by the job's fold).
        state_dir = (
            ArchiveDir(spider.frontier.root).state_dir
            if spider.frontier is not None
            else spider.session.writer.archive.state_dir
        )
        spider.state = CrawlState.load(state_dir)
        spider.session.add_finalizer(spider.finish_run)
        return spider

    state: CrawlState

    def progress_total(self) -> tuple[str, int] | None:
        """What the progress display counts towards, when it is known: the ids of ``ids=``, or the listing
        pages ``pages=`` allows (a walk may stop sooner, at the mark); None for an open-ended walk."""
        if self.ids is not None:
            return "articles", len(self.ids)
        if self.max_pages:
            return "listing pages", self.max_pages * len(self.kinds)
        return None

    @property
    def refresh_after(self) -> datetime | None:
        """Posts published after this are re-captured even when archived."""
        return utc_now() - timedelta(days=self.refresh_days) if self.refresh_days > 0 else None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.parse_pool.start()
        if self.ids is None:
            for kind in self.kinds:
                key = f"{self.language}/{kind}"
                self.walks[key] = ListingWalk(key=key, previous_mark=self.state.mark(key))
        if self.frontier is not None:
            # A shared job is seeded once, by whichever worker comes first: the listings' first pages, or the
            # id range as blocks the workers claim (each turned into its requests by the worker claiming it).
            if self.ids is not None:
                first, last = self.ids.start, self.ids.stop - 1
                blocks = [f"{a}-{min(a + ID_BLOCK - 1, last)}" for a in range(first, last + 1, ID_BLOCK)]
                self.frontier.seed([], blocks)
            else:
                self.frontier.seed([self.listing_request(kind, 1) for kind in self.kinds], [])
            return
        if self.ids is not None:
            for request in self.block_requests(self.ids):
                yield request
            return
        for request in self.retry_requests():
            yield request
        for kind in self.kinds:
            yield self.listing_request(kind, 1)

    def retry_requests(self) -> Iterator[scrapy.Request]:
        """The posts earlier runs could not archive for a reason that may pass (the state's retry list), asked
        for first and by URL: the listing marks did not wait for them."""
        for article, url in self.state.retry_items():
            self.session.watched[article] = None
            if self.session.is_archived(article):
                continue  # archived since (by `habrmirror archive`, say): settled at the end of the run
            self.requested.add(article)  # the listings do not ask for it a second time
            self.session.stats_inc("articles_retried")
            # the page it failed at, on this run's origin (an earlier run's may have been another host or port)
            path = urlsplit(url)._replace(scheme="", netloc="").geturl()
            yield self.article_request(at_origin(path, self.origin), article, priority=10)

    def block_requests(self, ids: range) -> Iterator[scrapy.Request]:
        """The requests of the ids not archived and not known gone (a whole ``--ids`` range, or one block)."""
        archived = self.frontier.archived(list(ids)) if self.frontier is not None else None
        for article in ids:
            if (article in archived) if archived is not None else self.session.is_archived(article):
                self.session.stats_inc("articles_skipped")
                continue
            if not self.gone_check_due(article):
                self.known_gone += 1  # answered 404 lately: asked again when its back-off has passed
                continue
            yield self.article_request(article_url(article, self.origin, self.language), article)

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
        """Walk one listing page; in a shared job its lease is acknowledged once every request it made is queued
        (each yield returns after the engine queued the request)."""
        async for request in self._walk_page(response):
            yield request
        self.release(response.request)

    async def _walk_page(self, response: Response) -> AsyncIterator[scrapy.Request]:
        kind, page_number = response.meta[LISTING_META]
        key = f"{self.language}/{kind}"
        walk = self.walks[key]
        self.session.stats_inc("listings/pages")
        walk.pages += 1
        try:
            page = await self.parse_pool.parse_listing(response.url, response.body)
        except PageError as error:
            walk.failed = f"listing page {response.url}: {error}"
            self.stopped[key] = f"listing page {page_number} could not be read"
            self.session.note_failure(response.url, Outcome.LISTING_ERROR, str(error))
            return
        stop_at = walk.stop_time(self.since, self.refresh_after)
        passed = False
        archived_ids = self.archived_among([entry.id for entry in page.entries])
        for entry in page.entries:
            walk.see(entry.published_at)
            if stop_at and entry.published_at and entry.published_at < stop_at:
                passed = True
            if entry.id in self.requested:
                # listed twice: in two listings (``all`` holds both others), or pushed onto the next page
                # by posts published while we walk; one fetch per run
                continue
            self.requested.add(entry.id)
            archived = entry.id in archived_ids
            fresh = bool(
                self.refresh_after and entry.published_at and entry.published_at >= self.refresh_after
            )
            if archived and not fresh:
                self.session.stats_inc("articles_skipped")
            elif not archived and not self.gone_check_due(entry.id):
                self.known_gone += 1  # still listed, but answered 404 lately: re-checked on a back-off
            else:
                if archived:
                    self.session.stats_inc("articles_refreshed")
                # listing links are fetched like user input: Habr's hosts from the origin, no #fragment
                yield self.article_request(
                    at_origin(entry.url, self.origin), entry.id, article_priority(page_number)
                )
        if passed:
            walk.reached_stop = True
            self.stopped[key] = f"{self.stop_bound(walk, stop_at)} reached on page {page_number}"
            return
        walked = self.walked.setdefault(key, set())
        walked.add(response.url)
        next_url = at_origin(page.next_url, self.origin) if page.next_url else None
        more = page.page_count is not None and page_number < page.page_count
        if next_url in walked or (next_url is None and more):
            # The next link loops back, or is missing though the page counts more pages: a broken page must
            # not end the walk as if the listing ended (the mark would move past posts never seen).
            broken = "links back to a page already read" if next_url else "has no next link"
            self.session.stats_inc("listings/broken_next_link")
            next_url = listing_url(self.origin, kind, page_number + 1, self.language) if more else None
            if next_url is None or next_url in walked:
                reason = f"listing page {page_number} {broken} ({response.url})"
                walk.failed = reason
                self.stopped[key] = f"listing page {page_number} {broken}"
                self.session.note_failure(response.url, Outcome.LISTING_ERROR, reason)
                return
            logger.warning(
                "listing page %s %s, but says it has %s pages: going on at %s",
                response.url,
                broken,
                page.page_count,
                next_url,
            )
        if not next_url:
            walk.reached_end = True
            self.stopped[key] = f"end of the listing (page {page_number} is its last)"
            return
        if self.max_pages and page_number >= self.max_pages:
            walk.hit_page_limit = True
            self.stopped[key] = f"page limit reached (--pages {self.max_pages})"
            return
        yield self.listing_request(kind, page_number + 1, next_url)

    def stop_bound(self, walk: ListingWalk, stop_at: datetime | None) -> str:
        """Which bound the walk passed: the last completed run's mark, ``since`` or the refresh window."""
        if stop_at is not None and stop_at == walk.previous_mark:
            return f"the last completed run's mark ({iso(stop_at)})"
        if stop_at is not None and stop_at == self.since:
            return f"--since {iso(stop_at)}"
        return f"the --refresh-days {self.refresh_days:g} window"

    def listing_failed(self, failure: Failure) -> None:
        if failure.check(RequestBudgetSpent, FrontierLost):
            return  # the run is stopping; the mark stays (finish reason request_budget)
        request = failure.request  # type: ignore[attr-defined]
        kind, _ = request.meta[LISTING_META]
        response = getattr(failure.value, "response", None)
        reason = (
            f"HTTP {response.status}"
            if response is not None
            else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        )
        key = f"{self.language}/{kind}"
        self.walks[key].failed = f"listing page {request.url}: {reason}"
        self.stopped[key] = f"listing page {request.meta[LISTING_META][1]} failed ({reason})"
        self.session.note_failure(request.url, Outcome.LISTING_ERROR, reason)
        self.release(request, "failed")

    def walk_summaries(self) -> dict[str, dict[str, Any]]:
        """This worker's part of each listing walk (a shared job's fold joins them to move the marks)."""
        return {
            key: {
                "newest": iso(walk.newest) if walk.newest else None,
                "oldest": iso(walk.oldest) if walk.oldest else None,
                "pages": walk.pages,
                "reached_stop": walk.reached_stop,
                "reached_end": walk.reached_end,
                "hit_page_limit": walk.hit_page_limit,
                "failed": walk.failed,
            }
            for key, walk in self.walks.items()
        }

    def finish_run(self, reason: str) -> dict[str, Any]:
        """Move each listing's mark only when this run covered everything down to it (see crawl_state); posts
        that failed in a way a later run may fix go on the retry list instead of holding the marks."""
        transient = self.session.transient_listing_failures()
        summary: dict[str, Any] = {}
        shared = self.frontier is not None  # a shared job's marks move at its fold, from all workers' walks
        for key, walk in self.walks.items():
            moved = (
                not shared
                and walk.completed(reason == "finished" and transient == 0)
                and walk.newest is not None
            )
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
                "why_not_moved": None
                if moved
                else "a shared job's marks move when its last worker folds the archives"
                if shared
                else walk.why_not(reason, transient),
                "stopped": self.stopped.get(key) or f"the run ended before the walk did ({reason})",
            }
        retry: dict[str, Any] = {}
        if self.walks and not shared:
            retry = self.update_retry_list(reason)
            self.state.save()
        return {"listings": summary, "known_gone_skipped": self.known_gone, **retry}

    def update_retry_list(self, reason: str) -> dict[str, Any]:
        """This run's transient failures onto the retry list; what it settled off it; what was given up."""
        limit = self.crawler.settings.getint("HABR_RETRY_RUNS", 5)
        if reason == "finished":  # a run stopped early settled nothing it did not ask for
            for article, outcome in self.session.watched.items():
                failed_again = article in self.session.transient_articles
                asked = outcome is not None
                if (asked and not failed_again) or (not asked and self.session.is_archived(article)):
                    self.state.settled(article)
        given_up = []
        for article, failure in self.session.transient_articles.items():
            if self.state.note_failed(article, failure["url"], failure["outcome"], failure["reason"], limit):
                given_up.append({"id": article, **failure, "runs": limit})
        return {
            "retry_pending": sorted(int(article) for article in self.state.retry),
            "retry_given_up": given_up,
        }
