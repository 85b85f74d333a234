"""Known-gone ids: a 404 without a row is re-checked on a back-off (7, 14, 28 ... days, at most 180), not on
every run; archiving the id forgets it; the file survives a restart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from habrmirror.capture import Outcome, not_fetched
from habrmirror.clock import iso
from habrmirror.store.gone import GONE_FILE, GoneIds
from habrmirror.store.writer import ArchiveWriter

DAY0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def test_back_off_doubles_up_to_half_a_year(tmp_path: Path) -> None:
    gone = GoneIds(tmp_path / GONE_FILE)
    assert gone.due(5, DAY0)
    gone.seen_gone(5, DAY0)
    assert not gone.due(5, DAY0 + timedelta(days=6)) and gone.due(5, DAY0 + timedelta(days=7))
    gone.seen_gone(5, DAY0 + timedelta(days=7))
    assert not gone.due(5, DAY0 + timedelta(days=20)) and gone.due(5, DAY0 + timedelta(days=21))
    for _ in range(10):
        gone.seen_gone(5, DAY0)
    assert not gone.due(5, DAY0 + timedelta(days=179)) and gone.due(5, DAY0 + timedelta(days=180))


def test_saved_and_loaded_and_forgotten_once_archived(tmp_path: Path) -> None:
    gone = GoneIds(tmp_path / GONE_FILE)
    gone.seen_gone(7, DAY0)
    gone.seen_gone(2**40, DAY0)
    gone.save()
    again = GoneIds(tmp_path / GONE_FILE)
    assert 7 in again and 2**40 in again and len(again) == 2
    assert again.next_check_day(7) == gone.next_check_day(7)
    again.forget(7)
    again.save()
    assert 7 not in GoneIds(tmp_path / GONE_FILE)


def test_the_writer_notes_gone_ids_without_a_row(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path / "a", "https://habr.com", lock_wait=0, flush_rows=10, holder="test")
    gone = not_fetched("https://habr.com/ru/articles/9/", 9, Outcome.GONE, "HTTP 404", iso(DAY0))
    writer.log(gone, run="r1")
    assert not writer.gone_check_due(9, DAY0 + timedelta(days=1))
    assert writer.gone_check_due(9, DAY0 + timedelta(days=8)) and writer.gone_check_due(10, DAY0)
    writer.close()
    reopened = ArchiveWriter(tmp_path / "a", "https://habr.com", lock_wait=0, flush_rows=10, holder="test")
    assert not reopened.gone_check_due(9, DAY0 + timedelta(days=1))
    reopened.close()
