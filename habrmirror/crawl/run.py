"""Run one habrmirror spider in this process and return its summary: what the CLI commands call.

The crawl itself is plain Scrapy with ``habrmirror.settings``, so ``scrapy crawl`` and scrapyd behave the same;
this module only turns command-line choices into settings and the outcome into a :class:`RunResult`.
A process can run one crawl (Twisted's reactor cannot be restarted), which is why every command is one run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.settings import Settings
from twisted.internet.error import ConnectError, DNSLookupError

from habrmirror.store.layout import LockHeld


@dataclass
class RunResult:
    summary: dict[str, Any] | None
    error: str | None = None
    locked: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    shared: SharedOutcome | None = None  # a worker of a shared job: how it left the job
    job_closed: bool = False  # the shared job was done (or being folded) by the time this worker started


@dataclass
class SharedJob:
    """A shared job a crawl is about to join (``--redis``): checked before the crawl starts."""

    url: str
    job: str
    worker: str
    state: str | None  # 'done' or 'folding' when there is nothing left to do; None to join
    result: dict[str, Any] | None  # the job's result, once done

    def settings(self, rate: float) -> dict[str, Any]:
        return {
            "HABR_REDIS_URL": self.url,
            "HABR_JOB": self.job,
            "HABR_WORKER_ID": self.worker,
            "HABR_RATE": rate,
        }


@dataclass
class SharedOutcome:
    job: str
    worker: str
    lost: str | None  # why Redis went away mid-run
    left: tuple[str, str] | None  # ('fold', me) / ('folded_by', W) / ('left', '') / ('wait', '')
    fold: dict[str, Any] | None  # the job's result, when this worker folded
    fold_error: str | None = None  # why this worker's fold failed (the job stays open for another try)


def join_shared_job(
    url: str, job: str | None, spider: str, arguments: dict[str, Any], origin: str
) -> SharedJob:
    """Reach Redis and name the job (the default from the arguments and Redis's hour); raises
    :class:`~habrmirror.crawl.frontier.jobs.RedisUnavailable` with a one-line message."""
    from habrmirror.crawl.frontier.jobs import (
        JobFrontier,
        connect,
        default_job_name,
        default_worker_id,
        redis_time,
    )

    client = connect(url)
    try:
        name = job or default_job_name(spider, arguments, origin, redis_time(client))
        frontier = JobFrontier(client, name, default_worker_id())
        return SharedJob(url, name, frontier.worker, frontier.state(), frontier.done_summary())
    finally:
        client.close()


def crawl_settings(
    archive_dir: Path, origin: str, overrides: dict[str, Any] | None = None, log_level: str = "WARNING"
) -> Settings:
    """habrmirror's settings module plus this run's archive, origin and overrides."""
    settings = Settings()
    settings.setmodule("habrmirror.settings", priority="project")
    settings.set("HABR_ARCHIVE_DIR", str(archive_dir), priority="cmdline")
    settings.set("HABR_ORIGIN", origin, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


# Network failures are expected: their log lines stay, their tracebacks go (the capture log and the summary say
# what happened to each post).
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
    ConnectError,
    DNSLookupError,
    TimeoutError,
    ConnectionError,
)


def _caused_by_network(error: BaseException | None) -> bool:
    while error is not None:
        if isinstance(error, _NETWORK_ERRORS):
            return True
        error = error.__cause__ or error.__context__
    return False


def drop_network_tracebacks() -> None:
    """Make every log record caused by a network failure keep its message but lose its traceback.

    Done at record creation (a record factory) because Scrapy installs its log handlers when the crawl starts
    and logs from many modules' loggers.
    """
    create = logging.getLogRecordFactory()
    if getattr(create, "_habr_drops_network_tracebacks", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = create(*args, **kwargs)
        if record.exc_info and _caused_by_network(record.exc_info[1]):
            record.exc_info = None
        return record

    factory._habr_drops_network_tracebacks = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def run_spider(spider: str, settings: Settings, **spider_args: Any) -> RunResult:
    """Run ``spider`` to completion; returns its summary, or why it did not run."""
    process = CrawlerProcess(settings)
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL"))
    drop_network_tracebacks()
    crawler = process.create_crawler(spider)
    failures: list[BaseException] = []
    deferred = process.crawl(crawler, **spider_args)
    deferred.addErrback(lambda failure: failures.append(failure.value))
    process.start()
    session = getattr(crawler, "_habr_session", None)
    worker = getattr(crawler, "_habr_frontier", None)
    shared = (
        SharedOutcome(
            worker.frontier.job,
            worker.frontier.worker,
            worker.lost,
            worker.left,
            worker.fold,
            worker.fold_error,
        )
        if worker is not None
        else None
    )
    try:
        stats = crawler.stats.get_stats()
    except RuntimeError:  # the crawl never started
        stats = {}
    if failures:
        error = failures[0]
        if isinstance(error, LockHeld):
            return RunResult(None, str(error), locked=True, stats=stats, shared=shared)
        if type(error).__name__ == "JobClosed":  # a shared job folded between our check and our start
            return RunResult(None, str(error), stats=stats, job_closed=True)
        message = (
            str(error) if type(error).__name__ == "RedisUnavailable" else f"{type(error).__name__}: {error}"
        )
        return RunResult(session.summary if session else None, message, stats=stats, shared=shared)
    return RunResult(session.summary if session else None, stats=stats, shared=shared)
