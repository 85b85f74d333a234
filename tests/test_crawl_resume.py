"""Interrupted scheduled crawls leave no gap: a run stopped by its request budget, by SIGTERM or by SIGKILL keeps
the listing marks where they were, and the next completed run archives everything the interrupted one missed,
with the archive whole (no torn line, no open WARC, every index pointer readable).
"""

from __future__ import annotations

import random
import signal
from collections import Counter
from pathlib import Path

import pytest

from habrmirror.exits import EXIT_INTERRUPTED, EXIT_OK
from habrmirror.replica import ReplicaProcess
from tests.test_crawl_support import (
    BackgroundCrawl,
    all_listed,
    captures,
    check_archive_is_whole,
    crawl,
    explain,
    index_rows,
    marks,
    summary_of,
    wait_until,
)

pytestmark = pytest.mark.slow

SEED = 1234
KILL_ROUNDS = 4
FLUSH_EVERY = ["--set", "HABR_INDEX_FLUSH_ROWS=4"]  # flush during the run, so kills also land between flushes


def capture_lines(out: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in (out / "captures").glob("*.jsonl"))


def archived_counts(out: Path) -> Counter[int]:
    """``archived`` captures per id over every run so far."""
    return Counter(c.id for c in captures(out) if c.outcome == "archived" and c.id is not None)


def interrupt(run: BackgroundCrawl, out: Path, after_lines: int, sig: signal.Signals) -> tuple[int, str]:
    """Send ``sig`` once the capture log has ``after_lines`` lines (0: once the run's WARC is open)."""
    if after_lines:
        wait_until(lambda: capture_lines(out) >= after_lines or not run.running(), 60, "captures")
    else:
        wait_until(lambda: any((out / "warc").glob("*.open")) or not run.running(), 60, "the run's WARC")
    assert run.running(), f"the run ended before the planned interruption:\n{run.stop(sig)}"
    return run.stop(sig)


def test_budget_and_sigterm_keep_the_mark_and_the_next_run_fills_the_gap(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=30) as replica:
        listed = all_listed(replica.origin)

        # 1. First run ever, stopped by its request budget: some posts archived, no mark set.
        budget = crawl(out, replica.origin, "--budget", "25")
        assert budget.returncode == EXIT_INTERRUPTED, explain(budget)
        stopped = summary_of(out, budget)
        assert stopped["finish_reason"] == "request_budget"
        assert "mark not moved (run ended early (request_budget))" in budget.stdout
        assert marks(out) == {}
        assert all(not walk["mark_moved"] for walk in stopped["listings"].values())
        first_part = set(index_rows(out))
        assert first_part and first_part < listed
        # a request the budget refused is no failure and leaves no capture line
        assert stopped["failed"] == 0 and {c.outcome for c in captures(out)} == {"archived"}
        # an article the run indexed got its images (it will never be fetched again)
        assert all(image["archived"] for row in index_rows(out).values() for image in row["images"])

        # 2. The next run archives exactly the rest, and now sets the marks.
        rest = crawl(out, replica.origin)
        assert rest.returncode == EXIT_OK, explain(rest)
        assert {c.id for c in captures(out, summary_of(out, rest)["run"])} == listed - first_part
        assert set(index_rows(out)) == listed
        complete_marks = marks(out)
        assert set(complete_marks) == {"ru/articles", "ru/news"}

        # 3. 25 new posts (more than a listing page); a run stopped by SIGTERM after 3 of them keeps the mark.
        added = {entry["id"] for entry in replica.control("add", count=25)["added"]}
        lines = capture_lines(out)
        # (two requests at a time, 0.2 s apart: a graceful stop finishes what is queued in the downloader, so
        # keep that short, and slow enough that 25 posts cannot all be done before the signal lands)
        run = BackgroundCrawl(
            out, replica.origin, "--set", "CONCURRENT_REQUESTS=2", "--set", "DOWNLOAD_DELAY=0.2"
        )
        code, output = interrupt(run, out, lines + 3, signal.SIGTERM)
        assert code == EXIT_INTERRUPTED, output
        assert "shutdown" in output and "mark not moved (run ended early (shutdown)); it stays at" in output
        assert marks(out) == complete_marks
        partial = set(index_rows(out)) & added
        assert partial and partial < added

        # 4. The next completed run archives the other new posts: no gap, nothing twice.
        final = crawl(out, replica.origin)
        assert final.returncode == EXIT_OK, explain(final)
        summary = summary_of(out, final)
        assert {c.id for c in captures(out, summary["run"])} == added - partial
        assert summary["listings"]["ru/articles"]["pages"] == 2  # the 25 new posts span into page 2
        listed = all_listed(replica.origin)

    assert set(index_rows(out)) == listed
    assert archived_counts(out) == {article: 1 for article in listed}
    assert marks(out)["ru/articles"] > complete_marks["ru/articles"]
    check_archive_is_whole(out)


def kill_plan(seed: int, rounds: int) -> list[tuple[int, int]]:
    """``(posts added before the round, capture lines the killed run writes before SIGKILL)`` per round.

    A pure function of the seed, so a failing round can be replayed exactly; 0 lines means "kill as soon as
    the run's WARC is open" (during startup, robots.txt or the first listing pages).
    """
    rng = random.Random(seed)
    plan = []
    for number in range(rounds):
        added = 0 if number == 0 else rng.randint(8, 16)
        plan.append((added, rng.randint(0, (added or 30) // 2)))  # round 0: 30 synthetic posts + 8 real
    return plan


def test_kill_plan_is_repeatable() -> None:
    assert kill_plan(SEED, KILL_ROUNDS) == kill_plan(SEED, KILL_ROUNDS)
    assert kill_plan(SEED, KILL_ROUNDS) != kill_plan(SEED + 1, KILL_ROUNDS)


@pytest.mark.parametrize("plan", [kill_plan(SEED, KILL_ROUNDS)], ids=[f"seed{SEED}"])
def test_sigkill_at_seeded_moments_then_resume_leaves_a_whole_archive(
    tmp_path: Path, plan: list[tuple[int, int]]
) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=30) as replica:
        for number, (add, kill_after) in enumerate(plan):
            if add:
                replica.control("add", count=add)
            marks_before = marks(out)
            lines = capture_lines(out)
            run = BackgroundCrawl(out, replica.origin, *FLUSH_EVERY)
            code, output = interrupt(run, out, lines + kill_after if kill_after else 0, signal.SIGKILL)
            where = f"round {number}, plan {plan}, output:\n{output}"
            assert code == -signal.SIGKILL, where
            assert marks(out) == marks_before, where
            assert list((out / "warc").glob("*.open")), where  # the killed run left its WARC open

            resumed = crawl(out, replica.origin, *FLUSH_EVERY)
            assert resumed.returncode == EXIT_OK, f"{where}\n{explain(resumed)}"
            listed = all_listed(replica.origin)
            assert set(index_rows(out)) == listed, where
            # each post archived once: what the killed run logged was recovered, not fetched again
            assert archived_counts(out) == {article: 1 for article in listed}, where
            check_archive_is_whole(out)
        assert set(marks(out)) == {"ru/articles", "ru/news"}
