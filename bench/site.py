"""Benchmark: ``build_site`` over N crawled articles against only reading their rows and bodies, and the re-run.

Place: developer tool beside ``habrmirror.site``. It crawls the local replica with N synthetic posts (images on:
the site copies them) into an archive, or takes one with ``--archive``, then measures in one run:

  (a) reading every index row and its page body from the WARC (``read_record`` + ``decoded_payload``)
  (b) ``build_site`` into an empty folder, without the search index (rendering, images, listings, feed), with
      article pages rendered on every core (``--workers 1``: in the main process only, to compare)
  (c) Pagefind over the result (what ``build_site`` adds on top of (b))
  (d) a re-run with nothing changed, and one after crawling 10 more articles: files written each time

and prints (b)/(a) (target <= 3) and what the incremental runs wrote.

Run from the repository root:
``PYTHONPATH=. python bench/site.py [-n 2000] [--archive DIR] [--no-images] [--workers N]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reindex import build_archive  # noqa: E402  (bench/reindex.py: crawl a synthetic replica)

from habrmirror.archive.reader import decoded_payload, read_record  # noqa: E402
from habrmirror.items import WarcPointer  # noqa: E402
from habrmirror.site import build_site  # noqa: E402
from habrmirror.site.build import SiteBuilder  # noqa: E402
from habrmirror.store.index import iter_rows  # noqa: E402


def read_rows_and_bodies(archive: Path) -> tuple[int, float]:
    """(rows, seconds) to parse every index row and read and decode its page body from the WARC."""
    started = time.perf_counter()
    count = 0
    for row in iter_rows(archive / "index"):
        if row.get("warc"):
            decoded_payload(read_record(archive, WarcPointer(**row["warc"])))
        count += 1
    return count, time.perf_counter() - started


def kinds(paths: list[str]) -> str:
    counted = Counter(path.split("/", 1)[0] if "/" in path else path for path in paths)
    return ", ".join(f"{name} {number}" for name, number in sorted(counted.items()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-n", "--count", type=int, default=2000, help="synthetic posts to crawl (default 2000)"
    )
    parser.add_argument("--no-images", action="store_true", help="crawl without the body images")
    parser.add_argument("--archive", type=Path, help="measure this archive instead of building one")
    parser.add_argument(
        "--workers", type=int, help="processes rendering article pages in (b) (default: one per core)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="habrmirror-bench-site-") as scratch:
        work = Path(scratch)
        archive = work / "archive"
        if args.archive:
            shutil.copytree(args.archive, archive)
        else:
            build_archive(archive, args.count, images=not args.no_images)
        rows, read_seconds = read_rows_and_bodies(archive)
        site = work / "site"
        started = time.perf_counter()
        report = SiteBuilder(archive, site, None, search=False, workers=args.workers).build()
        build_seconds = time.perf_counter() - started
        started = time.perf_counter()
        searched = build_site(archive, site)  # everything current: only Pagefind runs
        search_seconds = time.perf_counter() - started
        print(f"(a) read {rows} rows and their WARC bodies: {read_seconds:.2f} s")
        print(
            f"(b) build_site without search: {build_seconds:.2f} s, {len(report.written)} files, "
            f"{report.images} images ({rows / build_seconds:.0f} articles/s)"
        )
        print(f"    ratio b/a: {build_seconds / read_seconds:.2f}x (target <= 3)")
        print(f"(c) Pagefind over the site: {search_seconds:.2f} s ({searched.search_files} index files)")

        started = time.perf_counter()
        again = build_site(archive, site)
        print(
            f"(d) re-run, nothing changed: {time.perf_counter() - started:.2f} s, {len(again.written)} files "
            f"written, {again.articles_rendered} articles rendered"
        )
        if not args.archive:
            build_archive(archive, args.count + 10, images=not args.no_images)
            started = time.perf_counter()
            more = build_site(archive, site)
            seconds = time.perf_counter() - started
            print(
                f"    re-run after crawling 10 more: {seconds:.2f} s, {more.articles} articles, "
                f"{more.articles_rendered} rendered, {len(more.written)} files written ({kinds(more.written)}), "
                f"search index rebuilt: {more.search_files} files"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
