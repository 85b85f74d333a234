"""CommentsPipeline: fetch each archived post's comments from Habr's comments API, into the same WARC.

Step "comments fetched (also into the WARC)" of the flow, after the images and before validation, so the row
that reaches the index carries them. The request goes through the normal downloader (robots.txt, throttling,
retries, the WARC recorder); what the answer means is :func:`habrmirror.capture.judge_comments`. A comments fetch
that fails never fails the article: the row says ``comments_status: failed``, the capture line says why, and
the next refresh asks again. When the API answer fails or robots.txt disallows it, the post's comments page
(``/ru/articles/ID/comments/``) is asked next. Posts whose page rendered their comments (legacy pages), and posts whose
counters say they have none, are not asked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from habrmirror.capture import (
    CaptureResult,
    CommentsAnswer,
    FetchedPage,
    comments_fallback_due,
    comments_to_fetch,
    judge_comments,
    network_reason,
    read_comments_answer,
)
from habrmirror.crawl.recorder import fetched_page
from habrmirror.crawl.session import ArchiveSession
from habrmirror.items import COMMENTS_FAILED, COMMENTS_SKIPPED_ROBOTS
from habrmirror.urls import comments_api_url, comments_page_url

COMMENTS_OF_META = "habr_comments_of"  # request.meta: the article id whose comments this request fetches
ROBOTS_REFUSAL = "robots.txt"  # what Scrapy's RobotsTxtMiddleware says when it drops a request


class CommentsPipeline:
    def __init__(
        self,
        session: ArchiveSession,
        download: Callable[[scrapy.Request], Awaitable[Response]],
        read: Callable[[FetchedPage], Awaitable[CommentsAnswer]],
    ) -> None:
        self.session = session
        self.download = download  # the engine's download (robots.txt, throttling, retries, WARC recorder)
        self.read = read  # reads an answer (decode, parse, Markdown): the spider's parse worker

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CommentsPipeline:
        if not crawler.settings.getbool("HABR_COMMENTS", True):
            raise NotConfigured  # --no-comments: rows say comments_status not_fetched

        async def download(request: scrapy.Request) -> Response:
            assert crawler.engine is not None
            return await crawler.engine.download_async(request)

        async def read(page: FetchedPage) -> CommentsAnswer:
            pool = getattr(crawler.spider, "parse_pool", None)
            return await pool.read_comments(page) if pool is not None else read_comments_answer(page)

        return cls(ArchiveSession.of(crawler), download, read)

    async def process_item(self, item: CaptureResult) -> CaptureResult:
        article = item.article
        if article is None or not comments_to_fetch(item):
            return item  # the page holds them, it is not Habr's page, or there are none
        page_url = article.fetched_url or item.url
        await self.ask(item, comments_api_url(article.id, page_url))
        if comments_fallback_due(item):  # the API answer failed or was disallowed: the comments page
            await self.ask(item, comments_page_url(article.id, page_url))
        assert item.article is not None
        self.session.stats_inc(f"comments/{item.article.comments_status}")
        return item

    async def ask(self, item: CaptureResult, url: str) -> None:
        """Fetch one comments source for ``item`` and judge what came back (never raises)."""
        assert item.article is not None
        request = scrapy.Request(
            url,
            meta={COMMENTS_OF_META: item.article.id, "handle_httpstatus_all": True, "habr_raw_body": True},
            priority=10,
            dont_filter=True,
        )
        try:
            response = await self.download(request)
        except IgnoreRequest as error:
            robots = ROBOTS_REFUSAL in str(error)
            status = COMMENTS_SKIPPED_ROBOTS if robots else COMMENTS_FAILED
            judge_comments(item, status=status, reason=f"not requested: {error}")
            return
        except Exception as error:  # network errors: noted on the row and in the capture line, never fatal
            judge_comments(item, status=COMMENTS_FAILED, reason=network_reason(error))
            return
        page = fetched_page(response)
        judge_comments(item, page, answer=await self.read(page))
