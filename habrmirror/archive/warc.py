"""Streaming, rotating WARC/1.1 writer: each HTTP exchange becomes a response (or revisit) record and
its request record.

Sits at "raw response recorded to WARC" in the data flow: the Scrapy glue (``archive/extension.py``) builds
an :class:`HttpExchange` from what came over the wire and calls :meth:`WarcWriter.write_exchange`; the
returned pointers go into the capture log and the JSON index. No Scrapy here, so tests compare whole records
byte for byte (injectable clock and record-id factory).

Format choices (README, "Reconstructions", lists them for users):

* Files: ``DIR/warc/{prefix}-{YYYYmmddHHMMSS}-{serial:05d}-{pid}.warc.gz``, written as
  ``NAME.warc.gz.open`` and renamed when closed; one long-lived file, rotated before it would pass
  ``max_size``; each starts with a ``warcinfo`` record. Every record is its own gzip member at
  ``gzip_level`` (default 6: warcio's fixed level 9 costs about twice the CPU for ~1% smaller files); a record whose
  body is already compressed (content-encoded, JPEG/PNG/...) is stored in a level-0 member: deflate saves nothing there.
  Records are serialised by warcio's ``WARCWriter``; we only compress.
* Per exchange the response record comes first, then the request record; both carry the same
  ``WARC-Date`` (the fetch time, with microseconds when it has them) and the request's
  ``WARC-Concurrent-To`` names the response.
* The response block is the status line ``PROTOCOL STATUS REASON``, the headers in the order received and
  the body as received: content-encoding kept, chunked transfer-coding removed. Header text is written
  ISO-8859-1 when it fits, so header bytes the caller decoded as latin-1 are stored exactly as they came
  (other text is written UTF-8; warcio would have percent-encoded it).
* ``WARC-Habrmirror-Dechunked: chunked`` on a response/revisit record says: the server sent the body with
  ``Transfer-Encoding: chunked``; the stored body is the de-chunked entity and the ``Transfer-Encoding``
  header is left out of the stored headers (so the block is a consistent HTTP message and the payload
  digest covers the entity, as WARC 1.1 asks). A ``Transfer-Encoding: chunked`` header passed in always
  counts as de-chunked, since the body given is always de-chunked.
* ``WARC-Truncated: length`` on a response record says: the body passed its size limit while downloading
  (README, "Limits") and only its first bytes are stored; the HTTP headers are still the ones received (a
  Content-Length there is the length the server announced).
* Revisits follow the WARC/1.1 identical-payload-digest profile, looked up in
  :class:`~habrmirror.archive.digests.DigestIndex` (status 200 with a non-empty body only); they store the
  HTTP headers without the body.
* Crash safety: an exchange goes out in one ``write`` on an unbuffered descriptor, so a killed process
  loses at most the exchange being written; :func:`repair_open_warcs` cuts a left-over ``.open`` file back
  to its last complete exchange.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import BinaryIO
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from habrmirror import __version__
from habrmirror.archive.atomic import fsync_dir
from habrmirror.archive.digests import DigestEntry, DigestIndex
from habrmirror.archive.reader import OPEN_SUFFIX, iter_gzip_members
from habrmirror.clock import utc_now
from habrmirror.items import WarcPointer

__all__ = [
    "CONFORMS_TO",
    "DECHUNKED_HEADER",
    "REVISIT_PROFILE",
    "HttpExchange",
    "WarcWriter",
    "WrittenExchange",
    "payload_digest",
    "repair_open_warcs",
    "utc_now",
    "uuid_urn",
    "warc_date",
]

log = logging.getLogger(__name__)

WARC_VERSION = "WARC/1.1"
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
DECHUNKED_HEADER = "WARC-Habrmirror-Dechunked"
WARC_SUFFIX = ".warc.gz"

# WARC headers the writer sets itself; extra_headers may not override them.
_RESERVED = {
    name.lower()
    for name in (
        "WARC-Type",
        "WARC-Record-ID",
        "WARC-Date",
        "WARC-Target-URI",
        "WARC-IP-Address",
        "WARC-Concurrent-To",
        "WARC-Payload-Digest",
        "WARC-Block-Digest",
        "WARC-Profile",
        "WARC-Refers-To",
        "WARC-Refers-To-Target-URI",
        "WARC-Refers-To-Date",
        "WARC-Filename",
        "WARC-Truncated",
        "Content-Type",
        "Content-Length",
        DECHUNKED_HEADER,
    )
}


def uuid_urn() -> str:
    """A fresh ``WARC-Record-ID``: ``<urn:uuid:...>``."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(moment: datetime) -> str:
    """WARC-Date text: UTC, ``Z``, microseconds only when there are some (WARC/1.1 allows them)."""
    if moment.tzinfo is None:
        raise ValueError("WARC dates need a timezone-aware datetime")
    moment = moment.astimezone(timezone.utc)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(pattern)


def payload_digest(data: bytes) -> str:
    """``sha1:BASE32`` of ``data``, the form of WARC-Payload-Digest / WARC-Block-Digest."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


@dataclass
class HttpExchange:
    """One HTTP exchange as it went over the wire (as much of it as Scrapy could keep)."""

    url: str
    method: str  # "GET"
    request_headers: list[tuple[str, str]]  # in order, as sent (include Host)
    request_body: bytes
    protocol: str  # "HTTP/1.1"
    status: int
    reason: str  # reason phrase as sent; "" -> the standard phrase for the code
    response_headers: list[tuple[str, str]]  # in order, as received
    body: bytes  # entity body as received: content-encoding kept, chunking removed
    fetched_at: datetime  # tz-aware; becomes the WARC-Date of both records
    ip_address: str | None = None  # -> WARC-IP-Address
    dechunked: bool = False  # the server sent the body chunked (noted in DECHUNKED_HEADER)
    truncated: str | None = None  # why the body is cut short: "length" (a size limit) -> WARC-Truncated


@dataclass
class WrittenExchange:
    """Where an exchange went: the records written and, for a revisit, the record holding the payload."""

    response: WarcPointer  # the "response" or "revisit" record
    request: WarcPointer
    payload_digest: str  # "sha1:BASE32" of the response body
    revisit_of: WarcPointer | None  # when deduplicated: the earlier record holding the bytes

    @property
    def content_pointer(self) -> WarcPointer:
        """The record whose block holds the payload bytes (what verify/reindex read)."""
        return self.revisit_of or self.response


class _WireHead(StatusAndHeaders):
    """An HTTP head whose bytes are fixed up front, so our digests cover exactly what warcio writes."""

    def __init__(self, protocol: str, statusline: str, headers: list[tuple[str, str]], head: bytes) -> None:
        super().__init__(statusline, headers, protocol=protocol)
        self.headers_buff = head

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        """Keep the bytes from construction (warcio would percent-encode non-ASCII header values)."""


def _encode_head(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    """Start line and headers as bytes: ISO-8859-1 when it fits (wire bytes round-trip), else UTF-8."""
    lines = [first_line]
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
            raise ValueError(f"HTTP header cannot be stored as one line: {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    out = bytearray()
    for line in lines:
        try:
            out += line.encode("latin-1")
        except UnicodeEncodeError:
            out += line.encode("utf-8")
        out += b"\r\n"
    out += b"\r\n"
    return bytes(out)


def _sha1_b32(*parts: bytes) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


class WarcWriter:
    """Writes exchanges to rotating ``.warc.gz`` files in ``archive_dir / "warc"``; not thread-safe.

    The file is opened at the first exchange, so a run that records nothing leaves no file behind.
    """

    def __init__(
        self,
        archive_dir: Path,
        *,
        prefix: str = "habrmirror",
        max_size: int = 1_000_000_000,
        gzip_level: int = 6,
        warcinfo: dict[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
        make_record_id: Callable[[], str] = uuid_urn,
        digests: DigestIndex | None = None,
        on_close: Callable[[Path], None] | None = None,
    ) -> None:
        if not 0 <= gzip_level <= 9:
            raise ValueError(f"gzip_level must be 0..9, not {gzip_level}")
        self.archive_dir = Path(archive_dir)
        self.warc_dir = self.archive_dir / "warc"
        self.prefix = prefix
        self.max_size = max_size
        self.gzip_level = gzip_level
        self.warcinfo_fields: dict[str, str] = {
            "software": f"habrmirror/{__version__}",
            "format": "WARC File Format 1.1",
            "conformsTo": CONFORMS_TO,
            "robots": "obey",
        }
        self.warcinfo_fields.update(warcinfo or {})
        self.clock = clock
        self.make_record_id = make_record_id
        self.digests = digests
        self.on_close = on_close
        # warcio serialises every record into a scratch buffer (gzip=False); we compress each one ourselves.
        self._serialiser = WARCWriter(BytesIO(), gzip=False, warc_version=WARC_VERSION)
        self._fd: int | None = None
        self._open_path: Path | None = None
        self._final_name = ""
        self._size = 0
        self._exchanges_in_file = 0
        self._serial = 0
        self._broken = False
        self.closed_files: list[Path] = []

    # --- public API --------------------------------------------------------------------------------

    @property
    def current_path(self) -> Path | None:
        """The ``.open`` file being written, if any."""
        return self._open_path

    def write_exchange(
        self, exchange: HttpExchange, extra_headers: dict[str, str] | None = None
    ) -> WrittenExchange:
        """Append the exchange's response (or revisit) record and its request record; flushed on return."""
        if self._broken:
            raise RuntimeError("WARC writer is unusable after a failed write; repair the .open file")
        extra = dict(extra_headers or {})
        for name in extra:
            if name.lower() in _RESERVED:
                raise ValueError(f"extra_headers may not set {name}")

        date = warc_date(exchange.fetched_at)
        body_digest = payload_digest(exchange.body)
        response_id = self.make_record_id()
        request_id = self.make_record_id()

        response_headers, dechunked = _without_transfer_encoding(exchange)
        reason = exchange.reason or _standard_reason(exchange.status)
        status_line = f"{exchange.status} {reason}"
        response_head = _encode_head(f"{exchange.protocol} {status_line}", response_headers)
        response_wire = _WireHead(exchange.protocol, status_line, response_headers, response_head)

        common: dict[str, str] = {"WARC-Date": date, "WARC-Target-URI": exchange.url}
        if exchange.ip_address:
            common["WARC-IP-Address"] = exchange.ip_address

        original = self._find_original(exchange, body_digest)
        response_fields = {"WARC-Type": "revisit" if original else "response", "WARC-Record-ID": response_id}
        response_fields.update(common)
        if dechunked:
            response_fields[DECHUNKED_HEADER] = "chunked"
        if exchange.truncated:
            response_fields["WARC-Truncated"] = exchange.truncated
        response_fields.update(extra)
        if original:
            response_fields["WARC-Profile"] = REVISIT_PROFILE
            response_fields["WARC-Refers-To"] = original.pointer.record_id
            response_fields["WARC-Refers-To-Target-URI"] = original.target_uri
            response_fields["WARC-Refers-To-Date"] = original.warc_date
            response_fields["WARC-Payload-Digest"] = body_digest
            response_fields["WARC-Block-Digest"] = _sha1_b32(response_head)
            response_record = self._record(exchange.url, "revisit", response_fields, response_wire, b"")
        else:
            response_fields["WARC-Payload-Digest"] = body_digest
            response_fields["WARC-Block-Digest"] = _sha1_b32(response_head, exchange.body)
            response_record = self._record(
                exchange.url, "response", response_fields, response_wire, exchange.body
            )

        request_line = f"{_request_target(exchange.url)} {exchange.protocol}"
        request_head = _encode_head(f"{exchange.method} {request_line}", exchange.request_headers)
        request_wire = _WireHead(exchange.method, request_line, exchange.request_headers, request_head)
        request_fields = {"WARC-Type": "request", "WARC-Record-ID": request_id}
        request_fields.update(common)
        request_fields["WARC-Concurrent-To"] = response_id
        request_fields["WARC-Payload-Digest"] = payload_digest(exchange.request_body)
        request_fields["WARC-Block-Digest"] = _sha1_b32(request_head, exchange.request_body)
        request_record = self._record(
            exchange.url, "request", request_fields, request_wire, exchange.request_body
        )

        level = 0 if original is None and _incompressible(exchange, response_headers) else self.gzip_level
        response_member = self._gzip(self._serialise(response_record), level)
        request_member = self._gzip(self._serialise(request_record))
        exchange_bytes = response_member + request_member

        if (
            self._fd is not None
            and self._exchanges_in_file
            and self._size + len(exchange_bytes) > self.max_size
        ):
            self._close_file()
        if self._fd is None:
            self._open_file()
        offset = self._append(exchange_bytes)
        self._exchanges_in_file += 1

        filename = f"warc/{self._final_name}"
        response_pointer = WarcPointer(filename, offset, len(response_member), response_id)
        request_pointer = WarcPointer(
            filename, offset + len(response_member), len(request_member), request_id
        )
        if original is None and self.digests is not None and _dedupable(exchange):
            self.digests.add(body_digest, DigestEntry(response_pointer, exchange.url, date))
        return WrittenExchange(
            response=response_pointer,
            request=request_pointer,
            payload_digest=body_digest,
            revisit_of=original.pointer if original else None,
        )

    def sync(self) -> None:
        """Make all written so far durable (fsync), then persist the digest entries pointing into it."""
        if self._fd is not None and not self._broken:
            os.fsync(self._fd)
        if self.digests is not None and not self._broken:
            self.digests.commit()

    def close(self) -> None:
        """Finish the current file: fsync, drop ``.open``, commit digests, call ``on_close``. Idempotent."""
        if self._fd is not None:
            self._close_file()
        elif self.digests is not None and not self._broken:
            self.digests.commit()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- records -----------------------------------------------------------------------------------

    def _record(
        self, uri: str, rec_type: str, fields: dict[str, str], http: StatusAndHeaders | None, block: bytes
    ) -> ArcWarcRecord:
        """A warcio record with every digest already set, so warcio only serialises (no second hash pass)."""
        return self._serialiser.create_warc_record(
            uri,
            rec_type,
            payload=BytesIO(block),
            length=len(block),
            warc_headers_dict=fields,
            http_headers=http,
        )

    def _serialise(self, record: ArcWarcRecord) -> bytes:
        buffer = BytesIO()
        self._serialiser.out = buffer
        self._serialiser.write_record(record)
        return buffer.getvalue()

    def _gzip(self, data: bytes, level: int | None = None) -> bytes:
        """One gzip member (mtime 0, so the same record always compresses to the same bytes)."""
        return zlib.compress(data, self.gzip_level if level is None else level, wbits=31)

    def _warcinfo_member(self, filename: str) -> bytes:
        fields = "".join(f"{name}: {value}\r\n" for name, value in self.warcinfo_fields.items() if value)
        block = fields.encode("utf-8")
        headers = {
            "WARC-Type": "warcinfo",
            "WARC-Record-ID": self.make_record_id(),
            "WARC-Date": warc_date(self.clock()),
            "WARC-Filename": filename,
            "WARC-Block-Digest": _sha1_b32(block),
        }
        record = self._serialiser.create_warc_record(
            "", "warcinfo", payload=BytesIO(block), length=len(block), warc_headers_dict=headers
        )
        return self._gzip(self._serialise(record))

    def _find_original(self, exchange: HttpExchange, digest: str) -> DigestEntry | None:
        """The stored record this body duplicates, if dedup applies and that record is still on disk."""
        if self.digests is None or not _dedupable(exchange):
            return None
        entry = self.digests.lookup(digest)
        if entry is None:
            return None
        # A user may have deleted or moved WARC files; a revisit must never point at nothing.
        final = self.archive_dir / entry.pointer.filename
        for candidate in (final, final.with_name(final.name + OPEN_SUFFIX)):
            try:
                if candidate.stat().st_size >= entry.pointer.offset + entry.pointer.length:
                    return entry
            except FileNotFoundError:
                continue
        return None

    # --- files -------------------------------------------------------------------------------------

    def _open_file(self) -> None:
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        stamp = self.clock().astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")
        while True:
            name = f"{self.prefix}-{stamp}-{self._serial:05d}-{os.getpid()}{WARC_SUFFIX}"
            self._serial += 1
            final = self.warc_dir / name
            open_path = final.with_name(name + OPEN_SUFFIX)
            if final.exists():
                continue
            try:
                fd = os.open(open_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            break
        self._fd, self._open_path, self._final_name = fd, open_path, name
        self._size = 0
        self._exchanges_in_file = 0
        self._append(self._warcinfo_member(name))
        fsync_dir(self.warc_dir)  # the .open file itself must survive a crash, or repair never sees it
        log.info("opened %s", open_path)

    def _append(self, data: bytes) -> int:
        """Write ``data`` at the end; on failure cut the file back so it still ends at a whole exchange."""
        assert self._fd is not None
        start = self._size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except BaseException:
            try:
                os.ftruncate(self._fd, start)
                os.lseek(self._fd, start, os.SEEK_SET)
            except OSError:
                self._broken = True  # leave the .open file for repair_open_warcs
            raise
        self._size = start + len(data)
        return start

    def _close_file(self) -> None:
        assert self._fd is not None and self._open_path is not None
        fd, open_path = self._fd, self._open_path
        self._fd = None
        self._open_path = None
        if self._broken:
            os.close(fd)
            if self.digests is not None:
                self.digests.discard_pending()
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        final = open_path.with_name(self._final_name)
        os.rename(open_path, final)
        fsync_dir(self.warc_dir)
        if self.digests is not None:
            self.digests.commit()
        self.closed_files.append(final)
        log.info("closed %s (%d bytes)", final, self._size)
        if self.on_close is not None:
            self.on_close(final)


# Payloads that deflate cannot shrink: content-encoded bodies and the usual compressed image formats.
_COMPRESSED_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "application/zip")
_INCOMPRESSIBLE_MIN = 4096  # below this, the (compressible) headers are a large share of the record


def _incompressible(exchange: HttpExchange, headers: list[tuple[str, str]]) -> bool:
    """True when the body is already compressed: its record is stored in a level-0 gzip member.

    Deflating compressed bytes costs as much CPU as a text page and saves nothing (measured: a 25 KB gzip body
    comes out 3 bytes larger at level 6, in 0.25 ms against 0.01 ms stored).
    """
    if len(exchange.body) < _INCOMPRESSIBLE_MIN:
        return False
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-encoding" and value.strip().lower() not in ("", "identity"):
            return True
        if lowered == "content-type" and value.split(";", 1)[0].strip().lower() in _COMPRESSED_TYPES:
            return True
    return False


def _dedupable(exchange: HttpExchange) -> bool:
    """A whole 200 body: a truncated one is neither a revisit of nor an original for another capture."""
    return exchange.status == 200 and bool(exchange.body) and not exchange.truncated


def _standard_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _request_target(url: str) -> str:
    """Origin-form request target (``/path?query``), the URL's own spelling kept (no re-quoting)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def _without_transfer_encoding(exchange: HttpExchange) -> tuple[list[tuple[str, str]], bool]:
    """Headers to store and whether the body was de-chunked (see the module docstring)."""
    headers = [(n, v) for n, v in exchange.response_headers if n.lower() != "transfer-encoding"]
    had_chunked = any(
        n.lower() == "transfer-encoding" and "chunked" in v.lower() for n, v in exchange.response_headers
    )
    if exchange.dechunked or had_chunked:
        return headers, True
    return list(exchange.response_headers), False


# --- crash repair --------------------------------------------------------------------------------


def repair_open_warcs(warc_dir: Path) -> list[Path]:
    """Close every ``*.warc.gz.open`` a killed writer left: cut after the last complete exchange, rename.

    A complete exchange is a response/revisit record followed by its request record (``WARC-Concurrent-To``),
    each a gzip member that decompresses (CRC checked) and holds a whole WARC record; other record types
    (warcinfo, metadata) count on their own. A file whose warcinfo is complete but holds no exchange is kept
    (valid, just empty); a file without even a complete warcinfo is deleted. Returns the repaired final paths.

    Call it only while holding the archive's writer lock: an ``.open`` file of a live writer would be cut.
    """
    repaired: list[Path] = []
    for open_path in sorted(Path(warc_dir).glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}")):
        final = open_path.with_name(open_path.name[: -len(OPEN_SUFFIX)])
        if final.exists():
            raise FileExistsError(f"cannot repair {open_path.name}: {final.name} exists already")
        with open(open_path, "r+b") as handle:
            end = _complete_prefix_end(handle)
            size = handle.seek(0, os.SEEK_END)
            if end and end < size:
                handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
        if end == 0:
            log.warning("removed %s: not even its warcinfo record was complete", open_path)
            open_path.unlink()
            continue
        os.rename(open_path, final)
        log.warning("repaired %s: kept %d of %d bytes", final, end, size)
        repaired.append(final)
    if repaired:
        fsync_dir(Path(warc_dir))
    return repaired


def _complete_prefix_end(handle: BinaryIO) -> int:
    """Byte offset just past the last complete unit (exchange pair or standalone record); 0 if none."""
    safe_end = 0
    awaiting: str | None = None  # record id of a response/revisit still waiting for its request
    for offset, length, data in iter_gzip_members(handle):
        parsed = _parse_warc_head(data)
        if parsed is None:
            break
        rec_type, record_id, concurrent_to = parsed
        end = offset + length
        if awaiting is not None:
            if rec_type == "request" and concurrent_to == awaiting:
                safe_end, awaiting = end, None
                continue
            break  # the pair is broken: keep only what came before its response
        if rec_type in ("response", "revisit"):
            awaiting = record_id
        else:
            safe_end = end
    return safe_end


def _parse_warc_head(data: bytes) -> tuple[str, str, str | None] | None:
    """``(WARC-Type, WARC-Record-ID, WARC-Concurrent-To)`` if ``data`` is exactly one whole WARC record."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = data[:head_end].split(b"\r\n")
    if not lines[0].startswith(b"WARC/"):
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            return None
        fields[name.strip().lower().decode("latin-1")] = value.strip().decode("utf-8", "replace")
    try:
        length = int(fields["content-length"])
    except (KeyError, ValueError):
        return None
    block = data[head_end + 4 :]
    if len(block) != length + 4 or not block.endswith(b"\r\n\r\n"):
        return None
    if "warc-type" not in fields or "warc-record-id" not in fields:
        return None
    return fields["warc-type"], fields["warc-record-id"], fields.get("warc-concurrent-to")
