"""Article page bytes: the saved real page, or a synthetic page made from one, as the replica sends them.

Three documented changes are ever made to saved bytes (README, "What is changed"): media URLs on
habrastorage.org / hsto.org are pointed at the replica (:func:`rewrite_media_urls`); a synthetic article gets
its template's id, title, publication time and first paragraph replaced; an edited article gets one
paragraph inserted at the start of its body. Everything else is the saved page byte for byte.
"""

from __future__ import annotations

import html
import json
import re
import struct
import zlib
from functools import lru_cache

from habrmirror.replica.catalog import SAMPLES_DIR, Catalog, Entry, moscow_text, moscow_title

# Habr's own media and asset hosts (images; since 2021 the site's CSS, scripts, fonts and icons on
# assets.habr.com; before, on dr.habracdn.net): pointed at the replica, which serves stand-ins for them.
MEDIA_HOSTS = ("habrastorage.org", "hsto.org", "assets.habr.com", "dr.habracdn.net")
_HOSTS = "|".join(re.escape(host) for host in MEDIA_HOSTS)
# The three spellings a page uses for a media URL: markup (https://, http://, //), JSON with escaped
# slashes (https:\/\/host\/ in JSON-LD) and Vue state (https:\u002F\u002Fhost\u002F in __INITIAL_STATE__).
_PLAIN = re.compile(rb"(?:https?:)?//(" + _HOSTS.encode() + rb")/")
_ESCAPED = re.compile(rb"(?:https?:)?\\/\\/(" + _HOSTS.encode() + rb")\\/")
_UNICODE = re.compile(rb"(?:https?:)?\\u002F\\u002F(" + _HOSTS.encode() + rb")\\u002F")


def rewrite_media_urls(body: bytes, origin: str) -> bytes:
    """``https://habrastorage.org/X`` (any of the three spellings) -> ``{origin}/habrastorage.org/X``."""
    plain = origin.encode()
    escaped = plain.replace(b"/", b"\\/")
    uni = plain.replace(b"/", b"\\u002F")
    body = _PLAIN.sub(lambda m: plain + b"/" + m.group(1) + b"/", body)
    body = _ESCAPED.sub(lambda m: escaped + b"\\/" + m.group(1) + b"\\/", body)
    return _UNICODE.sub(lambda m: uni + b"\\u002F" + m.group(1) + b"\\u002F", body)


@lru_cache(maxsize=32)
def sample_bytes(name: str) -> bytes:
    """A saved page, read once."""
    return (SAMPLES_DIR / name).read_bytes()


# Where an article's body starts, per layout (the inserted paragraph goes right after the match):
#   tm (2021+):   <div id="post-content-body" ...> ... <div class="article-formatted-body ..."> [<div xmlns=...>]
#   legacy/AMP:   <div class="post__text post__text-html ..."> / <div id="post-content-body">
_TM_BODY = re.compile(
    rb'<div[^>]*id="post-content-body"[^>]*>(?:(?:<div[^>]*>){0,3}?<div[^>]*class="[^"]*'
    rb'article-formatted-body[^"]*"[^>]*>(?:<div xmlns="http://www.w3.org/1999/xhtml">)?)?'
)
_LEGACY_BODY = re.compile(rb'<div[^>]*class="post__text post__text-html[^"]*"[^>]*>')


def body_start(page: bytes) -> int:
    """Offset just inside the article body; -1 when the page has no recognisable body."""
    match = _TM_BODY.search(page) or _LEGACY_BODY.search(page)
    return match.end() if match else -1


def json_fragment(fragment: str) -> str:
    """``fragment`` escaped the way Habr's Vue state spells HTML inside a JSON string."""
    escaped = json.dumps(fragment, ensure_ascii=False)[1:-1]
    return escaped.replace("<", "\\u003C").replace(">", "\\u003E").replace("/", "\\u002F")


def insert_paragraph(page: bytes, paragraph_html: str, state_fragment: str | None = None) -> bytes:
    """The page with one paragraph added at the start of the article body (and of the Vue state copy)."""
    at = body_start(page)
    if at < 0:
        return page
    page = page[:at] + paragraph_html.encode() + page[at:]
    # SSR pages carry the body a second time in window.__INITIAL_STATE__ (article's "textHtml", not the lead's).
    for match in re.finditer(rb'"textHtml":"', page):
        if page[max(0, match.start() - 12) : match.start()].endswith(b'"leadData":{'):
            continue
        escaped = json_fragment(paragraph_html) if state_fragment is None else state_fragment
        page = page[: match.end()] + escaped.encode() + page[match.end() :]
        break
    return page


def edit_paragraph(article: int, edit: int) -> str:
    """The paragraph edit number ``edit`` adds (deterministic, so re-captures can be compared)."""
    return f"<p>Правка {edit} статьи {article}: текст обновлён после публикации (реплика habrmirror).</p>"


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0, OS unknown
_DEFLATE_END = b"\x03\x00"  # an empty final block


def _deflate_segment(data: bytes) -> bytes:
    """Raw deflate blocks for ``data``, byte-aligned and not final, so segments can be concatenated."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)


def _stored_block(data: bytes) -> bytes:
    """``data`` as non-final stored deflate blocks (no compression: used for the small per-article values)."""
    out = bytearray()
    for i in range(0, len(data), 65535):
        piece = data[i : i + 65535]
        out += b"\x00" + struct.pack("<HH", len(piece), len(piece) ^ 0xFFFF) + piece
    return bytes(out)


class SlottedPage:
    """A template page cut at the places a synthetic article changes; literals are pre-deflated once.

    ``fill`` joins literals and values; ``fill_gzip`` joins the pre-deflated literals with the values as
    stored blocks and wraps them in a gzip member, so a 150 KB page is gzip-encoded in microseconds.
    """

    def __init__(self, marked: bytes) -> None:
        parts = marked.split(b"\x00")
        self.literals = parts[0::2]
        self.slots = [slot.decode() for slot in parts[1::2]]
        self.deflated = [_deflate_segment(literal) for literal in self.literals]

    def fill(self, values: dict[str, bytes]) -> bytes:
        """The identity-encoded page."""
        out = [self.literals[0]]
        for slot, literal in zip(self.slots, self.literals[1:], strict=True):
            out += (values[slot], literal)
        return b"".join(out)

    def fill_gzip(self, values: dict[str, bytes]) -> tuple[bytes, bytes]:
        """``(identity page, gzip member of it)``."""
        plain = self.fill(values)
        out = [_GZIP_HEADER, self.deflated[0]]
        for slot, deflated in zip(self.slots, self.deflated[1:], strict=True):
            out += (_stored_block(values[slot]), deflated)
        out += (_DEFLATE_END, struct.pack("<II", zlib.crc32(plain), len(plain) & 0xFFFFFFFF))
        return plain, b"".join(out)


def _mark_template(page: bytes, template: Entry) -> bytes:
    """The template page with every per-article spot replaced by ``\\0SLOT\\0`` markers."""
    if b"\x00" in page:
        raise ValueError(f"template {template.sample} contains NUL bytes")
    stamp = template.published[:19].encode()
    page = re.sub(
        rb'(<time[^>]*datetime=")' + re.escape(stamp) + rb'([^"]*"[^>]*title=")[^"]*(">)[^<]*(</time>)',
        lambda m: (
            m[1] + b"\x00TIME_ISO\x00" + m[2] + b"\x00TIME_TITLE\x00" + m[3] + b"\x00TIME_TEXT\x00" + m[4]
        ),
        page,
    )
    page = page.replace(stamp, b"\x00TIME_ISO\x00")  # meta tags, Vue state
    page = page.replace(moscow_title(template.published_at).encode(), b"\x00TIME_TITLE\x00")
    for old in dict.fromkeys((template.title, html.escape(template.title, quote=True))):
        page = page.replace(old.encode(), b"\x00TITLE\x00")
    old_id = str(template.id).encode()
    page = re.sub(
        rb"(/(?:ru/)?(?:post|articles)/)" + old_id + rb"/",
        lambda m: b"\x00PATH:" + m.group(1) + b"\x00\x00ID\x00/",
        page,
    )
    page = re.sub(rb"(?<!\d)" + old_id + rb"(?!\d)", b"\x00ID\x00", page)
    # the page state says what kind of post it is: a synthetic news item must say "news" there too
    page = page.replace(b'"postType":"article"', b'"postType":"\x00POST_TYPE\x00"')
    return insert_paragraph(page, "\x00LEAD\x00", "\x00LEAD_JSON\x00")


class ArticleRenderer:
    """Renders article pages for one origin: real ones cached per (id, edit count), synthetic ones filled
    into a :class:`SlottedPage` of their template on every request (cheap, so nothing to cache)."""

    def __init__(self, catalog: Catalog, origin: str) -> None:
        self.catalog = catalog
        self.origin = origin
        self._cache: dict[tuple[int, int], bytes] = {}
        self._templates: dict[int, SlottedPage] = {}

    def page(self, entry: Entry) -> bytes:
        """The bytes to send for an entry (identity encoding), media URLs already rewritten."""
        return self.render(entry, want_gzip=False)[0]

    def render(self, entry: Entry, want_gzip: bool) -> tuple[bytes, bytes | None]:
        """``(identity page, gzip page or None)``; gzip is only precomputed for unedited synthetic pages,
        the caller gzips the rest (and caches it)."""
        edits = self.catalog.edits.get(entry.id, 0)
        if entry.synthetic:
            template = self._slotted(entry)
            values = self._values(entry)
            if edits == 0:
                if want_gzip:
                    return template.fill_gzip(values)
                return template.fill(values), None
            base = template.fill(values)
            for number in range(1, edits + 1):
                base = insert_paragraph(base, edit_paragraph(entry.id, number))
            return base, None
        key = (entry.id, edits)
        cached = self._cache.get(key)
        if cached is None:
            base = sample_bytes(entry.sample)
            for number in range(1, edits + 1):
                base = insert_paragraph(base, edit_paragraph(entry.id, number))
            cached = self._cache[key] = rewrite_media_urls(base, self.origin)
        return cached, None

    def _slotted(self, entry: Entry) -> SlottedPage:
        assert entry.template is not None
        slotted = self._templates.get(entry.template)
        if slotted is None:
            template = self.catalog.entries[entry.template]
            page = rewrite_media_urls(sample_bytes(template.sample), self.origin)
            slotted = self._templates[entry.template] = SlottedPage(_mark_template(page, template))
        return slotted

    def _values(self, entry: Entry) -> dict[str, bytes]:
        """What goes into each slot of the template for this entry."""
        moment = entry.published_at
        image = f"{self.origin}/habrastorage.org/getpro/habr/upload_files/synthetic/{entry.id}/cover-{entry.id}.png"
        lead = f'<p>{html.escape(entry.lead)}</p><p><img src="{image}" alt="{entry.id}"></p>'
        values = {
            "ID": str(entry.id),
            "TITLE": html.escape(entry.title, quote=False),
            "TIME_ISO": entry.published[:19],
            "TIME_TITLE": moscow_title(moment),
            "TIME_TEXT": moscow_text(moment, short=True),
            "LEAD": lead,
            "LEAD_JSON": json_fragment(lead),
            "POST_TYPE": "news" if entry.type == "news" else "article",
        }
        encoded = {slot: value.encode() for slot, value in values.items()}
        for prefix in ("/ru/post/", "/post/", "/ru/articles/", "/articles/"):
            encoded["PATH:" + prefix] = b"/ru/news/" if entry.type == "news" else prefix.encode()
        return encoded
