"""Listing pages (``/ru/articles/``, ``/ru/news/``, legacy ``/ru/all/``) built from the saved real listings.

The page chrome is the saved page (parsed and re-serialised once by lxml); the list is made by cloning one
real snippet element per entry and replacing only its id, links, title, author, time, hubs and lead, so a
parser reads these pages with the selectors it uses on the real saved pages. 20 per page, newest first;
pagination as on the real page (tm: ``a[data-test-id=pagination-next-page][rel=next]``; legacy:
``a#next_page``), with no next link on the last page.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass

from lxml import etree, html

from habrmirror.replica.catalog import SAMPLES_DIR, Entry, moscow_text, moscow_title

PAGE_SIZE = 20
TM_TEMPLATE = "listing-articles-ru-2025-04.html"
LEGACY_TEMPLATE = "listing-all-legacy-2020.html"
TM_SNIPPET_ID = (
    "898218"  # a personal-blog snippet with hubs, a cover image and no "opinion"/"translation" label
)
_LIST_MARK = "REPLICA-LIST-MARK"
_PAGER_MARK = "REPLICA-PAGER-MARK"


def _parse(name: str) -> html.HtmlElement:
    return html.fromstring((SAMPLES_DIR / name).read_bytes(), parser=html.HTMLParser(encoding="utf-8"))


_STATE_START = "window.__INITIAL_STATE__="


def _empty_state_list(root: html.HtmlElement) -> None:
    """Empty the saved page's state copy of its article list (``articlesList``): the replica's listing is the
    snippets it renders, and the saved page's own 20 articles are not on the replica. A reader of the state
    (Habr's client, our listing parser when snippet markup is unknown) then agrees with the markup."""
    for script in root.iter("script"):
        text = script.text or ""
        start = text.find(_STATE_START)
        if start < 0:
            continue
        begin = start + len(_STATE_START)
        state, end = json.JSONDecoder().raw_decode(text, begin)
        lists = state.get("articlesList") or {}
        lists["articlesList"] = {}
        lists["articlesIds"] = {key: [] for key in lists.get("articlesIds") or {}}
        lists["pagesCount"] = {key: 0 for key in lists.get("pagesCount") or {}}
        script.text = text[:begin] + json.dumps(state, ensure_ascii=False, separators=(",", ":")) + text[end:]


def _serialise(node: etree._Element) -> str:
    return html.tostring(node, encoding="unicode")


def _classed(node: etree._Element, name: str) -> list[etree._Element]:
    return node.xpath(f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")


def _replace_id_in_attributes(node: etree._Element, old: str, path_old: str, path_new: str, new: str) -> None:
    """Point every link of a cloned snippet at the new article (paths first, then bare ids)."""
    for element in node.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if old in value:
                element.set(name, value.replace(path_old, path_new).replace(old, new))


@dataclass
class _Split:
    """A template page cut around the list and the pager: head + LIST + middle + PAGER + tail."""

    head: str
    middle: str
    tail: str
    doctype: str


def _split_page(root: html.HtmlElement, list_parent: etree._Element, pager: etree._Element) -> _Split:
    for child in list(list_parent):
        list_parent.remove(child)
    list_parent.text = None
    list_parent.append(etree.Comment(_LIST_MARK))
    pager_mark = etree.Comment(_PAGER_MARK)
    pager_mark.tail = pager.tail
    pager.getparent().replace(pager, pager_mark)
    doctype = root.getroottree().docinfo.doctype or "<!DOCTYPE html>"
    text = _serialise(root)
    head, rest = text.split(f"<!--{_LIST_MARK}-->")
    middle, tail = rest.split(f"<!--{_PAGER_MARK}-->")
    return _Split(head, middle, tail, doctype)


class TmListing:
    """Today's markup (2024+ ``#mount`` layout), from the saved ``/ru/articles/`` page of 2025-04."""

    def __init__(self) -> None:
        root = _parse(TM_TEMPLATE)
        _empty_state_list(root)
        container = root.xpath("//div[@data-test-id='articles-list']")[0]
        children = list(container)
        articles = [c for c in children if c.tag == "article"]
        first = children.index(articles[0])
        second = children.index(articles[1])
        last = children.index(articles[-1])
        self.lead_nodes = [copy.deepcopy(c) for c in children[:first]]
        self.separator = [copy.deepcopy(c) for c in children[first + 2 : second]]  # after "after-article"
        self.after_article = copy.deepcopy(children[first + 1])
        self.trailer = [copy.deepcopy(c) for c in children[last + 2 :]]
        self.snippet = copy.deepcopy(next(a for a in articles if a.get("id") == TM_SNIPPET_ID))
        pager = root.xpath("//div[@data-test-id='pagination']")[0]
        self.pager = copy.deepcopy(pager)
        self.split = _split_page(root, container, pager)

    def snippet_for(self, entry: Entry) -> str:
        """One ``<article>`` for an entry: the real snippet with its facts replaced."""
        node = copy.deepcopy(self.snippet)
        old = self.snippet.get("id")
        _replace_id_in_attributes(node, old, f"/ru/articles/{old}/", entry.path, str(entry.id))
        node.set("id", str(entry.id))
        for link in _classed(node, "tm-title__link"):
            span = link.find("span")
            (span if span is not None else link).text = entry.title
        for link in _classed(node, "tm-user-info__username"):
            link.text = entry.author + " "
            link.set("href", f"/ru/users/{entry.author}/")
        for link in _classed(node, "tm-user-info__userpic"):
            link.set("href", f"/ru/users/{entry.author}/")
            link.set("title", entry.author)
        moment = entry.published_at
        for stamp in node.iter("time"):
            stamp.set("datetime", moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
            stamp.set("title", moscow_title(moment))
            stamp.text = moscow_text(moment, short=True)
        for hubs in _classed(node, "tm-publication-hubs"):
            links = _classed(hubs, "tm-publication-hub__link-container")
            model, anchor = links[0], links[0].getprevious()
            for link in links:
                hubs.remove(link)
            for slug, name in reversed(entry.hubs):
                clone = copy.deepcopy(model)
                clone.find("a").set("href", f"/ru/hubs/{slug}/")
                clone.find("a").find("span").text = name
                if anchor is None:
                    hubs.insert(0, clone)
                else:
                    anchor.addnext(clone)
        for cover in _classed(node, "tm-article-snippet__lead-image"):
            cover.set(
                "src", f"https://habrastorage.org/getpro/habr/upload_files/synthetic/{entry.id}/lead.png"
            )
        for body in _classed(node, "article-formatted-body"):
            for child in list(body):
                body.remove(child)
            paragraph = etree.SubElement(body, "p")
            paragraph.text = entry.lead
        return _serialise(node)

    def _pager(self, kind: str, page: int, pages: int) -> str:
        pager = copy.deepcopy(self.pager)
        base = f"/ru/{kind}/"

        def href(number: int) -> str:
            return base if number == 1 else f"{base}page{number}/"

        prev = pager.xpath(".//*[@data-test-id='pagination-prev-page']")[0]
        if page > 1:  # an active "back" link, shaped like the real active next link
            prev.tag = "a"
            prev.set("href", href(page - 1))
            prev.set("class", "tm-pagination__navigation-link tm-pagination__navigation-link_active")
        numbers = pager.xpath(".//div[contains(@class,'tm-pagination__pages')]")[0]
        model_link = copy.deepcopy(numbers.xpath(".//a[contains(@class,'tm-pagination__page')]")[0])
        model_current = copy.deepcopy(numbers.xpath(".//span[@data-test-id='pagination-current-page']")[0])
        for child in list(numbers):
            numbers.remove(child)
        shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
        for number in shown:
            item = copy.deepcopy(model_current if number == page else model_link)
            item.text = str(number)
            item.tail = None
            if number != page:
                item.set("href", href(number))
            numbers.append(item)
        nxt = pager.xpath(".//a[@data-test-id='pagination-next-page']")[0]
        if page < pages:
            nxt.set("href", href(page + 1))
        else:
            nxt.getparent().remove(nxt)  # the last page has no way forward
        return _serialise(pager)

    def render(self, kind: str, entries: list[Entry], page: int, snippet_cache: dict[int, str]) -> str | None:
        """Page ``page`` of ``entries`` (already newest first); ``None`` past the last page."""
        pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
        if page < 1 or page > pages:
            return None
        chunk = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        separator = "".join(_serialise(n) for n in self.separator)
        after = _serialise(self.after_article)
        items = []
        for entry in chunk:
            snippet = snippet_cache.get(entry.id)
            if snippet is None:
                snippet = snippet_cache[entry.id] = self.snippet_for(entry)
            items.append(snippet + after)
        body = (
            "".join(_serialise(n) for n in self.lead_nodes)
            + separator.join(items)
            + "".join(_serialise(n) for n in self.trailer)
        )
        split = self.split
        return (
            split.doctype
            + "\n"
            + split.head
            + body
            + split.middle
            + self._pager(kind, page, pages)
            + split.tail
        )


class LegacyListing:
    """The 2015-2021 markup (``content-list__item_post``), from the saved ``/ru/all/`` page of 2020."""

    def __init__(self) -> None:
        root = _parse(LEGACY_TEMPLATE)
        container = root.xpath("//ul[contains(@class,'content-list_posts')]")[0]
        self.snippet = copy.deepcopy(container.xpath("./li[contains(@class,'content-list__item_post')]")[0])
        self.gap = container.text or ""
        footer = root.xpath("//div[@class='page__footer']")[0]
        for stray in root.xpath("//ul[@id='nav-pagess']")[1:]:  # the saved page repeats the pager; keep one
            stray.getparent().remove(stray)
        self.footer = copy.deepcopy(footer)
        self.split = _split_page(root, container, footer)

    def snippet_for(self, entry: Entry, origin: str) -> str:
        """One ``<li class="content-list__item_post">`` for an entry."""
        node = copy.deepcopy(self.snippet)
        old = self.snippet.get("id").split("_")[-1]
        path = f"{origin}/ru/post/{entry.id}/"  # legacy listings linked the /ru/post/ID/ form
        _replace_id_in_attributes(node, old, f"https://habr.com/ru/post/{old}/", path, str(entry.id))
        for link in _classed(node, "post__title_link"):
            link.text = entry.title
        for user in _classed(node, "post__user-info"):
            user.set("href", f"https://habr.com/ru/users/{entry.author}/")
        for nick in _classed(node, "user-info__nickname"):
            nick.text = entry.author
        for stamp in _classed(node, "post__time"):
            stamp.text = moscow_text(entry.published_at)  # the real snippet has no machine-readable time
        for hubs in _classed(node, "post__hubs"):
            items = hubs.xpath("./li")
            model, last_tail = items[0], items[-1].tail
            for item in items:
                hubs.remove(item)
            for number, (slug, name) in enumerate(entry.hubs):
                clone = copy.deepcopy(model)
                link = clone.find("a")
                link.set("href", f"https://habr.com/ru/hub/{slug}/")
                link.text = name
                link.set("onclick", link.get("onclick", "").replace(model.find("a").text or "", name))
                link.tail = ", \n        " if number < len(entry.hubs) - 1 else "\n        "
                clone.tail = last_tail if number == len(entry.hubs) - 1 else items[0].tail
                hubs.append(clone)
        for body in _classed(node, "post__text-html"):
            for child in list(body):
                body.remove(child)
            body.text = "\n      "
            image = etree.SubElement(body, "img")
            image.set("src", f"https://habrastorage.org/getpro/habr/post_images/synthetic/{entry.id}.jpg")
            image.tail = f"\n{entry.lead}\n    "
        return _serialise(node)

    def _footer(self, page: int, pages: int) -> str:
        footer = copy.deepcopy(self.footer)

        def href(number: int) -> str:
            return "/ru/all/" if number == 1 else f"/ru/all/page{number}/"

        nxt = footer.xpath(".//a[@id='next_page']")[0]
        if page < pages:
            nxt.set("href", href(page + 1))
        else:  # inactive, as the real page renders "← сюда" on page 1
            span = etree.Element("span")
            span.set("class", "arrows-pagination__item-link")
            span.text = "туда →"
            span.tail = nxt.tail
            nxt.getparent().replace(nxt, span)
        if page > 1:
            back = footer.xpath(".//ul[@class='arrows-pagination']/li[1]/span")[0]
            link = etree.Element("a")
            link.set("class", "arrows-pagination__item-link arrows-pagination__item-link_prev")
            link.set("id", "previous_page")
            link.set("href", href(page - 1))
            link.text = back.text
            link.tail = back.tail
            back.getparent().replace(back, link)
        for menu in footer.xpath(".//ul[@id='nav-pagess']"):
            items = menu.xpath("./li")
            current_model = items[0]
            link_model = items[1] if len(items) > 2 else None
            for item in items:
                menu.remove(item)
            shown = sorted({1, pages, *range(max(1, page - 3), min(pages, page + 4) + 1)})
            for number in shown:
                if number == page or link_model is None:
                    item = copy.deepcopy(current_model)
                    item.find("span").text = str(number)
                else:
                    item = copy.deepcopy(link_model)
                    item.find("a").text = str(number)
                    item.find("a").set("href", href(number))
                menu.append(item)
        return _serialise(footer)

    def render(
        self, entries: list[Entry], page: int, origin: str, snippet_cache: dict[int, str]
    ) -> str | None:
        """Page ``page`` of ``/ru/all/``; ``None`` past the last page."""
        pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
        if page < 1 or page > pages:
            return None
        items = []
        for entry in entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
            snippet = snippet_cache.get(entry.id)
            if snippet is None:
                snippet = snippet_cache[entry.id] = self.snippet_for(entry, origin)
            items.append(snippet)
        split = self.split
        return (
            split.doctype
            + "\n"
            + split.head
            + self.gap
            + self.gap.join(items)
            + split.middle
            + self._footer(page, pages)
            + split.tail
        )


class ListingRenderer:
    """Caches rendered listing pages per catalog version; the server asks it for ``(kind, page)``."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self._tm: TmListing | None = None
        self._legacy: LegacyListing | None = None
        self._pages: dict[tuple[str, int, int], bytes | None] = {}
        self._tm_snippets: dict[int, str] = {}
        self._legacy_snippets: dict[int, str] = {}

    def page(self, kind: str, page: int, entries: list[Entry], version: int) -> bytes | None:
        """UTF-8 bytes of listing page ``page`` (``kind``: articles, news, all), or ``None`` (404)."""
        key = (kind, page, version)
        if key in self._pages:
            return self._pages[key]
        if len(self._pages) > 2048:
            self._pages.clear()
        if kind == "all":
            if self._legacy is None:
                self._legacy = LegacyListing()
            text = self._legacy.render(entries, page, self.origin, self._legacy_snippets)
        else:
            if self._tm is None:
                self._tm = TmListing()
            text = self._tm.render(kind, entries, page, self._tm_snippets)
        body = None if text is None else text.encode("utf-8")
        self._pages[key] = body
        return body
