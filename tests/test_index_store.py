"""The sharded JSON index, the capture log and the archive lock, without a crawl."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from habrmirror.store.captures import Capture, CaptureLog, history, iter_captures, read_checkpoint
from habrmirror.store.index import IndexStore, iter_rows, shard_name
from habrmirror.store.layout import ArchiveDir, LockHeld


def row(article_id: int, title: str) -> dict:
    return {"id": article_id, "title": title, "gone_at": None}


def test_shard_names() -> None:
    assert shard_name(454184) == "00454.jsonl"
    assert shard_name(999) == "00000.jsonl"
    assert shard_name(1000) == "00001.jsonl"


def test_rows_are_buffered_then_written_one_per_id(tmp_path: Path) -> None:
    store = IndexStore(tmp_path, flush_rows=3)
    store.put(row(454184, "a"))
    store.put(row(454001, "b"))
    assert not (tmp_path / "00454.jsonl").exists()  # buffered
    store.put(row(454184, "a2"))  # replaces, does not duplicate
    assert store.needs_flush
    written = store.flush()
    assert [p.name for p in written] == ["00454.jsonl"]
    lines = (tmp_path / "00454.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [454001, 454184]  # sorted by id
    assert json.loads(lines[1])["title"] == "a2"
    assert not list(tmp_path.glob("*.tmp"))  # no temp file left behind


def test_a_new_store_sees_flushed_rows_and_marks_gone(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    store.put(row(7, "seven"))
    store.flush()
    again = IndexStore(tmp_path)
    assert again.get(7)["title"] == "seven"
    assert again.mark_gone(7, "2026-11-25T00:00:00+00:00")
    assert not again.mark_gone(8, "2026-11-25T00:00:00+00:00")  # no row: nothing invented
    again.flush()
    rows = list(iter_rows(tmp_path))
    assert rows == [{"id": 7, "title": "seven", "gone_at": "2026-11-25T00:00:00+00:00"}]


def test_only_changed_shards_are_rewritten(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    store.put(row(1, "x"))
    store.put(row(5001, "y"))
    store.flush()
    before = (tmp_path / "00005.jsonl").stat().st_mtime_ns
    store.put(row(2, "z"))
    assert [p.name for p in store.flush()] == ["00000.jsonl"]
    assert (tmp_path / "00005.jsonl").stat().st_mtime_ns == before


def capture(article_id: int, time: str, outcome: str = "archived") -> Capture:
    return Capture(id=article_id, url=f"http://x/{article_id}", time=time, status=200, outcome=outcome)


def test_capture_log_appends_repairs_torn_tail_and_checkpoints(tmp_path: Path) -> None:
    log = CaptureLog(tmp_path)
    log.append(capture(1, "2026-11-01T00:00:00+00:00"))
    log.write_checkpoint(tmp_path / "cp.json")
    log.append(capture(2, "2026-11-02T00:00:00+00:00"))
    log.close()
    with (tmp_path / "2026-11.jsonl").open("ab") as handle:
        handle.write(b'{"id": 3, "url": "torn')  # a writer killed mid-line
    assert [c.id for c in iter_captures(tmp_path)] == [1, 2]  # torn line skipped
    log = CaptureLog(tmp_path)
    log.append(capture(4, "2026-11-03T00:00:00+00:00"))  # repairs the tail first
    log.append(capture(1, "2026-12-01T00:00:00+00:00", "gone"))  # next month, next file
    log.close()
    assert [c.id for c in iter_captures(tmp_path)] == [1, 2, 4, 1]
    after = read_checkpoint(tmp_path / "cp.json")
    assert [c.id for c in iter_captures(tmp_path, after=after)] == [2, 4, 1]
    assert [c.outcome for c in history(tmp_path, 1)] == ["archived", "gone"]


def test_writer_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    archive = ArchiveDir(tmp_path)
    with archive.writer_lock(holder="test"):
        code = (
            "import sys; from pathlib import Path; from habrmirror.store.layout import ArchiveDir, LockHeld\n"
            f"try:\n    ArchiveDir(Path({str(tmp_path)!r})).writer_lock(wait=0.3).__enter__()\n"
            "except LockHeld as e:\n    print(e); sys.exit(7)\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 7, result.stderr
        assert "locked by pid" in result.stdout and "test" in result.stdout
    with archive.writer_lock():  # released: free again
        pass


def test_lock_in_same_process_also_conflicts(tmp_path: Path) -> None:
    archive = ArchiveDir(tmp_path)
    with archive.writer_lock(), pytest.raises(LockHeld), archive.writer_lock(wait=0):
        pass


def test_archived_ids_bitmap_is_saved_and_rebuilt(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    store = IndexStore(index_dir)
    for article_id in (1, 454184, 957816):
        store.put(row(article_id, "t"))
    assert 454184 in store.ids and 454185 not in store.ids
    store.flush()
    assert len(IndexStore(index_dir).ids) == 3
    (tmp_path / "state" / "index-ids.bin").unlink()  # lost: rebuilt from the shards
    rebuilt = IndexStore(index_dir).ids
    assert {i for i in (1, 2, 454184, 957816, 957817) if i in rebuilt} == {1, 454184, 957816}


def test_index_and_capture_lines_are_the_json_module_output() -> None:
    """orjson writes them for speed; the bytes must be what ``json.dumps`` (compact, UTF-8 kept) would give."""
    from dataclasses import asdict
    from datetime import datetime, timezone

    from habrmirror.items import WarcPointer, article_record
    from habrmirror.pages import parse_article
    from habrmirror.store.captures import capture_line
    from habrmirror.store.index import dumps_row
    from tests.conftest import FIXTURES

    def reference(value: dict) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    rows = [
        article_record(
            parse_article(
                "https://habr.com/ru/articles/1/",
                path.read_bytes(),
                datetime(2026, 1, 1, tzinfo=timezone.utc),
            )
        )
        for path in sorted(FIXTURES.glob("article-*.html"))
    ]
    rows.append(
        {"id": 1, "title": 'a\u2028b\x00\x1f\x7f"\\\n\t/é😀', "tags": [], "statistics": None, "ok": True}
    )
    assert len(rows) >= 11  # ten article fixtures and the edge-case row
    for value in rows:
        assert dumps_row(value) == reference(value)
    capture = Capture(
        5,
        "https://habr.com/ru/articles/5/",
        "2026-01-01T00:00:00Z",
        200,
        "archived",
        warc=WarcPointer("a.warc.gz", 10, 20, "<urn:uuid:1>"),
        images=[{"url": "u", "archived": True, "error": None}],
    )
    assert capture_line(capture) == reference(asdict(capture)) + b"\n"


def test_flush_merges_changes_into_the_shard_in_id_order(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    for article_id in (1003, 1001, 1005):
        store.put(row(article_id, f"old {article_id}"))
    store.flush()
    again = IndexStore(tmp_path)  # a later run: nothing of the shard held in memory
    for article_id, title in ((1002, "new"), (1003, "replaced"), (1007, "new"), (1000, "new")):
        again.put(row(article_id, title))
    assert again.get(1003)["title"] == "replaced" and again.get(1005)["title"] == "old 1005"
    again.flush()
    lines = (tmp_path / "00001.jsonl").read_text(encoding="utf-8").splitlines()
    assert [(r["id"], r["title"]) for r in map(json.loads, lines)] == [
        (1000, "new"), (1001, "old 1001"), (1002, "new"), (1003, "replaced"), (1005, "old 1005"), (1007, "new"),
    ]  # fmt: skip
    assert IndexStore(tmp_path).get(1007)["title"] == "new" and IndexStore(tmp_path).get(1004) is None
