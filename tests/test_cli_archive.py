"""The commands against the replica as a user runs them: archive (URL forms, several arguments, revisits),
demo and the commands it prints, ls and show, the crawl summary's words, and the lock naming its holder."""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from habrmirror.replica import ReplicaProcess
from habrmirror.store.index import iter_rows
from tests.conftest import FAST, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replica() -> Iterator[ReplicaProcess]:
    with ReplicaProcess() as server:
        yield server


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``habrmirror demo`` run in a fresh directory with its defaults (archives/demo/)."""
    cwd = tmp_path_factory.mktemp("demo-cwd")
    result = run_cli("demo", *FAST[2:], cwd=cwd)  # its own loopback setting; no progress lines
    return {"cwd": cwd, "result": result, "out": cwd / "archives" / "demo"}


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_fragment_comments_and_utm_forms_archive_and_verify(replica: ReplicaProcess, tmp_path: Path) -> None:
    out = tmp_path / "a"
    result = run_cli(
        "archive", f"{replica.origin}/ru/articles/1000/#comments", "--out", str(out), *FAST
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = run_cli(
        "archive", f"{replica.origin}/ru/articles/568382/comments/?utm_source=tg",
        "https://habr.com/ru/company/parallels/blog/462783/#habracut",
        "--origin", replica.origin, "--out", str(out), *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in lines(result.stdout)[:2]] == ["archived 568382", "archived 462783"]
    rows = {row["id"]: row for row in iter_rows(out / "index")}
    assert rows[1000]["fetched_url"] == f"{replica.origin}/ru/articles/1000/"
    assert (
        rows[568382]["fetched_url"] == f"{replica.origin}/ru/articles/568382/"
    )  # the post, not its comments
    verified = run_cli("verify", str(out))
    assert verified.returncode == 0, verified.stdout
    assert lines(verified.stdout)[-1].startswith("OK: ")


def test_origin_replaces_habrs_hosts(replica: ReplicaProcess, tmp_path: Path) -> None:
    """Full habr.com, m.habr.com, habrahabr.ru and geektimes.ru URLs go to --origin (HABR_LOOPBACK_ONLY would
    refuse habr.com itself: a 'network_error' here would mean the origin was ignored)."""
    out = tmp_path / "a"
    result = run_cli(
        "archive", "https://habr.com/ru/articles/1000/", "https://m.habr.com/ru/company/parallels/blog/462783/",
        "habrahabr.ru/post/568382/", "https://geektimes.ru/post/570002/",
        "--origin", replica.origin, "--out", str(out), *FAST,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split(":")[0] for line in lines(result.stdout)[:4]] == [
        "archived 1000", "archived 462783", "archived 568382", "archived 570002",
    ]  # fmt: skip
    fetched = sorted(row["fetched_url"] for row in iter_rows(out / "index"))
    assert all(url.startswith(replica.origin + "/") for url in fetched), fetched


def test_archive_prints_one_line_per_argument_in_order(replica: ReplicaProcess, tmp_path: Path) -> None:
    out = tmp_path / "a"
    amp = f"{replica.origin}/ru/amp/post/483202/"
    result = run_cli(
        "archive", "1000", "483202", "999999", amp, "--origin", replica.origin, "--out", str(out), *FAST
    )
    assert result.returncode == 3, result.stdout + result.stderr  # partial: 999999 is gone
    warc = re.escape(str(out / "warc")) + r"/habrmirror-[^@]+\.warc\.gz@\d+"
    stdout = lines(result.stdout)
    assert re.fullmatch(rf"archived 1000: 'Wikiasaria — комедия ошибок' -> {warc} \(0/0 images\)", stdout[0])
    # the id and the AMP URL name the same post: fetched once, from the URL (the id alone is a 404 there)
    assert stdout[1] == "archived 483202: same post as argument 4"
    assert re.fullmatch(
        rf"archived 483202: 'Введение в REST API — RESTful веб-сервисы' -> {warc} \(6/6 images\)", stdout[2]
    )
    assert stdout[3].startswith(f"archive: {out}  |  archived 2, gone 1, failed 0")
    assert result.stderr == "habrmirror: could not archive 999999: gone: HTTP 404: deleted or never existed\n"
    captures = [json.loads(line) for path in (out / "captures").glob("*.jsonl") for line in path.open()]
    assert sorted(c["id"] for c in captures) == [1000, 483202, 999999]  # 483202 fetched once

    again = run_cli("archive", "1000", "--origin", replica.origin, "--out", str(out), *FAST)
    assert again.returncode == 0, again.stderr
    assert re.fullmatch(
        rf"archived 1000: 'Wikiasaria — комедия ошибок' unchanged since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ: "
        rf"revisit record \(the bytes stay at {warc}\)",
        lines(again.stdout)[0],
    ), again.stdout


def test_demo_prints_next_commands_that_work_as_printed(demo: dict) -> None:
    result = demo["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    tail = lines(result.stdout)[-4:]
    assert tail == [
        "demo archive written to archives/demo (kept apart from a real archive); next:",
        "  habrmirror verify archives/demo",
        "  habrmirror ls archives/demo",
        "  habrmirror history 568382 archives/demo",
    ]
    for command in tail[1:]:
        args = command.split()[1:]
        done = run_cli(*args, cwd=demo["cwd"])
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert done.stdout.strip(), command
    # the real archive's default directory holds only the demo: said so, not "no archive"
    done = run_cli("verify", cwd=demo["cwd"])
    assert done.returncode == 2
    assert done.stderr == "habrmirror: archives holds no archive; did you mean archives/demo?\n"


def test_ls_prints_one_tab_separated_line_per_post(demo: dict) -> None:
    out = demo["out"]
    rows = list(iter_rows(out / "index"))
    done = run_cli("ls", str(out))
    assert done.returncode == 0, done.stderr
    expected = [
        "\t".join(
            [
                str(r["id"]),
                r["published_at"] or "-",
                " ".join((r["title"] or "-").split()),
                "1",
                str(r["warc"]["length"]),
            ]
        )
        for r in rows
    ]
    assert lines(done.stdout) == expected and len(expected) == 11
    as_json = [json.loads(line) for line in lines(run_cli("ls", str(out), "--json").stdout)]
    assert [(p["id"], p["captures"], p["size"]) for p in as_json] == [
        (r["id"], 1, r["warc"]["length"]) for r in rows
    ]
    since = run_cli("ls", str(out), "--since", "2021-01-01")
    assert [int(line.split("\t")[0]) for line in lines(since.stdout)] == [
        r["id"] for r in rows if r["published_at"] and r["published_at"] >= "2021-01-01"
    ]
    row = next(r for r in rows if r["hubs"] and r["author"])
    hub = run_cli("ls", str(out), "--hub", row["hubs"][0].upper())
    assert str(row["id"]) in [line.split("\t")[0] for line in lines(hub.stdout)]
    assert all(row["hubs"][0] in r["hubs"] for r in rows if str(r["id"]) in hub.stdout.split())
    author = run_cli("ls", str(out), "--author", row["author"])
    assert [int(line.split("\t")[0]) for line in lines(author.stdout)] == [
        r["id"] for r in rows if r["author"] == row["author"]
    ]


def test_show_prints_record_captures_and_files(demo: dict) -> None:
    out = demo["out"]
    row = next(r for r in iter_rows(out / "index") if r["id"] == 568382)
    done = run_cli("show", "https://habr.com/ru/articles/568382/", str(out))
    assert done.returncode == 0, done.stderr
    shown = lines(done.stdout)
    assert shown[0] == "id           568382"
    assert f"title        {row['title']}" in shown and f"published    {row['published_at']}" in shown
    assert "captures     1" in shown
    capture = shown[shown.index("captures     1") + 1]
    assert (
        capture.startswith("  ")
        and "  200  archived  " in capture
        and "/ru/articles/568382/  warc/" in capture
    )
    warc = row["warc"]
    assert (
        f"  warc       {out / warc['filename']}@{warc['offset']} ({warc['length']} bytes, record {warc['record_id']})"
        in shown
    )
    cdxj = next(line for line in shown if line.startswith("  cdxj       "))
    path, number = re.fullmatch(r"  cdxj       (\S+) line (\d+)", cdxj).groups()  # type: ignore[union-attr]
    line = Path(path).read_text().splitlines()[int(number) - 1]
    assert f'"offset": "{warc["offset"]}"' in line
    assert shown[-1] == f"  index      {out / 'index' / '00568.jsonl'}"


def test_crawl_summary_says_why_each_walk_stopped(replica: ReplicaProcess, tmp_path: Path) -> None:
    out = tmp_path / "a"
    first = run_cli("crawl", "--pages", "2", "--origin", replica.origin, "--out", str(out), *FAST)
    assert first.returncode == 0, first.stdout + first.stderr
    walks = [line for line in lines(first.stdout) if line.startswith("  ru/")]
    newest = re.search(r"newest seen (\S+),", walks[0]).group(1)  # type: ignore[union-attr]
    assert walks[0].startswith(f"  ru/articles: newest seen {newest}, oldest seen ")
    assert walks[0].endswith(
        f"; 1 page read, stopped: end of the listing (page 1 is its last); mark moved to {newest}"
    )
    second = run_cli("crawl", "--pages", "2", "--origin", replica.origin, "--out", str(out), *FAST)
    walks = [line for line in lines(second.stdout) if line.startswith("  ru/")]
    assert "; 1 page read, stopped: the last completed run's mark (" in walks[0]
    assert ") reached on page 1; " in walks[0]


def test_budget_stop_wording(replica: ReplicaProcess, tmp_path: Path) -> None:
    stopped = run_cli(
        "crawl", "--budget", "3", "--origin", replica.origin, "--out", str(tmp_path / "a"), *FAST
    )
    assert stopped.returncode == 5, stopped.stdout + stopped.stderr
    walks = [line for line in lines(stopped.stdout) if line.startswith("  ru/")]
    assert walks and all(
        "mark not moved (run ended early (request_budget)); there is no mark yet" in line for line in walks
    ), walks
    assert "None" not in stopped.stdout


def test_a_second_writer_is_told_which_command_holds_the_lock(
    replica: ReplicaProcess, tmp_path: Path
) -> None:
    out = tmp_path / "a"
    assert run_cli("archive", "1000", "--origin", replica.origin, "--out", str(out), *FAST).returncode == 0
    lock = out / "state" / "writer.lock"
    assert re.fullmatch(r"pid \d+ habrmirror archive since \S+\n", lock.read_text())
    with lock.open("a") as held:  # hold it as that archive run did, its words left in place
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = run_cli("crawl", "--origin", replica.origin, "--out", str(out), *FAST)
    assert second.returncode == 4
    assert re.fullmatch(
        rf"habrmirror: archive {re.escape(str(out))} is locked by pid \d+ habrmirror archive since \S+; not starting\n",
        second.stderr,
    ), second.stderr
    crawled = run_cli("crawl", "--pages", "1", "--origin", replica.origin, "--out", str(out), *FAST)
    assert crawled.returncode == 0, crawled.stderr
    assert re.fullmatch(r"pid \d+ habrmirror crawl since \S+\n", lock.read_text())
