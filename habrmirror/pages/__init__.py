"""Page objects: a fetched page (URL + bytes) in, an ``habrmirror.items.Article`` out; pure parsing, no network.

Place in the flow: the spiders and the offline re-indexer call :func:`parse_article` on a response or a WARC
record; it decodes the bytes, parses the page once with lxml, detects the layout era and hands the tree to that
era's page class. Layouts (``Article.parser`` values) and their classes:

=====================  =====================================  ==========================================
parser                 class                                   markup
=====================  =====================================  ==========================================
``tm-pinia/1``         ``article_tm.TmPiniaPage``              2025+ raw SSR with ``__PINIA_STATE__``; short posts
``tm-ssr/1``           ``article_tm.TmSsrPage``                2021+ raw SSR with ``__INITIAL_STATE__``
``tm-dom/1``           ``article_tm.TmDomPage``                2021+ DOM only (browser-saved, 2024+ #mount)
``tm-amp/1``           ``article_tm.TmAmpPage``                AMP variant (``<html ⚡>``)
``tm-mobile-2019/1``   ``article_tm.TmMobile2019Page``         m.habr.com Vue SSR 2019, old state schema
``legacy/1``           ``article_legacy.LegacyPage``           ``post__`` layout, 2015 - 2021
``mirror/1``           ``article_mirror.MirrorPage``           weekly-geekly translated mirror
=====================  =====================================  ==========================================

Comments: an article page object reads the comments the page itself renders (legacy pages, browser-saved tm
pages) into ``Article.comments`` (``comments_status`` "page"; "not_fetched" when the page has no comments section);
:func:`parse_comments_api` reads Habr's comments API answers (kek/v2, app v1) into a :class:`CommentsPage`, for the
capture to put into ``Article.comments`` with status "api". Both in thread order (``habrmirror.pages.comments``).

Errors: :class:`~habrmirror.pages.errors.NotAnArticlePage` (listings, 404 bodies, the mirror index),
:class:`~habrmirror.pages.errors.BlockedPage` (captcha / rate limit / DDoS check: retry later),
:class:`~habrmirror.pages.errors.ParseError` (an article page we could not read).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from lxml import html as lxml_html
from lxml.html import HtmlElement

from habrmirror.items import Article
from habrmirror.pages.article_base import ArticlePage
from habrmirror.pages.article_legacy import LegacyPage
from habrmirror.pages.article_mirror import MirrorPage
from habrmirror.pages.article_tm import TmAmpPage, TmDomPage, TmMobile2019Page, TmPiniaPage, TmSsrPage
from habrmirror.pages.comments import CommentsPage, parse_comments_api
from habrmirror.pages.errors import BlockedPage, NotAnArticlePage, PageError, ParseError
from habrmirror.pages.listing import ListingPage, parse_listing  # the listing page objects (another module)
from habrmirror.pages.state import has_page_state, page_state
from habrmirror.pages.text import decode_body, parse_document

__all__ = [
    "ARTICLE_PAGES",
    "ArticlePage",
    "BlockedPage",
    "CommentsPage",
    "ListingPage",
    "NotAnArticlePage",
    "PageError",
    "ParseError",
    "detect_article_layout",
    "parse_article",
    "parse_comments_api",
    "parse_listing",
]

# Registry order; detection ranks the matches by ``ArticlePage.specificity`` (how much of its era's markup a
# class's ``matches`` requires), and registry order is the order among equals.
ARTICLE_PAGES: tuple[type[ArticlePage], ...] = (
    TmPiniaPage,  # before tm-ssr, which it refines
    TmAmpPage,
    TmSsrPage,
    TmMobile2019Page,
    LegacyPage,  # 2019 legacy pages also carry an id="post-content-body": legacy's markup test is the stronger
    TmDomPage,
    MirrorPage,
)
_BY_SPECIFICITY = sorted(
    ARTICLE_PAGES, key=lambda page: -page.specificity
)  # stable: registry order among equals

# Captcha / rate-limit / anti-bot interstitials (Habr's own 429/503 pages, Qrator, DDoS-Guard, Cloudflare,
# Yandex SmartCaptcha, reCAPTCHA). Only consulted when no article layout matched, so an article *about* captchas
# is still an article.
_BLOCKED_RE = re.compile(
    r"too many requests|rate limit|слишком много запросов|превышен лимит|captcha|капч|"
    r"подтвердите, что вы не робот|are you a robot|checking your browser|проверка браузера|"
    r"ddos-guard|qrator|cf-chl|cf-browser-verification|access denied|доступ ограничен|temporarily blocked",
    re.IGNORECASE,
)
# What a Habr error page (404/410/403) says; not blocked, simply no article.
_NOT_FOUND_RE = re.compile(
    r"страница не найдена|page not found|публикация удалена|доступ к публикации закрыт|\b404\b", re.IGNORECASE
)


def _load(body: bytes | str | HtmlElement) -> tuple[HtmlElement, str, dict[str, Any] | None]:
    """Decode, parse once, decode the page state once (every class's ``matches`` and fields share them)."""
    if isinstance(body, HtmlElement):
        doc = body
        text = lxml_html.tostring(doc, encoding="unicode")
    else:
        text = decode_body(body)
        doc = parse_document(text)
    state = page_state(doc) if has_page_state(text) else None
    return doc, text, state


def _page_class(
    doc: HtmlElement, text: str, state: dict[str, Any] | None, fetched_at: datetime | None
) -> type[ArticlePage] | None:
    """The most specific class whose markup test the page passes. The capture date (``fetched_at``, e.g. a
    WARC-Date) only breaks a tie between equally specific matches: old layouts are fetched today too (web
    archives, mirrors, replays), so a date never outranks markup. Classes less specific than the best match are
    not even tested."""
    matched: list[type[ArticlePage]] = []
    for page in _BY_SPECIFICITY:
        if matched and page.specificity < matched[0].specificity:
            break
        if page.matches(doc, text, state):
            matched.append(page)
    if len(matched) > 1 and fetched_at is not None:
        day = (fetched_at if fetched_at.tzinfo else fetched_at.replace(tzinfo=timezone.utc)).date()
        in_era = [
            page
            for page in matched
            if (page.valid_from is None or page.valid_from <= day)
            and (page.valid_until is None or day < page.valid_until)
        ]
        if in_era:
            return in_era[0]
    return matched[0] if matched else None


def _refuse(doc: HtmlElement, url: str) -> PageError:
    """The typed error for a page no article class matched: blocked, or simply not an article."""
    title = " ".join((doc.findtext(".//title") or "").split())
    text = " ".join(
        " ".join(doc.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]")).split()
    )
    if len(text) < 5000 and _BLOCKED_RE.search(title + " " + text[:3000]):
        return BlockedPage(f"captcha or rate-limit page at {url!r}: {title or text[:80]!r}")
    if doc.xpath('//form[contains(@action, "captcha")] | //*[contains(@class, "captcha")]'):
        return BlockedPage(f"captcha form at {url!r}")
    if _NOT_FOUND_RE.search(title):
        return NotAnArticlePage(f"error page at {url!r}: {title!r}")
    return NotAnArticlePage(f"no article layout matched at {url!r} (title {title!r})")


def detect_article_layout(body: bytes | str | HtmlElement, fetched_at: datetime | None = None) -> str:
    """The parser name (e.g. ``"tm-ssr/1"``) that :func:`parse_article` would use; raises like it for non-articles."""
    doc, text, state = _load(body)
    page = _page_class(doc, text, state, fetched_at)
    if page is None:
        raise _refuse(doc, "")
    return page.parser_name()


def parse_article(url: str, body: bytes | str, fetched_at: datetime | None = None) -> Article:
    """Parse one article page. ``url`` is where it was fetched (used for the id when the page declares none)."""
    doc, text, state = _load(body)
    page = _page_class(doc, text, state, fetched_at)
    if page is None:
        raise _refuse(doc, url)
    return page(url, doc, fetched_at, state).parse()
