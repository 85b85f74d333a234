"""IndexPipeline: the last step, an archived capture becomes a line in the capture log and its index row.

The session logs the capture first and puts the row after it, so a row never reaches disk before the capture
that explains it (crash recovery replays captures the last index flush did not cover).
"""

from __future__ import annotations

from typing import Any

from habrmirror.capture import CaptureResult
from habrmirror.crawl.pipelines import SessionPipeline


class IndexPipeline(SessionPipeline):
    def process_item(self, item: CaptureResult) -> dict[str, Any]:
        """Log and index the capture; what leaves the pipelines (Scrapy's item feeds, scrapyd's items_dir) is
        the index row, exactly as ``index/`` holds it."""
        self.session.record(item)
        assert item.row is not None  # SchemaValidationPipeline ran finish()
        return item.row
