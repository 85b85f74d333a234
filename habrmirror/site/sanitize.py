"""An article body (or comment) as the mirror shows it: local images, mirror links, highlighted code, then nh3.

Place in the flow: index row ``text_html`` -> :class:`BodyRenderer` -> the article page's body. lxml rewrites
the fragment (images to their local copies, links to archived articles to their mirror pages, other links made
absolute, embeds to placeholder links, code blocks marked for highlighting); nh3 then cleans the result with an
allowlist (no script, no event handlers, no ``javascript:`` URLs, no iframes), so whatever the rewrite missed,
the page carries nothing active. Highlighted code (Pygments, CSS classes only) is put in after cleaning: it is
text Pygments escaped, spans with class names and nothing else.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.html
import nh3
from lxml.etree import ParserError
from lxml.html import HtmlElement
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from habrmirror.pages.markdown import image_source
from habrmirror.urls import absolute

_TAGS = (set(nh3.ALLOWED_TAGS) | {"tfoot", "figure", "figcaption", "details", "summary"}) - {"area", "map"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "title", "lang", "dir"},
    "a": {"href", "hreflang", "name", "id"},
    "img": {"src", "alt", "width", "height", "loading", "decoding"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start", "type"},
    "time": {"datetime"},
    "blockquote": {"cite"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
_CLEAN_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math"}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_CLEAN_CONTENT,
    attributes=_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)

# Elements that load something from elsewhere or run it: shown as a link to what they embedded.
_EMBEDS = ("iframe", "embed", "object", "video", "audio", "amp-iframe", "amp-youtube", "amp-video", "oembed")
_DROP = ("script", "style", "template", "noscript", "link", "meta", "base", "form", "input", "button")
_FORMULA = re.compile(r"\bformula\b")
# A fragment with none of the elements the rewrite touches (images, links, code, embeds, dropped elements) goes
# straight to nh3: most comments are such, and parsing them with lxml first doubled the mirror's build time.
_REWRITTEN = re.compile(
    r"<\s*(?:img|amp-|picture|source|a\b|pre|iframe|embed|object|video|audio|oembed|script|style|template"
    r"|noscript|link|meta|base|form|input|button)",
    re.IGNORECASE,
)
_LANGUAGE = re.compile(r"^(?:language-|lang-)?([a-z0-9_+#.-]{1,30})$")
# Highlighting aliases Habr's editor uses that Pygments spells differently (or that mean "no highlighting").
_LEXER_ALIASES = {
    "plaintext": None,
    "nohighlight": None,
    "text": None,
    "hljs": None,
    "shell": "bash",
    "1c": None,
}
_FORMATTER = HtmlFormatter(nowrap=True)


def lexer_for(classes: str) -> Lexer | None:
    """The Pygments lexer a code block's class names ask for (``cpp``, ``language-python``), else None."""
    for name in classes.lower().split():
        match = _LANGUAGE.match(name)
        if not match:
            continue
        alias = match.group(1)
        if alias in _LEXER_ALIASES:
            alias_to = _LEXER_ALIASES[alias]
            if alias_to is None:
                continue
            alias = alias_to
        try:
            return get_lexer_by_name(alias, stripnl=False, ensurenl=False)
        except ClassNotFound:
            continue
    return None


@dataclass
class Labels:
    """The words the body rewrite puts on a page, in the archive's language."""

    embed: str = "Embedded content"
    image: str = "image"
    image_missing: str = "image not archived"


@dataclass
class BodyContext:
    """What the rewrite of one article's body needs to know.

    ``image`` maps an absolute image URL to its site-relative local copy (or None); ``article`` maps a link's
    absolute URL to a site-relative file (an archived article's page, the local copy of one of its images) or
    None; ``prefix`` leads from the page to the site root (``"../"``).
    """

    base_urls: list[str]
    image: Callable[[str], str | None]
    article: Callable[[str], str | None]
    prefix: str
    labels: Labels = field(default_factory=Labels)


def _replace(element: HtmlElement, new: HtmlElement) -> None:
    new.tail = element.tail
    parent = element.getparent()
    if parent is not None:
        parent.replace(element, new)


def _link(href: str | None, text: str, css: str) -> HtmlElement:
    element: HtmlElement = lxml.html.Element("a" if href else "span")
    if href:
        element.set("href", href)
    element.set("class", css)
    element.text = text
    return element


class BodyRenderer:
    """Renders body fragments for one build; holds nothing between articles but the cleaner and formatter."""

    def render(self, fragment: str | None, context: BodyContext) -> str:
        if not fragment or not fragment.strip():
            return ""
        if _REWRITTEN.search(fragment) is None:
            return _CLEANER.clean(fragment)
        return self.rewrite(fragment, context)

    def rewrite(self, fragment: str, context: BodyContext) -> str:
        """The whole rewrite (lxml, then nh3), whatever the fragment holds."""
        try:
            root = lxml.html.fragment_fromstring(fragment, create_parent="div")
        except (ParserError, ValueError):
            return _CLEANER.clean(fragment)
        nonce = secrets.token_hex(8)
        blocks: list[str] = []
        for element in list(root.iter(_DROP)):
            element.drop_tree()
        for element in list(root.iter(_EMBEDS)):
            self._embed(element, context)
        for element in list(root.iter("img", "amp-img", "picture", "source")):
            self._image(element, context)
        for element in root.iter("a"):
            self._anchor(element, context)
        for element in list(root.iter("pre")):
            self._code(element, nonce, blocks)
        html = lxml.html.tostring(root, encoding="unicode")
        html = html[len("<div>") : -len("</div>")] if html.startswith("<div>") else html
        cleaned = _CLEANER.clean(html)
        for number, block in enumerate(blocks):
            cleaned = cleaned.replace(f"<p>hm-code-{nonce}-{number}</p>", block, 1)
        return cleaned

    @staticmethod
    def _embed(element: HtmlElement, context: BodyContext) -> None:
        source = element.get("src") or element.get("data-src") or element.get("data") or element.get("url")
        if not source:
            inner = element.find(".//source")
            source = inner.get("src") if inner is not None else None
        url = None
        for base in context.base_urls[:1]:
            url = absolute(base, source)
        if url and not url.startswith(("http://", "https://")):
            url = None
        host = urlsplit(url).hostname if url else None
        paragraph: HtmlElement = lxml.html.Element("p")
        paragraph.set("class", "embed")
        paragraph.append(_link(url, f"{context.labels.embed}: {host or '?'}", "embed-link"))
        _replace(element, paragraph)

    @staticmethod
    def _image(element: HtmlElement, context: BodyContext) -> None:
        if element.tag in ("picture", "source"):
            if element.tag == "picture":
                element.drop_tag()  # keep its <img>, lose its remote <source> candidates
            else:
                element.drop_tree()
            return
        url = None
        for base in context.base_urls:
            url = image_source(element, base)
            if url:
                break
        local = context.image(url) if url else None
        alt = (element.get("alt") or "").strip()
        formula = bool(_FORMULA.search(element.get("class") or ""))
        if local:
            image: HtmlElement = lxml.html.Element("img")
            image.set("src", context.prefix + local)
            image.set("alt", alt)
            image.set("loading", "lazy")
            image.set("decoding", "async")
            for name in ("width", "height"):
                value = (element.get(name) or "").strip()
                if value.isdigit():
                    image.set(name, value)
            if formula:
                image.set(
                    "class", "formula" + (" inline" if "inline" in (element.get("class") or "") else "")
                )
            _replace(element, image)
            return
        if formula and (element.get("source") or alt):
            code: HtmlElement = lxml.html.Element("code")
            code.set("class", "formula")
            code.set("title", "TeX")
            code.text = element.get("source") or alt
            _replace(element, code)
            return
        remote = url if url and url.startswith(("http://", "https://")) else None
        text = f"[{context.labels.image}: {alt}]" if alt else f"[{context.labels.image_missing}]"
        _replace(element, _link(remote, text, "missing-image"))

    @staticmethod
    def _anchor(element: HtmlElement, context: BodyContext) -> None:
        href = (element.get("href") or "").strip()
        if not href:
            return
        if href.startswith("#"):
            return
        target = absolute(context.base_urls[0], href) if context.base_urls else None
        if not target or not target.startswith(("http://", "https://", "mailto:")):
            element.attrib.pop("href", None)
            return
        local = context.article(target)
        element.set("href", context.prefix + local if local else target)

    @staticmethod
    def _code(element: HtmlElement, nonce: str, blocks: list[str]) -> None:
        code = element.find("code")
        classes = " ".join(
            part for part in ((code.get("class") if code is not None else None), element.get("class")) if part
        )
        lexer = lexer_for(classes)
        if lexer is None:
            if code is not None:
                code.attrib.clear()
            return
        text = element.text_content()
        spans = highlight(text, lexer, _FORMATTER)
        language = lexer.aliases[0] if lexer.aliases else lexer.name.lower()
        blocks.append(f'<pre class="highlight"><code class="language-{language}">{spans}</code></pre>')
        marker: HtmlElement = lxml.html.Element("p")
        marker.text = f"hm-code-{nonce}-{len(blocks) - 1}"
        _replace(element, marker)


def highlight_css() -> str:
    """The Pygments stylesheet: a light theme, and a dark one under ``prefers-color-scheme: dark``."""
    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
