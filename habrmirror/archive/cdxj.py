"""CDXJ indexes of finished WARC files (``DIR/indexes/NAME.cdxj``), so pywb, ReplayWeb.page and WACZ packing
find every record by URL.

Two ways to the same bytes. A crawl collects each record's line as it writes the record (:class:`CdxjLines`;
it knows every field then) and writes them sorted when the file closes; any other WARC (one repaired after a
crash, ``reindex``) is read back by cdxj-indexer (:func:`write_cdxj`). A test holds the two byte-identical on a
crawl with responses, revisits, redirects and 404s. Why two: reading a finished file back cost the crawl 0.65 s
at close on the 2,000-post benchmark (warcio parses every header in Python); collecting costs ~0.05 s.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import surt
from warcio.timeutils import iso_date_to_timestamp

from habrmirror.archive.atomic import write_atomic
from habrmirror.archive.warc import HttpExchange, WrittenExchange, warc_date

_MIME_END = re.compile(r"[;\s]")  # cdxj-indexer's RE_SPACE: the media type ends at a parameter or a space


def cdxj_path(warc_path: Path, cdxj_dir: Path) -> Path:
    """``warc/x.warc.gz`` -> ``indexes/x.cdxj``."""
    return cdxj_dir / (warc_path.name.removesuffix(".warc.gz") + ".cdxj")


def cdxj_line(
    url: str,
    warc_date: str,
    status: int,
    content_type: str | None,
    revisit: bool,
    payload_digest: str,
    offset: int,
    length: int,
    filename: str,
) -> str:
    """The line cdxj-indexer writes for one response or revisit record (fields in its order, its JSON style)."""
    index: dict[str, str] = {"url": url}
    if revisit:
        index["mime"] = "warc/revisit"
    elif content_type is not None:
        index["mime"] = _MIME_END.split(content_type, 1)[0].strip() if content_type else content_type
    index["status"] = str(status)
    index["digest"] = payload_digest
    index["length"] = str(length)
    index["offset"] = str(offset)
    index["filename"] = filename
    try:
        urlkey = surt.surt(url)
    except Exception:  # cdxj-indexer falls back the same way
        urlkey = url
    return f"{urlkey} {iso_date_to_timestamp(warc_date)} {json.dumps(index)}\n"


class CdxjLines:
    """The CDXJ lines of the WARC files a crawl has open, by file name, until each file is closed."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add_exchange(self, exchange: HttpExchange, written: WrittenExchange) -> None:
        """The line of the response (or revisit) record :meth:`WarcWriter.write_exchange` just wrote."""
        pointer = written.response
        warc_name = pointer.filename.rsplit("/", 1)[-1]
        content_type = next(
            (value for name, value in exchange.response_headers if name.lower() == "content-type"), None
        )
        line = cdxj_line(
            exchange.url,
            warc_date(exchange.fetched_at),  # the record's WARC-Date
            exchange.status,
            content_type,
            written.revisit_of is not None,
            written.payload_digest,
            pointer.offset,
            pointer.length,
            warc_name,
        )
        self._lines.setdefault(warc_name, []).append(line)

    def write(self, warc_path: Path, cdxj_dir: Path) -> Path:
        """Write the file's index from the collected lines; a file this crawl did not write (one repaired
        after a crash) has none and is read back by cdxj-indexer instead."""
        lines = self._lines.pop(warc_path.name, None)
        if not lines:
            return write_cdxj(warc_path, cdxj_dir)
        lines.sort()  # cdxj-indexer's order: the whole lines, as strings
        target = cdxj_path(warc_path, cdxj_dir)
        write_atomic(target, "".join(lines).encode("utf-8"))
        return target


def write_cdxj(warc_path: Path, cdxj_dir: Path) -> Path:
    """Index one WARC file (sorted CDXJ, filename relative to its warc/ folder), written atomically.

    No ``post_append``: the crawl sends only GETs, and that option makes cdxj-indexer buffer every request
    record (4x slower for the same lines, measured on a 2,000-article WARC).
    """
    from cdxj_indexer.main import write_cdx_index  # 0.1 s of imports (pyamf, pkg_resources): only here

    buffer = io.StringIO()
    write_cdx_index(buffer, [str(warc_path)], {"sort": True})
    target = cdxj_path(warc_path, cdxj_dir)
    write_atomic(target, buffer.getvalue().encode("utf-8"))
    return target
