"""Benchmark: the search index, against bare SQLite in the same run.

Place: developer tool beside ``habrmirror.store.search``; nothing imports it. From one real post's row (a replica
sample page parsed as the crawl parses it) it makes N synthetic rows (ids 1..N, each with its own title and one
word of its own), and measures:

  writing: N rows put into a fresh ``IndexStore`` and flushed every HABR_INDEX_FLUSH_ROWS rows, as a writer
           does, (a) alone, (b) with the search-index hook as a writer has it (``open_for_writer``: rows queued,
           stemmed and inserted on the search index's thread, committed at each flush) and (c) the same hook
           with no thread (every put stemmed and inserted by the caller, as before the thread), the three taking
           turns: rows/s of each, and per row the hook's cost in wall time and in the caller's own CPU time
           (what the crawl's thread pays; the search thread's CPU is beside it, mostly without the GIL), to
           compare with a crawl's time per article (``bench/crawl.py`` prints article pages/s).
           Then the same as a crawl would see it: before each row the caller spends ``--article-ms`` of Python
           CPU (holding the GIL, as Scrapy's work does), for ``--crawl-rows`` rows: the wall time each hook adds.
           ``--new-words K`` gives each row K words no other row has, so stemming misses its cache as a crawl
           of new text does (the synthetic rows share the template's words, which are all cached after a row);
  searching: ``search_archive`` (query compiled and stemmed, freshness check, connection, Hit objects) against
           the very SQL statement it runs, given to a sqlite3 connection directly: median ms and their ratio
           (target <= 1.5), for a word every row has, a word in 1 row of 100, and a word of one row.
  one command: each query as a user runs it, a new process each time: ``python -m habrmirror search`` against
           the ``sqlite3`` command-line shell given the same SQL, and against ``python -c`` calling
           ``search_archive`` (the library alone, without the CLI's imports): median ms of ``--cold-repeat``.

Run from the repository root:
``PYTHONPATH=. python bench/search.py [--rows 100000] [--write-rows 5000] [--crawl-rows 500] [--new-words 0]
[--article-ms 5.65] [--keep DIR]`` (``--keep``: build the archive there, or reuse the one built there before)
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from habrmirror import settings  # noqa: E402
from habrmirror.items import article_record  # noqa: E402
from habrmirror.pages import parse_article  # noqa: E402
from habrmirror.store.index import IndexStore  # noqa: E402
from habrmirror.store.layout import ArchiveDir  # noqa: E402
from habrmirror.store.search import (  # noqa: E402
    SearchIndex,
    _select,
    compile_query,
    open_for_writer,
    search_archive,
    search_path,
)

TEMPLATE = ROOT / "habrmirror" / "replica" / "samples" / "article-tm-570002-browsersaved-2021.html"
FLUSH_ROWS = settings.HABR_INDEX_FLUSH_ROWS
# The hook variants timed: none, the writer's (its own thread), the caller's (no thread)
HOOKS = ("none", "writer", "no thread")


def template_row() -> dict[str, Any]:
    article = parse_article("https://habr.com/ru/articles/570002/", TEMPLATE.read_bytes())
    return article_record(article)


def synthetic(template: dict[str, Any], article_id: int, new_words: int = 0) -> dict[str, Any]:
    row = copy.copy(template)
    row["id"] = article_id
    row["title"] = f"{template['title']} (№{article_id})"
    # one word of its own, one shared by 1 row in 100, and --new-words words no other row has
    fresh = " ".join(f"слово{article_id}x{number}" for number in range(new_words))
    row["text"] = f"{template['text']}\n\nметка{article_id} группа{article_id % 100} {fresh}"
    return row


def spin(seconds: float) -> None:
    """Python work for ``seconds`` of the calling thread's CPU, holding the GIL as a crawl's reactor does."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        sum(range(200))


def write(
    root: Path,
    template: dict[str, Any],
    rows: int,
    hook: str,
    new_words: int = 0,
    start: int = 1,
    article_seconds: float = 0.0,
) -> tuple[float, float]:
    """``(wall seconds, the calling thread's CPU seconds)`` to put ``rows`` rows as a writer does (a flush
    every FLUSH_ROWS rows: shards, then the search commit), each after ``article_seconds`` of :func:`spin`;
    ``hook`` is one of HOOKS."""
    archive = ArchiveDir(root)
    archive.ensure("https://habr.com")
    index = IndexStore(archive.index_dir, flush_rows=FLUSH_ROWS)
    search: SearchIndex | None = None
    if hook == "writer":
        search = open_for_writer(archive)
        assert search is not None
    elif hook == "no thread":
        search = SearchIndex(search_path(root), create=True)
    made = [synthetic(template, article_id, new_words) for article_id in range(start, start + rows)]
    began, began_cpu = time.perf_counter(), time.thread_time()
    for number, row in enumerate(made, 1):
        if article_seconds:
            spin(article_seconds)
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
    return time.perf_counter() - began, time.thread_time() - began_cpu


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
    parser.add_argument("--keep", type=Path, help="build the archive here and keep it (reused if built)")
    parser.add_argument("--cold-repeat", type=int, default=7, help="runs of each one-command query")
    parser.add_argument("--search-only", action="store_true", help="skip the writing measurements")
    parser.add_argument("--crawl-rows", type=int, default=500, help="rows of each crawl-like write run")
    parser.add_argument(
        "--new-words", type=int, default=0, help="words of its own per written row (cache misses)"
    )
    parser.add_argument(
        "--article-ms",
        type=float,
        default=1000 / 177,
        help="a crawl's ms per article (README: bench/crawl.py)",
    )
    args = parser.parse_args()
    template = template_row()
    print(f"template row: post 570002, {len(template['text'])} characters of text")
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        # -- writing: same rows, each hook in turn, three times; the fastest run of each
        if not args.search_only:
            measure_writing(args, work, template)
        search_queries(args, work, template)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def measure_writing(args: argparse.Namespace, work: Path, template: dict[str, Any]) -> None:
    runs: dict[str, list[tuple[float, float]]] = {hook: [] for hook in HOOKS}
    for attempt in range(3):
        for hook in HOOKS:
            root = work / f"write-{attempt}"
            runs[hook].append(write(root, template, args.write_rows, hook, args.new_words))
            shutil.rmtree(root)
    wall = {hook: min(wall for wall, _ in times) for hook, times in runs.items()}
    cpu = {hook: min(cpu for _, cpu in times) for hook, times in runs.items()}
    print(
        f"writing {args.write_rows} rows ({args.new_words} new words each), flushed every {FLUSH_ROWS}: "
        + ", ".join(f"{hook} {args.write_rows / wall[hook]:.0f} rows/s" for hook in HOOKS)
    )
    for hook in HOOKS[1:]:
        per_row = (wall[hook] - wall["none"]) / args.write_rows * 1000
        per_row_cpu = (cpu[hook] - cpu["none"]) / args.write_rows * 1000
        print(
            f"  hook ({hook}): {per_row:.3f} ms per row wall, {per_row_cpu:.3f} ms of the caller's CPU; "
            f"of a crawl's {args.article_ms:.2f} ms per article: {per_row / args.article_ms:.1%} wall, "
            f"{per_row_cpu / args.article_ms:.1%} CPU"
        )
    crawl: dict[str, list[float]] = {hook: [] for hook in HOOKS}
    for attempt in range(2):
        for hook in HOOKS:
            root = work / f"crawl-{attempt}"
            seconds = args.article_ms / 1000
            crawl[hook].append(
                write(root, template, args.crawl_rows, hook, args.new_words, article_seconds=seconds)[0]
            )
            shutil.rmtree(root)
    base = min(crawl["none"])
    print(
        f"crawl-like: {args.crawl_rows} rows, each after {args.article_ms:.2f} ms of the caller's Python: "
        f"index only {base:.2f} s; "
        + ", ".join(
            f"hook ({hook}) {min(crawl[hook]):.2f} s, {min(crawl[hook]) / base:.3f}x" for hook in HOOKS[1:]
        )
    )


def search_queries(args: argparse.Namespace, work: Path, template: dict[str, Any]) -> None:
    """-- searching: one archive of --rows rows, each query in the library and as one command."""
    root = args.keep or work / "archive"
    if not (root / "index").is_dir():
        began = time.perf_counter()
        write(root, template, args.rows, hook="writer")
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
        one_command(root, words, name, sql, parameters, args.cold_repeat)


def one_command(root: Path, words: str, name: str, sql: str, parameters: list[Any], repeat: int) -> None:
    """A query as one new process: the habrmirror command, the sqlite3 shell, the library via python -c."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # the sqlite3 shell has no bound parameters here: the same statement with its values as SQL literals
    literal = sql
    for value in parameters:
        text = str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"
        literal = literal.replace("?", text, 1)
    library = (
        "import sys; from pathlib import Path; from habrmirror.store.search import search_archive;"
        " search_archive(Path(sys.argv[1]), sys.argv[2])"
    )
    commands = {
        "habrmirror search": [sys.executable, "-m", "habrmirror", "search", words, str(root), "--json"],
        "sqlite3 shell": ["sqlite3", str(search_path(root)), literal],
        "python -c search_archive": [sys.executable, "-c", library, str(root), words],
    }
    if shutil.which("sqlite3") is None:
        del commands["sqlite3 shell"]
    took = {}
    for label, command in commands.items():

        def run(command: list[str] = command) -> None:
            subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=False)

        run()  # warm the page cache and the interpreter's files
        took[label] = median_ms(run, repeat)
    base = took.get("sqlite3 shell")
    print(
        f"  as one command ({name}): "
        + ", ".join(
            f"{label} {ms:.0f} ms" + (f" ({ms / base:.1f}x the sqlite3 shell)" if base else "")
            for label, ms in took.items()
        )
    )


if __name__ == "__main__":
    sys.exit(main())
