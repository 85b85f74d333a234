"""FrontierWorker: the Scrapy extension that makes a crawl one worker of a shared job (``HABR_REDIS_URL``).

It joins the job (a heartbeat that keeps this worker's leases alive and requeues dead workers' ones),
acknowledges each lease once its work is recorded (an article's capture line and row written: at
``item_scraped``/``item_dropped``, or by the spider for outcomes it records itself; a listing once parsed and
its requests queued), keeps an idle worker open while the job has queued or leased work anywhere, and stops the
worker with one line when Redis goes away (what it held returns to the queue when its lease TTL runs out). At
the end the last worker to leave, as Redis decides, folds every worker archive into the job's ``--out``
directory (:func:`habrmirror.store.fold.fold_workers`) and marks the job done.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from habrmirror.capture import CaptureResult, Outcome
from habrmirror.clock import iso, parse_utc
from habrmirror.crawl.frontier.jobs import (
    DEFAULT_LEASE_TTL,
    REDIS_GONE,
    JobClosed,
    JobFrontier,
    RedisUnavailable,
    connect,
    default_job_name,
    default_worker_id,
    gone_reason,
    mask_url,
    redis_time,
)
from habrmirror.store.fold import fold_workers, worker_archive
from habrmirror.store.gone import GONE_FILE, GoneIds
from habrmirror.store.index import IDS_FILE, ArchivedIds
from habrmirror.store.layout import ArchiveDir
from habrmirror.store.marks import CrawlState, ListingWalk
from habrmirror.urls import normalize_origin

logger = logging.getLogger(__name__)

LEASE_META = (
    "habr_lease"  # request.meta key: the lease (field of this worker's lease hash) the request is under
)


class FrontierLost(IgnoreRequest):
    """A request not sent because Redis went away: not a failed fetch (its lease returns it to the queue)."""


class FrontierWorker:
    """One worker of one job: its Redis handle, heartbeat, acknowledgements, and the fold at the end."""

    def __init__(self, crawler: Crawler, url: str, frontier: JobFrontier, root: Path, origin: str) -> None:
        self.crawler = crawler
        self.url = url
        self.frontier = frontier
        self.root = root  # the job's archive (--out): read here, written only by the fold
        self.origin = origin
        self.worker_dir = worker_archive(root, frontier.job, frontier.worker)
        self.lost: str | None = None  # why Redis is gone, once it is
        self.queue: Any = None  # the scheduler's LeaseQueue (encodes seed requests)
        self.left: tuple[str, str] | None = None  # what leave() answered
        self.fold: dict[str, Any] | None = None  # the job's result, in the worker that folded
        self.fold_error: str | None = None  # why this worker's fold failed
        # Known-gone ids of the archive: the job's workers skip them as a single crawl would (read-only here).
        self.gone = GoneIds(ArchiveDir(root).state_dir / GONE_FILE)
        self._heartbeat: Any = None
        self._closing = False
        frontier.heartbeat()  # joined: alive before anything is popped

    @classmethod
    def of(cls, crawler: Crawler) -> FrontierWorker | None:
        """The crawler's worker (created on first use), or None when the crawl is not a ``--redis`` one."""
        worker = getattr(crawler, "_habr_frontier", None)
        if worker is not None:
            return worker  # type: ignore[no-any-return]
        settings = crawler.settings
        url = settings.get("HABR_REDIS_URL")
        if not url:
            return None
        client = connect(url)
        origin = normalize_origin(settings.get("HABR_ORIGIN", "https://habr.com"))
        job = settings.get("HABR_JOB") or default_job_name(
            crawler.spidercls.name, {}, origin, redis_time(client)
        )
        frontier = JobFrontier(
            client,
            job,
            settings.get("HABR_WORKER_ID") or default_worker_id(),
            settings.getfloat("HABR_LEASE_TTL", DEFAULT_LEASE_TTL),
        )
        worker = cls(crawler, url, frontier, Path(settings.get("HABR_ARCHIVE_DIR", "archives/")), origin)
        crawler._habr_frontier = worker  # type: ignore[attr-defined]
        return worker

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierWorker:
        try:
            worker = cls.of(crawler)
        except (RedisUnavailable, JobClosed) as error:
            logger.warning("%s", error)
            raise
        if worker is None:
            raise NotConfigured  # not a --redis crawl
        crawler.signals.connect(worker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(worker.item_done, signal=signals.item_scraped)
        crawler.signals.connect(worker.item_done, signal=signals.item_dropped)
        crawler.signals.connect(worker.item_failed, signal=signals.item_error)
        crawler.signals.connect(worker.spider_closed, signal=signals.spider_closed)
        return worker

    # --- the job's shared facts ---------------------------------------------------------------------------------

    def archived_bits(self) -> bytes:
        """The archive's id bitmap when the job is seeded (the job's workers decide "archived?" from Redis)."""
        archive = ArchiveDir(self.root)
        return bytes(ArchivedIds.load(archive.state_dir / IDS_FILE, archive.index_dir).bits)

    def archived(self, ids: list[int]) -> set[int]:
        try:
            return self.frontier.archived(ids)
        except REDIS_GONE as error:
            self.redis_lost(error)
            return set(ids)  # nothing more is requested once Redis is gone

    def gone_check_due(self, article: int, now: datetime) -> bool:
        return self.gone.due(article, now)

    def seed(self, requests: list[Request], blocks: list[str]) -> bool:
        """Seed the job unless a worker did already; True for the one that did."""
        encoded = [(-request.priority, self.queue.encode(request)) for request in requests]
        seeded = self.frontier.seed(encoded, blocks, self.archived_bits())
        logger.info("job %s: %s", self.frontier.job, "seeded by this worker" if seeded else "joined")
        return seeded

    def note_recorded(self, result: CaptureResult) -> None:
        """A capture was logged: an archived post is archived for every worker of the job from now on."""
        if result.outcome is Outcome.ARCHIVED and result.id is not None and not self.lost:
            try:
                self.frontier.note_archived(result.id)
            except REDIS_GONE as error:
                self.redis_lost(error)

    # --- leases -------------------------------------------------------------------------------------------------

    def release(self, request: Request | None, outcome: str = "done") -> None:
        """The work of ``request``'s lease is recorded: acknowledge it (once)."""
        if request is None or self.lost:
            return
        field = request.meta.pop(LEASE_META, None)
        if not field:
            return
        try:
            self.frontier.ack(field, outcome)
        except REDIS_GONE as error:
            self.redis_lost(error)

    def item_done(self, item: Any, response: Response | None, spider: Spider, **kwargs: Any) -> None:
        self.release(response.request if response is not None else None)

    def item_failed(self, item: Any, response: Response | None, spider: Spider, failure: Any) -> None:
        self.release(response.request if response is not None else None, "failed")

    def redis_lost(self, error: BaseException) -> None:
        """Redis went away: say so once and stop this worker (its leases expire back into the queue)."""
        if self.lost:
            return
        self.lost = (
            f"Redis at {mask_url(self.url)} went away ({gone_reason(error)}); worker {self.frontier.worker} "
            f"stopped, its leased work returns to job {self.frontier.job}'s queue; run the same command to resume"
        )
        logger.error("%s", self.lost)
        if self.crawler.engine is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="redis_lost"))

    # --- signals ------------------------------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        from twisted.internet.task import LoopingCall

        state = self.frontier.state()
        if state is not None:
            logger.warning("job %s is %s already: nothing to do", self.frontier.job, state)
            assert self.crawler.engine is not None
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="job_done"))
            return
        self._heartbeat = LoopingCall(self._beat)
        self._heartbeat.start(min(1.0, self.frontier.lease_ttl / 3), now=False)

    def _beat(self) -> None:
        """Every second: renew the leases, requeue dead workers' ones, and wake an idle engine when the queue
        has work (Scrapy itself looks at an idle scheduler only every 5 s)."""
        if self.lost:
            return
        try:
            requeued = self.frontier.heartbeat()
            queued = self.queue is not None and len(self.queue) > 0
        except REDIS_GONE as error:
            self.redis_lost(error)
            return
        except JobClosed:  # declared dead (no heartbeat for a whole TTL) and the job went on without us
            logger.warning("job %s: this worker was given up for dead; stopping", self.frontier.job)
            if self.crawler.engine is not None and not self._closing:
                self._closing = True
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="job_done"))
            return
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        if queued and slot is not None:
            slot.nextcall.schedule()
        elif (
            engine is not None
            and slot is not None
            and engine.running
            and engine.spider_is_idle()
            and not self._closing
            and self._job_done()  # idle and done: close now (Scrapy asks spider_idle again only every 5 s)
        ):
            self._closing = True
            deferred_from_coro(engine.close_spider_async(reason="finished"))
        if requeued:
            logger.warning(
                "job %s: %d leased requests of a dead worker back in the queue", self.frontier.job, requeued
            )

    def spider_idle(self, spider: Spider) -> None:
        """Stay while the job has work queued or leased anywhere (a dead worker's leases come back)."""
        if self.lost or (self.crawler.engine is not None and not self.crawler.engine.running):
            return
        if not self._job_done() and not self.lost:
            raise DontCloseSpider

    def _job_done(self) -> bool:
        """Nothing queued or leased anywhere (dead workers' leases requeued first), or the fold has begun."""
        try:
            queued, blocks, leased, seeded, fold = self.frontier.pending()
        except REDIS_GONE as error:
            self.redis_lost(error)
            return False
        return fold or (seeded and queued == blocks == leased == 0)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """After the session closed this worker's archive: report the walk, leave, fold when last."""
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        if self.lost or reason == "job_done":
            return
        session = getattr(self.crawler, "_habr_session", None)
        walks: dict[str, Any] = getattr(spider, "walk_summaries", dict)()
        try:
            self.frontier.save_walks(
                {
                    "reason": reason,
                    "transient": session.transient_failures() if session else 0,
                    "walks": walks,
                }
            )
            self.left = self._leave()
            if self.left[0] == "fold":
                self.fold = self._fold()
        except REDIS_GONE as error:
            self.redis_lost(error)
        except Exception as error:  # the fold failed (DIR locked by another writer, disk full ...)
            logger.error("job %s: the fold into %s failed: %s", self.frontier.job, self.root, error)
            self.fold_error = (
                f"the fold into {self.root} failed ({error}); run the job's command again to retry"
            )
            with contextlib.suppress(*REDIS_GONE):
                self.frontier.abandon_fold()

    def _leave(self) -> tuple[str, str]:
        """Leave the job; when it is done but others are still alive, wait until one of them is the last
        (or their leases expire: a killed worker never says goodbye)."""
        deadline = time.monotonic() + 2 * self.frontier.lease_ttl + 30
        left = self.frontier.leave()
        while left[0] == "wait" and time.monotonic() < deadline:
            time.sleep(min(0.5, self.frontier.lease_ttl / 4))
            left = self.frontier.leave()
        return left

    def _fold(self) -> dict[str, Any]:
        job = self.frontier.job
        logger.warning("job %s is done: folding its workers' archives into %s", job, self.root)
        marks = self._marks_to_move()
        report = fold_workers(
            self.root,
            job,
            self.origin,
            marks=marks,
            lock_wait=self.crawler.settings.getfloat("HABR_LOCK_WAIT", 0) or 60.0,
            flush_rows=self.crawler.settings.getint("HABR_INDEX_FLUSH_ROWS", 1000),
            progress=lambda _: self.frontier.renew_fold(),
        )
        summary = {
            "job": job,
            "folded_by": self.frontier.worker,
            "finished": iso(redis_time(self.frontier.client)),
            "archive": str(self.root),
            "dead_workers": self.frontier.dead_workers(),
            **report.as_json(),
        }
        self.frontier.finish(summary)
        return summary

    def _marks_to_move(self) -> dict[str, datetime]:
        """The listing marks the whole job earned: each walk's pages were read by whichever worker popped them,
        so the walks are joined; a mark moves as in a single run (no gap above it, no transient failure, every
        worker finished; a worker that died leaves the marks where they are, the next job fills any gap)."""
        reports = self.frontier.all_walks()
        dead = self.frontier.dead_workers()
        run_ok = not dead and all(
            r.get("reason") == "finished" and not r.get("transient") for r in reports.values()
        )
        state = CrawlState.load(ArchiveDir(self.root).state_dir)
        joined: dict[str, ListingWalk] = {}
        for report in reports.values():
            for key, part in (report.get("walks") or {}).items():
                walk = joined.setdefault(key, ListingWalk(key=key, previous_mark=state.mark(key)))
                for moment in (part.get("newest"), part.get("oldest")):
                    if moment:
                        walk.see(parse_utc(moment))
                walk.pages += part.get("pages", 0)
                walk.reached_stop |= bool(part.get("reached_stop"))
                walk.reached_end |= bool(part.get("reached_end"))
                walk.hit_page_limit |= bool(part.get("hit_page_limit"))
                walk.failed = walk.failed or part.get("failed")
        return {
            key: walk.newest
            for key, walk in joined.items()
            if walk.newest is not None and walk.completed(run_ok)
        }
