"""Check an archive end to end: every WARC record readable with correct digests and pairing, every revisit
resolvable, every index row pointing exactly at its article's bytes, every image marked archived really there.

Read-only, and the way back in the data flow: it reads what the crawl wrote (WARC -> index rows) and reports
each fault with the file and byte offset where it is. WARC files are streamed one gzip member at a time; what
the cross-checks need across files is kept as 64-bit keys (``habrmirror.tools.reindex.url_key``), not strings.
"""

from __future__ import annotations

import fcntl
import json
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from w3lib.url import safe_url_string

from habrmirror.archive.cdxj import cdxj_path
from habrmirror.archive.reader import OPEN_SUFFIX, GzipDamage, RecordMismatch, read_record
from habrmirror.archive.strict import (
    ParsedRecord,
    dechunk,
    digest_matches,
    http_split,
    http_status_and_headers,
    iter_members_resyncing,
    parse_record,
)
from habrmirror.archive.warc import DECHUNKED_HEADER, WARC_SUFFIX
from habrmirror.items import SCHEMA_VERSION, WarcPointer
from habrmirror.schema import validation_errors
from habrmirror.store.index import shard_name
from habrmirror.store.layout import ArchiveDir
from habrmirror.tools.reindex import MAX_REDIRECTS, url_key
from habrmirror.wording import plural

__all__ = ["Problem", "VerifyReport", "verify_archive"]


@dataclass(frozen=True)
class Problem:
    """One fault: what kind, in which file (relative to the archive), at which byte offset, and the details.

    ``offset`` is the start of the gzip member (WARC files) or of the line (index shards); None for a whole file.
    """

    kind: str
    file: str
    offset: int | None
    message: str

    def line(self, level: str = "ERROR") -> str:
        where = self.file if self.offset is None else f"{self.file}@{self.offset}"
        return f"{level} {where}: {self.kind}: {self.message}"


@dataclass
class VerifyReport:
    """Everything :func:`verify_archive` found; ``ok`` when there are no problems (warnings are allowed)."""

    root: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    files: int = 0  # WARC files read
    records: int = 0  # WARC records read
    revisits: int = 0
    rows: int = 0  # index rows checked
    images: int = 0  # images marked archived, checked

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """One line per problem and warning (file and offset first), then the totals."""
        out = [problem.line("ERROR") for problem in self.problems]
        out += [warning.line("WARNING") for warning in self.warnings]
        verdict = "OK" if self.ok else plural(len(self.problems), "problem")
        out.append(
            f"{verdict}: {plural(self.files, 'WARC file')}, {plural(self.records, 'record')}"
            f" ({plural(self.revisits, 'revisit')}), {plural(self.rows, 'index row')},"
            f" {plural(self.images, 'archived image')} checked; {plural(len(self.warnings), 'warning')}"
        )
        return out


def verify_archive(root: Path) -> VerifyReport:
    """Verify the archive at ``root`` (see the module docstring); never modifies it."""
    archive = ArchiveDir(Path(root))
    report = VerifyReport(root=archive.root)
    if not archive.warc_dir.is_dir():
        report.problems.append(
            Problem("layout", "warc", None, "no warc/ directory: not a habrmirror archive")
        )
        return report
    checker = _WarcChecker(archive, report)
    finished = sorted(archive.warc_dir.glob(f"*{WARC_SUFFIX}"))
    still_open = sorted(archive.warc_dir.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}"))
    writer_active = _writer_active(archive)
    for path in still_open:
        name = _relative(archive, path)
        if writer_active:
            report.warnings.append(Problem("open-warc", name, None, "being written by a running crawl"))
        else:
            report.problems.append(
                Problem(
                    "open-warc",
                    name,
                    None,
                    "left open by an interrupted crawl (the next crawl or `habrmirror reindex` repairs it)",
                )
            )
    for path in finished + still_open:
        checker.check_file(path)
        if path in finished and not cdxj_path(path, archive.cdxj_dir).exists():
            report.warnings.append(
                Problem("cdxj-missing", _relative(archive, path), None, "no CDXJ index (reindex writes it)")
            )
    checker.finish()
    _RowChecker(archive, report, checker).check_all()
    return report


def _relative(archive: ArchiveDir, path: Path) -> str:
    return path.relative_to(archive.root).as_posix()


def _writer_active(archive: ArchiveDir) -> bool:
    """True while a writer holds the archive's lock (tested with a shared flock: nothing is written)."""
    try:
        handle = open(archive.lock_path)  # noqa: SIM115 - closed below, after the non-blocking test
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        handle.close()
    return False


class _WarcChecker:
    """Per-record checks while streaming, plus the cross-file state the index checks use afterwards."""

    def __init__(self, archive: ArchiveDir, report: VerifyReport) -> None:
        self.archive = archive
        self.report = report
        # Cross-file facts, as 64-bit keys: record id -> key of (payload digest, target URI) in two arrays
        # (16 bytes per record), URLs that answered 2xx, 3xx hops, and (original id, URI) of 200 revisits.
        self.record_keys = array("Q")
        self.record_values = array("Q")
        self.ok_urls: set[int] = set()
        self.redirects: dict[int, int] = {}
        self.revisit_links: set[int] = set()
        # Revisits to resolve at the end: (file, offset, key of Refers-To, key of (digest, target URI), text).
        self.revisits: list[tuple[str, int, int, int, str]] = []
        # Exchanges not yet paired, by record id: (file, offset, WARC-Date).
        self.responses: dict[str, tuple[str, int, str]] = {}
        self.requests: dict[str, tuple[str, int, str]] = {}

    def problem(self, kind: str, name: str, offset: int | None, message: str) -> None:
        self.report.problems.append(Problem(kind, name, offset, message))

    def check_file(self, path: Path) -> None:
        name = _relative(self.archive, path)
        self.report.files += 1
        with open(path, "rb") as handle:
            for item in iter_members_resyncing(handle):
                if isinstance(item, GzipDamage):
                    self.problem(item.kind, name, item.offset, item.message)
                    continue
                parsed = parse_record(item.data)
                if isinstance(parsed, str):
                    self.problem("record", name, item.offset, parsed)
                    continue
                self.report.records += 1
                self.check_record(name, item.offset, parsed)

    def check_record(self, name: str, offset: int, record: ParsedRecord) -> None:
        rec_type = record.get("WARC-Type") or ""
        record_id = record.get("WARC-Record-ID") or ""
        block_digest = record.get("WARC-Block-Digest")
        if block_digest and digest_matches(block_digest, record.block) is False:
            self.problem("block-digest", name, offset, f"{rec_type} {record_id}: WARC-Block-Digest mismatch")
        is_http = "application/http" in (record.get("Content-Type") or "").lower()
        status: int | None = None
        http_headers: dict[str, str] = {}
        payload = record.block
        if is_http:
            split = http_split(record.block)
            if split is None:
                self.problem("record", name, offset, f"{rec_type} {record_id}: no end of HTTP headers")
                return
            head, payload = split
            status, http_headers = http_status_and_headers(head)
        payload_digest = record.get("WARC-Payload-Digest") or ""
        if (
            payload_digest
            and rec_type != "revisit"
            and not self._payload_ok(payload_digest, payload, record, http_headers)
        ):
            self.problem(
                "payload-digest", name, offset, f"{rec_type} {record_id}: WARC-Payload-Digest mismatch"
            )
        url = record.get("WARC-Target-URI") or ""
        date = record.get("WARC-Date") or ""
        if rec_type in ("response", "revisit", "resource"):
            self.record_keys.append(url_key(record_id))
            self.record_values.append(url_key(payload_digest + "\n" + url))
        if rec_type in ("response", "revisit") and status is not None:
            if 200 <= status < 300:
                self.ok_urls.add(url_key(url))
            elif 300 <= status < 400 and http_headers.get("location"):
                self.redirects[url_key(url)] = url_key(urljoin(url, http_headers["location"]))
        if rec_type == "revisit":
            self.report.revisits += 1
            self._note_revisit(name, offset, record, record_id, url, status)
        if rec_type in ("response", "revisit"):
            self._pair_response(name, offset, record_id, date, record.get("WARC-Concurrent-To"))
        elif rec_type == "request":
            self._pair_request(name, offset, record_id, date, record.get("WARC-Concurrent-To"))

    def _payload_ok(
        self, expected: str, payload: bytes, record: ParsedRecord, http_headers: dict[str, str]
    ) -> bool:
        if digest_matches(expected, payload) is not False:
            return True
        # Tools other than ours may store a chunked body as sent; the payload digest covers the entity then.
        chunked = "chunked" in http_headers.get("transfer-encoding", "").lower()
        if chunked and not record.get(DECHUNKED_HEADER):
            entity = dechunk(payload)
            return entity is not None and digest_matches(expected, entity) is not False
        return False

    def _note_revisit(
        self, name: str, offset: int, record: ParsedRecord, record_id: str, url: str, status: int | None
    ) -> None:
        refers_to = record.get("WARC-Refers-To")
        if not refers_to:
            self.problem("revisit", name, offset, f"revisit {record_id} has no WARC-Refers-To")
            return
        digest = record.get("WARC-Payload-Digest") or ""
        target = record.get("WARC-Refers-To-Target-URI") or ""
        self.revisits.append((name, offset, url_key(refers_to), url_key(digest + "\n" + target), refers_to))
        if status == 200:
            self.revisit_links.add(url_key(refers_to + "\n" + url))

    def _pair_response(
        self, name: str, offset: int, record_id: str, date: str, concurrent: str | None
    ) -> None:
        request = self.requests.pop(record_id, None)
        if request is None and concurrent:  # some tools link from the response to the request instead
            request = self.requests.pop(concurrent, None)
        if request is None:
            self.responses[record_id] = (name, offset, date)
        elif request[2] != date:
            self.problem("pairing", name, offset, f"response {record_id} and its request differ in WARC-Date")

    def _pair_request(
        self, name: str, offset: int, record_id: str, date: str, concurrent: str | None
    ) -> None:
        response = self.responses.pop(concurrent, None) if concurrent else None
        if response is None:
            self.requests[concurrent or record_id] = (name, offset, date)
        elif response[2] != date:
            self.problem("pairing", name, offset, f"request {record_id} and its response differ in WARC-Date")

    def finish(self) -> None:
        """Cross-file checks once every record was seen: unpaired exchanges, revisits that resolve."""
        for record_id, (name, offset, _) in self.responses.items():
            self.problem("pairing", name, offset, f"response {record_id} has no request record")
        for record_id, (name, offset, _) in self.requests.items():
            self.problem("pairing", name, offset, f"request for {record_id} has no response record")
        self.responses.clear()
        self.requests.clear()
        wanted = {revisit[2] for revisit in self.revisits}
        found: dict[int, int] = {}
        for key, value in zip(self.record_keys, self.record_values, strict=True):
            if key in wanted:
                found[key] = value
        for name, offset, refers, expected, refers_text in self.revisits:
            if refers not in found:
                self.problem(
                    "revisit", name, offset, f"WARC-Refers-To {refers_text} names no record of the archive"
                )
            elif found[refers] != expected:
                self.problem(
                    "revisit",
                    name,
                    offset,
                    f"record {refers_text} differs in payload digest or target URI from what the revisit says",
                )

    def url_archived(self, url: str) -> bool:
        """A 2xx response or revisit exists for the URL (3xx hops followed, Scrapy's escaped form tried)."""
        for candidate in dict.fromkeys((url, safe_url_string(url))):
            key = url_key(candidate)
            for _ in range(MAX_REDIRECTS + 1):
                if key in self.ok_urls:
                    return True
                if key not in self.redirects:
                    break
                key = self.redirects[key]
        return False


class _RowChecker:
    """Index rows: valid JSON and schema, one per id in the right shard, pointer exact, images really there."""

    def __init__(self, archive: ArchiveDir, report: VerifyReport, warcs: _WarcChecker) -> None:
        self.archive = archive
        self.report = report
        self.warcs = warcs
        self.seen: set[int] = set()

    def problem(self, kind: str, name: str, offset: int, message: str) -> None:
        self.report.problems.append(Problem(kind, name, offset, message))

    def check_all(self) -> None:
        for shard in sorted(self.archive.index_dir.glob("*.jsonl")):
            name = _relative(self.archive, shard)
            offset = 0
            with open(shard, "rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    if raw.strip():
                        self.check_line(name, offset, number, raw, shard.name)
                    offset += len(raw)

    def check_line(self, name: str, offset: int, number: int, raw: bytes, shard: str) -> None:
        try:
            row: dict[str, Any] = json.loads(raw)
        except ValueError as error:
            self.problem("row-json", name, offset, f"line {number} is not JSON ({error})")
            return
        if not isinstance(row, dict) or not isinstance(row.get("id"), int):
            self.problem("row-json", name, offset, f"line {number} is not a row with an integer id")
            return
        self.report.rows += 1
        article = row["id"]
        where = f"row {article} (line {number})"
        if article in self.seen:
            self.problem("row-duplicate", name, offset, f"{where}: a second row for this id")
        self.seen.add(article)
        if shard_name(article) != shard:
            self.problem("row-shard", name, offset, f"{where}: belongs in index/{shard_name(article)}")
        version = row.get("schema_version")
        if isinstance(version, int) and version < SCHEMA_VERSION:
            # An older row's shape differs in known ways: one line with the fix, not a list of field errors.
            self.problem(
                "row-schema",
                name,
                offset,
                f"{where}: schema_version {version}, older than {SCHEMA_VERSION}: "
                "`habrmirror reindex` rewrites the rows from the WARC files",
            )
        else:
            for field_name, message in validation_errors(row)[:5]:
                self.problem("row-schema", name, offset, f"{where}: {field_name}: {message}")
        self.check_pointer(name, offset, where, row)
        for image in row.get("images") or []:
            if isinstance(image, dict) and image.get("archived") is True:
                self.report.images += 1
                if not self.warcs.url_archived(str(image.get("url"))):
                    self.problem(
                        "image-missing",
                        name,
                        offset,
                        f"{where}: image {image.get('url')} is marked archived but no WARC holds a 2xx for it",
                    )

    def check_pointer(self, name: str, offset: int, where: str, row: dict[str, Any]) -> None:
        data = row.get("warc")
        if not isinstance(data, dict):
            self.problem("row-pointer", name, offset, f"{where}: no WARC pointer")
            return
        try:
            pointer = WarcPointer(**data)
            target = f"{pointer.filename}@{pointer.offset}+{pointer.length}"
        except TypeError as error:
            self.problem("row-pointer", name, offset, f"{where}: malformed WARC pointer ({error})")
            return
        try:
            stored = read_record(self.archive.root, pointer)
        except (RecordMismatch, OSError, ValueError, zlib.error) as error:
            self.problem(
                "row-pointer", name, offset, f"{where}: pointer {target} does not land on its record: {error}"
            )
            return
        except Exception as error:  # warcio parse errors of a member that is not a WARC record
            self.problem(
                "row-pointer", name, offset, f"{where}: pointer {target}: unreadable record ({error})"
            )
            return
        if stored.rec_type != "response" or stored.status != 200:
            self.problem(
                "row-pointer",
                name,
                offset,
                f"{where}: pointer {target} is a {stored.rec_type} with status {stored.status}, "
                "not a 200 response holding the page",
            )
            return
        fetched = row.get("fetched_url")
        if (
            stored.target_uri != fetched
            and url_key(f"{stored.record_id}\n{fetched}") not in self.warcs.revisit_links
        ):
            self.problem(
                "row-pointer",
                name,
                offset,
                f"{where}: pointer {target} holds {stored.target_uri}, not fetched_url {fetched} "
                "(and no revisit of that URL refers to it)",
            )
