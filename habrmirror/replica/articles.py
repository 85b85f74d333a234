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
from functools import lru_cache

from habrmirror.replica.catalog import SAMPLES_DIR, Catalog, Entry, moscow_text, moscow_title

MEDIA_HOSTS = ("habrastorage.org", "hsto.org")
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


def insert_paragraph(page: bytes, paragraph_html: str) -> bytes:
    """The page with one paragraph added at the start of the article body (and of the Vue state copy)."""
    at = body_start(page)
    if at < 0:
        return page
    page = page[:at] + paragraph_html.encode() + page[at:]
    # SSR pages carry the body a second time in window.__INITIAL_STATE__ (article's "textHtml", not the lead's).
    for match in re.finditer(rb'"textHtml":"', page):
        if page[max(0, match.start() - 12) : match.start()].endswith(b'"leadData":{'):
            continue
        escaped = json.dumps(paragraph_html, ensure_ascii=False)[1:-1]
        escaped = escaped.replace("<", "\\u003C").replace(">", "\\u003E").replace("/", "\\u002F")
        page = page[: match.end()] + escaped.encode() + page[match.end() :]
        break
    return page


def edit_paragraph(article: int, edit: int) -> str:
    """The paragraph edit number ``edit`` adds (deterministic, so re-captures can be compared)."""
    return f"<p>Правка {edit} статьи {article}: текст обновлён после публикации (реплика habrmirror).</p>"


class ArticleRenderer:
    """Renders and caches article pages for one origin; the cache keys on (id, edit count)."""

    def __init__(self, catalog: Catalog, origin: str) -> None:
        self.catalog = catalog
        self.origin = origin
        self._cache: dict[tuple[int, int], bytes] = {}
        self._templates: dict[int, tuple[bytes, Entry]] = {}

    def page(self, entry: Entry) -> bytes:
        """The bytes to send for an entry (identity encoding), media URLs already rewritten."""
        edits = self.catalog.edits.get(entry.id, 0)
        key = (entry.id, edits)
        cached = self._cache.get(key)
        if cached is None:
            base = self._synthetic(entry) if entry.synthetic else sample_bytes(entry.sample)
            for number in range(1, edits + 1):
                base = insert_paragraph(base, edit_paragraph(entry.id, number))
            cached = rewrite_media_urls(base, self.origin)
            if len(self._cache) > 4096:  # a 2,000-article bench fits; beyond that, start over
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def _template(self, template_id: int) -> tuple[bytes, Entry]:
        found = self._templates.get(template_id)
        if found is None:
            entry = self.catalog.entries[template_id]
            found = (sample_bytes(entry.sample), entry)
            self._templates[template_id] = found
        return found

    def _synthetic(self, entry: Entry) -> bytes:
        """Template page with id, title, publication time replaced and the entry's own first paragraph."""
        assert entry.template is not None
        page, template = self._template(entry.template)
        old_time = template.published_at
        new_time = entry.published_at
        # The visible <time> of the publication (its text is relative on some saved pages).
        old_stamp = template.published[:19].encode()
        page = re.sub(
            rb'(<time[^>]*datetime=")'
            + re.escape(old_stamp)
            + rb'([^"]*"[^>]*title=")[^"]*(">)[^<]*(</time>)',
            lambda m: (
                m.group(1)
                + entry.published[:19].encode()
                + m.group(2)
                + moscow_title(new_time).encode()
                + m.group(3)
                + moscow_text(new_time, short=True).encode()
                + m.group(4)
            ),
            page,
        )
        page = page.replace(old_stamp, entry.published[:19].encode())  # meta tags, Vue state
        page = page.replace(moscow_title(old_time).encode(), moscow_title(new_time).encode())
        for old in {template.title, html.escape(template.title, quote=True)}:
            page = page.replace(old.encode(), html.escape(entry.title, quote=False).encode())
        page = re.sub(rb"(?<!\d)" + str(template.id).encode() + rb"(?!\d)", str(entry.id).encode(), page)
        if entry.type == "news":
            page = re.sub(
                rb"/(?:ru/)?(?:post|articles)/" + str(entry.id).encode() + rb"/",
                f"/ru/news/{entry.id}/".encode(),
                page,
            )
        image = f"https://habrastorage.org/getpro/habr/upload_files/synthetic/{entry.id}/cover-{entry.id}.png"
        paragraph = f'<p>{html.escape(entry.lead)}</p><p><img src="{image}" alt="{entry.id}"></p>'
        return insert_paragraph(page, paragraph)
