"""Downloader middlewares: politeness (Retry-After, request budget), size limits, and the loopback guard of tests.

They sit between the spider's requests and the download, before anything is recorded to the WARC.
"""

from __future__ import annotations

import ipaddress
import logging
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.task import deferLater

from habrmirror.capture import PageSize, megabytes
from habrmirror.clock import utc_now
from habrmirror.crawl.download_handler import TRUNCATED_FLAG, WIRE_META_KEY
from habrmirror.crawl.pipelines.comments import COMMENTS_OF_META
from habrmirror.crawl.pipelines.media import IMAGE_OF_META
from habrmirror.crawl.recorder import PAGE_SIZE_META

logger = logging.getLogger(__name__)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackOnlyMiddleware:
    """With ``HABR_LOOPBACK_ONLY``, refuse any request off 127.0.0.1 (tests and the demo never leave the box)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LoopbackOnlyMiddleware:
        if not crawler.settings.getbool("HABR_LOOPBACK_ONLY"):
            raise NotConfigured  # switched off
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if not is_loopback_host(host):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("habrmirror/loopback_guard/refused")
            raise IgnoreRequest(f"HABR_LOOPBACK_ONLY refuses {request.url}")


RAW_BODY_META = (
    "habr_raw_body"  # request.meta key: keep the body content-encoded (the parse worker decodes it)
)


class RawBodyCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware, except for requests marked ``habr_raw_body``: their body stays as it
    came, so decompressing an article page happens in the parse worker, not on the crawl's busy main process."""

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get(RAW_BODY_META):
            return response
        return super().process_response(request, response)


class ResponseTooLarge(IgnoreRequest):
    """A response cut at its size limit that is neither an article page nor an image: in the WARC, not used."""


class SizeLimitMiddleware:
    """Size limits per kind of request (README, "Limits"), as Scrapy's per-request ``download_maxsize``.

    Article pages get ``HABR_MAX_PAGE_BYTES`` (and carry ``HABR_MAX_DECODED_BYTES`` to the parse worker in
    ``PAGE_SIZE_META``), images ``HABR_MAX_IMAGE_BYTES``, everything else ``DOWNLOAD_MAXSIZE``. The download
    handler stores a body that passes its limit truncated; here an article page goes on to be judged
    ``too_large``, an image to the media pipeline (which notes why), and anything else (a listing, robots.txt)
    fails its request with :class:`ResponseTooLarge`.
    """

    def __init__(self, crawler: Crawler, page_bytes: int, decoded_bytes: int, image_bytes: int) -> None:
        self.crawler = crawler
        self.page_bytes = page_bytes
        self.decoded_bytes = decoded_bytes
        self.image_bytes = image_bytes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SizeLimitMiddleware:
        settings = crawler.settings
        return cls(
            crawler,
            page_bytes=settings.getint("HABR_MAX_PAGE_BYTES"),
            decoded_bytes=settings.getint("HABR_MAX_DECODED_BYTES"),
            image_bytes=settings.getint("HABR_MAX_IMAGE_BYTES"),
        )

    def process_request(self, request: Request) -> None:
        if request.meta.get(RAW_BODY_META):
            request.meta.setdefault("download_maxsize", self.page_bytes)
            request.meta[PAGE_SIZE_META] = PageSize(request.meta["download_maxsize"], self.decoded_bytes)
        elif request.meta.get(IMAGE_OF_META) is not None:
            request.meta.setdefault("download_maxsize", self.image_bytes)

    def process_response(self, request: Request, response: Response) -> Response:
        if TRUNCATED_FLAG not in response.flags:
            return response
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("habrmirror/limits/truncated")
        limit = (request.meta.get(WIRE_META_KEY) or {}).get("truncated_at") or 0
        if request.meta.get(RAW_BODY_META):
            request.meta[PAGE_SIZE_META] = PageSize(limit, self.decoded_bytes, truncated=True)
            return response
        if request.meta.get(IMAGE_OF_META) is not None:
            return response
        raise ResponseTooLarge(
            f"response larger than the {megabytes(limit)} limit (DOWNLOAD_MAXSIZE); stored truncated"
        )


class RequestBudgetSpent(IgnoreRequest):
    """A request left unsent because the budget is used up: not a failed fetch (the next run sends it)."""


class RequestBudgetMiddleware:
    """``HABR_REQUEST_BUDGET``: after N requests the run stops (what is archived stays; the mark is not moved).

    Images of articles already downloaded are still fetched after that, so the budget can be passed by them.
    """

    def __init__(self, crawler: Crawler, budget: int) -> None:
        self.crawler = crawler
        self.budget = budget
        self.used = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequestBudgetMiddleware:
        budget = crawler.settings.getint("HABR_REQUEST_BUDGET")
        if budget <= 0:
            raise NotConfigured  # no budget: switched off
        return cls(crawler, budget)

    def process_request(self, request: Request) -> None:
        self.used += 1
        if self.used <= self.budget:
            return
        assert self.crawler.engine is not None
        if self.used == self.budget + 1:
            logger.warning("request budget of %d used up: stopping the run", self.budget)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="request_budget"))
        if request.meta.get(IMAGE_OF_META) is not None or request.meta.get(COMMENTS_OF_META) is not None:
            # An image (or the comments) of an article already downloaded: the article is indexed (and so never fetched again)
            # whatever happens to its images, so they still go out. No new article or listing page does.
            return
        raise RequestBudgetSpent("request budget used up")


def retry_after_seconds(value: bytes | None) -> float | None:
    """Parse ``Retry-After``: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, (parsedate_to_datetime(text) - utc_now()).total_seconds())
    except (TypeError, ValueError):
        return None


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry, but a 429/503 waits as long as the server's ``Retry-After`` says (exponential backoff
    when it says nothing), capped by ``HABR_RETRY_AFTER_MAX`` seconds."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.max_wait = settings.getfloat("HABR_RETRY_AFTER_MAX", 600)
        self.base_backoff = settings.getfloat("HABR_RETRY_BACKOFF", 2.0)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        attempt = request.meta.get("retry_times", 0) + 1
        max_retries = request.meta.get("max_retry_times", self.max_retry_times)
        if response.status in (429, 503) and not request.meta.get("dont_retry") and attempt <= max_retries:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is None:
                wait = self.base_backoff * (2 ** (attempt - 1))
            if wait > self.max_wait:
                logger.warning(
                    "%s asks to wait %.0fs (> HABR_RETRY_AFTER_MAX): not retrying", request.url, wait
                )
                return response
            logger.info(
                "%s answered %d; waiting %.1fs before retry %d", request.url, response.status, wait, attempt
            )
            # Imported here: importing the reactor at module level would install the default one before
            # Scrapy installs the asyncio reactor (this module is imported by spiders too).
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        return super().process_response(request, response)
