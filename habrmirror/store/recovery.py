"""Rebuild index rows from WARC records: crash recovery at the start of a run (and the core of re-indexing).

A killed run may have logged captures whose rows were still in the index's in-memory batch. The capture log
holds, for each archived capture, the WARC pointer of the page bytes and the image outcomes; parsing those bytes
again with the same page objects gives the same row, with no network.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from habrmirror.archive.reader import decoded_payload, read_record
from habrmirror.items import Image, WarcPointer, article_record, stamp_capture
from habrmirror.pages import parse_article
from habrmirror.store.captures import Capture, iter_captures, read_checkpoint
from habrmirror.store.index import IndexStore
from habrmirror.store.layout import ArchiveDir

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "index-checkpoint.json"


def row_from_warc(
    archive_root: Path,
    pointer: WarcPointer,
    fetched_url: str,
    captured_at: str,
    images: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The index row for the page bytes at ``pointer``, as the crawl made it."""
    stored = read_record(archive_root, pointer)
    article = parse_article(fetched_url, decoded_payload(stored), datetime.fromisoformat(captured_at))
    restored = [Image(**image) for image in images] if images is not None else None
    return article_record(stamp_capture(article, fetched_url, captured_at, pointer, restored))


def replay_unflushed_captures(archive: ArchiveDir, index: IndexStore) -> int:
    """Apply captures logged after the last index flush; returns how many rows were rebuilt."""
    checkpoint = read_checkpoint(archive.state_dir / CHECKPOINT_NAME)
    rebuilt = 0
    for capture in iter_captures(archive.captures_dir, after=checkpoint):
        rebuilt += _apply(archive, index, capture)
    if rebuilt:
        logger.warning("recovered %d index rows a previous run had not flushed", rebuilt)
    return rebuilt


def _apply(archive: ArchiveDir, index: IndexStore, capture: Capture) -> int:
    if capture.id is None:
        return 0
    if capture.outcome == "gone":
        index.mark_gone(capture.id, capture.time)
        return 0
    if capture.outcome != "archived" or capture.warc is None:
        return 0
    try:
        row = row_from_warc(archive.root, capture.warc, capture.url, capture.time, capture.images)
    except Exception as error:  # a record we cannot read back is reported, never fatal to the new run
        logger.error("cannot rebuild the row of %s from %s: %s", capture.id, capture.warc.filename, error)
        return 0
    index.put(row)
    return 1
