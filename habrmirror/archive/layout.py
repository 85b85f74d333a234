"""The archive directory on disk: where each kind of file lives, ``archive.json``, the writer lock, atomic writes.

Every component that reads or writes an archive gets its paths from :class:`ArchiveDir`, so the layout is
defined once (README "Archive directory").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from habrmirror import __version__
from habrmirror.items import SCHEMA_VERSION


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the only clock the project uses)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with seconds, e.g. ``2026-11-25T23:08:14+00:00``."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write a whole file so readers see the old or the new content, never a torn one (write, fsync, rename).

    ``data`` may be an iterable of chunks, so a large file is streamed rather than joined in memory first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes | bytearray):
                handle.write(data)
            else:
                handle.writelines(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, value: Any) -> None:
    """Pretty JSON, written atomically."""
    write_atomic(path, (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


class LockHeld(RuntimeError):
    """Another process is writing to this archive directory."""


@dataclass(frozen=True)
class ArchiveDir:
    """Paths of one archive directory (see DESIGN.md); creating the object touches nothing on disk."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "archive.json"

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def cdxj_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def captures_dir(self) -> Path:
        return self.root / "captures"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "writer.lock"

    def ensure(self, origin: str) -> None:
        """Create the directories and ``archive.json`` (kept as is when it exists: it says when it was created)."""
        for directory in (self.warc_dir, self.index_dir, self.captures_dir, self.state_dir, self.runs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        if not self.manifest.exists():
            write_json_atomic(
                self.manifest,
                {
                    "format": "habrmirror-archive",
                    "schema_version": SCHEMA_VERSION,
                    "origin": origin,
                    "warc_version": "WARC/1.1",
                    "software": f"habrmirror/{__version__}",
                    "created": iso(utc_now()),
                    "layout": {
                        "warc": "warc/*.warc.gz",
                        "index": "index/NNNNN.jsonl (ids NNNNN000-NNNNN999)",
                        "captures": "captures/*.jsonl",
                        "cdxj": "indexes/*.cdxj",
                    },
                },
            )

    @contextlib.contextmanager
    def writer_lock(self, wait: float = 0.0, holder: str = "") -> Iterator[IO[str]]:
        """Hold the archive's single-writer lock (flock: released by the kernel if the process dies).

        Waits up to ``wait`` seconds, then raises :class:`LockHeld` naming the current holder.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+")  # noqa: SIM115 - held for the whole with-block
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        who = handle.read().strip() or "another process"
                        raise LockHeld(f"archive {self.root} is locked by {who}") from None
                    time.sleep(0.2)
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} {holder} since {iso(utc_now())}\n")
            handle.flush()
            yield handle
        finally:
            handle.close()
