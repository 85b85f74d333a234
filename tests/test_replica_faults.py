"""The replica's hostile side over real sockets on 127.0.0.1: fixed latency per response and the seeded fault
plan (``--faults SPEC --seed N``): what each fault puts on the wire, that the plan is a pure function of
(seed, path, attempt), and that the sent log names every injected fault.
"""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import urlsplit

from habrmirror.replica import ReplicaThread


def pipelined(origin: str, paths: list[str]) -> tuple[bytes, float]:
    """Send GETs for ``paths`` at once on one connection (the last one closes it); everything that came back
    and how long the first byte took."""
    parts = urlsplit(origin)
    requests = b"".join(
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept-Encoding: identity\r\n"
        f"{'Connection: close' + chr(13) + chr(10) if number == len(paths) - 1 else ''}\r\n".encode()
        for number, path in enumerate(paths)
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(requests)
        data = sock.recv(65536)
        first_byte = time.monotonic() - started
        while chunk := sock.recv(65536):
            data += chunk
    return data, first_byte


def test_latency_delays_every_response_and_keeps_pipelined_answers_in_order() -> None:
    paths = ["/robots.txt", "/ru/articles/1000/", "/nope/", "/habrastorage.org/a.png"]
    with ReplicaThread(latency_ms=120) as replica:
        data, first_byte = pipelined(replica.origin, paths)
        sent = replica.sent_log()
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", data) == [b"200", b"200", b"404", b"200"]
    assert first_byte >= 0.12  # a lower bound: the server held the first byte back at least this long
    assert [entry["target"] for entry in sent] == paths
    robots, article, missing, image = (
        data.index(m) for m in (b"User-agent: *", b"<html", b"404 Not", b"\x89PNG")
    )
    assert robots < article < missing < image
