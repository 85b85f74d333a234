"""Habr URL rules, pure functions: article id from any URL form Habr has used, canonical URLs, listing pages.

Used by the CLI (``archive 454184``), the spiders (requests), the page objects (``url`` fallback) and reindex.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

DEFAULT_ORIGIN = "https://habr.com"

# Every path shape an article has had on habr.com / m.habr.com / habrahabr.ru (with optional /ru|/en prefix):
#   /post/ID/  /p/ID/  /ru/post/ID/  /ru/articles/ID/  /ru/news/ID/  /ru/news/t/ID/  /ru/blog/ID/
#   /ru/company/NAME/blog/ID/  /ru/companies/NAME/articles/ID/  /ru/companies/NAME/news/ID/
#   /ru/posts/ID/  /ru/companies/NAME/posts/ID/   (short "posts", often titleless, 2024+)
#   /ru/amp/post/ID/  /ru/amp/publications/ID/   (AMP variants, 2021 and 2023+)
#   /ru/article/ID/ (megapost cards, 2022)
#   /<prefix>/articles/ID/index.html   a saved static mirror of Habr (e.g. weekly-geekly's /articles/ID/)
_ARTICLE_PATH = re.compile(
    r"""^(?P<mirror>/[^?#]*?)?/(?:(?:ru|en)/)?
        (?:
            (?:post|posts|p|articles?|news(?:/t)?|blog|sandbox)
          | company/[^/]+/blog
          | companies/[^/]+/(?:articles|news|blog|posts)
          | amp/(?:post|publications)
          | (?:users|hub|hubs)/[^/]+/(?:blog|posts)
        )
        /(?P<id>\d+)(?:/|/index\.html?)?$""",
    re.VERBOSE,
)


class NotAnArticleUrl(ValueError):
    """The text is neither an article id nor a URL of a Habr article."""


def article_id(url_or_id: str | int) -> int:
    """The article id in an id (``"454184"``) or any Habr article URL form; raises :class:`NotAnArticleUrl`."""
    if isinstance(url_or_id, int):
        return url_or_id
    text = url_or_id.strip()
    if text.isdigit():
        return int(text)
    parts = urlsplit(text if "://" in text else "https://" + text.lstrip("/"))
    match = _ARTICLE_PATH.match(parts.path or "/")
    if match is None:
        raise NotAnArticleUrl(f"not a Habr article URL or id: {url_or_id!r}")
    return int(match.group("id"))


def is_article_url(url: str) -> bool:
    """True when the URL's path is one of the article forms above."""
    try:
        article_id(url)
    except NotAnArticleUrl:
        return False
    return not url.strip().isdigit()


def normalize_origin(origin: str) -> str:
    """``https://habr.com/`` -> ``https://habr.com``; a bare host gets ``https://``."""
    origin = origin.strip().rstrip("/")
    if "://" not in origin:
        origin = "https://" + origin
    return origin


# Article.type -> the path section Habr serves that kind of publication under today.
_SECTIONS = {"article": "articles", "news": "news", "post": "posts"}


def article_url(
    article: int, origin: str = DEFAULT_ORIGIN, language: str = "ru", kind: str | None = None
) -> str:
    """The canonical URL Habr uses today: ``{origin}/{lang}/articles/{id}/``; ``/news/`` and ``/posts/`` for a
    ``kind`` (``Article.type``) of ``news`` or ``post``."""
    section = _SECTIONS.get(kind or "article", "articles")
    return f"{normalize_origin(origin)}/{language}/{section}/{article}/"


def request_url(url_or_id: str | int, origin: str = DEFAULT_ORIGIN) -> str:
    """What to fetch for user input: a URL is fetched as given (any host), an id at the origin."""
    text = str(url_or_id).strip()
    if text.isdigit():
        return article_url(int(text), origin)
    article_id(text)  # validates
    return text if "://" in text else "https://" + text.lstrip("/")


LISTING_KINDS = ("articles", "news", "all")


def listing_url(origin: str, kind: str = "articles", page: int = 1, language: str = "ru") -> str:
    """Listing page N: ``/ru/articles/``, ``/ru/articles/page2/``; also ``news`` and the legacy ``all``."""
    if kind not in LISTING_KINDS:
        raise ValueError(f"unknown listing {kind!r}; expected one of {', '.join(LISTING_KINDS)}")
    base = f"{normalize_origin(origin)}/{language}/{kind}/"
    return base if page <= 1 else f"{base}page{page}/"


def absolute(base_url: str, href: str | None) -> str | None:
    """Resolve ``href`` against the page URL; protocol-relative ``//host/x`` gets the page's scheme."""
    if not href:
        return None
    href = href.strip()
    if href.startswith(("javascript:", "data:", "#")):
        return None
    if _ALREADY_ABSOLUTE(href):
        return href  # what urljoin would return, without parsing two URLs (most hrefs; a test compares)
    return urljoin(base_url, href)


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
