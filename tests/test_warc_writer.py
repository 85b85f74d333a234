"""WarcWriter: whole records byte for byte, read-back with warcio, rotation, revisits, crash repair.

Expected bytes are built here independently (hashlib + base32), not with the writer's helpers.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import os
import random
import signal
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from habrmirror.archive.digests import DigestIndex
from habrmirror.archive.reader import iter_records, read_record
from habrmirror.archive.warc import HttpExchange, WarcWriter, repair_open_warcs

FIXTURES = Path(__file__).parent / "fixtures" / "habr"
FETCHED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
OPENED = datetime(2024, 5, 6, 7, 8, 0, tzinfo=timezone.utc)
URL = "https://habr.com/ru/articles/568382/?utm=x"
HTML = (FIXTURES / "article-tm-568382-2021.html").read_bytes()
GZ_BODY = gzip.compress(HTML, mtime=0)


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def record_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"<urn:uuid:00000000-0000-0000-0000-{next(counter):012d}>"


def make_writer(root: Path, **kwargs: object) -> WarcWriter:
    return WarcWriter(root, clock=lambda: OPENED, make_record_id=record_ids(), **kwargs)  # type: ignore[arg-type]


def exchange(body: bytes = GZ_BODY, url: str = URL, **changes: object) -> HttpExchange:
    fields: dict[str, object] = dict(
        url=url,
        method="GET",
        request_headers=[
            ("Host", "habr.com"),
            ("User-Agent", "habrmirror-test"),
            ("Accept-Encoding", "gzip"),
        ],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=[
            ("Server", "QRATOR"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(body))),
        ],
        body=body,
        fetched_at=FETCHED,
        ip_address="178.248.237.68",
    )
    fields.update(changes)
    return HttpExchange(**fields)  # type: ignore[arg-type]


def warc_record(fields: list[tuple[str, str]], block: bytes) -> bytes:
    head = "WARC/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def members(path: Path) -> list[bytes]:
    """Decompressed gzip members of a file, one per record."""
    data, out = path.read_bytes(), []
    while data:
        decompressor = zlib.decompressobj(wbits=31)
        out.append(decompressor.decompress(data))
        assert decompressor.eof
        data = decompressor.unused_data
    return out


def warcio_check(*paths: Path) -> None:
    """``warcio check`` (digests of every record) must pass, with nothing on stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "digest pass" in result.stdout


def warc_files(root: Path) -> list[Path]:
    return sorted((root / "warc").iterdir())


# --- exact bytes ---------------------------------------------------------------------------------------


def test_exchange_is_written_byte_for_byte(tmp_path: Path) -> None:
    with make_writer(tmp_path, warcinfo={"operator": "tests"}) as writer:
        written = writer.write_exchange(exchange(), extra_headers={"WARC-Habrmirror-Article": "568382"})
    (path,) = warc_files(tmp_path)
    assert path.name == f"habrmirror-20240506070800-00000-{os.getpid()}.warc.gz"

    info_block = (
        b"software: habrmirror/0.1.0\r\n"
        b"format: WARC File Format 1.1\r\n"
        b"conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n"
        b"robots: obey\r\n"
        b"operator: tests\r\n"
    )
    warcinfo = warc_record(
        [
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", "<urn:uuid:00000000-0000-0000-0000-000000000003>"),
            ("WARC-Date", "2024-05-06T07:08:00Z"),
            ("WARC-Filename", path.name),
            ("WARC-Block-Digest", sha1_b32(info_block)),
            ("Content-Type", "application/warc-fields"),
            ("Content-Length", str(len(info_block))),
        ],
        info_block,
    )
    response_block = (
        b"HTTP/1.1 200 OK\r\n"
        b"Server: QRATOR\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"Content-Encoding: gzip\r\n"
        b"Content-Length: " + str(len(GZ_BODY)).encode() + b"\r\n\r\n" + GZ_BODY
    )
    response = warc_record(
        [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", "<urn:uuid:00000000-0000-0000-0000-000000000001>"),
            ("WARC-Date", "2024-05-06T07:08:09.123456Z"),
            ("WARC-Target-URI", URL),
            ("WARC-IP-Address", "178.248.237.68"),
            ("WARC-Habrmirror-Article", "568382"),
            ("WARC-Payload-Digest", sha1_b32(GZ_BODY)),
            ("WARC-Block-Digest", sha1_b32(response_block)),
            ("Content-Type", "application/http; msgtype=response"),
            ("Content-Length", str(len(response_block))),
        ],
        response_block,
    )
    request_block = (
        b"GET /ru/articles/568382/?utm=x HTTP/1.1\r\n"
        b"Host: habr.com\r\nUser-Agent: habrmirror-test\r\nAccept-Encoding: gzip\r\n\r\n"
    )
    request = warc_record(
        [
            ("WARC-Type", "request"),
            ("WARC-Record-ID", "<urn:uuid:00000000-0000-0000-0000-000000000002>"),
            ("WARC-Date", "2024-05-06T07:08:09.123456Z"),
            ("WARC-Target-URI", URL),
            ("WARC-IP-Address", "178.248.237.68"),
            ("WARC-Concurrent-To", "<urn:uuid:00000000-0000-0000-0000-000000000001>"),
            ("WARC-Payload-Digest", sha1_b32(b"")),
            ("WARC-Block-Digest", sha1_b32(request_block)),
            ("Content-Type", "application/http; msgtype=request"),
            ("Content-Length", str(len(request_block))),
        ],
        request_block,
    )
    assert members(path) == [warcinfo, response, request]
    assert written.payload_digest == sha1_b32(GZ_BODY)
    assert written.revisit_of is None and written.content_pointer == written.response
    assert written.response.filename == f"warc/{path.name}"
    assert written.response.record_id == "<urn:uuid:00000000-0000-0000-0000-000000000001>"
    warcio_check(path)


def test_each_record_is_its_own_member_at_the_chosen_level(tmp_path: Path) -> None:
    with make_writer(tmp_path, gzip_level=1) as writer:
        written = writer.write_exchange(exchange(body=HTML, response_headers=[("Content-Type", "text/html")]))
    data = warc_files(tmp_path)[0].read_bytes()
    for pointer in (written.response, written.request):
        member = data[pointer.offset : pointer.offset + pointer.length]
        assert member[:2] == b"\x1f\x8b"
        assert member[8] == 4  # XFL 4: "fastest" -- level 1 was used, not warcio's 9
        record = gzip.decompress(member)
        assert pointer.record_id.encode() in record.split(b"\r\n\r\n", 1)[0]
    assert written.request.offset == written.response.offset + written.response.length
    assert written.request.offset + written.request.length == len(data)


# --- read back with warcio -----------------------------------------------------------------------------


def test_read_back_with_archive_iterator(tmp_path: Path) -> None:
    bodies = [GZ_BODY, HTML[:5000], b""]
    with make_writer(tmp_path) as writer:
        for index, body in enumerate(bodies):
            writer.write_exchange(
                exchange(
                    body=body,
                    url=f"https://habr.com/ru/articles/{index}/",
                    status=404 if not body else 200,
                    reason="Not Found" if not body else "OK",
                    response_headers=[("Content-Type", "text/html"), ("X-Order", "b"), ("X-Order", "a")],
                )
            )
    (path,) = warc_files(tmp_path)
    with open(path, "rb") as handle:
        records = []
        for record in ArchiveIterator(handle):
            records.append((record.rec_headers, record.http_headers, record.raw_stream.read()))
    assert [r[0].get_header("WARC-Type") for r in records] == ["warcinfo"] + ["response", "request"] * 3
    for index, body in enumerate(bodies):
        (resp_warc, resp_http, payload), (req_warc, req_http, req_payload) = records[
            1 + 2 * index : 3 + 2 * index
        ]
        assert req_warc.get_header("WARC-Concurrent-To") == resp_warc.get_header("WARC-Record-ID")
        assert (
            req_warc.get_header("WARC-Date")
            == resp_warc.get_header("WARC-Date")
            == "2024-05-06T07:08:09.123456Z"
        )
        assert req_warc.get_header("WARC-Target-URI") == f"https://habr.com/ru/articles/{index}/"
        assert resp_http.protocol == "HTTP/1.1"
        assert resp_http.statusline == ("200 OK" if body else "404 Not Found")
        assert resp_http.headers == [("Content-Type", "text/html"), ("X-Order", "b"), ("X-Order", "a")]
        assert payload == body
        assert resp_warc.get_header("WARC-Payload-Digest") == sha1_b32(body)
        block = resp_http.to_bytes() + body
        assert resp_warc.get_header("WARC-Block-Digest") == sha1_b32(block)
        assert req_http.protocol == "GET" and req_http.statusline == f"/ru/articles/{index}/ HTTP/1.1"
        assert req_http.get_header("Host") == "habr.com"
        assert req_payload == b""
    warcio_check(path)


def test_reason_defaults_to_the_standard_phrase(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        written = writer.write_exchange(exchange(body=b"gone", status=410, reason=""))
    stored = read_record(tmp_path, written.response)
    assert stored.http_headers is not None
    assert stored.http_headers.protocol == "HTTP/1.1"
    assert stored.http_headers.statusline == "410 Gone"


def test_latin1_header_bytes_round_trip(tmp_path: Path) -> None:
    # Wire bytes decoded as latin-1 (what the Scrapy glue does) must be stored as the original bytes.
    wire_value = 'attachment; filename="статья.html"'.encode().decode("latin-1")
    with make_writer(tmp_path) as writer:
        written = writer.write_exchange(
            exchange(body=b"x", response_headers=[("Content-Disposition", wire_value)])
        )
    record = members(warc_files(tmp_path)[0])[1]
    assert 'Content-Disposition: attachment; filename="статья.html"\r\n'.encode() in record
    warcio_check(warc_files(tmp_path)[0])
    stored = read_record(tmp_path, written.response)  # warcio decodes header text as UTF-8 first
    assert stored.http_headers is not None
    assert stored.http_headers.get_header("Content-Disposition") == 'attachment; filename="статья.html"'


def test_dechunked_body_is_noted_and_transfer_encoding_dropped(tmp_path: Path) -> None:
    headers = [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]
    with make_writer(tmp_path) as writer:
        written = writer.write_exchange(exchange(response_headers=headers, dechunked=True))
        plain = writer.write_exchange(exchange(body=b"plain", response_headers=[("Content-Length", "5")]))
    chunked = read_record(tmp_path, written.response)
    assert chunked.warc_headers.get_header("WARC-Habrmirror-Dechunked") == "chunked"
    assert chunked.http_headers is not None
    assert chunked.http_headers.headers == [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    assert chunked.payload == GZ_BODY
    assert chunked.warc_headers.get_header("WARC-Payload-Digest") == sha1_b32(GZ_BODY)
    assert read_record(tmp_path, plain.response).warc_headers.get_header("WARC-Habrmirror-Dechunked") is None
    warcio_check(*warc_files(tmp_path))


def test_transfer_encoding_passed_without_the_flag_still_counts_as_dechunked(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        written = writer.write_exchange(
            exchange(body=b"abc", response_headers=[("transfer-encoding", "chunked")])
        )
    stored = read_record(tmp_path, written.response)
    assert stored.warc_headers.get_header("WARC-Habrmirror-Dechunked") == "chunked"
    assert stored.http_headers is not None and stored.http_headers.headers == []


def test_extra_headers_cannot_override_what_the_writer_sets(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer, pytest.raises(ValueError, match="WARC-Date"):
        writer.write_exchange(exchange(), extra_headers={"WARC-Date": "2000-01-01T00:00:00Z"})


def test_naive_fetch_time_is_refused(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer, pytest.raises(ValueError, match="timezone"):
        writer.write_exchange(exchange(fetched_at=datetime(2024, 1, 1)))
    assert not (tmp_path / "warc").exists() or warc_files(tmp_path) == []


# --- files: lifecycle and rotation ---------------------------------------------------------------------


def test_no_file_until_the_first_exchange_and_none_open_after_close(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.close()
    assert not (tmp_path / "warc").exists()
    writer = make_writer(tmp_path)
    writer.write_exchange(exchange())
    assert [p.name.endswith(".warc.gz.open") for p in warc_files(tmp_path)] == [True]
    writer.sync()
    writer.close()
    writer.close()
    assert [p.name.endswith(".warc.gz") for p in warc_files(tmp_path)] == [True]


def test_rotation_makes_several_valid_files(tmp_path: Path) -> None:
    rng = random.Random(7)
    bodies = [rng.randbytes(3000) for _ in range(5)]  # incompressible: each exchange is ~3.7 KB gzipped
    closed: list[Path] = []
    with make_writer(tmp_path, max_size=9000, on_close=closed.append) as writer:
        written = [
            writer.write_exchange(exchange(body=b, url=f"https://habr.com/ru/articles/{i}/"))
            for i, b in enumerate(bodies)
        ]
    files = warc_files(tmp_path)
    assert files == closed
    assert len(files) == 3  # 2 + 2 + 1 exchanges: a third would pass 9000 bytes
    assert all(p.name.endswith(".warc.gz") for p in files)
    assert all(p.stat().st_size <= 9000 for p in files)
    assert [p.name.split("-")[2] for p in files] == ["00000", "00001", "00002"]
    for path in files:
        first = members(path)[0]
        assert b"WARC-Type: warcinfo\r\n" in first and f"WARC-Filename: {path.name}\r\n".encode() in first
    assert [w.response.filename for w in written] == [f"warc/{files[i].name}" for i in (0, 0, 1, 1, 2)]
    for pointer, body in zip((w.response for w in written), bodies, strict=True):
        assert read_record(tmp_path, pointer).payload == body
    warcio_check(*files)


def test_an_exchange_bigger_than_max_size_gets_a_file_of_its_own(tmp_path: Path) -> None:
    with make_writer(tmp_path, max_size=100) as writer:
        writer.write_exchange(exchange())
        writer.write_exchange(exchange(url="https://habr.com/ru/articles/2/"))
    assert len(warc_files(tmp_path)) == 2


def test_new_writer_does_not_clobber_existing_files(tmp_path: Path) -> None:
    for _ in range(2):
        with make_writer(tmp_path) as writer:  # same fixed clock: same stamp, so the serial must move on
            writer.write_exchange(exchange())
    assert [p.name.split("-")[2] for p in warc_files(tmp_path)] == ["00000", "00001"]


def test_pointers_read_back_exactly_their_member(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        written = [writer.write_exchange(exchange(body=HTML[i * 1000 : i * 1000 + 1000])) for i in range(4)]
    (path,) = warc_files(tmp_path)
    data = path.read_bytes()
    at = {r.offset: r for r in iter_records(path)}
    for item in written:
        for pointer in (item.response, item.request):
            member = data[pointer.offset : pointer.offset + pointer.length]
            decompressor = zlib.decompressobj(wbits=31)
            record = decompressor.decompress(member)
            assert decompressor.eof and decompressor.unused_data == b""
            assert f"WARC-Record-ID: {pointer.record_id}\r\n".encode() in record
            assert at[pointer.offset].length == pointer.length
            assert at[pointer.offset].record_id == pointer.record_id


# --- revisits ------------------------------------------------------------------------------------------


def test_second_identical_payload_becomes_a_revisit(tmp_path: Path) -> None:
    digests = DigestIndex(tmp_path)
    with make_writer(tmp_path, digests=digests) as writer:
        first = writer.write_exchange(exchange())
        later = datetime(2024, 5, 7, tzinfo=timezone.utc)
        second = writer.write_exchange(exchange(url="https://habr.com/ru/articles/568382/", fetched_at=later))
        not_ok = writer.write_exchange(exchange(status=404, reason="Not Found"))
    assert first.revisit_of is None and not_ok.revisit_of is None
    assert second.revisit_of == first.response
    assert second.content_pointer == first.response
    revisit = read_record(tmp_path, second.response)
    assert revisit.rec_type == "revisit"
    headers = revisit.warc_headers
    assert (
        headers.get_header("WARC-Profile")
        == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    )
    assert headers.get_header("WARC-Refers-To") == first.response.record_id
    assert headers.get_header("WARC-Refers-To-Target-URI") == URL
    assert headers.get_header("WARC-Refers-To-Date") == "2024-05-06T07:08:09.123456Z"
    assert headers.get_header("WARC-Payload-Digest") == sha1_b32(GZ_BODY)
    assert headers.get_header("WARC-Date") == "2024-05-07T00:00:00Z"
    assert revisit.payload == b""
    assert revisit.http_headers is not None and revisit.http_headers.statusline == "200 OK"
    assert revisit.http_headers.get_header("Content-Length") == str(len(GZ_BODY))
    request = read_record(tmp_path, second.request)
    assert request.warc_headers.get_header("WARC-Concurrent-To") == second.response.record_id
    assert read_record(tmp_path, not_ok.response).rec_type == "response"
    warcio_check(*warc_files(tmp_path))
    digests.close()


def test_digest_index_survives_reopen(tmp_path: Path) -> None:
    with make_writer(tmp_path, digests=DigestIndex(tmp_path)) as writer:
        first = writer.write_exchange(exchange())
    writer.digests.close()  # type: ignore[union-attr]
    digests = DigestIndex(tmp_path)
    assert len(digests) == 1
    with make_writer(tmp_path, digests=digests) as writer:
        second = writer.write_exchange(exchange())
    digests.close()
    files = warc_files(tmp_path)
    assert len(files) == 2
    assert second.revisit_of == first.response and second.response.filename == f"warc/{files[1].name}"
    assert read_record(tmp_path, second.response).warc_headers.get_header("WARC-Refers-To") == (
        first.response.record_id
    )
    warcio_check(*files)


def test_entry_not_synced_is_not_persisted(tmp_path: Path) -> None:
    digests = DigestIndex(tmp_path)
    writer = make_writer(tmp_path, digests=digests)
    writer.write_exchange(exchange())
    assert digests.pending_count == 1
    assert DigestIndex(tmp_path).lookup(sha1_b32(GZ_BODY)) is None  # another reader sees nothing yet
    digests.close()  # the process dies before sync(): the entry is gone, the .open file needs repair
    assert DigestIndex(tmp_path).lookup(sha1_b32(GZ_BODY)) is None


def test_sync_persists_entries(tmp_path: Path) -> None:
    digests = DigestIndex(tmp_path)
    writer = make_writer(tmp_path, digests=digests)
    written = writer.write_exchange(exchange())
    writer.sync()
    entry = DigestIndex(tmp_path).lookup(sha1_b32(GZ_BODY))
    assert entry is not None and entry.pointer == written.response  # names the final file, not ".open"
    assert entry.target_uri == URL and entry.warc_date == "2024-05-06T07:08:09.123456Z"
    writer.close()
    digests.close()


def test_no_revisit_to_a_deleted_file(tmp_path: Path) -> None:
    with make_writer(tmp_path, digests=DigestIndex(tmp_path)) as writer:
        writer.write_exchange(exchange())
    writer.digests.close()  # type: ignore[union-attr]
    for path in warc_files(tmp_path):
        path.unlink()
    digests = DigestIndex(tmp_path)
    with make_writer(tmp_path, digests=digests) as writer:
        written = writer.write_exchange(exchange())
    digests.close()
    assert written.revisit_of is None
    assert read_record(tmp_path, written.response).payload == GZ_BODY


# --- crash repair --------------------------------------------------------------------------------------


def _reference_file(tmp_path: Path, count: int = 4) -> tuple[bytes, list[int], list[int]]:
    """A closed WARC of ``count`` exchanges: its bytes, where each exchange's request starts and ends."""
    root = tmp_path / "reference"
    with make_writer(root) as writer:
        written = [
            writer.write_exchange(exchange(body=HTML[i * 7000 : (i + 1) * 7000], url=f"https://habr.com/{i}"))
            for i in range(count)
        ]
    data = warc_files(root)[0].read_bytes()
    return data, [w.request.offset for w in written], [w.request.offset + w.request.length for w in written]


def _urls(path: Path) -> list[str]:
    return [
        r.record.rec_headers.get_header("WARC-Target-URI")
        for r in iter_records(path)
        if r.rec_type in ("response", "revisit")
    ]


@pytest.mark.parametrize(
    ("where", "kept"),
    [
        ("whole", 4),
        ("end_of_exchange_2", 2),
        ("between_response_and_request_2", 1),
        ("inside_response_3", 2),
        ("inside_request_1", 0),
        ("one_byte_short", 3),
        ("garbage_after_exchange_3", 3),
        ("after_warcinfo", 0),
    ],
)
def test_repair_keeps_exactly_the_complete_exchanges(tmp_path: Path, where: str, kept: int) -> None:
    data, request_starts, exchange_ends = _reference_file(tmp_path)
    decompressor = zlib.decompressobj(wbits=31)
    decompressor.decompress(data)
    warcinfo_end = len(data) - len(decompressor.unused_data)
    cut = {
        "whole": data,
        "end_of_exchange_2": data[: exchange_ends[1]],
        "between_response_and_request_2": data[: request_starts[1]],
        "inside_response_3": data[: exchange_ends[1] + 700],
        "inside_request_1": data[: request_starts[0] + 20],
        "one_byte_short": data[:-1],
        "garbage_after_exchange_3": data[: exchange_ends[2]]
        + data[request_starts[3] : request_starts[3] + 50],
        "after_warcinfo": data[:warcinfo_end],
    }[where]
    warc_dir = tmp_path / "archive" / "warc"
    warc_dir.mkdir(parents=True)
    (warc_dir / "crashed.warc.gz.open").write_bytes(cut)

    assert repair_open_warcs(warc_dir) == [warc_dir / "crashed.warc.gz"]
    assert sorted(p.name for p in warc_dir.iterdir()) == ["crashed.warc.gz"]
    repaired = warc_dir / "crashed.warc.gz"
    expected_end = ([warcinfo_end] + exchange_ends)[kept]
    assert repaired.read_bytes() == data[:expected_end]
    assert _urls(repaired) == [f"https://habr.com/{i}" for i in range(kept)]
    warcio_check(repaired)


def test_repair_stops_at_a_corrupt_member(tmp_path: Path) -> None:
    data, request_starts, exchange_ends = _reference_file(tmp_path)
    broken = bytearray(data)
    broken[exchange_ends[1] + 300] ^= 0xFF  # inside exchange 3's response member: CRC or deflate error
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    (warc_dir / "x.warc.gz.open").write_bytes(bytes(broken))
    (repaired,) = repair_open_warcs(warc_dir)
    assert repaired.read_bytes() == data[: exchange_ends[1]]
    warcio_check(repaired)


def test_repair_removes_a_file_without_a_complete_warcinfo(tmp_path: Path) -> None:
    data, _, _ = _reference_file(tmp_path, count=1)
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    (warc_dir / "a.warc.gz.open").write_bytes(data[:40])
    (warc_dir / "b.warc.gz.open").write_bytes(b"")
    (warc_dir / "done.warc.gz").write_bytes(data)
    assert repair_open_warcs(warc_dir) == []
    assert [p.name for p in warc_dir.iterdir()] == ["done.warc.gz"]


def test_repair_after_kill_9(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from datetime import datetime, timezone
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_warc_writer import exchange
        from habrmirror.archive.digests import DigestIndex
        from habrmirror.archive.warc import WarcWriter
        root = Path(sys.argv[1])
        writer = WarcWriter(root, digests=DigestIndex(root))
        for i in range(3):
            writer.write_exchange(exchange(url=f"https://habr.com/{{i}}"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, check=False)
    assert result.returncode == -signal.SIGKILL, result.stderr
    (open_file,) = warc_files(tmp_path)
    assert open_file.name.endswith(".warc.gz.open")
    (repaired,) = repair_open_warcs(tmp_path / "warc")
    assert _urls(repaired) == [f"https://habr.com/{i}" for i in range(3)]
    types = [r.rec_type for r in iter_records(repaired)]
    assert types == ["warcinfo", "response", "request", "revisit", "request", "revisit", "request"]
    warcio_check(repaired)
    # Nothing was synced, so nothing persisted: the next run stores the body in full again.
    digests = DigestIndex(tmp_path)
    assert len(digests) == 0
    digests.close()
