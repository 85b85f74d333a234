"""The article page object every layout era builds on: one parsed page in, one ``Article`` out.

Flow: ``habrmirror.pages.parse_article`` detects the layout and instantiates a subclass of :class:`ArticlePage`
(``article_tm``, ``article_legacy``, ``article_mirror``); :meth:`ArticlePage.parse` calls one method per field, so a
newer era overrides only the fields whose markup changed (fundus-style ``V1`` / ``V1_1(V1)`` versioning). The base
knows only what every Habr page era shares: ``<link rel=canonical>``, Open Graph meta, JSON-LD, and how to turn a
located body element into Markdown, plain text, images and links.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from habrmirror.clock import iso
from habrmirror.items import (
    COMMENTS_FROM_PAGE,
    COMMENTS_NOT_FETCHED,
    STATISTICS_KEYS,
    Article,
    Comment,
    Image,
    Link,
)
from habrmirror.pages.errors import ParseError
from habrmirror.pages.markdown import (
    BodyRenderer,
    image_source,
    inner_html,
    is_local_copy,
    link_as_recorded,
)
from habrmirror.pages.text import clean_text, first_match, parse_fragment, parse_iso, unique
from habrmirror.urls import NotAnArticleUrl, article_id, article_url

# Label variants (class modifiers / visible texts) -> the label keys the kek API and the dataset use.
LABEL_TEXTS = {
    "перевод": "translation",
    "translation": "translation",
    "из песочницы": "sandbox",
    "sandbox": "sandbox",
    "tutorial": "tutorial",
    "туториал": "tutorial",
    "recovery mode": "recovery",
    "кейс": "case",
    "case": "case",
    "аналитика": "analytics",
    "analytics": "analytics",
    "обзор": "review",
    "review": "review",
    "дайджест": "digest",
    "digest": "digest",
    "мнение": "opinion",
    "opinion": "opinion",
    "интервью": "interview",
    "interview": "interview",
}


class ArticlePage:
    """Base page object. Subclasses set ``name``/``version`` and override the field methods their markup needs."""

    name: ClassVar[str] = "base"
    version: ClassVar[int] = 1
    # How much of its era's markup ``matches`` requires: detection picks the most specific matching class (a
    # refinement ranks above the era it grew from; a bare container id ranks below a layout's own class names).
    specificity: ClassVar[int] = 0
    # Eras are told apart by markup; these dates only break ties between equally specific matches (WARC-Date).
    valid_from: ClassVar[date | None] = None
    valid_until: ClassVar[date | None] = None

    def __init__(
        self,
        url: str,
        doc: HtmlElement,
        fetched_at: datetime | None = None,
        state: dict[str, Any] | None = None,
    ):
        self.url = url
        self.doc = doc
        self.fetched_at = fetched_at
        self.page_state = state  # window.__INITIAL_STATE__, decoded once by the caller when the page has one

    # -- detection ---------------------------------------------------------------------------------------------
    @classmethod
    def matches(cls, doc: HtmlElement, text: str, state: dict[str, Any] | None) -> bool:
        """True when the markup is this class's era (subclasses implement).

        ``text`` is the decoded page: a substring test on it (C speed) rules a class out before any XPath runs.
        """
        return False

    @classmethod
    def parser_name(cls) -> str:
        return f"{cls.name}/{cls.version}"

    # -- shared page-level data ---------------------------------------------------------------------------------
    @cached_property
    def head(self) -> HtmlElement:
        head = self.doc.find("head")
        return head if head is not None else self.doc

    def meta(self, key: str) -> str | None:
        """``<meta property|name=key content>`` of the head (Open Graph, twitter, aiturec)."""
        for element in self.head.iter("meta"):
            if element.get("property") == key or element.get("name") == key:
                content = element.get("content")
                if content:
                    return content.strip()
        return None

    @cached_property
    def json_ld(self) -> dict[str, Any]:
        """The page's schema.org Article JSON-LD (tm pages since 2019, legacy company pages), else ``{}``."""
        for script in self.doc.iter("script"):
            if script.get("type") == "application/ld+json" and script.text:
                try:
                    data = json.loads(script.text)
                except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack
                    continue
                if isinstance(data, dict) and data.get("@type") in ("Article", "NewsArticle", "BlogPosting"):
                    return data
        return {}

    @cached_property
    def declared_url(self) -> str | None:
        """The URL the page declares for itself: rel=canonical, then og:url, then JSON-LD mainEntityOfPage."""
        for link in self.head.iter("link"):
            if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
                return link.get("href").strip()
        og_url = self.meta("og:url")
        if og_url:
            return og_url
        entity = self.json_ld.get("mainEntityOfPage")
        if isinstance(entity, dict) and isinstance(entity.get("@id"), str):
            return entity["@id"]
        return None

    @cached_property
    def base_url(self) -> str:
        """What relative links resolve against: the declared URL (browser-saved files have no real URL)."""
        return self.declared_url or self.url

    # -- field methods (override per era) -----------------------------------------------------------------------
    def article_id(self) -> int:
        candidates = [self.declared_url, self.url, self.meta("aiturec:item_id")]
        for candidate in candidates:
            if not candidate:
                continue
            try:
                return article_id(candidate)
            except NotAnArticleUrl:
                continue
        raise ParseError(f"no article id in the page or its URL {self.url!r}")

    def canonical_url(self, article: int, language: str | None) -> str:
        return self.declared_url or article_url(article, language=language or "ru")

    def title(self) -> str | None:
        return clean_text(self.meta("og:title") or self.json_ld.get("headline")) or None

    def language(self) -> str | None:
        return self.language_from_url()

    def language_from_url(self) -> str | None:
        """``/en/...`` or ``/ru/...`` in the declared URL (habr.com prefixes paths with the article's language)."""
        path = urlsplit(self.declared_url or self.url).path
        for language in ("ru", "en"):
            if path.startswith(f"/{language}/"):
                return language
        return None

    def published(self) -> datetime | None:
        return parse_iso(self.json_ld.get("datePublished")) or parse_iso(self.meta("aiturec:datetime"))

    def author(self) -> str | None:
        return None

    def author_name(self) -> str | None:
        return None

    def body_element(self) -> HtmlElement | None:
        return None

    def body_html(self, body: HtmlElement | None) -> str | None:
        return inner_html(body) if body is not None else None

    def lead_html(self) -> str | None:
        return None

    def hubs(self) -> list[tuple[str, str]]:
        """(alias, title) pairs in page order."""
        return []

    def flows(self) -> list[str]:
        about = self.json_ld.get("about")
        if isinstance(about, list):  # tm JSON-LD: ["h_hackathons", "f_develop", "f_"]
            return unique([item[2:] for item in about if isinstance(item, str) and item.startswith("f_")])
        return []

    def tags(self) -> list[str]:
        return []

    def labels(self) -> list[str]:
        return []

    def original(self) -> tuple[str | None, str | None]:
        """(original_author, original_url) of a translation."""
        return None, None

    def post_type(self) -> str | None:
        path = urlsplit(self.declared_url or "").path
        if re.search(r"/news/(?:t/)?\d+/?$", path):
            return "news"
        if re.search(r"/articles/\d+/?$", path):  # 2023+ canonical form of a (non-news) article
            return "article"
        if re.search(r"/posts/\d+/?$", path):  # 2024+ short posts: /ru/posts/ID/, /ru/companies/X/posts/ID/
            return "post"
        return None

    def statistics(self) -> dict[str, int] | None:
        return None

    def reading_time(self) -> int | None:
        return None

    def comments(self) -> list[Comment] | None:
        """The comments the page itself renders, in thread order (``[]``: a comments section without any);
        None when the page has no comments section (they were not part of this capture)."""
        return None

    def complexity(self) -> str | None:
        return None

    def format(self) -> str | None:
        return None

    # -- body-derived fields --------------------------------------------------------------------------------------
    def images(self, body: HtmlElement) -> list[Image]:
        images = []
        for element in body.iter("img", "amp-img"):
            url = image_source(element, self.base_url)
            if url and not is_local_copy(url):
                alt = clean_text(element.get("alt")) or None
                images.append(Image(url=url, alt=alt))
        return images

    def links(self, body: HtmlElement) -> list[Link]:
        links = []
        for element in body.iter("a"):
            url = link_as_recorded(element, self.base_url)  # javascript: and data: links too, as written
            if url:
                links.append(Link(url=url, text=clean_text(element.text_content())))
        return links

    # -- assembly -----------------------------------------------------------------------------------------------
    def parse(self) -> Article:
        """Every field, in one place; raises ``ParseError`` when neither a title nor a body can be read."""
        body = self.body_element()
        if body is not None and len(body) == 0 and not (body.text or "").strip():
            body = None  # an empty container is no body
        title = self.title()
        if body is None and not title:
            raise ParseError(f"{self.parser_name()}: no title and no body in {self.url!r}")
        if body is None:
            raise ParseError(f"{self.parser_name()}: article {title!r} has no readable body in {self.url!r}")
        ident = self.article_id()
        language = self.language()
        published = self.published()
        hubs = self.hubs()
        original_author, original_url = self.original()
        lead = self.lead_html()
        statistics = self.statistics()
        statistics = (
            {key: statistics[key] for key in STATISTICS_KEYS if key in statistics} if statistics else None
        )
        text_markdown, text = BodyRenderer(self.base_url).render_both(body)
        comments = self.comments()
        return Article(
            id=ident,
            language=language,
            url=self.canonical_url(ident, language),
            title=title,
            text_markdown=text_markdown,
            text_html=self.body_html(body),
            author=self.author(),
            original_author=original_author,
            original_url=original_url,
            lead_html=lead,
            lead_markdown=self.lead_markdown(lead),
            type=self.post_type(),
            time_published=int(published.timestamp()) if published else None,
            statistics=statistics or None,
            labels=self.labels(),
            hubs=[alias for alias, _ in hubs],
            flows=self.flows(),
            tags=self.tags(),
            reading_time=self.reading_time(),
            format=self.format(),
            complexity=self.complexity(),
            comments=comments or [],
            comments_status=COMMENTS_NOT_FETCHED if comments is None else COMMENTS_FROM_PAGE,
            text=text,
            author_name=self.author_name(),
            published_at=iso(published) if published is not None else None,
            hub_titles=[title for _, title in hubs],
            images=self.images(body),
            links=self.links(body),
            parser=self.parser_name(),
        )

    def lead_markdown(self, lead: str | None) -> str | None:
        if not lead:
            return None

        root = parse_fragment(lead)
        return BodyRenderer(self.base_url).render(root) or None

    # -- helpers for subclasses ---------------------------------------------------------------------------------
    @staticmethod
    def first(context: HtmlElement | None, *xpaths: str) -> HtmlElement | None:
        """First match of the first XPath that matches (:func:`habrmirror.pages.text.first_match`)."""
        return first_match(context, *xpaths)

    @staticmethod
    def first_with_class(
        context: HtmlElement | None, *classes: str, tag: str | None = None, include_self: bool = False
    ) -> HtmlElement | None:
        """First descendant (in document order) that has one of the class tokens, optionally of one ``tag``.

        The same answer as ``first(context, ".//tag[has(a) or has(b)]")``, ten times faster on a whole page:
        lxml's ``iter`` walks the tree in C, while XPath's descendant axis builds node sets."""
        if context is None:
            return None
        wanted = set(classes)
        for element in context.iter(tag or etree.Element):
            if element is context and not include_self:
                continue
            value = element.get("class")
            if value and not wanted.isdisjoint(value.split()):
                return element
        return None

    @staticmethod
    def text_of(element: HtmlElement | None) -> str | None:
        return clean_text(element.text_content()) or None if element is not None else None
