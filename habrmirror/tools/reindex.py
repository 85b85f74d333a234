"""Rebuild an archive's JSON index (and, when it is missing, its capture log) from the WARC files alone.

The way back in the data flow: WARC records -> the same page parsers the crawl uses -> a rebuilt index, with no
network. Two passes: the first streams every record once and keeps only compact facts (where each article
capture is, which URLs answered 2xx, which record a revisit refers to); the second reads back each article
capture at its pointer in WARC-Date order and parses it, so the latest capture of a post wins exactly as in a
crawl. The new index is built beside the old one and swapped in, with the search index rebuilt from it; a
reindex is a writer and takes the lock.

With ``jobs`` > 1 the parsing (nearly all of the time) runs in worker processes: pass 2's captures are sent
in rank order, a few at a time, and their results applied to the index in that same order as they come back,
so the shards, capture lines and search index are those of one process; while the workers parse, this process
writes the shards and feeds each finished one to the search index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import time
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

from w3lib.url import safe_url_string

from habrmirror.archive.atomic import fsync_dir
from habrmirror.archive.reader import RecordAt, iter_records, read_record
from habrmirror.archive.warc import WARC_SUFFIX, repair_open_warcs
from habrmirror.capture import (
    FetchedPage,
    Outcome,
    comments_fallback_due,
    comments_to_fetch,
    finish,
    judge,
    judge_comments,
    stored_page,
)
from habrmirror.clock import parse_utc, utc_now
from habrmirror.items import Image, WarcPointer
from habrmirror.store.captures import Capture, CaptureLog, capture_line
from habrmirror.store.index import (
    IDS_FILE,
    SHARD_SIZE,
    ArchivedIds,
    IndexStore,
    dumps_row,
    shard_lines,
    shard_name,
)
from habrmirror.store.layout import ArchiveDir
from habrmirror.store.recovery import CHECKPOINT_NAME
from habrmirror.store.search import SearchRebuild, rebuild_search_index, remove_search_index, row_stems
from habrmirror.tools.pool import process_pool
from habrmirror.urls import article_id, comments_source_id, is_article_url
from habrmirror.wording import plural

logger = logging.getLogger(__name__)

__all__ = ["NOT_IN_WARC", "ReindexReport", "reindex_archive", "url_key"]

NOT_IN_WARC = "not in the WARC"  # Image.error of an image no record of the archive holds
MAX_REDIRECTS = 10  # an image URL that redirected is followed this many hops through the WARC
MAX_LISTED = 1000  # parse errors listed in full in the report (the rest are counted)
_DENSE_IDS = 50_000_000  # ids below this are tracked in an array, larger ones in a dict
_SPARSE_SHARD = -1  # sort key of answers whose URL carries no id
CHUNK = 8  # captures per task sent to a worker: ~40 ms of parsing, so the messages cost little
WINDOW = 8  # tasks in flight per worker (~0.4 s of parsing): it does not run dry while this process writes
# a shard or a batch of the search index, and memory stays a few dozen rows
FEED_ROWS = 2  # rows of finished shards put into the search index after each result (about one row a result)
_NEW_SUFFIX = ".reindex-new"
_OLD_SUFFIX = ".reindex-old"


def url_key(text: str) -> int:
    """A 64-bit key for a URL or record id: the cross-reference maps hold these, not the strings."""
    return int.from_bytes(
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )


@dataclass
class ReindexReport:
    """What a reindex read, wrote and skipped, and where the time went."""

    warc_files: int = 0
    records: int = 0
    article_captures: int = 0  # article-URL responses/revisits (200 HTML) looked at
    articles: int = 0  # of those, parsed into a valid row
    revisits: int = 0  # article captures stored as revisit records
    rows: int = 0  # rows in the new index (one per id)
    gone: int = 0  # 404/410 answers for article URLs
    skipped_not_article: int = 0
    blocked: int = 0
    invalid: int = 0  # parsed, but the row fails the JSON Schema (the crawl drops these too)
    parse_errors: list[tuple[str, str]] = field(default_factory=list)  # (url, message)
    parse_error_count: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (url, why its bytes could not be read)
    captures_rebuilt: bool = False
    captures_written: int = 0
    cdxj_written: list[str] = field(default_factory=list)
    search_rows: int = 0  # rows in the rebuilt search index
    repaired_warcs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of this process and its workers (wall time also counts waiting)
    iteration_seconds: float = 0.0  # only iterating the WARC records (pass 1, warcio)
    read_seconds: float = 0.0  # reading article records back at their pointers (pass 2; summed over workers)
    parse_seconds: float = 0.0  # parse_article + row building (summed over workers)
    jobs: int = 1  # processes that parsed

    @property
    def iteration_share(self) -> float:
        return self.iteration_seconds / self.seconds if self.seconds else 0.0

    @property
    def articles_per_second(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        """A human summary: what was rebuilt, then anything that could not be indexed."""
        out = [
            f"reindexed {plural(self.warc_files, 'WARC file')}, {plural(self.records, 'record')}:"
            f" {plural(self.articles, 'article capture')} parsed ({plural(self.revisits, 'revisit')}),"
            f" {plural(self.rows, 'index row')} written, {self.search_rows} in the search index",
            f"skipped: {self.skipped_not_article} not articles, {plural(self.blocked, 'blocked page')}, "
            f"{self.invalid} failing the schema, {plural(self.parse_error_count, 'parse error')}, "
            f"{len(self.unreadable)} unreadable; {plural(self.gone, 'gone answer')}",
        ]
        if self.captures_rebuilt:
            out.append(f"capture log rebuilt from the WARCs: {plural(self.captures_written, 'capture')}")
        for name in self.repaired_warcs:
            out.append(f"repaired unfinished WARC {name}")
        for name in self.cdxj_written:
            out.append(f"wrote missing CDXJ {name}")
        for url, message in self.parse_errors:
            out.append(f"parse error: {url}: {message}")
        if self.parse_error_count > len(self.parse_errors):
            out.append(f"... and {self.parse_error_count - len(self.parse_errors)} more parse errors")
        for url, message in self.unreadable:
            out.append(f"unreadable: {url}: {message}")
        workers = f" in {self.jobs} worker processes" if self.jobs > 1 else ""
        out.append(
            f"{self.seconds:.1f} s, {self.cpu_seconds:.1f} s CPU ({self.articles_per_second:.0f} articles/s); "
            "iterating records "
            f"{self.iteration_seconds:.1f} s ({self.iteration_share:.0%}), reading back {self.read_seconds:.1f} s, "
            f"parsing {self.parse_seconds:.1f} s{workers}"
        )
        return out


@dataclass(slots=True)
class _Event:
    """One article-URL answer found in pass 1 (compact: the bytes stay in the WARC)."""

    date: datetime
    order: int  # file/record order, breaks WARC-Date ties
    kind: str  # "page" (200 HTML), "gone" (404/410), "forbidden" (403)
    url: str
    url_id: int | None  # the article id in the URL (what the crawl logs a capture under)
    status: int
    pointer: WarcPointer  # this record (a response or revisit)
    refers_to: str | None = None  # a revisit's WARC-Refers-To


@dataclass
class _Scan:
    """Pass 1's compact facts about the whole archive."""

    events: list[_Event] = field(default_factory=list)
    originals: dict[str, WarcPointer] = field(default_factory=dict)  # record id -> pointer (200 HTML only)
    url_status: dict[int, int] = field(default_factory=dict)  # url_key -> best status (any 2xx wins)
    redirects: dict[int, str] = field(default_factory=dict)  # url_key of a 3xx -> absolute Location
    # comments API answers by article id: (order, url, pointer, WARC-Refers-To of a revisit), in record order
    comment_answers: dict[int, list[tuple[int, str, WarcPointer, str | None]]] = field(default_factory=dict)
    comment_originals: dict[str, WarcPointer] = field(default_factory=dict)  # record id -> pointer (answers)
    page_orders: dict[int, list[int]] = field(default_factory=dict)  # article id -> orders of its page events


class _Ranks:
    """Article id -> rank (position in WARC-Date order) of the capture its row holds; -1 for none.

    Habr ids are dense, so an array indexed by id (8 bytes each) is far smaller than a dict.
    """

    def __init__(self) -> None:
        self._ranks = array("q")
        self._sparse: dict[int, int] = {}  # ids too large for the array

    def get(self, article: int) -> int:
        if 0 <= article < len(self._ranks):
            return self._ranks[article]
        return self._sparse.get(article, -1)

    def set(self, article: int, rank: int) -> None:
        if 0 <= article < _DENSE_IDS:
            if article >= len(self._ranks):
                self._ranks.extend([-1] * (article + 1 - len(self._ranks) + 4096))
            self._ranks[article] = rank
        else:
            self._sparse[article] = rank


def reindex_archive(
    root: Path, rebuild_captures: bool | None = None, lock_wait: float = 0.0, jobs: int = 1
) -> ReindexReport:
    """Rebuild ``root/index/`` (and ``state/index-ids.bin``, the recovery checkpoint, missing CDXJ files) from
    ``root/warc/*.warc.gz``; rebuild ``captures/`` too when it is missing or empty or ``rebuild_captures``.
    ``jobs``: processes that parse (the output is the same for any number).

    Raises :class:`~habrmirror.store.layout.LockHeld` when another writer holds the archive.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be 1 or more, got {jobs}")
    # Imported here, not at the top: a worker imports this module and does not need it (a fifth of its start).
    from habrmirror.archive.cdxj import cdxj_path, write_cdxj

    archive = ArchiveDir(Path(root))
    if not archive.warc_dir.is_dir():
        raise FileNotFoundError(f"{archive.root} has no warc/ directory: not a habrmirror archive")
    report = ReindexReport(jobs=jobs)
    started, cpu_started = time.perf_counter(), time.process_time()
    with archive.writer_lock(wait=lock_wait, holder="habrmirror reindex"), _Workers(jobs, archive) as workers:
        # A killed crawl leaves its last WARC as NAME.open; cut it to whole exchanges so it can be indexed.
        report.repaired_warcs = [_relative(archive, p) for p in repair_open_warcs(archive.warc_dir)]
        warcs = sorted(archive.warc_dir.glob(f"*{WARC_SUFFIX}"))
        report.warc_files = len(warcs)
        scan = _scan_records(archive, warcs, report)
        if rebuild_captures is None:
            rebuild_captures = not any(archive.captures_dir.glob("*.jsonl"))
        # Until it is rebuilt from the new index, the old search index would answer for the old one.
        remove_search_index(archive.root)
        _rebuild(archive, scan, report, rebuild_captures, workers)
        archive.upgrade_manifest()  # every row is now at this version
        for warc in warcs:
            if not cdxj_path(warc, archive.cdxj_dir).exists():
                report.cdxj_written.append(_relative(archive, write_cdxj(warc, archive.cdxj_dir)))
    report.seconds = time.perf_counter() - started
    report.cpu_seconds += time.process_time() - cpu_started  # the workers' CPU was added as they reported
    return report


def _relative(archive: ArchiveDir, path: Path) -> str:
    return path.relative_to(archive.root).as_posix()


def _timed_records(path: Path, report: ReindexReport) -> Iterator[RecordAt]:
    """``iter_records`` with the time spent inside it added to ``report.iteration_seconds``."""
    records = iter_records(path)
    while True:
        tick = time.perf_counter()
        try:
            record = next(records)
        except StopIteration:
            report.iteration_seconds += time.perf_counter() - tick
            return
        report.iteration_seconds += time.perf_counter() - tick
        yield record


def _scan_records(archive: ArchiveDir, warcs: list[Path], report: ReindexReport) -> _Scan:
    """Pass 1: stream every record once, keeping only what pass 2 and the image flags need."""
    scan = _Scan()
    order = 0
    for path in warcs:
        filename = _relative(archive, path)
        for at in _timed_records(path, report):
            report.records += 1
            order += 1
            record = at.record
            if at.rec_type not in ("response", "revisit") or record.http_headers is None:
                continue
            headers = record.rec_headers
            url = str(headers.get_header("WARC-Target-URI") or "")
            try:
                status = int(record.http_headers.get_statuscode())
            except (TypeError, ValueError):
                continue
            key = url_key(url)
            known = scan.url_status.get(key)
            if known is None or not 200 <= known < 300:
                scan.url_status[key] = status
            if 300 <= status < 400:
                location = record.http_headers.get_header("Location")
                if location:
                    scan.redirects[key] = urljoin(url, location.strip())
            content_type = (record.http_headers.get_header("Content-Type") or "").lower()
            html = not content_type or "html" in content_type
            pointer = WarcPointer(filename, at.offset, at.length, at.record_id)
            if at.rec_type == "response" and status == 200 and html:
                scan.originals[at.record_id] = pointer
            # the comments sources the crawl fetched after a page: the API answer, then (if it failed) the page
            answer = comments_source_id(url)
            if answer is not None:
                if at.rec_type == "response":
                    scan.comment_originals[at.record_id] = pointer
                refers = headers.get_header("WARC-Refers-To") if at.rec_type == "revisit" else None
                scan.comment_answers.setdefault(answer, []).append((order, url, pointer, refers))
                continue
            if not is_article_url(url):
                continue
            kind = _event_kind(status, html)
            if kind is None:
                continue  # redirects, 5xx, non-HTML: not an article capture
            date = parse_utc(str(headers.get_header("WARC-Date")))
            refers_to = headers.get_header("WARC-Refers-To") if at.rec_type == "revisit" else None
            scan.events.append(_Event(date, order, kind, url, _url_id(url), status, pointer, refers_to))
            url_id = scan.events[-1].url_id
            if kind == "page" and url_id is not None:
                scan.page_orders.setdefault(url_id, []).append(order)
    return scan


def _comments_answers(scan: _Lookups, article: int, event: _Event) -> list[tuple[str, WarcPointer]]:
    """The comments sources the crawl fetched for this page capture, in order: those for the article after the
    page and before the article's next page capture (the comments pipeline runs right after the page)."""
    later_pages = [order for order in scan.page_orders.get(article, []) if order > event.order]
    until = min(later_pages, default=None)
    found = []
    for order, url, pointer, refers in scan.comment_answers.get(article, []):
        if order > event.order and (until is None or order < until):
            original = scan.comment_originals.get(refers) if refers else pointer
            if original is not None:
                found.append((url, original))
    return found


def _event_kind(status: int, html: bool) -> str | None:
    if status == 200 and html:
        return "page"
    if status in (404, 410):
        return "gone"
    if status == 403:
        return "forbidden"
    return None


def _rebuild(
    archive: ArchiveDir, scan: _Scan, report: ReindexReport, rebuild_captures: bool, workers: _Workers
) -> None:
    """Pass 2: parse each article capture into a fresh index (and capture log), then swap them in, and the
    search index built from the new shards.

    Captures are ranked in WARC-Date order (the order the crawl saw them), but processed shard by shard, so each
    new shard is written exactly once and only one is held in memory; within a shard the order is by date, so
    the latest capture of an id wins and a 404 after it marks the row gone, as in the crawl.
    """
    new_index = archive.root / (archive.index_dir.name + _NEW_SUFFIX)
    new_captures = archive.root / (archive.captures_dir.name + _NEW_SUFFIX)
    new_ids = archive.state_dir / (IDS_FILE + _NEW_SUFFIX)
    spool_path = archive.state_dir / ("captures.jsonl" + _NEW_SUFFIX)
    for leftover in (new_index, new_captures):
        shutil.rmtree(leftover, ignore_errors=True)
    for path in (new_ids, spool_path):
        path.unlink(missing_ok=True)
    new_index.mkdir(parents=True)
    store = IndexStore(new_index, flush_rows=1 << 62, ids_path=new_ids)
    ranks = _Ranks()
    lookups = _Lookups.of(archive.root, scan, rebuild_captures)

    events = scan.events
    events.sort(key=lambda event: (event.date, event.order))
    shards = [_shard_of(event) for event in events]
    by_shard = sorted(range(len(events)), key=lambda rank: (shards[rank], rank))
    tasks = (_Task(events[rank], _bytes_of(scan, events[rank])) for rank in by_shard)
    # Capture lines go to a spool as they are made, then into the log in date order (positions by rank).
    positions = array("q", [-1]) * len(events) if rebuild_captures else None
    spool = open(spool_path, "w+b") if rebuild_captures else None  # noqa: SIM115 - closed below
    feed = _SearchFeed(SearchRebuild(archive.root), new_index)
    try:
        shard: int | None = None
        for rank, judged in zip(by_shard, workers.judged_in_order(tasks, lookups, report), strict=True):
            if shards[rank] != shard:
                written = store.flush()
                if shard is not None:
                    feed.flushed(written, shard)
                shard = shards[rank]
            capture = _apply(store, ranks, rank, events[rank], judged, report, feed)
            feed.feed(FEED_ROWS)
            if spool is not None and positions is not None and capture is not None:
                positions[rank] = spool.tell()
                spool.write(capture)
        feed.flushed(store.flush(), None)
        feed.feed(None)
        report.rows = len(store.ids)
        if not new_ids.exists():
            ArchivedIds().save(new_ids)  # an archive without articles still gets an (empty) bitmap
        if spool is not None and positions is not None:
            report.captures_written = _write_log(spool, positions, new_captures, run_name())
    except BaseException:
        feed.build.abandon()
        raise
    finally:
        if spool is not None:
            spool.close()
            spool_path.unlink(missing_ok=True)

    _swap_dir(new_index, archive.index_dir)
    os.replace(new_ids, archive.state_dir / IDS_FILE)
    if rebuild_captures:
        _swap_dir(new_captures, archive.captures_dir)
        report.captures_rebuilt = True
    # Every capture in the log is reflected in the new index, so a later crawl's recovery replays none of them.
    CaptureLog(archive.captures_dir).write_checkpoint(archive.state_dir / CHECKPOINT_NAME)
    if feed.complete:
        report.search_rows = feed.build.finish()  # committed for the checkpoint just written
    else:
        feed.build.abandon()
        report.search_rows = rebuild_search_index(archive.root)


def _bytes_of(scan: _Scan, event: _Event) -> WarcPointer | None:
    """The record holding an answer's bytes: its own, or for a revisit the original's (None: no WARC has it)."""
    if event.kind == "page" and event.refers_to:
        return scan.originals.get(event.refers_to)
    return event.pointer


class _SearchFeed:
    """Feeds the new index's shards to the search rebuild as each one is final, in file order (what a rebuild
    from the finished index reads), so the search index is built while the workers parse, not after them.

    A shard is final once the next shard's captures begin: captures are processed shard by shard. A row
    whose id is not its URL's (or an id past the shard names' 5 digits) can write a shard already taken; then
    this feed is not :attr:`complete` and the search index is rebuilt from the finished index instead. Final
    shards are fed a few rows at a time (:meth:`feed`, between two results), so this process keeps handing
    work to the workers instead of stemming a whole shard while they run out of it.
    """

    def __init__(self, build: SearchRebuild, index_dir: Path) -> None:
        self.build = build
        self.index_dir = index_dir
        self.waiting: set[str] = set()  # shard files written and not yet final
        self.ready: deque[str] = deque()  # final shard files, in file order, not yet fed
        self.lines: Iterator[tuple[int, bytes]] | None = None  # the shard being fed
        self.current = ""  # its name
        # the stems of the rows put (made beside each row, by the workers), by shard file and id
        self.stems: dict[str, dict[int, tuple[str, ...]]] = {}
        self.taken = ""  # the last shard file found final
        self.complete = True

    def flushed(self, written: list[Path], group: int | None) -> None:
        """``written``: the files a flush wrote, after the captures of shard ``group`` (-1: ids not in their
        URL, whose rows may land anywhere; None: the last flush, every file is final)."""
        for path in written:
            if path.name <= self.taken:
                self.complete = False
            self.waiting.add(path.name)
        if not self.complete or group == _SPARSE_SHARD:
            return
        last = None if group is None else shard_name(group * SHARD_SIZE)
        for name in sorted(self.waiting):
            if last is not None and name > last:
                break
            self.waiting.discard(name)
            self.ready.append(name)
            self.taken = name

    def note(self, article_id: int, stems: tuple[str, ...] | None) -> None:
        """The stems of the row just put for ``article_id`` (a later put of the id replaces them; marking a
        row gone changes no text)."""
        if stems is not None:
            self.stems.setdefault(shard_name(article_id), {})[article_id] = stems

    def feed(self, rows: int | None) -> None:
        """Put up to ``rows`` rows of the final shards into the search index (None: all of them)."""
        while self.complete and (rows is None or rows > 0):
            if self.lines is None:
                if not self.ready:
                    return
                self.current = self.ready.popleft()
                self.lines = shard_lines(self.index_dir / self.current)
            found = next(self.lines, None)
            if found is None:
                self.lines = None
                self.stems.pop(self.current, None)
                continue
            article_id, line = found
            self.build.put(json.loads(line), self.stems.get(self.current, {}).pop(article_id, None))
            if rows is not None:
                rows -= 1


@dataclass(frozen=True)
class _Lookups:
    """What judging a capture needs from pass 1 besides its own record: image outcomes and comments answers
    (picklable: sent once to each worker process)."""

    root: Path
    url_status: dict[int, int]
    redirects: dict[int, str]
    comment_answers: dict[int, list[tuple[int, str, WarcPointer, str | None]]]
    comment_originals: dict[str, WarcPointer]
    page_orders: dict[int, list[int]]
    capture_lines: bool  # the capture log is being rebuilt: each capture's line is made too

    @classmethod
    def of(cls, root: Path, scan: _Scan, capture_lines: bool) -> _Lookups:
        return cls(
            root,
            scan.url_status,
            scan.redirects,
            scan.comment_answers,
            scan.comment_originals,
            scan.page_orders,
            capture_lines,
        )


@dataclass(slots=True)
class _Task:
    """One article-URL answer to judge, and the record holding its bytes (None: a revisit of nothing held)."""

    event: _Event
    pointer: WarcPointer | None


@dataclass(slots=True)
class _Judged:
    """What judging one answer gave (in a worker or here): applied to the index in rank order."""

    unreadable: str | None = None  # why its bytes could not be read (then nothing else is set)
    outcome: Outcome | None = None
    url: str = ""
    reason: str | None = None
    revisit: bool = False
    time: str = ""
    row_id: int | None = None  # the id of its row, if it made one
    line: bytes | None = None  # that row as its index line (cheaper to send than the row)
    stems: tuple[str, ...] | None = None  # its texts' stems for the search index (made here, in parallel)
    capture: bytes | None = None  # its capture line, when the log is rebuilt
    read_seconds: float = 0.0
    parse_seconds: float = 0.0


class _Judge:
    """Judges answers as the crawl did: the record read back, the page parsed, its comments and images."""

    def __init__(self, lookups: _Lookups) -> None:
        self.lookups = lookups
        self.resolver = _ImageResolver(lookups)

    def __call__(self, task: _Task) -> _Judged:
        event, lookups = task.event, self.lookups
        judged = _Judged()
        page = FetchedPage(
            event.url, event.status, b"", event.date, pointer=event.pointer, article_id=event.url_id
        )
        if event.kind == "page":
            revisit = event.refers_to is not None
            pointer = task.pointer
            if pointer is None:
                judged.unreadable = f"revisit refers to {event.refers_to}, which no WARC holds"
                return judged
            tick = time.perf_counter()
            try:  # as the crawl saw it: still content-encoded (decoded under the limits), WARC-Truncated kept
                stored = read_record(lookups.root, pointer)
                page = stored_page(stored, event.url, event.date, pointer, event.url_id, revisit)
            except Exception as error:  # a damaged record is reported; the rest is still indexed
                judged.unreadable = f"{pointer.filename}@{pointer.offset}: {error}"
                return judged
            finally:
                judged.read_seconds = time.perf_counter() - tick

        tick = time.perf_counter()
        result = judge(page)
        if result.article is not None:
            if comments_to_fetch(result):
                for number, (url, answer) in enumerate(_comments_answers(lookups, result.article.id, event)):
                    if number and not comments_fallback_due(result):
                        break  # the first answer was good: the crawl asked nothing more
                    stored = read_record(lookups.root, answer)
                    judge_comments(result, stored_page(stored, url, event.date, answer))
            result = finish(result, [self.resolver.image(image) for image in result.article.images])
        judged.parse_seconds = time.perf_counter() - tick
        judged.outcome, judged.url, judged.reason = result.outcome, result.url, result.reason
        judged.revisit, judged.time = result.revisit, result.time
        if result.row is not None:
            judged.row_id, judged.line = int(result.row["id"]), dumps_row(result.row)
            judged.stems = row_stems(result.row)
        if lookups.capture_lines:
            judged.capture = capture_line(Capture.of(result, run=None))
        return judged


class _Workers:
    """A reindex's worker processes (none for one job). Started before pass 1, so they import the parsers while
    this process scans; pass 1's lookups reach them through a file in state/, read once by each."""

    def __init__(self, jobs: int, archive: ArchiveDir) -> None:
        self.jobs = jobs
        self.lookups_path = archive.state_dir / ("reindex-lookups.pickle" + _NEW_SUFFIX)
        self.pool = process_pool(jobs) if jobs > 1 else None
        if self.pool is not None:
            for _ in range(jobs):  # the pool starts a process per task waiting: all of them, now
                self.pool.submit(_ready)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.lookups_path.unlink(missing_ok=True)

    def judged_in_order(
        self, tasks: Iterable[_Task], lookups: _Lookups, report: ReindexReport
    ) -> Iterator[_Judged]:
        """Every task judged, in the order given: here (one job) or by the workers, CHUNK tasks a message and
        at most WINDOW messages per worker in flight (a slow consumer holds up the workers, not memory)."""
        if self.pool is None:
            judge_here = _Judge(lookups)
            for task in tasks:
                yield judge_here(task)
            return
        self.lookups_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lookups_path, "wb") as handle:
            pickle.dump(lookups, handle, protocol=pickle.HIGHEST_PROTOCOL)
        path = str(self.lookups_path)
        chunks = _chunks(tasks)
        pending: deque[Future[tuple[list[_Judged], float]]] = deque(
            self.pool.submit(_judge_chunk, path, chunk) for chunk in islice(chunks, self.jobs * WINDOW)
        )
        while pending:
            judged, cpu = pending.popleft().result()
            report.cpu_seconds += cpu
            chunk = next(chunks, None)
            if chunk is not None:
                pending.append(self.pool.submit(_judge_chunk, path, chunk))
            yield from judged


def _ready() -> None:
    """A worker's first task: nothing (unpickling it imported this module, and with it the parsers)."""


_worker: tuple[str, _Judge] | None = None  # a worker process's judge, and the lookups file it was made from


def _judge_chunk(lookups_path: str, tasks: list[_Task]) -> tuple[list[_Judged], float]:
    """A worker's unit of work: the judged answers, in order, and the CPU seconds they took."""
    global _worker
    started = time.process_time()
    if _worker is None or _worker[0] != lookups_path:
        with open(lookups_path, "rb") as handle:  # written by the reindex that started this worker
            _worker = (lookups_path, _Judge(pickle.load(handle)))
    judged = [_worker[1](task) for task in tasks]
    return judged, time.process_time() - started


def _chunks(tasks: Iterable[_Task]) -> Iterator[list[_Task]]:
    iterator = iter(tasks)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _shard_of(event: _Event) -> int:
    return _SPARSE_SHARD if event.url_id is None else event.url_id // SHARD_SIZE


def run_name() -> str:
    """The ``run`` of rebuilt captures: says they came from a reindex, not from a crawl run."""
    return "reindex-" + utc_now().strftime("%Y%m%dT%H%M%SZ")


def _write_log(spool: BinaryIO, positions: array[int], directory: Path, run: str) -> int:
    """Copy the spooled capture lines into a new capture log, oldest first; returns how many."""
    log = CaptureLog(directory)
    written = 0
    try:
        for position in positions:
            if position < 0:
                continue
            spool.seek(position)
            capture = Capture.from_dict(json.loads(spool.readline()))
            capture.run = run
            log.append(capture)
            written += 1
    finally:
        log.close()
    return written


def _apply(
    store: IndexStore,
    ranks: _Ranks,
    rank: int,
    event: _Event,
    judged: _Judged,
    report: ReindexReport,
    feed: _SearchFeed,
) -> bytes | None:
    """Apply one judged article-URL answer to the index as the crawl did; the capture line it stands for."""
    if event.kind == "page":
        report.article_captures += 1
    report.read_seconds += judged.read_seconds
    report.parse_seconds += judged.parse_seconds
    if judged.unreadable is not None:
        report.unreadable.append((event.url, judged.unreadable))
        return None
    _count(report, judged)
    if judged.outcome is Outcome.GONE:
        if event.url_id is not None and 0 <= ranks.get(event.url_id) < rank:
            store.mark_gone(event.url_id, judged.time)
    elif (
        judged.row_id is not None and judged.line is not None and ranks.get(judged.row_id) < rank
    ):  # the latest capture of an id holds its row
        store.put_line(judged.row_id, judged.line)
        feed.note(judged.row_id, judged.stems)
        ranks.set(judged.row_id, rank)
    return judged.capture


def _count(report: ReindexReport, result: _Judged) -> None:
    """The report's counters for one judged capture."""
    outcome = result.outcome
    if outcome is Outcome.ARCHIVED:
        report.articles += 1
        report.revisits += result.revisit
    elif outcome is Outcome.GONE:
        report.gone += 1
    elif outcome is Outcome.NOT_ARTICLE:
        report.skipped_not_article += 1
    elif outcome is Outcome.BLOCKED:
        report.blocked += 1
    elif outcome is Outcome.INVALID:
        report.invalid += 1
    elif outcome is Outcome.PARSE_ERROR:
        report.parse_error_count += 1
        if len(report.parse_errors) < MAX_LISTED:
            report.parse_errors.append((result.url, result.reason or ""))


def _url_id(url: str) -> int | None:
    """The article id in an article URL (None when the URL carries none)."""
    try:
        return article_id(url)
    except ValueError:
        return None


class _ImageResolver:
    """``archived``/``error`` of an image from what the WARCs hold for its URL (redirects followed)."""

    def __init__(self, scan: _Lookups) -> None:
        self.scan = scan
        self._cache: dict[str, tuple[bool, str | None]] = {}

    def image(self, image: Image) -> Image:
        outcome = self._cache.get(image.url)
        if outcome is None:
            outcome = self._cache[image.url] = self._outcome(image.url)
            if len(self._cache) > 100_000:
                self._cache.clear()
        image.archived, image.error = outcome
        return image

    def _outcome(self, url: str) -> tuple[bool, str | None]:
        # Scrapy requests the escaped form of a URL (spaces, non-ASCII), and the WARC records that form.
        for candidate in dict.fromkeys((url, safe_url_string(url))):
            status = self._follow(candidate)
            if status is not None:
                return (True, None) if 200 <= status < 300 else (False, f"HTTP {status}")
        return False, NOT_IN_WARC

    def _follow(self, url: str) -> int | None:
        status = None
        for _ in range(MAX_REDIRECTS + 1):
            key = url_key(url)
            status = self.scan.url_status.get(key)
            if status is None or not 300 <= status < 400 or key not in self.scan.redirects:
                return status
            url = self.scan.redirects[key]
        return status


def _swap_dir(new: Path, current: Path) -> None:
    """Put ``new`` in place of ``current``: rename the old away, the new in, then delete the old."""
    old = current.with_name(current.name + _OLD_SUFFIX)
    shutil.rmtree(old, ignore_errors=True)
    if current.exists():
        os.rename(current, old)
    os.rename(new, current)
    fsync_dir(current.parent)
    shutil.rmtree(old, ignore_errors=True)
