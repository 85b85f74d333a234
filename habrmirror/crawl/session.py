"""ArchiveSession: the Scrapy extension that owns one run's hold on an archive directory.

It takes the single-writer lock (so ``scrapy crawl`` and scrapyd runs take it too), creates the layout,
repairs WARC files a killed run left open, replays captures the index had not flushed, and owns the capture
log and the index store the pipelines write through. At the end it flushes everything and writes the run
summary to ``DIR/runs/<run>.json``. Other components reach it with :meth:`ArchiveSession.of`.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from habrmirror.archive.atomic import write_json_atomic
from habrmirror.archive.warc import repair_open_warcs
from habrmirror.clock import iso, utc_now
from habrmirror.crawl.memory import return_large_buffers
from habrmirror.items import WarcPointer
from habrmirror.store.captures import Capture, CaptureLog
from habrmirror.store.index import IndexStore
from habrmirror.store.layout import ArchiveDir, LockHeld
from habrmirror.store.recovery import CHECKPOINT_NAME, replay_unflushed_captures
from habrmirror.urls import normalize_origin

logger = logging.getLogger(__name__)

MAX_LISTED_FAILURES = 1000  # the summary lists this many failures in full and counts the rest
FAILURE_OUTCOMES = {
    "forbidden",
    "not_article",
    "blocked",
    "parse_error",
    "invalid",
    "http_error",
    "network_error",
    "listing_error",  # not an article's: a listing page that could not be fetched or read
}


def remove_stale_temp_files(archive: ArchiveDir) -> int:
    """Delete the ``.NAME.*.tmp`` files a run killed inside an atomic write left (their targets are intact).

    Call it only while holding the writer lock: a live writer's temp file would be removed under it.
    """
    removed = 0
    for directory in (archive.root, archive.index_dir, archive.state_dir, archive.runs_dir, archive.cdxj_dir):
        for path in directory.glob(".*.tmp"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class ArchiveSession:
    """One run's state: lock, capture log, index, counters, summary."""

    def __init__(self, root: Path, origin: str, lock_wait: float, flush_rows: int, holder: str) -> None:
        return_large_buffers()  # a writer's process runs for hours: keep its memory flat (see habrmirror.crawl.memory)
        self.archive = ArchiveDir(root)
        self.origin = normalize_origin(origin)
        self.started = utc_now()
        # second resolution plus the pid: two runs started in the same second still get their own summary
        self.run_id = f"{self.started.strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}"
        self._stack = ExitStack()
        # The lock comes first: nothing (not even a repair) touches a directory another writer holds.
        self._stack.enter_context(self.archive.writer_lock(wait=lock_wait, holder=holder))
        self.archive.ensure(self.origin)
        # A killed run leaves its WARC open and maybe index rows unflushed: close the one, rebuild the other.
        self.repaired_warcs = repair_open_warcs(self.archive.warc_dir)
        for path in self.repaired_warcs:
            logger.warning("repaired WARC left open by an interrupted run: %s", path)
        removed = remove_stale_temp_files(self.archive)
        if removed:
            logger.warning("removed %d temporary files an interrupted run left", removed)
        self.captures = CaptureLog(self.archive.captures_dir)
        self.index = IndexStore(self.archive.index_dir, flush_rows=flush_rows)
        self.outcomes: Counter[str] = Counter()
        self.failures: list[dict[str, Any]] = []
        self.warc_files: list[str] = []
        # what the spider knows of an article in flight that its item does not carry (status, revisit)
        self.capture_context: dict[int, dict[str, Any]] = {}
        self.extra: dict[str, Any] = {}  # spider-specific summary fields (e.g. the listing high-water mark)
        self.closed = False
        self.summary: dict[str, Any] | None = None
        self.crawler: Crawler | None = None  # set by of(); its stats exist once the crawl starts
        self._closers: list[Callable[[], None]] = []
        self._syncers: list[Callable[[], None]] = []
        self._finalizers: list[Callable[[str], None]] = []
        # Last, once every attribute flush_index() uses exists (no WARC is open yet, so nothing to sync).
        if replay_unflushed_captures(self.archive, self.index):
            self.flush_index(sync_warcs=False)

    @classmethod
    def of(cls, crawler: Crawler) -> ArchiveSession:
        """The crawler's session, created on first use (extensions and pipelines share one)."""
        session = getattr(crawler, "_habr_session", None)
        if session is None:
            settings = crawler.settings
            session = cls(
                root=Path(settings.get("HABR_ARCHIVE_DIR", "archives/")),
                origin=settings.get("HABR_ORIGIN", "https://habr.com"),
                lock_wait=settings.getfloat("HABR_LOCK_WAIT", 0),
                flush_rows=settings.getint("HABR_INDEX_FLUSH_ROWS", 1000),
                holder=f"scrapy crawl {crawler.spidercls.name}",
            )
            session.crawler = crawler
            crawler._habr_session = session  # type: ignore[attr-defined]
            crawler.signals.connect(session.spider_closed, signal=signals.spider_closed)
        return session

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveSession:
        try:
            return cls.of(crawler)
        except LockHeld as error:
            logger.error("%s; not starting. Wait for it to finish, or use --wait.", error)
            raise

    def add_closer(self, close: Callable[[], None]) -> None:
        """Run ``close`` at the end of the run, before the index is flushed and the lock released."""
        self._closers.append(close)

    def add_finalizer(self, finalize: Callable[[str], None]) -> None:
        """Run ``finalize(finish_reason)`` at the end of the run, before the summary is written."""
        self._finalizers.append(finalize)

    def add_syncer(self, sync: Callable[[], None]) -> None:
        """Run ``sync`` before every index flush, so no index row points at bytes not yet on disk."""
        self._syncers.append(sync)

    def stats_inc(self, key: str, count: int = 1) -> None:
        """Increment ``habrmirror/<key>`` in the crawl stats."""
        if self.crawler is not None:
            self.crawler.stats.inc_value(f"habrmirror/{key}", count)

    def record(
        self,
        article_id: int | None,
        url: str,
        status: int | None,
        outcome: str,
        reason: str | None = None,
        warc: WarcPointer | None = None,
        images: list[dict[str, Any]] | None = None,
        revisit: bool = False,
        time: str | None = None,
    ) -> None:
        """Log one fetch attempt for an article (``time``: when its response arrived) and count its outcome."""
        capture = Capture(
            id=article_id,
            url=url,
            time=time or iso(utc_now()),
            status=status,
            outcome=outcome,
            reason=reason,
            warc=warc,
            run=self.run_id,
            images=images,
            revisit=revisit,
        )
        self.captures.append(capture)
        self.outcomes[outcome] += 1
        self.stats_inc(f"articles/{outcome}")
        if outcome in FAILURE_OUTCOMES:
            if len(self.failures) < MAX_LISTED_FAILURES:
                self.failures.append({"id": article_id, "url": url, "outcome": outcome, "reason": reason})
            if outcome != "not_article":
                logger.warning("article %s %s: %s", article_id, outcome, reason)

    def put_row(self, row: dict[str, Any]) -> None:
        """Buffer an index row (after its capture was logged); flush the batch when it is full."""
        self.index.put(row)
        if self.index.needs_flush:
            self.flush_index()

    def note_failure(self, url: str, outcome: str, reason: str) -> None:
        """A failure that is not an article's (a listing page): counted and listed, no capture line."""
        self.outcomes[outcome] += 1
        self.stats_inc(f"failures/{outcome}")
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append({"id": None, "url": url, "outcome": outcome, "reason": reason})
        logger.warning("%s %s: %s", url, outcome, reason)

    def flush_index(self, sync_warcs: bool = True) -> None:
        """Write dirty index shards, then note how far the capture log is reflected in them."""
        for sync in self._syncers if sync_warcs else ():
            sync()
        self.captures.sync()
        self.index.flush()
        self.captures.write_checkpoint(self.archive.state_dir / CHECKPOINT_NAME)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        for finalize in self._finalizers:
            finalize(reason)
        for close in reversed(self._closers):
            close()  # WARC files closed (fsynced) before the index that points into them is flushed
        self.flush_index(sync_warcs=False)
        self.captures.close()
        failed = sum(count for outcome, count in self.outcomes.items() if outcome in FAILURE_OUTCOMES)
        self.summary = {
            "run": self.run_id,
            "spider": spider.name,
            "archive": str(self.archive.root),
            "origin": self.origin,
            "started": iso(self.started),
            "finished": iso(utc_now()),
            "finish_reason": reason,
            "outcomes": dict(self.outcomes),
            "archived": self.outcomes.get("archived", 0),
            "failed": failed,
            "failures": self.failures,
            "failures_not_listed": max(0, failed - len(self.failures)),
            "warc_files": self.warc_files,
            **self.extra,
        }
        write_json_atomic(self.archive.runs_dir / f"{self.run_id}.json", self.summary)
        self._stack.close()
