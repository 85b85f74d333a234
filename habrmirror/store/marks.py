"""Where scheduled listing crawls resume from: one publication-time mark per listing, ``state/crawl-state.json``.

The mark is the newest publication time a *completed* run saw. A run walks a listing newest-first until it
passes that mark, so whatever appeared since is covered without a gap; a run that was killed, hit its budget,
had a listing page fail, or stopped early by ``--pages`` before reaching the old mark leaves the mark where it
was, and the next run walks the gap again (already archived ids are skipped by id, so this costs only listing
pages). Which ids are archived is the index's business, not this file's.

Posts that failed in a way a later run may fix (network, HTTP 5xx, blocked) do not hold the marks: they go on
the file's *retry list* and the next run asks for them first, by URL, for at most ``retry_runs`` runs; then the
run summary names them as given up. (Holding the marks for them made every run re-walk the listings back to
the old mark for as long as one post kept failing.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from habrmirror.archive.atomic import write_json_atomic
from habrmirror.clock import iso, utc_now
from habrmirror.wording import plural

STATE_FILE = "crawl-state.json"


@dataclass
class ListingWalk:
    """How far one run walked one listing."""

    key: str
    previous_mark: datetime | None
    newest: datetime | None = None
    oldest: datetime | None = None
    pages: int = 0  # listing pages read
    reached_stop: bool = False  # passed the previous mark (or --since / the refresh window)
    reached_end: bool = False  # the listing had no next page
    hit_page_limit: bool = False
    failed: str | None = None

    def see(self, published: datetime | None) -> None:
        if published is None:
            return
        self.newest = published if self.newest is None else max(self.newest, published)
        self.oldest = published if self.oldest is None else min(self.oldest, published)

    def stop_time(self, since: datetime | None, refresh_after: datetime | None) -> datetime | None:
        """Walk back until entries are older than this (the oldest of mark, --since, refresh window)."""
        bounds = [t for t in (self.previous_mark, since) if t is not None]
        stop = max(bounds) if bounds else None
        if refresh_after is not None and stop is not None:
            stop = min(stop, refresh_after)
        return stop

    def completed(self, run_ok: bool) -> bool:
        """True when this walk left no gap above the previous mark."""
        if not run_ok or self.failed:
            return False
        if self.reached_end:
            return True
        if self.previous_mark is None:
            return (
                self.reached_stop or self.hit_page_limit
            )  # first run: the depth the user chose is the history
        return self.reached_stop and (self.oldest is None or self.oldest <= self.previous_mark)

    def why_not(self, reason: str, transient: int) -> str:
        if reason != "finished":
            return f"run ended early ({reason})"
        if transient:
            return f"{plural(transient, 'transient failure')} of listing pages: walked again next run"
        if self.failed:
            return self.failed
        if self.newest is None:
            return "no entries seen"
        return "stopped (--pages/--since) before reaching the previous mark"


class CrawlState:
    """The marks of all listings of one archive."""

    def __init__(
        self, path: Path, marks: dict[str, str], retry: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.path = path
        self.marks = marks
        self.retry = retry or {}  # article id (a string: JSON keys) -> url, runs, outcome, reason
        self.given_up: dict[str, str] = {}  # ids the retry list gave up on -> when (not put on it again)

    @classmethod
    def load(cls, state_dir: Path) -> CrawlState:
        path = state_dir / STATE_FILE
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        state = cls(path, data.get("marks", {}), data.get("retry", {}))
        state.given_up = data.get("given_up", {})
        return state

    def retry_items(self) -> list[tuple[int, str]]:
        """(id, url) of the posts to ask for first, oldest entry first."""
        return [(int(article), str(entry["url"])) for article, entry in self.retry.items()]

    def note_failed(self, article: int, url: str, outcome: str, reason: str | None, limit: int) -> bool:
        """A post failed again in a way a later run may fix: kept for the next run, or, after ``limit`` runs,
        dropped (returns True: given up)."""
        if str(article) in self.given_up:
            return False  # given up before: a walk that lists it still asks, the retry list does not
        entry = self.retry.pop(str(article), None) or {"runs": 0}
        runs = int(entry.get("runs", 0)) + 1
        if runs >= limit:
            self.given_up[str(article)] = iso(utc_now())
            return True
        self.retry[str(article)] = {"url": url, "runs": runs, "outcome": outcome, "reason": reason}
        return False

    def settled(self, article: int) -> None:
        """The post was archived, or failed for good (gone, not an article): no more retries."""
        self.retry.pop(str(article), None)
        self.given_up.pop(str(article), None)

    def mark(self, key: str) -> datetime | None:
        value = self.marks.get(key)
        return datetime.fromisoformat(value) if value else None

    def set_mark(self, key: str, moment: datetime) -> None:
        current = self.mark(key)
        if current is None or moment > current:
            self.marks[key] = iso(moment)

    def save(self) -> None:
        write_json_atomic(
            self.path,
            {"marks": self.marks, "retry": self.retry, "given_up": self.given_up, "updated": iso(utc_now())},
        )
