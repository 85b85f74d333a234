"""``export_archive``: Parquet with the schema's types, a Hugging Face folder that ``datasets.load_dataset(PATH)``
loads with no script and no arguments, the IlyaGusev/habr profile loaded with that dataset's own features and
read by code written for it, filters, gone posts kept, and ``jobs=N`` writing the very bytes ``jobs=1`` writes.

One archive per module, crawled from the replica: a listing crawl, then one post deleted and fetched again (a
404, so its row gets ``gone_at``). Rows in the coming comment shape are tested on a small index written directly.
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import habrmirror
from habrmirror.replica import ReplicaProcess
from habrmirror.schema import arrow_schema
from habrmirror.store.index import IndexStore, iter_rows
from habrmirror.tools import export as export_module
from habrmirror.tools.export import GUSEV_COLUMNS, ExportError, export_archive, gusev_schema
from tests.conftest import FAST, run_cli

pytestmark = pytest.mark.slow


def build_export_archive(out: Path) -> Path:
    """A replica crawl of 12 synthetic posts plus the real ones, then one post deleted and fetched again (so a
    row carries gone_at): what the export tests read."""
    with ReplicaProcess(synthetic=12) as replica:
        done = run_cli("crawl", "--out", str(out), "--origin", replica.origin, *FAST)
        assert done.returncode == 0, done.stderr[-2000:]
        deleted = sorted(row["id"] for row in iter_rows(out / "index"))[-2]
        replica.control("delete", id=deleted)
        done = run_cli("archive", str(deleted), "--origin", replica.origin, "--out", str(out), *FAST)
        assert done.returncode == 1, done.stderr[-2000:]  # gone: nothing archived, the row marked
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_export_archive(tmp_path_factory.mktemp("export") / "archive")


@pytest.fixture(scope="module")
def rows(archive: Path) -> list[dict[str, Any]]:
    found = list(iter_rows(archive / "index"))
    assert len(found) > 12 and any(row["gone_at"] for row in found)
    return found


def datasets_offline() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    return datasets


def gusev_features() -> Any:
    """The IlyaGusev/habr features, as its dataset card declares them (datasets 5: ``List``)."""
    datasets_offline()
    from datasets import Features, List, Value

    string = Value("string")
    return Features(
        {
            "id": Value("uint32"),
            "language": string,
            "url": string,
            "title": string,
            "text_markdown": string,
            "text_html": string,
            "author": string,
            "original_author": string,
            "original_url": string,
            "lead_html": string,
            "lead_markdown": string,
            "type": string,
            "time_published": Value("uint64"),
            "statistics": {
                "commentsCount": Value("uint32"),
                "favoritesCount": Value("uint32"),
                "readingCount": Value("uint32"),
                "score": Value("int32"),
                "votesCount": Value("int32"),
                "votesCountPlus": Value("int32"),
                "votesCountMinus": Value("int32"),
            },
            "labels": List(string),
            "hubs": List(string),
            "flows": List(string),
            "tags": List(string),
            "reading_time": Value("uint32"),
            "format": string,
            "complexity": string,
            "comments": List(
                {
                    "id": Value("uint64"),
                    "parent_id": Value("uint64"),
                    "level": Value("uint32"),
                    "time_published": Value("uint64"),
                    "score": Value("int32"),
                    "votes": Value("uint32"),
                    "message_html": string,
                    "message_markdown": string,
                    "author": string,
                    "children": List(Value("uint64")),
                }
            ),
        }
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


# --- Parquet ----------------------------------------------------------------------------------------------


def test_parquet_has_every_row_with_the_schema_types(
    archive: Path, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    report = export_archive(archive, format="parquet", out=tmp_path / "habr.parquet")
    assert report.rows == len(rows) and report.gone == sum(1 for row in rows if row["gone_at"])
    assert (
        report.files == [tmp_path / "habr.parquet"]
        and report.bytes == (tmp_path / "habr.parquet").stat().st_size
    )
    table = pq.read_table(tmp_path / "habr.parquet")
    assert table.schema.remove_metadata() == arrow_schema()
    assert table.column("id").to_pylist() == [row["id"] for row in rows]
    assert table.to_pylist() == habrmirror.load_index(archive).to_arrow().to_pylist()
    gone = [record for record in table.to_pylist() if record["gone_at"]]
    assert gone and all(record["title"] for record in gone)  # a gone post keeps its row, marked
    assert [p.name for p in tmp_path.iterdir()] == ["habr.parquet"]  # no temp files left behind


def test_parquet_is_written_in_row_groups(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "ROW_GROUP_ROWS", 4)
    export_archive(archive, out=tmp_path / "habr.parquet")
    meta = pq.ParquetFile(tmp_path / "habr.parquet").metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert meta.num_row_groups > 2 and max(sizes) < 4 + 1000 and sum(sizes) == meta.num_rows


def test_fields_since_and_hub_select(archive: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    published = sorted(row["time_published"] for row in rows if row["time_published"])
    middle = published[len(published) // 2]
    report = export_archive(
        archive, out=tmp_path / "a.parquet", fields=["title", "id", "gone_at"], since=middle
    )
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.column_names == ["title", "id", "gone_at"]
    expected = [row["id"] for row in rows if (row["time_published"] or 0) >= middle]
    assert table.column("id").to_pylist() == expected and report.rows == len(expected)
    hub = rows[0]["hubs"][0]
    export_archive(archive, out=tmp_path / "b.parquet", fields=["id"], hub=hub.upper())
    in_hub = [row["id"] for row in rows if hub in row["hubs"]]
    assert pq.read_table(tmp_path / "b.parquet").column("id").to_pylist() == in_hub
    title = rows[0]["hub_titles"][0]
    export_archive(archive, out=tmp_path / "c.parquet", fields=["id"], hub=title, since="1990-01-01")
    assert rows[0]["id"] in pq.read_table(tmp_path / "c.parquet").column("id").to_pylist()


def test_bad_options_are_one_clear_error(archive: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown field"):
        export_archive(archive, out=tmp_path / "a.parquet", fields=["id", "nope"])
    with pytest.raises(ExportError, match="format must be"):
        export_archive(archive, format="xlsx", out=tmp_path / "a.xlsx")
    with pytest.raises(ExportError, match="is a directory"):
        export_archive(archive, out=tmp_path)
    with pytest.raises(ExportError, match="since must be"):
        export_archive(archive, out=tmp_path / "a.parquet", since="last tuesday")
    with pytest.raises(ExportError, match="gusev has"):
        export_archive(archive, out=tmp_path / "a.parquet", profile="gusev", fields=["gone_at"])
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an earlier habrmirror export"):
        export_archive(archive, format="hf", out=tmp_path / "taken")
    with pytest.raises(ExportError, match="no index"):
        export_archive(tmp_path / "nowhere", out=tmp_path / "a.parquet")


# --- Hugging Face folder --------------------------------------------------------------------------------


def test_hf_folder_loads_with_no_script_and_no_arguments(
    archive: Path, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    datasets = datasets_offline()
    out = tmp_path / "habr-hf"
    report = export_archive(archive, format="hf", out=out)
    assert [p.name for p in report.files] == ["train-00000-of-00001.parquet"]
    data = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert data.features == datasets.Features.from_arrow_schema(arrow_schema())
    assert data.num_rows == len(rows) and data["id"] == [row["id"] for row in rows]
    assert sum(1 for gone in data["gone_at"] if gone) == report.gone > 0
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and 'path: "data/train-*.parquet"' in card
    assert "belong to their authors" in card and "[habr.com](https://habr.com)" in card
    for name in arrow_schema().names:  # the field table names every column
        assert f"| `{name}` |" in card
    again = export_archive(archive, format="hf", out=out)  # an earlier export is replaced
    assert again.rows == report.rows and sorted(p.name for p in out.iterdir()) == ["README.md", "data"]


def test_gusev_profile_loads_with_its_features_and_runs_code_written_for_it(
    archive: Path, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    datasets = datasets_offline()
    out = tmp_path / "gusev"
    report = export_archive(archive, format="hf", out=out, profile="gusev")
    features = gusev_features()
    assert pq.read_schema(report.files[0]).remove_metadata() == gusev_schema() == features.arrow_schema
    plain = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "c1"))
    assert plain.features == features  # no arguments: the card and the files say these types
    data = datasets.load_dataset(
        "parquet", data_files=str(out / "data" / "*.parquet"), features=features, split="train",
        cache_dir=str(tmp_path / "c2"),
    )  # fmt: skip
    assert list(data.features) == list(GUSEV_COLUMNS) and data.num_rows == len(rows)  # gone posts included
    assert "gone_at" not in data.features

    # consumer code as written against IlyaGusev/habr
    by_id = {row["id"]: row for row in rows}
    total_comments = 0
    for row in data:
        total_comments += len(row["comments"])
        for comment in row["comments"]:
            for child in comment["children"]:
                assert isinstance(child, int)
        score = row["statistics"]["score"]
        assert score is None or isinstance(score, int)
        assert isinstance(row["hubs"], list) and isinstance(row["time_published"], int)
        source = by_id[row["id"]]
        login, name = source["author"], source["author_name"]
        assert row["author"] == (f"{name} ({login})" if name and login else name or login)
    assert total_comments == sum(len(row.get("comments") or []) for row in rows)
    frame = data.to_pandas()
    assert frame["statistics"].map(lambda s: s["votesCount"]).notna().any()
    assert "no `gone_at` column" in (out / "README.md").read_text(encoding="utf-8")


# --- jobs -----------------------------------------------------------------------------------------------


def test_jobs_write_the_same_bytes_as_one(archive: Path, tmp_path: Path) -> None:
    small = 1  # one shard per part: several parts, so the workers really split the shards
    one = export_archive(archive, out=tmp_path / "one.parquet", part_bytes=small)
    three = export_archive(archive, out=tmp_path / "three.parquet", part_bytes=small, jobs=3)
    assert one.parts == three.parts > 3
    assert digest(tmp_path / "one.parquet") == digest(tmp_path / "three.parquet")
    export_archive(archive, format="hf", out=tmp_path / "hf1", part_bytes=small, profile="gusev")
    report = export_archive(
        archive, format="hf", out=tmp_path / "hf3", part_bytes=small, profile="gusev", jobs=3
    )
    assert len(report.files) == report.parts > 3
    assert tree_digests(tmp_path / "hf1") == tree_digests(tmp_path / "hf3")


# --- rows in the coming comment shape ---------------------------------------------------------------------


def comment(ident: int, parent: int, level: int, children: list[int], **extra: Any) -> dict[str, Any]:
    base = {
        "id": ident, "parent_id": parent, "level": level, "time_published": 1_600_000_000 + ident,
        "time_changed": None, "score": 2, "votes": 4, "message_html": f"<p>{ident}</p>",
        "message_markdown": str(ident), "author": "bob", "author_name": "Bob B", "author_id": 7,
        "children": children, "deleted": False, "banned": False,
    }  # fmt: skip
    return {**base, **extra}


def comment_archive(rows: list[dict[str, Any]], root: Path) -> dict[str, Any]:
    """An index (no WARCs) of three rows: comments null (today), a thread of three, and [] ."""
    template = next(row for row in rows if not row["gone_at"])
    store = IndexStore(root / "index", ids_path=root / "state" / "ids.bin")
    today = dict(copy.deepcopy(template), id=5, comments=None, statistics=None)
    threaded = dict(copy.deepcopy(template), id=6, comments_status="api")
    threaded["comments"] = [
        comment(10, 0, 0, [11]),
        comment(11, 10, 1, [], author_name=None, score=-3, banned=True, message_html=""),
        comment(12, 0, 0, [], author=None, author_name=None),
    ]
    for row in (today, threaded, dict(copy.deepcopy(template), id=2001, comments=[])):
        store.put(row)
    store.flush()
    return threaded


def test_plain_readers_read_rows_with_comments(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    import duckdb
    import pandas as pd

    threaded = comment_archive(rows, tmp_path / "a")
    pattern = str(tmp_path / "a" / "index" / "*.jsonl")
    counts = duckdb.sql(f"select id, len(comments) from read_json_auto('{pattern}') order by id").fetchall()
    assert counts == [(5, None), (6, 3), (2001, 0)]
    frame = pd.concat(pd.read_json(p, lines=True) for p in sorted((tmp_path / "a" / "index").glob("*.jsonl")))
    assert frame.set_index("id").loc[6, "comments"] == threaded["comments"]
    datasets = datasets_offline()
    data = datasets.load_dataset(
        "json", data_files=pattern, features=datasets.Features.from_arrow_schema(arrow_schema()),
        split="train", cache_dir=str(tmp_path / "c"),
    )  # fmt: skip
    assert data[1]["comments"] == threaded["comments"] and data[0]["comments"] is None
    assert (
        habrmirror.load_index(tmp_path / "a").to_arrow().column("comments").to_pylist()[1]
        == threaded["comments"]
    )


def test_comment_rows_export_both_ways(rows: list[dict[str, Any]], tmp_path: Path) -> None:
    """Rows with comments (the shape items.py is getting) and today's rows (comments null) side by side."""
    threaded = comment_archive(rows, tmp_path / "a")
    full = export_archive(tmp_path / "a", out=tmp_path / "full.parquet")
    records = {r["id"]: r for r in pq.read_table(tmp_path / "full.parquet").to_pylist()}
    assert records[6]["comments"] == threaded["comments"] and records[5]["comments"] is None
    assert full.rows == 3

    datasets = datasets_offline()
    export_archive(tmp_path / "a", format="hf", out=tmp_path / "g", profile="gusev")
    data = datasets.load_dataset(str(tmp_path / "g"), split="train", cache_dir=str(tmp_path / "c"))
    assert data.features == gusev_features()
    got = {row["id"]: row for row in data}
    assert got[5]["comments"] == [] and got[2001]["comments"] == []  # null comments read as none
    assert set(got[5]["statistics"]) == set(gusev_features()["statistics"])  # statistics always an object
    first, reply, anonymous = got[6]["comments"]
    assert first == {
        "id": 10, "parent_id": None, "level": 0, "time_published": 1_600_000_010, "score": 2, "votes": 4,
        "message_html": "<p>10</p>", "message_markdown": "10", "author": "Bob B (bob)", "children": [11],
    }  # fmt: skip
    assert (reply["parent_id"], reply["author"], reply["score"]) == (10, "bob", -3)
    assert anonymous["author"] is None
    assert [c["id"] for c in got[6]["comments"] if c["parent_id"] is None] == [10, 12]


def test_an_empty_selection(archive: Path, tmp_path: Path) -> None:
    """Parquet: a file with the columns and no rows; hf: an error, since ``datasets`` cannot load a split
    without rows (and nothing is left behind)."""
    report = export_archive(archive, out=tmp_path / "none.parquet", since="2100-01-01", part_bytes=1)
    table = pq.read_table(tmp_path / "none.parquet")
    assert report.rows == table.num_rows == 0 and table.schema.remove_metadata() == arrow_schema()
    with pytest.raises(ExportError, match="no post to export"):
        export_archive(archive, format="hf", out=tmp_path / "none", since="2100-01-01")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["none.parquet"]
