"""Every image URL an article body asks a browser to load (``src``, ``data-src``, ``srcset``), for replay.

The index lists each image once, by its original upload (``data-src``), but Habr's markup has the browser load a
resized copy (``/r/w780q1/...``) in ``src``. The media pipeline fetches these too, so pywb and ReplayWeb.page
find what the replayed page requests. Pure: HTML in, URLs out.
"""

from __future__ import annotations

import lxml.html

from habrmirror.urls import absolute


def body_image_urls(body_html: str | None, base_url: str) -> list[str]:
    """Absolute image URLs of a body fragment, in order, without duplicates (``data:`` URLs skipped)."""
    if not body_html:
        return []
    seen: dict[str, None] = {}
    for element in lxml.html.fragment_fromstring(body_html, create_parent="div").iter("img", "source"):
        candidates = [element.get("src"), element.get("data-src")]
        for attribute in ("srcset", "data-srcset"):
            candidates += [part.strip().split(" ")[0] for part in (element.get(attribute) or "").split(",")]
        for candidate in candidates:
            url = absolute(base_url, candidate)
            # "<title>_files/" folders are a saving browser's local copies, not something Habr served
            if url and url.startswith(("http://", "https://")) and "_files/" not in url:
                seen.setdefault(url, None)
    return list(seen)
