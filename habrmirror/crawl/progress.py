"""ProgressReporter: a readable progress line while a crawl runs (pages, articles by outcome, rate).

Reads the crawl stats the other components keep under ``habrmirror/``; prints to stderr every
``HABR_PROGRESS_INTERVAL`` seconds (0 turns it off).
"""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from habrmirror.capture import Outcome


class ProgressReporter:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.report)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressReporter:
        interval = crawler.settings.getfloat("HABR_PROGRESS_INTERVAL", 10)
        if interval <= 0:
            raise NotConfigured  # switched off: no message, so Scrapy does not warn
        reporter = cls(crawler, interval)
        crawler.signals.connect(reporter.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(reporter.spider_closed, signal=signals.spider_closed)
        return reporter

    def spider_opened(self) -> None:
        self.loop.start(self.interval, now=False)

    def spider_closed(self) -> None:
        if self.loop.running:
            self.loop.stop()

    def line(self) -> str:
        """e.g. ``progress: 120 responses (11.8/s) | articles: 95 archived, ..., 3 gone, 1 failed | listing pages: 6``.

        "failed" counts the outcomes that are failures (:attr:`Outcome.is_failure`): a robots.txt skip is not one.
        """
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        responses = stats.get("response_received_count", 0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        prefix = "habrmirror/articles/"
        outcomes = {key[len(prefix) :]: value for key, value in stats.items() if key.startswith(prefix)}
        failed = sum(count for name, count in outcomes.items() if Outcome(name).is_failure)
        parts = [
            f"{outcomes.get('archived', 0)} archived",
            f"{stats.get('habrmirror/articles_refreshed', 0)} refreshed",
            f"{stats.get('habrmirror/articles_skipped', 0)} already archived",
            f"{outcomes.get(Outcome.ROBOTS.value, 0)} skipped by robots.txt",
            f"{outcomes.get('gone', 0)} gone",
            f"{failed} failed",
        ]
        return (
            f"progress: {responses} responses ({responses / elapsed:.1f}/s) | articles: {', '.join(parts)}"
            f" | listing pages: {stats.get('habrmirror/listings/pages', 0)}"
            f" | images: {stats.get('habrmirror/images/archived', 0)}"
        )

    def report(self) -> None:
        print(self.line(), file=sys.stderr, flush=True)
