"""Archive statistics on a real archive (a crawl of the replica): the totals equal the index and the capture log
counted here by hand, the lines read well, the PNG is a real image."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from habrmirror.store.index import iter_rows
from habrmirror.tools.stats import archive_stats, format_stats, plot_stats
from tests.test_reindex import build_archive

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stats") / "archive"
    build_archive(out)
    return out


def test_totals_equal_the_index_and_the_capture_log(archive: Path) -> None:
    stats = archive_stats(archive)
    json.dumps(stats)  # JSON-ready
    rows = list(iter_rows(archive / "index"))
    assert stats["articles"] == len(rows) > 10
    assert stats["gone"] == sum(1 for row in rows if row.get("gone_at")) == 1
    assert stats["by_year"] == dict(sorted(Counter(row["published_at"][:4] for row in rows).items()))
    assert sum(stats["by_month"].values()) == len(rows)
    assert stats["by_language"] == dict(Counter(row["language"] for row in rows))
    assert stats["by_type"] == dict(Counter(row["type"] or "unknown" for row in rows))
    assert stats["by_author"] == dict(Counter(row["author"] for row in rows))
    assert stats["by_hub"] == dict(Counter(hub for row in rows for hub in row["hubs"]))
    assert stats["comments"]["archived"] == sum(len(row.get("comments") or []) for row in rows)
    assert stats["comments"]["counted"] == sum(
        (row["statistics"] or {}).get("commentsCount") or 0 for row in rows
    )

    lines = [json.loads(line) for path in (archive / "captures").glob("*.jsonl") for line in path.open()]
    assert stats["captures"]["total"] == len(lines) == sum(stats["captures"]["by_day"].values())
    assert stats["captures"]["revisits"] == sum(line["revisit"] for line in lines) == 1  # build_archive's
    assert stats["captures"]["by_outcome"] == dict(Counter(line["outcome"] for line in lines))

    sizes = stats["size_bytes"]
    warc = sum(path.stat().st_size for path in (archive / "warc").iterdir())
    assert sizes["warc"] == warc and sizes["search"] > 0 and sizes["index"] > 0
    assert sizes["total"] == sum(value for kind, value in sizes.items() if kind != "total")


def test_human_lines(archive: Path) -> None:
    stats = archive_stats(archive)
    lines = format_stats(stats)
    assert lines[0].startswith(f"{stats['articles']} posts (1 gone since archived), ")
    assert any(line.startswith("top hubs (") for line in lines)
    assert all("\n" not in line for line in lines)


def test_plot_is_a_png(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "stats.png"
    plot_stats(archive_stats(archive), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_an_empty_archive(tmp_path: Path) -> None:
    (tmp_path / "warc").mkdir()
    stats = archive_stats(tmp_path)
    assert stats["articles"] == stats["captures"]["total"] == 0
    assert format_stats(stats)[0].startswith("0 posts")
    plot_stats(stats, tmp_path / "empty.png")
