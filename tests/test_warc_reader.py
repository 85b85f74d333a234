"""Reader: records with their member offsets, the record at a pointer, payloads with content-encoding removed."""

from __future__ import annotations

import gzip
import itertools
import zlib
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from habrmirror.archive.reader import (
    RecordMismatch,
    StoredRecord,
    UnsupportedEncoding,
    decoded_payload,
    iter_records,
    read_record,
)
from habrmirror.archive.warc import HttpExchange, WarcWriter, WrittenExchange

HTML = (Path(__file__).parent / "fixtures" / "habr" / "article-tm-724768-browsersaved-2023.html").read_bytes()
FETCHED = datetime(2023, 3, 1, 12, 0, tzinfo=timezone.utc)


def write(root: Path, *bodies: tuple[bytes, str | None], close: bool = True) -> list[WrittenExchange]:
    counter = itertools.count(1)
    writer = WarcWriter(root, clock=lambda: FETCHED, make_record_id=lambda: f"<urn:uuid:{next(counter)}>")
    written = []
    for index, (body, encoding) in enumerate(bodies):
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if encoding:
            headers.append(("Content-Encoding", encoding))
        written.append(
            writer.write_exchange(
                HttpExchange(
                    url=f"https://habr.com/ru/articles/{index}/",
                    method="GET",
                    request_headers=[("Host", "habr.com")],
                    request_body=b"",
                    protocol="HTTP/1.1",
                    status=200,
                    reason="OK",
                    response_headers=headers,
                    body=body,
                    fetched_at=FETCHED,
                )
            )
        )
    if close:
        writer.close()
    return written


def test_iter_records_gives_member_offsets_and_rereadable_payloads(tmp_path: Path) -> None:
    written = write(tmp_path, (HTML, None), (gzip.compress(HTML), "gzip"))
    (path,) = (tmp_path / "warc").iterdir()
    records = list(iter_records(path))
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request", "response", "request"]
    assert records[0].offset == 0
    for before, after in itertools.pairwise(records):
        assert after.offset == before.offset + before.length
    assert records[-1].offset + records[-1].length == path.stat().st_size
    pointers = [p for w in written for p in (w.response, w.request)]
    assert [(r.offset, r.length, r.record_id) for r in records[1:]] == [
        (p.offset, p.length, p.record_id) for p in pointers
    ]
    assert records[1].payload == HTML and records[1].record.raw_stream.read() == HTML
    assert records[1].record.http_headers.statusline == "200 OK"


def test_read_record_returns_headers_and_stored_payload(tmp_path: Path) -> None:
    body = gzip.compress(HTML)
    (written,) = write(tmp_path, (body, "gzip"))
    stored = read_record(tmp_path, written.response)
    assert stored.rec_type == "response" and stored.record_id == written.response.record_id
    assert stored.target_uri == "https://habr.com/ru/articles/0/"
    assert stored.warc_date == "2023-03-01T12:00:00Z"
    assert stored.status == 200
    assert stored.payload == body  # still content-encoded
    assert decoded_payload(stored) == HTML
    request = read_record(tmp_path, written.request)
    assert request.rec_type == "request" and request.status is None
    assert request.warc_headers.get_header("WARC-Concurrent-To") == written.response.record_id


def test_read_record_finds_a_file_still_being_written(tmp_path: Path) -> None:
    (written,) = write(tmp_path, (HTML, None), close=False)
    assert not (tmp_path / written.response.filename).exists()
    assert read_record(tmp_path, written.response).payload == HTML


def test_read_record_rejects_a_wrong_pointer(tmp_path: Path) -> None:
    (written,) = write(tmp_path, (HTML, None))
    with pytest.raises(RecordMismatch, match="expected"):
        read_record(tmp_path, replace(written.response, record_id="<urn:uuid:other>"))
    with pytest.raises(RecordMismatch, match="not one gzip member"):
        read_record(
            tmp_path, replace(written.response, length=written.response.length + written.request.length)
        )
    with pytest.raises(RecordMismatch):
        read_record(tmp_path, replace(written.response, offset=written.response.offset + 1))


def _stored(payload: bytes, encoding: str | None) -> StoredRecord:
    from warcio.statusandheaders import StatusAndHeaders

    headers = [("Content-Encoding", encoding)] if encoding else []
    return StoredRecord(
        StatusAndHeaders("", [("WARC-Type", "response")], protocol="WARC/1.1"),
        StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
        payload,
    )


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZIP", lambda b: gzip.compress(b[:100]) + gzip.compress(b[100:])),  # two members
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b, wbits=-15)),  # raw deflate, as some servers send
        ("gzip, deflate", lambda b: zlib.compress(gzip.compress(b))),
    ],
)
def test_decoded_payload(encoding: str | None, encode: object) -> None:
    assert decoded_payload(_stored(encode(HTML), encoding)) == HTML  # type: ignore[operator]


def test_decoded_payload_brotli() -> None:
    brotli = pytest.importorskip("brotli")
    assert decoded_payload(_stored(brotli.compress(HTML), "br")) == HTML


def test_decoded_payload_unknown_encoding() -> None:
    with pytest.raises(UnsupportedEncoding):
        decoded_payload(_stored(b"x", "zstd-future"))
