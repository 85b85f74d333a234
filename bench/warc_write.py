"""Benchmark: WARC writing throughput of plain warcio (level 9 and level 6) against habrmirror's WarcWriter.

Writes the same exchanges (saved Habr pages, as sent raw and pre-gzipped by the server) three ways and prints
MB/s (of HTTP body bytes) and records/s for each, plus the speed ratios c/a and c/b:

  (a) warcio ``WARCWriter(gzip=True)``: warcio's own gzip, hard-coded level 9
  (b) warcio ``WARCWriter(gzip=False)`` into a buffer, each record gzipped here at level 6
  (c) ``habrmirror.archive.warc.WarcWriter`` (level 6, one ``write`` per exchange, pointers, rotation checks)

Run from the repository root: ``PYTHONPATH=. python bench/warc_write.py [--count 200] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from habrmirror.archive.warc import HttpExchange
from habrmirror.archive.warc import WarcWriter as HabrWarcWriter

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "habr"
FETCHED = datetime(2024, 1, 1, tzinfo=timezone.utc)


def load_exchanges(count: int) -> list[HttpExchange]:
    """``count`` exchanges cycling over the big HTML fixtures, alternating raw and gzip-encoded bodies."""
    pages = [p.read_bytes() for p in sorted(FIXTURES.glob("*.html")) if p.stat().st_size >= 200_000]
    exchanges = []
    for index, page in zip(range(count), itertools.cycle(pages), strict=False):
        encoded = index % 2 == 1
        body = gzip.compress(page, compresslevel=6) if encoded else page
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
        if encoded:
            headers.append(("Content-Encoding", "gzip"))
        exchanges.append(
            HttpExchange(
                url=f"https://habr.com/ru/articles/{index}/",
                method="GET",
                request_headers=[("Host", "habr.com"), ("User-Agent", "habrmirror-bench"), ("Accept", "*/*")],
                request_body=b"",
                protocol="HTTP/1.1",
                status=200,
                reason="OK",
                response_headers=headers,
                body=body,
                fetched_at=FETCHED,
            )
        )
    return exchanges


def _warcio_pair(writer: WARCWriter, exchange: HttpExchange) -> tuple[object, object]:
    response = writer.create_warc_record(
        exchange.url,
        "response",
        payload=BytesIO(exchange.body),
        length=len(exchange.body),
        http_headers=StatusAndHeaders("200 OK", exchange.response_headers, protocol=exchange.protocol),
    )
    request = writer.create_warc_record(
        exchange.url,
        "request",
        payload=BytesIO(b""),
        length=0,
        http_headers=StatusAndHeaders(
            f"/ru/articles/ {exchange.protocol}", exchange.request_headers, protocol=exchange.method
        ),
    )
    return response, request


def run_warcio_level9(directory: Path, exchanges: list[HttpExchange]) -> None:
    with open(directory / "a.warc.gz", "wb") as handle:
        writer = WARCWriter(handle, gzip=True, warc_version="1.1")
        for exchange in exchanges:
            response, request = _warcio_pair(writer, exchange)
            writer.write_request_response_pair(request, response)


def run_warcio_level6(directory: Path, exchanges: list[HttpExchange]) -> None:
    with open(directory / "b.warc.gz", "wb") as handle:
        buffer = BytesIO()
        writer = WARCWriter(buffer, gzip=False, warc_version="1.1")
        for exchange in exchanges:
            response, request = _warcio_pair(writer, exchange)
            for record in (response, request):
                buffer.seek(0)
                buffer.truncate()
                writer.write_record(record)
                handle.write(zlib.compress(buffer.getvalue(), 6, wbits=31))


def run_habrmirror(directory: Path, exchanges: list[HttpExchange]) -> None:
    with HabrWarcWriter(directory) as writer:
        for exchange in exchanges:
            writer.write_exchange(exchange)


def measure(
    run: Callable[[Path, list[HttpExchange]], None], exchanges: list[HttpExchange], repeat: int
) -> float:
    """Best wall time of ``repeat`` runs, each into a fresh directory."""
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="warcbench-") as tmp:
            start = time.perf_counter()
            run(Path(tmp), exchanges)
            best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200, help="exchanges per run (default 200)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per variant; the best is kept (default 3)"
    )
    args = parser.parse_args(argv)

    exchanges = load_exchanges(args.count)
    body_mb = sum(len(e.body) for e in exchanges) / 1e6
    records = 2 * len(exchanges)
    print(f"{len(exchanges)} exchanges, {body_mb:.1f} MB of bodies (half raw HTML, half gzip-encoded)")
    variants = {
        "a warcio gzip=True (level 9)": run_warcio_level9,
        "b warcio + own gzip level 6": run_warcio_level6,
        "c habrmirror WarcWriter": run_habrmirror,
    }
    speeds = {}
    for name, run in variants.items():
        seconds = measure(run, exchanges, args.repeat)
        speeds[name[0]] = body_mb / seconds
        print(
            f"{name:32s} {seconds:7.3f} s  {body_mb / seconds:8.1f} MB/s  {records / seconds:8.0f} records/s"
        )
    print(
        f"c/a speed ratio: {speeds['c'] / speeds['a']:.2f}   c/b speed ratio: {speeds['c'] / speeds['b']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
