"""HTTP download handler that keeps what the WARC needs and Scrapy drops, and caps what a response may cost.

Twisted parses the status line and the headers, then hands Scrapy a response without the reason phrase and
with the connection headers (Content-Length, Transfer-Encoding, Connection, Keep-Alive) taken out of the
header list. This handler is Scrapy's own HTTP/1.1 handler with three hooks, all in ``request.meta["habr_wire"]``
for the WARC recorder (README, "Reconstructions" and "Limits"):

* the response parser notes every header line as it arrives (name as sent, value without the surrounding
  whitespace), so the stored headers are the received ones in their order, duplicates and connection headers
  included; the phrase as sent and the length Twisted framed the body with (``None``: chunked or read to close);
* the body reader stops at the request's ``download_maxsize`` (Scrapy's meta key, else ``DOWNLOAD_MAXSIZE``)
  and, where Scrapy would cancel the download and drop what arrived, keeps the first ``maxsize`` bytes and
  finishes the response as truncated (``truncated_at``): it is recorded with ``WARC-Truncated: length``;
* a connection closed mid-body says after how many of how many bytes, and a header line too long to parse
  says so (:class:`~habrmirror.capture.DownloadProblem`), instead of Twisted's "Connection was closed cleanly".

The agent's ``_cb_bodyready`` is Scrapy 2.19's, repeated with the reader swapped and without the early cancel of a
body whose Content-Length is over the limit (that one is read up to the limit and stored truncated too).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from scrapy import signals
from scrapy.core.downloader.handlers.http11 import (  # the hook points; private to Scrapy
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ResponseReader,
    _ResultT,
)
from scrapy.core.downloader.handlers.http11 import _ScrapyAgent as ScrapyAgent
from scrapy.exceptions import ResponseDataLossError
from scrapy.http import Request, Response
from scrapy.utils._download_handlers import (
    check_stop_download,
    get_maxsize_msg,
    get_warnsize_msg,
    wrap_twisted_exceptions,
)
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web.client import Response as TxResponse
from twisted.web.client import ResponseFailed
from twisted.web.iweb import UNKNOWN_LENGTH

from habrmirror.capture import DownloadProblem

logger = logging.getLogger(__name__)

WIRE_META_KEY = "habr_wire"
TRUNCATED_FLAG = "truncated"  # response.flags entry of a body cut at its size limit
_HEADERS_ATTR = "_habr_headers"  # on Twisted's response: the header lines as received


class _WireParser(_LenientHTTPClientParser):
    """Scrapy's lenient response parser, noting each header line in arrival order (no state in ``__init__``:
    Scrapy swaps the class of a parser it has already built)."""

    def headerReceived(self, name: bytes, value: bytes) -> None:  # noqa: N802 - Twisted's naming
        self.__dict__.setdefault(_HEADERS_ATTR, []).append((name, value))
        super().headerReceived(name, value)  # type: ignore[no-untyped-call]

    def allHeadersReceived(self) -> None:  # noqa: N802
        # A 1xx interim response starts the header list afresh, like Twisted's parser does.
        setattr(self.response, _HEADERS_ATTR, self.__dict__.pop(_HEADERS_ATTR, []))
        super().allHeadersReceived()  # type: ignore[no-untyped-call]

    def lineLengthExceeded(self, line: bytes) -> None:  # noqa: N802
        # Twisted would just drop the connection ("Connection was closed cleanly"); the client protocol turns
        # this exception into the failure of the request instead.
        raise DownloadProblem(
            f"the server's response headers were too large or malformed "
            f"(a header line of more than {self.MAX_LENGTH} bytes)"
        )

    def statusReceived(self, status: bytes) -> None:  # noqa: N802
        try:
            super().statusReceived(status)  # type: ignore[no-untyped-call]
        except Exception:
            shown = status[:80].decode("latin-1")
            raise DownloadProblem(
                f"the server's response headers were too large or malformed (status line {shown!r})"
            ) from None


class _WireProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: Any) -> Deferred[Any]:
        deferred = super().request(request)
        assert self._parser is not None
        self._parser.__class__ = _WireParser
        return deferred


class _WireClientFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: Any) -> _WireProtocol:  # noqa: N802
        return _WireProtocol(self._quiescentCallback)  # type: ignore[no-untyped-call]


class _CappedReader(_ResponseReader):
    """Scrapy's body reader, except that passing ``maxsize`` keeps the first ``maxsize`` bytes and ends the
    response there (flag ``truncated``), and a data loss says how much of the body arrived."""

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self._finished.called:
            return
        if self._maxsize and self._bytes_received + len(data) > self._maxsize:
            keep = self._maxsize - self._bytes_received
            self._bodybuf.write(data[:keep])
            self._bytes_received += keep
            logger.warning(
                "%s is larger than its limit of %d bytes: stored truncated", self._request.url, self._maxsize
            )
            transport = cast(Any, self.transport)  # Twisted's TransportProxyProducer over the connection
            transport.stopProducing()  # closes the connection: the rest of the body is never read
            transport.loseConnection()
            self._finish_response(flags=[TRUNCATED_FLAG])
            return
        super().dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        if not self._finished.called and reason.check(ResponseFailed) and self._fail_on_dataloss:
            expected = self._txresponse.length
            received = self._bytes_received
            if expected == UNKNOWN_LENGTH:
                message = f"connection closed after {received} bytes of a chunked body, before its last chunk"
            else:
                message = f"connection closed after {received} of {expected} bytes of the body"
            error = ResponseDataLossError(message)
            error.__cause__ = reason.value
            self._finished.errback(Failure(error))
            return
        super().connectionLost(reason)


class _WireAgent(ScrapyAgent):
    """Scrapy's per-request agent with the capped reader, annotating the request with what the WARC needs."""

    _habr_request: Request

    def download_request(self, request: Request) -> Any:
        self._habr_request = request
        return super().download_request(request)

    def _cb_bodyready(self, txresponse: TxResponse, request: Request) -> _ResultT | Deferred[_ResultT]:
        if stop_download := check_stop_download(
            signals.headers_received,
            self._crawler,
            request,
            headers=self._headers_from_twisted_response(txresponse),
            body_length=txresponse.length,
        ):
            txresponse._transport.stopProducing()
            txresponse._transport.loseConnection()
            return {"txresponse": txresponse, "stop_download": stop_download}
        if cast("int", txresponse.length) == 0:  # deliverBody hangs for responses without body
            return {
                "txresponse": txresponse,
                "certificate": getattr(txresponse, "_scrapy_certificate", None),
                "ip_address": getattr(txresponse, "_scrapy_ip_address", None),
            }
        maxsize = request.meta.get("download_maxsize", self._maxsize)
        warnsize = request.meta.get("download_warnsize", self._warnsize)
        expected = cast("int", txresponse.length) if txresponse.length != UNKNOWN_LENGTH else -1
        if maxsize and expected > maxsize:
            logger.warning(
                get_maxsize_msg(expected, maxsize, request, expected=True) + " Storing it truncated."
            )
        reached_warnsize = bool(warnsize and expected > warnsize)
        if reached_warnsize:
            logger.warning(get_warnsize_msg(expected, warnsize, request, expected=True))
        finished: Deferred[_ResultT] = Deferred(lambda _: txresponse._transport._producer.abortConnection())
        txresponse.deliverBody(
            _CappedReader(
                finished=finished,
                txresponse=txresponse,
                request=request,
                maxsize=maxsize,
                warnsize=warnsize,
                reached_warnsize=reached_warnsize,
                fail_on_dataloss=request.meta.get("download_fail_on_dataloss", self._fail_on_dataloss),
                crawler=self._crawler,
                tls_verbose_logging=self._tls_verbose_logging,
            )
        )
        self._txresponse = txresponse  # for timeouts
        return finished

    def _cb_bodydone(self, result: Any, url: str) -> Response:
        txresponse = result["txresponse"]
        length = txresponse.length
        truncated = TRUNCATED_FLAG in (result.get("flags") or [])
        raw_headers = getattr(txresponse, _HEADERS_ATTR, None)
        self._habr_request.meta[WIRE_META_KEY] = {
            "reason": (txresponse.phrase or b"").decode("latin-1"),
            "length": None if length == UNKNOWN_LENGTH else int(length),
            # None when the parser was not ours (the headers Scrapy kept are stored then)
            "headers": None
            if raw_headers is None
            else [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers],
            "truncated_at": self._habr_request.meta.get("download_maxsize", self._maxsize)
            if truncated
            else None,
        }
        return super()._cb_bodydone(result, url)


class WireDownloadHandler(HTTP11DownloadHandler):
    """``DOWNLOAD_HANDLERS`` entry for http/https: Scrapy's handler with :class:`_WireAgent` and its parser."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._pool._factory = _WireClientFactory

    async def download_request(self, request: Request) -> Response:
        agent = _WireAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))
