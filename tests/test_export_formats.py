"""``export_archive`` as SQLite (child tables, FTS5, served by a real Datasette with facets), CSV (parsed back
with the csv module) and jsonl.zst (exactly the index lines).

One archive per module, crawled from the replica as in tests/test_export.py.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import zstandard

from habrmirror.store.index import iter_rows
from habrmirror.tools.export import CSV_SEPARATOR, ExportError, export_archive
from tests.conftest import run_cli
from tests.test_export import build_export_archive

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_export_archive(tmp_path_factory.mktemp("export-formats") / "archive")


@pytest.fixture(scope="module")
def rows(archive: Path) -> list[dict[str, Any]]:
    found = list(iter_rows(archive / "index"))
    assert len(found) > 12 and any(row["gone_at"] for row in found)
    return found


@pytest.fixture(scope="module")
def database(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("sqlite") / "habr.db"
    report = export_archive(archive, format="sqlite", out=target)
    assert report.files == [target] and report.format == "sqlite"
    return target


def test_sqlite_tables_hold_the_index(database: Path, rows: list[dict[str, Any]]) -> None:
    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from articles").fetchone()[0] == len(rows)
        assert sorted(r[0] for r in db.execute("select id from articles")) == sorted(r["id"] for r in rows)
        by_id = {r["id"]: r for r in rows}
        for article_id, title, year, hubs in db.execute("select id, title, year, hubs from articles"):
            assert title == by_id[article_id]["title"]
            assert json.loads(hubs) == by_id[article_id]["hubs"]
            published = by_id[article_id]["time_published"]
            assert year == time.gmtime(published).tm_year
        for table, field in (("hubs", "hubs"), ("tags", "tags"), ("images", "images"), ("links", "links")):
            expected = sum(len(r[field] or []) for r in rows)
            assert db.execute(f"select count(*) from {table}").fetchone()[0] == expected, table
        comments = sum(len(r["comments"] or []) for r in rows)
        assert db.execute("select count(*) from comments").fetchone()[0] == comments
        assert sum(len(r["images"] or []) for r in rows) > 0 and sum(len(r["tags"] or []) for r in rows) > 0
        for table in ("hubs", "tags", "images", "links", "comments"):
            keys = db.execute(f"pragma foreign_key_list({table})").fetchall()
            assert [(k[2], k[3], k[4]) for k in keys] == [("articles", "article_id", "id")], table
        assert db.execute("pragma foreign_key_check").fetchall() == []
        first = rows[0]
        aliases = [r[0] for r in db.execute("select alias from hubs where article_id = ?", (first["id"],))]
        assert sorted(aliases) == sorted(first["hubs"])


def test_sqlite_fts5_finds_a_post(database: Path, rows: list[dict[str, Any]]) -> None:
    post = next(r for r in rows if r["title"] and r["text"])
    word = max((w.strip(".,:;!?«»()\"'") for w in post["title"].split()), key=len)
    with sqlite3.connect(database) as db:
        sql = db.execute("select sql from sqlite_master where name = 'articles_fts'").fetchone()[0]
        assert "fts5" in sql.lower() and 'content="articles"' in sql
        found = db.execute(
            "select articles.id from articles join articles_fts on articles.rowid = articles_fts.rowid"
            " where articles_fts match ?",
            (json.dumps(word),),
        ).fetchall()
    assert post["id"] in [r[0] for r in found]


def test_sqlite_fields_and_filters(archive: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    hub = rows[0]["hubs"][0]
    target = tmp_path / "narrow.db"
    report = export_archive(archive, format="sqlite", out=target, fields=["title", "tags"], hub=hub)
    expected = [r for r in rows if hub.lower() in {h.lower() for h in r["hubs"] + r["hub_titles"]}]
    assert report.rows == len(expected) > 0
    with sqlite3.connect(target) as db:
        columns = [c[1] for c in db.execute("pragma table_info(articles)")]
        assert columns == ["id", "title", "tags", "year"]
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
        assert "tags" in tables and "images" not in tables and "articles_fts" in tables
        assert db.execute("select count(*) from tags").fetchone()[0] == sum(len(r["tags"]) for r in expected)


def test_csv_parses_back(archive: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    report = export_archive(archive, format="csv", out=tmp_path)
    assert report.files == [tmp_path / "articles.csv"]
    with (tmp_path / "articles.csv").open(encoding="utf-8", newline="") as stream:
        parsed = list(csv.DictReader(stream))
    assert len(parsed) == len(rows)
    by_id = {r["id"]: r for r in rows}
    for line in parsed:
        row = by_id[int(line["id"])]
        assert line["title"] == row["title"]
        assert line["text"] == (row["text"] or "")
        assert line["tags"] == CSV_SEPARATOR.join(row["tags"])
        assert json.loads(line["warc"]) == row["warc"]
        assert (json.loads(line["images"]) if line["images"] else []) == [
            {"url": i["url"], "alt": i.get("alt"), "archived": i.get("archived"), "error": i.get("error")}
            for i in row["images"] or []
        ]
        assert line["gone_at"] == (row["gone_at"] or "")


def test_jsonl_zst_is_the_index_lines(archive: Path, rows: list[dict[str, Any]], tmp_path: Path) -> None:
    target = tmp_path / "habr.jsonl.zst"
    report = export_archive(archive, format="jsonl.zst", out=target)
    assert report.rows == len(rows) and report.gone == sum(1 for r in rows if r["gone_at"])
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(target.read_bytes())).read()
    lines = b"".join(p.read_bytes() for p in sorted((archive / "index").glob("*.jsonl")))
    assert data == lines
    narrow = tmp_path / "narrow.jsonl.zst"
    since = sorted(r["time_published"] for r in rows)[len(rows) // 2]
    export_archive(archive, format="jsonl.zst", out=narrow, fields=["id", "title"], since=since)
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(narrow.read_bytes())).read()
    got = [json.loads(line) for line in data.splitlines()]
    assert got == [{"id": r["id"], "title": r["title"]} for r in rows if r["time_published"] >= since]


def test_new_formats_reject_the_gusev_profile(archive: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="gusev"):
        export_archive(archive, format="csv", out=tmp_path / "x.csv", profile="gusev")


def test_cli_exports_sqlite(archive: Path, tmp_path: Path) -> None:
    done = run_cli("export", str(archive), "--format", "sqlite", "--out", str(tmp_path / "cli.db"))
    assert done.returncode == 0, done.stderr
    assert "as SQLite" in done.stdout and (tmp_path / "cli.db").is_file()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_datasette_serves_facets(database: Path, rows: list[dict[str, Any]]) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "datasette",
            "serve",
            str(database),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if requests.get(f"{base}/-/versions.json", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "datasette did not answer within 20 s"
            time.sleep(0.2)
        answer = requests.get(
            f"{base}/{database.stem}/articles.json",
            params={"_facet": "author", "_shape": "objects", "_size": "max"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text[:500]
        data = answer.json()
        assert len(data["rows"]) == len(rows)
        facet = data["facet_results"]
        facet = facet.get("results", facet)  # datasette 1.0 nests the facets one level down
        counts = {item["value"]: item["count"] for item in facet["author"]["results"]}
        assert counts == dict(Counter(r["author"] for r in rows))
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


def test_jobs_give_the_same_files_as_one_process(archive: Path, tmp_path: Path) -> None:
    small = 1  # one shard per part: several parts, so the csv workers really split the shards
    one = export_archive(
        archive, format="csv", out=tmp_path / "one.csv", part_bytes=small, fields=["id", "tags"]
    )
    three = export_archive(
        archive, format="csv", out=tmp_path / "three.csv", part_bytes=small, fields=["id", "tags"], jobs=3
    )
    assert one.parts == three.parts > 3 and three.jobs == 3
    assert (one.rows, one.gone) == (three.rows, three.gone)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "three.csv").read_bytes()
    assert not list(tmp_path.glob(".*")), "the workers' part files are gone"
    # sqlite and jsonl.zst have one writer: any jobs gives what one process writes
    for kind, name in (("sqlite", "db"), ("jsonl.zst", "jsonl.zst")):
        for jobs in (1, 3):
            export_archive(archive, format=kind, out=tmp_path / f"{jobs}.{name}", part_bytes=small, jobs=jobs)
    assert (tmp_path / "1.jsonl.zst").read_bytes() == (tmp_path / "3.jsonl.zst").read_bytes()
    dumps = []
    for jobs in (1, 3):
        with sqlite3.connect(tmp_path / f"{jobs}.db") as db:
            dumps.append(list(db.iterdump()))
    assert dumps[0] == dumps[1] and len(dumps[0]) > len(archive_rows(archive))


def archive_rows(archive: Path) -> list[dict[str, Any]]:
    return list(iter_rows(archive / "index"))
