"""``SiteWriter``: how the mirror's files reach ``SITE/``: each one atomically, a few at a time, durable at the end.

Place in the flow: the builder's last step for every page, image and feed (the manifest excepted, which the
builder writes itself with :func:`habrmirror.archive.atomic.write_atomic` once this writer is finished).

Each file is written to a temp file beside it, fsynced, then renamed over the old one, as ``write_atomic`` does: a
reader, or the site after a crash, holds the old bytes or the new ones, never a torn file (the builder trusts a
file that exists: an image named by its digest is never checked again). What differs is *when* the costs come:

- the fsyncs run on a few threads at once. An fsync waits for the disk, not the CPU, and the kernel commits the
  journal once for every fsync waiting at that moment, so eight in flight cost about what one does (a build of
  4,000 files: 4 s of serial fsyncs, 0.4 s on eight threads).
- the directories are fsynced once each at :meth:`SiteWriter.finish` instead of once per file. Until then a crash
  may lose a rename (the old file stays, whole); the old manifest stays too, so the next run compares against
  what is really there and writes the file again. After ``finish`` every rename and removal is on disk.

Batching the fsyncs before the renames (write many, one ``syncfs``, rename them all) costs less still, but leaves
files unrenamed for longer and ``syncfs`` is Linux-only and flushes every other writer's files on that disk too.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from habrmirror.archive.atomic import fsync_dir, write_atomic

WRITE_THREADS = 8
MAX_PENDING_FILES = 256  # writes queued but not yet renamed: bounds the memory their bytes hold
MAX_PENDING_BYTES = 64 << 20


class SiteWriter:
    """Writes files under ``root`` on a small thread pool; use as a context manager, then call :meth:`finish`."""

    def __init__(self, root: Path, threads: int = WRITE_THREADS) -> None:
        self.root = root
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="habrmirror-site-write")
        self._pending: deque[tuple[Future[None], int]] = deque()
        self._pending_bytes = 0
        self._submitted: set[str] = set()
        self._directories: set[Path] = {root}

    def __enter__(self) -> SiteWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        # on an error the writes already queued still finish (each is whole or absent), later ones never start
        self._pool.shutdown(wait=True, cancel_futures=kind is not None)

    def write(self, relative: str, data: bytes) -> None:
        """Queue ``SITE/relative`` to hold ``data``; raises the error of an earlier write that failed."""
        path = self.root / relative
        self._submitted.add(relative)
        directory = path.parent
        while directory not in self._directories and directory != self.root:
            self._directories.add(directory)  # a new folder's own entry is in its parent: sync that too
            directory = directory.parent
        self._pending.append((self._pool.submit(_write_file, path, data), len(data)))
        self._pending_bytes += len(data)
        while len(self._pending) > MAX_PENDING_FILES or self._pending_bytes > MAX_PENDING_BYTES:
            self._settle_oldest()

    def exists(self, relative: str) -> bool:
        """Whether ``SITE/relative`` is there or queued this run (a queued file may not be renamed yet)."""
        return relative in self._submitted or (self.root / relative).exists()

    def removed(self, path: Path) -> None:
        """Note a file the builder deleted, so that its directory is synced at the end too."""
        self._directories.add(path.parent)

    def wait(self) -> None:
        """Return once every queued file is in place (renamed); raises the first write error."""
        while self._pending:
            self._settle_oldest()

    def finish(self) -> None:
        """Wait for every write, then make all renames and removals durable: one fsync per directory."""
        self.wait()
        for directory in sorted(self._directories, key=lambda path: len(path.parts), reverse=True):
            if directory.is_dir():
                fsync_dir(directory)

    def _settle_oldest(self) -> None:
        future, size = self._pending.popleft()
        self._pending_bytes -= size
        future.result()


def _write_file(path: Path, data: bytes) -> None:
    """Write, fsync, rename (the directory is synced later, by :meth:`SiteWriter.finish`)."""
    write_atomic(path, data, sync_dir=False)
