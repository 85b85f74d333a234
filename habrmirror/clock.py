"""The project's one clock: timezone-aware UTC now, ISO 8601 out, ISO 8601 in.

Pure and imported by every room (archive, store, crawl, tools): a time in a file is always written by
:func:`iso` and read back by :func:`parse_utc`.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the only clock the project uses)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with seconds, e.g. ``2026-11-25T23:08:14+00:00``."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_utc(text: str) -> datetime:
    """An ISO 8601 date or time that the project or its user wrote (a WARC-Date ``...Z``, an index field,
    ``--since 2024-05-01``) as an aware UTC datetime; a naive value is UTC. Raises ValueError when unreadable.

    Times read from *pages* are not parsed here: a page's naive time is a guess about its zone
    (see ``habrmirror.pages.text``).
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
