"""Listing page objects: a Habr listing page (feed, hub, news, search, top) in, its article snippets out.

First step of the flow: the ``articles`` spider reads a listing with :func:`parse_listing`, requests every
``entry.url`` and follows ``next_url``. Pure (HTML in, data out): it runs the same on a live response, a saved
fixture or a WARC record. Two markup eras are read: ``tm`` (Vue SSR, 2021+, including the 2024+ ``#mount``
variant) and ``legacy`` (server-rendered ``post_preview`` snippets, 2015-2021).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from habrmirror.pages.errors import ParseError
from habrmirror.pages.state import page_state
from habrmirror.pages.text import (
    class_xpath,
    clean_text,
    decode_body,
    first_match,
    hub_alias,
    parse_document,
    parse_fragment,
    parse_human_date,
    parse_iso,
    unique,
)
from habrmirror.urls import NotAnArticleUrl, absolute, article_id

__all__ = ["ListingEntry", "ListingPage", "parse_listing"]


@dataclass
class ListingEntry:
    """One article snippet of a listing, as the snippet shows it (the article page itself says more)."""

    id: int
    # Absolute article URL as the snippet links it (may be /ru/post/N/, /ru/article/N/, /en/posts/N/).
    url: str
    title: str  # "" only for a "post" (Habr's short posts have no title)
    author: str | None  # login (from the /users/LOGIN/ link); None for megaposts (company promo cards)
    published_at: datetime | None  # tz-aware UTC
    # Hub list titles in snippet order, exactly as shown: includes the "Блог компании X" pseudo-hub that Habr
    # lists among the hubs; the "*" profiled-hub marker is dropped.
    hubs: list[str]
    type: str | None  # "article" / "news" / "megapost" / "post" when the page says so, else None
    # Aliases of the hubs linked as /hub/ALIAS/ or /hubs/ALIAS/..., in order; company blogs are not hubs, so
    # this can be shorter than ``hubs``.
    hub_aliases: list[str] = field(default_factory=list)


@dataclass
class ListingPage:
    """A listing page: entries in page order (ids unique), where to go next and how many pages there are."""

    url: str
    entries: list[ListingEntry]
    next_url: str | None  # absolute
    page_count: int | None  # when the page says (pagination or __INITIAL_STATE__ pagesCount)
    layout: str  # "tm" / "legacy"


# --- tm era (2021+) ---------------------------------------------------------------------------------------
# Every snippet is <article id="N" class="tm-articles-list__item"> in all tm variants seen (2021 SSR, 2022,
# 2023 search, 2024+ #mount, 2026 "article-snippet"); article pages never use this class.
_TM_ENTRIES = lxml.etree.XPath(f"//article[{class_xpath('tm-articles-list__item')}]")
# The article link, tried in this order: h2.tm-article-snippet__title > a (2021-22) and
# h2.tm-title > a.tm-title__link (2023+); a.tm-megapost-snippet__card wrapping the h2 (2021-22 megapost);
# a.tm-article-datetime-published (2023+; the only link of a titleless short "post", 2024+).
_TM_LINKS = (
    lxml.etree.XPath(".//h2//a[@href]"),
    lxml.etree.XPath(".//a[@href][.//h2]"),
    lxml.etree.XPath(f".//a[@href][{class_xpath('tm-article-datetime-published')}]"),
)
_TM_TITLE = lxml.etree.XPath(".//h2")
_TM_AUTHOR = lxml.etree.XPath(f".//a[{class_xpath('tm-user-info__username')}]")  # all tm variants
# <time datetime="2025-04-07T09:30:46.000Z">, all tm variants (the text is relative: "вчера в 16:00").
_TM_TIME = lxml.etree.XPath(".//time[@datetime]")
_TM_HUBS = lxml.etree.XPath(
    f".//a[{class_xpath('tm-publication-hub__link')}]"  # 2023+ (also in short "post" snippets)
    f" | .//a[{class_xpath('tm-article-snippet__hubs-item-link')}]"  # 2021-22
    f" | .//*[{class_xpath('tm-megapost-snippet__hub')}]//a"  # 2021-22 megapost cards
)
# 2025+ snippets carry their kind: <div class="publication-type-label publication-type-label_type-post">
_TM_TYPE_LABEL = lxml.etree.XPath(".//*[contains(@class, 'publication-type-label_type-')]/@class")
_TM_MEGAPOST = lxml.etree.XPath(f"boolean(.//*[{class_xpath('tm-megapost-snippet')}])")  # 2021-22 megapost
_TM_POST = lxml.etree.XPath(f"boolean(.//*[{class_xpath('tm-post-snippet')}])")  # 2024+ short post
# Next page: a#pagination-next-page (2021-22, 2025+); 2023-25 pages ship it with id="pagination-prev-page"
# (Habr's bug) but keep data-test-id="pagination-next-page" / data-pagination-next.
_TM_NEXT = lxml.etree.XPath(
    "//a[@href][@id='pagination-next-page' or @data-test-id='pagination-next-page' or @data-pagination-next]"
)
_TM_PAGINATION = lxml.etree.XPath(f"//*[{class_xpath('tm-pagination')}]")
_TM_LIST = lxml.etree.XPath(f"boolean(//*[{class_xpath('tm-articles-list')}])")

# --- legacy era (2015-2021) -------------------------------------------------------------------------------
# <li id="post_N" class="content-list__item_post"><article class="post post_preview">; the sidebar's
# "megapost-teasers" are promos, not entries.
_LEGACY_ENTRIES = lxml.etree.XPath(f"//article[{class_xpath('post_preview')}]")
_LEGACY_LINKS = (
    lxml.etree.XPath(f".//a[@href][{class_xpath('post__title_link')}]"),  # h2.post__title > a, 2015-2021
    lxml.etree.XPath(".//h2//a[@href]"),
)
_LEGACY_AUTHOR = lxml.etree.XPath(f".//a[{class_xpath('post__user-info')}]")
_LEGACY_NICKNAME = lxml.etree.XPath(f".//*[{class_xpath('user-info__nickname')}]")
# span.post__time: text such as "вчера в 12:29"; 2019+ article pages add data-time_published="...Z".
_LEGACY_TIME = lxml.etree.XPath(f".//*[{class_xpath('post__time')}]")
_LEGACY_HUBS = lxml.etree.XPath(f".//*[{class_xpath('post__hubs')}]//a[{class_xpath('hub-link')}]")
_LEGACY_LABELS = lxml.etree.XPath(f".//*[{class_xpath('post__type-label')}]")  # "Новость", "Перевод", ...
_LEGACY_NEXT = lxml.etree.XPath("//a[@href][@id='next_page']")
_LEGACY_PAGINATION = lxml.etree.XPath("//*[@id='nav-pagess']")  # sic: Habr's id
_LEGACY_LIST = lxml.etree.XPath(
    f"boolean(//*[{class_xpath('content-list_posts')} or {class_xpath('posts_list')}])"
)

# Article pages (all eras, also m.habr.com 2019) say og:type "article"; listings say "website".
_OG_ARTICLE = lxml.etree.XPath("boolean(//meta[@property='og:type'][@content='article'])")
_HEAD_NEXT = lxml.etree.XPath("//link[@rel='next'][@href]/@href")
_USER_LOGIN = re.compile(r"/users/([^/?#]+)")
_TRAILING_ID = re.compile(r"/(\d+)/?$")
_PAGE_NUMBER = re.compile(r"/page(\d+)/?(?:[?#]|$)")
_TYPE_LABEL = re.compile(r"publication-type-label_type-([a-z]+)")
_NEWS_LABELS = {"новость", "news"}
# Habr's own postType values, mapped to the names this module uses.
_STATE_TYPES = {
    "article": "article",
    "news": "news",
    "megaproject": "megapost",
    "megapost": "megapost",
    "post": "post",
}


def parse_listing(url: str, body: bytes | str, fetched_at: datetime | None = None) -> ListingPage:
    """Read a listing page; :class:`ParseError` for a page that is not a listing or has no readable entry.

    ``fetched_at`` (the WARC-Date) only resolves the legacy era's relative dates ("сегодня в 08:48",
    "вчера в 12:29"); without it those entries get ``published_at=None``. tm pages carry absolute times.
    """
    try:
        doc = parse_document(decode_body(body))  # a declared <meta charset> is honoured, else UTF-8
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ParseError(f"{url}: not an HTML page ({exc})") from exc

    tm_nodes = _TM_ENTRIES(doc)
    if tm_nodes:
        return _parse_tm(url, doc, tm_nodes)
    legacy_nodes = _LEGACY_ENTRIES(doc)
    if legacy_nodes:
        return _parse_legacy(url, doc, legacy_nodes, fetched_at)
    if _OG_ARTICLE(doc):
        raise ParseError(f"{url}: an article page (og:type article), not a listing")
    # No snippet markup we know: a tm listing whose SSR state still lists the articles.
    state = page_state(doc)
    page = _parse_tm_state(url, doc, state) if state else None
    if page is not None:
        return page
    if _TM_LIST(doc) or _LEGACY_LIST(doc):
        raise ParseError(f"{url}: looks like a listing page but no entries could be read")
    raise ParseError(f"{url}: not a listing page (no tm-articles-list__item or post_preview snippets)")


# --- tm ---------------------------------------------------------------------------------------------------


def _parse_tm(url: str, doc: lxml.html.HtmlElement, nodes: list) -> ListingPage:
    """tm era: the snippets' markup first; the SSR state (raw pages only) adds post types and page count."""
    state = page_state(doc)
    state_items = _state_articles(state)
    entries = _unique_entries(_tm_entry(url, node, state_items) for node in nodes)
    if not entries:
        raise ParseError(f"{url}: tm listing with {len(nodes)} snippets but no readable entry")
    return _tm_page(url, doc, state, entries)


def _tm_page(
    url: str, doc: lxml.html.HtmlElement, state: dict | None, entries: list[ListingEntry]
) -> ListingPage:
    """Pagination of a tm page: next link from the markup, page count from the state, else the pagination."""
    next_links = _TM_NEXT(doc)
    next_url = absolute(url, next_links[0].get("href")) if next_links else _head_next(url, doc)
    page_count = _state_page_count(state, {entry.id for entry in entries})
    if page_count is None:
        page_count = _pagination_count(_TM_PAGINATION(doc))
    return ListingPage(url=url, entries=entries, next_url=next_url, page_count=page_count, layout="tm")


def _tm_entry(
    page_url: str, node: lxml.html.HtmlElement, state_items: dict[str, dict]
) -> ListingEntry | None:
    """One tm snippet; None when it has no article link or no id (``article@id``, else from the link)."""
    link = first_match(node, *_TM_LINKS)
    href = absolute(page_url, link.get("href")) if link is not None else None
    raw_id = (node.get("id") or "").strip()
    entry_id = int(raw_id) if raw_id.isdigit() else _id_from_url(href)
    if entry_id is None or entry_id <= 0:
        return None
    if href is None:
        return None
    titles = _TM_TITLE(node)
    title = _text(titles[0]) if titles else ""
    authors = _TM_AUTHOR(node)
    author = _login(authors[0]) if authors else None
    times = _TM_TIME(node)
    published_at = parse_iso(times[0].get("datetime")) if times else None
    kind = _tm_type(node, href, state_items.get(str(entry_id)))
    return _entry(entry_id, href, title, author, published_at, _TM_HUBS(node), kind)


def _tm_type(node: lxml.html.HtmlElement, url: str, state_item: dict | None) -> str | None:
    """The snippet's own label or shape first, then the SSR state's postType, then the URL form."""
    for classes in _TM_TYPE_LABEL(node):
        match = _TYPE_LABEL.search(classes)
        if match:
            return _STATE_TYPES.get(match.group(1), match.group(1))
    if _TM_MEGAPOST(node):
        return "megapost"
    if _TM_POST(node):
        return "post"
    if state_item:
        kind = state_item.get("postType") or state_item.get("publicationType")
        if isinstance(kind, str) and kind:
            return _STATE_TYPES.get(kind, kind)
    return _type_from_url(url)


def _parse_tm_state(url: str, doc: lxml.html.HtmlElement, state: dict) -> ListingPage | None:
    """Entries from __INITIAL_STATE__ alone (articlesIds order): a tm page whose snippet markup is unknown."""
    lists = state.get("articlesList")
    ids_by_list = lists.get("articlesIds") if isinstance(lists, dict) else None
    route = lists.get("route") if isinstance(lists, dict) else None
    route_name = str(route.get("name") or "").upper() if isinstance(route, dict) else ""
    if not isinstance(ids_by_list, dict) or not route_name or route_name == "ARTICLE":
        return None
    # Only the list the page's route shows (ARTICLES_LIST_BY_HUB_ALL -> ARTICLES_LIST_BY_HUB_ALL_JAVA); other
    # pages keep lists of earlier routes in their state.
    shown = [ids for key, ids in ids_by_list.items() if str(key).upper().startswith(route_name)]
    if shown and all(isinstance(ids, list) and not ids for ids in shown):
        # The state says the route's list is empty (a new hub, a feed with nothing yet): an empty page, not
        # an unreadable one.
        return ListingPage(url=url, entries=[], next_url=None, page_count=0, layout="tm")
    items = _state_articles(state)
    entries: list[ListingEntry] = []
    parts = urlsplit(url)
    origin = f"{parts.scheme or 'https'}://{parts.netloc or 'habr.com'}"
    language = parts.path.strip("/").split("/")[0]
    language = language if language in ("ru", "en") else "ru"
    for ids in shown:
        for raw_id in ids if isinstance(ids, list) else []:
            item = items.get(str(raw_id))
            if not item or not str(raw_id).isdigit():
                continue
            kind = _STATE_TYPES.get(str(item.get("postType") or item.get("publicationType") or ""))
            section = {"news": "news", "post": "posts"}.get(kind or "", "articles")
            raw_author = item.get("author")
            author: dict = raw_author if isinstance(raw_author, dict) else {}
            hubs = [hub for hub in item.get("hubs") or [] if isinstance(hub, dict)]
            entries.append(
                ListingEntry(
                    id=int(raw_id),
                    url=f"{origin}/{language}/{section}/{raw_id}/",
                    title=_html_text(item.get("titleHtml") or ""),
                    author=author.get("alias") or None,
                    published_at=parse_iso(item.get("timePublished")),
                    hubs=[clean_text(str(hub.get("title") or "")) for hub in hubs],
                    type=kind,
                    hub_aliases=[
                        str(hub["alias"])
                        for hub in hubs
                        if hub.get("alias") and hub.get("type") != "corporative"
                    ],
                )
            )
    entries = _unique_entries(entries)
    if not entries:
        return None
    return _tm_page(url, doc, state, entries)


def _state_articles(state: dict | None) -> dict[str, dict]:
    """``articlesList.articlesList``: id -> article summary (postType, titleHtml, author, hubs...)."""
    lists = state.get("articlesList") if state else None
    items = lists.get("articlesList") if isinstance(lists, dict) else None
    return (
        {str(key): value for key, value in items.items() if isinstance(value, dict)}
        if isinstance(items, dict)
        else {}
    )


def _state_page_count(state: dict | None, ids: set[int]) -> int | None:
    """``articlesList.pagesCount[LIST]`` of the list (key such as ARTICLES_LIST_ALL) holding these entries."""
    lists = state.get("articlesList") if state else None
    if not isinstance(lists, dict):
        return None
    counts = lists.get("pagesCount")
    if not isinstance(counts, dict):
        return None
    raw_ids = lists.get("articlesIds")
    ids_by_list: dict = raw_ids if isinstance(raw_ids, dict) else {}
    candidates = [key for key, value in counts.items() if isinstance(value, int) and value > 0]
    for key in candidates:
        listed = ids_by_list.get(key)
        if isinstance(listed, list) and ids & {int(x) for x in listed if str(x).isdigit()}:
            return counts[key]
    return counts[candidates[0]] if len(candidates) == 1 else None


# --- legacy -----------------------------------------------------------------------------------------------


def _parse_legacy(
    url: str, doc: lxml.html.HtmlElement, nodes: list, fetched_at: datetime | None
) -> ListingPage:
    """Legacy era: all data comes from the snippet markup (no state script, dates are text)."""
    entries = _unique_entries(_legacy_entry(url, node, fetched_at) for node in nodes)
    if not entries:
        raise ParseError(f"{url}: legacy listing with {len(nodes)} snippets but no readable entry")
    next_links = _LEGACY_NEXT(doc)
    next_url = absolute(url, next_links[0].get("href")) if next_links else _head_next(url, doc)
    page_count = _pagination_count(_LEGACY_PAGINATION(doc))
    return ListingPage(url=url, entries=entries, next_url=next_url, page_count=page_count, layout="legacy")


def _legacy_entry(
    page_url: str, node: lxml.html.HtmlElement, fetched_at: datetime | None
) -> ListingEntry | None:
    """One ``article.post_preview``; the id is on the enclosing ``li#post_N``, else in the title link."""
    link = first_match(node, *_LEGACY_LINKS)
    href = absolute(page_url, link.get("href")) if link is not None else None
    if link is None or href is None:
        return None
    parent = node.getparent()
    parent_id = (parent.get("id") or "") if parent is not None else ""
    entry_id = int(parent_id[5:]) if parent_id.startswith("post_") and parent_id[5:].isdigit() else None
    entry_id = entry_id or _id_from_url(href)
    if entry_id is None or entry_id <= 0:
        return None
    title = _text(link)
    author = None
    authors = _LEGACY_AUTHOR(node)
    if authors:
        author = _login(authors[0])
    if author is None:
        nicknames = _LEGACY_NICKNAME(node)
        author = _text(nicknames[0]) or None if nicknames else None
    times = _LEGACY_TIME(node)
    published_at = None
    if times:
        published_at = parse_iso(times[0].get("data-time_published")) or parse_human_date(
            _text(times[0]), fetched_at
        )
    labels = {_text(label).lower() for label in _LEGACY_LABELS(node)}
    kind = "news" if labels & _NEWS_LABELS else _type_from_url(href)
    return _entry(entry_id, href, title, author, published_at, _LEGACY_HUBS(node), kind)


# --- shared helpers ---------------------------------------------------------------------------------------


def _text(node: lxml.html.HtmlElement) -> str:
    """Visible text of a node without the profiled-hub "*" marker (``tm-article-snippet__profiled-hub``)."""
    parts: list[str] = []

    def walk(element: lxml.html.HtmlElement) -> None:
        if element.text:
            parts.append(element.text)
        for child in element:
            # Comments (<!--[-->, Vue's markers) and the marker span add nothing; their tails still count.
            if isinstance(child.tag, str) and "profiled" not in (child.get("class") or ""):
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(node)
    return clean_text("".join(parts))


def _html_text(html: str) -> str:
    """Text of an HTML fragment from the state JSON (titleHtml holds entities and <em> highlights)."""
    if not html.strip():
        return ""
    return clean_text(parse_fragment(html).text_content())


def _entry(
    entry_id: int,
    href: str,
    title: str,
    author: str | None,
    published_at: datetime | None,
    hub_links: list,
    kind: str | None,
) -> ListingEntry:
    """A snippet's entry, whichever era's markup it was read from."""
    hubs, hub_aliases = _hubs(hub_links)
    return ListingEntry(
        id=entry_id,
        url=href,
        title=title,
        author=author,
        published_at=published_at,
        hubs=hubs,
        type=kind,
        hub_aliases=hub_aliases,
    )


def _login(link: lxml.html.HtmlElement) -> str | None:
    """The login from the profile link (/ru/users/LOGIN/), else the link text."""
    match = _USER_LOGIN.search(link.get("href") or "")
    if match:
        return match.group(1)
    return _text(link) or None


def _hubs(links: list) -> tuple[list[str], list[str]]:
    """(titles as shown, aliases of the /hub(s)/ALIAS/ links); company-blog links add a title only."""
    titles: list[str] = []
    aliases: list[str] = []
    for link in links:
        title = _text(link)
        if not title:
            continue
        titles.append(title)
        alias = hub_alias(link.get("href"))
        if alias:
            aliases.append(alias)
    return titles, aliases


def _id_from_url(url: str | None) -> int | None:
    """Article id from any known URL form; also /ru/article/N/ (megapost cards) and /en/posts/N/ (posts)."""
    if not url:
        return None
    try:
        return article_id(url)
    except NotAnArticleUrl:
        match = _TRAILING_ID.search(urlsplit(url).path)
        return int(match.group(1)) if match else None


def _type_from_url(url: str) -> str | None:
    """Only URL forms that name the kind: /news/ (2019+), /posts/ (2024+), /articles/ (2023+)."""
    segments = urlsplit(url).path.strip("/").split("/")
    if "news" in segments:
        return "news"
    if "posts" in segments:
        return "post"
    if "articles" in segments:
        return "article"
    return None


def _head_next(url: str, doc: lxml.html.HtmlElement) -> str | None:
    """``<link rel="next">`` in the head, when a page has no pagination anchor."""
    hrefs = _HEAD_NEXT(doc)
    return absolute(url, hrefs[0]) if hrefs else None


def _pagination_count(containers: list) -> int | None:
    """Highest page number the pagination names (a ``/pageN/`` link or a number shown); None without one."""
    best: int | None = None
    for container in containers:
        for element in container.iter():
            if not isinstance(element.tag, str):
                continue
            numbers = [int(match) for match in _PAGE_NUMBER.findall(element.get("href") or "")]
            own = (element.text or "").strip()
            if own.isdigit() and len(element) == 0:
                numbers.append(int(own))
            for number in numbers:
                best = number if best is None or number > best else best
    return best


def _unique_entries(entries: Iterable[ListingEntry | None]) -> list[ListingEntry]:
    """Drop unreadable snippets and repeated ids (one fixture holds the page twice), keeping page order."""
    return unique(entries, key=lambda entry: entry.id)
