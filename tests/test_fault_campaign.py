"""The fault campaign: 500 posts crawled through the hostile replica (``--faults``, seeded) lose nothing.

A real ``habrmirror crawl`` (subprocess) walks the listings while about a fifth of the responses misbehave
(``habrmirror.replica.faults``: 429/503, resets, lying Content-Length, trickles, redirect loops, gzip bombs,
oversized bodies, wrong charsets, captcha/login/maintenance walls with 200, invalid UTF-8, 410/403, image and
comments API and comments page failures, huge headers, malformed status lines, broken next links). Every post ends archived or
named in the run summary with its reason; the second run archives exactly the posts whose fault was transient;
``verify`` passes; rows exist only for real articles; memory and time are bounded. A variant killed five times
(SIGKILL at seeded moments) ends with the same archive as the undisturbed one. One archive per variant is built
once per module (module-scoped fixtures); ``bench/faults.py`` prints the figures table of the README from it.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from habrmirror.capture import Outcome
from habrmirror.replica import ReplicaProcess
from habrmirror.replica.catalog import Catalog
from habrmirror.replica.faults import KINDS, FaultPlan
from tests.conftest import FAST, ROOT, run_cli
from tests.test_crawl_support import (
    BackgroundCrawl,
    captures,
    check_archive_is_whole,
    explain,
    index_rows,
    wait_until,
)

SEED = 7
SYNTHETIC = 492  # plus the 8 real posts the listings show: 500 posts
# ~20% of the article, listing, media and comments (API and page) URLs misbehave; two listing pages get a broken next link
SPEC = "rate=0.2,kinds=all,big=3000000,hang=10,next_vanish:/ru/articles/page3/,next_loop:/ru/news/page2/"
KILLS = 5
# Test-sized limits and timeouts, so bombs, oversized bodies and stalls cost little; AutoThrottle off (it would
# only slow the crawl of a local server down), 16 connections.
CAMPAIGN = [
    *FAST,
    *("--set", "AUTOTHROTTLE_ENABLED=false", "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=16"),
    *("--set", "DOWNLOAD_TIMEOUT=5", "--set", "REDIRECT_MAX_TIMES=5"),
    *("--set", "HABR_MAX_PAGE_BYTES=2000000", "--set", "HABR_MAX_DECODED_BYTES=8000000"),
]
MAX_RUN_SECONDS = 90  # one run of 500 posts (measured: ~8 s on 2 cores)
MAX_RSS_MIB = 400  # peak RSS of the crawl or its parse worker (measured: ~200 MiB)

# What each article fault comes to in the first run and in the second one (None: not requested, 410's back-off).
# Faults Scrapy retries (429/503, resets, a lying Content-Length) are recovered within the run; walls with 200
# are not retried in-run (a 200 is an answer) but by the next run; the permanent ones stay reported.
EXPECTED: dict[str, tuple[str, str | None]] = {
    "429": ("archived", None),
    "503": ("archived", None),
    "reset": ("archived", None),
    "truncate": ("archived", None),
    "trickle": ("archived", None),
    "charset": ("archived", None),
    "bad_utf8": ("archived", None),
    "captcha": ("blocked", "archived"),
    "login": ("blocked", "archived"),
    "maintenance": ("blocked", "archived"),
    "captcha_forever": ("blocked", "blocked"),
    "redirect_loop": ("http_error", "http_error"),
    "huge_headers": ("network_error", "network_error"),
    "bad_status": ("network_error", "network_error"),
    "bomb": ("too_large", "too_large"),
    "oversized": ("too_large", "too_large"),
    "410": ("gone", None),
    "403": ("forbidden", "forbidden"),
}
SERVED = ("article", "listing", "media", "comments", "comments_page")  # the response kinds faults apply to
_ARTICLE_PATH = re.compile(r"^/ru/(?:articles|news)/(\d+)/$")
_COMMENTS_OF = re.compile(r"/articles/(\d+)/comments/")  # the comments API and the comments page


@dataclass
class Run:
    """One crawl: its process, summary, wall time and the peak RSS of the crawl process tree."""

    proc: subprocess.CompletedProcess[str]
    summary: dict[str, Any]
    seconds: float
    rss_mib: float


@dataclass
class Campaign:
    """A hostile replica's archive: runs, the sent log, what the replica serves."""

    out: Path
    origin: str
    listed: set[int]
    titles: dict[int, str]
    sent: list[dict[str, Any]]
    runs: list[Run] = field(default_factory=list)
    killed: list[tuple[int, int]] = field(default_factory=list)  # (kill after N capture lines, exit code)


_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def measured_crawl(out: Path, origin: str) -> Run:
    """``habrmirror crawl`` in a fresh wrapper process, whose children's peak RSS is this crawl's alone."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        started = time.monotonic()
        command = [sys.executable, "-m", "habrmirror", "crawl", "--out", str(out), "--origin", origin]
        proc = subprocess.run(
            [sys.executable, "-c", _MEASURE, rss.name, *command, *CAMPAIGN],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            timeout=240,
        )
        seconds = time.monotonic() - started
        peak_kib = int(Path(rss.name).read_text() or 0)
    match = re.search(r"run summary: (\S+\.json)", proc.stdout)
    assert match, explain(proc)
    return Run(proc, json.loads(Path(match[1]).read_text(encoding="utf-8")), seconds, peak_kib / 1024)


def listed_posts() -> set[int]:
    catalog = Catalog.load(SYNTHETIC)
    return {entry.id for kind in ("articles", "news") for entry in catalog.listed(kind)}


def replica_titles() -> dict[int, str]:
    catalog = Catalog.load(SYNTHETIC)
    return {entry.id: entry.title for entry in catalog.entries.values()}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    """The undisturbed campaign: two runs through a fresh hostile replica."""
    out = tmp_path_factory.mktemp("campaign") / "archive"
    with ReplicaProcess(synthetic=SYNTHETIC, faults=SPEC, seed=SEED) as replica:
        # what the listings hold, from the catalog: a test's own read would use up the first attempts
        result = Campaign(out, replica.origin, listed_posts(), replica_titles(), [])
        result.runs = [measured_crawl(out, replica.origin) for _ in range(2)]
        result.sent = replica.sent_log()
        yield result


def kill_plan(seed: int) -> list[int]:
    """Capture lines the killed runs reach before each SIGKILL (0: as soon as the WARC is open)."""
    rng = random.Random(seed)
    return [0, *sorted(rng.sample(range(20, 460), KILLS - 1))]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    """The same seed, a fresh replica, and a crawl killed 5 times; then rerun until a run completes, and once
    more (the second run of the undisturbed campaign)."""
    out = tmp_path_factory.mktemp("killed") / "archive"
    with ReplicaProcess(synthetic=SYNTHETIC, faults=SPEC, seed=SEED) as replica:
        result = Campaign(out, replica.origin, set(), replica_titles(), [])
        for lines in kill_plan(SEED):
            run = BackgroundCrawl(out, replica.origin, *CAMPAIGN[len(FAST) :])
            if lines:
                wait_until(lambda n=lines, r=run: capture_lines(out) >= n or not r.running(), 120, "captures")
            else:
                wait_until(
                    lambda r=run: any((out / "warc").glob("*.open")) or not r.running(), 60, "the WARC"
                )
            assert run.running(), "the run ended before its planned SIGKILL"
            code, _ = run.stop(signal.SIGKILL)
            result.killed.append((lines, code))
        while True:
            result.runs.append(measured_crawl(out, replica.origin))
            if result.runs[-1].summary["finish_reason"] == "finished" and len(result.runs) >= 2:
                break
            assert len(result.runs) < 5, "no run completed"
        result.sent = replica.sent_log()
        yield result


def capture_lines(out: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in (out / "captures").glob("*.jsonl"))


def article_faults(sent: list[dict[str, Any]]) -> dict[int, str]:
    """The fault of each article's first request (the plan picks one kind per path)."""
    faults: dict[int, str] = {}
    for entry in sent:
        match = _ARTICLE_PATH.match(entry["target"].split("?")[0])
        if match and entry["fault"] and entry["kind"] == "article":
            faults.setdefault(int(match[1]), entry["fault"])
    return faults


def named(summary: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Posts the run summary names as not archived (failures and skips), by id."""
    return {entry["id"]: entry for entry in summary["failures"] + summary["not_archived"]}


# --- the undisturbed campaign -----------------------------------------------------------------------------------


def test_the_plan_faults_a_fifth_of_the_responses_of_every_kind(campaign: Campaign) -> None:
    assert len(campaign.listed) == 500
    served = [e for e in campaign.sent if e["kind"] in SERVED]
    faulty = Counter(e["fault"] for e in served if e["fault"])
    assert set(faulty) == set(KINDS), set(KINDS) - set(faulty)  # every kind was injected at least once
    fraction = sum(faulty.values()) / len(served)
    assert 0.15 < fraction < 0.35, fraction
    # the sent log agrees with the plan, computed offline from the seed: the same fault per path and attempt
    plan = FaultPlan.parse(SPEC, SEED)
    attempts: Counter[str] = Counter()
    for entry in campaign.sent:
        if entry["kind"] in ("control", "robots") or entry["target"].startswith("/_replica/"):
            continue
        path = entry["target"].split("?")[0]
        attempts[path] += 1
        fault = plan.decide(path, entry["kind"], attempts[path])
        assert (fault.kind if fault else None) == entry["fault"], entry["target"]


def test_every_post_is_archived_or_named_in_the_summary_with_its_reason(campaign: Campaign) -> None:
    first = campaign.runs[0]
    assert first.proc.returncode == 3, explain(first.proc)  # partial: some posts failed
    rows = index_rows(campaign.out)
    # the second run read what the first missed; after the first, every post has a row or a named reason
    after_first = {c.id for c in captures(campaign.out, first.summary["run"]) if c.outcome == "archived"}
    reported = named(first.summary)
    assert first.summary["failures_not_listed"] == 0
    assert all(entry["reason"] for entry in reported.values())
    assert campaign.listed <= after_first | set(reported), sorted(
        campaign.listed - after_first - set(reported)
    )
    assert set(rows) <= campaign.listed
    faults = article_faults(campaign.sent)
    for article in campaign.listed:
        kind = faults.get(article)
        expected = EXPECTED[kind][0] if kind in EXPECTED else "archived"
        got = "archived" if article in after_first else reported[article]["outcome"]
        assert got == expected, (article, kind, reported.get(article))
    # both broken next links were repaired within the run: the walks went on to the listings' ends
    for walk in first.summary["listings"].values():
        assert walk["stopped"].startswith("end of the listing"), walk


def test_the_second_run_archives_exactly_the_transient_failures(campaign: Campaign) -> None:
    first, second = campaign.runs
    faults = article_faults(campaign.sent)
    archived_second = {c.id for c in captures(campaign.out, second.summary["run"]) if c.outcome == "archived"}
    transient = {a for a, kind in faults.items() if EXPECTED.get(kind, ("", ""))[1] == "archived"}
    assert transient and archived_second == transient
    still = named(second.summary)
    permanent = {
        a for a, kind in faults.items() if EXPECTED.get(kind, ("", None))[1] not in (None, "archived")
    }
    # Those whose failure a later run may fix (blocked, http_error, network_error) are on the retry list: the
    # second run asks for them again and names them again. The others (forbidden, too_large) are asked again only
    # when a listing page the second run walks (down to the moved mark) lists them; the rest stay named in the
    # first run's summary.
    retried = {a for a in permanent if Outcome(EXPECTED[faults[a]][1]).is_transient}
    assert retried and retried <= set(still) <= permanent
    assert second.summary["retry_pending"] == sorted(retried)
    asked_second = {c.id for c in captures(campaign.out, second.summary["run"])}
    assert permanent - retried - asked_second, "the moved marks spare the second run most permanent failures"
    for article in permanent:
        assert named(first.summary)[article]["outcome"] == EXPECTED[faults[article]][1]
        if article in asked_second:
            assert still[article]["outcome"] == EXPECTED[faults[article]][1], still[article]
            assert still[article]["reason"] == named(first.summary)[article]["reason"]
        else:
            assert article not in still
    gone = {a for a, kind in faults.items() if kind == "410"}
    # gone posts are not asked again: those on the pages the second run walks are counted as skipped
    assert gone and not gone & asked_second and 0 < second.summary["known_gone_skipped"] <= len(gone)
    assert set(index_rows(campaign.out)) == campaign.listed - permanent - gone


def test_verify_passes_and_no_record_is_torn(campaign: Campaign) -> None:
    check_archive_is_whole(campaign.out)
    verify = run_cli("verify", str(campaign.out))
    assert verify.returncode == 0, explain(verify)


def test_rows_only_for_real_articles_with_their_real_titles(campaign: Campaign) -> None:
    faults = article_faults(campaign.sent)
    for article, row in index_rows(campaign.out).items():
        title = campaign.titles[article]
        if faults.get(article) == "bad_utf8":  # b"\xff\xfe\xc3(" before </h1>: replaced, kept (a page whose
            # title comes from its state JSON keeps the clean one)
            assert row["title"] in (title, title + "\ufffd\ufffd\ufffd("), row["title"]
        else:
            assert row["title"] == title, (article, faults.get(article))
        assert row["parser"] and row["parser"].startswith(("tm-", "legacy/")), row["parser"]


def test_image_and_comments_failures_are_noted_on_the_rows(campaign: Campaign) -> None:
    rows = index_rows(campaign.out)
    images = {i["url"].removeprefix(campaign.origin): i for row in rows.values() for i in row["images"]}
    lost_images = {e["target"] for e in campaign.sent if e["fault"] == "image_404"}
    on_rows = lost_images & set(images)
    assert on_rows and all(not images[p]["archived"] and images[p]["error"] for p in on_rows)
    timed_out = {e["target"] for e in campaign.sent if e["fault"] == "image_timeout"} & set(images)
    assert timed_out and all(images[p]["archived"] for p in timed_out)  # the retry got them
    # a comments API that answers 404 sends the crawl to the comments page; failed only when that fails too
    api_404, page_404 = (
        {
            int(m[1])
            for e in campaign.sent
            if e["fault"] == "comments_404" and e["kind"] == kind and (m := _COMMENTS_OF.search(e["target"]))
        }
        for kind in ("comments", "comments_page")
    )
    assert api_404 & set(rows)
    for article in api_404 & set(rows):
        row = rows[article]
        if article in page_404:
            assert row["comments_status"] == "failed" and row["comments"] == [], article
        else:
            assert row["comments_status"] == "comments_page" and row["comments"], article


def test_memory_and_wall_time_are_bounded(campaign: Campaign) -> None:
    for run in campaign.runs:
        assert run.seconds < MAX_RUN_SECONDS and run.rss_mib < MAX_RSS_MIB, (run.seconds, run.rss_mib)


# --- killed five times ------------------------------------------------------------------------------------------


def comparable(out: Path, origin: str) -> dict[int, str]:
    """Index rows as text, without what legitimately differs between two archives of the same site: when and
    where in the WARCs a capture landed (``captured_at``, ``warc`` pointers) and the replica's port."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("captured_at", "warc")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {
        article: json.dumps(strip(row), sort_keys=True, ensure_ascii=False).replace(origin, "ORIGIN")
        for article, row in index_rows(out).items()
    }


def test_kill_plan_is_seeded() -> None:
    assert kill_plan(SEED) == kill_plan(SEED) != kill_plan(SEED + 1)
    assert len(kill_plan(SEED)) == KILLS


def test_five_sigkills_end_with_the_same_archive_as_the_undisturbed_run(
    campaign: Campaign, killed: Campaign
) -> None:
    assert [code for _, code in killed.killed] == [-signal.SIGKILL] * KILLS
    check_archive_is_whole(killed.out)
    verify = run_cli("verify", str(killed.out))
    assert verify.returncode == 0, explain(verify)
    expected, got = comparable(campaign.out, campaign.origin), comparable(killed.out, killed.origin)
    assert set(got) == set(expected), (sorted(set(expected) - set(got)), sorted(set(got) - set(expected)))
    differing = [article for article in expected if got[article] != expected[article]]
    assert not differing, differing[:5]
    # what is still missing is missing for the same reasons
    last, reference = named(killed.runs[-1].summary), named(campaign.runs[-1].summary)
    assert {a: e["outcome"] for a, e in last.items()} == {a: e["outcome"] for a, e in reference.items()}


# --- the figures ------------------------------------------------------------------------------------------------


def figures(campaign: Campaign) -> dict[str, Any]:
    """Faults injected by kind and what they came to: recovered (the post, image or comments got archived
    after all), reported (named in a run summary, noted on the row, or, for a page asset, its error response
    kept in the WARC), lost (none of those). Shared with ``bench/faults.py``."""
    rows = index_rows(campaign.out)
    summaries = [named(run.summary) for run in campaign.runs]
    images = {i["url"].removeprefix(campaign.origin): i for row in rows.values() for i in row["images"]}
    clean_later: set[str] = set()
    by_kind: dict[str, Counter[str]] = {}
    urls: dict[str, set[str]] = {}  # distinct paths each kind hit
    for entry in reversed(campaign.sent):  # newest first: a clean answer after a fault is a recovery
        path = entry["target"].split("?")[0]
        if not entry["fault"]:
            if entry["status"] == 200:
                clean_later.add(path)
            continue
        counts = by_kind.setdefault(entry["fault"], Counter())
        counts["injected"] += 1
        urls.setdefault(entry["fault"], set()).add(path)
        match = _ARTICLE_PATH.match(path)
        if entry["kind"] == "article" and match:
            article = int(match[1])
            state = (
                "recovered"
                if article in rows
                else "reported"
                if any(article in s for s in summaries)
                else "lost"
            )
        elif entry["kind"] in ("comments", "comments_page"):
            found = _COMMENTS_OF.search(path)
            row = rows.get(int(found[1])) if found else None
            failed = row is not None and row["comments_status"] == "failed"
            got = path in clean_later or (
                row is not None and row["comments_status"] in ("api", "comments_page")
            )
            state = "recovered" if got else "reported" if failed else "lost"
        elif entry["kind"] == "media":
            # a trickled answer arrives whole: that one is the recovery (a page asset is in the WARC, no row field)
            trickled = entry["fault"] == "trickle" and entry["status"] == 200
            got = path in clean_later or trickled or (path in images and images[path]["archived"])
            # on a row: its error; a page asset (CSS, script) is no row field: its 404 response is in the WARC
            noted = images[path]["error"] if path in images else entry["status"] == 404
            state = "recovered" if got else "reported" if noted else "lost"
        else:  # a listing page: recovered when the walk went on (the tests check every post got a row or reason)
            walked_on = entry["fault"].startswith("next_") or entry["fault"] == "trickle"
            state = "recovered" if path in clean_later or walked_on else "lost"
        counts[state] += 1
    served = [e for e in campaign.sent if e["kind"] in SERVED]
    for kind, paths in urls.items():
        by_kind[kind]["urls"] = len(paths)
    return {
        "by_kind": {kind: dict(by_kind[kind]) for kind in sorted(by_kind, key=list(KINDS).index)},
        "responses": len(served),
        "faulty": sum(c["injected"] for c in by_kind.values()),
        "urls": len({e["target"].split("?")[0] for e in served}),
        "faulty_urls": len(set().union(*urls.values())),
        "posts": len(campaign.listed),
        "archived": len(rows),
        "runs": [{"seconds": round(r.seconds, 1), "rss_mib": round(r.rss_mib)} for r in campaign.runs],
    }


def test_figures_lose_nothing(campaign: Campaign) -> None:
    result = figures(campaign)
    lost = {kind: c["lost"] for kind, c in result["by_kind"].items() if c.get("lost")}
    assert not lost, lost
    for kind, counts in result["by_kind"].items():
        assert counts["injected"] == counts.get("recovered", 0) + counts.get("reported", 0), kind
    assert 0.15 < result["faulty_urls"] / result["urls"] < 0.25  # rate=0.2 of the URLs
