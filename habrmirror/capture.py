"""What a fetched article page means: one Scrapy-free function from an exchange to an outcome, a reason and a row.

The step between "response recorded to WARC" and "JSON index row" of the flow. The crawl (in its parse worker
and pipelines), crash recovery (``store.recovery``) and ``habrmirror reindex`` all call :func:`judge` and
:func:`finish` (offline, :func:`capture` does both), so a 403 or a captcha page means the same thing everywhere.
A new rule for what a response means (a new outcome, a new error page) is a change here and in its test.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from habrmirror.archive.reader import DecodedTooLarge, StoredRecord, decode_content
from habrmirror.clock import iso
from habrmirror.items import (
    COMMENTS_FAILED,
    COMMENTS_FROM_API,
    COMMENTS_FROM_COMMENTS_PAGE,
    COMMENTS_FROM_PAGE,
    COMMENTS_NONE,
    COMMENTS_SKIPPED_ROBOTS,
    Article,
    Comment,
    Image,
    WarcPointer,
    article_record,
)
from habrmirror.pages import parse_article, parse_comments_api
from habrmirror.pages.comments import parse_comments_page
from habrmirror.pages.errors import BlockedPage, NotAnArticlePage, ParseError
from habrmirror.pages.requisites import page_requisites
from habrmirror.schema import validation_errors
from habrmirror.urls import is_comments_page_url

logger = logging.getLogger(__name__)


class Outcome(str, Enum):
    """What became of one fetch attempt; the value is what the capture log and run summaries store."""

    ARCHIVED = "archived"
    GONE = "gone"
    FORBIDDEN = "forbidden"
    NOT_ARTICLE = "not_article"
    BLOCKED = "blocked"
    PARSE_ERROR = "parse_error"
    INVALID = "invalid"
    HTTP_ERROR = "http_error"
    NETWORK_ERROR = "network_error"
    ROBOTS = "robots"
    LISTING_ERROR = "listing_error"
    TOO_LARGE = "too_large"

    def __str__(self) -> str:
        return self.value

    @property
    def meaning(self) -> str:
        """One line for people (the README's outcome table is checked against these)."""
        return _MEANINGS[self]

    @property
    def is_failure(self) -> bool:
        """Counted as failed in progress, run summaries and exit codes (``gone`` and ``robots`` are not)."""
        return self in _FAILURES

    @property
    def is_transient(self) -> bool:
        """May succeed on a later try: the next run retries it, and a listing's mark does not move past it."""
        return self in _TRANSIENT


_MEANINGS = {
    Outcome.ARCHIVED: "page parsed and valid, row written to the index",
    Outcome.GONE: "404/410: deleted or never existed (an archived row gets gone_at, never removed)",
    Outcome.FORBIDDEN: "403: draft or hidden post",
    Outcome.NOT_ARTICLE: "the URL answered with a page that is not an article",
    Outcome.BLOCKED: "a captcha, rate-limit, login or maintenance page instead of the article",
    Outcome.PARSE_ERROR: "an article page that could not be read (its bytes are in the WARC)",
    Outcome.INVALID: "parsed, but the row fails the JSON Schema (its bytes are in the WARC)",
    Outcome.HTTP_ERROR: "another HTTP status (5xx, 429 after its retries)",
    Outcome.NETWORK_ERROR: "DNS, connection or timeout: no response",
    Outcome.ROBOTS: "not requested: robots.txt disallows the URL (a skip, not a failure)",
    Outcome.LISTING_ERROR: "a listing page (not an article) that could not be fetched or read",
    Outcome.TOO_LARGE: "larger than a size limit (see Limits): stored up to the limit, not parsed",
}
_FAILURES = frozenset(
    {
        Outcome.FORBIDDEN,
        Outcome.NOT_ARTICLE,
        Outcome.BLOCKED,
        Outcome.PARSE_ERROR,
        Outcome.INVALID,
        Outcome.HTTP_ERROR,
        Outcome.NETWORK_ERROR,
        Outcome.LISTING_ERROR,
        Outcome.TOO_LARGE,
    }
)
_TRANSIENT = frozenset({Outcome.NETWORK_ERROR, Outcome.HTTP_ERROR, Outcome.BLOCKED, Outcome.LISTING_ERROR})

# Interstitials served with status 200 in place of the article: a login wall (a password field, "войдите, чтобы
# ...") or a maintenance notice. The post is still there, so they are ``blocked`` (retried by the next run), never
# ``not_article`` (which is not retried). Only asked of short pages no article layout matched, so an article about
# maintenance stays an article; "Войти" alone is not enough (every Habr page has that button in its header).
_LOGIN_RE = re.compile(
    r"""type=["']?password|войдите,? чтобы|войдите в (?:аккаунт|систему)|требуется (?:авторизация|вход)|"""
    r"необходимо (?:войти|авторизоваться)|(?:log|sign) in to (?:continue|view)|login required",
    re.IGNORECASE,
)
_MAINTENANCE_RE = re.compile(
    r"технически[ех] работ|техническое обслуживание|плановое обслуживание|сайт временно недоступен|"
    r"under maintenance|down for maintenance|scheduled maintenance|temporarily unavailable",
    re.IGNORECASE,
)
MAX_INTERSTITIAL_BYTES = 100_000  # real interstitials are a few KB; article pages are 50-750 KB


def interstitial(body: bytes) -> str | None:
    """``login`` or ``maintenance`` when a (decoded) page that is not an article is one of those walls."""
    if len(body) > MAX_INTERSTITIAL_BYTES:
        return None
    text = body.decode("utf-8", errors="replace")
    if _LOGIN_RE.search(text):
        return "login"
    if _MAINTENANCE_RE.search(text):
        return "maintenance"
    return None


GONE_STATUSES = (404, 410)
FORBIDDEN_STATUS = 403


# Size limits of one article page (settings HABR_MAX_PAGE_BYTES, HABR_MAX_DECODED_BYTES; README, "Limits").
MAX_PAGE_BYTES = 20_000_000  # as downloaded (content-encoded): the largest real sample is 0.7 MB
MAX_DECODED_BYTES = 40_000_000  # once decoded: bounds the parse worker's memory (a gzip bomb stops here)


@dataclass(frozen=True)
class PageSize:
    """The size limits an article page was fetched and is decoded under, and whether the download hit its limit."""

    max_page_bytes: int = MAX_PAGE_BYTES
    max_decoded_bytes: int = MAX_DECODED_BYTES
    truncated: bool = (
        False  # the body was cut at max_page_bytes (the WARC record says WARC-Truncated: length)
    )


@dataclass
class FetchedPage:
    """One article-URL response as the WARC holds it: the body as received (``content_encoding`` still applied)."""

    url: str
    status: int
    body: bytes
    fetched_at: datetime
    content_encoding: str | None = None
    pointer: WarcPointer | None = None  # the record holding the page bytes (for a revisit: the original)
    revisit: bool = False  # the bytes were identical to an archived capture
    article_id: int | None = None  # the id the request was for (the capture is logged under it)
    size: PageSize | None = None  # None: the default limits, not truncated


@dataclass
class CaptureResult:
    """What one fetch attempt came to: the capture log line and, when archived, the article and its row."""

    outcome: Outcome
    url: str
    time: str  # when the response arrived (ISO 8601 UTC)
    status: int | None
    article_id: int | None
    reason: str | None = None
    pointer: WarcPointer | None = None
    revisit: bool = False
    article: Article | None = None  # parsed (outcome archived, or invalid)
    row: dict[str, Any] | None = field(default=None, repr=False)  # the validated index row (archived only)
    invalid_fields: list[str] = field(default_factory=list)  # schema errors by field (outcome invalid)
    comments: dict[str, Any] | None = None  # how the comments were got: {status, reason, warc} (capture log)
    requisites: list[str] = field(default_factory=list)  # the page's CSS, scripts, fonts, icons (for replay)

    @property
    def id(self) -> int | None:
        """The id the capture is logged under: the post's own once parsed, else the one requested."""
        return self.article.id if self.article is not None else self.article_id


def stored_page(
    stored: StoredRecord,
    url: str,
    fetched_at: datetime,
    pointer: WarcPointer | None,
    article_id: int | None = None,
    revisit: bool = False,
) -> FetchedPage:
    """A page read back from its WARC record, as the crawl saw it: the payload still content-encoded and, for
    a record marked ``WARC-Truncated``, the truncation (so recovery and reindex judge it ``too_large`` too)."""
    headers = stored.http_headers
    status = int(headers.get_statuscode()) if headers is not None else 200
    encoding = headers.get_header("Content-Encoding") if headers is not None else None
    truncated = bool(stored.warc_headers.get_header("WARC-Truncated"))
    return FetchedPage(
        url,
        status,
        stored.payload,
        fetched_at,
        content_encoding=encoding,
        pointer=pointer,
        revisit=revisit,
        article_id=article_id,
        size=PageSize(truncated=True) if truncated else None,
    )


def decode_page(body: bytes, content_encoding: str | None, max_size: int | None = None) -> bytes:
    """The body without its Content-Encoding; a body that does not decode is a ParseError of that page.

    With ``max_size``, :class:`~habrmirror.archive.reader.DecodedTooLarge` once decoding passes it.
    """
    try:
        return decode_content(body, content_encoding, max_size)
    except DecodedTooLarge:
        raise
    except Exception as error:  # zlib, brotli, an unknown coding: the bytes are not what they claim to be
        raise ParseError(f"cannot decode Content-Encoding {content_encoding!r}: {error}") from None


def parse_encoded(
    url: str, body: bytes, content_encoding: str | None, fetched_at: datetime, max_size: int | None = None
) -> Article:
    """Decode the body as it came over the wire, then parse it."""
    return parse_article(url, decode_page(body, content_encoding, max_size), fetched_at)


def judge(page: FetchedPage) -> CaptureResult:
    """Status, size, decoding, then parsing: the outcome of a fetched page, its article stamped with the capture.

    An ``archived`` result is not final until :func:`finish` has validated its row.
    """
    result = CaptureResult(
        Outcome.ARCHIVED,
        page.url,
        iso(page.fetched_at),
        page.status,
        page.article_id,
        pointer=page.pointer,
        revisit=page.revisit,
    )
    size = page.size or PageSize()
    if page.status in GONE_STATUSES:
        return _refused(result, Outcome.GONE, f"HTTP {page.status}: deleted or never existed")
    if page.status == FORBIDDEN_STATUS:
        return _refused(result, Outcome.FORBIDDEN, "HTTP 403: draft or hidden post")
    if not 200 <= page.status < 300:
        return _refused(result, Outcome.HTTP_ERROR, f"HTTP {page.status}")
    if size.truncated:
        limit = megabytes(size.max_page_bytes)
        return _refused(
            result,
            Outcome.TOO_LARGE,
            f"page larger than the {limit} limit (HABR_MAX_PAGE_BYTES); stored truncated",
        )
    if not page.body:
        return _refused(
            result, Outcome.PARSE_ERROR, f"empty response body (0 bytes) with status {page.status}"
        )
    try:
        body = decode_page(page.body, page.content_encoding, size.max_decoded_bytes)
    except DecodedTooLarge as error:
        limit = megabytes(error.limit)
        reason = f"page decodes to more than the {limit} limit (HABR_MAX_DECODED_BYTES); stored as received"
        return _refused(result, Outcome.TOO_LARGE, reason)
    except ParseError as error:
        return _refused(result, Outcome.PARSE_ERROR, str(error))
    if not body.strip():
        decoded = f", {len(body)} once decoded" if page.content_encoding else ""
        reason = f"blank response body ({len(page.body)} bytes{decoded}, whitespace only) with status {page.status}"
        return _refused(result, Outcome.PARSE_ERROR, reason)
    try:
        article = parse_article(page.url, body, page.fetched_at)
    except NotAnArticlePage as error:
        wall = interstitial(body)
        if wall is not None:
            return _refused(result, Outcome.BLOCKED, f"{wall} page instead of the article: {error}")
        return _refused(result, Outcome.NOT_ARTICLE, str(error))
    except BlockedPage as error:
        return _refused(result, Outcome.BLOCKED, str(error))
    except ParseError as error:
        return _refused(result, Outcome.PARSE_ERROR, str(error))
    except Exception as error:  # a parser bug: reported per page, the crawl goes on, the WARC keeps the bytes
        logger.error("parser crashed on %s: %r", page.url, error, exc_info=error)
        return _refused(result, Outcome.PARSE_ERROR, f"parser crashed: {type(error).__name__}: {error}")
    article.fetched_url = page.url
    article.captured_at = result.time
    article.warc = page.pointer
    result.article = article
    result.requisites = page_requisites(body, page.url)
    return result


def megabytes(size: int) -> str:
    """A byte count as people say it: ``20 MB``, ``1.5 MB``, ``800 bytes``."""
    if size < 1_000_000:
        return f"{size} bytes"
    return f"{size / 1_000_000:.3g} MB"


def finish(result: CaptureResult, images: list[Image] | None = None) -> CaptureResult:
    """Validate an ``archived`` result's row (with ``images``' archived/error flags, when given): the row, or
    ``invalid`` with the first schema errors as the reason. Other outcomes pass through unchanged."""
    if result.outcome is not Outcome.ARCHIVED or result.article is None:
        return result
    if images is not None:
        result.article.images = images
    row = article_record(result.article)
    errors = validation_errors(row)
    if errors:
        result.outcome = Outcome.INVALID
        result.invalid_fields = [name for name, _ in errors]
        result.reason = "; ".join(f"{name}: {message}" for name, message in errors[:5])
        return result
    result.row = row
    return result


def comments_to_fetch(result: CaptureResult) -> bool:
    """Whether an archived post's comments are asked of the comments API: not when its page rendered them
    (``page``), not for a saved static mirror, and not when its counters say it has none (then the status is
    set to ``none`` here). The crawl's comments pipeline and reindex both ask this."""
    article = result.article
    if article is None or article.comments_status == COMMENTS_FROM_PAGE:
        return False
    if (article.parser or "").startswith("mirror/"):
        return False
    if (article.statistics or {}).get("commentsCount") == 0:
        judge_comments(result, status=COMMENTS_NONE)
        return False
    return True


@dataclass
class CommentsAnswer:
    """What a comments API answer came to: its comments (status ``api``), or ``failed`` and why."""

    status: str
    reason: str | None = None
    comments: list[Comment] = field(default_factory=list)


def read_comments_answer(page: FetchedPage) -> CommentsAnswer:
    """Status, decoding (under the limits) and parsing of a comments API answer or of a post's comments page
    (told apart by the URL); pure, so the crawl runs it in its parse worker."""
    from_page = is_comments_page_url(page.url)
    what = "comments page" if from_page else "comments answer"
    if page.status != 200:
        return CommentsAnswer(COMMENTS_FAILED, f"{what} HTTP {page.status}")
    try:
        body = decode_page(page.body, page.content_encoding, MAX_DECODED_BYTES)
        if from_page:
            found = parse_comments_page(body, page.url, page.fetched_at).comments
            return CommentsAnswer(COMMENTS_FROM_COMMENTS_PAGE, None, found)
        answer = parse_comments_api(body, page.url)
        # Habr's own web client asks this URL with no page parameter and none is documented: one answer is the
        # thread. An answer that says otherwise is noted, so a researcher can find such posts.
        note = (
            f"the answer says it has {answer.pages} pages; only this one was read"
            if (answer.pages or 1) > 1
            else None
        )
        return CommentsAnswer(COMMENTS_FROM_API, note, answer.comments)
    except (ParseError, DecodedTooLarge) as error:
        return CommentsAnswer(COMMENTS_FAILED, f"unreadable {what}: {error}")


def comments_fallback_due(result: CaptureResult) -> bool:
    """After the comments API answer: whether the post's comments page is asked too (the answer failed, or
    robots.txt disallowed the API). The crawl's comments pipeline and reindex both ask this."""
    return result.article is not None and result.article.comments_status in (
        COMMENTS_FAILED,
        COMMENTS_SKIPPED_ROBOTS,
    )


def judge_comments(
    result: CaptureResult,
    page: FetchedPage | None = None,
    status: str | None = None,
    reason: str | None = None,
    answer: CommentsAnswer | None = None,
) -> None:
    """Attach to an archived result what its comments came to: the comments of a comments API answer or comments
    page ``page`` (status ``api`` / ``comments_page``; ``answer`` when it was already read, e.g. in the parse
    worker), or ``status`` (``none``, ``skipped_robots``, ``failed``) with its ``reason``. Called a second time
    for the comments page after a failed API answer, it keeps both reasons. Never changes the article's outcome:
    a comments fetch that fails is noted on the row and in the capture log, and retried by the next refresh.
    Comments the article page rendered itself (status ``page``) are kept as they are."""
    article = result.article
    if article is None:
        return
    pointer = page.pointer if page is not None else None
    if page is not None:
        answer = answer or read_comments_answer(page)
        status, reason = answer.status, answer.reason
        article.comments = answer.comments
    earlier = (
        result.comments if article.comments_status in (COMMENTS_FAILED, COMMENTS_SKIPPED_ROBOTS) else None
    )
    if earlier:  # the comments page, asked after the API answer failed: both reasons are kept
        first = f"comments API: {earlier.get('reason')}"
        if status == COMMENTS_FROM_COMMENTS_PAGE:
            reason = first
        else:
            both_robots = (
                status == COMMENTS_SKIPPED_ROBOTS and earlier.get("status") == COMMENTS_SKIPPED_ROBOTS
            )
            status = COMMENTS_SKIPPED_ROBOTS if both_robots else COMMENTS_FAILED
            reason = f"{first}; comments page: {reason}"
    article.comments_status = status
    if status not in (COMMENTS_FROM_API, COMMENTS_FROM_COMMENTS_PAGE):
        article.comments = []
    note: dict[str, Any] = {"status": status, "reason": reason}
    if pointer is not None:
        note["warc"] = asdict(pointer)
    result.comments = note


def capture(page: FetchedPage, images: list[Image] | None = None) -> CaptureResult:
    """:func:`judge` then :func:`finish`: what recovery and reindex do with a page read back from a WARC."""
    return finish(judge(page), images)


class DownloadProblem(Exception):
    """A failed download the crawl's download handler has already put in words (:func:`network_reason` keeps them).

    Raised inside the HTTP client (e.g. a response header line too long to parse), so Scrapy and Twisted wrap it;
    :func:`network_reason` finds it wherever it ends up in the chain.
    """


# What a download failure means, by exception class name (Scrapy's and Twisted's; this module imports neither).
_NETWORK_REASONS = {
    "ResponseDataLossError": "the connection closed before the whole body arrived",
    "DownloadTimeoutError": "no complete answer within the download timeout",
    "TimeoutError": "no answer within the connect timeout",
    "TCPTimedOutError": "the TCP connection timed out",
    "CannotResolveHostError": "the host name could not be resolved (DNS)",
    "DNSLookupError": "the host name could not be resolved (DNS)",
    "DownloadConnectionRefusedError": "the server refused the connection",
    "ConnectionRefusedError": "the server refused the connection",
    "ResponseNeverReceived": "the connection closed before any response arrived",
    "ResponseFailed": "the connection closed in the middle of the response headers",
    "ConnectionLost": "the connection was lost before the response was complete",
    "ConnectionDone": "the server closed the connection before the response was complete",
    "DownloadCancelledError": "the download was cancelled",
    "CancelledError": "the download was cancelled",
    "SSLError": "the TLS handshake failed",
}


def network_reason(exception: BaseException) -> str:
    """The reason of a fetch that got no usable response, in words: what the capture log and summaries say.

    Scrapy wraps Twisted's errors, which wrap the cause (``__cause__``, and Twisted's ``reasons`` lists); the
    innermost :class:`DownloadProblem` wins, else the first error of a known kind, with its message when it
    adds something (a timeout's duration, a data loss's byte counts), else the error's type and message.
    """
    chain = _exception_chain(exception)
    for error in chain:
        if isinstance(error, DownloadProblem):
            return str(error)
    for error in chain:
        for cls in type(error).__mro__:
            known = _NETWORK_REASONS.get(cls.__name__)
            if known is None:
                continue
            detail = _message(error)
            if cls.__name__ == "ResponseDataLossError" and detail:
                return detail  # the download handler's "connection closed after N of M bytes of the body"
            if detail and not detail.startswith(("[", "<")):  # not a repr of Twisted's Failure list
                return f"{known}: {detail}"
            return known
    detail = _message(exception)
    return f"{type(exception).__name__}: {detail}" if detail else f"{type(exception).__name__} (no message)"


def _exception_chain(exception: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and the errors in Twisted ``reasons`` lists: outermost first."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    queue: list[Any] = [exception]
    while queue and len(chain) < 32:
        error = queue.pop(0)
        error = getattr(error, "value", error)  # a twisted Failure holds its exception in .value
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        chain.append(error)
        queue.extend(getattr(error, "reasons", None) or [])
        queue.extend(e for e in (error.__cause__, error.__context__) if e is not None)
    return chain


def _message(error: BaseException) -> str:
    return " ".join(str(error).split()).rstrip(".")


def not_fetched(url: str, article_id: int | None, outcome: Outcome, reason: str, time: str) -> CaptureResult:
    """A fetch attempt that got no article response: a network error, robots.txt, an unhandled status."""
    return CaptureResult(outcome, url, time, None, article_id, reason)


def _refused(result: CaptureResult, outcome: Outcome, reason: str) -> CaptureResult:
    result.outcome = outcome
    result.reason = reason
    return result
