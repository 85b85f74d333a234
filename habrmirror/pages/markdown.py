"""Article body HTML -> Markdown and plain text, in one lxml walk (no second parser).

Used by the article page objects (``habrmirror.pages.article_*``) on the body element they located; the page was
parsed once with lxml, so converting the fragment here costs a fraction of that parse (bs4 + markdownify would
re-parse the fragment and cost more than the whole page parse). Covers what Habr bodies contain in every era:
paragraphs and ``<br>``-separated text (legacy), headings, links, images (lazy ``data-src``, AMP ``amp-img``,
browser-saved local copies), formulas (``img.formula[source]``), fenced code with language, tables, emphasis,
lists, blockquotes, spoilers, embeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree
from lxml.html import HtmlElement

from habrmirror.urls import absolute

BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "nav",
        "figure",
        "figcaption",
        "center",
        "address",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "hr",
        "details",
        "summary",
        "iframe",
        "amp-iframe",
        "amp-youtube",
        "amp-video",
        "video",
        "audio",
    ]
)
SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "button",
        "svg",
        "input",
        "select",
        "textarea",
        "title",
        "meta",
        "link",
    ]
)
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}

_WS_RE = re.compile(r"\s+")
_MD_SPECIAL = "\\`*_[]<"
_MD_ESCAPE_RE = re.compile(r"([\\`*_\[\]<])")
_LINE_START_RE = re.compile(r"^(#{1,6}\s|>|[-+]\s|\d+[.)]\s)")
# habrastorage's resizing proxy: https://habrastorage.org/r/w780q1/<original path>
_RESIZE_RE = re.compile(r"^(https?://habrastorage\.org)/r/[^/]+(/.+)$")
# Lazy-load placeholders Habr puts in ``src`` until JavaScript swaps in ``data-src``.
_PLACEHOLDERS = ("/img/px.gif", "image-loader.svg", "/img/image-loader")
# How many element levels the renderer descends before it flattens the rest of a subtree to its text. Each level
# costs up to three Python frames of the recursive walk (a hostile 2,000-deep nest, the parser's limit, would pass
# Python's recursion limit) and one more pass over the text inside it (quote prefixes, list indents), so the bound
# also bounds that work at 64x the body. The saved real bodies nest at most 5 levels (tests/fixtures/habr).
MAX_NESTING = 64
_FLAT_SKIP = frozenset(["script", "style", "template"])


def _flat_text(element: HtmlElement) -> str:
    """The text of a subtree, without what scripts, styles and comments hold, in one iterative walk (an XPath
    ``not(ancestor::script)`` test walks every text node's ancestors: quadratic in a deep nest)."""
    parts: list[str] = []
    stack: list[tuple[HtmlElement, bool]] = [(element, False)]
    while stack:
        node, done = stack.pop()
        if done:  # after its children: the text that follows the element
            if node is not element and node.tail:
                parts.append(node.tail)
        elif isinstance(node.tag, str) and node.tag not in _FLAT_SKIP:
            if node.text:
                parts.append(node.text)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node))
        elif (
            node is not element and node.tail
        ):  # a script, style or comment: left out, but not what follows it
            parts.append(node.tail)
    return "".join(parts)


def is_local_copy(url: str) -> bool:
    """A browser "Save page as" rewrite (``./Title_files/x.png``) or a file URL: not where the image lives."""
    # ("upload_files/" in real habrastorage URLs is not one: only scheme-less paths are checked.)
    return url.startswith(("./", "../", "file:")) or ("://" not in url and "_files/" in url)


def image_source(img: HtmlElement, base_url: str) -> str | None:
    """The real URL of an ``<img>``/``<amp-img>``: ``data-src`` first, then a real ``src``, then ``srcset``.

    ``data-src`` carries the original in raw SSR pages (``src`` is a resized or blurred variant) and in browser-saved
    pages (``src`` is a local copy). 2025 pages may only have ``srcset`` of habrastorage resizes besides the local
    ``src``: the largest candidate with the ``/r/<size>/`` proxy prefix removed is the original upload.
    """
    for attr in ("data-src", "data-original", "data-lazy-src"):
        value = (img.get(attr) or "").strip()
        if value and not is_local_copy(value):
            return absolute(base_url, value)
    src = (img.get("src") or "").strip()
    if src and not is_local_copy(src) and not any(marker in src for marker in _PLACEHOLDERS):
        return absolute(base_url, src)
    srcset = img.get("srcset") or img.get("data-srcset")
    if srcset:
        best, best_width = None, -1
        for candidate in srcset.split(","):
            parts = candidate.split()
            if not parts or is_local_copy(parts[0]):
                continue
            width = int(parts[1][:-1]) if len(parts) > 1 and parts[1][:-1].isdigit() else 0
            if width > best_width:
                best, best_width = parts[0], width
        if best:
            url = absolute(base_url, best)
            if url:
                match = _RESIZE_RE.match(url)
                return match.group(1) + match.group(2) if match else url
    return None


def link_target(anchor: HtmlElement, base_url: str) -> str | None:
    """Absolute href of a body link; in-page anchors, ``javascript:`` and browser-saved local files give None."""
    href = (anchor.get("href") or "").strip()
    if not href or is_local_copy(href):
        return None
    return absolute(base_url, href)


def link_as_recorded(anchor: HtmlElement, base_url: str) -> str | None:
    """What the item's ``links`` keep of a body link: :func:`link_target`, or the href as written when it names
    another scheme (``javascript:``, ``data:``, ``mailto:``): it is part of the body, so it is recorded, but it is
    never resolved, fetched or rendered as a link."""
    target = link_target(anchor, base_url)
    if target is not None:
        return target
    href = (anchor.get("href") or "").strip()
    return href if _OTHER_SCHEME.match(href) else None


_OTHER_SCHEME = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-\t\n\r]*:"
)  # a scheme (tabs and newlines are dropped by browsers)


def code_language(pre: HtmlElement) -> str:
    """Language of a code block from ``<code class="javascript hljs">`` / ``language-x`` / ``lang-x``."""
    candidates = [pre.get("class") or "", pre.get("data-lang") or ""]
    for code in pre.iter("code"):
        candidates.insert(0, code.get("class") or "")
        candidates.insert(0, code.get("data-lang") or "")
        break
    for classes in candidates:
        for token in classes.split():
            token = token.removeprefix("language-").removeprefix("lang-")
            if token and token not in ("hljs", "code", "source") and re.fullmatch(r"[\w+#.-]+", token):
                return token
    return ""


def _pre_text(element: HtmlElement) -> str:
    """Code text with ``<br>`` as newlines (old posts use them inside ``<pre>``), highlighting spans dropped."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            if child.tag == "br":
                parts.append("\n")
            else:
                parts.append(_pre_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _fence(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    return "`" * max(3, longest + 1)


def _url_for_markdown(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


Pair = tuple[str, str]  # the same content as (Markdown, plain text)
Blocks = tuple[
    list[str], list[str]
]  # blocks as Markdown, blocks as plain text (the lists may differ in length)


def _join_blocks(blocks: list[str]) -> str:
    return "\n\n".join(block for block in blocks if block.strip()).strip("\n")


def _push(md_parts: list[str], text_parts: list[str], pair: Pair) -> None:
    """Append a (Markdown, plain text) pair to the two runs being built side by side."""
    md_parts.append(pair[0])
    text_parts.append(pair[1])


class BodyRenderer:
    """Converts a body element to Markdown and to plain text in one walk of the tree.

    Every method returns both renderings: the walk, the tag dispatch and the whitespace folding of each text
    node are shared, only the strings differ (measured: 35% cheaper than two walks). ``render`` gives one of
    them (``plain`` chooses), ``render_both`` the pair.
    """

    def __init__(
        self, base_url: str, plain: bool = False, image_url: Callable[..., str | None] = image_source
    ):
        self.base_url = base_url
        self.plain = plain
        self.image_url = image_url
        self._depth = 0  # element levels entered (see MAX_NESTING)

    # -- entry points ------------------------------------------------------------------------------------------
    def render(self, element: HtmlElement) -> str:
        markdown, text = self.render_both(element)
        return text if self.plain else markdown

    def render_both(self, element: HtmlElement) -> Pair:
        """``(markdown, plain_text)`` of the element."""
        markdown, text = self.blocks(element)
        return _join_blocks(markdown), _join_blocks(text)

    # -- text --------------------------------------------------------------------------------------------------
    @staticmethod
    def _text(text: str | None) -> Pair:
        # Runs once per text node: C-level str.split/`in` tests, a regex only when needed (str.translate is
        # slow on non-ASCII text such as Cyrillic).
        if not text:
            return "", ""
        collapsed = " ".join(text.split())
        if text[0].isspace():
            collapsed = " " + collapsed if collapsed else " "
        if text[-1].isspace() and collapsed != " ":
            collapsed += " "
        if not any(char in collapsed for char in _MD_SPECIAL):
            return collapsed, collapsed
        return _MD_ESCAPE_RE.sub(r"\\\1", collapsed), collapsed

    @staticmethod
    def _paragraphs(inline: str, plain: bool) -> list[str]:
        """Inline run -> paragraphs: one ``<br>`` is a line break, two or more start a new paragraph."""
        paragraphs: list[list[str]] = []
        lines: list[str] = []
        for line in inline.split("\n"):
            line = line.strip()
            if line:
                lines.append(line)
            elif lines:
                paragraphs.append(lines)
                lines = []
        if lines:
            paragraphs.append(lines)
        out = []
        for para in paragraphs:
            text = ("\n" if plain else "  \n").join(para)
            if not plain:
                text = _LINE_START_RE.sub(lambda m: "\\" + m.group(1), text)
            out.append(text)
        return out

    # -- blocks ------------------------------------------------------------------------------------------------
    def blocks(self, element: HtmlElement) -> Blocks:
        """Children of a block container as blocks; inline runs become paragraphs."""
        md_out: list[str] = []
        text_out: list[str] = []
        md_run, text_run = self._text(element.text)
        md_buffer, text_buffer = [md_run], [text_run]
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else None
            if tag is None or tag in SKIP_TAGS:
                pass
            elif tag in BLOCK_TAGS:
                md_out.extend(self._paragraphs("".join(md_buffer), False))
                text_out.extend(self._paragraphs("".join(text_buffer), True))
                md_buffer, text_buffer = [], []
                md_blocks, text_blocks = self.block(child)
                md_out.extend(md_blocks)
                text_out.extend(text_blocks)
            elif tag == "br":
                _push(md_buffer, text_buffer, ("\n", "\n"))
            else:
                _push(md_buffer, text_buffer, self.inline(child))
            _push(md_buffer, text_buffer, self._text(child.tail))
        md_out.extend(self._paragraphs("".join(md_buffer), False))
        text_out.extend(self._paragraphs("".join(text_buffer), True))
        return md_out, text_out

    def block(self, element: HtmlElement) -> Blocks:
        if self._depth >= MAX_NESTING:
            md_flat, text_flat = self._flat(element)
            return ([md_flat] if md_flat else []), ([text_flat] if text_flat else [])
        self._depth += 1
        try:
            return self._block(element)
        finally:
            self._depth -= 1

    def _flat(self, element: HtmlElement) -> Pair:
        """The text of a subtree below :data:`MAX_NESTING`, whitespace folded (no recursion)."""
        md_text, text = self._text(_flat_text(element))
        return md_text.strip(), text.strip()

    def _block(self, element: HtmlElement) -> Blocks:
        tag = element.tag
        if tag in HEADINGS:
            md_inline, text_inline = self._inline_children(element)
            md_text, text = " ".join(md_inline.split()), " ".join(text_inline.split())
            return (
                ["#" * HEADINGS[tag] + " " + md_text] if md_text else [],
                [text] if text else [],
            )
        if tag in ("ul", "ol"):
            return self._list(element)
        if tag == "blockquote":
            md_inner, text_inner = self.blocks(element)
            if not md_inner:
                return md_inner, text_inner
            quoted = "\n\n".join(md_inner)
            return ["\n".join("> " + line if line else ">" for line in quoted.split("\n"))], text_inner
        if tag == "pre":
            code = _pre_text(element).strip("\n")
            if not code.strip():
                return [], []
            fence = _fence(code)
            return [f"{fence}{code_language(element)}\n{code}\n{fence}"], [code.rstrip()]
        if tag == "table":
            return self._table(element)
        if tag == "hr":
            return ["---"], []
        if tag in ("iframe", "amp-iframe", "amp-youtube", "amp-video", "video", "audio"):
            return self._embed(element), []
        return self.blocks(element)

    def _list(self, element: HtmlElement) -> Blocks:
        md_items: list[str] = []
        text_items: list[str] = []
        number = int(element.get("start") or 1) if (element.get("start") or "1").isdigit() else 1
        for child in element:
            if not isinstance(child.tag, str):
                continue
            md_blocks, text_blocks = self.blocks(child) if child.tag == "li" else self.block(child)
            text_inner = "\n".join(text_blocks)
            if text_inner.strip():
                text_items.append(text_inner)
            inner = "\n".join(md_blocks)
            if not inner.strip():
                continue
            marker = f"{number}. " if element.tag == "ol" else "- "
            number += 1
            pad = " " * len(marker)
            lines = inner.split("\n")
            md_items.append(
                marker + lines[0] + "".join("\n" + (pad + line if line else "") for line in lines[1:])
            )
        return (
            ["\n".join(md_items)] if md_items else [],
            ["\n".join(text_items)] if text_items else [],
        )

    def _table(self, element: HtmlElement) -> Blocks:
        md_rows: list[list[str]] = []
        text_rows: list[list[str]] = []
        for row in _own_rows(element):
            pairs = [
                self._inline_children(cell)
                for cell in row
                if isinstance(cell.tag, str) and cell.tag in ("td", "th")
            ]
            if pairs:
                md_rows.append([" ".join(md.split()).replace("|", "\\|") for md, _ in pairs])
                text_rows.append([" ".join(text.split()) for _, text in pairs])
        if not md_rows:
            return [], []
        width = max(len(cells) for cells in md_rows)
        md_rows = [cells + [""] * (width - len(cells)) for cells in md_rows]
        lines = ["| " + " | ".join(md_rows[0]) + " |", "|" + "|".join(["---"] * width) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in md_rows[1:]]
        return ["\n".join(lines)], ["\n".join("\t".join(cells) for cells in text_rows)]

    def _embed(self, element: HtmlElement) -> list[str]:
        """Markdown link to an embedded video or frame (plain text has nothing for it)."""
        video_id = element.get("data-videoid")
        src = (
            f"https://www.youtube.com/watch?v={video_id}"
            if video_id
            else element.get("src") or element.get("data-src")
        )
        url = absolute(self.base_url, src)
        return [f"[{url}]({_url_for_markdown(url)})"] if url else []

    # -- inline ------------------------------------------------------------------------------------------------
    def _inline_children(self, element: HtmlElement) -> Pair:
        if self._depth >= MAX_NESTING:
            return self._text(_flat_text(element))
        self._depth += 1
        try:
            return self._inline_run(element)
        finally:
            self._depth -= 1

    def _inline_run(self, element: HtmlElement) -> Pair:
        md_run, text_run = self._text(element.text)
        md_parts, text_parts = [md_run], [text_run]
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else None
            if tag == "br":
                separator = " " if element.tag in ("td", "th") or element.tag in HEADINGS else "\n"
                _push(md_parts, text_parts, (separator, separator))
            elif tag in BLOCK_TAGS:
                md_run, text_run = self._inline_children(child)
                _push(md_parts, text_parts, (" " + md_run + " ", " " + text_run + " "))
            elif tag is not None and tag not in SKIP_TAGS:
                _push(md_parts, text_parts, self.inline(child))
            _push(md_parts, text_parts, self._text(child.tail))
        return "".join(md_parts), "".join(text_parts)

    @staticmethod
    def _wrap(content: str, marker: str) -> str:
        """``**x**`` with surrounding spaces kept outside the markers (``** x **`` is not emphasis)."""
        stripped = content.strip()
        if not stripped:
            return content
        lead = content[: len(content) - len(content.lstrip())]
        trail = content[len(content.rstrip()) :]
        return f"{lead}{marker}{stripped}{marker}{trail}"

    def inline(self, element: HtmlElement) -> Pair:
        tag = element.tag
        if tag in ("img", "amp-img"):
            return self._image(element)
        if tag == "a":
            md_content, text = self._inline_children(element)
            url = link_target(element, self.base_url)
            if not url or not md_content.strip():
                return md_content, text
            return f"[{md_content.strip()}]({_url_for_markdown(url)})", text
        marker = _EMPHASIS.get(tag)
        if marker is not None:
            md_content, text = self._inline_children(element)
            return self._wrap(md_content, marker), text
        if tag in ("code", "kbd", "samp", "tt"):
            code = _WS_RE.sub(" ", "".join(element.itertext()))
            if not code.strip():
                return code, code
            ticks = "`" * (max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
            pad = " " if code.startswith("`") or code.endswith("`") else ""
            return f"{ticks}{pad}{code}{pad}{ticks}", code
        if tag in ("sup", "sub"):
            md_content, text = self._inline_children(element)
            return (f"<{tag}>{md_content}</{tag}>" if md_content.strip() else md_content), text
        return self._inline_children(element)

    def _image(self, element: HtmlElement) -> Pair:
        classes = (element.get("class") or "").split()
        source = element.get("source")
        if "formula" in classes and source:
            # Habr renders TeX to an SVG and keeps the TeX in @source: the TeX is the lossless form.
            return (f"${source}$" if "inline" in classes else f"\n\n$${source}$$\n\n"), source
        url = self.image_url(element, self.base_url)
        if not url:
            return "", ""
        alt = _WS_RE.sub(" ", element.get("alt") or "").strip().replace("[", "\\[").replace("]", "\\]")
        return f"![{alt}]({_url_for_markdown(url)})", ""


def _own_rows(table: HtmlElement) -> list[HtmlElement]:
    """The table's own rows (direct, or in its thead/tbody/tfoot), in order. Not ``table.iter("tr")``: that also
    yields the rows of tables nested in cells, which the cells render already, so n nested tables rendered their
    innermost rows n times (a 2,000-deep nest made a 47 MB body)."""
    rows: list[HtmlElement] = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if row.tag == "tr")
    return rows


_EMPHASIS = {
    "strong": "**",
    "b": "**",
    "em": "*",
    "i": "*",
    "cite": "*",
    "dfn": "*",
    "s": "~~",
    "del": "~~",
    "strike": "~~",
}


def to_markdown(element: HtmlElement, base_url: str) -> str:
    """Markdown of an article body element."""
    return BodyRenderer(base_url, plain=False).render(element)


def to_text(element: HtmlElement, base_url: str = "") -> str:
    """Plain text of an article body element, paragraphs separated by blank lines."""
    return BodyRenderer(base_url, plain=True).render(element)


def inner_html(element: HtmlElement) -> str:
    """The element's children serialised as HTML (what the page shows inside the body container)."""
    parts = [element.text or ""]
    parts.extend(etree.tostring(child, encoding="unicode", method="html") for child in element)
    return "".join(parts).strip()
