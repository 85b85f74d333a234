"""Comments, part of every capture: the comments API answer goes into the WARC and the row; a comments fetch
that is refused (robots.txt) or fails never changes the article's outcome or the exit code; --no-comments."""

from __future__ import annotations

import json
from pathlib import Path

from habrmirror.archive.reader import decoded_payload, read_record
from habrmirror.items import WarcPointer
from habrmirror.replica import ReplicaProcess
from tests.conftest import FAST, run_cli
from tests.test_crawl_support import captures, crawler_requests, index_rows, summary_of

SSR = 724768  # a 2023 page that does not render its comments (22 on Habr): they come from the API
LEGACY = 1000  # a legacy page that renders its two comments itself


def archive(out: Path, origin: str, *args: str) -> object:
    return run_cli("archive", str(SSR), str(LEGACY), "--out", str(out), "--origin", origin, *FAST, *args)


def test_comments_come_from_the_api_or_the_page_and_are_in_the_warc(tmp_path: Path) -> None:
    out = tmp_path / "a"
    with ReplicaProcess() as replica:
        result = archive(out, replica.origin)
        assert result.returncode == 0, result.stderr[-2000:]
        asked = [r["target"] for r in crawler_requests(replica) if r["kind"] == "comments"]
    assert asked == [f"/kek/v2/articles/{SSR}/comments/"]  # the legacy page's own comments are used
    rows = index_rows(out)
    assert (rows[SSR]["comments_status"], len(rows[SSR]["comments"])) == ("api", 19)
    first = rows[SSR]["comments"][0]
    assert (first["id"], first["parent_id"], first["level"], first["author"]) == (
        19831270,
        0,
        0,
        "androidovshchik",
    )
    assert (rows[LEGACY]["comments_status"], len(rows[LEGACY]["comments"])) == ("page", 2)
    (line,) = [c for c in captures(out) if c.id == SSR]
    assert line.comments is not None and line.comments["status"] == "api"
    stored = read_record(out, WarcPointer(**line.comments["warc"]))
    assert json.loads(decoded_payload(stored))["threads"][0] == "19831270"
    assert "comments: 1 from the comments API, 1 read from the article page" in result.stdout


def test_comments_page_when_the_api_is_disallowed_or_fails(tmp_path: Path) -> None:
    """robots.txt disallows the API: the comments page is read (the replica's is a real saved thread), the row
    says comments_page and keeps why; reindex gives the same row from the WARC."""
    with ReplicaProcess(disallow=["/kek/"]) as replica:
        refused = archive(tmp_path / "robots", replica.origin)
        asked = [r["target"] for r in crawler_requests(replica) if r["kind"] in ("comments", "comments_page")]
    assert refused.returncode == 0, refused.stderr[-2000:]
    assert asked == [f"/ru/articles/{SSR}/comments/"]
    row = index_rows(tmp_path / "robots")[SSR]
    assert (row["comments_status"], len(row["comments"])) == ("comments_page", 8)
    assert [(c["id"], c["parent_id"], c["level"]) for c in row["comments"][:3]] == [
        (29035640, 0, 0),
        (29036296, 29035640, 1),
        (29036508, 29036296, 2),
    ]
    (line,) = [c for c in captures(tmp_path / "robots") if c.id == SSR]
    assert line.comments and line.comments["status"] == "comments_page"
    assert line.comments["reason"].startswith("comments API: not requested: ")
    assert summary_of(tmp_path / "robots", refused)["failed"] == 0
    assert run_cli("reindex", str(tmp_path / "robots")).returncode == 0
    assert index_rows(tmp_path / "robots")[SSR] == row

    with ReplicaProcess() as replica:
        replica.control("fail", count=20, path=f"/kek/v2/articles/{SSR}/comments/", status=503, retry_after=0)
        failed = archive(tmp_path / "fail", replica.origin, "--set", "RETRY_TIMES=1")
    assert failed.returncode == 0, failed.stderr[-2000:]
    row = index_rows(tmp_path / "fail")[SSR]
    assert (row["comments_status"], len(row["comments"])) == ("comments_page", 8)
    (line,) = [c for c in captures(tmp_path / "fail") if c.id == SSR]
    assert line.comments and line.comments["reason"] == "comments API: comments answer HTTP 503"


def test_robots_refusal_and_failures_of_both_sources_are_noted_not_fatal(tmp_path: Path) -> None:
    with ReplicaProcess(disallow=["/kek/", f"/ru/articles/{SSR}/comments/"]) as replica:
        refused = archive(tmp_path / "robots", replica.origin)
    assert refused.returncode == 0, refused.stderr[-2000:]
    row = index_rows(tmp_path / "robots")[SSR]
    assert (row["comments_status"], row["comments"]) == ("skipped_robots", [])
    assert summary_of(tmp_path / "robots", refused)["failed"] == 0

    with ReplicaProcess() as replica:
        for path in (f"/kek/v2/articles/{SSR}/comments/", f"/ru/articles/{SSR}/comments/"):
            replica.control("fail", count=20, path=path, status=503, retry_after=0)
        failed = archive(tmp_path / "fail", replica.origin, "--set", "RETRY_TIMES=1")
    assert failed.returncode == 0, failed.stderr[-2000:]
    row = index_rows(tmp_path / "fail")[SSR]
    assert (row["comments_status"], row["comments"]) == ("failed", [])
    (line,) = [c for c in captures(tmp_path / "fail") if c.id == SSR]
    assert line.outcome == "archived" and line.comments
    assert (
        line.comments["reason"]
        == "comments API: comments answer HTTP 503; comments page: comments page HTTP 503"
    )


def test_no_comments_fetches_none(tmp_path: Path) -> None:
    with ReplicaProcess() as replica:
        result = archive(tmp_path / "a", replica.origin, "--no-comments")
        asked = [r for r in crawler_requests(replica) if r["kind"] == "comments"]
    assert result.returncode == 0, result.stderr[-2000:]
    assert asked == []
    assert index_rows(tmp_path / "a")[SSR]["comments_status"] == "not_fetched"
