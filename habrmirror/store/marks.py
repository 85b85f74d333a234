"""Where scheduled listing crawls resume from: one publication-time mark per listing, ``state/crawl-state.json``.

The mark is the newest publication time a *completed* run saw. A run walks a listing newest-first until it
passes that mark, so whatever appeared since is covered without a gap; a run that was killed, hit its budget,
had transient failures, or stopped early by ``--pages`` before reaching the old mark leaves the mark where it
was, and the next run walks the gap again (already archived ids are skipped by id, so this costs only listing
pages). Which ids are archived is the index's business, not this file's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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
            return f"{plural(transient, 'transient failure')} (network, HTTP, blocked): retried next run"
        if self.failed:
            return self.failed
        if self.newest is None:
            return "no entries seen"
        return "stopped (--pages/--since) before reaching the previous mark"


class CrawlState:
    """The marks of all listings of one archive."""

    def __init__(self, path: Path, marks: dict[str, str]) -> None:
        self.path = path
        self.marks = marks

    @classmethod
    def load(cls, state_dir: Path) -> CrawlState:
        path = state_dir / STATE_FILE
        marks = json.loads(path.read_text(encoding="utf-8")).get("marks", {}) if path.exists() else {}
        return cls(path, marks)

    def mark(self, key: str) -> datetime | None:
        value = self.marks.get(key)
        return datetime.fromisoformat(value) if value else None

    def set_mark(self, key: str, moment: datetime) -> None:
        current = self.mark(key)
        if current is None or moment > current:
            self.marks[key] = iso(moment)

    def save(self) -> None:
        write_json_atomic(self.path, {"marks": self.marks, "updated": iso(utc_now())})
