"""One capture path: the crawl, crash recovery and reindex turn the same WARC into the same captures and rows.

All three call ``habrmirror.capture`` (judge, then finish). The archive is made once by real crawls of the
replica (a listing crawl, a revisit of one post, a 404 of a deleted one); then its index is rebuilt by recovery
(the capture log replayed against the WARC records) and by reindex (the WARCs alone, capture log too), and both
must give back exactly what the crawl wrote, field for field.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from habrmirror.capture import Outcome
from habrmirror.store.captures import iter_captures
from habrmirror.store.index import IDS_FILE, iter_rows
from habrmirror.store.recovery import CHECKPOINT_NAME
from habrmirror.store.writer import ArchiveWriter
from habrmirror.tools.reindex import reindex_archive
from tests.test_reindex import build_archive


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("paths") / "archive"
    build_archive(out)
    return out


def rows(root: Path) -> list[dict[str, Any]]:
    return sorted(iter_rows(root / "index"), key=lambda row: row["id"])


def capture_lines(root: Path) -> list[dict[str, Any]]:
    """The capture log without the ``run`` field (reindex names its own run) and ordered by time."""
    lines = [{k: v for k, v in asdict(c).items() if k != "run"} for c in iter_captures(root / "captures")]
    return sorted(lines, key=lambda line: (line["time"], line["id"] or 0, line["url"]))


def test_the_crawl_made_every_kind_of_capture_the_paths_must_agree_on(crawled: Path) -> None:
    outcomes = {line["outcome"] for line in capture_lines(crawled)}
    assert {Outcome.ARCHIVED.value, Outcome.GONE.value} <= outcomes
    assert any(line["revisit"] for line in capture_lines(crawled))
    assert any(row["gone_at"] for row in rows(crawled))
    notes = [line["comments"] for line in capture_lines(crawled) if line["comments"]]
    assert {"api", "none"} & {note["status"] for note in notes} and any(note.get("warc") for note in notes)
    assert {row["comments_status"] for row in rows(crawled)} >= {"api", "page"}


def test_recovery_rebuilds_exactly_the_crawled_rows(crawled: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(crawled, root)
    shutil.rmtree(root / "index")
    (root / "state" / IDS_FILE).unlink()
    (root / "state" / CHECKPOINT_NAME).unlink()  # as if no flush had ever happened: every capture replays
    writer = ArchiveWriter(root, "http://replica", lock_wait=0, flush_rows=1000, holder="test")
    writer.close()
    assert rows(root) == rows(crawled)


def test_reindex_rebuilds_exactly_the_crawled_rows_and_capture_lines(crawled: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(crawled, root)
    reindex_archive(root, rebuild_captures=True)
    assert rows(root) == rows(crawled)
    assert capture_lines(root) == capture_lines(crawled)
