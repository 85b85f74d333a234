"""End to end: ``habrmirror archive`` against the replica, checked down to the bytes in the WARC.

Covers a tm page (via a redirecting old URL form), a browser-saved page and a legacy company-blog page; the
WARC compared with the replica's log of what it sent; index row -> WARC record; re-archiving; 404 and a
non-article page; a post that disappears later keeps its row.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import subprocess
import sys
import threading
from base64 import b32encode
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from habrmirror.items import SCHEMA_VERSION
from habrmirror.replica import ReplicaProcess
from habrmirror.store.captures import history
from habrmirror.store.index import IndexStore, iter_rows
from tests.conftest import FAST, FIXTURES, ROOT, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replica() -> Iterator[ReplicaProcess]:
    with ReplicaProcess() as server:
        yield server


@pytest.fixture(scope="module")
def archived(replica: ReplicaProcess, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One archive with three posts of three layout eras, archived by one command."""
    out = tmp_path_factory.mktemp("archive")
    targets = [
        f"{replica.origin}/ru/post/568382/",  # tm SSR; the old form answers 301 -> /ru/articles/568382/
        "724768",  # browser-saved tm page, by id against --origin
        f"{replica.origin}/ru/company/parallels/blog/462783/",  # legacy company blog
    ]
    result = run_cli("archive", *targets, "--origin", replica.origin, "--out", str(out), *FAST)
    return {"out": out, "result": result, "rows": {row["id"]: row for row in iter_rows(out / "index")}}


def test_archive_prints_what_and_where_and_exits_0(archived: dict) -> None:
    result = archived["result"]
    assert result.returncode == 0, result.stderr
    for article in (568382, 724768, 462783):
        assert f"archived {article}:" in result.stdout
    assert "Traceback" not in result.stderr
    assert sorted(archived["rows"]) == [462783, 568382, 724768]


def read_member(out: Path, pointer: dict) -> bytes:
    """The gzip member the pointer names, decompressed: exactly one WARC record."""
    with (out / pointer["filename"]).open("rb") as handle:
        handle.seek(pointer["offset"])
        member = handle.read(pointer["length"])
    return gzip.decompress(member)


@pytest.mark.parametrize(
    ("article", "title", "fetched_path", "parser"),
    [
        (568382, "Digital-мероприятия в Москве c 19 по 25 июля", "/ru/articles/568382/", "tm-ssr/1"),
        (
            724768,
            "Эйлер, Чёрч и Мандельброт — этюд о красоте и математике",
            "/ru/articles/724768/",
            "tm-dom/1",
        ),
        (462783, "Матрица: 20 лет спустя", "/ru/company/parallels/blog/462783/", "legacy/1"),
    ],
)
def test_index_row_points_at_its_response_record(
    archived: dict, article: int, title: str, fetched_path: str, parser: str
) -> None:
    row = archived["rows"][article]
    assert row["title"] == title
    assert row["parser"] == parser
    assert urlsplit(row["fetched_url"]).path == fetched_path
    record = read_member(archived["out"], row["warc"])
    head, _, _ = record.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().splitlines()[1:])
    assert headers["WARC-Type"] == "response"
    assert headers["WARC-Target-URI"] == row["fetched_url"]
    assert headers["WARC-Record-ID"] == row["warc"]["record_id"]
    assert b"HTTP/1.1 200 OK\r\n" in record
    # The archived body (gzip as served) holds the title the row has.
    with (archived["out"] / row["warc"]["filename"]).open("rb") as handle:
        handle.seek(row["warc"]["offset"])
        stored = next(iter(ArchiveIterator(handle)))
        assert stored.rec_headers.get_header("WARC-Record-ID") == row["warc"]["record_id"]
        body = stored.content_stream().read()
    assert title.encode("utf-8") in body


def test_every_body_image_the_replica_serves_is_archived(archived: dict) -> None:
    for article, expected in ((568382, 1), (724768, 10), (462783, 11)):
        images = archived["rows"][article]["images"]
        assert len(images) == expected
        assert all(image["archived"] and image["error"] is None for image in images), images
        assert all(image["url"].startswith("http://127.0.0.1:") for image in images)


def test_resized_copies_the_markup_loads_are_archived_for_replay(archived: dict) -> None:
    uris = {r.rec_headers.get_header("WARC-Target-URI") for r, _ in warc_records(archived["out"])}
    original = archived["rows"][568382]["images"][0]["url"]
    resized = original.replace("/habrastorage.org/", "/habrastorage.org/r/w780q1/")
    assert original in uris and resized in uris


def warc_records(out: Path) -> list:
    records = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                payload = record.raw_stream.read() if record.rec_type != "warcinfo" else b""  # as stored
                records.append((record, payload))
    return records


def sha1_b32(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode()


def test_warc_matches_what_the_replica_sent(archived: dict, replica: ReplicaProcess) -> None:
    """Every response record: status line, headers, body bytes and digests equal what went over the wire."""
    sent = {}
    for entry in replica.sent_log():
        sent.setdefault(entry["target"], []).append(entry)
    by_id = {}
    responses = []
    for record, payload in warc_records(archived["out"]):
        by_id[record.rec_headers.get_header("WARC-Record-ID")] = record
        if record.rec_type in ("response", "revisit"):
            responses.append((record, payload))
    assert len(responses) >= 3 + 1 + 22  # 3 pages, 1 redirect, 22 images (robots.txt too)
    checked_chunked = checked_gzip = 0
    for record, payload in responses:
        assert record.rec_headers.get_header("WARC-Truncated") is None
        uri = record.rec_headers.get_header("WARC-Target-URI")
        target = urlsplit(uri).path + (f"?{urlsplit(uri).query}" if urlsplit(uri).query else "")
        assert target in sent, f"{uri} in the WARC but never sent"
        wire = sent[target][0]
        http = record.http_headers
        assert http.protocol == "HTTP/1.1"
        assert http.get_statuscode() == str(wire["status"])
        assert http.statusline == f"{wire['status']} {wire['reason']}"
        # The stored header list is the sent one, in order, each header as often as sent (one Content-Length);
        # only Transfer-Encoding is left out, of a body stored de-chunked (README, "Reconstructions").
        sent_headers = [(name, value) for name, value in wire["headers"]]
        if wire["chunked"]:
            sent_headers = [
                (name, value) for name, value in sent_headers if name.lower() != "transfer-encoding"
            ]
        assert [(name, value) for name, value in http.headers] == sent_headers, uri
        if record.rec_type == "response":
            assert hashlib.sha256(payload).hexdigest() == wire["body_sha256"], uri
            assert record.rec_headers.get_header("WARC-Payload-Digest") == sha1_b32(payload)
        if wire["chunked"]:
            checked_chunked += 1
            assert record.rec_headers.get_header("WARC-Habrmirror-Dechunked") == "chunked"
            assert http.get_header("Transfer-Encoding") is None
        else:
            assert http.get_header("Content-Length") == str(wire["body_length"])
        if wire["content_encoding"] == "gzip":
            checked_gzip += 1
            assert http.get_header("Content-Encoding") == "gzip"
            assert payload[:2] == b"\x1f\x8b"  # kept compressed, as served
        # request record: paired, same date, request line as sent
        request_id = record.rec_headers.get_header("WARC-Record-ID")
        requests = [
            r
            for r in by_id.values()
            if r.rec_type == "request" and r.rec_headers.get_header("WARC-Concurrent-To") == request_id
        ]
        assert len(requests) == 1, uri
        assert requests[0].rec_headers.get_header("WARC-Date") == record.rec_headers.get_header("WARC-Date")
        request_line = f"{requests[0].http_headers.protocol} {requests[0].http_headers.statusline}"
        assert request_line == f"GET {target} HTTP/1.1"
    assert checked_chunked >= 3 and checked_gzip >= 3


def test_redirect_hop_is_recorded(archived: dict) -> None:
    redirects = [
        (record, payload)
        for record, payload in warc_records(archived["out"])
        if record.rec_type == "response" and record.http_headers.get_statuscode() == "301"
    ]
    assert len(redirects) == 1
    record, _ = redirects[0]
    assert record.rec_headers.get_header("WARC-Target-URI").endswith("/ru/post/568382/")
    assert record.http_headers.statusline == "301 Moved Permanently"
    assert record.http_headers.get_header("Location").endswith("/ru/articles/568382/")


def test_warcio_check_passes(archived: dict) -> None:
    files = sorted((archived["out"] / "warc").glob("*.warc.gz"))
    assert files and not list((archived["out"] / "warc").glob("*.open"))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from warcio.cli import main; sys.exit(main())",
            "check",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_archive_json_and_cdxj(archived: dict) -> None:
    manifest = json.loads((archived["out"] / "archive.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION == 2 and manifest["warc_version"] == "WARC/1.1"
    cdxj = "".join(p.read_text() for p in (archived["out"] / "indexes").glob("*.cdxj"))
    for row in archived["rows"].values():
        assert json.dumps(row["fetched_url"])[1:-1] in cdxj


def test_rearchiving_leaves_one_row_and_two_captures(replica: ReplicaProcess, tmp_path: Path) -> None:
    out = tmp_path / "a"
    for _ in range(2):
        result = run_cli("archive", "570002", "--origin", replica.origin, "--out", str(out), *FAST)
        assert result.returncode == 0, result.stderr
    rows = list(iter_rows(out / "index"))
    assert [row["id"] for row in rows] == [570002]
    captures = history(out / "captures", 570002)
    assert [c.outcome for c in captures] == ["archived", "archived"]
    assert [c.revisit for c in captures] == [False, True]  # same bytes: a revisit record, no second body
    # the row still points at the record that holds the bytes
    record = read_member(out, rows[0]["warc"])
    assert b"WARC-Type: response" in record
    shown = run_cli("history", "570002", str(out))
    assert shown.returncode == 0 and shown.stdout.count("archived") == 2 and "revisit" in shown.stdout


def test_unknown_id_is_a_clear_error(replica: ReplicaProcess, tmp_path: Path) -> None:
    result = run_cli("archive", "999999", "--origin", replica.origin, "--out", str(tmp_path / "a"), *FAST)
    assert result.returncode == 1
    assert "could not archive 999999: gone: HTTP 404" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(iter_rows(tmp_path / "a" / "index")) == []


def test_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("archive", "https://habr.com/ru/hubs/python/", "--out", str(tmp_path / "a"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("habrmirror: not a Habr article URL or id")


@pytest.fixture()
def listing_at_article_path() -> Iterator[str]:
    """A server answering an article-shaped URL with a real listing page (not an article)."""
    page = (FIXTURES / "listing-articles-ru-2025-04.html").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = b"User-agent: *\nDisallow:\n" if self.path == "/robots.txt" else page
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ru/articles/123456/"
    server.shutdown()


def test_non_article_page_fails_clearly_but_is_in_the_warc(
    listing_at_article_path: str, tmp_path: Path
) -> None:
    out = tmp_path / "a"
    result = run_cli("archive", listing_at_article_path, "--out", str(out), *FAST)
    assert result.returncode == 1
    assert "could not archive 123456: not_article" in result.stderr
    assert "Traceback" not in result.stderr
    uris = [
        r.rec_headers.get_header("WARC-Target-URI") for r, _ in warc_records(out) if r.rec_type == "response"
    ]
    assert listing_at_article_path in uris  # the bytes are kept even though no row is made


def test_post_gone_later_keeps_its_row(tmp_path: Path) -> None:
    out = tmp_path / "a"
    with ReplicaProcess() as server:
        assert run_cli("archive", "1000", "--origin", server.origin, "--out", str(out), *FAST).returncode == 0
        before = IndexStore(out / "index").get(1000)
        server.control("delete", id=1000)
        result = run_cli("archive", "1000", "--origin", server.origin, "--out", str(out), *FAST)
    assert result.returncode == 1 and "gone: HTTP 404" in result.stderr
    after = IndexStore(out / "index").get(1000)
    assert after is not None and after["gone_at"] is not None
    assert {k: v for k, v in after.items() if k != "gone_at"} == {
        k: v for k, v in before.items() if k != "gone_at"
    }
    assert [c.outcome for c in history(out / "captures", 1000)] == ["archived", "gone"]


def test_plain_scrapy_crawl_does_the_same(replica: ReplicaProcess, tmp_path: Path) -> None:
    out = tmp_path / "a"
    result = subprocess.run(
        [
            sys.executable, "-m", "scrapy", "crawl", "article",
            "-a", "url=957816", "-a", f"origin={replica.origin}",
            "-s", f"HABR_ARCHIVE_DIR={out}", "-s", "HABR_LOOPBACK_ONLY=True", "-s", "AUTOTHROTTLE_START_DELAY=0.05",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(iter_rows(out / "index"))
    assert [row["id"] for row in rows] == [957816]
    assert rows[0]["title"].startswith("Происхождение духов")
    assert all(image["archived"] for image in rows[0]["images"])


def test_rotation_keeps_every_pointer_valid(replica: ReplicaProcess, tmp_path: Path) -> None:
    out = tmp_path / "a"
    result = run_cli(
        "archive", "568382", "724768", "462783", "957816", "--origin", replica.origin, "--out", str(out),
        "--set", "HABR_WARC_MAX_SIZE=60000", *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    warcs = sorted((out / "warc").glob("*.warc.gz"))
    assert len(warcs) >= 3 and not list((out / "warc").glob("*.open"))
    assert len(list((out / "indexes").glob("*.cdxj"))) == len(warcs)
    assert_cdxj_as_cdxj_indexer_writes_it(out, tmp_path / "scratch")
    for path in warcs:  # every file starts with its own warcinfo
        with path.open("rb") as handle:
            assert next(iter(ArchiveIterator(handle))).rec_type == "warcinfo"
    rows = list(iter_rows(out / "index"))
    assert len({row["warc"]["filename"] for row in rows}) >= 2
    verified = run_cli("verify", str(out))
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.strip().splitlines()[-1].startswith("OK:")


def assert_cdxj_as_cdxj_indexer_writes_it(out: Path, scratch: Path) -> int:
    """The crawl's own CDXJ of every WARC equals, byte for byte, what cdxj-indexer makes of that WARC."""
    from habrmirror.archive.cdxj import write_cdxj

    warcs = sorted((out / "warc").glob("*.warc.gz"))
    assert warcs
    lines = 0
    for warc in warcs:
        ours = (out / "indexes" / (warc.name.removesuffix(".warc.gz") + ".cdxj")).read_bytes()
        assert ours == write_cdxj(warc, scratch).read_bytes(), warc.name
        lines += ours.count(b"\n")
    return lines


def test_crawl_cdxj_is_cdxj_indexer_output(replica: ReplicaProcess, tmp_path: Path) -> None:
    """Responses, a 301, images, a 404 and revisits (the same posts archived again), in three WARC files."""
    out = tmp_path / "a"
    first = run_cli(
        "archive", f"{replica.origin}/ru/post/568382/", "724768", "462783", "--origin", replica.origin,
        "--out", str(out), *FAST,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    again = run_cli("archive", "568382", "724768", "--origin", replica.origin, "--out", str(out), *FAST)
    assert again.returncode == 0, again.stderr
    missing = run_cli("archive", "999999", "--origin", replica.origin, "--out", str(out), *FAST)
    assert missing.returncode == 1
    index = "".join(p.read_text() for p in sorted((out / "indexes").glob("*.cdxj")))
    for wanted in ('"mime": "warc/revisit"', '"status": "301"', '"status": "404"', '"mime": "image/'):
        assert wanted in index, wanted
    assert assert_cdxj_as_cdxj_indexer_writes_it(out, tmp_path / "scratch") > 10
