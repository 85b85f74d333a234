"""Atomic file writes (write to a temp file, fsync, rename): how every finished file of an archive appears.

The temp file is created mode 0666 less the umask, like any ``open()`` (and the WARCs): ``mkstemp`` would make
it 0600, and after the rename a web server or pywb could not read the index, ``archive.json`` or the CDXJ.

Part of the WARC room because the CDXJ writer needs it and ``archive/`` imports nothing above itself; the store
(index shards, ``archive.json``, state, run summaries) writes through the same functions.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: bytes | Iterable[bytes], sync_dir: bool = True) -> None:
    """Write a whole file so readers see the old or the new content, never a torn one (write, fsync, rename).

    ``data`` may be an iterable of chunks, so a large file is streamed rather than joined in memory first.
    ``sync_dir=False`` leaves the directory fsync (the rename's durability) to the caller, who writes many files
    into it and syncs it once (the static mirror).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
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
    if sync_dir:
        fsync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, exclusive temp file beside ``path``; the kernel applies the umask to its mode 0666."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue


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
