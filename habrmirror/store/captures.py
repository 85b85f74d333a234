"""The capture log: an append-only history of every fetch attempt for an article, ``captures/YYYY-MM.jsonl``.

Written at the end of each article's trip through the flow (archived, gone, failed ...). It is the history
``habrmirror history ID`` shows, and what crash recovery and re-indexing start from: a line is appended with a
single ``write`` on an ``O_APPEND`` descriptor and flushed before the crawl moves on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from habrmirror.archive.atomic import write_json_atomic
from habrmirror.capture import CaptureResult, Outcome
from habrmirror.items import WarcPointer


@dataclass
class Capture:
    """One line of the capture log."""

    id: int | None
    url: str
    time: str
    status: int | None
    outcome: str  # a habrmirror.capture.Outcome value
    reason: str | None = None
    warc: WarcPointer | None = None  # the record holding the page bytes (for a revisit: the original)
    run: str | None = None
    images: list[dict[str, Any]] | None = None  # [{url, archived, error}] of an archived article
    revisit: bool = False  # the page bytes were identical to an archived capture (a revisit record)
    comments: dict[str, Any] | None = (
        None  # an archived post's comments: {status, reason, warc of the answer}
    )

    @classmethod
    def of(cls, result: CaptureResult, run: str | None) -> Capture:
        """The log line of a capture result (an archived one lists its images' outcomes)."""
        archived = result.outcome is Outcome.ARCHIVED and result.article is not None
        return cls(
            id=result.id,
            url=result.url,
            time=result.time,
            status=result.status,
            outcome=result.outcome.value,
            reason=result.reason,
            warc=result.pointer,
            run=run,
            images=[asdict(image) for image in result.article.images]
            if archived and result.article
            else None,
            revisit=result.revisit,
            comments=result.comments if archived else None,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Capture:
        data = dict(data)
        if data.get("warc"):
            data["warc"] = WarcPointer(**data["warc"])
        return cls(**data)


def capture_line(capture: Capture) -> bytes:
    """One line of the capture log: compact UTF-8 JSON of the dataclass, fields in order, newline-terminated."""
    return orjson.dumps(capture, option=orjson.OPT_APPEND_NEWLINE)


def repair_tail(path: Path) -> None:
    """Cut a torn last line left by a killed writer, so the next append starts on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        data_end = handle.seek(0, os.SEEK_END)
        chunk = min(data_end, 1 << 20)
        handle.seek(data_end - chunk)
        tail = handle.read(chunk)
        cut = tail.rfind(b"\n")
        handle.truncate(data_end - chunk + cut + 1 if cut >= 0 else 0)


class CaptureLog:
    """Appends captures to this month's file; reads the whole history back."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._name: str | None = None

    def _file_for(self, time: str) -> int:
        name = f"{time[:7]}.jsonl"  # YYYY-MM
        if name != self._name:
            self.close()
            path = self.directory / name
            repair_tail(path)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._name = name
        assert self._fd is not None
        return self._fd

    def append(self, capture: Capture) -> None:
        os.write(self._file_for(capture.time), capture_line(capture))

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def write_checkpoint(self, path: Path) -> None:
        """Record the log's end: every capture before it is reflected in the flushed index."""
        position: dict[str, Any]
        if self._fd is not None:
            position = {"file": self._name, "offset": os.lseek(self._fd, 0, os.SEEK_END)}
        else:
            # Nothing appended yet (a run that found nothing new, or the flush after crash recovery): the end is
            # the newest file's end. Writing no file here would make the next start replay the whole history.
            # (An offset past a torn last line would skip what is appended after repair_tail cuts it.)
            files = sorted(self.directory.glob("*.jsonl"))
            position = {"file": None, "offset": 0}
            if files:
                repair_tail(files[-1])
                position = {"file": files[-1].name, "offset": files[-1].stat().st_size}
        write_json_atomic(path, position)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            self._name = None


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The position written by :meth:`CaptureLog.write_checkpoint`, or None."""
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data if data.get("file") else None


def iter_captures(directory: Path, after: dict[str, Any] | None = None) -> Iterator[Capture]:
    """All captures (or those after a checkpoint), oldest file first, in append order; a torn line is skipped."""
    for path in sorted(directory.glob("*.jsonl")):
        if after and path.name < after["file"]:
            continue
        with path.open("rb") as handle:
            if after and path.name == after["file"]:
                handle.seek(after["offset"])
            for line in handle:
                if not line.endswith(b"\n"):
                    break
                if line.strip():
                    yield Capture.from_dict(json.loads(line))


def history(directory: Path, article_id: int) -> list[Capture]:
    """The captures of one post, oldest first."""
    return [capture for capture in iter_captures(directory) if capture.id == article_id]
