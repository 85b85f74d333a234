"""Helpers the scheduled-crawl tests (``test_crawl_*.py``) share; no tests here.

Crawls run as a user runs them (``habrmirror crawl`` in a subprocess, against the replica on 127.0.0.1), and
every assertion reads the archive back: index rows, capture log lines, run summaries, WARC records.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from habrmirror.archive.reader import iter_records, read_record
from habrmirror.items import WarcPointer
from habrmirror.pages.listing import parse_listing
from habrmirror.replica import ReplicaProcess
from habrmirror.store.captures import Capture, iter_captures
from habrmirror.urls import listing_url
from tests.conftest import FAST, ROOT, run_cli

TEST_AGENT = "habrmirror-tests"  # the tests' own requests to the replica; the crawler's say "habrmirror/"
LISTINGS = ("articles", "news")


def crawl(out: Path, origin: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``habrmirror crawl --out OUT --origin ORIGIN`` with the fast test settings and ``args``."""
    return run_cli("crawl", "--out", str(out), "--origin", origin, *FAST, *args, timeout=timeout)


class BackgroundCrawl:
    """The same command, started in the background (to kill it, or to race it for the lock). Its output goes
    to a file: a pipe nobody reads while the test polls could fill up and stall the crawl."""

    def __init__(self, out: Path, origin: str, *args: str) -> None:
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "habrmirror",
                "crawl",
                "--out",
                str(out),
                "--origin",
                origin,
                *FAST,
                *args,
            ],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: signal.Signals, timeout: float = 60) -> tuple[int, str]:
        """Send ``sig`` (if still running), wait; ``(exit code, output)``."""
        if self.running():
            self.proc.send_signal(sig)
        self.proc.wait(timeout=timeout)
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        return self.proc.returncode, output


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    """What a failed assertion on a crawl should show."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr (tail)\n{proc.stderr[-4000:]}"


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.01) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --- the replica's side ---------------------------------------------------------------------------------------


def get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": TEST_AGENT})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return bytes(answer.read())


def listed_ids(origin: str, kinds: tuple[str, ...] = LISTINGS) -> dict[str, list[int]]:
    """The ids each listing shows right now, newest first, read page by page as the site serves them."""
    listed: dict[str, list[int]] = {}
    for kind in kinds:
        ids: list[int] = []
        url: str | None = listing_url(origin, kind)
        while url:
            page = parse_listing(url, get(url))
            ids += [entry.id for entry in page.entries]
            url = page.next_url
        listed[kind] = ids
    return listed


def all_listed(origin: str) -> set[int]:
    ids = listed_ids(origin)
    return {article for kind in LISTINGS for article in ids[kind]}


def crawler_requests(replica: ReplicaProcess) -> list[dict[str, Any]]:
    """The replica's sent log without the tests' own requests and control calls."""
    return [
        entry
        for entry in replica.sent_log()
        if entry["kind"] != "control"
        and any(
            k.lower() == "user-agent" and v.startswith("habrmirror/") for k, v in entry["request_headers"]
        )
    ]


def requested_ids(sent: list[dict[str, Any]], kinds: tuple[str, ...] = ("article",)) -> list[int]:
    """Sorted article ids of the logged responses of these kinds (each must be for an article path)."""
    ids = []
    for entry in sent:
        if entry["kind"] in kinds:
            match = re.fullmatch(r"/ru/(?:articles|news)/(\d+)/", entry["target"])
            assert match, f"not an article request: {entry['target']}"
            ids.append(int(match[1]))
    return sorted(ids)


# --- the archive's side ---------------------------------------------------------------------------------------


def index_rows(out: Path) -> dict[int, dict[str, Any]]:
    """Every index row by id; fails on a line that does not parse, a row in the wrong shard or an id twice."""
    rows: dict[int, dict[str, Any]] = {}
    for shard in sorted((out / "index").glob("*.jsonl")):
        data = shard.read_bytes()
        assert data.endswith(b"\n"), f"{shard.name}: last line is torn"
        for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
            row = json.loads(line)  # raises on a torn or garbled line
            assert shard.name == f"{row['id'] // 1000:05d}.jsonl", f"{shard.name}:{number}: wrong shard"
            assert row["id"] not in rows, f"id {row['id']} has two index rows"
            rows[row["id"]] = row
    return rows


def captures(out: Path, run: str | None = None) -> list[Capture]:
    """Capture log lines (of one run when ``run`` is given); every line must parse."""
    for path in (out / "captures").glob("*.jsonl"):
        data = path.read_bytes()
        assert not data or data.endswith(b"\n"), f"{path.name}: last line is torn"
        for line in data.splitlines():
            json.loads(line)
    return [c for c in iter_captures(out / "captures") if run is None or c.run == run]


def summary_of(out: Path, proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The run summary JSON the printed ``run summary: PATH`` line names (it must be in DIR/runs/)."""
    match = re.search(r"run summary: (\S+\.json)", proc.stdout)
    assert match, f"no run summary line printed\n{explain(proc)}"
    path = Path(match[1])
    assert path.parent == out / "runs", path
    summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return summary


def marks(out: Path) -> dict[str, str]:
    """The listing marks of ``state/crawl-state.json`` (empty before any completed run)."""
    path = out / "state" / "crawl-state.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))["marks"]) if path.exists() else {}


def archived_per_run(out: Path, run: str) -> Counter[int]:
    """How many ``archived`` captures each id got in one run."""
    return Counter(c.id for c in captures(out, run) if c.outcome == "archived" and c.id is not None)


def check_archive_is_whole(out: Path) -> None:
    """What a reader of the archive relies on after any interruption and a completed run.

    No ``.open`` WARC or ``.tmp`` file is left, ``warcio check`` passes on every WARC, every shard line and
    capture line parses, and every row's pointer reads back as a response record of the row's URL holding bytes.
    """
    leftovers = [p for p in out.rglob("*") if p.name.endswith((".open", ".tmp"))]
    assert not leftovers, f"left behind: {leftovers}"
    warcs = sorted((out / "warc").glob("*.warc.gz"))
    assert warcs
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", *map(str, warcs)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    captures(out)
    for article, row in index_rows(out).items():
        stored = read_record(out, WarcPointer(**row["warc"]))
        assert stored.rec_type == "response", (article, stored.rec_type)
        assert stored.target_uri == row["fetched_url"], (article, stored.target_uri)
        assert stored.status == 200 and stored.payload, article


def warc_records_for(out: Path, url: str) -> list[tuple[str, str]]:
    """``(WARC-Type, WARC-Record-ID)`` of every response/revisit record of ``url``, in file order."""
    found = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        for at in iter_records(path):
            if (
                at.rec_type in ("response", "revisit")
                and at.record.rec_headers.get_header("WARC-Target-URI") == url
            ):
                found.append((at.rec_type, at.record_id))
    return found
