"""ArchiveWriter: one writer's hold on an archive directory, Scrapy-free (the crawl's session wraps it).

It takes the single-writer lock, creates the layout, repairs WARC files a killed run left open, removes the
temp files a killed atomic write left, replays the captures the index had not flushed, and then takes every
capture result: the line goes to the capture log first, the row (or a ``gone_at``) to the index after it, so a
row never reaches disk before the capture that explains it. Every row put into the index is put into the search
index too (:mod:`habrmirror.store.search`: queued, and stemmed and inserted on its own thread), which each flush
commits before the checkpoint moves (waiting for that thread to have written every row put).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from habrmirror.archive.atomic import fsync_dir, write_json_atomic
from habrmirror.archive.warc import repair_open_warcs
from habrmirror.capture import CaptureResult, Outcome
from habrmirror.clock import parse_utc
from habrmirror.store.captures import Capture, CaptureLog
from habrmirror.store.gone import GONE_FILE, GoneIds
from habrmirror.store.index import IndexStore
from habrmirror.store.layout import ArchiveDir, remove_stale_temp_files
from habrmirror.store.memory import return_large_buffers
from habrmirror.store.recovery import CHECKPOINT_NAME, apply_to_index, replay_unflushed_captures
from habrmirror.store.search import SearchIndex, checkpoint_json, open_for_writer

logger = logging.getLogger(__name__)

STAGED_CHECKPOINT = CHECKPOINT_NAME + ".next"  # the checkpoint a flush is about to write


class SearchedIndex(IndexStore):
    """The index, with every row put into it also put into the search index (recovery's replay too): only
    queued here, the search index's thread does the work, and the flush's commit waits for it."""

    def __init__(self, index_dir: Path, flush_rows: int, search: SearchIndex | None) -> None:
        super().__init__(index_dir, flush_rows=flush_rows)
        self.search = search

    def put(self, row: dict[str, Any]) -> None:
        super().put(row)
        if self.search is not None:
            self.search.put(row)


class ArchiveWriter:
    """Lock, repair and recovery on open; capture log and index while open; flushed and unlocked on close."""

    def __init__(self, root: Path, origin: str, lock_wait: float, flush_rows: int, holder: str) -> None:
        return_large_buffers()  # a writer's process runs for hours: keep its memory flat (see memory.py)
        self.archive = ArchiveDir(root)
        self._stack = ExitStack()
        # The lock comes first: nothing (not even a repair) touches a directory another writer holds.
        self._stack.enter_context(self.archive.writer_lock(wait=lock_wait, holder=holder))
        self.archive.ensure(origin)
        # A killed run leaves its WARC open and maybe index rows unflushed: close the one, rebuild the other.
        self.repaired_warcs = repair_open_warcs(self.archive.warc_dir)
        for path in self.repaired_warcs:
            logger.warning("repaired WARC left open by an interrupted run: %s", path)
        removed = remove_stale_temp_files(self.archive)
        if removed:
            logger.warning("removed %d temporary files an interrupted run left", removed)
        self.captures = CaptureLog(self.archive.captures_dir)
        (self.archive.state_dir / STAGED_CHECKPOINT).unlink(
            missing_ok=True
        )  # a flush killed before its rename
        # None when the search index is behind the index: `habrmirror search` rebuilds it, this run leaves it be
        self.search = open_for_writer(self.archive)
        self._stack.callback(self._close_search)
        self.index = SearchedIndex(self.archive.index_dir, flush_rows, self.search)
        self.gone = GoneIds(self.archive.state_dir / GONE_FILE)
        self._syncers: list[Callable[[], None]] = []
        if replay_unflushed_captures(self.archive, self.index):
            self.flush(sync_warcs=False)  # no WARC is open yet: nothing to sync

    def is_archived(self, article_id: int) -> bool:
        """True when the index holds a row for ``article_id``."""
        return article_id in self.index.ids

    def gone_check_due(self, article_id: int, now: datetime) -> bool:
        """False for an id known gone (404/410, no row) whose re-check back-off has not passed yet."""
        return self.gone.due(article_id, now)

    def add_syncer(self, sync: Callable[[], None]) -> None:
        """Run ``sync`` before every index flush, so no index row points at bytes not yet on disk."""
        self._syncers.append(sync)

    def log(self, result: CaptureResult, run: str) -> Capture:
        """Append the capture line, then apply the result to the index (row, or ``gone_at``)."""
        capture = Capture.of(result, run)
        self.captures.append(capture)
        apply_to_index(self.index, capture, result.row)
        if result.id is not None:
            if result.outcome is Outcome.GONE and not self.is_archived(result.id):
                self.gone.seen_gone(result.id, parse_utc(result.time))
            elif result.outcome is Outcome.ARCHIVED:
                self.gone.forget(result.id)
        if self.index.needs_flush:
            self.flush()
        return capture

    def flush(self, sync_warcs: bool = True) -> None:
        """Write dirty index shards and commit the search index, then note how far the capture log is
        reflected in them.

        The search index is committed as consistent with both the old and the new checkpoint: a kill before
        the new one is in place replays the captures after the old one into both (upserts: harmless twice).
        """
        for sync in self._syncers if sync_warcs else ():
            sync()
        self.captures.sync()
        self.index.flush()
        self.gone.save()
        checkpoint = self.archive.state_dir / CHECKPOINT_NAME
        if self.search is None:
            self.captures.write_checkpoint(checkpoint)
            return
        staged = self.archive.state_dir / STAGED_CHECKPOINT
        self.captures.write_checkpoint(staged)
        self.search.commit(checkpoint_json(checkpoint), checkpoint_json(staged))
        os.replace(staged, checkpoint)
        fsync_dir(checkpoint.parent)

    def _close_search(self) -> None:
        if self.search is not None:
            self.search.close()
            self.search = None

    def close(self, summary: dict[str, Any] | None = None, run: str | None = None) -> None:
        """Flush (WARCs must be closed first), write the run summary, release the lock."""
        try:
            self.flush(sync_warcs=False)
            self.captures.close()
            if summary is not None and run is not None:
                write_json_atomic(self.archive.runs_dir / f"{run}.json", summary)
        finally:
            self._stack.close()
