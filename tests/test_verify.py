"""``verify_archive`` on a good archive (no problems) and on copies with one kind of damage each: every damage
is reported with the file and byte offset where it is."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from habrmirror.archive.digests import DigestIndex
from habrmirror.archive.reader import RecordAt, iter_records
from habrmirror.archive.warc import HttpExchange, WarcWriter
from habrmirror.tools.verify import Problem, VerifyReport, verify_archive
from habrmirror.urls import is_article_url
from tests.test_reindex import build_archive


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "archive"
    build_archive(out, synthetic=8)
    return out


@pytest.fixture
def archive(good: Path, tmp_path: Path) -> Path:
    """A copy to damage."""
    target = tmp_path / "copy"
    shutil.copytree(good, target)
    return target


def first_warc(root: Path) -> Path:
    return sorted((root / "warc").glob("*.warc.gz"))[0]


def find_record(path: Path, wanted: Callable[[RecordAt], bool]) -> RecordAt:
    return next(at for at in iter_records(path) if wanted(at))


def is_article_response(at: RecordAt) -> bool:
    uri = at.record.rec_headers.get_header("WARC-Target-URI") or ""
    return at.rec_type == "response" and is_article_url(uri)


def problems(report: VerifyReport, kind: str) -> list[Problem]:
    return [problem for problem in report.problems if problem.kind == kind]


def exchange(url: str, body: bytes, second: int = 0) -> HttpExchange:
    return HttpExchange(
        url=url,
        method="GET",
        request_headers=[("Host", "127.0.0.1:9")],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=[("Content-Type", "image/png")],
        body=body,
        fetched_at=datetime(2030, 1, 1, 0, 0, second, tzinfo=timezone.utc),
    )


def edit_row(root: Path, change: Callable[[dict[str, Any]], None]) -> tuple[str, int]:
    """Apply ``change`` to the first row with images; returns (shard, byte offset of its line)."""
    for shard in sorted((root / "index").glob("*.jsonl")):
        lines = shard.read_bytes().splitlines(keepends=True)
        offset = 0
        for number, line in enumerate(lines):
            row = json.loads(line)
            if row["images"]:
                change(row)
                lines[number] = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
                shard.write_bytes(b"".join(lines))
                return f"index/{shard.name}", offset
            offset += len(line)
    raise AssertionError("no row with images")


def test_good_archive_is_ok(good: Path) -> None:
    report = verify_archive(good)
    assert report.ok, "\n".join(report.lines())
    assert report.problems == [] and report.warnings == []
    assert report.files >= 3 and report.records > 100 and report.revisits >= 1
    assert report.rows > 8 and report.images > 0
    assert report.lines()[-1].startswith("OK: ")


def test_truncated_warc(archive: Path) -> None:
    path = first_warc(archive)
    victim = find_record(path, is_article_response)
    with open(path, "r+b") as handle:
        handle.truncate(victim.offset + victim.length // 2)
    report = verify_archive(archive)
    assert not report.ok
    [cut] = problems(report, "truncated")
    assert (cut.file, cut.offset) == (f"warc/{path.name}", victim.offset)
    assert any(f"warc/{path.name}@{victim.offset}: truncated" in line for line in report.lines())


def test_flipped_byte_in_a_payload(archive: Path, good: Path) -> None:
    path = first_warc(archive)
    victim = find_record(path, is_article_response)
    data = bytearray(path.read_bytes())
    data[victim.offset + victim.length // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_archive(archive)
    found = [p for p in report.problems if p.kind in ("gzip", "payload-digest", "block-digest")]
    assert [(p.file, p.offset) for p in found] == [(f"warc/{path.name}", victim.offset)]
    # The scan reads on after the damaged member: only that one record is lost.
    assert report.records == verify_archive(good).records - 1
    # ... so its request is left without a response, and the index row pointing at it is flagged.
    assert problems(report, "pairing") and problems(report, "row-pointer")


def test_dangling_revisit(archive: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    url = "http://127.0.0.1:9/img/a.png"
    with DigestIndex(scratch) as digests, WarcWriter(scratch, max_size=1, digests=digests) as writer:
        writer.write_exchange(exchange(url, b"\x89PNG same bytes", 0))
        written = writer.write_exchange(exchange(url, b"\x89PNG same bytes", 1))
    assert written.revisit_of is not None and written.response.filename != written.revisit_of.filename
    # Only the file with the revisit joins the archive: its WARC-Refers-To names a record nobody has.
    revisit_file = scratch / written.response.filename
    shutil.copy(revisit_file, archive / "warc" / revisit_file.name)
    report = verify_archive(archive)
    [dangling] = problems(report, "revisit")
    assert (dangling.file, dangling.offset) == (written.response.filename, written.response.offset)
    assert written.revisit_of.record_id in dangling.message
    assert [w.kind for w in report.warnings] == ["cdxj-missing"]


def test_row_pointing_at_a_wrong_offset(archive: Path) -> None:
    shard, line_offset = edit_row(archive, lambda row: row["warc"].update(offset=row["warc"]["offset"] + 7))
    report = verify_archive(archive)
    [wrong] = problems(report, "row-pointer")
    assert (wrong.file, wrong.offset) == (shard, line_offset)
    assert report.problems == [wrong]


def test_image_marked_archived_but_not_in_the_warc(archive: Path) -> None:
    missing = "http://127.0.0.1:9/habrastorage.org/never/fetched.png"

    def change(row: dict[str, Any]) -> None:
        row["images"][0].update(url=missing, archived=True, error=None)

    shard, line_offset = edit_row(archive, change)
    report = verify_archive(archive)
    [image] = problems(report, "image-missing")
    assert (image.file, image.offset) == (shard, line_offset)
    assert missing in image.message
    assert report.problems == [image]


def test_response_without_its_request(archive: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    with WarcWriter(scratch) as writer:
        written = writer.write_exchange(exchange("http://127.0.0.1:9/img/b.png", b"\x89PNG b"))
    path = scratch / written.response.filename
    with open(path, "r+b") as handle:
        handle.truncate(written.request.offset)  # whole members only: the request record is simply gone
    shutil.copy(path, archive / "warc" / path.name)
    report = verify_archive(archive)
    [lonely] = report.problems
    assert (lonely.kind, lonely.file, lonely.offset) == (
        "pairing",
        written.response.filename,
        written.response.offset,
    )
    assert "no request" in lonely.message


def test_schema_shard_and_duplicate_rows(archive: Path) -> None:
    shard, line_offset = edit_row(archive, lambda row: row.update(title=123))
    report = verify_archive(archive)
    assert [(p.kind, p.file, p.offset) for p in report.problems] == [("row-schema", shard, line_offset)]

    line = next(line for line in (archive / shard).read_text().splitlines() if line)
    with open(archive / "index" / "99999.jsonl", "a") as handle:
        handle.write(line + "\n")
    kinds = {p.kind for p in verify_archive(archive).problems}
    assert {"row-duplicate", "row-shard"} <= kinds


def test_leftover_open_warc_and_missing_cdxj(archive: Path) -> None:
    path = first_warc(archive)
    for cdxj in (archive / "indexes").glob("*.cdxj"):
        cdxj.unlink()
    report = verify_archive(archive)
    assert report.ok and {w.kind for w in report.warnings} == {"cdxj-missing"}

    os.rename(path, path.with_name(path.name + ".open"))
    report = verify_archive(archive)
    assert ("open-warc", f"warc/{path.name}.open") in {(p.kind, p.file) for p in report.problems}


def test_a_row_of_an_older_schema_names_the_fix_and_reindex_upgrades_it(archive: Path) -> None:
    """schema_version 1 rows (before comments were typed) get one problem saying what rewrites them, not a
    list of field errors; reindex rewrites them at the current version and the manifest follows."""
    from habrmirror.items import SCHEMA_VERSION
    from habrmirror.tools.reindex import reindex_archive

    def downgrade(row: dict[str, Any]) -> None:
        row["schema_version"] = 1
        row.pop("comments_status")

    shard, line_offset = edit_row(archive, downgrade)
    manifest_path = archive / "archive.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "schema_version": 1}))
    [old] = problems(verify_archive(archive), "row-schema")
    assert (old.file, old.offset) == (shard, line_offset)
    assert "schema_version 1, older than 2: `habrmirror reindex`" in old.message
    reindex_archive(archive)
    assert verify_archive(archive).ok
    assert {json.loads(line)["schema_version"] for line in (archive / shard).read_text().splitlines()} == {
        SCHEMA_VERSION
    }
    assert json.loads(manifest_path.read_text())["schema_version"] == SCHEMA_VERSION
