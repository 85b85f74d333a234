"""Size limits (README, "Limits"): a gzip bomb and a huge plain page cost a small multiple of the limit in memory,
are stored up to the limit (``WARC-Truncated: length`` when cut) and are reported ``too_large`` with a reason.

The crawls are real (``habrmirror archive`` against a server on 127.0.0.1 that generates the bodies while
sending them); peak memory is the largest resident set of the crawl process and its parse worker, read with
``getrusage(RUSAGE_CHILDREN)`` in a wrapper process that runs nothing else.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from habrmirror import capture, settings
from habrmirror.archive.reader import DecodedTooLarge, decode_content
from habrmirror.store.captures import history
from tests.conftest import FAST, ROOT
from tests.test_headers import raw_server, response_records

pytestmark = pytest.mark.slow

MB = 1_000_000
BOMB_ZEROS = 1 << 30  # the bomb inflates to 1 GiB
PLAIN_BYTES = 150 * MB
ARTICLE = "/ru/articles/4242/"


def bomb_chunks() -> list[bytes]:
    """1 GiB of zeros as one gzip member (about 1 MB), compressed a MiB at a time."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    chunks = [compressor.compress(zeros) for _ in range(BOMB_ZEROS >> 20)]
    chunks.append(compressor.flush())
    return [chunk for chunk in chunks if chunk]


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return b"".join(bomb_chunks())


def serve_bomb(bomb: bytes):  # type: ignore[no-untyped-def]
    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for start in range(0, len(bomb), 1 << 16):
            piece = bomb[start : start + (1 << 16)]
            connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        connection.sendall(b"0\r\n\r\n")

    return respond


def serve_plain(target: str, connection: socket.socket) -> None:
    """150 MB of HTML with its Content-Length, generated while it is sent."""
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n\r\n"
        % PLAIN_BYTES
    )
    line = b"<p>" + b"x" * 992 + b"</p>\n"  # 1000 bytes
    block = line * 1000
    for _ in range(PLAIN_BYTES // len(block)):
        connection.sendall(block)


def archive_measured(url: str, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``habrmirror archive URL`` in a wrapper process: (its result, peak RSS in bytes of the crawl and the
    parse worker, the largest of the two)."""
    wrapper = (
        "import resource, subprocess, sys, json\n"
        "r = subprocess.run([sys.executable, '-m', 'habrmirror', *sys.argv[1:]], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps({'code': r.returncode, 'out': r.stdout, 'err': r.stderr, 'peak': peak}))\n"
    )
    args = ["archive", url, "--out", str(out), "--set", "HABR_IMAGES=false", *extra, *FAST]
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    result = subprocess.CompletedProcess(args, report["code"], report["out"], report["err"])
    print(f"peak RSS of {url.rsplit('/', 2)[0]} {extra}: {report['peak'] / 2**20:.0f} MiB")
    return result, report["peak"]


@pytest.fixture(scope="module")
def baseline_peak(tmp_path_factory: pytest.TempPathFactory) -> int:
    """Peak RSS of archiving one ordinary real page the same way (what any crawl costs)."""
    body = gzip.compress((ROOT / "tests" / "fixtures" / "habr" / "article-tm-568382-2021.html").read_bytes())

    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )

    with raw_server(respond) as origin:
        result, peak = archive_measured(origin + "/ru/articles/568382/", tmp_path_factory.mktemp("base"))
    assert result.returncode == 0, result.stderr[-2000:]
    return peak


def only_capture(out: Path) -> tuple[str, str]:
    [line] = history(out / "captures", 4242)
    return line.outcome, line.reason or ""


def test_gzip_bomb_stops_at_the_decoded_limit(bomb: bytes, baseline_peak: int, tmp_path: Path) -> None:
    out = tmp_path / "a"
    with raw_server(serve_bomb(bomb)) as origin:
        result, peak = archive_measured(origin + ARTICLE, out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    reason = "page decodes to more than the 40 MB limit (HABR_MAX_DECODED_BYTES); stored as received"
    assert only_capture(out) == ("too_large", reason)
    assert reason in result.stderr
    [(record, payload)] = response_records(out)
    assert payload == bomb  # the whole body as sent (1 MB): not truncated, so no WARC-Truncated
    assert record.rec_headers.get_header("WARC-Truncated") is None
    assert peak - baseline_peak < 3 * settings.HABR_MAX_DECODED_BYTES, (peak, baseline_peak)


def test_gzip_bomb_over_the_download_limit_is_stored_truncated(
    bomb: bytes, baseline_peak: int, tmp_path: Path
) -> None:
    out = tmp_path / "a"
    with raw_server(serve_bomb(bomb)) as origin:
        result, peak = archive_measured(origin + ARTICLE, out, "--set", "HABR_MAX_PAGE_BYTES=500000")
    assert result.returncode == 1
    reason = "page larger than the 500000 bytes limit (HABR_MAX_PAGE_BYTES); stored truncated"
    assert only_capture(out) == ("too_large", reason)
    [(record, payload)] = response_records(out)
    assert record.rec_headers.get_header("WARC-Truncated") == "length"
    assert payload == bomb[:500_000]
    assert peak - baseline_peak < 3 * settings.HABR_MAX_DECODED_BYTES, (peak, baseline_peak)


def test_plain_page_over_the_download_limit_is_stored_truncated(baseline_peak: int, tmp_path: Path) -> None:
    out = tmp_path / "a"
    with raw_server(serve_plain) as origin:
        result, peak = archive_measured(origin + ARTICLE, out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    reason = "page larger than the 20 MB limit (HABR_MAX_PAGE_BYTES); stored truncated"
    assert only_capture(out) == ("too_large", reason)
    [(record, payload)] = response_records(out)
    assert record.rec_headers.get_header("WARC-Truncated") == "length"
    assert len(payload) == settings.HABR_MAX_PAGE_BYTES and payload.startswith(b"<p>xxx")
    assert record.http_headers.get_header("Content-Length") == str(PLAIN_BYTES)  # as the server announced it
    assert peak - baseline_peak < 5 * settings.HABR_MAX_PAGE_BYTES, (peak, baseline_peak)


def test_settings_defaults_are_the_capture_defaults() -> None:
    assert settings.HABR_MAX_PAGE_BYTES == capture.MAX_PAGE_BYTES
    assert settings.HABR_MAX_DECODED_BYTES == capture.MAX_DECODED_BYTES


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_decode_content_stops_one_byte_past_the_limit(coding: str) -> None:
    brotli = pytest.importorskip("brotli")
    page = b"<html>" + b"z" * 200_000
    encoded = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[coding](page)
    assert decode_content(encoded, coding, len(page)) == page
    with pytest.raises(DecodedTooLarge) as raised:
        decode_content(encoded, coding, len(page) - 1)
    assert raised.value.limit == len(page) - 1


def test_decode_content_limits_the_sum_of_gzip_members() -> None:
    two = gzip.compress(b"a" * 600) + gzip.compress(b"b" * 600)
    assert decode_content(two, "gzip", 1200) == b"a" * 600 + b"b" * 600
    with pytest.raises(DecodedTooLarge):
        decode_content(two, "gzip", 1000)
