"""Article page objects for Habr's Vue "tm" layout (2019 m.habr.com, 2021+ habr.com), one class per variant.

Place in the flow: ``habrmirror.pages.parse_article`` picks one of these after detection; each returns an
``Article``. Parser names (``Article.parser``):

* ``tm-dom/1``  :class:`TmDomPage` - the rendered DOM only: 2021+ raw SSR read without its state, browser-saved
  pages (DOM serialised after JavaScript, local ``./x_files/`` copies, no ``__INITIAL_STATE__``), the 2024+ ``#mount``
  variant. Selectors list the class names of each era next to each other.
* ``tm-ssr/1``  :class:`TmSsrPage` (a ``TmDomPage``) - raw SSR with ``window.__INITIAL_STATE__``: fields come from
  the state's ``articlesList.articlesList[id]`` (the kek/v2 article JSON), the DOM fills what the state lacks.
* ``tm-pinia/1``  :class:`TmPiniaPage` (a ``TmSsrPage``) - raw SSR with Pinia's ``window.__PINIA_STATE__`` (2025+):
  ``publicationType``, ``labels``, and the short "posts" (``/ru/posts/ID/``, often without a title).
* ``tm-amp/1``  :class:`TmAmpPage` - the AMP variant (``<html ⚡>``, ``/amp/post|publications/ID/``).
* ``tm-mobile-2019/1``  :class:`TmMobile2019Page` - m.habr.com Vue SSR 2019 (habr-version 2.5.x); its state uses the
  older schema (``contentHTML`` entity-escaped, ``date``, ``viewsCount``).
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from functools import cached_property
from typing import Any, ClassVar

from lxml.html import HtmlElement

from habrmirror.items import Comment
from habrmirror.pages.article_base import LABEL_TEXTS, ArticlePage
from habrmirror.pages.comments import tm_page_comments
from habrmirror.pages.state import dict_at, is_pinia, list_at, str_at
from habrmirror.pages.text import (
    HTML_PARSER,
    class_xpath,
    clean_text,
    exact_int,
    hub_alias,
    parse_fragment,
    parse_iso,
    parse_minutes,
    parse_votes_title,
    put_exact,
    unique,
)

_COMPLEXITY_RE = re.compile(r"tm-article-complexity_complexity-(\w+)")
_LABEL_VARIANT_RE = re.compile(r"tm-publication-label_variant-([\w-]+)")


def _has(name: str) -> str:
    return class_xpath(name)


def _unescape(escaped: str) -> str:
    """Entity-escaped HTML back to HTML, decoded by libxml2 as a text node (``html.unescape`` costs a Python call
    per entity: thousands per page). CRs are parked on a private-use character because libxml2 folds CRLF."""
    if "<" in escaped or "\ue000" in escaped:
        return html.unescape(escaped)
    from lxml import html as lxml_html

    node = lxml_html.fragment_fromstring(
        "<pre>" + escaped.replace("\r", "\ue000") + "</pre>", parser=HTML_PARSER
    )
    return (node.text or "").replace("\ue000", "\r")


def state_article(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The one article the page shows: ``articlesList.articlesList[route id]`` (lists also hold sidebar posts)."""
    if not state:
        return None
    articles = dict_at(dict_at(state, "articlesList"), "articlesList")
    if not articles:
        return None
    route_id = None
    for route in (dict_at(state, "route"), dict_at(dict_at(state, "articlesList"), "route")):
        route_id = dict_at(route, "params").get("id") or route_id
    path = str_at(dict_at(dict_at(state, "location"), "urlStruct"), "pathname") or ""
    if route_id is None:
        match = re.search(r"/(\d+)/?(?:comments/?)?$", path)
        route_id = match.group(1) if match else None
    if route_id is not None and str(route_id) in articles:
        article = articles[str(route_id)]
        if isinstance(article, dict) and ("textHtml" in article or "contentHTML" in article):
            return article
    # Fall back to the only entry carrying a full body (listing entries have lead data only).
    full = [a for a in articles.values() if isinstance(a, dict) and ("textHtml" in a or "contentHTML" in a)]
    return full[0] if len(full) == 1 else None


class TmDomPage(ArticlePage):
    """Vue "tm" layout read from the DOM alone (2021-2025 markup, raw or browser-saved)."""

    name = "tm-dom"
    version = 1
    specificity = 10  # one container id, which 2019 legacy pages carry too
    valid_from = date(2021, 1, 1)

    @classmethod
    def matches(cls, doc: HtmlElement, text: str, state: dict[str, Any] | None) -> bool:
        # #post-content-body holds the article body in every tm variant since 2021 (also AMP, detected earlier).
        return 'id="post-content-body"' in text and doc.find('.//div[@id="post-content-body"]') is not None

    # The article column: 2021 <article class="tm-page-article__content">, 2023+ <article
    # class="tm-article-presenter__content">; excludes sidebar, author card (below), comments.
    @cached_property
    def root(self) -> HtmlElement | None:
        return self.first_with_class(
            self.doc, "tm-article-presenter__content", "tm-page-article__content", tag="article"
        )

    @cached_property
    def header(self) -> HtmlElement | None:
        """Title/author/hubs block: 2021 ``.tm-article-snippet``, 2023+ ``.tm-article-presenter__header``."""
        # Shallow paths first: a descendant search would walk the whole body.
        return self.first(
            self.root,
            f"./div[{_has('tm-article-presenter__header')}]",
            f"./div/div[{_has('tm-article-snippet')}]",
            f".//div[{_has('tm-article-presenter__header')} or {_has('tm-article-snippet')}]",
        )

    # The counters: 2021 .tm-page-article__counters-panel, 2023+ .tm-article-sticky-panel (after the article).
    @cached_property
    def counters(self) -> HtmlElement | None:
        near = self.first(
            self.root,
            # 2021: <article> + sibling div.tm-article__icons-wrapper > div.tm-page-article__counters-panel
            f"following-sibling::div[1]/div[{_has('tm-page-article__counters-panel')}]",
            # 2023+: div.tm-article-presenter__body > (misprint area > article) + div.tm-article-sticky-panel
            f"ancestor::div[{_has('tm-article-presenter__body')}][1]/div[{_has('tm-article-sticky-panel')}]",
        )
        if near is not None:
            return near
        return self.first_with_class(
            self.doc, "tm-article-sticky-panel", "tm-page-article__counters-panel", tag="div"
        )

    def body_element(self) -> HtmlElement | None:
        container = self.doc.find('.//div[@id="post-content-body"]')
        if container is None:
            return None
        # 2021: #post-content-body.article-formatted-body; 2023+: #post-content-body > div > .article-formatted-body
        formatted = self.first_with_class(container, "article-formatted-body", include_self=True)
        return formatted if formatted is not None else container

    def title(self) -> str | None:
        # 2021 h1.tm-article-snippet__title, 2023+ h1.tm-title; the og:title fallback covers the rest.
        return self.text_of(self.first(self.header, ".//h1")) or super().title()

    def language(self) -> str | None:
        # The body and title carry the article's language (<div lang="ru" class="tm-article-body">);
        # <html lang> is the interface language.
        for element in (self.first(self.header, ".//h1[@lang]"), self.first(self.root, "./div[@lang]")):
            if element is not None and element.get("lang") in ("ru", "en"):
                return element.get("lang")
        return self.language_from_url()

    def published(self) -> datetime | None:
        # <time datetime="2021-07-19T07:02:37.000Z"> in .tm-article-snippet__datetime-published (2021) /
        # .tm-article-datetime-published (2023+); JSON-LD datePublished has the same second.
        element = self.first(self.header, ".//time[@datetime]")
        return (parse_iso(element.get("datetime")) if element is not None else None) or super().published()

    def author(self) -> str | None:
        return self.text_of(self.first(self.header, f".//*[{_has('tm-user-info__username')}]"))

    def author_name(self) -> str | None:
        # JSON-LD author.name is what the author card shows (full name, or the login when none is set).
        name = (
            (self.json_ld.get("author") or {}).get("name")
            if isinstance(self.json_ld.get("author"), dict)
            else None
        )
        if name:
            return clean_text(name)
        # The author card under the article: .tm-article-author (2021-2024), .article-author (2025).
        card = self.first_with_class(self.doc, "tm-article-author", "article-author", tag="div")
        return self.text_of(self.first(card, f".//span[{_has('tm-user-card__name')}]"))

    def hubs(self) -> list[tuple[str, str]]:
        # 2021-2023 a.tm-article-snippet__hubs-item-link, 2024+ a.tm-publication-hub__link (header);
        # the "Хабы:" list under the body repeats them.
        links = self.header.xpath(".//a[@href]") if self.header is not None else []
        pairs = []
        for link in links:
            alias = hub_alias(link.get("href"))
            if alias:
                span = self.first(link, "./span")  # 2023 adds <span class="...profiled-hub">*</span>
                pairs.append((alias, self.text_of(span) or self.text_of(link) or alias))
        aliases = unique([alias for alias, _ in pairs])
        return [next(pair for pair in pairs if pair[0] == alias) for alias in aliases]

    def tags(self) -> list[str]:
        # Tag links under the body point at /search/?...q=[tag]: 2021 .tm-article-body__tags-item-link,
        # 2023 .tm-tags-list__link, 2025 .tag-list a.link.
        container = self.first(
            self.root,
            f"./div[{_has('tm-article-presenter__meta')} or {_has('tm-article-body__tags')}]",
            f".//div[{_has('tm-article-presenter__meta')} or {_has('tm-article-body__tags')}]",
        )
        if container is None:
            return []
        return unique(
            [clean_text(a.text_content()) for a in container.xpath(".//a[contains(@href, '/search/')]")]
        )

    def labels(self) -> list[str]:
        # 2021 .tm-article-snippet__labels > .tm-article-snippet__label, 2024+ .tm-article-labels >
        # .tm-publication-label_variant-<key>; only the header's labels (sidebar snippets have their own).
        container = self.first(
            self.header, f".//*[{_has('tm-article-snippet__labels')} or {_has('tm-article-labels')}]"
        )
        if container is None:
            return []
        labels = []
        for element in container.xpath(".//*[@class]"):
            variant = _LABEL_VARIANT_RE.search(element.get("class"))
            text = clean_text(element.text_content()).lower()
            if variant:
                labels.append(variant.group(1))
            elif text in LABEL_TEXTS and len(element) <= 1:
                labels.append(LABEL_TEXTS[text])
        return unique(labels)

    def statistics(self) -> dict[str, int]:
        stats: dict[str, int] = {}
        panel = self.counters
        if panel is not None:
            # Votes: .tm-votes-meter__value[title] (2021-2023), .tm-votes-lever[title] (2024+).
            for element in panel.xpath(".//*[@title]"):
                votes = parse_votes_title(element.get("title"))
                if votes:
                    stats.update(votes)
                    break
            score = self.first(
                panel, f".//*[{_has('tm-votes-meter__value')} or {_has('tm-votes-lever__score-counter')}]"
            )
            if score is not None:
                put_exact(stats, "score", score.text_content())
            favorites = self.first(panel, f".//*[{_has('bookmarks-button__counter')}]")
            if favorites is not None:
                put_exact(stats, "favoritesCount", favorites.text_content())
            # Comments: .tm-article-comments-counter-link__value (2021-2024), a[data-test-id=counter-comments] .value
            comments = self.first(
                panel,
                f".//*[{_has('tm-article-comments-counter-link__value')}]"
                ' | .//a[@data-test-id="counter-comments"]/span',
            )
            if comments is not None:
                put_exact(stats, "commentsCount", comments.text_content())
        # Views: 2021 in the counters panel, 2023+ in the header stats; "19K" is rounded, 2025 adds title="1289".
        for scope in (self.first(self.header, f".//*[{_has('tm-article-snippet__stats')}]"), panel):
            views = self.first(scope, f".//*[{_has('tm-icon-counter__value')}]")
            if views is not None:
                value = exact_int(views.get("title")) or exact_int(views.text_content())
                if value is not None:
                    stats["readingCount"] = value
                break
        return stats

    def comments(self) -> list[Comment] | None:
        # div.tm-comments__tree under #publication-comments: rendered in browser-saved pages (2024+); raw SSR
        # pages carry only the counter link (their state's comments are empty until the browser loads them)
        return tm_page_comments(self.doc, self.base_url)

    def reading_time(self) -> int | None:
        # .tm-article-reading-time__label "8 мин" (2022+ header stats).
        return parse_minutes(
            self.text_of(self.first(self.header, f".//*[{_has('tm-article-reading-time__label')}]"))
        )

    def complexity(self) -> str | None:
        # .tm-article-complexity_complexity-low|medium|high (2022+ header stats).
        element = self.first(self.header, f".//*[{_has('tm-article-complexity')}]")
        match = _COMPLEXITY_RE.search(element.get("class") or "") if element is not None else None
        return match.group(1) if match else None


class _TmStatePage(TmDomPage):
    """A tm page whose ``__INITIAL_STATE__`` holds the article (not registered itself: its eras are)."""

    body_key: ClassVar[str]  # the state field holding the body HTML, which tells the state's schema
    specificity = 30  # the page state holds the article itself, plus the tm markup

    @classmethod
    def matches(cls, doc: HtmlElement, text: str, state: dict[str, Any] | None) -> bool:
        article = state_article(state)
        return article is not None and cls.body_key in article

    @cached_property
    def state(self) -> dict[str, Any]:
        return state_article(self.page_state) or {}

    def language(self) -> str | None:
        return str_at(self.state, "lang") or super().language()

    def author(self) -> str | None:
        return str_at(dict_at(self.state, "author"), "alias") or super().author()


class TmSsrPage(_TmStatePage):
    """Raw SSR page with ``window.__INITIAL_STATE__`` (2021+): state first, DOM for the rest."""

    name = "tm-ssr"
    version = 1
    body_key = "textHtml"

    def body_element(self) -> HtmlElement | None:
        element = super().body_element()
        if element is None and str_at(self.state, "textHtml"):
            element = parse_fragment(self.state["textHtml"])
        return element

    def body_html(self, body: HtmlElement | None) -> str | None:
        # The state's textHtml is the body exactly as the server sent it (the dataset's text_html).
        return str_at(self.state, "textHtml") or super().body_html(body)

    def lead_html(self) -> str | None:
        return str_at(dict_at(self.state, "leadData"), "textHtml")

    def title(self) -> str | None:
        title = str_at(self.state, "titleHtml")
        return clean_text(html.unescape(re.sub(r"<[^>]+>", "", title))) if title else super().title()

    def published(self) -> datetime | None:
        return parse_iso(self.state.get("timePublished")) or super().published()

    def author_name(self) -> str | None:
        return str_at(dict_at(self.state, "author"), "fullname") or super().author_name()

    def hubs(self) -> list[tuple[str, str]]:
        hubs = list_at(self.state, "hubs")
        if hubs is None:
            return super().hubs()
        # "corporative" entries are company blogs (/companies/x/), not hubs.
        return [
            (alias, clean_text(str_at(hub, "title") or alias))
            for hub in hubs
            if (alias := str_at(hub, "alias")) and hub.get("type") != "corporative"
        ]

    def flows(self) -> list[str]:
        flows = list_at(self.state, "flows")
        if flows is None:
            return super().flows()
        return unique([str_at(flow, "alias") for flow in flows])

    def tags(self) -> list[str]:
        tags = list_at(self.state, "tags")
        if tags is None:
            return super().tags()
        return unique(
            [
                clean_text(html.unescape(str_at(tag, "titleHtml") or ""))
                for tag in tags
                if isinstance(tag, dict)
            ]
        )

    def labels(self) -> list[str]:
        labels = list_at(self.state, "postLabels")
        if labels is None:
            return super().labels()
        return unique([str_at(label, "type") for label in labels])

    def original(self) -> tuple[str | None, str | None]:
        for label in list_at(self.state, "postLabels") or []:
            if str_at(label, "type") == "translation":
                data = dict_at(label, "data")
                return str_at(data, "originalAuthorName"), str_at(data, "originalUrl")
        return None, None

    def post_type(self) -> str | None:
        return str_at(self.state, "postType") or super().post_type()

    def statistics(self) -> dict[str, int]:
        stats = self.state.get("statistics")
        if not isinstance(stats, dict):
            return super().statistics()
        return {
            key: value
            for key, value in stats.items()
            if isinstance(value, int) and not isinstance(value, bool)
        }

    def reading_time(self) -> int | None:
        value = self.state.get("readingTime")
        return value if isinstance(value, int) and not isinstance(value, bool) else super().reading_time()

    def complexity(self) -> str | None:
        return str_at(self.state, "complexity") or super().complexity()

    def format(self) -> str | None:
        return str_at(self.state, "format") or super().format()


# Habr's own publication kinds (``postType`` until 2025, ``publicationType`` in the Pinia state) -> Article.type.
_PUBLICATION_TYPES = {"megaproject": "megapost"}


class TmPiniaPage(TmSsrPage):
    """Raw SSR page whose state is Pinia's ``window.__PINIA_STATE__`` (2025+, habr-version 2.3xx): the same
    ``articlesList`` as tm-ssr, with ``publicationType`` for ``postType``, and short "posts" (often titleless) laid
    out as a ``tm-post-presenter`` holding one ``tm-post-snippet`` instead of the article presenter."""

    name = "tm-pinia"
    version = 1
    valid_from = date(2025, 1, 1)
    specificity = 40  # the Pinia state script on top of what tm-ssr requires

    @classmethod
    def matches(cls, doc: HtmlElement, text: str, state: dict[str, Any] | None) -> bool:
        return is_pinia(text) and super().matches(doc, text, state)

    @cached_property
    def is_post(self) -> bool:
        return self.post_type() == "post"

    # Posts: <article class="tm-post-presenter__content"> (2024+); articles keep tm-article-presenter__content.
    @cached_property
    def root(self) -> HtmlElement | None:
        post = self.first_with_class(self.doc, "tm-post-presenter__content", tag="article")
        return post if post is not None else super().root

    @cached_property
    def header(self) -> HtmlElement | None:
        # A post's author, date, hubs and labels sit in its div.tm-post-snippet (its presenter header is empty).
        snippet = self.first(self.root, f"./div[{_has('tm-post-snippet')}]")
        return snippet if snippet is not None else super().header

    @cached_property
    def counters(self) -> HtmlElement | None:
        # A post's votes, bookmarks and comments counters: div.tm-post-snippet__icons inside the snippet.
        icons = self.first(self.header, f"./div[{_has('tm-post-snippet__icons')}]")
        return icons if icons is not None else super().counters

    def body_element(self) -> HtmlElement | None:
        # A post has no #post-content-body: .tm-post-snippet__content > div > div > .article-formatted-body.
        if self.doc.find('.//div[@id="post-content-body"]') is None:
            content = self.first(self.header, f".//div[{_has('tm-post-snippet__content')}]")
            body = self.first_with_class(content, "article-formatted-body")
            if body is not None:
                return body
        return super().body_element()

    def title(self) -> str | None:
        if str_at(self.state, "titleHtml") or not self.is_post:
            return super().title()
        # A titleless post: og:title / <title> are Habr's generated "Пост @login — Блог компании X — 30.07 10:00",
        # and JSON-LD headline is the cut-off preview; neither is a title.
        return self.text_of(self.first(self.header, ".//h1"))

    def post_type(self) -> str | None:
        kind = str_at(self.state, "publicationType") or str_at(self.state, "postType")
        if kind:
            return _PUBLICATION_TYPES.get(kind, kind)
        return super().post_type()

    def labels(self) -> list[str]:
        # "postLabels" became "labels" in the Pinia state (same {type, data} entries).
        labels = list_at(self.state, "postLabels" if "postLabels" in self.state else "labels")
        if labels is None:
            return super().labels()
        return unique([str_at(label, "type") for label in labels])


class _TmArticleElementPage(TmDomPage):
    """AMP and mobile-2019 renderings: the whole post, header included, is one ``<article class="tm-article">``."""

    @cached_property
    def root(self) -> HtmlElement | None:
        return self.first_with_class(self.doc, "tm-article", tag="article")

    @cached_property
    def header(self) -> HtmlElement | None:
        return self.root


class TmAmpPage(_TmArticleElementPage):
    """AMP variant (``<html ⚡>``): no counters (loaded by ``amp-list``), ``amp-img`` images."""

    name = "tm-amp"
    version = 1
    specificity = 30  # the AMP document marker, plus the tm markup

    @classmethod
    def matches(cls, doc: HtmlElement, text: str, state: dict[str, Any] | None) -> bool:
        return "⚡" in doc.attrib or "amp" in doc.attrib

    def title(self) -> str | None:
        return self.text_of(self.first(self.root, f".//*[{_has('tm-article-title')}]")) or super().title()

    def language(self) -> str | None:
        locale = self.meta("og:locale")
        return self.language_from_url() or (locale[:2] if locale else None)

    def published(self) -> datetime | None:
        # <amp-date-display datetime="2020-01-10T06:47:18+00:00"> in .tm-user-meta__date
        element = self.first(self.root, ".//amp-date-display[@datetime]")
        return (parse_iso(element.get("datetime")) if element is not None else None) or super().published()

    def hubs(self) -> list[tuple[str, str]]:
        # .tm-article-hubs__link above the body (href /hub/api/)
        pairs = []
        for link in (
            self.root.xpath(f".//a[{_has('tm-article-hubs__link')}]") if self.root is not None else []
        ):
            alias = hub_alias(link.get("href"))
            if alias:
                pairs.append((alias, self.text_of(link) or alias))
        return pairs

    def tags(self) -> list[str]:
        # .tm-article__tags blocks ("Теги:" then "Хабы:") under the body; tags link to /search/.
        if self.root is None:
            return []
        links = self.root.xpath(f'.//div[{_has("tm-article__tags")}]//a[contains(@href, "/search/")]')
        return unique([clean_text(a.text_content()) for a in links])

    def author_name(self) -> str | None:
        card = self.first_with_class(self.doc, "tm-page-article__author", tag="div")
        return self.text_of(self.first(card, f".//span[{_has('tm-user-card__name')}]"))

    def statistics(self) -> dict[str, int]:
        return {}  # counters come from /amp/api/post-info/ID at view time, not in the page


class TmMobile2019Page(_TmStatePage, _TmArticleElementPage):
    """m.habr.com Vue SSR, 2019 (habr-version 2.x): early tm markup plus the old-schema state."""

    name = "tm-mobile-2019"
    version = 1
    valid_until = date(2021, 1, 1)
    body_key = "contentHTML"

    def body_element(self) -> HtmlElement | None:
        # .tm-article-body_formatted > .tm-article-body > div (the xmlns wrapper)
        element = self.first(self.root, f".//*[{_has('tm-article-body')}]")
        if element is None and str_at(self.state, "contentHTML"):
            element = parse_fragment(_unescape(self.state["contentHTML"]))
        return element

    def body_html(self, body: HtmlElement | None) -> str | None:
        content = str_at(self.state, "contentHTML")
        # The 2019 state stores the body with every character entity-escaped (&#x3C;div ...).
        return _unescape(content) if content else super().body_html(body)

    def title(self) -> str | None:
        return clean_text(str_at(self.state, "title")) or self.text_of(
            self.first(self.root, f".//*[{_has('tm-article-title__text')}]")
        )

    def published(self) -> datetime | None:
        return parse_iso(self.state.get("date")) or super().published()

    def author_name(self) -> str | None:
        return str_at(dict_at(self.state, "author"), "title") or super().author_name()

    def hubs(self) -> list[tuple[str, str]]:
        return [
            (alias, clean_text(str_at(hub, "title") or alias))
            for hub in list_at(self.state, "hubs") or []
            if (alias := str_at(hub, "alias")) and not hub.get("isCompany")
        ]

    def flows(self) -> list[str]:
        return unique([str_at(flow, "alias") for flow in list_at(self.state, "flows") or []])

    def tags(self) -> list[str]:
        return unique(
            [
                clean_text(str_at(tag, "name"))
                for tag in list_at(self.state, "tags") or []
                if isinstance(tag, dict)
            ]
        )

    def post_type(self) -> str | None:
        if "isNews" not in self.state:
            return super().post_type()
        if self.state.get("isNews"):
            return "news"
        return "megapost" if self.state.get("isMegapost") else "article"

    def statistics(self) -> dict[str, int]:
        names = {
            "commentsCount": "commentsCount",
            "favoritesCount": "favoritesCount",
            "viewsCount": "readingCount",
            "score": "score",
        }
        return {
            ours: self.state[theirs]
            for theirs, ours in names.items()
            if isinstance(self.state.get(theirs), int) and not isinstance(self.state.get(theirs), bool)
        }
