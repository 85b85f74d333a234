"""SharedRateLimitMiddleware: one request rate per host for all workers of a Redis, and Retry-After for all.

A downloader middleware next to the download (after every other ``process_request``, first to see a
response). Before each send it reserves the host's next free slot in Redis (a Lua step on Redis ``TIME``, so
workers' clocks do not matter) and waits until then: with ``HABR_RATE`` R, slots are 1/R s apart whichever
worker takes them, so N workers together send at most R requests per second to a host. A 429/503 with
``Retry-After`` sets a pause on the host (a key with that PX TTL) that every worker's next slot waits out; the
retry itself stays with :class:`habrmirror.crawl.middlewares.RetryAfterMiddleware`.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from habrmirror.crawl.frontier.jobs import PREFIX, REDIS_GONE
from habrmirror.crawl.frontier.worker import FrontierLost, FrontierWorker
from habrmirror.crawl.middlewares import retry_after_seconds

logger = logging.getLogger(__name__)

# Slots are spaced a little wider than 1/R: a request leaves a few milliseconds after its slot (event loop,
# connection), and that jitter must not squeeze R+1 sends into a one-second window.
SPACING = 1.03

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


class SharedRateLimitMiddleware:
    def __init__(self, crawler: Crawler, worker: FrontierWorker, rate: float) -> None:
        self.crawler = crawler
        self.worker = worker
        self.interval_us = int(1_000_000 * SPACING / rate)
        client = worker.frontier.client
        self._reserve = client.register_script(_RESERVE)
        self._pause = client.register_script(_PAUSE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedRateLimitMiddleware:
        worker = FrontierWorker.of(crawler)
        if worker is None:
            raise NotConfigured  # not a --redis crawl
        rate = crawler.settings.getfloat("HABR_RATE", 5.0)
        if rate <= 0:
            raise NotConfigured  # HABR_RATE 0: no shared limit
        return cls(crawler, worker, rate)

    async def process_request(self, request: Request) -> None:
        if self.worker.lost:
            raise FrontierLost("Redis went away: not sending")
        slot, pause = host_keys(request.url)
        try:
            wait_us = int(self._reserve(keys=[slot, pause], args=[self.interval_us]))
        except REDIS_GONE as error:
            self.worker.redis_lost(error)
            raise FrontierLost("Redis went away: not sending") from None
        if wait_us > 0:
            from twisted.internet import reactor  # see RetryAfterMiddleware: not at import time

            await maybe_deferred_to_future(deferLater(reactor, wait_us / 1e6, lambda: None))
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("habrmirror/rate/sent")

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
