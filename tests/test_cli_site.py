"""``habrmirror site``, ``serve``, ``search``, ``stats`` and ``export`` as a user runs them, on one demo archive: build
the mirror and serve it, find a post by a word form, count it, export it; bad arguments are one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-site") / "demo"
    result = run_cli("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def test_site_builds_the_mirror_and_serve_shows_it(demo: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = run_cli("site", str(demo), "--out", str(site))
    assert built.returncode == 0, built.stderr[-2000:]
    assert f"open {site / 'index.html'}, or: habrmirror serve {site}" in built.stdout
    assert (site / "index.html").is_file() and (site / "atom.xml").is_file()
    again = run_cli("site", str(demo), "--out", str(site))  # nothing changed: nothing rewritten
    assert again.returncode == 0, again.stderr[-2000:]

    server = subprocess.Popen(
        [sys.executable, "-m", "habrmirror", "serve", str(site), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith(f"serving {site} on http://127.0.0.1:"), line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        with urllib.request.urlopen(url + "index.html", timeout=10) as answer:
            page = answer.read().decode("utf-8")
        assert answer.status == 200 and "Все статьи" in page
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "/nonexistent/site"], "is not a built site (no index.html)"),
        (["serve", ".", "--port", "70000"], "argument --port: expected 0 (any free port) to 65535"),
        (
            ["site", "--out", "/tmp/x", "--base-url", "ftp://host/"],
            "argument --base-url: expected an absolute http(s) URL",
        ),
        (["site", "/nonexistent/archive", "--out", "/tmp/x"], "no archive at /nonexistent/archive"),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("habrmirror: ") and message in lines[0], result.stderr


def test_search_finds_a_post_by_another_form_of_a_word(demo: Path) -> None:
    found = run_cli(
        "search", "матрицей", str(demo)
    )  # 462783 says Матрица, Матрице, Матрицы: never "матрицей"
    assert found.returncode == 0, found.stderr[-2000:]
    assert any(line.startswith("462783\t") for line in found.stdout.splitlines()), found.stdout
    nothing = run_cli("search", "zzzyyyxxx", str(demo))
    assert nothing.returncode == 1 and "nothing found for 'zzzyyyxxx'" in nothing.stderr
    bad = run_cli("search", "NEAR(", str(demo), "--raw")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_stats_counts_every_post_and_export_writes_them(demo: Path, tmp_path: Path) -> None:
    import json

    from habrmirror.store.index import iter_rows

    rows = list(iter_rows(demo / "index"))
    stats = run_cli("stats", str(demo), "--json")
    assert stats.returncode == 0, stats.stderr[-2000:]
    numbers = json.loads(stats.stdout)
    assert numbers["articles"] == len(rows) == sum(numbers["by_year"].values())
    out = tmp_path / "habr.parquet"
    exported = run_cli("export", str(demo), "--format", "parquet", "--out", str(out), "--fields", "id,title")
    assert exported.returncode == 0, exported.stderr[-2000:]
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.column_names == ["id", "title"] and sorted(table["id"].to_pylist()) == sorted(
        r["id"] for r in rows
    )
    bad = run_cli("export", str(demo), "--out", str(out), "--fields", "id,nosuch")
    assert bad.returncode == 2 and "unknown field 'nosuch'" in bad.stderr
