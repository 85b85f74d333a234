"""Known-gone ids: posts that answered 404/410 and have no row, re-checked on a back-off instead of every run.

A listing keeps naming a deleted post for a while, and an ``--ids`` backfill meets many ids that never existed;
fetching each of them again on every scheduled run only fills WARCs with the same 404s. The writer notes every
``gone`` capture of an id without a row here and forgets the id once it is archived; the scheduled crawl asks
:meth:`GoneIds.due` before requesting an id. Stored in ``state/gone-ids.bin``: fixed-size records (id, day of the
last check, number of checks), written atomically with each index flush.
"""

from __future__ import annotations

import struct
from datetime import datetime, timezone
from pathlib import Path

from habrmirror.archive.atomic import write_atomic

GONE_FILE = "gone-ids.bin"
_RECORD = struct.Struct("<qiI")  # id, days since the epoch of the last check, checks so far
FIRST_RECHECK_DAYS = 7  # a post first seen gone is asked again after a week...
MAX_RECHECK_DAYS = 180  # ...then after twice as long each time, at most half a year


def _day(moment: datetime) -> int:
    return int(moment.astimezone(timezone.utc).timestamp() // 86400)


class GoneIds:
    """id -> (day of the last check, checks); ``due`` says whether a re-check is owed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[int, tuple[int, int]] = {}
        self._dirty = False
        if path.exists():
            data = path.read_bytes()
            usable = len(data) - len(data) % _RECORD.size  # a torn tail (it is written atomically: never)
            for article, day, checks in _RECORD.iter_unpack(data[:usable]):
                self._known[article] = (day, checks)

    def __len__(self) -> int:
        return len(self._known)

    def __contains__(self, article: int) -> bool:
        return article in self._known

    def seen_gone(self, article: int, when: datetime) -> None:
        """A 404/410 for ``article``, which has no row."""
        _, checks = self._known.get(article, (0, 0))
        self._known[article] = (_day(when), checks + 1)
        self._dirty = True

    def forget(self, article: int) -> None:
        """``article`` was archived: it is no longer gone."""
        if self._known.pop(article, None) is not None:
            self._dirty = True

    def next_check_day(self, article: int) -> int | None:
        """Days since the epoch when ``article`` is owed its next check; None for an id not known gone."""
        known = self._known.get(article)
        if known is None:
            return None
        day, checks = known
        return day + min(MAX_RECHECK_DAYS, FIRST_RECHECK_DAYS * 2 ** max(0, checks - 1))

    def due(self, article: int, now: datetime) -> bool:
        """True when ``article`` should be requested: not known gone, or its back-off has passed."""
        next_day = self.next_check_day(article)
        return next_day is None or _day(now) >= next_day

    def save(self) -> None:
        if not self._dirty:
            return
        write_atomic(
            self.path,
            b"".join(_RECORD.pack(a, day, checks) for a, (day, checks) in sorted(self._known.items())),
        )
        self._dirty = False
