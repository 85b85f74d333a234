"""ProgressReporter: how far a crawl is, for the person watching it or the log that keeps it.

Reads the crawl stats the other components keep under ``habrmirror/`` (listing pages, articles by outcome,
images) and the spider's ``progress_total()`` (the ids of ``--ids``, the pages of ``--pages``, the posts of
``archive``). On a terminal (stderr is a tty) it draws a live ``rich`` display, redrawn twice a second, with a
bar, rate and ETA when the total is known; anywhere else (cron, a pipe, a log file) it prints one plain line
every ``HABR_PROGRESS_INTERVAL`` seconds, so logs stay clean. Either way the run ends with one final line.
``HABR_PROGRESS_INTERVAL = 0`` turns it all off.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from twisted.internet import task

from habrmirror.capture import Outcome
from habrmirror.wording import plural

LIVE_REFRESH = 0.5  # seconds between redraws of the live display
_ARTICLES = "habrmirror/articles/"


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``: short enough for a progress line."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass(frozen=True)
class Snapshot:
    """The numbers one progress line or frame shows, read from the stats at one moment."""

    elapsed: float
    responses: int
    listing_pages: int
    new: int
    refreshed: int
    already: int
    gone: int
    failed: int
    robots: int
    images: int
    unit: str | None  # what the total counts ("articles", "listing pages"), None when unknown
    total: int | None
    done: int

    @property
    def rate(self) -> float:
        """Units done per second (responses per second when there is no total)."""
        return (self.done if self.total else self.responses) / max(self.elapsed, 1e-6)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate; None without a total or before anything is done."""
        if not self.total or self.done <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate


class ProgressReporter:
    """Live display on a terminal, periodic plain lines elsewhere, one final line at the end."""

    def __init__(
        self,
        stats: StatsCollector,
        interval: float,
        live: bool = False,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats = stats
        self.interval = interval
        self.live = live
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.started = clock()
        self.unit: str | None = None
        self.total: int | None = None
        self.loop = task.LoopingCall(self.report)
        self._live: Any = None  # rich.live.Live while drawing
        self._rehomed: list[logging.StreamHandler[Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressReporter:
        interval = crawler.settings.getfloat("HABR_PROGRESS_INTERVAL", 10)
        if interval <= 0:
            raise NotConfigured  # switched off: no message, so Scrapy does not warn
        assert crawler.stats is not None
        reporter = cls(crawler.stats, interval, live=_is_terminal(sys.stderr))
        crawler.signals.connect(reporter.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(reporter.spider_closed, signal=signals.spider_closed)
        return reporter

    def spider_opened(self, spider: Spider) -> None:
        self.started = self.clock()
        plan = getattr(spider, "progress_total", None)
        total = plan() if callable(plan) else None
        if total:
            self.unit, self.total = total
        if self.live:
            self._start_live()
        self.loop.start(LIVE_REFRESH if self.live else self.interval, now=False)

    def spider_closed(self) -> None:
        if self.loop.running:
            self.loop.stop()
        self._stop_live()
        print(self.line(final=True), file=self.stream, flush=True)

    def snapshot(self) -> Snapshot:
        """The stats as the display shows them.

        "failed" counts the outcomes that are failures (:attr:`Outcome.is_failure`): a robots.txt skip is not one.
        "refreshed" counts the archived posts re-captured to catch edits (queued ones count as soon as they are
        queued, so mid-run "new" may lag by the refreshes still in flight).
        """
        stats = self.stats.get_stats()
        outcomes = {key[len(_ARTICLES) :]: value for key, value in stats.items() if key.startswith(_ARTICLES)}
        archived = outcomes.get(Outcome.ARCHIVED.value, 0)
        refreshed = min(stats.get("habrmirror/articles_refreshed", 0), archived)
        already = stats.get("habrmirror/articles_skipped", 0)
        listing_pages = stats.get("habrmirror/listings/pages", 0)
        listing_failures = stats.get(f"habrmirror/failures/{Outcome.LISTING_ERROR.value}", 0)
        if self.unit == "listing pages":
            done = listing_pages + listing_failures
        else:
            done = sum(outcomes.values()) + already
        return Snapshot(
            elapsed=self.clock() - self.started,
            responses=stats.get("response_received_count", 0),
            listing_pages=listing_pages,
            new=archived - refreshed,
            refreshed=refreshed,
            already=already,
            gone=outcomes.get(Outcome.GONE.value, 0),
            failed=sum(count for name, count in outcomes.items() if Outcome(name).is_failure)
            + listing_failures,
            robots=outcomes.get(Outcome.ROBOTS.value, 0),
            images=stats.get("habrmirror/images/archived", 0),
            unit=self.unit,
            total=self.total,
            done=done,
        )

    def line(self, final: bool = False) -> str:
        """One plain line, e.g. ``progress: 40/100 articles (40%), 3.1/s, ETA 19s | listing pages: 2 |
        articles: 35 new, 2 refreshed, 3 already archived, 0 gone, 0 failed | 120 responses | 41 images``."""
        now = self.snapshot()
        head = "done:" if final else "progress:"
        if now.total:
            where = f"{now.done}/{now.total} {now.unit}"
            if not final:  # a walk may stop before --pages: the end is not always "100%"
                where += f" ({min(now.done / now.total, 1.0):.0%})"
            where += f", {now.rate:.1f}/s"
            if now.eta is not None and not final:
                where += f", ETA {duration(now.eta)}"
        else:
            where = f"{plural(now.responses, 'response')} ({now.rate:.1f}/s)"
        articles = [
            f"{now.new} new",
            f"{now.refreshed} refreshed",
            f"{now.already} already archived",
            f"{now.gone} gone",
            f"{now.failed} failed",
        ]
        if now.robots:
            articles.append(f"{now.robots} skipped by robots.txt")
        parts = [where, f"listing pages: {now.listing_pages}", f"articles: {', '.join(articles)}"]
        if now.total:
            parts.append(plural(now.responses, "response"))
        parts.append(plural(now.images, "image"))
        parts.append(f"in {duration(now.elapsed)}")
        return f"{head} {' | '.join(parts)}"

    def report(self) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
        else:
            print(self.line(), file=self.stream, flush=True)

    def render(self) -> Any:
        """The live display's frame: a bar (pulsing when the total is unknown) and the counts."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = self.snapshot()
        head = Table.grid(padding=(0, 1))
        head.add_column(width=40)
        head.add_column()
        if now.total:
            eta = f", ETA {duration(now.eta)}" if now.eta is not None else ""
            label = f"{now.done}/{now.total} {now.unit} ({now.rate:.1f}/s{eta})"
            head.add_row(ProgressBar(total=now.total, completed=min(now.done, now.total), width=40), label)
        else:
            label = f"{plural(now.responses, 'response')} ({now.rate:.1f}/s)"
            head.add_row(ProgressBar(total=None, width=40, animation_time=now.elapsed), label)
        counts = Text.assemble(
            ("listing pages ", "dim"), (str(now.listing_pages), "bold"),
            ("  new ", "dim"), (str(now.new), "bold green"),
            ("  refreshed ", "dim"), (str(now.refreshed), "bold"),
            ("  already archived ", "dim"), str(now.already),
            ("  gone ", "dim"), str(now.gone),
            ("  failed ", "dim"), (str(now.failed), "bold red" if now.failed else ""),
            ("  images ", "dim"), str(now.images),
            ("  " + duration(now.elapsed), "dim"),
        )  # fmt: skip
        return Group(head, counts)

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.stream, stderr=self.stream is sys.stderr)
        self._live = Live(self.render(), console=console, auto_refresh=False, transient=True)
        self._live.start()
        # Scrapy's log handler writes to the stderr it found at start-up, under the display: send its lines
        # through the console instead, so they appear above the display and do not tear it
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.stream:
                handler.setStream(_ConsoleWriter(console))
                self._rehomed.append(handler)

    def _stop_live(self) -> None:
        if self._live is None:
            return
        self._live.stop()
        self._live = None
        for handler in self._rehomed:
            handler.setStream(self.stream)
        self._rehomed.clear()


class _ConsoleWriter:
    """A file-like front for a rich console: log lines printed above the live display."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def write(self, text: str) -> int:
        if text.strip():
            self.console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        pass


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False
