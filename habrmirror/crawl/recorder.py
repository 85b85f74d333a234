"""WarcRecorder: the Scrapy extension that writes every HTTP exchange of a crawl to the archive's WARC files.

Third step of the flow (response recorded to WARC). It listens to ``response_downloaded``, which Scrapy sends
before the downloader middlewares decompress bodies or follow redirects, so every hop (redirects, images,
robots.txt, error pages) is stored as it came over the wire. The pointers of what it wrote go into
``request.meta["habr_warc"]`` for the pipelines. What Scrapy does not keep is reconstructed in
:func:`exchange_from_scrapy`, the one place that does it (README, "Reconstructions").
"""

from __future__ import annotations

import logging
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from habrmirror.archive.cdxj import CdxjLines
from habrmirror.archive.digests import DigestIndex
from habrmirror.archive.warc import HttpExchange, WarcWriter
from habrmirror.capture import FetchedPage
from habrmirror.clock import utc_now
from habrmirror.crawl.download_handler import WIRE_META_KEY
from habrmirror.crawl.session import ArchiveSession

logger = logging.getLogger(__name__)

PAGE_SIZE_META = "habr_page_size"  # request.meta key: the capture.PageSize an article page came under
WARC_META_KEY = "habr_warc"  # request.meta key holding the WrittenExchange of the latest hop
FETCHED_AT_META = "habr_fetched_at"  # request.meta key: when that hop was downloaded (its WARC-Date)


def standard_reason(status: int) -> str:
    """The standard reason phrase, used only when the download handler could not keep the one sent."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def exchange_from_scrapy(request: Request, response: Response, fetched_at: datetime) -> HttpExchange:
    """The wire exchange as far as Scrapy and Twisted let us see it (README, "Reconstructions").

    Response headers: the lines :mod:`habrmirror.crawl.download_handler` saw arrive, in order, duplicates and
    connection headers included (the writer leaves ``Transfer-Encoding`` out of a de-chunked body's record).
    A response that did not come through that handler has the headers Scrapy kept, as Scrapy has them: its
    ``Content-Length`` first, then Twisted's list (one entry per name, its values together). Nothing is added.
    Request headers: what Scrapy sent, ``Host`` first (Twisted adds it from the URL), ``Content-Length`` of a
    body. A body that came chunked is stored de-chunked and flagged; one cut at its size limit is flagged
    ``WARC-Truncated: length``.
    """
    parts = urlsplit(request.url)
    request_headers = [("Host", parts.netloc)]
    for name, values in request.headers.items():
        for value in values:
            request_headers.append((name.decode("latin-1"), value.decode("latin-1")))
    if request.body:
        request_headers.append(("Content-Length", str(len(request.body))))

    wire = request.meta.get(WIRE_META_KEY) or {}
    response_headers = wire.get("headers")
    if response_headers is None:
        response_headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in response.headers.items()
            for value in values
        ]
    return HttpExchange(
        url=request.url,
        method=request.method,
        request_headers=request_headers,
        request_body=request.body or b"",
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        reason=wire.get("reason") or standard_reason(response.status),
        response_headers=list(response_headers),
        body=response.body,
        fetched_at=fetched_at,
        ip_address=str(response.ip_address) if response.ip_address else None,
        dechunked=bool(wire) and wire.get("length") is None and bool(response.body),
        truncated="length" if wire.get("truncated_at") else None,
    )


class WarcRecorder:
    """Owns the crawl's :class:`WarcWriter`; records each downloaded response with its request."""

    def __init__(
        self,
        session: ArchiveSession,
        max_size: int,
        gzip_level: int,
        dedup: bool,
        cdxj: bool,
        spider: str,
        prefix: str = "habrmirror",
    ) -> None:
        self.session = session
        self.cdxj_lines = CdxjLines() if cdxj else None  # None: no CDXJ (HABR_CDXJ off)
        root = session.root
        self.digests = DigestIndex(root) if dedup else None
        for path in session.writer.repaired_warcs:
            self._finished(path)
        self.writer = WarcWriter(
            root,
            prefix=prefix,
            max_size=max_size,
            gzip_level=gzip_level,
            warcinfo={
                "operator": "habrmirror",
                "description": f"habrmirror {spider} crawl of {session.origin}",
                "isPartOf": str(root.name),
            },
            digests=self.digests,
            on_close=self._finished,
        )
        session.add_closer(self.close)
        session.add_syncer(self.writer.sync)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcRecorder:
        settings = crawler.settings
        recorder = cls(
            ArchiveSession.of(crawler),
            max_size=settings.getint("HABR_WARC_MAX_SIZE"),
            gzip_level=settings.getint("HABR_WARC_GZIP_LEVEL", 6),
            dedup=settings.getbool("HABR_WARC_DEDUP", True),
            cdxj=settings.getbool("HABR_CDXJ", True),
            spider=crawler.spidercls.name,
            prefix=_warc_prefix(crawler),
        )
        crawler.signals.connect(recorder.response_downloaded, signal=signals.response_downloaded)
        return recorder

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        fetched_at = utc_now()
        exchange = exchange_from_scrapy(request, response, fetched_at=fetched_at)
        written = self.writer.write_exchange(exchange)
        request.meta[WARC_META_KEY] = written
        request.meta[FETCHED_AT_META] = fetched_at
        if self.cdxj_lines is not None:
            self.cdxj_lines.add_exchange(exchange, written)
        self.session.stats_inc("warc/records")

    def close(self) -> None:
        """Close the WARC (commits its digests), then the digest index."""
        self.writer.close()
        if self.digests is not None:
            self.digests.close()

    def _finished(self, path: Path) -> None:
        """A WARC file was closed: list it in the run summary and index it for replay tools."""
        self.session.note_warc_file(path)
        if self.cdxj_lines is not None:
            try:
                self.cdxj_lines.write(path, self.session.writer.archive.cdxj_dir)
            except Exception as error:  # the WARC is safe; a missing CDXJ is rebuilt by `habrmirror reindex`
                logger.error("could not write the CDXJ index of %s: %s", path, error)


def _warc_prefix(crawler: Crawler) -> str:
    """``HABR_WARC_PREFIX``; a shared job's worker adds its id, so its files keep their names in the job's
    archive beside every other worker's."""
    prefix = crawler.settings.get("HABR_WARC_PREFIX") or "habrmirror"
    worker = getattr(crawler, "_habr_frontier", None)
    return f"{prefix}-{worker.frontier.worker}" if worker is not None else prefix


def fetched_page(response: Response, article_id: int | None = None) -> FetchedPage:
    """The capture's view of a recorded response: its body as received, where the WARC holds it (for a
    revisit: the original), and the size limits it was downloaded under."""
    written = response.meta.get(WARC_META_KEY)
    encoding = response.headers.get(b"Content-Encoding")
    return FetchedPage(
        url=response.url,
        status=response.status,
        body=response.body,
        fetched_at=response.meta.get(FETCHED_AT_META) or utc_now(),
        content_encoding=encoding.decode("latin-1") if encoding else None,
        pointer=written.content_pointer if written else None,
        revisit=bool(written and written.revisit_of),
        article_id=article_id,
        size=response.meta.get(PAGE_SIZE_META),
    )
