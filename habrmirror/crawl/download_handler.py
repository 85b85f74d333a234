"""HTTP download handler that keeps what the WARC needs and Scrapy drops: the reason phrase and the framing.

Twisted parses the status line and the connection headers (Content-Length, Transfer-Encoding, Connection) but
Scrapy's response keeps neither the phrase nor those headers. This handler is Scrapy's own HTTP/1.1 handler
(its ``download_request`` repeated, minus deprecated spider attributes) with one hook: when a body is complete it stores, in ``request.meta["habr_wire"]``, the phrase as sent and the
length Twisted framed the body with (``None`` when it was chunked or read to connection close). The WARC
recorder turns that into the stored status line and headers (README, "Reconstructions").
"""

from __future__ import annotations

from typing import Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.core.downloader.handlers.http11 import _ScrapyAgent as ScrapyAgent  # the hook point; private
from scrapy.http import Request, Response
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.web.iweb import UNKNOWN_LENGTH

WIRE_META_KEY = "habr_wire"


class _WireAgent(ScrapyAgent):
    """Scrapy's per-request agent, remembering the request so the body callback can annotate it."""

    _habr_request: Request

    def download_request(self, request: Request) -> Any:
        self._habr_request = request
        return super().download_request(request)

    def _cb_bodydone(self, result: Any, url: str) -> Response:
        txresponse = result["txresponse"]
        length = txresponse.length
        self._habr_request.meta[WIRE_META_KEY] = {
            "reason": (txresponse.phrase or b"").decode("latin-1"),
            "length": None if length == UNKNOWN_LENGTH else int(length),
        }
        return super()._cb_bodydone(result, url)


class WireDownloadHandler(HTTP11DownloadHandler):
    """``DOWNLOAD_HANDLERS`` entry for http/https: Scrapy's handler with :class:`_WireAgent`."""

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
