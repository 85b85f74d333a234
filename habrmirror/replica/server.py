"""The replica's HTTP/1.1 server: a small asyncio protocol that writes every response byte itself.

Owning the wire lets it send what Habr sends (reason phrases, gzip, chunked transfer coding, 301s, 429s)
and log exactly what went out (one JSON line per response), so WARC tests can compare a record's stored
entity body with the bytes that crossed the socket. Routing maps Habr paths to the catalog, the article
and listing renderers, the media stand-ins, robots.txt and the ``/_replica/`` control endpoints.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from habrmirror.replica import images
from habrmirror.replica.articles import MEDIA_HOSTS, ArticleRenderer, sample_bytes
from habrmirror.replica.catalog import Catalog, Entry
from habrmirror.replica.comments_page import comments_page
from habrmirror.replica.faults import BODY_PAGES, Fault, FaultPlan, bomb_body
from habrmirror.replica.listings import ListingRenderer

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
SERVER_NAME = "habrmirror-replica"
CHUNK_SIZE = 16384  # chunked responses are cut into 16 KiB chunks (the last one shorter)
HTML_TYPE = "text/html; charset=utf-8"

# Habr's robots.txt as far as public notes quote it (habr.com/robots.txt, April 2026: "User-agent: *",
# "Crawl-delay: 10", "Disallow: /search/", "Disallow: /*?*utm_", "Disallow: /ru/companies/*/fans/",
# "Disallow: /en/companies/*/fans/"; September 2026: "/ru/search/" too). Articles, listings, the comments pages
# and the comments API are not disallowed there. /_replica/ is the replica's own.
ROBOTS_BASE = """User-agent: *
Crawl-delay: 10
Disallow: /_replica/
Disallow: /search/
Disallow: /ru/search/
Disallow: /en/search/
Disallow: /*?*utm_
Disallow: /ru/companies/*/fans/
Disallow: /en/companies/*/fans/
"""
# Habr's own asset paths on the site itself (legacy favicons /images/..., /js/ads.js of 2021 pages): stand-ins.
SITE_ASSET_DIRS = ("images", "img", "js", "css", "fonts")
# The comments API (kek/v2), served for every article the replica has, from the real saved answer.
_COMMENTS_API = re.compile(r"^/kek/v2/articles/(?P<id>\d+)/comments/?$")
# A post's comments page, for every article the replica has (comments_page.py: around a real saved thread).
_COMMENTS_PAGE = re.compile(
    r"^/(?:ru|en)/(?:companies/[^/]+/)?(?:articles|news|posts)/(?P<id>\d+)/comments/$"
)
COMMENTS_SAMPLE = "api-kek-v2-comments-2021.json"

NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="UTF-8"><title>Страница не найдена / Хабр</title></head>
<body><div class="tm-error-message"><h1 class="tm-error-message__title">Страница не найдена</h1>
<p class="tm-error-message__text">Страница устарела, была удалена или не существовала вовсе (404).</p>
<a href="/ru/articles/">Все статьи</a></div></body></html>
"""

BLOCKED_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="UTF-8"><title>{status} {reason}</title></head>
<body><h1>{status} {reason}</h1><p>Слишком много запросов. Повторите через {retry} с.</p></body></html>
"""

_ARTICLE = re.compile(r"^/(?:(?P<lang>ru|en)/)?(?P<kind>articles|news|post|p)/(?P<id>\d+)/?$")
# Today's company-blog forms (/ru/companies/X/articles/ID/) and short posts (/ru/posts/ID/, /ru/companies/X/posts/ID/)
_PUBLICATION = re.compile(
    r"^/(?P<lang>ru|en)/(?:companies/[^/]+/)?(?P<kind>articles|news|posts)/(?P<id>\d+)/$"
)
_AMP = re.compile(r"^/(?:ru/)?amp/post/(?P<id>\d+)/?$")
_LISTING = re.compile(r"^/ru/(?P<kind>articles|news|all)/(?:page(?P<page>\d+)/)?$")


@dataclass
class Request:
    """One parsed request (the body, if any, is only used by control endpoints)."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """First header with this name (case-insensitive)."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass
class Response:
    """What a route returns; the connection decides gzip and chunking from ``content_type``/``status``."""

    status: int
    body: bytes = b""
    content_type: str | None = HTML_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    kind: str = "other"  # article / listing / media / robots / redirect / not_found / blocked / control
    gzipped: bytes | None = None  # the gzip encoding of ``body`` when a route has it ready
    fault: Fault | None = None  # what the hostile mode did to it (``--faults``): logged, shapes the wire


@dataclass
class Delivery:
    """How one response goes out: ``(seconds to wait, bytes to write)`` steps, then what becomes of the
    connection (``keep`` it, ``close`` it, ``abort`` it: a reset)."""

    steps: list[tuple[float, bytes]]
    end: str = "keep"


def wants_gzip(accept_encoding: str | None) -> bool:
    """True when Accept-Encoding allows gzip (``gzip;q=0`` refuses it)."""
    for part in (accept_encoding or "").split(","):
        token, *params = (piece.strip() for piece in part.split(";"))
        if token.lower() not in ("gzip", "x-gzip", "*"):
            continue
        quality = 1.0
        for param in params:
            if param.lower().startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        return quality > 0
    return False


class Replica:
    """Routes and state shared by all connections: catalog, renderers, failure plan, log, stats."""

    def __init__(
        self,
        catalog: Catalog,
        origin: str,
        log_path: Path | None = None,
        disallow: list[str] | None = None,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
    ) -> None:
        self.catalog = catalog
        self.faults = faults  # the hostile mode's plan (None: a well-behaved server)
        self.attempts: Counter[str] = Counter()  # requests per path so far: the attempt number a fault sees
        self.faults_injected: Counter[str] = Counter()  # responses the plan changed, by fault kind
        self.latency = latency  # seconds every response waits before its first byte (``--latency MS``)
        self.origin = origin
        self.articles = ArticleRenderer(catalog, origin)
        self.listings = ListingRenderer(origin)
        self.disallow = list(disallow or [])
        self.log_path = log_path
        self._log: IO[str] | None = log_path.open("a", encoding="utf-8") if log_path else None
        self._log_lock = threading.Lock()
        self.failures: list[dict[str, Any]] = []  # planned 429/503 answers, consumed in order
        self.stats: Counter[str] = Counter()
        self._gzip_cache: dict[bytes, bytes] = {}
        self._paths = {path: entry.id for entry in catalog.entries.values() for path in entry.paths}

    def close(self) -> None:
        """Close the log file."""
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- routing -------------------------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        """The response for a request, before encoding decisions; the fault plan's fault applied, if any."""
        response = self.route(request)
        if self.faults is None or request.target.startswith("/_replica/"):
            return response
        path = urlsplit(request.target).path or "/"
        self.attempts[path] += 1
        fault = self.faults.decide(path, response.kind, self.attempts[path])
        return response if fault is None else self.inject(fault, response, request)

    def inject(self, fault: Fault, response: Response, request: Request) -> Response:
        """The response as ``fault`` changes it (statuses and bodies here; resets, stalls, trickles and header
        blocks are the connection's, by ``response.fault``)."""
        kind, plan = fault.kind, self.faults
        assert plan is not None
        if kind in ("429", "503"):
            status = int(kind)
            body = BLOCKED_PAGE.format(status=status, reason=REASONS[status], retry=1).encode()
            response = Response(status, body, HTML_TYPE, [("Retry-After", "1")], kind=response.kind)
        elif kind in ("410", "403"):
            status = int(kind)
            body = f"<html><body><h1>{status} {REASONS[status]}</h1></body></html>\n".encode()
            response = Response(status, body, HTML_TYPE, kind=response.kind)
        elif kind in BODY_PAGES:
            response = Response(200, BODY_PAGES[kind].encode(), kind=response.kind)
        elif kind == "image_404":
            response = Response(404, b"not found\n", "text/plain; charset=utf-8", kind=response.kind)
        elif kind == "comments_404" and response.kind == "comments_page":
            response = Response(404, NOT_FOUND_PAGE.encode(), kind=response.kind)
        elif kind == "comments_404":
            missing = b'{"code":404,"message":"Not found"}\n'
            response = Response(404, missing, "application/json; charset=utf-8", kind=response.kind)
        elif kind == "charset":
            response.content_type = "text/html; charset=windows-1251"
        elif kind == "bad_utf8":
            body = response.body
            at = body.find(b"</h1>")
            at = at if at >= 0 else body.find(b">", body.find(b"<body")) + 1
            response.body, response.gzipped = body[:at] + b"\xff\xfe\xc3\x28" + body[at:], None
        elif kind == "redirect_loop":
            path = urlsplit(request.target).path
            location = f"{self.origin}{path}?loop={fault.attempt}"
            response = Response(302, b"", HTML_TYPE, [("Location", location)], kind=response.kind)
        elif kind == "oversized":
            pad = max(0, plan.big - len(response.body) - 7)
            response.body, response.gzipped = response.body + b"<!--" + b"x" * pad + b"-->", None
        elif kind == "huge_headers":
            response.headers = [*response.headers, ("X-Padding", "a" * 70_000)]
        elif kind in ("next_loop", "next_vanish"):
            response.body, response.gzipped = _break_next_link(response.body, kind), None
        response.fault = fault
        return response

    def route(self, request: Request) -> Response:
        """The response for a request as a well-behaved server gives it."""
        parts = urlsplit(request.target)
        path = parts.path or "/"
        if path.startswith("/_replica/"):
            return self.control(path[len("/_replica/") :].strip("/"), request, parts.query)
        if request.method not in ("GET", "HEAD"):
            return Response(
                405, b"method not allowed\n", "text/plain; charset=utf-8", [("Allow", "GET, HEAD")]
            )
        planned = self._planned_failure(path)
        if planned is not None:
            return planned
        if path == "/robots.txt":
            return Response(200, self.robots().encode(), "text/plain; charset=utf-8", kind="robots")
        first = path.split("/", 2)[1] if path.count("/") >= 2 else ""
        if first in MEDIA_HOSTS or "_files/" in path or first in SITE_ASSET_DIRS:
            data, content_type = images.resource(path)
            return Response(200, data, content_type, [("Cache-Control", "max-age=31536000")], kind="media")
        comments = _COMMENTS_API.match(path)
        if comments:
            if self.catalog.get(int(comments["id"])) is None:
                missing = b'{"code":404,"message":"Not found"}\n'
                return Response(404, missing, "application/json; charset=utf-8", kind="comments")
            return Response(
                200, sample_bytes(COMMENTS_SAMPLE), "application/json; charset=utf-8", kind="comments"
            )
        thread = _COMMENTS_PAGE.match(path)
        if thread:
            entry = self.catalog.get(int(thread["id"]))
            if entry is None:
                return self.not_found()
            return Response(200, comments_page(entry.title, entry.path), kind="comments_page")
        if path == "/mirror/index.html":
            return Response(200, sample_bytes("mirror-weekly-geekly-index.html"), kind="mirror")
        listing = _LISTING.match(path)
        if listing:
            kind, page = listing["kind"], int(listing["page"] or 1)
            entries = self.catalog.listed(kind)
            body = self.listings.page(kind, page, entries, self.catalog.version)
            if body is not None:
                return Response(200, body, kind="listing")
            return self.not_found()
        if path in self._paths:
            entry = self.catalog.get(self._paths[path])
            return self.article(entry, request) if entry else self.not_found()
        publication = _PUBLICATION.match(path)
        if publication and (
            publication["kind"] == "posts" or path.startswith(f"/{publication['lang']}/companies/")
        ):
            return self._publication_path(publication["kind"], int(publication["id"]), request)
        match = _ARTICLE.match(path)
        if match:
            return self._article_path(match["kind"], int(match["id"]), match["lang"], path, request)
        amp = _AMP.match(path)
        if amp and f"/ru/amp/publications/{amp['id']}/" in self._paths:
            return self.redirect(f"/ru/amp/publications/{amp['id']}/")
        return self.not_found()

    def _article_path(
        self, kind: str, article: int, lang: str | None, path: str, request: Request
    ) -> Response:
        entry = self.catalog.get(article)
        if entry is None or not entry.canonical:
            return self.not_found()
        if kind in ("post", "p"):  # Habr: every old form moves permanently to the current one
            return self.redirect(entry.path)
        if lang != "ru" or not path.endswith("/"):
            return self.redirect(f"/ru/{kind}/{article}/")
        if kind == "news" and entry.type != "news":
            return self.redirect(entry.path)
        return self.article(entry, request)  # /ru/articles/ID/ answers for news too

    def _publication_path(self, kind: str, article: int, request: Request) -> Response:
        """A company-blog or posts form not among the entry's own paths: a post moves to its posts path, an
        article or news entry answers 200 at its company form (today's URL of company articles) and moves from a
        posts form to its own path."""
        entry = self.catalog.get(article)
        if entry is None:
            return self.not_found()
        if entry.type == "post":
            posts = next((path for path in entry.paths if "/posts/" in path), None)
            return self.redirect(posts) if posts else self.article(entry, request)
        if not entry.canonical:
            return self.not_found()
        if kind == "posts":
            return self.redirect(entry.path)
        if kind == "news" and entry.type != "news":
            return self.redirect(entry.path)
        return self.article(entry, request)

    def article(self, entry: Entry, request: Request) -> Response:
        """200 with the article page (and its gzip form, when the renderer has it cheaply)."""
        body, packed = self.articles.render(entry, wants_gzip(request.header("Accept-Encoding")))
        return Response(200, body, kind="article", gzipped=packed)

    def redirect(self, path: str) -> Response:
        """301 to a path on the replica's own origin (absolute Location, as Habr sends)."""
        location = self.origin + path
        body = f'<html><body>Moved Permanently: <a href="{location}">{location}</a></body></html>\n'
        return Response(301, body.encode(), HTML_TYPE, [("Location", location)], kind="redirect")

    def not_found(self) -> Response:
        """404 with an HTML "not found" page."""
        return Response(404, NOT_FOUND_PAGE.encode(), kind="not_found")

    def robots(self) -> str:
        """Habr-like robots.txt plus the ``--disallow`` extras."""
        extra = "".join(f"Disallow: {path}\n" for path in self.disallow)
        return ROBOTS_BASE + extra

    def _planned_failure(self, path: str) -> Response | None:
        for plan in self.failures:
            if plan["path"] in (None, path):
                plan["remaining"] -= 1
                if plan["remaining"] <= 0:
                    self.failures.remove(plan)
                status, retry = plan["status"], plan["retry_after"]
                body = BLOCKED_PAGE.format(status=status, reason=REASONS[status], retry=retry).encode()
                return Response(status, body, HTML_TYPE, [("Retry-After", str(retry))], kind="blocked")
        return None

    # -- control endpoints ---------------------------------------------------------------------------

    def control(self, action: str, request: Request, query: str) -> Response:
        """``/_replica/<action>``: add, edit, delete, fail, stats. Parameters in the query or a JSON body."""
        params: dict[str, Any] = dict(parse_qsl(query))
        if request.body:
            try:
                params.update(json.loads(request.body))
            except ValueError:
                params.update(parse_qsl(request.body.decode("latin-1")))
        try:
            result = self._control(action, params)
        except (KeyError, ValueError) as error:
            return self._json(400, {"ok": False, "error": f"{type(error).__name__}: {error}"})
        if result is None:
            return self._json(404, {"ok": False, "error": f"unknown control action {action!r}"})
        return self._json(200, {"ok": True, **result})

    def _control(self, action: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if action == "add":
            kind = params.get("type", "article")
            if kind not in ("article", "news"):
                raise ValueError("type must be article or news")
            added = self.catalog.add(int(params.get("count", 1)), kind)
            return {
                "added": [
                    {"id": e.id, "type": e.type, "url": self.origin + e.path, "published": e.published}
                    for e in added
                ]
            }
        if action in ("edit", "delete"):
            article = int(params["id"])
            entry = self.catalog.get(article)
            if entry is None:
                raise ValueError(f"no live article {article}")
            if action == "delete":
                self.catalog.delete(article)
                return {"deleted": article}
            return {"id": article, "edits": self.catalog.edit(article), "url": self.origin + entry.path}
        if action == "fail":
            status = int(params.get("status", 429))
            if status not in (429, 503):
                raise ValueError("status must be 429 or 503")
            plan = {
                "path": params.get("path") or None,
                "remaining": int(params.get("count", 1)),
                "status": status,
                "retry_after": int(params.get("retry_after", 1)),
            }
            self.failures.append(plan)
            return {"planned": dict(plan)}
        if action == "stats":
            return {
                "origin": self.origin,
                "articles": sum(1 for e in self.catalog.entries.values() if self.catalog.get(e.id)),
                "listed": {kind: len(self.catalog.listed(kind)) for kind in ("articles", "news", "all")},
                "edits": {str(k): v for k, v in self.catalog.edits.items()},
                "deleted": sorted(self.catalog.deleted),
                "pending_failures": [dict(p) for p in self.failures],
                "responses": dict(self.stats),
                "faults": dict(self.faults_injected),
            }
        return None

    def _json(self, status: int, payload: dict[str, Any]) -> Response:
        body = (json.dumps(payload, ensure_ascii=False, sort_keys=True) + "\n").encode()
        return Response(status, body, "application/json", [("Cache-Control", "no-store")], kind="control")

    # -- encoding ------------------------------------------------------------------------------------

    def gzipped(self, body: bytes) -> bytes:
        """Deterministic gzip (mtime 0, level 6), cached per body."""
        packed = self._gzip_cache.get(body)
        if packed is None:
            if len(self._gzip_cache) > 512:
                self._gzip_cache.clear()
            packed = self._gzip_cache[body] = gzip.compress(body, compresslevel=6, mtime=0)
        return packed

    def log(self, record: dict[str, Any]) -> None:
        """One JSON line per response, flushed at once (tests read it while the server runs)."""
        self.stats[f"{record['status']} {record['kind']}"] += 1
        if record.get("fault"):
            self.faults_injected[record["fault"]] += 1
        if self._log is None:
            return
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._log_lock:
            self._log.write(line)
            self._log.flush()


_NEXT_LINK = re.compile(
    rb'<a\b[^>]*(?:data-test-id="pagination-next-page"|id="next_page")[^>]*>', re.IGNORECASE
)


def _break_next_link(body: bytes, kind: str) -> bytes:
    """A listing page whose next-page link points back to page 1 (``next_loop``) or is gone (``next_vanish``)."""
    match = _NEXT_LINK.search(body)
    if match is None:
        return body  # the last page has none to break
    if kind == "next_vanish":
        end = body.find(b"</a>", match.end())
        return body[: match.start()] + body[end + 4 :]
    tag = re.sub(rb'href="([^"]*?)page\d+/"', rb'href="\1"', match[0])
    return body[: match.start()] + tag + body[match.end() :]


_DATE_CACHE: list[Any] = [0, ""]


def http_date() -> str:
    """RFC 7231 date, recomputed once a second."""
    now = int(time.time())
    if _DATE_CACHE[0] != now:
        _DATE_CACHE[0], _DATE_CACHE[1] = now, formatdate(now, usegmt=True)
    return str(_DATE_CACHE[1])


class HttpConnection(asyncio.Protocol):
    """One client connection: parses pipelined requests and answers them in order (keep-alive)."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        # Responses not fully sent yet, in request order: a delayed one holds back those pipelined behind it.
        self.outbox: deque[Delivery] = deque()
        self.closing = False  # a response that ends the connection is queued: read no further requests
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Answer every complete request in the buffer."""
        self.buffer += data
        while self.transport is not None and not self.closing:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self._bad_request()
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ")
                headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
            except ValueError:
                self._bad_request()
                return
            request = Request(method, target, version, headers)
            length = int(request.header("Content-Length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            request.body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.answer(request)

    def _bad_request(self) -> None:
        if self.transport is not None:
            bad = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            self.send(Delivery([(0.0, bad)], "close"))

    def answer(self, request: Request) -> None:
        """Build, send and log one response."""
        replica = self.replica
        try:
            response = replica.respond(request)
        except Exception as error:  # a bug must not kill the connection silently; report it as a 500
            response = Response(500, f"replica error: {error!r}\n".encode(), "text/plain; charset=utf-8")
        connection = (request.header("Connection") or "").lower()
        keep_alive = connection != "close" and (request.version == "HTTP/1.1" or connection == "keep-alive")
        is_html = (response.content_type or "").startswith("text/html")
        fault = response.fault.kind if response.fault else None
        entity = response.body
        encoding = None
        if fault == "bomb":
            entity, encoding = bomb_body(), "gzip"
        elif (
            is_html
            and fault != "oversized"  # sent as is: gzip would shrink the padding away
            and wants_gzip(request.header("Accept-Encoding"))
            and response.status in (200, 404)
        ):
            entity, encoding = response.gzipped or replica.gzipped(entity), "gzip"
        chunked = (
            is_html
            and response.status == 200
            and request.version == "HTTP/1.1"
            and fault not in ("truncate", "bomb", "oversized")  # these lie about, or need, a Content-Length
        )
        reason = REASONS.get(response.status, "Unknown")
        headers: list[tuple[str, str]] = [("Server", SERVER_NAME), ("Date", http_date())]
        if response.content_type:
            headers.append(("Content-Type", response.content_type))
        headers.append(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(entity))))
        headers.append(("Connection", "keep-alive" if keep_alive else "close"))
        if is_html:
            headers.append(("Vary", "Accept-Encoding"))
        if encoding:
            headers.append(("Content-Encoding", encoding))
        headers += response.headers
        status_line = f"HTTP/1.1 {response.status} {reason}\r\n"
        if fault == "bad_status":
            status_line = "HTTP/1.1 two-hundred OK\r\n"
        block = status_line + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        sent = b"" if request.method == "HEAD" else entity
        if chunked and sent:
            pieces = [
                b"%x\r\n%s\r\n" % (len(sent[i : i + CHUNK_SIZE]), sent[i : i + CHUNK_SIZE])
                for i in range(0, len(sent), CHUNK_SIZE)
            ]
            wire = b"".join(pieces) + b"0\r\n\r\n"
        elif chunked:
            wire = b"" if request.method == "HEAD" else b"0\r\n\r\n"
        else:
            wire = sent
        delivery = self.delivery(block.encode("latin-1"), wire, fault, keep_alive)
        wire_bytes = sum(len(data) for _, data in delivery.steps)  # before send() consumes the steps
        self.send(delivery)
        replica.log(
            {
                "time": datetime.now(timezone.utc).isoformat(),
                "method": request.method,
                "target": request.target,
                "http_version": request.version,
                "request_headers": [list(pair) for pair in request.headers],
                "status": response.status,
                "reason": reason,
                "kind": response.kind,
                "header_block": block,
                "headers": [list(pair) for pair in headers],
                "chunked": chunked,
                "content_encoding": encoding,
                "body_sha256": hashlib.sha256(sent).hexdigest(),
                "body_length": len(sent),
                "fault": fault,
                "wire_bytes": wire_bytes,
                "wire_end": delivery.end,
                "attempt": response.fault.attempt if response.fault else None,
            }
        )

    def delivery(self, head: bytes, wire: bytes, fault: str | None, keep_alive: bool) -> Delivery:
        """How the bytes go out: at once after ``--latency``, or as the fault has it."""
        wait = self.replica.latency
        end = "keep" if keep_alive else "close"
        plan = self.replica.faults
        if fault == "reset":
            return Delivery([(wait, head + wire[: len(wire) // 2])], "abort")
        if fault == "truncate":
            return Delivery([(wait, head + wire[: len(wire) // 2])], "close")
        if fault in ("image_timeout", "comments_timeout"):
            assert plan is not None
            return Delivery([(wait + plan.hang, b"")], "abort")  # nothing at all, then a reset
        if fault == "trickle" and wire:
            assert plan is not None
            size = -(-len(wire) // 8)
            pieces = [wire[i : i + size] for i in range(0, len(wire), size)]
            steps = [(wait, head)] + [(plan.trickle / len(pieces), piece) for piece in pieces]
            return Delivery(steps, end)
        return Delivery([(wait, head + wire)], end)

    def send(self, delivery: Delivery) -> None:
        """Queue a response; it goes out once those before it have (pipelined answers stay in order)."""
        if delivery.end != "keep":
            self.closing = True
        self.outbox.append(delivery)
        if len(self.outbox) == 1:
            self._pump()

    def _pump(self) -> None:
        """Write the head delivery's steps, waiting (``call_later``, never blocking the loop) where one says so."""
        self._timer = None
        while self.outbox and self.transport is not None:
            delivery = self.outbox[0]
            while delivery.steps:
                delay, data = delivery.steps[0]
                if delay > 0:
                    delivery.steps[0] = (0.0, data)
                    self._timer = asyncio.get_running_loop().call_later(delay, self._pump)
                    return
                delivery.steps.pop(0)
                if data:
                    self.transport.write(data)
            self.outbox.popleft()
            if delivery.end == "close":
                self.transport.close()
                self.transport = None
            elif delivery.end == "abort":  # a TCP reset: whatever is still buffered is dropped too
                sock = self.transport.get_extra_info("socket")
                if sock is not None:  # linger 0: close sends RST, not FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.transport.abort()
                self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the transport and what was still to be sent on it."""
        self.transport = None
        self.outbox.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


async def start_server(
    replica_factory: Any, host: str = "127.0.0.1", port: int = 0
) -> tuple[asyncio.Server, Replica]:
    """Bind first (port 0 = a free one), then build the replica for the real origin and serve it."""
    holder: dict[str, Replica] = {}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpConnection(holder["replica"]), host, port)
    bound_port = server.sockets[0].getsockname()[1]
    holder["replica"] = replica_factory(f"http://{host}:{bound_port}")
    return server, holder["replica"]
