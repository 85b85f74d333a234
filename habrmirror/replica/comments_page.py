"""The replica's comments pages (``/ru/articles/ID/comments/``), built from a real saved one's thread.

Habr renders a post's comments page in the tm layout: the post's title and the ``div.tm-comments-wrapper``
thread an article page shows under the body. The replica serves, for every article it has, a page around the
real thread of the 2025 browser-saved page (16 comments, replies nested), so the crawl's comments-page reader
meets real markup; only the shell (title, head) is the replica's.
"""

from __future__ import annotations

import html
from functools import lru_cache

from lxml import html as lxml_html

from habrmirror.replica.catalog import SAMPLES_DIR

THREAD_SAMPLE = "article-tm-957816-browsersaved-2025.html"

_SHELL = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="UTF-8"><title>Комментарии / {title} / Хабр</title></head>
<body><div id="app"><div class="tm-layout"><main class="tm-layout__container">
<div class="tm-article-comments-page"><h1 class="tm-title tm-title_h1"><a href="{article}">{title}</a></h1>
{thread}
</div></main></div></div></body></html>
"""


@lru_cache(maxsize=1)
def saved_thread() -> str:
    """The ``div.tm-comments-wrapper`` element of the saved page, as HTML (read once)."""
    doc = lxml_html.fromstring((SAMPLES_DIR / THREAD_SAMPLE).read_bytes())
    [wrapper] = doc.xpath(
        '//div[contains(concat(" ", normalize-space(@class), " "), " tm-comments-wrapper ")]'
    )
    return lxml_html.tostring(wrapper, encoding="unicode")


def comments_page(title: str, article_path: str) -> bytes:
    """The comments page of the article at ``article_path`` titled ``title``."""
    page = _SHELL.format(title=html.escape(title), article=html.escape(article_path), thread=saved_thread())
    return page.encode("utf-8")
