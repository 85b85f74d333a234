"""Habr URL rules, pure functions: article id from any URL form Habr has used, canonical URLs, listing pages.

Used by the CLI (``archive 454184``), the spiders (requests), the page objects (``url`` fallback) and reindex.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

DEFAULT_ORIGIN = "https://habr.com"

# Habr article ids are positive integers, dense and growing (about 1,070,000 in 2026). The index is sharded by
# id // 1000 into five-digit shard names and keeps an id bitmap, so ids stop at 99,999,999: larger numbers are
# typos, not posts.
MAX_ARTICLE_ID = 99_999_999

# The hosts Habr has served articles from (www. and m. variants too): the origin replaces them (request_url).
HABR_DOMAINS = ("habr.com", "habrahabr.ru", "geektimes.ru", "geektimes.com", "megamozg.ru")
HABR_HOSTS = frozenset(prefix + domain for domain in HABR_DOMAINS for prefix in ("", "www.", "m."))

# Every path shape an article has had on habr.com / m.habr.com / habrahabr.ru (with optional /ru|/en prefix):
#   /post/ID/  /p/ID/  /ru/post/ID/  /ru/articles/ID/  /ru/news/ID/  /ru/news/t/ID/  /ru/blog/ID/
#   /ru/company/NAME/blog/ID/  /ru/companies/NAME/articles/ID/  /ru/companies/NAME/news/ID/
#   /ru/posts/ID/  /ru/companies/NAME/posts/ID/   (short "posts", often titleless, 2024+)
#   /ru/amp/post/ID/  /ru/amp/publications/ID/   (AMP variants, 2021 and 2023+)
#   /ru/article/ID/ (megapost cards, 2022)
#   /<prefix>/articles/ID/index.html   a saved static mirror of Habr (e.g. weekly-geekly's /articles/ID/)
# and any of them followed by comments/ (the post's comments page: it names the post, it is not the post's page).
_ARTICLE_PATH = re.compile(
    r"""^(?P<mirror>/[^?#]*?)?/(?:(?:ru|en)/)?
        (?:
            (?:post|posts|p|articles?|news(?:/t)?|blog|sandbox)
          | company/[^/]+/blog
          | companies/[^/]+/(?:articles|news|blog|posts)
          | amp/(?:post|publications)
          | (?:users|hub|hubs)/[^/]+/(?:blog|posts)
        )
        /(?P<id>\d+)(?P<comments>/comments)?(?:/|/index\.html?)?$""",
    re.VERBOSE,
)
_DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes "²" and Arabic-Indic digits
_ORIGIN_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"
)


class NotAnArticleUrl(ValueError):
    """The text is neither an article id nor a URL of a Habr article."""


def checked_id(number: int, text: object) -> int:
    """``number`` if it can be a Habr article id (1..:data:`MAX_ARTICLE_ID`); raises :class:`NotAnArticleUrl`."""
    if not 1 <= number <= MAX_ARTICLE_ID:
        raise NotAnArticleUrl(
            f"not a Habr article id: {text!r} (Habr ids are 1 to {MAX_ARTICLE_ID:,}; today's are about 1,070,000)"
        )
    return number


def _split(text: str) -> SplitResult:
    """``text`` as URL parts; a bare ``habr.com/...`` gets ``https://``; a path alone (``/ru/post/1/``) stays one."""
    if "://" in text or text.startswith("/"):
        return urlsplit(text)
    return urlsplit("https://" + text)


def article_id(url_or_id: str | int) -> int:
    """The article id in an id (``"454184"``) or any Habr article URL form (its ``comments/`` page too); raises
    :class:`NotAnArticleUrl`, also for ids outside 1..:data:`MAX_ARTICLE_ID`."""
    if isinstance(url_or_id, int):
        return checked_id(url_or_id, url_or_id)
    text = url_or_id.strip()
    if _DIGITS.fullmatch(text):
        return checked_id(int(text), url_or_id)
    try:
        parts = _split(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        raise NotAnArticleUrl(f"not a Habr article URL or id: {url_or_id!r}") from None
    match = _ARTICLE_PATH.match(parts.path or "/")
    if match is None or parts.scheme not in ("http", "https", ""):
        raise NotAnArticleUrl(f"not a Habr article URL or id: {url_or_id!r}")
    return checked_id(int(match.group("id")), url_or_id)


def is_article_url(url: str) -> bool:
    """True when the URL's path is one of the article page forms above (not a bare id, not a comments page)."""
    try:
        article_id(url)
    except NotAnArticleUrl:
        return False
    if _DIGITS.fullmatch(url.strip()):
        return False
    match = _ARTICLE_PATH.match(_split(url.strip()).path or "/")
    return match is not None and not match.group("comments")


def is_habr_host(host: str | None) -> bool:
    """True for the hosts Habr has served articles from (``habr.com``, ``m.habr.com``, ``habrahabr.ru`` ...)."""
    return (host or "").lower().rstrip(".") in HABR_HOSTS


def normalize_origin(origin: str) -> str:
    """``https://habr.com/`` -> ``https://habr.com``; a bare host gets ``https://``."""
    origin = origin.strip().rstrip("/")
    if "://" not in origin:
        origin = "https://" + origin
    return origin


def checked_origin(text: str) -> str:
    """``text`` as an origin (``http(s)://host[:port]``, normalised as :func:`normalize_origin` does); raises
    ``ValueError`` saying what is wrong (another scheme, a path, no host, a bad port)."""
    raw = text.strip()
    try:
        parts = urlsplit(raw if "://" in raw else "https://" + raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError as error:
        raise ValueError(
            f"--origin must look like https://habr.com or http://127.0.0.1:8089, got {text!r} ({error})"
        ) from None
    host = parts.hostname or ""
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = "only http:// and https:// are crawled"
    elif not host or not (_ORIGIN_HOST.match(host) or host.startswith("[") or ":" in host):
        problem = "no host name"
    elif parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        problem = "an origin is scheme and host only: no path, query or user"
    elif parts.port == 0 or parts.netloc.endswith(":"):
        problem = "bad port"
    if problem:
        raise ValueError(
            f"--origin must look like https://habr.com or http://127.0.0.1:8089, got {text!r} ({problem})"
        )
    return normalize_origin(raw)


# Article.type -> the path section Habr serves that kind of publication under today.
_SECTIONS = {"article": "articles", "news": "news", "post": "posts"}


def article_url(
    article: int, origin: str = DEFAULT_ORIGIN, language: str = "ru", kind: str | None = None
) -> str:
    """The canonical URL Habr uses today: ``{origin}/{lang}/articles/{id}/``; ``/news/`` and ``/posts/`` for a
    ``kind`` (``Article.type``) of ``news`` or ``post``."""
    section = _SECTIONS.get(kind or "article", "articles")
    return f"{normalize_origin(origin)}/{language}/{section}/{article}/"


def comments_api_url(article: int, page_url: str) -> str:
    """Habr's comments API for ``article`` (``/kek/v2/articles/ID/comments/``), on the host that served the
    article page ``page_url`` (habr.com, or the replica / origin it was fetched from)."""
    parts = urlsplit(page_url)
    return f"{parts.scheme}://{parts.netloc}/kek/v2/articles/{article}/comments/"


def comments_page_url(article: int, page_url: str) -> str:
    """The post's comments page (``/ru/articles/ID/comments/``; ``/en/`` for a post fetched under ``/en/``), on
    the host that served the article page ``page_url``: where comments are read when the API answer fails."""
    parts = urlsplit(page_url)
    lang = "en" if parts.path.startswith("/en/") else "ru"
    return f"{parts.scheme}://{parts.netloc}/{lang}/articles/{article}/comments/"


def is_comments_page_url(url: str) -> bool:
    """True for a post's comments page (any article path form followed by ``comments/``), not for the comments
    APIs (``/kek/...``, ``/api/...``), whose paths end the same way."""
    path = _split(url.strip()).path or "/"
    if path.startswith(("/kek/", "/api/")):
        return False
    match = _ARTICLE_PATH.match(path)
    return match is not None and bool(match.group("comments"))


_COMMENTS_API_PATH = re.compile(r"^/kek/v2/articles/(\d+)/comments/?$")


def comments_source_id(url: str) -> int | None:
    """The post whose comments ``url`` fetches (:func:`comments_api_url` or :func:`comments_page_url`, in any
    article path form), else None."""
    path = _split(url.strip()).path or "/"
    api = _COMMENTS_API_PATH.match(path)
    if api:
        return int(api.group(1))
    return article_id(url) if is_comments_page_url(url) else None


def request_url(url_or_id: str | int, origin: str = DEFAULT_ORIGIN) -> str:
    """What to fetch for user input (an id or an article URL in any form).

    * an id: its canonical URL at ``origin``;
    * a URL on one of Habr's hosts (:data:`HABR_HOSTS`: habr.com, m.habr.com, habrahabr.ru, geektimes.ru ...) or a
      bare path: the same path at ``origin`` (so ``--origin`` points every Habr URL form at a replica or mirror;
      with the default origin a habr.com URL is unchanged);
    * a URL on any other host (a replica, a saved mirror): fetched from that host.

    Always without the ``#fragment`` (never sent, and it would make the WARC's URI differ from the row's),
    without ``utm_*`` tracking parameters, and for a ``comments/`` URL the post's own page.
    """
    text = str(url_or_id).strip()
    if _DIGITS.fullmatch(text):
        return article_url(article_id(text), origin)
    article_id(text)  # validates
    parts = _split(text)
    path = parts.path
    match = _ARTICLE_PATH.match(path)
    if match is not None and match.group("comments"):
        path = path[: match.start("comments")] + "/"
    return at_origin(urlunsplit(parts._replace(path=path)), origin)


def at_origin(url: str, origin: str = DEFAULT_ORIGIN) -> str:
    """``url`` as fetched from ``origin``: on one of Habr's hosts (or a bare path) the host becomes the origin's,
    any other host is kept; the ``#fragment`` and ``utm_*`` tracking parameters are dropped. No validation: also
    for listing links (entries, next page) whose form is not an article form."""
    parts = _split(url.strip())
    # kept byte for byte, only the tracking pairs dropped (parse_qsl + urlencode would re-encode the rest)
    query = "&".join(pair for pair in parts.query.split("&") if pair and not pair.startswith("utm_"))
    if not parts.netloc or is_habr_host(parts.hostname):
        scheme, netloc = urlsplit(normalize_origin(origin))[:2]
    else:
        scheme, netloc = parts.scheme or "https", parts.netloc
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


LISTING_KINDS = ("articles", "news", "all")


def listing_url(origin: str, kind: str = "articles", page: int = 1, language: str = "ru") -> str:
    """Listing page N: ``/ru/articles/``, ``/ru/articles/page2/``; also ``news`` and the legacy ``all``."""
    if kind not in LISTING_KINDS:
        raise ValueError(f"unknown listing {kind!r}; expected one of {', '.join(LISTING_KINDS)}")
    base = f"{normalize_origin(origin)}/{language}/{kind}/"
    return base if page <= 1 else f"{base}page{page}/"


def absolute(base_url: str, href: str | None) -> str | None:
    """Resolve ``href`` against the page URL; protocol-relative ``//host/x`` gets the page's scheme. None for an
    in-page ``#anchor`` and for any scheme but http(s) (``javascript:``, ``JavaScript:``, ``java\tscript:`` and
    ``data:``, ``file:``, ``mailto:``), however it is spelt: what this returns may be fetched or linked to."""
    if not href:
        return None
    href = href.strip()
    if href.startswith("#"):
        return None
    if _ALREADY_ABSOLUTE(href):
        return href  # what urljoin would return, without parsing two URLs (most hrefs; a test compares)
    url = urljoin(base_url, href)
    scheme = url.partition(":")[0].lower() if ":" in url.partition("/")[0] else ""
    if scheme and scheme not in ("http", "https"):
        return None
    return url


def _ALREADY_ABSOLUTE(href: str) -> bool:  # noqa: N802 - reads as the condition it names
    """True when urljoin(anything, href) == href: an http(s) URL that urljoin has nothing to normalise in (no
    dot segments, no empty query or fragment, none of the tab/newline characters urlsplit drops)."""
    return (
        href.startswith(("https://", "http://"))
        and href[href.index("//") + 2 : href.index("//") + 3]
        not in ("", "/", "?", "#")  # a host (else: the base's)
        and "/." not in href
        and "?#" not in href
        and not href.endswith(("?", "#"))
        and "\t" not in href
        and "\n" not in href
        and "\r" not in href
    )
