"""One request rate per host for all workers of a Redis, and Retry-After pauses for all of them.

:class:`RateLimitedDownloadHandler` (the http/https download handler of a ``--redis`` crawl) reserves the
host's next free send slot in Redis right before each request goes on the wire (a Lua step on Redis ``TIME``,
so workers' clocks do not matter) and waits until then: with ``HABR_RATE`` R, slots are 1/R s apart whichever
worker takes them, so N workers together send at most R requests per second to a host. It waits in the
handler, not in a middleware, because Scrapy's downloader slot (per-domain concurrency, delays) holds a request
between the middlewares and the send: a slot reserved before that wait would be used late, and sends bunch.
:class:`SharedRateLimitMiddleware` sees each 429/503 first: a ``Retry-After`` sets a pause on the host (a key
with that PX TTL) that every worker's next slot waits out; the retry itself stays with
:class:`habrmirror.crawl.middlewares.RetryAfterMiddleware`.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from habrmirror.crawl.download_handler import WireDownloadHandler
from habrmirror.crawl.frontier.jobs import PREFIX, REDIS_GONE
from habrmirror.crawl.frontier.worker import FrontierLost, FrontierWorker
from habrmirror.crawl.middlewares import retry_after_seconds

logger = logging.getLogger(__name__)

# Slots are spaced 5% wider than 1/R. A request leaves a little after its slot (the worker's event loop is
# busy parsing and writing), and the site sees it later still (network, its own queue); when that lateness
# shrinks across a window, the window holds slots from a longer stretch of time. Measured at the replica on a
# loaded 2-core machine the lateness varies by up to ~0.25 s: 5% keeps every 5-second window at or under R/s.
SPACING = 1.05

MAX_RESERVATIONS = 5  # slots a request may give up for being woken late before it is sent anyway

# KEYS: the host's slot key, its pause key; ARGV: slot spacing in microseconds. Returns microseconds to wait.
_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000000 + tonumber(now[2])
local slot = math.max(t, tonumber(redis.call('GET', KEYS[1]) or '0'))
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then slot = math.max(slot, t + pause * 1000) end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', math.floor((slot - t + interval) / 1000) + 1000)
return string.format('%.0f', slot - t)
"""

# KEYS: the pause key; ARGV: milliseconds. A pause is only ever lengthened.
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return 1
end
return 0
"""


def host_keys(url: str) -> tuple[str, str]:
    host = (urlsplit(url).hostname or "").lower()
    return f"{PREFIX}:rate:{host}", f"{PREFIX}:pause:{host}"


class RateLimitedDownloadHandler(WireDownloadHandler):
    """habrmirror's download handler, waiting for the host's shared send slot first (``HABR_RATE`` > 0)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        worker = FrontierWorker.of(crawler)
        rate = crawler.settings.getfloat("HABR_RATE", 5.0)
        self.worker = worker
        self.interval_us = int(1_000_000 * SPACING / rate) if rate > 0 else 0
        self._reserve = worker.frontier.client.register_script(_RESERVE) if worker is not None else None

    async def download_request(self, request: Request) -> Response:
        if self.worker is not None:
            if self.worker.lost:
                raise FrontierLost("Redis went away: not sending")
            if self._reserve is not None and self.interval_us:
                await self._wait_for_slot(request)
        return await super().download_request(request)

    async def _wait_for_slot(self, request: Request) -> None:
        """Reserve the host's next slot and sleep until it. Woken more than half a slot late (a busy event
        loop), the slot is given up and a new one taken, so a late send never lands on top of the next
        worker's (lateness is measured on this machine's monotonic clock only); woken into a pause another
        worker's 429/503 set meanwhile, a slot after the pause is taken."""
        from twisted.internet import reactor  # see RetryAfterMiddleware: not at import time

        assert self.worker is not None and self._reserve is not None
        slot, pause = host_keys(request.url)
        for _ in range(MAX_RESERVATIONS):
            try:
                wait_us = int(self._reserve(keys=[slot, pause], args=[self.interval_us]))
            except REDIS_GONE as error:
                self.worker.redis_lost(error)
                raise FrontierLost("Redis went away: not sending") from None
            due = time.monotonic() + wait_us / 1e6
            if wait_us > 0:
                await maybe_deferred_to_future(deferLater(reactor, wait_us / 1e6, lambda: None))
                # a Retry-After that came in while we waited pauses us too (our slot was reserved before it)
                try:
                    paused = int(self.worker.frontier.client.pttl(pause)) > 0
                except REDIS_GONE as error:
                    self.worker.redis_lost(error)
                    raise FrontierLost("Redis went away: not sending") from None
                if paused:
                    continue
            if time.monotonic() - due <= self.interval_us / 2e6:
                return


class SharedRateLimitMiddleware:
    """Retry-After of a 429/503 pauses the host for every worker of the Redis."""

    def __init__(self, worker: FrontierWorker) -> None:
        self.worker = worker
        self._pause = worker.frontier.client.register_script(_PAUSE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedRateLimitMiddleware:
        worker = FrontierWorker.of(crawler)
        if worker is None:
            raise NotConfigured  # not a --redis crawl
        return cls(worker)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 503):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait:
                try:
                    if self._pause(keys=[host_keys(request.url)[1]], args=[int(wait * 1000)]):
                        logger.info(
                            "%s asks every worker to wait %.1fs", urlsplit(request.url).hostname, wait
                        )
                except REDIS_GONE as error:
                    self.worker.redis_lost(error)
        return response
