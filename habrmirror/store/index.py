"""The JSON index: one JSON line per article id (its latest good capture), sharded by id into ``index/NNNNN.jsonl``.

Last step of the flow (item validated -> index row). A shard is rewritten whole and atomically (temp file,
fsync, rename), so a reader never sees a torn line or two lines for one id, and a run touches only the shards it
changes. Rows changed by a run are held in memory and written in batches (every ``flush_rows`` changes and at
the end); what a kill loses from that batch is rebuilt from the append-only capture log on the next start
(:mod:`habrmirror.store.recovery`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from habrmirror.archive.atomic import write_atomic

SHARD_SIZE = 1000
IDS_FILE = "index-ids.bin"  # the archived-id bitmap, in DIR/state/


def shard_name(article_id: int) -> str:
    """``454184`` -> ``00454.jsonl`` (ids 454000-454999)."""
    return f"{article_id // SHARD_SIZE:05d}.jsonl"


def dumps_row(row: dict[str, Any]) -> bytes:
    """One index line, UTF-8: compact JSON, text kept readable (not \\u-escaped), no newline inside.

    orjson writes exactly what ``json.dumps(row, ensure_ascii=False, separators=(",", ":"))`` would (a test
    checks this on every fixture's row), nine times faster: it was the crawl process's largest own cost."""
    return orjson.dumps(row)


def line_id(line: bytes) -> int:
    """The id of an index line: rows start with ``{"id":N,`` (the dataclass order), so no JSON parse needed."""
    if line.startswith(b'{"id":'):
        return int(line[6 : line.index(b",", 6)])
    return int(json.loads(line)["id"])


def iter_rows(index_dir: Path) -> Iterator[dict[str, Any]]:
    """Every row of an index directory, shard by shard (streaming: one shard in memory at a time)."""
    for path in sorted(index_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


class ArchivedIds:
    """Which ids have a row, as a bitmap (Habr ids are dense: 1M ids take 125 KB), so a listing crawl decides
    "already archived?" without reading shards. Saved beside the shards; rebuilt from them when missing."""

    def __init__(self, bits: bytearray | None = None) -> None:
        self.bits = bits if bits is not None else bytearray()

    def add(self, article_id: int) -> None:
        byte = article_id >> 3
        if byte >= len(self.bits):
            self.bits.extend(bytes(byte + 1 - len(self.bits) + 4096))
        self.bits[byte] |= 1 << (article_id & 7)

    def __contains__(self, article_id: object) -> bool:
        if not isinstance(article_id, int) or article_id < 0:
            return False
        byte = article_id >> 3
        return byte < len(self.bits) and bool(self.bits[byte] & (1 << (article_id & 7)))

    def __len__(self) -> int:
        return sum(bin(value).count("1") for value in self.bits)

    def save(self, path: Path) -> None:
        write_atomic(path, bytes(self.bits.rstrip(b"\0")))

    @classmethod
    def load(cls, path: Path, index_dir: Path) -> ArchivedIds:
        """The saved bitmap, or one rebuilt from the shards (reading only each line's leading id).

        An index directory without shards (new, or deleted by hand) gets an empty bitmap whatever was saved.
        """
        if not any(index_dir.glob("*.jsonl")):
            return cls()
        if path.exists():
            return cls(bytearray(path.read_bytes()))
        ids = cls()
        for shard in sorted(index_dir.glob("*.jsonl")):
            for article_id, _ in shard_lines(shard):
                ids.add(article_id)
        return ids


class IndexStore:
    """Read and update the sharded index. Changed rows are held in memory by shard until a flush merges them
    into each shard file while streaming it (never a whole shard in memory: a shard of 1,000 posts is ~70 MB,
    and holding shards made a 10,000-post crawl's peak memory 1.3x a 1,000-post one's)."""

    def __init__(self, index_dir: Path, flush_rows: int = 200, ids_path: Path | None = None) -> None:
        self.index_dir = index_dir
        self.flush_rows = flush_rows
        self.ids_path = ids_path or index_dir.parent / "state" / IDS_FILE
        self.ids = ArchivedIds.load(self.ids_path, index_dir)
        # changed rows as UTF-8 lines (half the memory of str for Cyrillic text), by shard
        self._changed: dict[str, dict[int, bytes]] = {}
        self._pending = 0

    def get(self, article_id: int) -> dict[str, Any] | None:
        """The row of ``article_id``; ids without a row are answered from the id bitmap, without a file scan
        (a backfill meets many 404s, and each asks whether a row exists to mark gone)."""
        if article_id not in self.ids:
            return None
        name = shard_name(article_id)
        line = self._changed.get(name, {}).get(article_id)
        if line is None:
            line = find_line(self.index_dir / name, article_id)
        return json.loads(line) if line is not None else None

    def put(self, row: dict[str, Any]) -> None:
        """Insert or replace the row for ``row["id"]``."""
        self.put_line(int(row["id"]), dumps_row(row))

    def put_line(self, article_id: int, line: bytes) -> None:
        """:meth:`put` of a row already made into its index line by :func:`dumps_row` (``reindex --jobs``'
        workers send lines: a tenth of the cost of sending the row and encoding it here)."""
        self._changed.setdefault(shard_name(article_id), {})[article_id] = line
        self.ids.add(article_id)
        self._pending += 1

    @property
    def needs_flush(self) -> bool:
        """True once ``flush_rows`` changes are buffered."""
        return self._pending >= self.flush_rows

    def mark_gone(self, article_id: int, gone_at: str) -> bool:
        """Set ``gone_at`` on an archived row (the post now answers 404); never removes it. False if no row."""
        row = self.get(article_id)
        if row is None:
            return False
        if not row.get("gone_at"):
            row["gone_at"] = gone_at
            self.put(row)
        return True

    def flush(self) -> list[Path]:
        """Atomically rewrite every changed shard, rows sorted by id; returns the shards written."""
        written = []
        for name in sorted(self._changed):
            path = self.index_dir / name
            write_atomic(path, merged_lines(path, self._changed[name]))
            written.append(path)
        if written:
            self.ids.save(self.ids_path)
        self._changed.clear()
        self._pending = 0
        return written


def shard_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(id, line)`` of every row of a shard file, streamed (the id prefix is read, not the JSON); none when
    the shard does not exist."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for line in handle:
            line = line.rstrip(b"\n")
            if line:
                yield line_id(line), line


def find_line(path: Path, article_id: int) -> bytes | None:
    """The line of ``article_id`` in a shard file (a scan)."""
    return next((line for found, line in shard_lines(path) if found == article_id), None)


def merged_lines(path: Path, changed: dict[int, bytes]) -> Iterator[bytes]:
    """The shard's lines with ``changed`` rows replacing or joining them, in id order, streamed from disk."""
    pending = sorted(changed)
    position = 0
    for article_id, line in shard_lines(path):
        while position < len(pending) and pending[position] < article_id:
            yield changed[pending[position]] + b"\n"
            position += 1
        if position < len(pending) and pending[position] == article_id:
            continue  # replaced: the changed row is written when the merge passes its id
        yield line + b"\n"
    for article_id in pending[position:]:
        yield changed[article_id] + b"\n"
