"""``habrmirror site`` and ``habrmirror serve`` as a user runs them: build the mirror of the demo archive, serve it,
read its "All Articles" page over HTTP; bad arguments are one line with exit 2."""

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
