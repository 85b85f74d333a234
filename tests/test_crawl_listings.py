"""The scheduled crawl of the "All Articles" listings, end to end against the replica: a first run archives every
listed post once, the next run only what appeared since, an id backfill counts gaps as gone, and the refresh
window re-captures recent posts (a changed one gets a new record, an unchanged one a revisit).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from habrmirror.archive.reader import decoded_payload, read_record
from habrmirror.exits import EXIT_OK
from habrmirror.items import WarcPointer
from habrmirror.replica import ReplicaProcess
from habrmirror.replica.listings import PAGE_SIZE
from tests.test_crawl_support import (
    LISTINGS,
    all_listed,
    archived_per_run,
    captures,
    check_archive_is_whole,
    crawl,
    crawler_requests,
    explain,
    index_rows,
    listed_ids,
    marks,
    requested_ids,
    summary_of,
    warc_records_for,
)

pytestmark = pytest.mark.slow


def test_first_run_archives_every_listed_post_once_and_walks_every_page(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=60) as replica:
        listed = listed_ids(replica.origin)
        assert len(listed["articles"]) > 40 and listed["news"], "the replica should list 3 pages and news"
        proc = crawl(out, replica.origin)
        assert proc.returncode == EXIT_OK, explain(proc)
        sent = crawler_requests(replica)

    wanted = set(listed["articles"]) | set(listed["news"])
    rows = index_rows(out)
    assert set(rows) == wanted
    # news archived from where the news listing links them, and typed as news by the page itself
    for article in listed["news"]:
        assert rows[article]["fetched_url"] == f"{replica.origin}/ru/news/{article}/"
        assert rows[article]["type"] == "news"

    summary = summary_of(out, proc)
    assert summary["finish_reason"] == "finished"
    assert summary["outcomes"] == {"archived": len(wanted)}
    assert summary["archived"] == len(wanted) and summary["failed"] == 0
    # one archived capture per id, in this run; one fetch per article page
    assert archived_per_run(out, summary["run"]) == {article: 1 for article in wanted}
    assert requested_ids(sent) == sorted(wanted)

    # every listing page was walked to the end, and the summary says so
    pages = {kind: -(-len(listed[kind]) // PAGE_SIZE) for kind in LISTINGS}
    assert pages["articles"] >= 3
    walked = [e["target"] for e in sent if e["kind"] == "listing"]
    for kind in LISTINGS:
        assert sorted(t for t in walked if t.startswith(f"/ru/{kind}/")) == sorted(
            [f"/ru/{kind}/"] + [f"/ru/{kind}/page{n}/" for n in range(2, pages[kind] + 1)]
        )
        walk = summary["listings"][f"ru/{kind}"]
        assert walk["pages"] == pages[kind]
        assert walk["previous_mark"] is None and walk["mark_moved"] is True
        assert walk["mark"] == walk["newest_seen"] == marks(out)[f"ru/{kind}"]
    assert len(summary["warc_files"]) == 1 and (out / summary["warc_files"][0]).exists()
    assert f"archived {len(wanted)}, gone 0, failed 0" in proc.stdout
    assert "ru/articles: newest seen" in proc.stdout and "mark moved to" in proc.stdout
    check_archive_is_whole(out)


def test_next_run_archives_exactly_the_new_posts_and_stops_at_the_mark(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=45) as replica:
        first = crawl(out, replica.origin)
        assert first.returncode == EXIT_OK, explain(first)
        before = {line.name: line.read_bytes() for line in (out / "index").glob("*.jsonl")}
        old_rows = index_rows(out)
        old_marks = marks(out)
        sent_before = len(crawler_requests(replica))

        added = (
            replica.control("add", count=4)["added"] + replica.control("add", count=2, type="news")["added"]
        )
        new_ids = {entry["id"] for entry in added}
        second = crawl(out, replica.origin)
        assert second.returncode == EXIT_OK, explain(second)
        sent = crawler_requests(replica)[sent_before:]
        listed = all_listed(replica.origin)

        # A run that finds nothing new archives nothing, reads one page per listing and still leaves the
        # recovery checkpoint at the capture log's end (else the next start would replay the whole log).
        idle = crawl(out, replica.origin)
        assert idle.returncode == EXIT_OK, explain(idle)
        idle_summary = summary_of(out, idle)
        assert captures(out, idle_summary["run"]) == [] and idle_summary["outcomes"] == {}
        assert [walk["pages"] for walk in idle_summary["listings"].values()] == [1, 1]
        [log] = (out / "captures").glob("*.jsonl")
        checkpoint = json.loads((out / "state" / "index-checkpoint.json").read_text(encoding="utf-8"))
        assert checkpoint == {"file": log.name, "offset": log.stat().st_size}

    summary = summary_of(out, second)
    assert archived_per_run(out, summary["run"]) == {article: 1 for article in new_ids}
    assert {c.id for c in captures(out, summary["run"])} == new_ids  # nothing else was even attempted
    rows = index_rows(out)
    assert set(rows) == listed == set(old_rows) | new_ids
    assert all(rows[article] == old_rows[article] for article in old_rows)  # old rows untouched
    # Only the first page of each listing: it already holds posts older than the mark.
    assert sorted(e["target"] for e in sent if e["kind"] == "listing") == ["/ru/articles/", "/ru/news/"]
    assert requested_ids(sent) == sorted(new_ids)
    for kind in LISTINGS:
        walk = summary["listings"][f"ru/{kind}"]
        assert walk["pages"] == 1 and walk["mark_moved"] is True
        assert walk["previous_mark"] == old_marks[f"ru/{kind}"] < walk["mark"] == marks(out)[f"ru/{kind}"]
    newest = max(datetime.fromisoformat(e["published"].replace("Z", "+00:00")) for e in added)
    assert max(datetime.fromisoformat(m) for m in marks(out).values()) == newest
    changed_shards = {name for name, data in before.items() if (out / "index" / name).read_bytes() != data}
    assert changed_shards <= {f"{article // 1000:05d}.jsonl" for article in new_ids}
    check_archive_is_whole(out)


def test_id_backfill_counts_missing_ids_as_gone_and_keeps_existing_rows(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=6) as replica:
        first = crawl(out, replica.origin, "--ids", "800002-800003")
        assert first.returncode == EXIT_OK, explain(first)
        kept = (out / "index" / "00800.jsonl").read_bytes().splitlines()
        sent_before = len(crawler_requests(replica))
        replica.control("delete", id=800005)  # existed once, answers 404 now
        backfill = crawl(out, replica.origin, "--ids", "800001-800009")
        assert backfill.returncode == EXIT_OK, explain(backfill)
        sent = crawler_requests(replica)[sent_before:]

    summary = summary_of(out, backfill)
    by_id = {c.id: c for c in captures(out, summary["run"])}
    assert {i for i, c in by_id.items() if c.outcome == "archived"} == {800001, 800004, 800006}
    assert {i for i, c in by_id.items() if c.outcome == "gone"} == {800005, 800007, 800008, 800009}
    assert all(by_id[i].status == 404 for i in (800005, 800007, 800008, 800009))
    assert summary["outcomes"] == {"archived": 3, "gone": 4} and summary["failed"] == 0
    assert not summary["listings"] and marks(out) == {}  # no listing walked: the marks are not touched
    assert "archived 3, gone 4, failed 0" in backfill.stdout
    # every id of the range requested once, except the two archived already
    requested = requested_ids(sent, ("article", "not_found"))
    assert requested == [800001, 800004, 800005, 800006, 800007, 800008, 800009]
    rows = index_rows(out)
    assert set(rows) == {800001, 800002, 800003, 800004, 800006}
    assert "gone_at" not in rows[800002] or rows[800002]["gone_at"] is None
    assert (out / "index" / "00800.jsonl").read_bytes().splitlines()[1:3] == kept  # byte for byte
    check_archive_is_whole(out)


def test_refresh_window_recaptures_recent_posts_changed_or_not(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=12) as replica:
        first = crawl(out, replica.origin)
        assert first.returncode == EXIT_OK, explain(first)
        before = index_rows(out)
        # The window holds the 4 newest synthetic posts (47 minutes apart): start it 20 minutes before the 4th.
        by_time = sorted(before.values(), key=lambda row: row["published_at"], reverse=True)
        in_window = {row["id"] for row in by_time[:4]}
        boundary = datetime.fromisoformat(by_time[3]["published_at"]) - timedelta(minutes=20)
        days = (datetime.now(timezone.utc) - boundary) / timedelta(days=1)
        edited = by_time[1]["id"]
        replica.control("edit", id=edited)
        second = crawl(out, replica.origin, "--refresh-days", f"{days:.6f}")
        assert second.returncode == EXIT_OK, explain(second)

    summary = summary_of(out, second)
    run = captures(out, summary["run"])
    assert Counter(c.id for c in run) == dict.fromkeys(in_window, 1)  # re-captured: the window, nothing older
    assert all(c.outcome == "archived" for c in run)
    after = index_rows(out)
    assert set(after) == set(before)

    changed = next(c for c in run if c.id == edited)
    assert changed.revisit is False and changed.warc is not None
    row = after[edited]
    assert row["warc"] != before[edited]["warc"] and row["warc"] == asdict(changed.warc)
    assert "Правка 1" in row["text"] and "Правка 1" not in before[edited]["text"]
    assert row["captured_at"] > before[edited]["captured_at"]
    stored = read_record(out, WarcPointer(**row["warc"]))
    assert "Правка 1".encode() in decoded_payload(stored)

    for same in in_window - {edited}:
        capture = next(c for c in run if c.id == same)
        assert capture.revisit is True and capture.warc is not None
        # the new WARC record is a revisit; the row still points at the record holding the bytes
        records = warc_records_for(out, before[same]["fetched_url"])
        assert [kind for kind, _ in records] == ["response", "revisit"]
        assert after[same]["warc"] == before[same]["warc"] == asdict(capture.warc)
        assert after[same]["warc"]["record_id"] == records[0][1]
        assert after[same]["text"] == before[same]["text"]
    for untouched in set(before) - in_window:
        assert after[untouched] == before[untouched]
    check_archive_is_whole(out)
