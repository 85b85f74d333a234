"""ParsePool: run the page objects (articles and listings) in a worker process, so parsing uses the second core.

A crawl is one Python process: downloading, WARC writing and the pipelines share one core, and parsing a page
(lxml, state JSON, Markdown) costs more than all of them together. The spider hands each article page to this
pool, still content-encoded as it came (decompressing is the worker's job too), and awaits the item; with ``HABR_PARSE_WORKERS = 0`` it parses in the crawl process instead (same result,
same errors: the page objects are pure, and their exceptions pickle).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any, TypeVar

from habrmirror.archive.reader import UnsupportedEncoding, decode_content
from habrmirror.items import Article
from habrmirror.pages import parse_article
from habrmirror.pages.errors import ParseError
from habrmirror.pages.listing import ListingPage, parse_listing

T = TypeVar("T")


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the crawl process is gone (even after a kill -9, which leaves
    no one to shut the pool down; the worker would otherwise wait on its queue forever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def parse_encoded(url: str, body: bytes, content_encoding: str | None, fetched_at: datetime) -> Article:
    """Decode the body as it came over the wire, then parse it (both off the crawl's main process)."""
    try:
        page = decode_content(body, content_encoding)
    except (UnsupportedEncoding, OSError, zlib.error) as error:
        raise ParseError(f"cannot decode Content-Encoding {content_encoding!r}: {error}") from None
    return parse_article(url, page, fetched_at)


class ParsePool:
    """``await pool.parse(url, body, fetched_at)`` -> Article, in a worker process when ``workers > 0``."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            # "spawn": a forked child would inherit the reactor's sockets and the archive lock's descriptor.
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._executor

    async def parse(
        self, url: str, body: bytes, fetched_at: datetime, content_encoding: str | None = None
    ) -> Article:
        """The article of a page; ``content_encoding`` names codings still applied to ``body``."""
        if self.workers <= 0:
            return parse_encoded(url, body, content_encoding, fetched_at)
        return await self._run(parse_encoded, url, body, content_encoding, fetched_at)

    async def parse_listing(self, url: str, body: bytes) -> ListingPage:
        """The entries of a listing page (same pool, so the crawl's main process only routes)."""
        if self.workers <= 0:
            return parse_listing(url, body)
        return await self._run(parse_listing, url, body)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """Run in the worker; a worker that died (a crash in a C library) is replaced once, not fatal."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), function, *args)
        except BrokenProcessPool:
            self._executor = None  # the dead pool cannot be reused; the next call starts a fresh worker
            return await loop.run_in_executor(self._pool(), function, *args)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
