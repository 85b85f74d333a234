"""A researcher's first step: the index loads as is in DuckDB and pandas, in pyarrow and Hugging Face
``datasets`` with the schema the package ships, with the schema's types; ``habrmirror.load_index`` streams it
and reads it typed; and a row leads to the exact bytes in the WARC (``habrmirror.open_record``).

Also what ``datasets`` does with the shards when given no schema, and why (the check a fix must pass is
marked): one archive, crawled from the replica, for the whole module."""

import glob
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from warcio.archiveiterator import ArchiveIterator

import habrmirror
from habrmirror.archive.reader import decode_content
from habrmirror.replica import ReplicaProcess
from habrmirror.schema import arrow_schema, index_dataset_card
from habrmirror.tools.dataset import MissingExtra, require
from tests.conftest import FAST, ROOT, run_cli

IDS = [1000, 462783, 568382, 724768, 957816]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("research") / "a"
    with ReplicaProcess() as replica:
        ids = ["568382", "724768", "1000", "462783", "957816"]
        result = run_cli("archive", *ids, "--origin", replica.origin, "--out", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    yield out


def test_duckdb_reads_the_index_as_is(archive: Path) -> None:
    pattern = str(archive / "index" / "*.jsonl")
    rows = duckdb.sql(
        f"select id, title, time_published, len(images) as n_images, warc.filename as file, schema_version "
        f"from read_json_auto('{pattern}') order by id"
    ).fetchall()
    assert [row[0] for row in rows] == [1000, 462783, 568382, 724768, 957816]
    assert all(isinstance(row[2], int) for row in rows)  # Unix seconds, as in the IlyaGusev/habr dataset
    assert dict((row[0], row[3]) for row in rows)[724768] == 10
    assert {row[5] for row in rows} == {2}
    assert all(row[4].startswith("warc/") for row in rows)


def test_pandas_reads_every_shard_and_a_row_leads_to_its_bytes(archive: Path) -> None:
    frame = pd.concat(
        pd.read_json(path, lines=True) for path in sorted(glob.glob(str(archive / "index" / "*.jsonl")))
    )
    assert len(frame) == 5 and frame["id"].is_unique
    row = frame.set_index("id").loc[568382]
    pointer = row["warc"]
    with (archive / pointer["filename"]).open("rb") as handle:
        handle.seek(pointer["offset"])
        record = gzip.decompress(handle.read(pointer["length"]))
    assert f"WARC-Record-ID: {pointer['record_id']}".encode() in record
    assert f"WARC-Target-URI: {row['fetched_url']}".encode() in record
    assert json.loads(frame.to_json(orient="records", date_format="iso"))  # round-trips as plain JSON


def test_pyarrow_and_datasets_read_every_shard_with_the_shipped_schema(archive: Path, tmp_path: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets
    import pyarrow as pa
    import pyarrow.json as pj

    from habrmirror.schema import arrow_schema

    schema = arrow_schema()
    shards = sorted(glob.glob(str(archive / "index" / "*.jsonl")))
    options = pj.ParseOptions(explicit_schema=schema)
    table = pa.concat_tables(
        pj.read_json(path, parse_options=options) for path in shards
    )  # one schema: no promotion
    assert sorted(table.column("id").to_pylist()) == [1000, 462783, 568382, 724768, 957816]

    features = datasets.Features.from_arrow_schema(schema)
    data = datasets.load_dataset(
        "json", data_files=shards, features=features, split="train", cache_dir=str(tmp_path / "hf")
    )
    assert data.num_rows == 5
    row = next(r for r in data if r["id"] == 724768)
    assert row["title"] == "Эйлер, Чёрч и Мандельброт — этюд о красоте и математике"
    assert len(row["images"]) == 10 and all(image["archived"] for image in row["images"])
    assert set(row["statistics"]) == {
        "commentsCount", "favoritesCount", "readingCount", "score", "votesCount", "votesCountPlus", "votesCountMinus",
    }  # fmt: skip


def raw_rows(archive: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((archive / "index").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def offline_datasets() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets

    return datasets


# --- habrmirror.load_index / open_record ----------------------------------------------------------------


def test_load_index_streams_every_row_as_a_dict(archive: Path) -> None:
    index = habrmirror.load_index(archive)
    assert list(index) == raw_rows(archive)  # the rows as written, in id order
    assert [row["id"] for row in index] == IDS
    narrow = habrmirror.load_index(archive, fields=["id", "title"])
    assert next(iter(narrow)) == {"id": 1000, "title": raw_rows(archive)[0]["title"]}
    assert habrmirror.load_index(archive / "index").root == archive  # the index directory itself works too
    assert index.get(724768) == raw_rows(archive)[3] and index.get(724769) is None


def test_load_index_to_arrow_has_the_schema_types(archive: Path) -> None:
    table = habrmirror.load_index(archive).to_arrow()
    assert table.schema == arrow_schema()  # one schema for every shard: no null-typed columns
    assert table.column("id").to_pylist() == IDS
    rows = {row["id"]: row for row in raw_rows(archive)}
    for record in table.to_pylist():  # same values as the JSON (comments: null today, or a list)
        expected = rows[record["id"]]
        assert {k: record[k] for k in expected if k not in ("comments",)} == {
            k: v for k, v in expected.items() if k != "comments"
        }
        assert (record["comments"] or []) == (expected["comments"] or [])
    narrow = habrmirror.load_index(archive, fields=["title", "id"]).to_arrow()
    assert narrow.column_names == ["title", "id"] and narrow.num_rows == 5


def test_load_index_to_pandas_keeps_the_schema_types(archive: Path) -> None:
    frame = habrmirror.load_index(archive).to_pandas()
    assert list(frame.columns) == arrow_schema().names
    assert frame["id"].tolist() == IDS
    assert str(frame["time_published"].dtype) == "int64[pyarrow]"  # an integer column, also with gaps
    row = frame.set_index("id").loc[724768]
    assert len(row["images"]) == 10 and isinstance(row["images"][0], dict)
    assert isinstance(row["hubs"], list) and isinstance(row["statistics"], dict)
    plain = pd.concat(
        pd.read_json(p, lines=True) for p in sorted(glob.glob(str(archive / "index" / "*.jsonl")))
    )
    assert frame["title"].tolist() == plain["title"].tolist()
    classic = habrmirror.load_index(archive).to_pandas(dtype_backend="numpy")
    assert classic["id"].dtype == "int64" and classic["title"].tolist() == frame["title"].tolist()


def test_open_record_gives_the_archived_response(archive: Path) -> None:
    index = habrmirror.load_index(archive)
    for row in index:
        response = index.open_record(row)
        pointer = row["warc"]
        with (archive / pointer["filename"]).open("rb") as handle:
            handle.seek(pointer["offset"])
            record = next(iter(ArchiveIterator(handle)))
            assert (
                record.rec_headers.get_header("WARC-Record-ID") == response.record_id == pointer["record_id"]
            )
            stored = record.raw_stream.read()
            headers = record.http_headers
        assert response.url == row["fetched_url"] and response.status == 200 and response.reason == "OK"
        assert response.protocol == "HTTP/1.1"
        assert response.headers == list(headers.headers)  # every header line, in order, duplicates kept
        assert response.payload == stored
        assert response.body == decode_content(stored, headers.get_header("Content-Encoding"))
        assert response.header("content-type") == headers.get_header("Content-Type")
        if row["title"]:
            assert row["title"].split()[0] in response.text()


def test_open_record_takes_a_pandas_or_datasets_row(archive: Path, tmp_path: Path) -> None:
    frame = habrmirror.load_index(archive).to_pandas()
    first = habrmirror.open_record(frame.iloc[2], archive)
    assert first.url == frame.iloc[2]["fetched_url"]
    datasets = offline_datasets()
    data = datasets.Dataset.from_pandas(habrmirror.load_index(archive).to_pandas(dtype_backend="numpy"))
    assert habrmirror.open_record(data[2], archive).body == first.body
    no_pointer = dict(next(iter(habrmirror.load_index(archive))), warc=None)
    with pytest.raises(ValueError, match="has no WARC pointer"):
        habrmirror.open_record(no_pointer, archive)


def test_import_habrmirror_is_cheap_and_the_api_lazy() -> None:
    code = (
        "import sys, habrmirror\n"
        "assert not [m for m in ('pyarrow', 'pandas', 'scrapy', 'habrmirror.tools') if m in sys.modules]\n"
        "assert callable(habrmirror.load_index) and callable(habrmirror.export_archive)\n"
        "assert 'load_index' in dir(habrmirror) and 'pyarrow' not in sys.modules\n"
        "print(habrmirror.__version__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError):
        habrmirror.no_such_thing  # noqa: B018


def test_a_missing_research_package_is_one_clear_line() -> None:
    with pytest.raises(MissingExtra) as caught:
        require("pyarrow_not_installed_here", "to_arrow()")
    assert str(caught.value) == (
        "to_arrow() needs pyarrow_not_installed_here, which is not installed: pip install 'habrmirror[research]'"
    )


# --- datasets with no schema: why it fails, and the check the fix must pass --------------------------------


def test_datasets_types_every_column_from_the_first_file(archive: Path, tmp_path: Path) -> None:
    """The cause, shown on a real archive: ``datasets``' json builder fixes the features from the first batch
    (<= 10 MB) of the first data file and casts every later file to them; pyarrow types a column that is null
    (or []) in every row of that batch as ``null``, and Arrow casts null to anything but nothing to null. JSON
    has no typed null, so no way of writing the rows (short of inventing values) avoids it."""
    import pyarrow.json as pj

    datasets = offline_datasets()
    shards = sorted(glob.glob(str(archive / "index" / "*.jsonl")))
    first = pj.read_json(shards[0]).schema
    later = [pj.read_json(path).schema for path in shards[1:]]
    clashing = {
        name
        for name in first.names
        if str(first.field(name).type).count("null") > 0
        and any(str(s.field(name).type) != str(first.field(name).type) for s in later if name in s.names)
    }
    assert clashing, "every column typed in the first shard: the failure below has another cause"
    with pytest.raises(datasets.exceptions.DatasetGenerationError) as caught:
        datasets.load_dataset("json", data_files=shards, split="train", cache_dir=str(tmp_path / "hf"))
    assert "to null" in str(caught.value.__cause__)  # "Couldn't cast array of type string to null"


def test_the_index_card_makes_the_archive_load_with_no_arguments(archive: Path, tmp_path: Path) -> None:
    """The proposed fix, shown on a copy: the dataset card ``habrmirror.schema.index_dataset_card()`` in the
    archive directory names ``index/*.jsonl`` and the features, and ``datasets.load_dataset(DIR)`` reads it."""
    datasets = offline_datasets()
    copy = tmp_path / "archive"
    shutil.copytree(archive, copy)
    (copy / "README.md").write_text(index_dataset_card(), encoding="utf-8")
    data = datasets.load_dataset(str(copy), split="train", cache_dir=str(tmp_path / "hf"))
    assert data.features == datasets.Features.from_arrow_schema(arrow_schema())
    assert sorted(data["id"]) == IDS


def test_datasets_loads_a_crawled_archive_with_no_arguments(archive: Path, tmp_path: Path) -> None:
    datasets = offline_datasets()
    data = datasets.load_dataset(str(archive), split="train", cache_dir=str(tmp_path / "hf"))
    assert data.features == datasets.Features.from_arrow_schema(arrow_schema())
    assert sorted(data["id"]) == IDS
