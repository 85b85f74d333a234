"""What an archive holds, offline: the posts of ``habrmirror ls`` and the one post of ``habrmirror show``.

A reader of the archive directory (tools/, no Scrapy): index rows stream shard by shard
(:func:`habrmirror.store.index.iter_rows`) and the capture log line by line, so memory stays flat however large
the archive is (``ls`` keeps one capture count per archived id, nothing else). Also: which directories hold an
archive, for the commands that are given a directory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from habrmirror.archive.cdxj import cdxj_path
from habrmirror.clock import parse_utc
from habrmirror.store.captures import Capture, iter_captures
from habrmirror.store.index import IndexStore, iter_rows
from habrmirror.store.layout import ArchiveDir


def is_archive(path: Path) -> bool:
    """True when ``path`` is a habrmirror archive directory (it has ``archive.json`` or ``warc/``)."""
    return (path / "archive.json").is_file() or (path / "warc").is_dir()


def archives_below(path: Path) -> list[Path]:
    """The archives directly below ``path`` (``archives/`` -> ``[archives/demo]``), by name."""
    if not path.is_dir():
        return []
    return sorted(child for child in path.iterdir() if child.is_dir() and is_archive(child))


@dataclass(frozen=True)
class PostLine:
    """One post as ``ls`` prints it."""

    id: int
    published_at: str | None
    title: str | None
    author: str | None
    hubs: list[str]
    captures: int  # fetch attempts in the capture log
    size: int | None  # bytes of the gzip member holding its WARC record
    url: str | None
    gone_at: str | None

    def as_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "published_at": self.published_at,
                "title": self.title,
                "author": self.author,
                "hubs": self.hubs,
                "captures": self.captures,
                "size": self.size,
                "url": self.url,
                "gone_at": self.gone_at,
            }
        )


def capture_counts(captures_dir: Path) -> Counter[int]:
    """Fetch attempts per article id, from one pass over the capture log."""
    counts: Counter[int] = Counter()
    for capture in iter_captures(captures_dir):
        if capture.id is not None:
            counts[capture.id] += 1
    return counts


def list_posts(
    root: Path, since: datetime | None = None, hub: str | None = None, author: str | None = None
) -> Iterator[PostLine]:
    """The archive's posts in id order (a generator: rows are read as they are yielded).

    ``since``: published at or after it; ``hub``: a hub alias or title (case ignored); ``author``: the author's
    login (case ignored). A post without a publication time never matches ``since``.
    """
    archive = ArchiveDir(root)
    counts = capture_counts(archive.captures_dir)
    wanted_hub = hub.casefold() if hub else None
    wanted_author = author.casefold() if author else None
    for row in iter_rows(archive.index_dir):
        published = row.get("published_at")
        if since is not None and (not published or parse_utc(published) < since):
            continue
        if wanted_hub is not None and wanted_hub not in {
            name.casefold() for name in [*row.get("hubs", []), *row.get("hub_titles", [])]
        }:
            continue
        if wanted_author is not None and (row.get("author") or "").casefold() != wanted_author:
            continue
        warc = row.get("warc") or {}
        yield PostLine(
            id=row["id"],
            published_at=published,
            title=row.get("title"),
            author=row.get("author"),
            hubs=list(row.get("hubs", [])),
            captures=counts.get(row["id"], 0),
            size=warc.get("length"),
            url=row.get("url"),
            gone_at=row.get("gone_at"),
        )


@dataclass
class PostRecord:
    """Everything the archive knows about one post: its index row, its captures, where its bytes are."""

    id: int
    row: dict[str, Any] | None
    captures: list[Capture] = field(default_factory=list)
    cdxj: tuple[Path, int] | None = None  # the CDXJ file and line number (1-based) of the row's record


def show_post(root: Path, article_id: int) -> PostRecord:
    """The row (looked up in its shard only), the post's captures and the CDXJ line of its record."""
    archive = ArchiveDir(root)
    row = IndexStore(archive.index_dir).get(article_id)
    record = PostRecord(id=article_id, row=row)
    record.captures = [c for c in iter_captures(archive.captures_dir) if c.id == article_id]
    if row and row.get("warc"):
        record.cdxj = cdxj_line_of(root, row["warc"])
    return record


def cdxj_line_of(root: Path, pointer: dict[str, Any]) -> tuple[Path, int] | None:
    """Where ``indexes/*.cdxj`` lists the record at ``pointer`` (None while its WARC is still being written)."""
    archive = ArchiveDir(root)
    path = cdxj_path(root / pointer["filename"], archive.cdxj_dir)
    if not path.is_file():
        return None
    offset, name = str(pointer["offset"]), Path(pointer["filename"]).name
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if offset.encode() not in line:  # cheap test before the JSON parse
                continue
            fields = orjson.loads(line[line.index(b"{") :])
            if str(fields.get("offset")) == offset and fields.get("filename") == name:
                return path, number
    return None
