"""``reindex_archive``: the index rebuilt from the WARCs alone equals the one a real crawl wrote.

The archive is made once per module by real crawls of the local replica: a listing crawl, a second capture of
one post (stored as a revisit), and a post deleted and fetched again (a 404, so its row gets ``gone_at``).
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from habrmirror.archive.warc import HttpExchange, WarcWriter
from habrmirror.replica import ReplicaProcess
from habrmirror.store.captures import iter_captures, read_checkpoint
from habrmirror.store.index import ArchivedIds, iter_rows
from habrmirror.store.layout import ArchiveDir, LockHeld
from habrmirror.store.recovery import CHECKPOINT_NAME
from habrmirror.tools import reindex as reindex_module
from habrmirror.tools.reindex import reindex_archive
from habrmirror.tools.verify import verify_archive
from tests.conftest import FAST, run_cli


def build_archive(out: Path, synthetic: int = 12) -> dict[str, int]:
    """Crawl a replica into ``out``; capture one post twice (revisit) and one post after it was deleted (404)."""
    with ReplicaProcess(synthetic=synthetic) as replica:
        result = run_cli("crawl", "--out", str(out), "--origin", replica.origin, *FAST)
        assert result.returncode == 0, result.stderr[-2000:]
        ids = sorted(row["id"] for row in iter_rows(out / "index"))
        revisited, deleted = ids[-1], ids[-2]
        result = run_cli("archive", str(revisited), "--origin", replica.origin, "--out", str(out), *FAST)
        assert result.returncode == 0, result.stderr[-2000:]
        replica.control("delete", id=deleted)
        result = run_cli("archive", str(deleted), "--origin", replica.origin, "--out", str(out), *FAST)
        assert result.returncode == 1, result.stderr[-2000:]  # the post is gone: nothing archived
    return {"revisited": revisited, "deleted": deleted}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("reindex") / "archive"
    return out, build_archive(out)


def copy_of(crawled: tuple[Path, dict[str, int]], tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(crawled[0], target)
    return target


def rows_by_id(root: Path) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in iter_rows(root / "index")}


def assert_same_rows(expected: dict[int, dict[str, Any]], actual: dict[int, dict[str, Any]]) -> None:
    assert sorted(actual) == sorted(expected)
    for article, row in expected.items():
        rebuilt = actual[article]
        assert sorted(rebuilt) == sorted(row), article
        for name, value in row.items():
            # captured_at is the WARC-Date in both, cut to seconds: equal, but the contract only promises
            # the capture time. gone_at: the crawl stamps it when its spider handled the 404 (utc_now(),
            # not the WARC-Date of the 404 as reindex does), so it may be a second later.
            if name == "captured_at":
                continue
            if name == "gone_at" and value is not None and rebuilt[name] is not None:
                delta = datetime.fromisoformat(rebuilt[name]) - datetime.fromisoformat(value)
                assert abs(delta.total_seconds()) <= 2, (article, value, rebuilt[name])
                continue
            assert rebuilt[name] == value, (article, name)


def test_rebuilt_index_equals_the_crawled_one(crawled: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root = copy_of(crawled, tmp_path)
    expected = rows_by_id(crawled[0])
    report = reindex_archive(root)

    assert_same_rows(expected, rows_by_id(root))
    assert report.rows == len(expected)
    assert report.revisits == 1 and report.gone == 1
    assert report.parse_error_count == 0 and not report.unreadable
    assert not report.captures_rebuilt  # the crawl's log was there and is kept as is
    ids = ArchivedIds.load(root / "state" / "index-ids.bin", root / "index")
    assert sorted(article for article in expected if article in ids) == sorted(expected)
    assert len(ids) == len(expected)
    assert verify_archive(root).ok


def test_revisit_row_points_at_the_original_bytes(
    crawled: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root = copy_of(crawled, tmp_path)
    reindex_archive(root)
    revisited, deleted = crawled[1]["revisited"], crawled[1]["deleted"]
    history = [c for c in iter_captures(root / "captures") if c.id == revisited]
    first, second = history[0], history[-1]
    assert second.revisit and second.warc == first.warc
    row = rows_by_id(root)[revisited]
    assert row["warc"]["record_id"] == first.warc.record_id  # the bytes' record, not the revisit's
    assert row["captured_at"] == second.time > first.time
    assert rows_by_id(root)[deleted]["gone_at"] is not None


def test_captures_rebuilt_from_the_warcs(crawled: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root = copy_of(crawled, tmp_path)
    shutil.rmtree(root / "captures")
    report = reindex_archive(root)
    assert report.captures_rebuilt

    def essence(root: Path) -> list[tuple[Any, ...]]:
        # run names the crawl run (unknown to a WARC); a gone capture's time is the spider's clock (see above).
        return sorted(
            (
                c.id,
                c.url,
                c.status,
                c.outcome,
                json.dumps(c.warc.__dict__ if c.warc else None),
                json.dumps(c.images),
                c.revisit,
                c.time if c.outcome != "gone" else None,
            )
            for c in iter_captures(root / "captures")
        )

    assert essence(root) == essence(crawled[0])
    assert_same_rows(rows_by_id(crawled[0]), rows_by_id(root))
    # The checkpoint sits at the end of the new log: a later crawl's recovery replays nothing.
    checkpoint = read_checkpoint(root / "state" / CHECKPOINT_NAME)
    assert checkpoint is not None
    assert list(iter_captures(root / "captures", after=checkpoint)) == []


def test_damaged_index_shards_are_restored(crawled: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root = copy_of(crawled, tmp_path)
    shards = sorted((root / "index").glob("*.jsonl"))
    shards[0].unlink()
    shards[-1].write_bytes(b"\x00garbage{not json\n")
    (root / "state" / "index-ids.bin").unlink()
    assert not verify_archive(root).ok

    reindex_archive(root)
    assert_same_rows(rows_by_id(crawled[0]), rows_by_id(root))
    assert verify_archive(root).ok
    assert not list(root.glob("*.reindex-*")), "temporary directories are cleaned up"


def test_missing_cdxj_is_written_and_non_articles_skipped(
    crawled: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    root = copy_of(crawled, tmp_path)
    for cdxj in (root / "indexes").glob("*.cdxj"):
        cdxj.unlink()
    origin = "http://127.0.0.1:9"
    with WarcWriter(root) as writer:  # an article URL that answered with a page that is no article
        writer.write_exchange(
            HttpExchange(
                url=f"{origin}/ru/articles/999999/",
                method="GET",
                request_headers=[("Host", "127.0.0.1:9")],
                request_body=b"",
                protocol="HTTP/1.1",
                status=200,
                reason="OK",
                response_headers=[("Content-Type", "text/html; charset=utf-8")],
                body=b"<html><head><title>Hubs</title></head><body><p>a list of hubs</p></body></html>",
                fetched_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
            )
        )
    report = reindex_archive(root)
    assert report.skipped_not_article == 1
    assert 999999 not in rows_by_id(root)
    warcs = sorted((root / "warc").glob("*.warc.gz"))
    assert len(report.cdxj_written) == len(warcs)
    assert all((root / "indexes" / (w.name.removesuffix(".warc.gz") + ".cdxj")).exists() for w in warcs)


def test_reindex_takes_the_writer_lock(crawled: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    root = copy_of(crawled, tmp_path)
    before = (root / "index").stat().st_mtime_ns
    with ArchiveDir(root).writer_lock(holder="a test crawl"), pytest.raises(LockHeld, match="a test crawl"):
        reindex_archive(root)
    assert (root / "index").stat().st_mtime_ns == before


# --- jobs: any number of processes, the same files -----------------------------------------------------------


def reindexed_files(root: Path) -> dict[str, bytes]:
    """Every file a reindex writes, as bytes: shards, id bitmap, checkpoint, search index, and the capture log
    with its run name blanked (``reindex-`` and the second the run started)."""
    paths = sorted((root / "index").glob("*.jsonl")) + sorted((root / "captures").glob("*.jsonl"))
    paths += [
        root / "state" / "index-ids.bin",
        root / "state" / CHECKPOINT_NAME,
        root / "search" / "search.sqlite",
    ]
    files = {path.relative_to(root).as_posix(): path.read_bytes() for path in paths}
    for name in files:
        if name.startswith("captures/"):
            files[name] = re.sub(rb'"run":"reindex-\d{8}T\d{6}Z"', b'"run":"reindex"', files[name])
    return files


def test_jobs_rebuild_the_same_bytes_as_one_process(
    crawled: tuple[Path, dict[str, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reindex_module, "CHUNK", 1)  # a task per capture: the workers' results interleave
    roots = {}
    for jobs in (1, 3):
        roots[jobs] = root = tmp_path / f"jobs-{jobs}"
        shutil.copytree(crawled[0], root)
        shutil.rmtree(root / "captures")  # rebuilt too, so its lines are compared as well
        report = reindex_archive(root, jobs=jobs)
        assert report.jobs == jobs and report.captures_rebuilt
        assert report.revisits == 1 and report.gone == 1 and report.search_rows == report.rows
    by_cli = tmp_path / "cli"
    shutil.copytree(crawled[0], by_cli)
    shutil.rmtree(by_cli / "captures")
    done = run_cli("reindex", str(by_cli), "--jobs", "2")  # the workers spawned from `python -m habrmirror`
    assert done.returncode == 0, done.stderr[-2000:]
    assert "in 2 worker processes" in done.stdout

    expected = reindexed_files(roots[1])
    assert len([name for name in expected if name.startswith("index/")]) > 1  # rows in several shards
    assert reindexed_files(roots[3]) == expected
    assert reindexed_files(by_cli) == expected
    assert_same_rows(rows_by_id(crawled[0]), rows_by_id(roots[3]))
    assert verify_archive(by_cli).ok
