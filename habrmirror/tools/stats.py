"""What an archive holds, in numbers: posts by year, month, hub, author, language and type; comments; captures
and revisits by day and outcome; bytes on disk by kind. An offline reader (tools/, no Scrapy).

Rows stream shard by shard and the capture log line by line, so memory grows with the number of distinct hubs,
authors and days, not with the archive. ``plot_stats`` draws posts per month and captures per day (matplotlib,
Agg backend: no display needed).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from habrmirror.store.captures import iter_captures
from habrmirror.store.index import shard_lines
from habrmirror.store.layout import ArchiveDir
from habrmirror.store.search import SEARCH_DIR
from habrmirror.wording import plural

__all__ = ["archive_stats", "format_stats", "plot_stats"]

TOP = 20  # hubs and authors listed by format_stats
# archive.json, runs/ and anything else a user left in DIR count as "other"
_KINDS = {"warc": "warc", "indexes": "cdxj", "index": "index", "captures": "captures", "state": "state"}
_KINDS[SEARCH_DIR] = "search"


def archive_stats(root: Path) -> dict[str, Any]:
    """The archive's numbers, JSON-ready (every key a string, counters sorted by key or by count)."""
    archive = ArchiveDir(Path(root))
    years: Counter[str] = Counter()
    months: Counter[str] = Counter()
    hubs: Counter[str] = Counter()
    authors: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    types: Counter[str] = Counter()
    articles = gone = comments_counted = comments_archived = with_comments = 0
    for shard in sorted(archive.index_dir.glob("*.jsonl")):
        for _, line in shard_lines(shard):
            row = orjson.loads(line)
            articles += 1
            published = row.get("published_at") or ""
            years[published[:4] or "unknown"] += 1
            months[published[:7] or "unknown"] += 1
            hubs.update(dict.fromkeys(row.get("hubs") or [], 1))
            authors[row.get("author") or "unknown"] += 1
            languages[row.get("language") or "unknown"] += 1
            types[row.get("type") or "unknown"] += 1
            gone += bool(row.get("gone_at"))
            count = (row.get("statistics") or {}).get("commentsCount")
            comments_counted += count if isinstance(count, int) else 0
            archived = row.get("comments")
            if archived:
                comments_archived += len(archived)
                with_comments += 1

    outcomes: Counter[str] = Counter()
    days: Counter[str] = Counter()
    revisits_by_day: Counter[str] = Counter()
    captures = revisits = 0
    for capture in iter_captures(archive.captures_dir):
        captures += 1
        outcomes[capture.outcome] += 1
        day = capture.time[:10]
        days[day] += 1
        if capture.revisit:
            revisits += 1
            revisits_by_day[day] += 1

    return {
        "articles": articles,
        "gone": gone,
        "by_year": dict(sorted(years.items())),
        "by_month": dict(sorted(months.items())),
        "by_hub": dict(hubs.most_common()),
        "by_author": dict(authors.most_common()),
        "by_language": dict(languages.most_common()),
        "by_type": dict(types.most_common()),
        "comments": {
            "counted": comments_counted,  # what the pages say (statistics.commentsCount)
            "archived": comments_archived,  # comments held in the rows
            "articles_with_archived": with_comments,
        },
        "captures": {
            "total": captures,
            "revisits": revisits,
            "by_outcome": dict(outcomes.most_common()),
            "by_day": dict(sorted(days.items())),
            "revisits_by_day": dict(sorted(revisits_by_day.items())),
        },
        "size_bytes": disk_usage(archive.root),
    }


def disk_usage(root: Path) -> dict[str, int]:
    """Bytes on disk by kind: warc, cdxj, index, captures, state, search, other, and the total."""
    sizes = dict.fromkeys([*_KINDS.values(), "other"], 0)
    for child in root.iterdir() if root.is_dir() else ():
        kind = _KINDS.get(child.name, "other") if child.is_dir() else "other"
        sizes[kind] += _bytes(child)
    sizes["total"] = sum(sizes.values())
    return sizes


def _bytes(path: Path) -> int:
    try:
        if path.is_symlink() or not path.is_dir():
            return path.lstat().st_size
        return sum(_bytes(child) for child in path.iterdir())
    except FileNotFoundError:  # a temp file renamed away while a writer runs
        return 0


def format_stats(stats: dict[str, Any], top: int = TOP) -> list[str]:
    """Human lines: totals first, then each breakdown (hubs and authors: the ``top`` largest)."""
    captures = stats["captures"]
    comments = stats["comments"]
    size = stats["size_bytes"]
    lines = [
        f"{stats['articles']} posts ({stats['gone']} gone since archived), "
        f"{captures['total']} captures ({captures['revisits']} revisits)",
        f"comments: {comments['counted']} by the pages' counts, {comments['archived']} archived "
        f"(in {comments['articles_with_archived']} posts)",
        "size: "
        + ", ".join(f"{kind} {_human(value)}" for kind, value in size.items() if kind != "total")
        + f"; total {_human(size['total'])}",
        "by year: " + _pairs(stats["by_year"]),
        "by language: " + _pairs(stats["by_language"]),
        "by type: " + _pairs(stats["by_type"]),
        f"top hubs ({len(stats['by_hub'])} in all): " + _pairs(stats["by_hub"], top),
        f"top authors ({len(stats['by_author'])} in all): " + _pairs(stats["by_author"], top),
        "captures by outcome: " + _pairs(captures["by_outcome"]),
    ]
    days = captures["by_day"]
    if days:
        busiest = max(days, key=days.__getitem__)
        lines.append(
            f"captures on {plural(len(days), 'day')}, {min(days)} to {max(days)}; busiest {busiest} ({days[busiest]})"
        )
    return lines


def _pairs(counts: dict[str, int], top: int | None = None) -> str:
    items = list(counts.items())[:top]
    more = len(counts) - len(items)
    text = ", ".join(f"{name} {count}" for name, count in items) or "none"
    return text + (f", ... {more} more" if more > 0 else "")


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def plot_stats(stats: dict[str, Any], out: Path) -> None:
    """A PNG of two charts: posts per month of publication, captures (and revisits) per day."""
    from datetime import date

    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    months = {key: value for key, value in stats["by_month"].items() if key != "unknown"}
    days = stats["captures"]["by_day"]
    revisits = stats["captures"]["revisits_by_day"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8), constrained_layout=True)
    figure.suptitle(
        f"{stats['articles']} posts, {stats['captures']['total']} captures", fontsize=14, fontweight="bold"
    )

    month_dates = [date(int(key[:4]), int(key[5:7]), 1) for key in months]
    top.bar(month_dates, list(months.values()), width=25, color="#4c72b0", align="edge")
    top.set_title("Posts by month of publication")
    top.set_ylabel("posts")
    _date_axis(top, mdates, month_dates, "%Y-%m", "month of publication", pad_days=(10, 40))
    unknown = stats["by_month"].get("unknown", 0)
    if unknown:
        top.text(0.99, 0.95, f"{unknown} without a date", transform=top.transAxes, ha="right", va="top")

    day_dates = [date.fromisoformat(key) for key in days]
    bottom.bar(day_dates, list(days.values()), width=0.8, color="#55a868", label="captures")
    if revisits:
        bottom.bar(
            [date.fromisoformat(key) for key in revisits],
            list(revisits.values()),
            width=0.8,
            color="#c44e52",
            label="of which revisits (unchanged)",
        )
    bottom.set_title("Captures per day")
    bottom.set_ylabel("captures")
    bottom.legend(loc="upper left")
    _date_axis(bottom, mdates, day_dates, "%Y-%m-%d", "day of capture (UTC)", pad_days=(3, 3))
    for axes in (top, bottom):
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.grid(axis="y", alpha=0.3)
    figure.savefig(out, dpi=100)
    plt.close(figure)


def _date_axis(
    axes: Any, mdates: Any, dates: list[Any], pattern: str, label: str, pad_days: tuple[int, int]
) -> None:
    """Dates on the x axis, readable however many: a few ticks, formatted, slanted; a little room around."""
    from datetime import timedelta

    axes.set_xlabel(label)
    if not dates:
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center")
        return
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.DateFormatter(pattern))
    axes.set_xlim(min(dates) - timedelta(days=pad_days[0]), max(dates) + timedelta(days=pad_days[1]))
    axes.tick_params(axis="x", labelrotation=30)
