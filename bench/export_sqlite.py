"""Benchmark: ``export_archive(format="sqlite")`` against sqlite-utils inserting the same rows into the same
tables, in the same run (issue 12's target: within 2x).

Place: developer tool beside ``habrmirror.tools.export``. The synthetic archive is ``bench/export.py``'s (one real
fixture row, its texts cut to ``--text-chars``, ``--rows`` ids). Each measurement runs in its own child
process (with ``--keep``, after one untimed export that warms the page cache), taking turns ``--repeat`` times
(medians):

  sqlite-utils   for every index shard: the lines parsed (orjson), ``db["articles"].insert_all(rows, pk="id")``
                 (sqlite-utils writes lists and objects as JSON text itself) with a ``year`` column, the same
                 child tables (hubs, tags, images, links, comments with ``article_id`` -> articles.id) by
                 ``insert_all``, their ``article_id`` indexes and ``enable_fts(["title", "text"], FTS5)``
  export         ``export_archive(DIR, format="sqlite", jobs=J)`` (the same tables; ``--jobs``, default 1)

Both databases are then checked to hold the same ids, titles and texts.

Run from the repository root: ``python bench/export_sqlite.py [--rows 100000] [--text-chars 2000] [--repeat 3]
[--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHILD_FIELDS = {"images": ("url", "alt", "archived", "error"), "links": ("url", "text")}


def sqlite_utils_insert(root: Path, out: Path) -> int:
    """The baseline: the index lines into the export's tables with sqlite-utils alone."""
    import orjson
    import sqlite_utils

    db = sqlite_utils.Database(out)
    db.conn.execute("PRAGMA synchronous = OFF")
    rows = 0
    children: dict[str, list[dict[str, Any]]] = {}
    for shard in sorted((root / "index").glob("*.jsonl")):
        with shard.open("rb") as lines:
            articles = [orjson.loads(line) for line in lines if line.strip()]
        children = {"hubs": [], "tags": [], "images": [], "links": [], "comments": []}
        for row in articles:
            ident = row["id"]
            published = row.get("time_published")
            row["year"] = None if published is None else datetime.fromtimestamp(published, timezone.utc).year
            titles = row.get("hub_titles") or []
            for number, alias in enumerate(row.get("hubs") or []):
                title = titles[number] if number < len(titles) else None
                children["hubs"].append({"article_id": ident, "alias": alias, "title": title})
            children["tags"] += [{"article_id": ident, "tag": tag} for tag in row.get("tags") or []]
            for table, names in CHILD_FIELDS.items():
                for position, item in enumerate(row.get(table) or []):
                    child = {"article_id": ident, "position": position}
                    child.update({name: item.get(name) for name in names})
                    children[table].append(child)
            for comment in row.get("comments") or []:
                children["comments"].append({"article_id": ident, **comment})
        db["articles"].insert_all(articles, pk="id", batch_size=500, alter=True)
        for table, found in children.items():
            if found:
                db[table].insert_all(
                    found, batch_size=500, alter=True, foreign_keys=[("article_id", "articles", "id")]
                )
        rows += len(articles)
    for table in children:
        if db[table].exists():
            db[table].create_index(["article_id"])
    db["articles"].enable_fts(["title", "text"], fts_version="FTS5", create_triggers=False)
    db.close()
    return rows


def child(what: str, root: Path, out: Path, jobs: int) -> None:
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    if what == "sqlite-utils":
        rows = sqlite_utils_insert(root, out)
    else:
        from habrmirror.tools.export import export_archive

        rows = export_archive(root, format="sqlite", out=out, jobs=jobs).rows
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))


def measure(what: str, root: Path, out: Path, jobs: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", what, "--archive", str(root), "--out", str(out)]
    command += ["--jobs", str(jobs)]
    done = subprocess.run(
        command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def same_content(ours: Path, theirs: Path) -> bool:
    """The same ids, titles and texts in ``articles``, and the same number of rows in each child table."""
    query = "SELECT id, title, text FROM articles ORDER BY id"
    with sqlite3.connect(ours) as a, sqlite3.connect(theirs) as b:
        if a.execute(query).fetchall() != b.execute(query).fetchall():
            return False
        for table in ("hubs", "tags", "images", "links"):
            count = f"SELECT count(*) FROM {table}"
            if a.execute(count).fetchone() != b.execute(count).fetchone():
                return False
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the archive (default 100000)")
    parser.add_argument(
        "--text-chars", type=int, default=2000, help="cut each long text to this (default 2000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, median reported (default 3)")
    parser.add_argument("--jobs", type=int, default=1, help="the export's --jobs (default 1)")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the archive here instead of a temp dir")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.archive, args.out, args.jobs)
        return 0

    from export import build  # bench/export.py: the synthetic archive

    with tempfile.TemporaryDirectory(prefix="habr-bench-export-sqlite-") as scratch:
        base = args.keep or Path(scratch)
        root = base / f"rows-{args.rows}"
        if not (root / "index").is_dir():
            started = time.perf_counter()
            build(root, args.rows, args.text_chars)
            print(f"built {root}: {args.rows} rows in {time.perf_counter() - started:.1f} s")
        size = sum(p.stat().st_size for p in (root / "index").glob("*.jsonl"))
        print(f"{args.rows} rows, {size / 1e6:.0f} MB of JSON")
        ours, theirs = Path(scratch) / "export.db", Path(scratch) / "sqlite-utils.db"
        if args.keep is not None:
            measure("export", root, ours, args.jobs)  # warm the page cache (a fresh build leaves it warm)
        runs: dict[str, list[dict[str, Any]]] = {"sqlite-utils": [], "export": []}
        for attempt in range(args.repeat):
            for what, out in (("sqlite-utils", theirs), ("export", ours)):
                result = measure(what, root, out, args.jobs)
                runs[what].append(result)
                print(f"  run {attempt + 1} {what}: {result['rows']} rows in {result['seconds']:.2f} s")
        same = same_content(ours, theirs)
        sizes = {what: out.stat().st_size / 1e6 for what, out in (("sqlite-utils", theirs), ("export", ours))}

    median = {what: statistics.median(run["seconds"] for run in found) for what, found in runs.items()}
    for what, seconds in median.items():
        print(f"{what}: median {seconds:.2f} s, {args.rows / seconds:.0f} rows/s, {sizes[what]:.0f} MB")
    print(
        f"export --format sqlite (jobs {args.jobs}) / sqlite-utils insert_all: "
        f"{median['export'] / median['sqlite-utils']:.2f}x (target <= 2); same ids, titles, texts and child "
        f"rows: {'yes' if same else 'NO'}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
