"""Response headers are stored as received: order, duplicates, case, Content-Length once (README, "Reconstructions").

A unit test of ``exchange_from_scrapy`` on real Scrapy objects, and a real crawl against a tiny server on
127.0.0.1 whose header block is compared with the stored one line by line. The server helper here
(:func:`raw_server`) is shared by the other tests that need a server sending exact bytes.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from scrapy import Request
from scrapy.http import Headers, HtmlResponse
from twisted.web.http_headers import Headers as TxHeaders
from warcio.archiveiterator import ArchiveIterator

from habrmirror.crawl.download_handler import WIRE_META_KEY
from habrmirror.crawl.recorder import exchange_from_scrapy
from tests.conftest import FAST, FIXTURES, run_cli

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

Respond = Callable[[str, socket.socket], None]  # (request target, connection): write the whole answer


@contextmanager
def raw_server(respond: Respond) -> Iterator[str]:
    """A server on 127.0.0.1 that answers each request with exactly the bytes ``respond`` writes, then closes
    the connection; ``/robots.txt`` gets an empty 404 unless ``respond`` handles it. Yields its origin."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            head = b""
            while b"\r\n\r\n" not in head:
                data = self.request.recv(65536)
                if not data:
                    return
                head += data
            target = head.split(b" ", 2)[1].decode("latin-1")
            try:
                if target == "/robots.txt":
                    self.request.sendall(NOT_FOUND)
                else:
                    respond(target, self.request)
            except OSError:
                pass  # the client closed first (a size limit, a timeout): what was sent is what the test wants

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def response_records(out: Path) -> list:
    """(record, payload as stored) of every response record in the archive's WARCs, robots.txt left out."""
    found = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if record.rec_type == "response" and not uri.endswith("/robots.txt"):
                    found.append((record, record.raw_stream.read()))
    return found


def scrapy_response(request: Request, body: bytes, sent: list[tuple[bytes, bytes]]) -> HtmlResponse:
    """The response as Scrapy 2.19's HTTP/1.1 handler builds it: Content-Length first (from the length Twisted
    framed the body with), then Twisted's header list, which has the connection headers taken out."""
    kept = TxHeaders()
    for name, value in sent:
        if name.lower() not in (b"content-length", b"connection", b"transfer-encoding"):
            kept.addRawHeader(name, value)
    headers = Headers()
    headers[b"Content-Length"] = str(len(body)).encode()
    headers.update(kept.getAllRawHeaders())
    return HtmlResponse(request.url, status=200, headers=headers, body=body, request=request)


SENT = [
    (b"Server", b"tiny"),
    (b"set-cookie", b"a=1"),
    (b"Content-Type", b"text/html; charset=utf-8"),
    (b"Set-Cookie", b"b=2"),
    (b"Content-Length", b"4"),
    (b"Connection", b"keep-alive"),
    (b"X-Custom", b"value"),
]


def test_headers_scrapy_kept_are_stored_without_a_second_content_length() -> None:
    request = Request("http://127.0.0.1:1/ru/articles/1/")
    response = scrapy_response(request, b"<p/>", SENT)
    request.meta[WIRE_META_KEY] = {"reason": "OK", "length": 4}  # framing known, header lines not noted
    stored = exchange_from_scrapy(request, response, WHEN).response_headers
    assert stored == [
        ("Content-Length", "4"),
        ("Server", "tiny"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("X-Custom", "value"),
    ]


def test_headers_the_download_handler_saw_are_stored_as_they_arrived() -> None:
    request = Request("http://127.0.0.1:1/ru/articles/1/")
    response = scrapy_response(request, b"<p/>", SENT)
    wire = [(name.decode(), value.decode()) for name, value in SENT]
    request.meta[WIRE_META_KEY] = {"reason": "OK", "length": 4, "headers": wire, "truncated_at": None}
    exchange = exchange_from_scrapy(request, response, WHEN)
    assert exchange.response_headers == wire
    assert (exchange.reason, exchange.dechunked, exchange.truncated) == ("OK", False, None)
    assert exchange.request_headers[0] == ("Host", "127.0.0.1:1")


def test_a_crawl_stores_the_header_block_line_for_line(tmp_path: Path) -> None:
    body = (FIXTURES / "article-tm-568382-2021.html").read_bytes()
    lines = [
        ("Server", "tiny"),
        ("set-cookie", "a=1"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Set-Cookie", "b=2"),
        ("content-length", str(len(body))),
        ("X-Custom", "spaced value"),
        ("Vary", "Accept-Encoding"),
        ("Vary", "Cookie"),
        ("Connection", "close"),
    ]
    head = "HTTP/1.1 200 Fine\r\n" + "".join(
        f"{name}: {'  ' + value + '  ' if name == 'X-Custom' else value}\r\n" for name, value in lines
    )

    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(head.encode("latin-1") + b"\r\n" + body)

    out = tmp_path / "a"
    with raw_server(respond) as origin:
        result = run_cli("archive", f"{origin}/ru/articles/568382/", "--out", str(out), *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    [(record, payload)] = response_records(out)
    assert record.http_headers.statusline == "200 Fine"
    assert [(name, value) for name, value in record.http_headers.headers] == lines
    assert payload == body
