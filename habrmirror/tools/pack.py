"""Package an archive directory as one WACZ file (WACZ 1.1.1) that ReplayWeb.page opens and ``wacz validate`` accepts.

Runs after the crawl, offline: finished ``warc/*.warc.gz`` (stored as is) + their CDXJ merged into one sorted
``indexes/index.cdxj`` + ``pages/pages.jsonl`` made from the JSON index (one page per article, with its text so
ReplayWeb.page can search it) + ``datapackage.json`` listing every member with its SHA-256.

The ZIP is written here rather than by ``wacz create``: importing py-wacz's indexer appends ``warcinfo`` to
cdxj-indexer's default record list for the whole process (it would leak into :mod:`habrmirror.archive.cdxj`), it
reads every WARC three times (index, copy, hash the copy) where this reads each once, and it cannot reuse the
CDXJ files the archive already has.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from cdxj_indexer.main import write_cdx_index

from habrmirror import __version__
from habrmirror.archive.atomic import fsync_dir
from habrmirror.clock import iso, utc_now
from habrmirror.store.index import iter_rows
from habrmirror.store.layout import ArchiveDir

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
_CHUNK = 1 << 20


class PackError(ValueError):
    """The directory cannot be packed (no finished WARC files)."""


@dataclass
class PackReport:
    """What went into the WACZ file: the CLI prints it, tests check it."""

    path: Path
    warc_files: list[str]
    cdxj_lines: int
    pages: int
    rows_without_capture: int  # index rows whose capture is in no packed WARC (e.g. one still being written)
    bytes: int
    reindexed: list[str] = field(default_factory=list)  # WARCs whose indexes/*.cdxj was missing or stale


def pack_archive(root: Path, out: Path, title: str | None = None) -> PackReport:
    """Write ``out`` (a ``.wacz``) from the archive at ``root``; ``out`` appears atomically when complete.

    Only finished WARC files are packed (a ``*.warc.gz.open`` is still being written); pages whose capture is
    not in them are left out and counted in ``rows_without_capture``.
    """
    archive = ArchiveDir(Path(root))
    warcs = sorted(archive.warc_dir.glob("*.warc.gz"))
    if not warcs:
        raise PackError(f"no finished WARC files in {archive.warc_dir}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".habrmirror-pack-", dir=out.parent) as scratch_name:
        scratch = Path(scratch_name)
        cdxj_path = scratch / "index.cdxj"
        cdxj_lines, reindexed = _write_merged_cdxj(warcs, archive.cdxj_dir, scratch, cdxj_path)
        pages_path = scratch / "pages.jsonl"
        pages, skipped = _write_pages(archive.index_dir, {w.name for w in warcs}, pages_path)

        members = [(f"archive/{w.name}", w, zipfile.ZIP_STORED) for w in warcs]
        members += [
            ("indexes/index.cdxj", cdxj_path, zipfile.ZIP_DEFLATED),
            ("pages/pages.jsonl", pages_path, zipfile.ZIP_DEFLATED),
        ]
        tmp_out = scratch / (out.name + ".tmp")
        _write_zip(tmp_out, members, title or f"habrmirror archive {archive.root.resolve().name}")
        os.replace(tmp_out, out)
    fsync_dir(out.parent)
    return PackReport(
        path=out,
        warc_files=[w.name for w in warcs],
        cdxj_lines=cdxj_lines,
        pages=pages,
        rows_without_capture=skipped,
        bytes=out.stat().st_size,
        reindexed=reindexed,
    )


def _write_merged_cdxj(
    warcs: list[Path], cdxj_dir: Path, scratch: Path, target: Path
) -> tuple[int, list[str]]:
    """Merge the per-WARC CDXJ files (each sorted) into one sorted file, streaming.

    A WARC whose ``indexes/NAME.cdxj`` is missing or older than the WARC is indexed afresh with cdxj-indexer
    (the same options :mod:`habrmirror.archive.cdxj` uses), so a stale index never points at wrong offsets.
    Filenames in the lines are WARC basenames, which is what WACZ expects (relative to ``archive/``).
    """
    sources: list[Path] = []
    reindexed: list[str] = []
    for warc in warcs:
        existing = cdxj_dir / (warc.name.removesuffix(".warc.gz") + ".cdxj")
        if existing.exists() and existing.stat().st_mtime >= warc.stat().st_mtime:
            sources.append(existing)
            continue
        fresh = scratch / (warc.name + ".cdxj")
        with fresh.open("w", encoding="utf-8") as handle:
            write_cdx_index(handle, [str(warc)], {"sort": True})
        sources.append(fresh)
        reindexed.append(warc.name)
    count = 0
    with contextlib.ExitStack() as stack:
        inputs = [stack.enter_context(path.open(encoding="utf-8")) for path in sources]
        with target.open("w", encoding="utf-8") as output:
            previous = None
            for line in heapq.merge(*inputs):
                if not line.strip() or line == previous:
                    continue
                output.write(line if line.endswith("\n") else line + "\n")
                previous = line
                count += 1
    return count, reindexed


def _write_pages(index_dir: Path, packed: set[str], target: Path) -> tuple[int, int]:
    """``pages.jsonl``: the header, then one entry per index row whose capture is in a packed WARC."""
    pages = skipped = 0
    with target.open("w", encoding="utf-8") as output:
        output.write(json.dumps({**PAGES_HEADER, "hasText": True}, ensure_ascii=False) + "\n")
        for row in iter_rows(index_dir):
            entry = page_entry(row)
            pointer = row.get("warc") or {}
            if entry is None or Path(str(pointer.get("filename", ""))).name not in packed:
                skipped += 1
                continue
            output.write(json.dumps(entry, ensure_ascii=False) + "\n")
            pages += 1
    return pages, skipped


def page_entry(row: dict[str, Any]) -> dict[str, Any] | None:
    """The pages.jsonl entry of one index row, or None when the row has no capture to replay.

    ``url`` is the fetched URL (the WARC record's target, which replay looks up), not the canonical one.
    """
    if not row.get("fetched_url") or not row.get("captured_at"):
        return None
    entry: dict[str, Any] = {
        "id": str(row["id"]),
        "url": row["fetched_url"],
        "ts": _wacz_ts(str(row["captured_at"])),
        "title": row.get("title") or row["fetched_url"],
    }
    if row.get("text"):
        entry["text"] = row["text"]
    return entry


def _wacz_ts(captured_at: str) -> str:
    """``2026-11-25T23:22:58+00:00`` -> ``2026-11-25T23:22:58Z``: the same instant, in the form WACZ tools write."""
    moment = datetime.fromisoformat(captured_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_zip(target: Path, members: list[tuple[str, Path, int]], title: str) -> None:
    """Write the ZIP: each member streamed in chunks and hashed as it goes, then the two datapackage files."""
    stamp = utc_now()
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    resources = []
    with target.open("wb") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as wacz:
        for arcname, path, compress_type in members:
            info = zipfile.ZipInfo(arcname, date_time=date_time)
            info.compress_type = compress_type
            info.file_size = path.stat().st_size  # lets zipfile choose ZIP64 up front for big WARCs
            with path.open("rb") as source, wacz.open(info, "w") as sink:
                digest, size = _copy_hashing(source, sink)
            resources.append(
                {
                    "name": Path(arcname).name.lower(),
                    "path": arcname,
                    "hash": f"sha256:{digest}",
                    "bytes": size,
                }
            )
        datapackage = {
            "profile": "data-package",
            "resources": resources,
            "title": title,
            "created": iso(stamp).replace("+00:00", "Z"),
            "wacz_version": WACZ_VERSION,
            "software": f"habrmirror/{__version__}",
        }
        package_bytes = json.dumps(datapackage, ensure_ascii=False, indent=2).encode("utf-8")
        _writestr(wacz, "datapackage.json", package_bytes, date_time)
        digest_doc = {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
        }
        _writestr(
            wacz, "datapackage-digest.json", json.dumps(digest_doc, indent=2).encode("utf-8"), date_time
        )
        wacz.close()
        raw.flush()
        os.fsync(raw.fileno())


def _copy_hashing(source: IO[bytes], sink: IO[bytes]) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        hasher.update(chunk)
        sink.write(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def _writestr(
    wacz: zipfile.ZipFile, arcname: str, data: bytes, date_time: tuple[int, int, int, int, int, int]
) -> None:
    info = zipfile.ZipInfo(arcname, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    wacz.writestr(info, data)


def iter_member_lines(wacz_path: Path, arcname: str) -> Iterator[str]:
    """Lines of a text member of a WACZ file, streamed (the tests read pages and the merged index this way)."""
    with zipfile.ZipFile(wacz_path) as wacz, wacz.open(arcname) as member:
        yield from io.TextIOWrapper(member, encoding="utf-8")


__all__ = ["PackError", "PackReport", "pack_archive", "page_entry", "iter_member_lines"]
