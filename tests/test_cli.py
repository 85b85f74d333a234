"""The command line as a user meets it: one-line errors with documented exit codes, the replica command."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, run_cli


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.startswith("habrmirror ")
    result = run_cli("crawl", "--help")
    assert result.returncode == 0 and "Example: habrmirror crawl" in result.stdout


def test_replica_command_serves_the_saved_pages() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "habrmirror", "replica", "--port", "0", "--synthetic", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("replica serving 14 articles at http://127.0.0.1:"), line
        origin = line.rsplit(" ", 1)[1].strip()
        with urllib.request.urlopen(f"{origin}/ru/articles/568382/") as response:
            assert "Digital-мероприятия в Москве".encode() in response.read()
    finally:
        process.terminate()
        process.wait(10)


def test_missing_archive_is_a_usage_error(tmp_path: Path) -> None:
    for command in ("verify", "reindex"):
        result = run_cli(command, str(tmp_path / "nothing"))
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith("habrmirror: no archive")
        assert "Traceback" not in result.stderr


def test_history_of_an_unknown_post(tmp_path: Path) -> None:
    (tmp_path / "warc").mkdir()
    result = run_cli("history", "454184", str(tmp_path))
    assert result.returncode == 1 and "no captures of 454184" in result.stderr
    result = run_cli("show", "454184", str(tmp_path))
    assert result.returncode == 1 and result.stderr == f"habrmirror: no record of 454184 in {tmp_path}\n"


def test_pack_of_an_empty_archive_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "warc").mkdir()
    result = run_cli("pack", str(tmp_path), "--out", str(tmp_path / "x.wacz"))
    assert result.returncode == 1 and result.stderr.startswith("habrmirror: cannot pack")
    assert not (tmp_path / "x.wacz").exists()


def test_bad_crawl_arguments(tmp_path: Path) -> None:
    result = run_cli("crawl", "--ids", "9-3", "--out", str(tmp_path))
    assert result.returncode == 2 and "bad id range" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    result = run_cli("crawl", "--listings", "feed", "--out", str(tmp_path), "--origin", "http://127.0.0.1:9")
    assert result.returncode == 2 and "unknown listing" in result.stderr


def test_network_error_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli(
        "archive", "454184", "--origin", f"http://127.0.0.1:{port}", "--out", str(tmp_path / "a"),
        "--set", "HABR_LOOPBACK_ONLY=true", "--set", "RETRY_TIMES=0", "--set", "HABR_PROGRESS_INTERVAL=0",
    )  # fmt: skip
    assert result.returncode == 1
    assert "could not archive 454184" in result.stderr
    assert "Traceback" not in result.stderr


def test_crawl_of_an_unreachable_site_fails_and_keeps_no_mark(tmp_path: Path) -> None:
    result = run_cli(
        "crawl", "--out", str(tmp_path / "a"), "--origin", "http://127.0.0.1:9", "--pages", "1",
        "--set", "HABR_LOOPBACK_ONLY=true", "--set", "RETRY_TIMES=0", "--set", "HABR_PROGRESS_INTERVAL=0",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "failed 2" in result.stdout and "listing_error" in result.stdout
    assert "  ru/articles: no entries seen; 0 pages read, stopped: listing page 1 failed (" in result.stdout
    assert "; mark not moved (2 transient failures" in result.stdout
    assert "there is no mark yet" in result.stdout and "None" not in result.stdout
    state = tmp_path / "a" / "state" / "crawl-state.json"
    assert not state.exists() or json.loads(state.read_text())["marks"] == {}
    assert "Traceback" not in result.stderr
