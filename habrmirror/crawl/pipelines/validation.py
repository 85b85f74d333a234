"""SchemaValidationPipeline: check each item against the published JSON Schema before it reaches the index.

Step "item validated" of the flow. Errors are counted per field in the crawl stats
(``habrmirror/validation/errors/<field>``); an invalid item is dropped from the index and its capture is
logged as ``invalid`` with the reason (its bytes stay in the WARC, ``habrmirror reindex`` can retry it).
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from habrmirror.crawl.session import ArchiveSession
from habrmirror.items import Article, article_record
from habrmirror.schema import validation_errors


class SchemaValidationPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.session = ArchiveSession.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SchemaValidationPipeline:
        return cls(crawler)

    def process_item(self, item: Article) -> Article:
        errors = validation_errors(article_record(item))
        if not errors:
            return item
        for field, _ in errors:
            self.session.stats_inc(f"validation/errors/{field}")
        reason = "; ".join(f"{field}: {message}" for field, message in errors[:5])
        context = self.session.capture_context.pop(item.id, {})
        self.session.record(
            item.id, item.fetched_url or "", context.get("status"), "invalid", reason, item.warc
        )
        raise DropItem(f"article {item.id} fails the schema: {reason}")
