"""DigestIndex: pending entries are usable at once but persist only on commit; first writer wins."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from habrmirror.archive.digests import DIGESTS_PATH, DigestEntry, DigestIndex
from habrmirror.items import WarcPointer

DIGEST = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"


def entry(offset: int = 100, uri: str = "https://habr.com/ru/articles/1/") -> DigestEntry:
    pointer = WarcPointer("warc/a.warc.gz", offset, 50, f"<urn:uuid:{offset}>")
    return DigestEntry(pointer, uri, "2024-01-01T00:00:00Z")


def test_pending_entry_is_visible_to_its_session_only(tmp_path: Path) -> None:
    index = DigestIndex(tmp_path)
    index.add(DIGEST, entry())
    assert index.lookup(DIGEST) == entry()
    assert index.pending_count == 1
    other = DigestIndex(tmp_path)
    assert other.lookup(DIGEST) is None
    index.close()  # never committed: dropped
    assert other.lookup(DIGEST) is None
    assert len(other) == 0
    other.close()


def test_commit_persists_and_reopen_finds_it(tmp_path: Path) -> None:
    index = DigestIndex(tmp_path)
    index.add(DIGEST, entry())
    assert index.commit() == 1
    assert index.pending_count == 0
    index.close()
    with DigestIndex(tmp_path) as reopened:
        assert reopened.lookup(DIGEST) == entry()
        assert len(reopened) == 1
    assert (tmp_path / DIGESTS_PATH).exists()


def test_first_entry_wins(tmp_path: Path) -> None:
    with DigestIndex(tmp_path) as index:
        index.add(DIGEST, entry(100))
        index.add(DIGEST, entry(200))
        index.commit()
        index.add(DIGEST, entry(300))
        assert index.commit() == 0
        assert index.lookup(DIGEST) == entry(100)


def test_discard_pending(tmp_path: Path) -> None:
    with DigestIndex(tmp_path) as index:
        index.add(DIGEST, entry())
        index.discard_pending()
        assert index.lookup(DIGEST) is None
        assert index.commit() == 0


def test_wal_mode(tmp_path: Path) -> None:
    DigestIndex(tmp_path).close()
    db = sqlite3.connect(tmp_path / DIGESTS_PATH)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
