"""A known-gone id is not fetched again on every run: a 404 without a row waits out a back-off (store.gone)."""

from __future__ import annotations

from pathlib import Path

from habrmirror.replica import ReplicaProcess
from tests.test_crawl_support import captures, crawl, crawler_requests, explain, summary_of


def test_an_id_backfill_does_not_refetch_the_404s_of_the_last_run(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=3) as replica:
        first = crawl(out, replica.origin, "--ids", "799998-800002")  # 2 unknown ids, 3 synthetic posts
        assert first.returncode == 0, explain(first)
        gone = sorted(c.id for c in captures(out) if c.outcome == "gone")
        assert gone == [799998, 799999, 800000]  # 800000 itself is not a synthetic id (they start at 800001)
        requests_after_first = len(crawler_requests(replica))

        second = crawl(out, replica.origin, "--ids", "799998-800002")
        assert second.returncode == 0, explain(second)
        assert summary_of(out, second)["known_gone_skipped"] == 3
        assert "not requested: 3 ids that answered 404/410 lately" in second.stdout
        new_requests = crawler_requests(replica)[requests_after_first:]
        assert [r["target"] for r in new_requests if "/articles/" in r["target"]] == []
        assert sorted(c.id for c in captures(out) if c.outcome == "gone") == gone  # no new 404 captures
