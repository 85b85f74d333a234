"""The archive directory on disk: where each kind of file lives, ``archive.json``, the writer lock.

Every component that reads or writes an archive gets its paths from :class:`ArchiveDir`, so the layout is
defined once (README "The archive directory"). Files appear through ``habrmirror.archive.atomic``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from habrmirror import __version__
from habrmirror.archive.atomic import write_atomic, write_json_atomic
from habrmirror.clock import iso, utc_now
from habrmirror.items import SCHEMA_VERSION
from habrmirror.schema import index_dataset_card


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
    def card(self) -> Path:
        """``README.md``: the index's dataset card (Hugging Face ``datasets`` reads it)."""
        return self.root / "README.md"

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
        else:
            self.upgrade_manifest()
        # A dataset card beside archive.json: datasets.load_dataset(DIR) then reads index/*.jsonl with the
        # schema's types, no script and no arguments (its json builder alone types columns from one file).
        card = index_dataset_card(origin).encode("utf-8")
        if not self.card.exists() or self.card.read_bytes() != card:
            write_atomic(self.card, card)

    def upgrade_manifest(self) -> None:
        """An archive made by an older habrmirror: its manifest's ``schema_version`` moves to the one new rows
        are written with (rows carry their own version; ``verify`` names those still older)."""
        try:
            manifest = json.loads(self.manifest.read_bytes())
        except (OSError, ValueError):
            return  # verify reports an unreadable manifest; a crawl does not rewrite what it cannot read
        if isinstance(manifest, dict) and manifest.get("schema_version", SCHEMA_VERSION) < SCHEMA_VERSION:
            manifest["schema_version"] = SCHEMA_VERSION
            write_json_atomic(self.manifest, manifest)

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


def remove_stale_temp_files(archive: ArchiveDir) -> int:
    """Delete the ``.NAME.*.tmp`` files a run killed inside an atomic write left (their targets are intact).

    Call it only while holding the writer lock: a live writer's temp file would be removed under it.
    """
    removed = 0
    for directory in (archive.root, archive.index_dir, archive.state_dir, archive.runs_dir, archive.cdxj_dir):
        for path in directory.glob(".*.tmp"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
