"""ArchiveSession: the Scrapy extension that holds one run's :class:`~habrmirror.store.writer.ArchiveWriter`.

Opening the writer takes the archive's lock, so ``scrapy crawl`` and scrapyd runs take it too. The session
counts the run's outcomes, lists its failures, and at the end closes what the other components registered
(WARC files first), flushes the index and writes the run summary to ``DIR/runs/<run>.json``. Other components
reach it with :meth:`ArchiveSession.of`; they hand it capture results, never touch the store themselves.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from habrmirror.capture import CaptureResult, Outcome
from habrmirror.clock import iso, utc_now
from habrmirror.crawl.frontier.worker import FrontierWorker
from habrmirror.store.layout import LockHeld
from habrmirror.store.writer import ArchiveWriter
from habrmirror.urls import normalize_origin

logger = logging.getLogger(__name__)

MAX_LISTED_FAILURES = 1000  # the summary lists this many failures in full and counts the rest


class ArchiveSession:
    """One run: its writer, outcome counters, failures, WARC files and summary."""

    def __init__(self, writer: ArchiveWriter, origin: str, spider: str) -> None:
        self.writer = writer
        self.origin = origin
        self.spider = spider
        self.started = utc_now()
        # second resolution plus the pid: two runs started in the same second still get their own summary
        self.run_id = f"{self.started.strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}"
        self.outcomes: Counter[str] = Counter()
        self.failures: list[dict[str, Any]] = []
        # posts not archived that are no failure (gone, robots): listed too, so the summary names every post
        # of the run that has no row, with its reason
        self.not_archived: list[dict[str, Any]] = []
        self.warc_files: list[str] = []
        # posts that failed in a way a later run may fix: id -> url, outcome, reason (the retry list's input)
        self.transient_articles: dict[int, dict[str, Any]] = {}
        self.watched: dict[int, str | None] = {}  # ids on the retry list -> this run's outcome for them
        self.listing_transient = 0  # transient failures of listing pages
        self.comments: Counter[str] = Counter()  # archived posts by comments_status
        self.comment_count_mismatches: list[dict[str, Any]] = []  # commentsCount != comments archived
        self.closed = False
        self.summary: dict[str, Any] | None = None
        self.crawler: Crawler | None = None  # set by of(); its stats exist once the crawl starts
        self._closers: list[Callable[[], None]] = []
        self._finalizers: list[Callable[[str], dict[str, Any]]] = []
        self._record_listeners: list[Callable[[CaptureResult], None]] = []

    @classmethod
    def of(cls, crawler: Crawler) -> ArchiveSession:
        """The crawler's session, created on first use (extensions, spiders and pipelines share one)."""
        session = getattr(crawler, "_habr_session", None)
        if session is None:
            settings = crawler.settings
            origin = normalize_origin(settings.get("HABR_ORIGIN", "https://habr.com"))
            # A worker of a shared job writes an archive of its own inside the job's one (folded at the end).
            worker = FrontierWorker.of(crawler)
            writer = ArchiveWriter(
                root=worker.worker_dir if worker else Path(settings.get("HABR_ARCHIVE_DIR", "archives/")),
                origin=origin,
                lock_wait=settings.getfloat("HABR_LOCK_WAIT", 0),
                flush_rows=settings.getint("HABR_INDEX_FLUSH_ROWS", 1000),
                holder=settings.get("HABR_COMMAND") or f"scrapy crawl {crawler.spidercls.name}",
            )
            session = cls(writer, origin, crawler.spidercls.name)
            session.crawler = crawler
            if worker is not None:
                session.run_id = f"{session.run_id}-{worker.frontier.worker}"
                session.add_record_listener(worker.note_recorded)
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

    @property
    def root(self) -> Path:
        return self.writer.archive.root

    def is_archived(self, article_id: int) -> bool:
        return self.writer.is_archived(article_id)

    def gone_check_due(self, article_id: int) -> bool:
        """False for an id known gone whose re-check is not due yet (the scheduled crawl skips it)."""
        return self.writer.gone_check_due(article_id, utc_now())

    def add_closer(self, close: Callable[[], None]) -> None:
        """Run ``close`` at the end of the run, before the index is flushed and the lock released."""
        self._closers.append(close)

    def add_finalizer(self, finalize: Callable[[str], dict[str, Any]]) -> None:
        """Run ``finalize(finish_reason)`` at the end of the run; the fields it returns join the summary."""
        self._finalizers.append(finalize)

    def add_record_listener(self, listen: Callable[[CaptureResult], None]) -> None:
        """Call ``listen(result)`` after each capture is logged (a shared job notes archived ids in Redis)."""
        self._record_listeners.append(listen)

    def add_syncer(self, sync: Callable[[], None]) -> None:
        """Run ``sync`` before every index flush, so no index row points at bytes not yet on disk."""
        self.writer.add_syncer(sync)

    def stats_inc(self, key: str, count: int = 1) -> None:
        """Increment ``habrmirror/<key>`` in the crawl stats."""
        if self.crawler is not None:
            self.crawler.stats.inc_value(f"habrmirror/{key}", count)

    def note_warc_file(self, path: Path) -> None:
        """A WARC file of this run was closed: the summary lists it."""
        self.warc_files.append(str(path.relative_to(self.root)))

    def record(self, result: CaptureResult) -> None:
        """Log one fetch attempt for an article (and its row or ``gone_at``) and count its outcome."""
        self.writer.log(result, self.run_id)
        for listen in self._record_listeners:
            listen(result)
        self._count("articles", result.outcome, result.id, result.url, result.reason)
        if result.outcome is Outcome.ARCHIVED and result.article is not None:
            self._note_comments(result)

    def _note_comments(self, result: CaptureResult) -> None:
        """Count the post's comments status; list it when Habr's counter disagrees with what was archived."""
        article = result.article
        assert article is not None
        status = article.comments_status or "not_fetched"
        self.comments[status] += 1
        expected = (article.statistics or {}).get("commentsCount")
        differs = status in ("api", "page") and expected is not None and expected != len(article.comments)
        if differs and len(self.comment_count_mismatches) < MAX_LISTED_FAILURES:
            self.comment_count_mismatches.append(
                {"id": article.id, "commentsCount": expected, "archived": len(article.comments)}
            )

    def note_failure(self, url: str, outcome: Outcome, reason: str) -> None:
        """A failure that is not an article's (a listing page): counted and listed, no capture line."""
        self._count("failures", outcome, None, url, reason)

    def transient_failures(self) -> int:
        """Failures of this run a later run may fix."""
        return sum(count for name, count in self.outcomes.items() if Outcome(name).is_transient)

    def transient_listing_failures(self) -> int:
        """Transient failures that are no post's (listing pages): the listing marks stay when there are any;
        posts' own go on the retry list instead."""
        return self.listing_transient

    def _count(
        self, kind: str, outcome: Outcome, article_id: int | None, url: str, reason: str | None
    ) -> None:
        self.outcomes[outcome.value] += 1
        self.stats_inc(
            f"{kind}/{outcome.value}"
        )  # habrmirror/articles/<outcome>, habrmirror/failures/<outcome>
        if kind == "failures" and outcome.is_transient:
            self.listing_transient += 1
        if kind == "articles" and article_id is not None:
            if outcome.is_transient:
                self.transient_articles[article_id] = {"url": url, "outcome": outcome.value, "reason": reason}
            else:
                self.transient_articles.pop(article_id, None)  # a retry within the run settled it
            if article_id in self.watched:
                self.watched[article_id] = outcome.value
        skipped = outcome is not Outcome.ARCHIVED and not outcome.is_failure and kind == "articles"
        if skipped and len(self.not_archived) < MAX_LISTED_FAILURES:
            self.not_archived.append(
                {"id": article_id, "url": url, "outcome": outcome.value, "reason": reason}
            )
        if outcome.is_failure:
            if len(self.failures) < MAX_LISTED_FAILURES:
                self.failures.append(
                    {"id": article_id, "url": url, "outcome": outcome.value, "reason": reason}
                )
            if outcome is not Outcome.NOT_ARTICLE:
                what = f"article {article_id}" if kind == "articles" else url
                logger.warning("%s %s: %s", what, outcome.value, reason)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        extra: dict[str, Any] = {}
        for finalize in self._finalizers:
            extra.update(finalize(reason))
        for close in reversed(self._closers):
            close()  # WARC files closed (fsynced) before the index that points into them is flushed
        failed = sum(count for name, count in self.outcomes.items() if Outcome(name).is_failure)
        self.summary = {
            "run": self.run_id,
            "spider": spider.name,
            "archive": str(self.root),
            "origin": self.origin,
            "started": iso(self.started),
            "finished": iso(utc_now()),
            "finish_reason": reason,
            "outcomes": dict(self.outcomes),
            "archived": self.outcomes.get(Outcome.ARCHIVED.value, 0),
            "failed": failed,
            "failures": self.failures,
            "failures_not_listed": max(0, failed - len(self.failures)),
            "not_archived": self.not_archived,
            "warc_files": self.warc_files,
            "comments": {
                "by_status": dict(self.comments),
                "count_mismatches": self.comment_count_mismatches,
            },
            **extra,
        }
        self.writer.close(self.summary, self.run_id)
