"""The replica's hostile side over real sockets on 127.0.0.1: fixed latency per response and the seeded fault
plan (``--faults SPEC --seed N``): what each fault puts on the wire, that the plan is a pure function of
(seed, path, attempt), and that the sent log names every injected fault.
"""

from __future__ import annotations

import gzip
import re
import socket
import time
from urllib.parse import urlsplit

import pytest

from habrmirror.pages.listing import parse_listing
from habrmirror.replica import ReplicaThread
from habrmirror.replica.faults import KINDS, FaultPlan, FaultSpecError, Rule
from tests.conftest import run_cli


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


def raw(origin: str, path: str, gzip_ok: bool = False) -> tuple[bytes, str | None]:
    """One GET with ``Connection: close``: every byte that arrived, and how the connection ended."""
    parts = urlsplit(origin)
    encoding = "gzip" if gzip_ok else "identity"
    request = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
    data, ending = b"", None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request.encode())
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            ending = "reset"
    return data, ending


def header(data: bytes, name: str) -> str | None:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.lower() == name.lower():
            return value.strip()
    return None


def test_spec_grammar_and_bad_specs() -> None:
    plan = FaultPlan.parse("rate=0.25,kinds=transient+410,reset:/ru/articles/1000/,403:/ru/articles/9*@2", 7)
    assert plan.seed == 7 and plan.rate == 0.25
    assert "410" in plan.kinds and "403" not in plan.kinds and "reset" in plan.kinds
    assert plan.rules == [Rule("reset", "/ru/articles/1000/", None), Rule("403", "/ru/articles/9*", 2)]
    for bad, says in [
        ("rate=1.5", "must be 0 to 1"),
        ("kinds=nope", "unknown fault kind 'nope'"),
        ("boom:*", "unknown fault kind 'boom'"),
        ("reset", "expected KIND:GLOB"),
        ("reset:ru/x", "GLOB must be a path"),
        ("reset:*@0", "@N must be"),
        ("colour=red", "unknown option"),
    ]:
        with pytest.raises(FaultSpecError, match=re.escape(says)):
            FaultPlan.parse(bad)


def test_decisions_are_a_function_of_seed_path_and_attempt() -> None:
    paths = [f"/ru/articles/{800000 + n}/" for n in range(2000)]
    plan = FaultPlan.parse("rate=0.2", seed=3)
    first = {path: plan.decide(path, "article", 1) for path in paths}
    # asked in another order, by another plan object of the same seed: the same faults
    again = FaultPlan.parse("rate=0.2", seed=3)
    assert {path: again.decide(path, "article", 1) for path in reversed(paths)} == first
    hit = [path for path, fault in first.items() if fault]
    assert 0.17 < len(hit) / len(paths) < 0.23
    assert {path for path in paths if FaultPlan.parse("rate=0.2", seed=4).decide(path, "article", 1)} != set(
        hit
    )
    for path in hit:
        fault = first[path]
        assert fault is not None and "article" in KINDS[fault.kind].targets
        second = plan.decide(path, "article", 2)
        assert (second is not None) == fault.permanent  # a transient fault lets the retry through
    kinds = {fault.kind for fault in first.values() if fault}
    assert len(kinds) == len(
        [k for k in KINDS.values() if "article" in k.targets]
    )  # every article kind drawn
    assert all(plan.decide(p, "robots", 1) is None for p in paths)  # only the four response kinds


def test_429_then_the_retry_gets_the_page_and_the_log_names_the_fault() -> None:
    with ReplicaThread(faults="429:/ru/articles/1000/,403:/ru/articles/568382/") as replica:
        first, _ = raw(replica.origin, "/ru/articles/1000/")
        second, _ = raw(replica.origin, "/ru/articles/1000/")
        forbidden = [raw(replica.origin, "/ru/articles/568382/")[0] for _ in range(3)]
        sent = replica.sent_log()
        stats = replica.control("stats")
    assert first.startswith(b"HTTP/1.1 429 Too Many Requests\r\n") and header(first, "Retry-After") == "1"
    assert second.startswith(b"HTTP/1.1 200 OK\r\n")
    assert all(page.startswith(b"HTTP/1.1 403 Forbidden\r\n") for page in forbidden)  # permanent
    assert stats["faults"] == {"429": 1, "403": 3}
    assert [(e["target"], e["status"], e["fault"], e["attempt"]) for e in sent if e["kind"] != "control"] == [
        ("/ru/articles/1000/", 429, "429", 1),
        ("/ru/articles/1000/", 200, None, None),
        ("/ru/articles/568382/", 403, "403", 1),
        ("/ru/articles/568382/", 403, "403", 2),
        ("/ru/articles/568382/", 403, "403", 3),
    ]


def test_wire_faults_reset_truncate_status_headers_bomb_oversized_loop() -> None:
    spec = (
        "reset:/ru/articles/1000/,truncate:/ru/articles/568382/,bad_status:/ru/articles/724768/,"
        "huge_headers:/ru/articles/804525/,bomb:/ru/articles/957816/,oversized:/ru/articles/570002/,"
        "redirect_loop:/ru/articles/462783/,bad_utf8:/ru/articles/472278/,big=300000"
    )
    with ReplicaThread(faults=spec) as replica:
        reset, reset_end = raw(replica.origin, "/ru/articles/1000/")
        truncated, _ = raw(replica.origin, "/ru/articles/568382/")
        status, _ = raw(replica.origin, "/ru/articles/724768/")
        huge, _ = raw(replica.origin, "/ru/articles/804525/")
        bomb, _ = raw(replica.origin, "/ru/articles/957816/", gzip_ok=True)
        big, _ = raw(replica.origin, "/ru/articles/570002/", gzip_ok=True)
        loop, _ = raw(replica.origin, "/ru/articles/462783/?loop=1")
        utf8, _ = raw(replica.origin, "/ru/articles/472278/")
        again, _ = raw(replica.origin, "/ru/articles/472278/")
        sent = replica.sent_log()
    cut = sent[0]
    # the log says what went out (a reset may drop the tail the client had not read yet)
    assert (
        cut["wire_end"] == "abort"
        and len(reset) <= cut["wire_bytes"] < len(cut["header_block"]) + cut["body_length"]
    )
    assert (
        reset.startswith(b"HTTP/1.1 200 OK\r\n") and reset_end == "reset" and not reset.endswith(b"0\r\n\r\n")
    )
    length, body = int(header(truncated, "Content-Length") or 0), truncated.split(b"\r\n\r\n", 1)[1]
    assert header(truncated, "Transfer-Encoding") is None and 0 < len(body) == length // 2
    assert status.startswith(b"HTTP/1.1 two-hundred OK\r\n")
    assert len(header(huge, "X-Padding") or "") == 70_000
    assert header(bomb, "Content-Encoding") == "gzip"
    assert len(gzip.decompress(bomb.split(b"\r\n\r\n", 1)[1])) == 64 * 1024 * 1024
    assert header(big, "Content-Encoding") is None and int(header(big, "Content-Length") or 0) == 300_000
    assert loop.startswith(b"HTTP/1.1 302 Found\r\n")
    assert header(loop, "Location") == f"{replica.origin}/ru/articles/462783/?loop=1"
    assert b"\xff\xfe\xc3\x28</h1>" in utf8 and b"\xff\xfe\xc3\x28</h1>" in again  # permanent


def test_listing_next_link_loops_or_vanishes() -> None:
    with ReplicaThread(
        synthetic=50, faults="next_loop:/ru/articles/page2/,next_vanish:/ru/articles/"
    ) as replica:
        vanished = parse_listing(
            replica.url("/ru/articles/"), raw(replica.origin, "/ru/articles/")[0].split(b"\r\n\r\n", 1)[1]
        )
        looped = parse_listing(
            replica.url("/ru/articles/page2/"),
            raw(replica.origin, "/ru/articles/page2/")[0].split(b"\r\n\r\n", 1)[1],
        )
        healed = parse_listing(
            replica.url("/ru/articles/"), raw(replica.origin, "/ru/articles/")[0].split(b"\r\n\r\n", 1)[1]
        )
    assert len(vanished.entries) == 20 and vanished.next_url is None
    assert looped.next_url == replica.url("/ru/articles/")
    assert healed.next_url == replica.url("/ru/articles/page2/")  # transient: the second fetch is whole


def test_timeouts_stall_then_reset_and_trickle_arrives_whole() -> None:
    spec = "image_timeout:/habrastorage.org/*,comments_timeout:/kek/*,trickle:/ru/articles/1000/,hang=0.3,trickle=200"
    with ReplicaThread(faults=spec) as replica:
        started = time.monotonic()
        stalled, ending = raw(replica.origin, "/habrastorage.org/x.png")
        waited = time.monotonic() - started
        comments, comments_end = raw(replica.origin, "/kek/v2/articles/1000/comments/")
        trickled, _ = raw(replica.origin, "/ru/articles/1000/")
        plain, _ = raw(replica.origin, "/ru/articles/1000/")
        sent = replica.sent_log()
    assert (stalled, ending, comments, comments_end) == (b"", "reset", b"", "reset") and waited >= 0.3
    logged = {(e["fault"], e["wire_bytes"], e["wire_end"]) for e in sent if e["fault"] != "trickle"}
    assert logged == {
        ("image_timeout", 0, "abort"),
        ("comments_timeout", 0, "abort"),
        (None, len(plain), "close"),
    }
    assert trickled.split(b"\r\n\r\n", 1)[1] == plain.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--faults", "boom:*"], "argument --faults: fault item 'boom:*': unknown fault kind 'boom'"),
        (["--faults", "rate=0.2,kinds=reset+nope"], "unknown fault kind 'nope'"),
        (["--latency", "-1"], "argument --latency: must be 0 to 600000 ms, got '-1'"),
        (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
    ],
    ids=["kind", "kinds", "latency", "seed"],
)
def test_bad_hostile_options_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    done = run_cli("replica", "--port", "0", *args, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr
