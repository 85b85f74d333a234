"""IndexPipeline: the last step, an archived article becomes its index row and a line in the capture log.

The capture is appended first and the row buffered after it, so a row never reaches disk before the capture
that explains it (crash recovery replays captures the last index flush did not cover).
"""

from __future__ import annotations

from dataclasses import asdict

from scrapy.crawler import Crawler

from habrmirror.crawl.session import ArchiveSession
from habrmirror.items import Article, article_record


class IndexPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.session = ArchiveSession.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IndexPipeline:
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        context = self.session.capture_context.pop(item.id, {})
        self.session.record(
            item.id,
            item.fetched_url or "",
            context.get("status"),
            "archived",
            warc=item.warc,
            images=[asdict(image) for image in item.images],
            revisit=bool(context.get("revisit")),
            time=item.captured_at,
        )
        self.session.put_row(article_record(item))
        return item
