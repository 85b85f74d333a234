"""What every habrmirror spider shares: the origin, the polite User-Agent, and routing an article response.

Spiders only route: they build requests and hand responses to the page objects; what happens to the item
afterwards (images, validation, index) is the pipelines' job, and the WARC is written before the spider sees
the response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from habrmirror import __version__
from habrmirror.capture import CaptureResult, Outcome, judge, network_reason, not_fetched
from habrmirror.clock import iso, utc_now
from habrmirror.crawl.frontier.worker import FrontierLost, FrontierWorker
from habrmirror.crawl.middlewares import RAW_BODY_META, RequestBudgetSpent
from habrmirror.crawl.offsite import OffsiteRefused
from habrmirror.crawl.parse_pool import ParsePool
from habrmirror.crawl.recorder import fetched_page
from habrmirror.crawl.session import ArchiveSession
from habrmirror.urls import normalize_origin

ARTICLE_ID_META = "habr_article_id"
# What Scrapy's RobotsTxtMiddleware says when it drops a request (its IgnoreRequest has no subclass to check).
ROBOTS_REFUSAL = "robots.txt"
# What Scrapy's RedirectMiddleware says when a chain passes REDIRECT_MAX_TIMES (a loop, usually): it got answers,
# so this is an HTTP problem, not a network one.
REDIRECT_REFUSAL = "max redirections reached"
# Statuses an article callback sees itself (everything else is an http_error via the errback).
ARTICLE_STATUSES = [403, 404, 410]


class HabrSpider(scrapy.Spider):
    """Base spider: ``-a origin=`` (default ``HABR_ORIGIN``) and article routing."""

    origin: str
    session: ArchiveSession
    parse_pool: ParsePool
    frontier: FrontierWorker | None = None  # set when the crawl is a worker of a shared job (HABR_REDIS_URL)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        contact = settings.get("HABR_CONTACT")
        if (
            contact
            and "habrmirror/" in settings.get("USER_AGENT", "")
            and contact not in settings["USER_AGENT"]
        ):
            settings.set(
                "USER_AGENT", f"habrmirror/{__version__} (+{contact}; web archiving)", priority="spider"
            )
        if settings.get("HABR_REDIS_URL"):
            # a worker of a shared job: scrapy-redis's scheduler with habrmirror's lease queue (so scrapyd
            # runs given -s HABR_REDIS_URL=... are workers too)
            settings.set("SCHEDULER", "habrmirror.crawl.frontier.scheduler.LeaseScheduler", priority="spider")
            handlers = settings.getdict("DOWNLOAD_HANDLERS")
            for scheme in ("http", "https"):  # the shared rate waits right before the send
                handlers[scheme] = "habrmirror.crawl.frontier.politeness.RateLimitedDownloadHandler"
            settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> HabrSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.origin = normalize_origin(kwargs.get("origin") or crawler.settings.get("HABR_ORIGIN"))
        spider.session = ArchiveSession.of(crawler)
        spider.frontier = FrontierWorker.of(crawler)
        spider.parse_pool = ParsePool(crawler.settings.getint("HABR_PARSE_WORKERS", 1))
        spider.session.add_closer(spider.parse_pool.close)
        return spider

    def article_request(
        self, url: str, article_id: int | None, priority: int = 0, **meta: Any
    ) -> scrapy.Request:
        """The request for one article page (redirects followed; each hop is recorded)."""
        return scrapy.Request(
            url,
            priority=priority,
            callback=self.parse_article,
            errback=self.article_failed,
            # one fetch per post and job: a shared job's workers filter through the job's dupefilter
            dont_filter=self.frontier is None,
            meta={
                ARTICLE_ID_META: article_id,
                "handle_httpstatus_list": ARTICLE_STATUSES,
                RAW_BODY_META: True,
                **meta,
            },
        )

    async def parse_article(self, response: Response) -> AsyncIterator[CaptureResult]:
        """Route an article response: an archived page goes on to the pipelines, any other outcome is logged."""
        result = await self.parse_pool.judge(fetched_page(response, response.meta.get(ARTICLE_ID_META)))
        if result.outcome is Outcome.ARCHIVED:
            yield result  # images, validation and the index row: the pipelines (acknowledged at item_scraped)
        else:
            self.session.record(result)
            self.release(response.request)

    def release(self, request: scrapy.Request | None, outcome: str = "done") -> None:
        """A shared job's request is done with (its work recorded): acknowledge its lease."""
        if self.frontier is not None:
            self.frontier.release(request, outcome)

    def archived_among(self, ids: list[int]) -> set[int]:
        """Which of ``ids`` have a row: in this archive, or (a shared job) in the job's archive or its workers'."""
        if self.frontier is not None:
            return self.frontier.archived(ids)
        return {article for article in ids if self.session.is_archived(article)}

    def gone_check_due(self, article: int) -> bool:
        """False for an id known gone whose re-check is not due yet."""
        if self.frontier is not None:
            return self.frontier.gone_check_due(article, utc_now())
        return self.session.gone_check_due(article)

    def article_failed(self, failure: Failure) -> None:
        """Network errors and HTTP statuses the callback does not handle.

        A request the crawl chose not to send is not a failed fetch: robots.txt disallows it (logged as a
        ``robots`` capture, so the summary says why the post is missing; not retried) or the request budget is
        used up (nothing logged: the next run sends it).
        """
        request = failure.request  # type: ignore[attr-defined]
        article_id = request.meta.get(ARTICLE_ID_META)
        if failure.check(RequestBudgetSpent, FrontierLost):
            return  # not sent: a shared job's lease goes back to the queue when this worker leaves
        if failure.check(OffsiteRefused):
            # Asked for on an allowed host, it redirected off them (the 301 is in the WARC): not followed, and
            # not retried by the next run (it is not a network error).
            asked = (request.meta.get("redirect_urls") or [request.url])[0]
            reason = f"not requested: {failure.value}"
            self.session.record(not_fetched(asked, article_id, Outcome.NOT_ARTICLE, reason, iso(utc_now())))
            self.release(request, "failed")  # recorded: a shared job's lease is done with
            return
        if failure.check(IgnoreRequest) and ROBOTS_REFUSAL in str(failure.value):
            reason = f"not requested: {failure.value}"
            self.session.record(not_fetched(request.url, article_id, Outcome.ROBOTS, reason, iso(utc_now())))
            self.release(request)
            return
        if failure.check(IgnoreRequest) and REDIRECT_REFUSAL in str(failure.value):
            chain = request.meta.get("redirect_urls") or [request.url]  # the URL asked for comes first
            reason = f"redirect loop: gave up after {len(chain)} redirects (REDIRECT_MAX_TIMES)"
            self.session.record(not_fetched(chain[0], article_id, Outcome.HTTP_ERROR, reason, iso(utc_now())))
            return
        response = getattr(failure.value, "response", None)
        if response is not None:
            self.session.record(
                judge(fetched_page(response, article_id))
            )  # an HTTP status no callback handles
            self.release(request, "failed")
            return
        reason = network_reason(failure.value)
        self.session.record(
            not_fetched(request.url, article_id, Outcome.NETWORK_ERROR, reason, iso(utc_now()))
        )
        self.release(request, "failed")
