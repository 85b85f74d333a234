"""Fold the per-worker archives of a shared crawl job into the one archive directory they were started for.

Each worker of a job (``habrmirror crawl --redis``) writes a whole archive of its own under
``DIR/workers/<job>/<worker>/`` (its WARCs named after it, its capture log, index, digest index, search index),
so no file is written by two processes. When the job is done the last worker calls :func:`fold_workers`: with
``DIR``'s writer lock held it opens each worker archive as a writer (which takes that worker's lock, repairs a
WARC a dead worker left ``.open`` and replays the captures it had not flushed), moves its WARCs and CDXJ files
into ``DIR`` (WARC pointers are relative to the archive directory, so they stay true), appends its capture
lines to ``DIR``'s log in time order, puts its rows into ``DIR``'s index (one row per id: the latest capture
wins, as in a crawl), merges its payload digests and known-gone ids, and deletes it. ``DIR`` is then a plain
archive: ``verify``, ``reindex``, ``pack``, ``site`` read it as if one process had written it.
"""

from __future__ import annotations

import heapq
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from habrmirror.archive.atomic import fsync_dir
from habrmirror.archive.cdxj import cdxj_path, write_cdxj
from habrmirror.archive.digests import DigestEntry, DigestIndex
from habrmirror.archive.warc import WARC_SUFFIX
from habrmirror.capture import Outcome
from habrmirror.clock import parse_utc
from habrmirror.items import WarcPointer
from habrmirror.store.captures import Capture, iter_captures
from habrmirror.store.index import iter_rows
from habrmirror.store.layout import ArchiveDir
from habrmirror.store.marks import CrawlState
from habrmirror.store.writer import ArchiveWriter

logger = logging.getLogger(__name__)

WORKERS_DIR = "workers"  # DIR/workers/<job>/<worker>/: the per-worker archives of running jobs


def worker_archive(root: Path, job: str, worker: str) -> Path:
    """Where worker ``worker`` of job ``job`` keeps its archive inside ``root``."""
    return Path(root) / WORKERS_DIR / job / worker


@dataclass
class FoldReport:
    workers: list[str] = field(default_factory=list)
    warc_files: list[str] = field(default_factory=list)
    repaired_warcs: list[str] = field(default_factory=list)
    captures: int = 0
    rows: int = 0  # rows put into DIR's index (new ids and newer captures of known ones)
    duplicates: int = 0  # an id archived by two workers (a worker killed before acknowledging): one row kept
    marks_moved: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def fold_workers(
    root: Path,
    job: str,
    origin: str,
    marks: dict[str, datetime] | None = None,
    lock_wait: float = 60.0,
    flush_rows: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> FoldReport:
    """Fold every worker archive of ``job`` into ``root`` and delete them; move ``marks`` in ``root``.

    ``progress(worker)`` is called after each worker archive is folded (the caller renews its claim)."""
    report = FoldReport()
    job_dir = Path(root) / WORKERS_DIR / job
    workers = sorted(path for path in job_dir.iterdir() if path.is_dir()) if job_dir.is_dir() else []
    target = ArchiveWriter(Path(root), origin, lock_wait, flush_rows, holder=f"habrmirror fold of job {job}")
    try:
        digests = DigestIndex(target.archive.root)
        seen: set[int] = set()  # ids folded from an earlier worker of this job
        try:
            for worker in workers:
                _fold_one(target, digests, worker, origin, lock_wait, report, seen)
                target.flush(sync_warcs=False)  # a worker's rows are on disk before its files go
                shutil.rmtree(worker)
                report.workers.append(worker.name)
                if progress is not None:
                    progress(worker.name)
        finally:
            digests.close()
        if marks:
            state = CrawlState.load(target.archive.state_dir)
            for key, moment in marks.items():
                state.set_mark(key, moment)
                report.marks_moved[key] = moment.isoformat()
            state.save()
    finally:
        target.close()
    for directory in (job_dir, job_dir.parent):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return report


def _fold_one(
    target: ArchiveWriter,
    digests: DigestIndex,
    worker: Path,
    origin: str,
    lock_wait: float,
    report: FoldReport,
    seen: set[int],
) -> None:
    # Opening the worker's archive as a writer is the crash recovery every archive gets: its lock (free once
    # the worker process is gone), its .open WARC cut to whole exchanges, its unflushed captures replayed.
    source = ArchiveWriter(worker, origin, lock_wait, flush_rows=1 << 30, holder="habrmirror fold")
    try:
        report.repaired_warcs += [path.name for path in source.repaired_warcs]
    finally:
        source.close()
    archive = ArchiveDir(worker)
    _move_warcs(archive, target.archive, report)
    _merge_digests(archive, digests)
    index = target.index
    for capture in _captures_in_time_order(archive):
        target.captures.append(capture)
        report.captures += 1
        if capture.id is None:
            continue
        if capture.outcome == Outcome.GONE.value:
            if not index.mark_gone(capture.id, capture.time):
                target.gone.seen_gone(capture.id, parse_utc(capture.time))
        elif capture.outcome == Outcome.ARCHIVED.value:
            target.gone.forget(capture.id)
    for row in iter_rows(archive.index_dir):
        if int(row["id"]) in seen:
            report.duplicates += 1
        seen.add(int(row["id"]))
        current = index.get(int(row["id"]))
        if current is not None and (current.get("captured_at") or "") > (row.get("captured_at") or ""):
            continue  # DIR holds a later capture of this post
        index.put(row)
        report.rows += 1
        if index.needs_flush:
            target.flush(sync_warcs=False)
    for run in archive.runs_dir.glob("*.json"):
        os.replace(run, target.archive.runs_dir / run.name)


def _captures_in_time_order(archive: ArchiveDir) -> Iterator[Capture]:
    """The worker's capture lines, oldest first (each month file is in append order, which is time order
    within one process; a merge by time keeps that)."""
    return heapq.merge(iter_captures(archive.captures_dir), key=lambda capture: capture.time)


def _move_warcs(source: ArchiveDir, target: ArchiveDir, report: FoldReport) -> None:
    target.warc_dir.mkdir(parents=True, exist_ok=True)
    target.cdxj_dir.mkdir(parents=True, exist_ok=True)
    for warc in sorted(source.warc_dir.glob(f"*{WARC_SUFFIX}")):
        index = cdxj_path(warc, source.cdxj_dir)
        if not index.exists():  # a WARC repaired after its worker died has none yet
            write_cdxj(warc, source.cdxj_dir)
        destination = target.warc_dir / warc.name
        if destination.exists():
            raise FileExistsError(f"cannot fold {warc}: {destination} exists (two workers with one id?)")
        os.replace(warc, destination)
        os.replace(index, cdxj_path(destination, target.cdxj_dir))
        report.warc_files.append(f"warc/{warc.name}")
    fsync_dir(target.warc_dir)
    fsync_dir(target.cdxj_dir)


def _merge_digests(source: ArchiveDir, digests: DigestIndex) -> None:
    """The worker's payload digests join DIR's (its records now live in DIR's warc/ under the same names)."""
    path = source.state_dir / "digests.sqlite"
    if not path.exists():
        return
    worker = DigestIndex(source.root)
    try:
        rows = worker._db.execute(
            "SELECT digest, filename, offset, length, record_id, target_uri, warc_date FROM payload_digests"
        ).fetchall()
    finally:
        worker.close()
    for digest, filename, offset, length, record_id, target_uri, warc_date in rows:
        if digests.lookup(digest) is None:
            digests.add(
                digest, DigestEntry(WarcPointer(filename, offset, length, record_id), target_uri, warc_date)
            )
    digests.commit()
