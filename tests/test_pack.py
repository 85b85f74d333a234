"""``pack_archive``: a real demo archive (the replica's 11 sample posts) packed as WACZ, then checked member by
member and by py-wacz's own validator."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from habrmirror.store.index import iter_rows
from habrmirror.tools.pack import PAGES_HEADER, PackError, PackReport, iter_member_lines, pack_archive
from tests.conftest import FAST, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "archive"
    done = run_cli("demo", "--out", str(root), *FAST)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture(scope="module")
def packed(demo_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> PackReport:
    return pack_archive(demo_archive, tmp_path_factory.mktemp("wacz") / "habr.wacz")


@pytest.fixture(scope="module")
def rows(demo_archive: Path) -> list[dict[str, Any]]:
    return list(iter_rows(demo_archive / "index"))


def run_validator(path: Path) -> subprocess.CompletedProcess[str]:
    # `python -m wacz` drops main()'s return value (exit 0 even on failure); call it the way the
    # `wacz` console script does, so a failed validation is a non-zero exit.
    code = "import sys; from wacz.main import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, "validate", "-f", str(path)], capture_output=True, text=True, timeout=120
    )


def test_wacz_validate_passes(packed: PackReport) -> None:
    done = run_validator(packed.path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation succeeded" in done.stdout
    assert "Version detected as 1.1.1" in done.stdout


def test_report(packed: PackReport, demo_archive: Path, rows: list[dict[str, Any]]) -> None:
    assert packed.warc_files == sorted(p.name for p in (demo_archive / "warc").glob("*.warc.gz"))
    assert packed.pages == len(rows) == 11
    assert packed.rows_without_capture == 0
    assert packed.reindexed == []
    assert packed.bytes == packed.path.stat().st_size
    assert not [p for p in packed.path.parent.iterdir() if p != packed.path]  # no temp files left behind


def test_warcs_stored_byte_identical(packed: PackReport, demo_archive: Path) -> None:
    with zipfile.ZipFile(packed.path) as wacz:
        for warc in sorted((demo_archive / "warc").glob("*.warc.gz")):
            info = wacz.getinfo(f"archive/{warc.name}")
            assert info.compress_type == zipfile.ZIP_STORED
            assert wacz.read(info) == warc.read_bytes()


def test_pages_one_per_index_row(packed: PackReport, rows: list[dict[str, Any]]) -> None:
    lines = [json.loads(line) for line in iter_member_lines(packed.path, "pages/pages.jsonl")]
    header, entries = lines[0], lines[1:]
    assert {k: header[k] for k in PAGES_HEADER} == {
        "format": "json-pages-1.0",
        "id": "pages",
        "title": "All Pages",
    }
    by_id = {entry["id"]: entry for entry in entries}
    assert len(by_id) == len(entries) == len(rows)
    for row in rows:
        entry = by_id[str(row["id"])]
        assert entry["url"] == row["fetched_url"]
        assert entry["title"] == (row["title"] or row["fetched_url"])  # a post may have no title
        assert entry["text"] == row["text"] and row["text"]
        ts = entry["ts"]
        assert ts.endswith("Z") and ts[:19] == row["captured_at"][:19]


def test_cdxj_indexes_every_article(packed: PackReport, rows: list[dict[str, Any]]) -> None:
    lines = list(iter_member_lines(packed.path, "indexes/index.cdxj"))
    assert lines == sorted(lines) and len(lines) == packed.cdxj_lines
    entries = [json.loads(line.split(" ", 2)[2]) for line in lines]
    assert {e["filename"] for e in entries} == set(packed.warc_files)
    with zipfile.ZipFile(packed.path) as wacz:
        for row in rows:
            [entry] = [e for e in entries if e["url"] == row["fetched_url"]]
            # The offset/length point at the article's record inside the packed WARC.
            warc = wacz.read(f"archive/{entry['filename']}")
            chunk = warc[int(entry["offset"]) : int(entry["offset"]) + int(entry["length"])]
            record = next(iter(ArchiveIterator(BytesIO(chunk))))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == row["fetched_url"]


def test_datapackage_hashes_match_members(packed: PackReport) -> None:
    with zipfile.ZipFile(packed.path) as wacz:
        package_bytes = wacz.read("datapackage.json")
        package = json.loads(package_bytes)
        digest = json.loads(wacz.read("datapackage-digest.json"))
        names = set(wacz.namelist()) - {"datapackage.json", "datapackage-digest.json"}
        assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
        assert package["created"].endswith("Z") and package["software"].startswith("habrmirror/")
        assert {r["path"] for r in package["resources"]} == names
        for resource in package["resources"]:
            data = wacz.read(resource["path"])
            assert resource["bytes"] == len(data)
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert digest == {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
    }


def test_missing_cdxj_is_rebuilt(demo_archive: Path, packed: PackReport, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(demo_archive, copy)
    for cdxj in (copy / "indexes").glob("*.cdxj"):
        cdxj.unlink()
    report = pack_archive(copy, tmp_path / "rebuilt.wacz")
    assert report.reindexed == packed.warc_files
    rebuilt = list(iter_member_lines(report.path, "indexes/index.cdxj"))
    assert rebuilt == list(iter_member_lines(packed.path, "indexes/index.cdxj"))


def test_rows_in_unfinished_warcs_are_left_out(demo_archive: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(demo_archive, copy)
    [warc] = list((copy / "warc").glob("*.warc.gz"))
    # A second, finished WARC keeps the package valid; the rows' own WARC becomes "still being written".
    shutil.copy(warc, copy / "warc" / "other.warc.gz")
    warc.rename(warc.with_name(warc.name + ".open"))
    report = pack_archive(copy, tmp_path / "partial.wacz")
    assert report.warc_files == ["other.warc.gz"]
    assert report.pages == 0 and report.rows_without_capture == 11
    assert run_validator(report.path).returncode == 0


def test_no_warc_files_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty" / "warc").mkdir(parents=True)
    with pytest.raises(PackError, match="no finished WARC files"):
        pack_archive(tmp_path / "empty", tmp_path / "out.wacz")
    assert not (tmp_path / "out.wacz").exists()
