"""A scheduled crawl is a polite, single writer: a second writer is turned away by the archive lock, a 429 with
Retry-After is waited out and retried, and a URL robots.txt disallows is never requested (and the run says so).
"""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

from habrmirror.exits import EXIT_LOCKED, EXIT_OK
from habrmirror.replica import ReplicaProcess
from tests.conftest import FAST, run_cli
from tests.test_crawl_support import (
    BackgroundCrawl,
    all_listed,
    captures,
    check_archive_is_whole,
    crawl,
    crawler_requests,
    explain,
    index_rows,
    marks,
    requested_ids,
    summary_of,
    wait_until,
    warc_records_for,
)

pytestmark = pytest.mark.slow

# One request at a time, 0.25 s apart: ~30 posts with their images take far longer than the checks below.
SLOW = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "DOWNLOAD_DELAY=0.25"]


def test_a_second_writer_is_turned_away_while_a_crawl_runs(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    lock = out / "state" / "writer.lock"
    with ReplicaProcess(synthetic=30) as replica:
        first = BackgroundCrawl(out, replica.origin, *SLOW)
        try:
            wait_until(
                lambda: lock.exists() and f"pid {first.pid} " in lock.read_text() or not first.running(),
                60,
                "the first crawl to take the lock",
            )
            wait_until(lambda: any((out / "warc").glob("*.open")) or not first.running(), 60, "its WARC")
            live_warc = sorted((out / "warc").glob("*.open"))

            started = time.monotonic()
            second = crawl(out, replica.origin)
            second_took = time.monotonic() - started
            assert second.returncode == EXIT_LOCKED, explain(second)
            assert (
                f"is locked by pid {first.pid} habrmirror crawl since" in second.stderr
            )  # the command the user ran
            assert "not starting" in second.stderr and "Traceback" not in second.stderr
            assert second_took < 30

            started = time.monotonic()
            archive = run_cli(
                "archive", "800001", "--out", str(out), "--origin", replica.origin, "--wait", "1", *FAST
            )
            archive_took = time.monotonic() - started
            assert archive.returncode == EXIT_LOCKED, explain(archive)
            assert f"is locked by pid {first.pid}" in archive.stderr and "Traceback" not in archive.stderr
            assert 1.0 <= archive_took < 30

            # neither touched the running crawl's files: its WARC is still open, no run summary was written
            assert first.running(), "the first crawl should still be running"
            assert live_warc and sorted((out / "warc").glob("*.open")) == live_warc
            assert not list((out / "runs").glob("*.json"))
        finally:
            # SIGKILL, not SIGTERM: a graceful stop would first drain the queued downloads at this slow pace
            code, output = first.stop(signal.SIGKILL)
        assert code == -signal.SIGKILL, output

        # the kernel dropped the lock with the killed crawl: the same archive command now runs (and repairs)
        after = run_cli(
            "archive", "800001", "--out", str(out), "--origin", replica.origin, "--wait", "1", *FAST
        )
        assert after.returncode == EXIT_OK, explain(after)
    assert 800001 in index_rows(out)
    check_archive_is_whole(out)


def sent_times(sent: list[dict[str, object]], path: str) -> list[tuple[datetime, int]]:
    return [
        (datetime.fromisoformat(str(e["time"])), int(str(e["status"]))) for e in sent if e["target"] == path
    ]


def test_429_and_503_with_retry_after_are_waited_out_and_retried(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    article, listing = "/ru/articles/800002/", "/ru/articles/"
    with ReplicaProcess(synthetic=6) as replica:
        replica.control("fail", path=article, status=429, retry_after=2, count=1)
        replica.control("fail", path=listing, status=503, retry_after=2, count=1)
        # ``all`` lists every post a second time: still one fetch per post
        proc = crawl(out, replica.origin, "--listings", "articles,news,all")
        assert proc.returncode == EXIT_OK, explain(proc)
        sent = crawler_requests(replica)
        listed = all_listed(replica.origin)

    assert requested_ids(sent) == sorted(listed)
    assert {e["target"] for e in sent if e["kind"] == "listing"} == {"/ru/articles/", "/ru/news/", "/ru/all/"}
    for path, status in ((article, 429), (listing, 503)):
        times = sent_times(sent, path)
        assert [code for _, code in times] == [status, 200], path
        waited = (times[1][0] - times[0][0]).total_seconds()
        assert waited >= 2.0, f"{path}: retried after {waited:.3f}s, Retry-After said 2"
        # both answers are in the WARC, as they came
        assert [kind for kind, _ in warc_records_for(out, replica.origin + path)] == ["response", "response"]
    summary = summary_of(out, proc)
    assert summary["failed"] == 0 and summary["outcomes"] == {"archived": len(listed)}
    assert set(index_rows(out)) == listed
    assert [c.outcome for c in captures(out) if c.id == 800002] == ["archived"]
    assert all(walk["mark_moved"] for walk in summary["listings"].values())  # a retried page is no gap


def test_robots_txt_disallowed_article_is_not_fetched_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    blocked = 800003
    with ReplicaProcess(synthetic=6, disallow=[f"/ru/articles/{blocked}/"]) as replica:
        proc = crawl(out, replica.origin)
        assert proc.returncode == EXIT_OK, explain(proc)
        sent = crawler_requests(replica)
        listed = all_listed(replica.origin)
        robots_url = replica.origin + "/robots.txt"
        blocked_url = f"{replica.origin}/ru/articles/{blocked}/"

    assert blocked in listed
    assert not [e for e in sent if str(blocked) in e["target"]]  # not even an image of it
    assert [e["target"] for e in sent if e["kind"] == "robots"] == ["/robots.txt"]
    assert set(index_rows(out)) == listed - {blocked}
    [skip] = [c for c in captures(out) if c.id == blocked]
    assert (skip.outcome, skip.status, skip.url) == ("robots", None, blocked_url)
    assert "robots.txt" in (skip.reason or "")
    summary = summary_of(out, proc)
    assert summary["outcomes"] == {"archived": len(listed) - 1, "robots": 1}
    assert summary["failed"] == 0 and summary["failures"] == []
    # a skip the site asks for is no transient failure: the marks move, the next run will not retry it
    assert all(walk["mark_moved"] for walk in summary["listings"].values())
    assert set(marks(out)) == {"ru/articles", "ru/news"}
    assert warc_records_for(out, robots_url) and not warc_records_for(out, blocked_url)
