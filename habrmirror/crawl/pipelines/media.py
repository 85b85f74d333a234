"""ImageCapturePipeline: fetch each body image of an article so it lands in the same WARC.

Step "media fetched (also into the WARC)" of the flow. Images go through the normal downloader (robots.txt,
throttling, retries), so the WarcRecorder records them like any other exchange; this pipeline only notes, per
image, whether it was archived and why not. A failed image never fails the article. The resized copies the
markup's ``src``/``srcset`` load, and the page's requisites on Habr's hosts (stylesheets, scripts, fonts,
icons; once per run), are fetched too (not listed in the row), so replay tools find them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from habrmirror.capture import CaptureResult, megabytes
from habrmirror.crawl.download_handler import TRUNCATED_FLAG, WIRE_META_KEY
from habrmirror.crawl.recorder import WARC_META_KEY
from habrmirror.crawl.session import ArchiveSession
from habrmirror.items import Image
from habrmirror.pages.requisites import body_image_urls

IMAGE_OF_META = "habr_image_of"
RUN_CACHE_SIZE = (
    100_000  # image URLs whose outcome this run remembers (bounded: memory must not grow with the crawl)
)

ImageOutcome = tuple[bool, str | None]  # (archived, error)


class ImageCapturePipeline:
    def __init__(
        self, session: ArchiveSession, download: Callable[[scrapy.Request], Awaitable[Response]]
    ) -> None:
        self.session = session
        self.download = download  # the engine's download (robots.txt, throttling, retries, WARC recorder)
        # An image shared by many posts (a company logo, a template picture) is fetched once per run: later
        # posts reuse the outcome, and posts processed at the same time wait for the one fetch in flight.
        self._outcomes: OrderedDict[str, ImageOutcome] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[ImageOutcome]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ImageCapturePipeline:
        if not crawler.settings.getbool("HABR_IMAGES", True):
            raise NotConfigured  # switched off

        async def download(request: scrapy.Request) -> Response:
            assert crawler.engine is not None
            return await crawler.engine.download_async(request)

        return cls(ArchiveSession.of(crawler), download)

    async def process_item(self, item: CaptureResult) -> CaptureResult:
        article = item.article
        if article is None or not (article.images or article.text_html):
            return item
        by_url: dict[str, list[Image]] = {}
        for image in article.images:
            by_url.setdefault(image.url, []).append(image)
        # What replay needs besides the originals: the resized copies the markup's src/srcset load.
        variants = [
            url for url in body_image_urls(article.text_html, article.fetched_url or "") if url not in by_url
        ]
        # And the page's stylesheets, scripts, fonts and icons on Habr's hosts: fetched once per run (the run
        # cache below), and an unchanged one is a revisit record in the next run's WARC.
        seen = set(by_url) | set(variants)
        variants += [url for url in item.requisites if url not in seen]
        results = await asyncio.gather(*(self._fetch_once(url, article.id) for url in [*by_url, *variants]))
        for url, (archived, error) in zip(by_url, results, strict=False):
            for image in by_url[url]:
                image.archived, image.error = archived, error
        originals, extra = results[: len(by_url)], results[len(by_url) :]
        self.session.stats_inc("images/archived", sum(1 for ok, _ in originals if ok))
        self.session.stats_inc("images/failed", sum(1 for ok, _ in originals if not ok))
        self.session.stats_inc("images/replay_variants", sum(1 for ok, _ in extra if ok))  # and requisites
        return item

    async def _fetch_once(self, url: str, article_id: int) -> ImageOutcome:
        """The outcome of ``url`` in this run: remembered, awaited if in flight, else fetched now."""
        if url in self._outcomes:
            self._outcomes.move_to_end(url)
            self.session.stats_inc("images/reused_in_run")
            return self._outcomes[url]
        if url in self._in_flight:
            return await asyncio.shield(self._in_flight[url])
        future: asyncio.Future[ImageOutcome] = asyncio.get_running_loop().create_future()
        self._in_flight[url] = future
        try:
            outcome = await self._fetch(url, article_id)
        except BaseException:  # cancelled (_fetch itself turns every error into an outcome)
            future.cancel()
            raise
        finally:
            del self._in_flight[url]
        future.set_result(outcome)
        self._outcomes[url] = outcome
        if len(self._outcomes) > RUN_CACHE_SIZE:
            self._outcomes.popitem(last=False)
        return outcome

    async def _fetch(self, url: str, article_id: int) -> ImageOutcome:
        """(archived, error) for one image URL."""
        request = scrapy.Request(
            url, meta={IMAGE_OF_META: article_id, "handle_httpstatus_all": True}, priority=10
        )
        try:
            response = await self.download(request)
        except IgnoreRequest as error:
            return False, f"not fetched: {error}" if str(error) else "not fetched (robots.txt or policy)"
        except Exception as error:  # network errors: reported per image, never fatal
            return False, f"{type(error).__name__}: {error}"
        if not 200 <= response.status < 300:
            return False, f"HTTP {response.status}"
        if TRUNCATED_FLAG in response.flags:
            limit = megabytes((response.meta.get(WIRE_META_KEY) or {}).get("truncated_at") or 0)
            return False, f"image larger than the {limit} limit (HABR_MAX_IMAGE_BYTES); stored truncated"
        if response.meta.get(WARC_META_KEY) is None:
            return False, "downloaded but not recorded in the WARC"
        return True, None
