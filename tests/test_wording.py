"""Counts people read say "1 problem", "2 problems" everywhere (verify, reindex, the crawl summary)."""

from __future__ import annotations

from pathlib import Path

from habrmirror.store.marks import ListingWalk
from habrmirror.tools.verify import VerifyReport
from habrmirror.wording import plural


def test_plural() -> None:
    assert (plural(1, "problem"), plural(0, "problem"), plural(2, "index", "indexes")) == (
        "1 problem",
        "0 problems",
        "2 indexes",
    )


def test_verify_and_walk_lines_count_in_words() -> None:
    report = VerifyReport(Path("archive"))
    report.files, report.records, report.rows = 1, 2, 1
    assert report.lines()[-1] == (
        "OK: 1 WARC file, 2 records (0 revisits), 1 index row, 0 archived images checked; 0 warnings"
    )
    walk = ListingWalk(key="ru/articles", previous_mark=None)
    assert walk.why_not("finished", 1).startswith("1 transient failure of listing pages")
