"""Every argument of every command is checked before anything starts: exit 2, one line on stderr, no traceback,
no file written, no crawl started (``run_spider`` is replaced by a tripwire)."""

from __future__ import annotations

from pathlib import Path

import pytest

from habrmirror.cli import main


@pytest.fixture(autouse=True)
def no_crawl(monkeypatch: pytest.MonkeyPatch) -> None:
    def tripwire(*args: object, **kwargs: object) -> None:
        raise AssertionError("a crawl started for bad arguments")

    from habrmirror.crawl import run  # the commands import the crawl when they start one

    monkeypatch.setattr(run, "run_spider", tripwire)


def bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``habrmirror ARGV``; assert the usage-error contract; the one stderr line."""
    code = main([part.replace("{tmp}", str(tmp_path)) for part in argv])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, (argv, captured.err)
    assert len(lines) == 1 and lines[0].startswith("habrmirror: "), (argv, captured.err)
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "out").exists(), argv  # nothing was created
    return lines[0]


ORIGIN = ["--origin", "http://127.0.0.1:9"]
OUT = ["--out", "{tmp}/out"]

CASES = [
    # (argv, a piece of the one line)
    (["archive", "99999999999999999999", *OUT, *ORIGIN], "Habr ids are 1 to 99,999,999"),
    (["archive", "0", *OUT, *ORIGIN], "not a Habr article id: '0'"),
    (["archive", "1000", "https://habr.com/ru/hubs/python/", *OUT], "(argument 2)"),
    (["archive", "1000", "--wait", "-1", *OUT], "argument --wait: expected 0 or more seconds, got '-1'"),
    (["archive", "1000", "--wait", "nan", *OUT], "argument --wait"),
    (["archive", "1000", "--origin", "ftp://habr.com", *OUT], "only http:// and https://"),
    (["archive", "1000", "--origin", "https://habr.com/ru/", *OUT], "no path"),
    (["archive", "1000", "--origin", "http://127.0.0.1:99999", *OUT], "argument --origin"),
    (["archive", "1000", "--set", "garbage", *OUT], "argument --set: expects KEY=VALUE"),
    (["archive", "1000", "--set", "=1", *OUT], "argument --set: expects KEY=VALUE"),
    (["archive", "1000", "--set", "HABR_IMAGE=false", *OUT], "did you mean HABR_IMAGES?"),
    (["archive", "1000", "--set", "RETRY_TIMES=many", *OUT], "RETRY_TIMES=many: expected a number"),
    (["archive", "1000", "--set", "HABR_IMAGES=maybe", *OUT], "expected true or false"),
    (["archive", *OUT], "the following arguments are required: URL_OR_ID"),
    (["archive", "1000", "--out", "/etc/passwd"], "/etc/passwd exists and is not a directory"),
    (["archive", "1000", "--out", "/proc/habr"], "cannot write /proc/habr"),
    (["crawl", "--pages", "-1", *OUT, *ORIGIN], "argument --pages: expected 0 (no limit) or more, got -1"),
    (["crawl", "--pages", "two", *OUT], "argument --pages: expected a whole number"),
    (["crawl", "--refresh-days", "-1", *OUT], "argument --refresh-days: expected 0 or more days"),
    (["crawl", "--refresh-days", "inf", *OUT], "argument --refresh-days"),
    (["crawl", "--budget", "-5", *OUT], "argument --budget: expected 0 (no budget) or more, got -5"),
    (["crawl", "--wait", "-1", *OUT], "argument --wait"),
    (["crawl", "--since", "notadate", *OUT], "argument --since: must be an ISO date like 2024-05-01"),
    (["crawl", "--since", "2024-13-01", *OUT], "argument --since"),
    (["crawl", "--ids", "5-3", *OUT], "the first id is larger than the last (write 3-5)"),
    (["crawl", "--ids", "0-3", *OUT], "Habr article ids are 1 to 99,999,999"),
    (["crawl", "--ids", "1-100000000", *OUT], "Habr article ids are 1 to 99,999,999"),
    (["crawl", "--ids", "a-b", *OUT], "must be an id range like 454000-455000"),
    (["crawl", "--listings", "feed", *OUT], "unknown listing 'feed'"),
    (["crawl", "--listings", ",", *OUT], "names no listing"),
    (["crawl", "--language", "de", *OUT], "argument --language: invalid choice"),
    (["crawl", "--log-level", "loud", *OUT], "argument --log-level"),
    (["crawl", "--origin", "not a host", *OUT], "argument --origin"),
    (["crawl", "--frobnicate", *OUT], "unrecognized arguments: --frobnicate"),
    (["demo", "--out", "/etc/passwd"], "not a directory"),
    (["demo", "--set", "HABR_NOPE=1", "--out", "{tmp}/out"], "no such habrmirror setting"),
    (["verify", "{tmp}/out"], "no archive at"),
    (["reindex", "{tmp}/out", "--wait", "-2"], "argument --wait"),
    (["reindex", "{tmp}/out"], "no archive at"),
    (["pack", "{tmp}/out", "--out", "{tmp}/x.wacz"], "no archive at"),
    (["pack", "{tmp}", "--out", "/proc/habr.wacz"], "cannot write /proc/habr.wacz: /proc is not writable"),
    (["pack", "{tmp}", "--out", "/etc/passwd/habr.wacz"], "/etc/passwd is not a directory"),
    (["pack", "{tmp}", "--out", "{tmp}"], "is a directory; name the file to write"),
    (["pack", "{tmp}"], "the following arguments are required: --out"),
    (["history", "0", "{tmp}"], "not a Habr article id: '0'"),
    (["history", "https://habr.com/ru/hubs/python/", "{tmp}"], "not a Habr article URL or id"),
    (["show", "100000000", "{tmp}"], "Habr ids are 1 to 99,999,999"),
    (["ls", "{tmp}", "--since", "yesterday"], "argument --since"),
    (["ls", "{tmp}/out"], "no archive at"),
    (["replica", "--port", "99999"], "--port must be 0 (any free port) to 65535"),
    (["replica", "--port", "x"], "argument --port: invalid int value: 'x'"),
    (["replica", "--synthetic", "-3"], "--synthetic must be 0 or more"),
    ([], "the following arguments are required: COMMAND"),
    (["frob"], "invalid choice: 'frob'"),
]


@pytest.mark.parametrize(("argv", "says"), CASES, ids=[" ".join(case[0])[:60] for case in CASES])
def test_bad_argument_is_one_line_and_exit_2(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = bad(tmp_path, capsys, *argv)
    assert says.replace("{tmp}", str(tmp_path)) in line, line


def test_argparse_errors_name_the_help_to_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = bad(tmp_path, capsys, "crawl", "--pages", "-1")
    assert (
        line
        == "habrmirror: argument --pages: expected 0 (no limit) or more, got -1 (see: habrmirror crawl --help)"
    )


def test_help_says_defaults_and_edges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crawl", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "0 = no limit (default 0: walk back to the last completed run's mark" in text
    assert "0 = no budget (default 0)" in text and "0 = none (default 0)" in text
    assert "1 to 99999999" in text and "It replaces Habr's hosts (habr.com, m.habr.com, habrahabr.ru" in text
    assert main(["archive", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "0 = give up at once (default 60)" in text and "a URL on another host" in text


def test_a_directory_with_archives_below_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "demo" / "warc").mkdir(parents=True)
    (tmp_path / "demo" / "archive.json").write_text("{}")
    for command in ("verify", "ls", "reindex"):
        assert main([command, str(tmp_path)]) == 2
        assert (
            capsys.readouterr().err
            == f"habrmirror: {tmp_path} holds no archive; did you mean {tmp_path / 'demo'}?\n"
        )
    assert main(["history", "568382", str(tmp_path)]) == 2
    assert "did you mean" in capsys.readouterr().err
    (tmp_path / "real" / "warc").mkdir(parents=True)
    assert main(["show", "1", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"habrmirror: {tmp_path} holds no archive; did you mean one of {tmp_path / 'demo'}, {tmp_path / 'real'}?\n"
    )
