"""Article page object for Habr's server-rendered ``post__`` layout (2015 - mid 2021): parser ``legacy/1``.

Place in the flow: picked by ``habrmirror.pages.parse_article`` when the page has the legacy full-post markup
(``.post__title-text`` and ``.post__text-html`` inside ``.post__wrapper``). No page state exists in this era: fields
come from the DOM, plus the JSON-LD that 2019+ legacy pages carry (it has the publication time to the second,
the DOM only to the minute).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cached_property
from typing import Any

from lxml.html import HtmlElement

from habrmirror.items import Comment
from habrmirror.pages.article_base import LABEL_TEXTS, ArticlePage
from habrmirror.pages.comments import legacy_page_comments
from habrmirror.pages.text import (
    class_xpath,
    clean_text,
    exact_int,
    hub_alias,
    parse_human_date,
    parse_iso,
    parse_votes_title,
    put_exact,
    unique,
)


def _has(name: str) -> str:
    return class_xpath(name)


class LegacyPage(ArticlePage):
    """habr.com / habrahabr.ru full post page before the 2021 Vue redesign."""

    name = "legacy"
    version = 1
    specificity = 20  # its own class names on the title and the body (h1.post__title_full, .post__body_full)
    valid_until = date(2021, 8, 1)

    @classmethod
    def matches(cls, doc: HtmlElement, text: str, state: dict[str, Any] | None) -> bool:
        # Listings use h2.post__title + .post__body_crop; the full post has h1.post__title_full, .post__body_full.
        if "post__title_full" not in text and "post__body_full" not in text:
            return False
        return (
            cls.first_with_class(doc, "post__title", tag="h1") is not None
            or cls.first_with_class(doc, "post__body_full", tag="div") is not None
        )

    @cached_property
    def wrapper(self) -> HtmlElement | None:
        # div.post__wrapper: meta, title, hubs, body, tags (comments and author panel are outside it).
        wrapper = self.first_with_class(self.doc, "post__wrapper", tag="div")
        return wrapper if wrapper is not None else self.first_with_class(self.doc, "post_full")

    @cached_property
    def stats(self) -> HtmlElement | None:
        # ul.post-stats#infopanel_post_ID right after the post (listings repeat .post-stats per snippet).
        return self.first(
            self.doc, '//ul[starts-with(@id, "infopanel_post_")]', f"//ul[{_has('post-stats_post')}]"
        )

    def body_element(self) -> HtmlElement | None:
        # div.post__text.post__text-html (inside .post__body_full)
        return self.first(
            self.wrapper,
            f"./div[{_has('post__body')}]/div[{_has('post__text')}]",
            f".//div[{_has('post__text')}]",
        )

    def title(self) -> str | None:
        # h1.post__title > span.post__title-text
        element = self.first(
            self.wrapper, f".//h1/span[{_has('post__title-text')}]", f".//h1[{_has('post__title')}]"
        )
        return self.text_of(element) or super().title()

    def language(self) -> str | None:
        lang = self.doc.get("lang")
        return self.language_from_url() or (lang if lang in ("ru", "en") else None)

    def published(self) -> datetime | None:
        # JSON-LD (2019+) has seconds; span.post__time[data-time_published="2019-08-06T20:33Z"] minutes;
        # 2018 pages only show "26 декабря 2006 в 12:10" (Moscow time).
        from_ld = super().published()
        if from_ld:
            return from_ld
        element = self.first(
            self.wrapper, f"./header/span[{_has('post__time')}]", f".//*[{_has('post__time')}]"
        )
        if element is None:
            return None
        return parse_iso(element.get("data-time_published")) or parse_human_date(
            element.text_content(), self.fetched_at
        )

    def author(self) -> str | None:
        # a.post__user-info > span.user-info__nickname
        element = self.first(
            self.wrapper,
            f"./header/a[{_has('post__user-info')}]/span[{_has('user-info__nickname')}]",
            f".//*[{_has('post__user-info')}]//*[{_has('user-info__nickname')}]",
        )
        return self.text_of(element)

    def author_name(self) -> str | None:
        # Author panel under the post: .author-panel (user posts), .company-info__author (company posts).
        panel = self.first_with_class(self.doc, "author-panel", "company-info__author", tag="div")
        return self.text_of(self.first(panel, f".//a[{_has('user-info__fullname')}]"))

    def hubs(self) -> list[tuple[str, str]]:
        # ul.post__hubs a.hub-link; the company blog link (/company/x/) is not a hub.
        pairs = []
        hubs = self.first(self.wrapper, f"./ul[{_has('post__hubs')}]", f".//ul[{_has('post__hubs')}]")
        for link in hubs.iter("a") if hubs is not None else []:
            alias = hub_alias(link.get("href"))
            if alias:
                pairs.append((alias, self.text_of(link) or alias))
        return pairs

    def tags(self) -> list[str]:
        # dl.post__tags a.post__tag
        tags = self.first(self.wrapper, f"./dl[{_has('post__tags')}]", f".//*[{_has('post__tags')}]")
        links = tags.xpath(".//a[@href]") if tags is not None else []
        return unique([clean_text(a.text_content()) for a in links])

    def labels(self) -> list[str]:
        # span.post__type-label ("Перевод", "Tutorial", "Из песочницы") next to the title
        title = self.first(self.wrapper, f".//h1[{_has('post__title')}]")
        elements = title.xpath(f".//*[{_has('post__type-label')}]") if title is not None else []
        texts = [clean_text(e.text_content()).lower() for e in elements]
        return unique([LABEL_TEXTS[text] for text in texts if text in LABEL_TEXTS])

    def comments(self) -> list[Comment] | None:
        # div.comments-section#comments > ul#comments-list, below the post (outside .post__wrapper): the page
        # renders every comment
        return legacy_page_comments(self.doc, self.base_url, self.fetched_at)

    def statistics(self) -> dict[str, int]:
        stats: dict[str, int] = {}
        panel = self.stats
        if panel is None:
            return stats
        score = self.first(panel, f".//*[{_has('voting-wjt__counter')}]")
        if score is not None:
            stats.update(parse_votes_title(score.get("title")))  # "Общий рейтинг 79: ↑43 и ↓36"
            put_exact(stats, "score", score.text_content())
        for key, css in (
            ("favoritesCount", "bookmark__counter"),
            ("commentsCount", "post-stats__comments-count"),
            ("readingCount", "post-stats__views-count"),  # "27,3k" is rounded: kept only when exact
        ):
            value = exact_int(self.text_of(self.first(panel, f".//*[{_has(css)}]")))
            if value is not None:
                stats[key] = value
        return stats
