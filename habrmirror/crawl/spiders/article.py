"""``article`` spider: archive one post (or a few) given as URLs or ids.

``scrapy crawl article -a url=https://habr.com/ru/articles/454184/`` or ``-a url=454184``; several may be
given comma-separated (from Python, ``urls=[...]`` takes a list: a URL may hold a comma). Each is fetched as
:func:`habrmirror.urls.request_url` says (Habr's hosts from the origin, no fragment). Used by
``habrmirror archive`` and ``habrmirror demo``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import scrapy

from habrmirror.crawl.spiders.base import HabrSpider
from habrmirror.urls import article_id, request_url


class ArticleSpider(HabrSpider):
    name = "article"

    def __init__(self, url: str = "", *args: Any, urls: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = [part.strip() for part in [*url.split(","), *urls] if part.strip()]
        if not self.targets:
            raise ValueError("the article spider needs -a url=URL_OR_ID[,URL_OR_ID...]")
        for target in self.targets:
            article_id(target)  # fail early on input that is not an article

    def progress_total(self) -> tuple[str, int]:
        """What the progress display counts towards: these posts."""
        return "articles", len(self.targets)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.parse_pool.start()
        for target in self.targets:
            yield self.article_request(request_url(target, self.origin), article_id(target))
