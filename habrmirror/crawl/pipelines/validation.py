"""SchemaValidationPipeline: check each archived capture's row against the JSON Schema before it is indexed.

Step "item validated" of the flow, through :func:`habrmirror.capture.finish` (the rule reindex and recovery
use too). Errors are counted per field in the crawl stats (``habrmirror/validation/errors/<field>``); an
invalid capture is logged as ``invalid`` with the reason and dropped (its bytes stay in the WARC, ``habrmirror
reindex`` can retry it).
"""

from __future__ import annotations

from scrapy.exceptions import DropItem

from habrmirror.capture import CaptureResult, Outcome, finish
from habrmirror.crawl.pipelines import SessionPipeline


class SchemaValidationPipeline(SessionPipeline):
    def process_item(self, item: CaptureResult) -> CaptureResult:
        finish(item)
        if item.outcome is not Outcome.INVALID:
            return item
        for field in item.invalid_fields:
            self.session.stats_inc(f"validation/errors/{field}")
        self.session.record(item)
        raise DropItem(f"article {item.id} fails the schema: {item.reason}")
