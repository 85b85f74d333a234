"""Local copies of archived images for the static mirror: image URL -> WARC record -> ``SITE/img/<digest>.<ext>``.

Place in the flow: the offline way back (WARC records -> site). Records are found through the CDXJ of each
finished WARC (``DIR/indexes/*.cdxj``: a line per response, no payload read); a WARC without one (still
``.open``, or CDXJ switched off) is scanned record by record. A file is named from the SHA-256 of the bytes it
holds and its type from those bytes (magic numbers), never from the URL, so no URL can choose a path.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from urllib.parse import urljoin

from w3lib.url import safe_url_string
from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders

from habrmirror.archive.reader import (
    OPEN_SUFFIX,
    DecodedTooLarge,
    UnsupportedEncoding,
    decode_content,
    iter_records,
)

MAX_IMAGE_BYTES = 50 << 20  # a decoded image larger than this is not copied (a gzip bomb costs at most this)
MAX_REDIRECTS = 5
IMAGE_DIR = "img"

# An SVG is a document: opened on its own (not through <img>) its scripts run with the site's origin.
_ACTIVE_SVG = re.compile(rb"<script|<foreignobject|\son[a-z]+\s*=|javascript:|<iframe|<embed|<object", re.I)


def image_extension(data: bytes) -> str | None:
    """The file extension of an image from its first bytes (PNG, JPEG, GIF, WebP, AVIF, BMP, ICO, SVG), else None."""
    head = data[:512]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "avif"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ico"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in data[:4096].lower():
        return "svg"
    return None


@dataclass(frozen=True)
class RecordRef:
    """Where one response is: a gzip member of a WARC file (no record id: found by offset, read whole)."""

    path: Path
    offset: int
    length: int
    status: int
    digest: str  # WARC-Payload-Digest (a revisit's original has the same)
    revisit: bool

    @property
    def key(self) -> str:
        return f"{self.path.name}:{self.offset}"


def _url_keys(url: str) -> list[str]:
    """The forms a URL may be recorded under: as written, and as Scrapy escapes it for the request."""
    return list(dict.fromkeys((url, safe_url_string(url))))


class ImageRecords:
    """Every response record of an archive by target URL, newest last; resolves redirects and revisits."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.by_url: dict[str, RecordRef] = {}
        self.by_digest: dict[str, RecordRef] = {}
        self.scanned_files = 0
        for path in sorted((archive / "warc").glob("*.warc.gz*")):
            if not path.name.endswith((".warc.gz", ".warc.gz" + OPEN_SUFFIX)):
                continue
            cdxj = archive / "indexes" / (path.name.removesuffix(".warc.gz") + ".cdxj")
            refs = self._from_cdxj(cdxj, path) if cdxj.exists() else self._from_scan(path)
            for url, ref in refs:
                self.by_url[url] = ref
                if not ref.revisit and 200 <= ref.status < 300:
                    self.by_digest.setdefault(ref.digest, ref)

    @staticmethod
    def _from_cdxj(cdxj: Path, warc: Path) -> Iterator[tuple[str, RecordRef]]:
        with cdxj.open("rb") as handle:
            for line in handle:
                try:
                    fields = json.loads(line.split(b" ", 2)[2])
                    yield (
                        fields["url"],
                        RecordRef(
                            warc,
                            int(fields["offset"]),
                            int(fields["length"]),
                            int(fields.get("status") or 0),
                            fields.get("digest", ""),
                            fields.get("mime") == "warc/revisit",
                        ),
                    )
                except (IndexError, KeyError, ValueError):
                    continue  # a line some other tool wrote differently: that record is not found by URL

    def _from_scan(self, path: Path) -> Iterator[tuple[str, RecordRef]]:
        self.scanned_files += 1
        for item in iter_records(path):
            if item.rec_type not in ("response", "revisit") or item.record.http_headers is None:
                continue
            headers = item.record.rec_headers
            yield (
                str(headers.get_header("WARC-Target-URI")),
                RecordRef(
                    path,
                    item.offset,
                    item.length,
                    int(item.record.http_headers.get_statuscode() or 0),
                    headers.get_header("WARC-Payload-Digest") or "",
                    item.rec_type == "revisit",
                ),
            )

    def find(self, url: str) -> RecordRef | None:
        """The 2xx record holding the bytes of ``url``: redirects followed, a revisit resolved to its original."""
        for candidate in _url_keys(url):
            current = candidate
            for _ in range(MAX_REDIRECTS + 1):
                ref = self.by_url.get(current)
                if ref is None:
                    break
                if ref.revisit:
                    original = self.by_digest.get(ref.digest)
                    if original is not None:
                        return original
                    break
                if 200 <= ref.status < 300:
                    return ref
                if 300 <= ref.status < 400:
                    headers, _ = read_member(ref)
                    location = headers.get_header("Location") if headers else None
                    if not location:
                        break
                    current = urljoin(current, location)
                    continue
                break
        return None


def read_member(ref: RecordRef) -> tuple[StatusAndHeaders | None, bytes]:
    """The HTTP headers and payload (as stored: content-encoding kept) of the record at ``ref``."""
    path = ref.path if ref.path.exists() else ref.path.with_name(ref.path.name + OPEN_SUFFIX)
    with open(path, "rb") as handle:
        handle.seek(ref.offset)
        member = handle.read(ref.length)
    data = zlib.decompressobj(wbits=31).decompress(member)
    record = ArcWarcRecordLoader().parse_record_stream(BytesIO(data), known_format="warc")
    return record.http_headers, record.raw_stream.read()


@dataclass
class ImageFile:
    """An image copied into the site: its path relative to the site root, or why it could not be."""

    path: str | None
    error: str | None = None


def extract_image(ref: RecordRef, site: Path, write: Callable[[str, bytes], None]) -> ImageFile:
    """Decode the record's payload and write it to ``img/<sha256>.<ext>`` (once: same bytes, same file)."""
    try:
        headers, payload = read_member(ref)
        encoding = headers.get_header("Content-Encoding") if headers else None
        data = decode_content(payload, encoding, MAX_IMAGE_BYTES)
    except (OSError, zlib.error, DecodedTooLarge, UnsupportedEncoding, ValueError) as error:
        return ImageFile(None, f"unreadable record: {error}")
    extension = image_extension(data)
    if extension is None:
        return ImageFile(None, "not an image format the mirror copies")
    if extension == "svg" and _ACTIVE_SVG.search(data):
        return ImageFile(None, "SVG with active content (script, event handler or embed): not copied")
    relative = f"{IMAGE_DIR}/{hashlib.sha256(data).hexdigest()[:32]}.{extension}"
    if not (site / relative).exists():
        write(relative, data)
    return ImageFile(relative)
