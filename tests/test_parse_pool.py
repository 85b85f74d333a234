"""The parse worker gives the same item as parsing in-process, and dies with a killed crawl."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from habrmirror.crawl.parse_pool import ParsePool
from habrmirror.pages import parse_article
from habrmirror.pages.errors import NotAnArticlePage
from tests.conftest import FIXTURES, ROOT

WHEN = datetime(2026, 11, 25, tzinfo=timezone.utc)


def test_worker_and_in_process_parse_agree() -> None:
    body = (FIXTURES / "article-tm-724768-browsersaved-2023.html").read_bytes()
    url = "https://habr.com/ru/articles/724768/"
    pool = ParsePool(workers=1)
    try:
        remote = asyncio.run(pool.parse(url, body, WHEN))
        listing = (FIXTURES / "listing-articles-ru-2025-04.html").read_bytes()
        try:
            asyncio.run(pool.parse("https://habr.com/ru/articles/1/", listing, WHEN))
            raise AssertionError("a listing parsed as an article")
        except NotAnArticlePage:
            pass  # typed errors cross the process boundary
    finally:
        pool.close()
    assert remote == parse_article(url, body, WHEN)


WORKER_THEN_SLEEP = """
import asyncio, time
from habrmirror.crawl.parse_pool import ParsePool
from tests.conftest import FIXTURES

async def main():
    pool = ParsePool(workers=1)
    body = (FIXTURES / "listing-articles-ru-2025-04.html").read_bytes()
    page = await pool.parse_listing("https://habr.com/ru/articles/", body)
    print(len(page.entries), flush=True)
    time.sleep(60)  # the reactor busy or hung: the worker must still go when this process is killed

asyncio.run(main())
"""


def worker_pids(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(entry))
    return pids


def test_worker_exits_when_the_crawl_is_killed() -> None:
    crawl = subprocess.Popen(
        [sys.executable, "-c", WORKER_THEN_SLEEP], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert crawl.stdout is not None and crawl.stdout.readline().strip() == "20"
    children = worker_pids(crawl.pid)
    assert children, "no worker process started"
    os.kill(crawl.pid, signal.SIGKILL)
    crawl.wait()
    deadline = time.monotonic() + 10
    alive = children
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if running(pid)]
    assert not alive, f"orphaned workers still running: {alive}"


def running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_dead_worker_is_replaced() -> None:
    body = (FIXTURES / "article-tm-568382-2021.html").read_bytes()
    pool = ParsePool(workers=1)

    async def scenario() -> str | None:
        await pool.parse("https://habr.com/ru/post/568382/", body, WHEN)
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGKILL)  # a worker that crashed in lxml, say
        await asyncio.sleep(0.5)  # let the pool see the pipe close
        article = await pool.parse("https://habr.com/ru/post/568382/", body, WHEN)
        assert pool.pids() != [pid], "the dead worker was not replaced"
        return article.title

    try:
        assert asyncio.run(scenario()) == "Digital-мероприятия в Москве c 19 по 25 июля"
    finally:
        pool.close()


def test_pages_sent_while_the_worker_is_busy_give_the_same_items(monkeypatch) -> None:
    """A backlog makes the crawl process decompress pages itself: same items, same errors as the worker path."""
    import gzip

    from habrmirror.crawl import parse_pool
    from habrmirror.pages.errors import ParseError

    decoded_here = []
    real_decode = parse_pool.decode_page

    def counting_decode(body: bytes, encoding: str | None) -> bytes:
        decoded_here.append(encoding)
        return real_decode(body, encoding)

    monkeypatch.setattr(parse_pool, "decode_page", counting_decode)  # the crawl process only

    url = "https://habr.com/ru/articles/724768/"
    body = (FIXTURES / "article-tm-724768-browsersaved-2023.html").read_bytes()
    encoded = gzip.compress(body)
    pool = ParsePool(workers=1)

    async def scenario() -> list:
        await pool.parse(url, encoded, WHEN, "gzip")  # the worker is up: later calls queue behind each other
        calls = [pool.parse(url, encoded, WHEN, "gzip") for _ in range(12)]
        calls.append(pool.parse(url, encoded[:-40] + b"garbage", WHEN, "gzip"))  # a torn gzip body
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        results = asyncio.run(scenario())
    finally:
        pool.close()
    expected = parse_article(url, body, WHEN)
    assert results[:12] == [expected] * 12
    # the first BACKLOG_TO_DECODE_HERE go to the worker encoded, the rest (and the torn one) are decoded here
    assert len(decoded_here) == 13 - parse_pool.BACKLOG_TO_DECODE_HERE
    assert isinstance(results[12], ParseError) and "Content-Encoding 'gzip'" in str(results[12])


def test_worker_protocol_answers_every_request_even_unpicklable_errors(monkeypatch) -> None:
    """serve(): one framed answer per framed request, in order; an exception that cannot be pickled still
    reaches the crawl (as a ParseError naming it); end of input ends the loop."""
    import io
    import pickle
    import threading

    from habrmirror.crawl import parse_pool
    from habrmirror.pages.errors import ParseError

    class Unpicklable(Exception):
        def __reduce__(self):  # type: ignore[no-untyped-def]
            raise TypeError("not picklable")

    def explode(_: str) -> None:
        raise Unpicklable("lxml said no")

    monkeypatch.setitem(parse_pool.TASKS, "explode", explode)
    listing = (FIXTURES / "listing-articles-ru-2025-04.html").read_bytes()
    requests = [
        (1, "listing", ("https://habr.com/ru/articles/", listing)),
        (2, "explode", ("x",)),
        (3, "no-such-task", ()),
    ]
    inbox = io.BytesIO(
        b"".join(parse_pool.FRAME.pack(len(p)) + p for p in (pickle.dumps(r) for r in requests))
    )
    read_end, write_end = os.pipe()
    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(b"".join(iter_pipe(read_end))))
    reader.start()
    parse_pool.serve(inbox, write_end)  # returns at end of input
    os.close(write_end)
    reader.join(10)
    answers = []
    while received:
        (size,) = parse_pool.FRAME.unpack_from(received)
        answers.append(pickle.loads(received[4 : 4 + size]))
        del received[: 4 + size]
    assert [seq for seq, _, _ in answers] == [1, 2, 3]
    assert answers[0][1] is True and len(answers[0][2].entries) == 20
    assert (
        answers[1][1] is False
        and isinstance(answers[1][2], ParseError)
        and "lxml said no" in str(answers[1][2])
    )
    assert answers[2][1] is False and isinstance(answers[2][2], KeyError)


def iter_pipe(fd: int):  # type: ignore[no-untyped-def]
    while chunk := os.read(fd, 1 << 16):
        yield chunk
    os.close(fd)


def test_two_workers_share_the_pages() -> None:
    url = "https://habr.com/ru/articles/724768/"
    body = (FIXTURES / "article-tm-724768-browsersaved-2023.html").read_bytes()
    pool = ParsePool(workers=2)

    async def scenario() -> tuple[list, list[int]]:
        results = await asyncio.gather(*(pool.parse(url, body, WHEN) for _ in range(8)))
        return results, pool.pids()

    try:
        results, pids = asyncio.run(scenario())
    finally:
        pool.close()
    assert len(set(pids)) == 2
    assert results == [parse_article(url, body, WHEN)] * 8
    assert not any(running(pid) for pid in pids), "close() left a worker running"
