"""A researcher's first step: the index loads as is in DuckDB and pandas, in pyarrow and Hugging Face
``datasets`` with the schema the package ships, with the schema's types; and a row leads to the exact bytes in
the WARC."""

import glob
import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from habrmirror.replica import ReplicaProcess
from tests.conftest import FAST, run_cli


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
    assert {row[5] for row in rows} == {1}
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
