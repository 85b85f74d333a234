"""What a browser loads to show an archived page, for replay: every image URL of the article body (``src``,
``data-src``, ``srcset``) and the page's requisites on Habr's own hosts (stylesheets, scripts, fonts, icons).

The index lists each image once, by its original upload (``data-src``), but Habr's markup has the browser load a
resized copy (``/r/w780q1/...``) in ``src``. The media pipeline fetches these too, so pywb and ReplayWeb.page
find what the replayed page requests. Pure: HTML in, URLs out.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from habrmirror.pages.markdown import is_local_copy
from habrmirror.urls import absolute

# The attributes a browser loads an image from; a regex over the body fragment is ~10x cheaper than parsing it
# again (the page object parsed it once already) and the attributes are plain in Habr's markup.
_IMAGE_ATTRIBUTE = re.compile(r"""<(?:img|source)\b[^>]*?>""", re.IGNORECASE)
_URL_ATTRIBUTE = re.compile(
    r"""\s(src|data-src|srcset|data-srcset)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE
)


def body_image_urls(body_html: str | None, base_url: str) -> list[str]:
    """Absolute image URLs of a body fragment, in order, without duplicates (``data:`` URLs skipped)."""
    if not body_html:
        return []
    seen: dict[str, None] = {}
    for tag in _IMAGE_ATTRIBUTE.finditer(body_html):
        for name, double, single in _URL_ATTRIBUTE.findall(tag.group(0)):
            value = html.unescape(double or single)
            candidates = (
                [part.strip().split(" ")[0] for part in value.split(",")]
                if "srcset" in name.lower()
                else [value]
            )
            for candidate in candidates:
                # a saving browser's "./<title>_files/x.png" is a local copy, not something Habr served (but
                # Habr's own ".../getpro/habr/upload_files/..." is: the test is on the URL as written)
                if not candidate or is_local_copy(candidate):
                    continue
                url = absolute(base_url, candidate)
                if url and url.startswith(("http://", "https://")):
                    seen.setdefault(url, None)
    return list(seen)


# Hosts whose files make Habr's pages look like Habr: the site, its asset hosts (assets.habr.com since 2021,
# dr.habracdn.net before), its image hosts. Third parties (ads, analytics, Google Fonts) are not archived.
HABR_ASSET_HOSTS = frozenset(
    {
        "habr.com",
        "www.habr.com",
        "m.habr.com",
        "assets.habr.com",
        "dr.habracdn.net",
        "habrastorage.org",
        "hsto.org",
    }
)
_LINK_TAG = re.compile(rb"<link\b[^>]*>", re.IGNORECASE)
_SCRIPT_TAG = re.compile(rb"<script\b[^>]*\bsrc\s*=[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""\s(rel|href|as|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_REQUISITE_RELS = frozenset(
    {b"stylesheet", b"icon", b"apple-touch-icon", b"preload", b"modulepreload", b"mask-icon"}
)
_PRELOADED = frozenset({b"", b"style", b"script", b"font", b"image"})


def page_requisites(page: bytes, base_url: str) -> list[str]:
    """Absolute URLs of the stylesheets, scripts, fonts and icons a page loads from Habr's own hosts (or from
    the host it was fetched from: a replica, an ``--origin``), in page order, without duplicates."""
    own = urlsplit(base_url).netloc.lower()
    found: dict[str, None] = {}

    def keep(raw: bytes) -> None:
        candidate = html.unescape(raw.decode("utf-8", "replace")).strip()
        if not candidate or is_local_copy(candidate):
            return
        url = absolute(base_url, candidate)
        if not url or not url.startswith(("http://", "https://")):
            return
        parts = urlsplit(url)
        host = parts.netloc.lower()
        if "/viewcount/" in parts.path:
            return  # a view counter (legacy pages): fetching it counts a view, it shows nothing
        if host == own or host in HABR_ASSET_HOSTS:
            found.setdefault(url, None)

    for tag in _LINK_TAG.finditer(page):
        attributes = {name.lower(): a or b or c for name, a, b, c in _ATTRIBUTE.findall(tag.group(0))}
        rels = set((attributes.get(b"rel") or b"").lower().split())
        if rels & _REQUISITE_RELS and (
            b"preload" not in rels or (attributes.get(b"as") or b"").lower() in _PRELOADED
        ):
            keep(attributes.get(b"href") or b"")
    for tag in _SCRIPT_TAG.finditer(page):
        attributes = {name.lower(): a or b or c for name, a, b, c in _ATTRIBUTE.findall(tag.group(0))}
        keep(attributes.get(b"src") or b"")
    return list(found)
