"""Read WARC files written by :mod:`habrmirror.archive.warc`: iterate records with their gzip-member offsets,
or fetch the one record a :class:`~habrmirror.items.WarcPointer` names.

This is the way back in the data flow (WARC records -> page parsers -> rebuilt index): ``verify`` and
``reindex`` use it, and so does crash repair (:func:`iter_gzip_members`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders

from habrmirror.items import WarcPointer

OPEN_SUFFIX = ".open"  # a WARC still being written is NAME.warc.gz.open; pointers name NAME.warc.gz
_READ_CHUNK = 1 << 20

try:  # brotli is optional: Habr serves gzip to clients that do not ask for br
    import brotli as _brotli
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None


class RecordMismatch(ValueError):
    """The bytes at a pointer are not one whole gzip member holding the record the pointer names."""


class UnsupportedEncoding(ValueError):
    """A Content-Encoding this module cannot remove (e.g. ``br`` without the brotli package)."""


@dataclass
class RecordAt:
    """One record of a WARC file and where it is: ``offset``/``length`` of its gzip member in the file.

    ``record.raw_stream`` is re-readable: it is a buffer over ``payload`` (the block after the HTTP headers,
    as stored: content-encoding kept).
    """

    offset: int
    length: int
    record: ArcWarcRecord
    payload: bytes

    @property
    def rec_type(self) -> str:
        return str(self.record.rec_type)

    @property
    def record_id(self) -> str:
        return str(self.record.rec_headers.get_header("WARC-Record-ID"))


@dataclass
class StoredRecord:
    """A record read back at a pointer: WARC headers, HTTP status line + headers, payload as stored."""

    warc_headers: StatusAndHeaders
    http_headers: StatusAndHeaders | None  # None for records without HTTP (warcinfo)
    payload: bytes  # still content-encoded; empty for a revisit

    @property
    def rec_type(self) -> str:
        return str(self.warc_headers.get_header("WARC-Type"))

    @property
    def record_id(self) -> str:
        return str(self.warc_headers.get_header("WARC-Record-ID"))

    @property
    def target_uri(self) -> str | None:
        return self.warc_headers.get_header("WARC-Target-URI")

    @property
    def warc_date(self) -> str | None:
        return self.warc_headers.get_header("WARC-Date")

    @property
    def status(self) -> int | None:
        """HTTP status code of a response or revisit record."""
        if self.http_headers is None or self.rec_type not in ("response", "revisit"):
            return None
        return int(self.http_headers.get_statuscode())


def iter_records(path: Path) -> Iterator[RecordAt]:
    """Every record of a ``.warc.gz`` file, in order, with its gzip member's offset and length.

    Each payload is read into memory (records here are single pages or images) so the offset and length,
    which warcio only knows once the record was read to its end, can come with a usable record.
    """
    with open(path, "rb") as handle:
        iterator = ArchiveIterator(handle)
        for record in iterator:
            payload = record.raw_stream.read()
            iterator.read_to_end()
            offset, length = iterator.get_record_offset(), iterator.get_record_length()
            record.raw_stream = BytesIO(payload)
            yield RecordAt(offset=offset, length=length, record=record, payload=payload)


def resolve_pointer_path(archive_dir: Path, pointer: WarcPointer) -> Path:
    """The file a pointer is into: its final name, or ``NAME.open`` while that file is still being written."""
    final = archive_dir / pointer.filename
    if final.exists():
        return final
    still_open = final.with_name(final.name + OPEN_SUFFIX)
    return still_open if still_open.exists() else final


def read_record(archive_dir: Path, pointer: WarcPointer) -> StoredRecord:
    """The record at ``pointer``: ``length`` bytes at ``offset``, gunzipped as exactly one gzip member.

    Raises :class:`RecordMismatch` when those bytes are not one complete member holding the named record.
    """
    with open(resolve_pointer_path(archive_dir, pointer), "rb") as handle:
        handle.seek(pointer.offset)
        member = handle.read(pointer.length)
    if len(member) != pointer.length:
        raise RecordMismatch(
            f"{pointer.filename}: only {len(member)} of {pointer.length} bytes at {pointer.offset}"
        )
    decompressor = zlib.decompressobj(wbits=31)
    try:
        data = decompressor.decompress(member)
    except zlib.error as error:
        raise RecordMismatch(f"{pointer.filename}@{pointer.offset}: not a gzip member ({error})") from None
    if not decompressor.eof or decompressor.unused_data:
        raise RecordMismatch(
            f"{pointer.filename}@{pointer.offset}: length {pointer.length} is not one gzip member"
        )
    record = ArcWarcRecordLoader().parse_record_stream(BytesIO(data), known_format="warc")
    stored = StoredRecord(record.rec_headers, record.http_headers, record.raw_stream.read())
    if stored.record_id != pointer.record_id:
        raise RecordMismatch(
            f"{pointer.filename}@{pointer.offset}: holds {stored.record_id}, expected {pointer.record_id}"
        )
    return stored


def decoded_payload(stored: StoredRecord, max_size: int | None = None) -> bytes:
    """The payload with its Content-Encoding removed (gzip, x-gzip, deflate, br, identity; last first).

    With ``max_size``, raises :class:`DecodedTooLarge` rather than inflate past it (see :func:`decode_content`).
    """
    if stored.http_headers is None:
        return stored.payload
    return decode_content(stored.payload, stored.http_headers.get_header("Content-Encoding"), max_size)


class DecodedTooLarge(ValueError):
    """A body that decodes to more than the limit it was decoded under; decoding stopped there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"decodes to more than {limit} bytes")
        self.limit = limit


def decode_content(data: bytes, content_encoding: str | None, max_size: int | None = None) -> bytes:
    """``data`` with the codings of a ``Content-Encoding`` header removed, last applied first.

    With ``max_size``, every coding is inflated incrementally and stops one byte past ``max_size``, raising
    :class:`DecodedTooLarge`: a gzip bomb (1 GB of zeros is a 1 MB body) costs at most about ``max_size``
    of memory, never what it would inflate to. An identity body longer than ``max_size`` raises too.
    """
    for coding in reversed(
        [part.strip().lower() for part in (content_encoding or "").split(",") if part.strip()]
    ):
        data = _decode(coding, data, max_size)
    if max_size is not None and len(data) > max_size:
        raise DecodedTooLarge(max_size)
    return data


def _decode(coding: str, data: bytes, max_size: int | None) -> bytes:
    if coding == "identity":
        return data
    if coding in ("gzip", "x-gzip"):
        return _gunzip_all(data, max_size)
    if coding == "deflate":
        # RFC 9110 "deflate" is zlib-wrapped, but servers have long sent raw deflate too.
        try:
            return _inflate(data, zlib.MAX_WBITS, max_size)
        except zlib.error:
            return _inflate(data, -zlib.MAX_WBITS, max_size)
    if coding == "br":
        if _brotli is None:
            raise UnsupportedEncoding("Content-Encoding br needs the brotli package")
        return _unbrotli(data, max_size)
    raise UnsupportedEncoding(f"unsupported Content-Encoding {coding!r}")


def _budget(max_size: int | None, produced: int) -> int:
    """The ``max_length`` for the next inflate call: one byte past the limit, so passing it is seen."""
    return 0 if max_size is None else max(1, max_size + 1 - produced)


def _inflate_member(
    decompressor: Any, data: bytes, max_size: int | None, parts: list[bytes], produced: int
) -> int:
    """Feed ``data`` to a zlib decompressor, appending its output to ``parts``; the new total produced."""
    pending = data
    while True:
        chunk = decompressor.decompress(pending, _budget(max_size, produced))
        parts.append(chunk)
        produced += len(chunk)
        if max_size is not None and produced > max_size:
            raise DecodedTooLarge(max_size)
        pending = decompressor.unconsumed_tail
        if not pending:
            return produced


def _inflate(data: bytes, wbits: int, max_size: int | None) -> bytes:
    decompressor = zlib.decompressobj(wbits=wbits)
    parts: list[bytes] = []
    _inflate_member(decompressor, data, max_size, parts, 0)
    parts.append(decompressor.flush())
    return _joined(parts)


def _gunzip_all(data: bytes, max_size: int | None) -> bytes:
    """Gunzip every concatenated member (a valid gzip stream may have several)."""
    parts: list[bytes] = []
    produced = 0
    while data:
        decompressor = zlib.decompressobj(wbits=31)
        produced = _inflate_member(decompressor, data, max_size, parts, produced)
        if not decompressor.eof:
            raise zlib.error("truncated gzip body")
        data = decompressor.unused_data
    return _joined(parts)


def _unbrotli(data: bytes, max_size: int | None) -> bytes:
    assert _brotli is not None
    if max_size is None:
        return bytes(_brotli.decompress(data))
    decompressor = _brotli.Decompressor()
    parts: list[bytes] = []
    produced = 0
    pending = data
    while True:
        chunk = bytes(decompressor.process(pending, output_buffer_limit=_budget(max_size, produced)))
        pending = b""  # the decompressor keeps what it did not use; later calls only drain it
        parts.append(chunk)
        produced += len(chunk)
        if produced > max_size:
            raise DecodedTooLarge(max_size)
        if decompressor.is_finished():
            return _joined(parts)
        if not chunk and decompressor.can_accept_more_data():
            raise _brotli.error("truncated brotli body")


def _joined(parts: list[bytes]) -> bytes:
    """One bytes object; the usual single part is returned as is (no second copy of a large page)."""
    parts = [part for part in parts if part]
    return parts[0] if len(parts) == 1 else b"".join(parts)


@dataclass
class GzipMember:
    """One whole gzip member: where it is and what it decompresses to."""

    offset: int
    length: int
    data: bytes


@dataclass
class GzipDamage:
    """Where a scan of gzip members stopped: a corrupt member, or the file ending inside one."""

    offset: int
    kind: str  # "gzip" (bad deflate data or CRC) or "truncated"
    message: str


def scan_gzip_members(handle: BinaryIO, start: int = 0) -> Iterator[GzipMember | GzipDamage]:
    """Each gzip member from ``start`` on, streamed; at the first damaged one, a :class:`GzipDamage`, then stop.

    Crash repair keeps the prefix of whole members (:func:`iter_gzip_members`); verify reports the damage and
    scans on from the next member it can find.
    """
    handle.seek(start)
    offset = start
    pending = b""
    while True:
        if not pending:
            pending = handle.read(_READ_CHUNK)
            if not pending:
                return
        decompressor = zlib.decompressobj(wbits=31)
        out: list[bytes] = []
        consumed = 0
        while True:
            try:
                out.append(decompressor.decompress(pending))
            except zlib.error as error:
                yield GzipDamage(offset, "gzip", f"gzip member does not decompress ({error})")
                return
            if decompressor.eof:
                consumed += len(pending) - len(decompressor.unused_data)
                pending = decompressor.unused_data
                break
            consumed += len(pending)
            pending = handle.read(_READ_CHUNK)
            if not pending:
                yield GzipDamage(offset, "truncated", f"file ends inside a gzip member ({consumed} bytes in)")
                return
        yield GzipMember(offset, consumed, b"".join(out))
        offset += consumed


def iter_gzip_members(handle: BinaryIO, start: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, length, decompressed bytes)`` of each complete gzip member from ``start`` on, stopping quietly
    at the end of the file or at the first truncated or corrupt member (crash repair keeps exactly that prefix).
    """
    for item in scan_gzip_members(handle, start):
        if isinstance(item, GzipDamage):
            return
        yield item.offset, item.length, item.data
