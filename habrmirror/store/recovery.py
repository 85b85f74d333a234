"""Crash recovery: rebuild the index rows a killed run had logged captures for but not yet flushed.

The capture log holds, for each archived capture, the WARC pointer of the page bytes and the image outcomes;
the same capture function the crawl uses (``habrmirror.capture``), given those bytes again, gives the same row,
with no network.
"""

from __future__ import annotations

import logging
from typing import Any

from habrmirror.archive.reader import read_record
from habrmirror.capture import Outcome, finish, judge, judge_comments, stored_page
from habrmirror.clock import parse_utc
from habrmirror.items import Image, WarcPointer
from habrmirror.store.captures import Capture, iter_captures, read_checkpoint
from habrmirror.store.index import IndexStore
from habrmirror.store.layout import ArchiveDir

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "index-checkpoint.json"


def apply_to_index(index: IndexStore, line: Capture, row: dict[str, Any] | None) -> None:
    """What one capture does to the index: an archived row is put, a ``gone`` marks an archived row gone."""
    if line.id is None:
        return
    if line.outcome == Outcome.GONE.value:
        index.mark_gone(line.id, line.time)
    elif line.outcome == Outcome.ARCHIVED.value and row is not None:
        index.put(row)


def row_from_capture(archive: ArchiveDir, line: Capture) -> dict[str, Any] | None:
    """The index row an ``archived`` capture line stands for, rebuilt from its WARC record (None: invalid)."""
    assert line.warc is not None
    stored = read_record(archive.root, line.warc)
    page = stored_page(stored, line.url, parse_utc(line.time), line.warc, line.id, line.revisit)
    result = judge(page)
    if result.article is not None and line.comments:
        note = line.comments
        if note.get("warc"):  # the comments answer the crawl archived: judged again from its record
            pointer = WarcPointer(**note["warc"])
            answer = read_record(archive.root, pointer)
            url = str(answer.warc_headers.get_header("WARC-Target-URI") or "")
            judge_comments(result, stored_page(answer, url, parse_utc(line.time), pointer))
        else:
            judge_comments(result, status=note.get("status"), reason=note.get("reason"))
    images = [Image(**image) for image in line.images] if line.images is not None else None
    return finish(result, images).row


def replay_unflushed_captures(archive: ArchiveDir, index: IndexStore) -> int:
    """Apply captures logged after the last index flush; returns how many rows were rebuilt."""
    checkpoint = read_checkpoint(archive.state_dir / CHECKPOINT_NAME)
    rebuilt = 0
    for line in iter_captures(archive.captures_dir, after=checkpoint):
        row = None
        if line.id is not None and line.outcome == Outcome.ARCHIVED.value and line.warc is not None:
            try:
                row = row_from_capture(archive, line)
            except Exception as error:  # a record we cannot read back is reported, never fatal to the new run
                logger.error("cannot rebuild the row of %s from %s: %s", line.id, line.warc.filename, error)
                continue
            rebuilt += row is not None
        apply_to_index(index, line, row)
    if rebuilt:
        logger.warning("recovered %d index rows a previous run had not flushed", rebuilt)
    return rebuilt
