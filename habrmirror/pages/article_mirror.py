"""Page object for the weekly-geekly.github.io mirror (machine-translated copies of Habr posts): ``mirror/1``.

Place in the flow: ``habrmirror.pages.parse_article`` picks it for a third-party page whose body is a Habr
``div.post__text`` and which names its Habr original in a "Source: <a href=https://habr.com/ru/post/N/>" line.
The mirror keeps only the title and the translated body: the id and ``original_url`` come from that Source link,
``url`` is the Habr URL of the id (the page declares no canonical of its own), ``language`` is the mirror's.
Author, time, hubs and tags are not on the page and stay empty.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from lxml.html import HtmlElement

from habrmirror.pages.article_base import ArticlePage
from habrmirror.pages.errors import ParseError
from habrmirror.pages.text import class_xpath
from habrmirror.urls import NotAnArticleUrl, article_id, article_url, is_article_url

# (the a[@href] test first: normalize-space(.) of every paragraph of a long page is what costs)
_SOURCE_XPATH = '//p[a[@href] and starts-with(normalize-space(.), "Source:")]/a[@href]'


class MirrorPage(ArticlePage):
    """A translated mirror page of one Habr post."""

    name = "mirror"
    version = 1
    specificity = 10  # a "Source:" link to Habr next to a body of Habr's class

    @classmethod
    def matches(cls, doc: HtmlElement, text: str, state: dict[str, Any] | None) -> bool:
        if "Source:" not in text or "post__text" not in text:
            return False
        links = doc.xpath(_SOURCE_XPATH)
        return bool(links) and is_article_url(links[0].get("href")) and bool(cls._body(doc))

    @staticmethod
    def _body(doc: HtmlElement) -> list[HtmlElement]:
        # section.page > div.post__text.post__text-html (the original's body class, kept by the mirror)
        return doc.xpath(f"//*[{class_xpath('post__text')}]")

    @cached_property
    def source_url(self) -> str:
        return self.doc.xpath(_SOURCE_XPATH)[0].get("href").strip()

    def article_id(self) -> int:
        try:
            return article_id(self.source_url)
        except NotAnArticleUrl as error:
            raise ParseError(f"mirror page with an unreadable Source link: {self.source_url!r}") from error

    def canonical_url(self, article: int, language: str | None) -> str:
        return article_url(article)

    def original(self) -> tuple[str | None, str | None]:
        return None, self.source_url

    def body_element(self) -> HtmlElement | None:
        found = self._body(self.doc)
        return found[0] if found else None

    def title(self) -> str | None:
        # section.page > h1 (the translated title); <title> repeats it
        return self.text_of(self.first(self.doc, '//section[contains(@class, "page")]/h1', "//h1", "//title"))

    def language(self) -> str | None:
        lang = self.doc.get("lang")
        return lang if lang in ("ru", "en") else None

    def flows(self) -> list[str]:
        return []

    def post_type(self) -> str | None:
        return None
