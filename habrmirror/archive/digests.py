"""Payload-digest index for revisit dedup: which stored record already holds a given response body.

The WARC writer (:mod:`habrmirror.archive.warc`) asks it before writing a 200 response and adds every new body
it writes. It lives in ``DIR/state/digests.sqlite`` so dedup works across crawl runs.

Crash safety: entries are *pending* (kept in memory, usable by this session) until the writer has fsynced the
WARC bytes they point to and calls :meth:`DigestIndex.commit`. So a crash can lose an entry (the next capture
of that body is stored in full) but can never leave a persisted entry pointing at bytes that were not on disk.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from habrmirror.items import WarcPointer

DIGESTS_PATH = Path("state") / "digests.sqlite"  # relative to the archive directory

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payload_digests (
    digest      TEXT PRIMARY KEY,   -- "sha1:BASE32", as in WARC-Payload-Digest
    filename    TEXT NOT NULL,      -- WarcPointer.filename, e.g. "warc/habrmirror-...warc.gz"
    offset      INTEGER NOT NULL,
    length      INTEGER NOT NULL,
    record_id   TEXT NOT NULL,      -- WARC-Record-ID of the record holding the payload
    target_uri  TEXT NOT NULL,      -- its WARC-Target-URI (becomes WARC-Refers-To-Target-URI)
    warc_date   TEXT NOT NULL       -- its WARC-Date (becomes WARC-Refers-To-Date)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class DigestEntry:
    """The first stored record with a given payload: what a revisit record refers to."""

    pointer: WarcPointer
    target_uri: str
    warc_date: str


class DigestIndex:
    """Persistent map payload digest -> :class:`DigestEntry`; first writer wins, entries are never replaced.

    Not thread-safe: one writer process owns it (the archive's writer lock guarantees that).
    """

    def __init__(self, archive_dir: Path) -> None:
        """Open (creating if needed) the index of the archive directory ``archive_dir``."""
        self.path = Path(archive_dir) / DIGESTS_PATH
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly in commit(), so nothing is half-written.
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL under WAL may forget the last commits on power loss but never corrupts: a lost entry only
        # costs one duplicate body, which is the trade this index is built around.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._pending: dict[str, DigestEntry] = {}

    def lookup(self, digest: str) -> DigestEntry | None:
        """The record that first stored this payload: pending entries of this session first, then the file."""
        pending = self._pending.get(digest)
        if pending is not None:
            return pending
        row = self._db.execute(
            "SELECT filename, offset, length, record_id, target_uri, warc_date"
            " FROM payload_digests WHERE digest = ?",
            (digest,),
        ).fetchone()
        if row is None:
            return None
        filename, offset, length, record_id, target_uri, warc_date = row
        return DigestEntry(WarcPointer(filename, offset, length, record_id), target_uri, warc_date)

    def add(self, digest: str, entry: DigestEntry) -> None:
        """Remember a newly written payload; it persists only at the next :meth:`commit` (after an fsync)."""
        if digest not in self._pending:
            self._pending[digest] = entry

    @property
    def pending_count(self) -> int:
        """Entries added since the last commit (they would be lost by a crash now)."""
        return len(self._pending)

    def commit(self) -> int:
        """Persist the pending entries; call only once the WARC bytes they point to are fsynced.

        Returns how many entries were new on disk.
        """
        if not self._pending:
            return 0
        rows = [
            (
                digest,
                e.pointer.filename,
                e.pointer.offset,
                e.pointer.length,
                e.pointer.record_id,
                e.target_uri,
                e.warc_date,
            )
            for digest, e in self._pending.items()
        ]
        before = self._db.total_changes
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR IGNORE INTO payload_digests VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._pending.clear()
        return self._db.total_changes - before

    def discard_pending(self) -> None:
        """Forget the pending entries (their WARC bytes were cut off or never made it to disk)."""
        self._pending.clear()

    def __len__(self) -> int:
        """Number of persisted entries (pending ones not counted)."""
        return int(self._db.execute("SELECT count(*) FROM payload_digests").fetchone()[0])

    def close(self) -> None:
        """Close the database. Pending entries are dropped: only the writer knows when they are safe."""
        self._pending.clear()
        self._db.close()

    def __enter__(self) -> DigestIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
