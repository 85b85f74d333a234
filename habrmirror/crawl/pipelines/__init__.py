"""Item pipelines, in order: ``media`` (images into the WARC), ``validation`` (``capture.finish``), ``index``.

Each item is a :class:`habrmirror.capture.CaptureResult` whose outcome is ``archived``; the session logs it.
"""

from __future__ import annotations

from typing import TypeVar

from scrapy.crawler import Crawler

from habrmirror.crawl.session import ArchiveSession

_Pipeline = TypeVar("_Pipeline", bound="SessionPipeline")


class SessionPipeline:
    """A pipeline that hands capture results to the run's :class:`ArchiveSession`."""

    def __init__(self, session: ArchiveSession) -> None:
        self.session = session

    @classmethod
    def from_crawler(cls: type[_Pipeline], crawler: Crawler) -> _Pipeline:
        return cls(ArchiveSession.of(crawler))
