"""Benchmark: the search index, against bare SQLite in the same run.

Place: developer tool beside ``habrmirror.store.search``; nothing imports it. From one real post's row (a replica
sample page parsed as the crawl parses it) it makes N synthetic rows (ids 1..N, each with its own title and one
word of its own), and measures:

  writing: N rows put into a fresh ``IndexStore`` and flushed every 200 rows, as a writer does, (a) alone and
           (b) with the search-index hook (each row also put into the search index, committed at each flush):
           rows/s of each, and the hook's cost per row in ms, to compare with a crawl's time per article
           (``bench/crawl.py`` prints article pages/s);
  searching: ``search_archive`` (query compiled and stemmed, freshness check, connection, Hit objects) against
           the very SQL statement it runs, given to a sqlite3 connection directly: median ms and their ratio
           (target <= 1.5), for a word every row has, a word in 1 row of 100, and a word of one row.

Run from the repository root: ``PYTHONPATH=. python bench/search.py [--rows 100000] [--write-rows 5000]``
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from habrmirror.items import article_record  # noqa: E402
from habrmirror.pages import parse_article  # noqa: E402
from habrmirror.store.index import IndexStore  # noqa: E402
from habrmirror.store.layout import ArchiveDir  # noqa: E402
from habrmirror.store.search import (  # noqa: E402
    SearchIndex,
    _select,
    compile_query,
    search_archive,
    search_path,
)

TEMPLATE = ROOT / "habrmirror" / "replica" / "samples" / "article-tm-570002-browsersaved-2021.html"
FLUSH_ROWS = 200  # HABR_INDEX_FLUSH_ROWS' default


def template_row() -> dict[str, Any]:
    article = parse_article("https://habr.com/ru/articles/570002/", TEMPLATE.read_bytes())
    return article_record(article)


def synthetic(template: dict[str, Any], article_id: int) -> dict[str, Any]:
    row = copy.copy(template)
    row["id"] = article_id
    row["title"] = f"{template['title']} (№{article_id})"
    # one word of its own, one shared by 1 row in 100
    row["text"] = f"{template['text']}\n\nметка{article_id} группа{article_id % 100}"
    return row


def write(root: Path, template: dict[str, Any], rows: int, hook: bool, start: int = 1) -> float:
    """Seconds to put ``rows`` rows as a writer does (flush every 200: shards, then the search commit)."""
    archive = ArchiveDir(root)
    archive.ensure("https://habr.com")
    index = IndexStore(archive.index_dir, flush_rows=FLUSH_ROWS)
    search = SearchIndex(search_path(root), create=True) if hook else None
    made = [synthetic(template, article_id) for article_id in range(start, start + rows)]
    began = time.perf_counter()
    for number, row in enumerate(made, 1):
        index.put(row)
        if search is not None:
            search.put(row)
        if number % FLUSH_ROWS == 0:
            index.flush()
            if search is not None:
                search.commit(None)
    index.flush()
    if search is not None:
        search.commit(None)
        search.close()
    return time.perf_counter() - began


def median_ms(function: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the archive searched")
    parser.add_argument("--write-rows", type=int, default=5000, help="rows of each timed write run")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each query (median reported)")
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it")
    args = parser.parse_args()
    template = template_row()
    print(f"template row: post 570002, {len(template['text'])} characters of text")
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        # -- writing: same rows, without and with the hook, twice each, alternating
        runs: dict[bool, list[float]] = {False: [], True: []}
        for attempt in range(2):
            for hook in (False, True):
                root = work / f"write-{hook}-{attempt}"
                runs[hook].append(write(root, template, args.write_rows, hook))
                shutil.rmtree(root)
        bare, hooked = min(runs[False]), min(runs[True])
        per_row = (hooked - bare) / args.write_rows * 1000
        print(
            f"writing {args.write_rows} rows: index only {args.write_rows / bare:.0f} rows/s, "
            f"with the search index {args.write_rows / hooked:.0f} rows/s; "
            f"the hook costs {per_row:.2f} ms per row"
        )
        for rate in (177.0,):  # README: bench/crawl.py --scale, article pages/s
            print(
                f"  a crawl at {rate:.0f} article pages/s spends {1000 / rate:.2f} ms per article: "
                f"the hook is {per_row / (1000 / rate):.1%} of it"
            )

        # -- searching: one archive of --rows rows
        root = args.keep or work / "archive"
        began = time.perf_counter()
        write(root, template, args.rows, hook=True)
        print(f"built {args.rows} rows (index + search index) in {time.perf_counter() - began:.0f} s")
        queries = {
            "every row": "скорость",
            "1 row in 100": "группа42",
            "one row": f"метка{args.rows // 2}",
        }
        for name, words in queries.items():
            expression = compile_query(words)
            assert expression is not None
            sql, parameters = _select(expression, None, None, None, 20)
            direct = sqlite3.connect(search_path(root))
            found = direct.execute(sql, parameters).fetchall()
            ours = search_archive(root, words)
            assert [hit.id for hit in ours] == [row[0] for row in found], name
            bare_ms = median_ms(lambda: direct.execute(sql, parameters).fetchall(), args.repeat)  # noqa: B023
            direct.close()

            def fresh() -> None:
                with sqlite3.connect(search_path(root)) as connection:  # noqa: B023
                    connection.execute(sql, parameters).fetchall()  # noqa: B023

            fresh_ms = median_ms(fresh, args.repeat)
            ours_ms = median_ms(lambda: search_archive(root, words), args.repeat)  # noqa: B023
            print(
                f"query {words!r} ({name}, {len(ours)} hits): search_archive {ours_ms:.2f} ms; the same SQL on "
                f"sqlite3, a new connection each time as one `habrmirror search` has, {fresh_ms:.2f} ms: "
                f"{ours_ms / fresh_ms:.2f}x (target <= 1.5); on one warm connection {bare_ms:.2f} ms: "
                f"{ours_ms / bare_ms:.2f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
