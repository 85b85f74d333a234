"""ParsePool: run the page objects (articles and listings) in a worker process, so parsing uses the second core.

A crawl is one Python process: downloading, WARC writing and the pipelines share one core, and parsing a page
(lxml, state JSON, Markdown) costs about as much as all of them together. The spider hands each page to this
pool, still content-encoded as it came (decompressing is the worker's job too), and awaits the item; with
``HABR_PARSE_WORKERS = 0`` it parses in the crawl process instead (same result, same errors: the page objects
are pure, and their exceptions pickle).

Why not ``concurrent.futures.ProcessPoolExecutor``: it moves work through two helper threads in the crawl
process that need the GIL the reactor holds, and keeps only one call queued ahead of each worker. Measured on
the 2,000-post benchmark, the worker then spent a third of the crawl waiting to receive work or to hand back a
result, and the crawl process idled waiting for the worker. Here the reactor's own event loop writes length-framed
pickles to the worker's stdin and reads the answers from its stdout: no threads, and the pipes (1 MiB where the
kernel allows) keep many pages queued ahead of the worker.

The worker ends when its stdin reaches end of file: when the pool closes it, and when the crawl process dies,
even by ``kill -9`` (the kernel closes the pipe).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from habrmirror.archive.reader import DecodedTooLarge
from habrmirror.capture import (
    CaptureResult,
    CommentsAnswer,
    FetchedPage,
    PageSize,
    decode_page,
    judge,
    parse_encoded,
    read_comments_answer,
)
from habrmirror.items import Article
from habrmirror.pages.errors import ParseError
from habrmirror.pages.listing import ListingPage, parse_listing

T = TypeVar("T")
logger = logging.getLogger(__name__)

FRAME = struct.Struct("!I")  # every message: its length, then a pickle
# Pages already queued in a worker above which the crawl process decompresses the next one itself.
BACKLOG_TO_DECODE_HERE = 4
PIPE_SIZE = 1 << 20  # bytes the kernel may buffer per pipe (F_SETPIPE_SZ; the default 64 KiB holds one page)


# What a worker may be asked to run, by name (a request names its task; code never crosses the pipe).
TASKS: dict[str, Callable[..., Any]] = {
    "article": parse_encoded,
    "capture": judge,
    "comments": read_comments_answer,
    "listing": parse_listing,
}


class WorkerDied(RuntimeError):
    """The worker process ended with requests unanswered (a crash in a C library, a kill)."""


# ---------------------------------------------------------------------------------------------------------
# The worker process.


def serve(inbox: BinaryIO, outbox: int) -> None:
    """Answer framed ``(seq, task, args)`` requests with framed ``(seq, ok, result or exception)`` until EOF."""
    while True:
        header = inbox.read(FRAME.size)
        if len(header) < FRAME.size:
            return  # the pool closed the pipe, or the crawl process is gone
        (size,) = FRAME.unpack(header)
        request = inbox.read(size)
        if len(request) < size:
            return  # cut off mid-request: the crawl process died while writing it
        seq, task, args = pickle.loads(request)
        try:
            answer: tuple[int, bool, Any] = (seq, True, TASKS[task](*args))
        except Exception as error:  # the page's typed error, or a parser bug: the crawl decides what it means
            answer = (seq, False, error)
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # an exception that does not pickle still reaches the crawl as text
            payload = pickle.dumps((seq, False, ParseError(f"{answer[2]!r} (unpicklable: {error})")))
        try:
            _write_all(outbox, FRAME.pack(len(payload)) + payload)
        except BrokenPipeError:
            return  # the crawl process is gone


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def worker_main() -> None:
    """Entry point of ``python -m habrmirror.crawl.parse_pool``: the protocol on stdin/stdout, stray output to stderr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the crawl decides
    outbox = os.dup(1)
    os.dup2(2, 1)  # a print() anywhere in the parsers must not corrupt the protocol
    _grow_pipe(0)
    _grow_pipe(outbox)
    serve(sys.stdin.buffer, outbox)


def _grow_pipe(fd: int) -> None:
    """Best effort: larger pipe buffers let the worker run ahead of the reactor and vice versa."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass  # not Linux, or above the system's pipe-max-size: the default buffer still works


# ---------------------------------------------------------------------------------------------------------
# The crawl side.


class _Worker(asyncio.Protocol):
    """One worker process and its two pipes, driven by the event loop that started it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "habrmirror.crawl.parse_pool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.alive = True
        self._buffer = bytearray()
        self._seq = itertools.count()
        self._writer: asyncio.WriteTransport | None = None
        self._reader: asyncio.ReadTransport | None = None
        self.ready = loop.create_task(self._connect())

    async def _connect(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        _grow_pipe(self.process.stdin.fileno())
        self._writer, _ = await self.loop.connect_write_pipe(asyncio.BaseProtocol, self.process.stdin)
        self._reader, _ = await self.loop.connect_read_pipe(lambda: self, self.process.stdout)

    def submit(self, task: str, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        if not self.alive or self._writer is None or self._writer.is_closing():
            raise WorkerDied("the parse worker is not running")
        seq = next(self._seq)
        future = self.loop.create_future()
        self.pending[seq] = future
        payload = pickle.dumps((seq, task, args), protocol=pickle.HIGHEST_PROTOCOL)
        self._writer.writelines((FRAME.pack(len(payload)), payload))
        return future

    # asyncio.Protocol, for the worker's stdout
    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= FRAME.size:
            (size,) = FRAME.unpack_from(buffer, start)
            end = start + FRAME.size + size
            if len(buffer) < end:
                break
            seq, ok, value = pickle.loads(memoryview(buffer)[start + FRAME.size : end])
            start = end
            future = self.pending.pop(seq, None)
            if future is None or future.done():
                continue  # its caller was cancelled
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        """The worker's stdout closed: it exited. Whatever it had not answered fails (and is retried)."""
        self.alive = False
        code = self.process.poll()
        for future in self.pending.values():
            if not future.done():
                future.set_exception(WorkerDied(f"the parse worker exited (code {code})"))
        self.pending.clear()

    def close(self) -> None:
        """End of input: the worker finishes what it has, then exits; killed if it has not after 10 s."""
        self.alive = False
        if not self.loop.is_closed():
            self.ready.cancel()
            # Unregister both pipes from the event loop now (abort: unsent requests are moot), then close
            # them here rather than in the loop's next turn, so the worker sees end of file while we wait.
            if self._writer is not None and not self._writer.is_closing():
                self._writer.abort()
            if self._reader is not None and not self._reader.is_closing():
                self._reader.close()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ParsePool:
    """``await pool.parse(url, body, fetched_at)`` -> Article, in a worker process when ``workers > 0``."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._running: list[_Worker] = []

    async def parse(
        self, url: str, body: bytes, fetched_at: datetime, content_encoding: str | None = None
    ) -> Article:
        """The article of a page; ``content_encoding`` names codings still applied to ``body``."""
        if self.workers <= 0:
            return parse_encoded(url, body, content_encoding, fetched_at)
        if content_encoding and self._backlog() >= BACKLOG_TO_DECODE_HERE:
            # The workers are behind (the crawl process is waiting on them): decompress here, so both cores
            # share the work. Measured on the 2,000-post benchmark: the crawl 5% faster end to end.
            body, content_encoding = decode_page(body, content_encoding), None
        return cast(Article, await self._run("article", (url, body, content_encoding, fetched_at)))

    async def judge(self, page: FetchedPage) -> CaptureResult:
        """:func:`habrmirror.capture.judge` of a fetched article page (status, size, decoding, parsing)."""
        if self.workers <= 0 or (page.size is not None and page.size.truncated):
            return judge(page)  # a truncated page is judged on its flag alone: nothing to decode or parse
        if page.content_encoding and self._backlog() >= BACKLOG_TO_DECODE_HERE:
            # As in parse(): the workers are behind, so this process decompresses (a body that does not
            # decode, or decodes past its limit, is judged here, the same way the worker would).
            limit = (page.size or PageSize()).max_decoded_bytes
            try:
                page.body, page.content_encoding = decode_page(page.body, page.content_encoding, limit), None
            except (ParseError, DecodedTooLarge):
                return judge(page)
        return cast(CaptureResult, await self._run("capture", (page,)))

    async def read_comments(self, page: FetchedPage) -> CommentsAnswer:
        """:func:`habrmirror.capture.read_comments_answer` of a comments API answer, in the worker."""
        if self.workers <= 0:
            return read_comments_answer(page)
        return cast(CommentsAnswer, await self._run("comments", (page,)))

    async def parse_listing(self, url: str, body: bytes) -> ListingPage:
        """The entries of a listing page (same pool, so the crawl's main process only routes)."""
        if self.workers <= 0:
            return parse_listing(url, body)
        return cast(ListingPage, await self._run("listing", (url, body)))

    async def _run(self, task: str, args: tuple[Any, ...]) -> Any:
        """Run in the least busy worker; a worker that died is replaced and the page tried once more there."""
        for attempt in (1, 2):
            worker = self._pick()
            if not worker.ready.done():
                await worker.ready
            try:
                return await worker.submit(task, args)
            except WorkerDied:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _pick(self) -> _Worker:
        loop = asyncio.get_running_loop()
        if any(worker.loop is not loop for worker in self._running):
            self.close()  # started under an event loop that has ended (asyncio.run in tests): start afresh
        for worker in [w for w in self._running if not w.alive]:
            self._running.remove(worker)
            worker.close()
        if len(self._running) < self.workers:
            self._running.append(_Worker(loop))
        return min(self._running, key=lambda w: len(w.pending))

    def start(self) -> None:
        """Start the workers now (inside the event loop), so their start-up overlaps the first downloads
        instead of delaying the first page's parse."""
        while self.workers > len(self._running):
            self._running.append(_Worker(asyncio.get_running_loop()))

    def _backlog(self) -> int:
        """Pages waiting in the least busy worker."""
        return min((len(worker.pending) for worker in self._running), default=0)

    def pids(self) -> list[int]:
        """Process ids of the running workers."""
        return [worker.process.pid for worker in self._running]

    def close(self) -> None:
        """Stop the workers. Never raises: it runs while the crawl closes, which must still write its index."""
        running, self._running = self._running, []
        for worker in running:
            try:
                worker.close()
            except Exception:
                logger.exception("could not stop parse worker %d cleanly", worker.process.pid)


if __name__ == "__main__":
    worker_main()
