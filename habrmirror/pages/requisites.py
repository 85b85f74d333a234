"""Every image URL an article body asks a browser to load (``src``, ``data-src``, ``srcset``), for replay.

The index lists each image once, by its original upload (``data-src``), but Habr's markup has the browser load a
resized copy (``/r/w780q1/...``) in ``src``. The media pipeline fetches these too, so pywb and ReplayWeb.page
find what the replayed page requests. Pure: HTML in, URLs out.
"""

from __future__ import annotations

import html
import re

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
