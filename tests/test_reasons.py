"""Every outcome's reason says what happened in words (an empty body, a body cut short, unreadable headers).

Each case is a real crawl (``habrmirror archive``) against a tiny server on 127.0.0.1 sending exact bytes; the
reason is read back from the capture log. ``network_reason`` is also checked on the real exception chains
Scrapy and Twisted build.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from scrapy.exceptions import DownloadConnectionRefusedError, DownloadFailedError, DownloadTimeoutError
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from habrmirror.capture import DownloadProblem, network_reason
from habrmirror.store.captures import history
from tests.conftest import FAST, run_cli
from tests.test_headers import raw_server

ARTICLE = "/ru/articles/4242/"


def archive_reason(respond, tmp_path: Path) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """(outcome, reason, stderr) of archiving one article from a server answering with ``respond``."""
    out = tmp_path / "a"
    with raw_server(respond) as origin:
        result = run_cli("archive", origin + ARTICLE, "--out", str(out), "--set", "RETRY_TIMES=1", *FAST)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    [capture] = history(out / "captures", 4242)
    return capture.outcome, capture.reason or "", result.stderr


def test_empty_body(tmp_path: Path) -> None:
    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n")

    outcome, reason, stderr = archive_reason(respond, tmp_path)
    assert (outcome, reason) == ("parse_error", "empty response body (0 bytes) with status 200")
    assert "empty response body (0 bytes) with status 200" in stderr


def test_body_cut_short(tmp_path: Path) -> None:
    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n")
        connection.sendall(b"<html>" + b"x" * 1228)  # 1234 bytes, then the connection closes

    outcome, reason, _ = archive_reason(respond, tmp_path)
    assert (outcome, reason) == ("network_error", "connection closed after 1234 of 5000 bytes of the body")


def test_chunked_body_cut_short(tmp_path: Path) -> None:
    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        connection.sendall(b"64\r\n" + b"y" * 100 + b"\r\n")  # one chunk of 100 bytes, never the last one

    outcome, reason, _ = archive_reason(respond, tmp_path)
    assert outcome == "network_error"
    assert reason == "connection closed after 100 bytes of a chunked body, before its last chunk"


def test_header_too_large(tmp_path: Path) -> None:
    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\nContent-Length: 2\r\n\r\nok"
        )

    outcome, reason, _ = archive_reason(respond, tmp_path)
    assert outcome == "network_error"
    assert reason == (
        "the server's response headers were too large or malformed (a header line of more than 16384 bytes)"
    )


def test_malformed_status_line(tmp_path: Path) -> None:
    def respond(target: str, connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 OK-ish\r\nContent-Length: 2\r\n\r\nok")

    outcome, reason, _ = archive_reason(respond, tmp_path)
    assert outcome == "network_error"
    assert (
        reason == "the server's response headers were too large or malformed (status line 'HTTP/1.1 OK-ish')"
    )


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "a"
    result = run_cli(
        "archive", f"http://127.0.0.1:{port}{ARTICLE}", "--out", str(out), "--set", "RETRY_TIMES=0", *FAST
    )
    assert result.returncode == 1
    [capture] = history(out / "captures", 4242)
    assert capture.outcome == "network_error"
    assert capture.reason and capture.reason.startswith("the server refused the connection")


def wrapped(inner: BaseException, outer: type[Exception]) -> Exception:
    """What Scrapy's handler raises: its own exception, caused by Twisted's list of failures."""
    twisted_error = ResponseFailed([Failure(inner)])
    error = outer(str(twisted_error))
    error.__cause__ = twisted_error
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            wrapped(
                DownloadProblem("the server's response headers were too large or malformed (x)"),
                DownloadFailedError,
            ),
            "the server's response headers were too large or malformed (x)",
        ),
        (
            wrapped(ConnectionDone(), DownloadFailedError),
            "the connection closed in the middle of the response headers",
        ),
        (
            DownloadTimeoutError("Getting http://127.0.0.1/x took longer than 60.0 seconds."),
            "no complete answer within the download timeout: Getting http://127.0.0.1/x took longer than 60.0 seconds",
        ),
        (
            DownloadConnectionRefusedError("Connection was refused by other side: 111: Connection refused."),
            "the server refused the connection: Connection was refused by other side: 111: Connection refused",
        ),
        (RuntimeError(""), "RuntimeError (no message)"),
    ],
)
def test_network_reason_of_real_exception_chains(error: Exception, reason: str) -> None:
    assert network_reason(error) == reason


def test_network_reason_of_a_never_received_response() -> None:
    error = DownloadFailedError("[...]")
    error.__cause__ = ResponseNeverReceived([Failure(ConnectionDone())])
    assert network_reason(error) == "the connection closed before any response arrived"
