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
from habrmirror.clock import iso, utc_now
from habrmirror.crawl.middlewares import RAW_BODY_META, RequestBudgetSpent
from habrmirror.crawl.parse_pool import ParsePool
from habrmirror.crawl.recorder import FETCHED_AT_META, WARC_META_KEY
from habrmirror.crawl.session import ArchiveSession
from habrmirror.items import Article, stamp_capture
from habrmirror.pages.errors import BlockedPage, NotAnArticlePage, ParseError
from habrmirror.urls import normalize_origin

ARTICLE_ID_META = "habr_article_id"
# What Scrapy's RobotsTxtMiddleware says when it drops a request (its IgnoreRequest has no subclass to check).
ROBOTS_REFUSAL = "robots.txt"
# Statuses an article callback sees itself (everything else is an http_error via the errback).
ARTICLE_STATUSES = [403, 404, 410]


class HabrSpider(scrapy.Spider):
    """Base spider: ``-a origin=`` (default ``HABR_ORIGIN``) and article routing."""

    origin: str
    session: ArchiveSession
    parse_pool: ParsePool

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

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> HabrSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.origin = normalize_origin(kwargs.get("origin") or crawler.settings.get("HABR_ORIGIN"))
        spider.session = ArchiveSession.of(crawler)
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
            dont_filter=True,
            meta={
                ARTICLE_ID_META: article_id,
                "handle_httpstatus_list": ARTICLE_STATUSES,
                RAW_BODY_META: True,
                **meta,
            },
        )

    async def parse_article(self, response: Response) -> AsyncIterator[Article]:
        """Route an article response: a parsed item goes to the pipelines, anything else is logged as a capture."""
        article_id = response.meta.get(ARTICLE_ID_META)
        written = response.meta.get(WARC_META_KEY)
        pointer = written.content_pointer if written else None
        fetched_at = response.meta.get(FETCHED_AT_META) or utc_now()
        if response.status in (404, 410):
            reason = f"HTTP {response.status}: deleted or never existed"
            self.session.record(
                article_id, response.url, response.status, "gone", reason, pointer, time=iso(fetched_at)
            )
            if article_id is not None:
                self.session.index.mark_gone(article_id, iso(fetched_at))
            return
        if response.status == 403:
            self.session.record(
                article_id, response.url, 403, "forbidden", "HTTP 403: draft or hidden post", pointer
            )
            return
        try:
            encoding = response.headers.get(b"Content-Encoding")
            article = await self.parse_pool.parse(
                response.url, response.body, fetched_at, encoding.decode("latin-1") if encoding else None
            )
        except NotAnArticlePage as error:
            self.session.record(article_id, response.url, response.status, "not_article", str(error), pointer)
            return
        except BlockedPage as error:
            self.session.record(article_id, response.url, response.status, "blocked", str(error), pointer)
            return
        except ParseError as error:
            self.session.record(article_id, response.url, response.status, "parse_error", str(error), pointer)
            return
        except (
            Exception
        ) as error:  # a parser bug: reported per page, the crawl goes on, the WARC keeps the bytes
            self.logger.error("parser crashed on %s: %r", response.url, error, exc_info=error)
            reason = f"parser crashed: {type(error).__name__}: {error}"
            self.session.record(article_id, response.url, response.status, "parse_error", reason, pointer)
            return
        stamp_capture(article, response.url, iso(fetched_at), pointer)
        self.session.capture_context[article.id] = {
            "status": response.status,
            "revisit": bool(written and written.revisit_of),
        }
        yield article

    def article_failed(self, failure: Failure) -> None:
        """Network errors and HTTP statuses the callback does not handle.

        A request the crawl chose not to send is not a failed fetch: robots.txt disallows it (logged as a
        ``robots`` capture, so the summary says why the post is missing; not retried) or the request budget is
        used up (nothing logged: the next run sends it).
        """
        request = failure.request  # type: ignore[attr-defined]
        article_id = request.meta.get(ARTICLE_ID_META)
        if failure.check(RequestBudgetSpent):
            return
        if failure.check(IgnoreRequest) and ROBOTS_REFUSAL in str(failure.value):
            self.session.record(article_id, request.url, None, "robots", f"not requested: {failure.value}")
            return
        response = getattr(failure.value, "response", None)
        if response is not None:
            written = request.meta.get(WARC_META_KEY)
            self.session.record(
                article_id,
                request.url,
                response.status,
                "http_error",
                f"HTTP {response.status}",
                written.content_pointer if written else None,
            )
        else:
            self.session.record(
                article_id,
                request.url,
                None,
                "network_error",
                f"{failure.type.__name__}: {failure.getErrorMessage()}",
            )
