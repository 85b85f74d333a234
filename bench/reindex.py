"""Benchmark: ``reindex_archive`` (WARC -> page parsers -> index) against bare warcio iteration of the same WARCs.

Place: developer tool beside ``habrmirror.tools.reindex``. It builds an archive by crawling the local replica with N
synthetic posts (images off by default, so the WARC holds the article pages and little else; ``--images`` keeps
them), or takes one with ``--archive``, then measures in one run, pinned to one CPU core:

  (a) warcio ``ArchiveIterator`` alone over every WARC file, reading each record's payload
  (b) ``reindex_archive`` on a copy of the archive (the original is never touched)

and prints reindex articles/s and the share of the reindex time that bare iteration accounts for.

Run from the repository root: ``PYTHONPATH=. python bench/reindex.py [-n 2000] [--images] [--archive DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from habrmirror.replica import ReplicaProcess  # noqa: E402
from habrmirror.tools.reindex import reindex_archive  # noqa: E402

CRAWL_SETTINGS = [
    "HABR_LOOPBACK_ONLY=true",
    "AUTOTHROTTLE_ENABLED=false",  # the replica is local: no politeness delay needed to build the bench input
    "CONCURRENT_REQUESTS_PER_DOMAIN=16",
    "HABR_PROGRESS_INTERVAL=0",
    "LOG_LEVEL=WARNING",
]


def build_archive(out: Path, count: int, images: bool) -> None:
    """Crawl a replica with ``count`` synthetic posts into ``out`` (a subprocess, as a user runs it)."""
    settings = [*CRAWL_SETTINGS, f"HABR_IMAGES={'true' if images else 'false'}"]
    with ReplicaProcess(synthetic=count) as replica:
        command = [sys.executable, "-m", "habrmirror", "crawl", "--out", str(out), "--origin", replica.origin]
        for setting in settings:
            command += ["--set", setting]
        started = time.perf_counter()
        result = subprocess.run(
            command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"crawl failed ({result.returncode}):\n{result.stderr[-3000:]}")
        print(f"built {out} in {time.perf_counter() - started:.1f} s (images {'on' if images else 'off'})")


def iterate_warcio(warcs: list[Path]) -> tuple[int, float]:
    """(records, seconds) for warcio alone: every record of every file, payload read."""
    started = time.perf_counter()
    records = 0
    for path in warcs:
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                record.raw_stream.read()
                records += 1
    return records, time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-n", "--count", type=int, default=2000, help="synthetic posts to crawl (default 2000)"
    )
    parser.add_argument("--images", action="store_true", help="also archive the body images (slower build)")
    parser.add_argument("--archive", type=Path, help="measure this archive instead of building one")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, whatever the machine has

    with tempfile.TemporaryDirectory(prefix="habr-bench-reindex-") as scratch:
        source = args.archive
        if source is None:
            source = Path(scratch) / "built"
            build_archive(source, args.count, args.images)
        copy = Path(scratch) / "copy"
        shutil.copytree(source, copy)
        warcs = sorted((copy / "warc").glob("*.warc.gz"))
        size = sum(path.stat().st_size for path in warcs)
        print(f"{len(warcs)} WARC files, {size / 1e6:.1f} MB")

        iterate_warcio(warcs)  # warm the page cache so (a) and (b) read from memory alike
        records, warcio_seconds = iterate_warcio(warcs)
        report = reindex_archive(copy)

    rate = report.articles / report.seconds if report.seconds else 0.0
    cpu_rate = report.articles / report.cpu_seconds if report.cpu_seconds else 0.0
    print(f"(a) warcio ArchiveIterator alone: {records} records in {warcio_seconds:.2f} s")
    print(f"(b) reindex_archive: {report.articles} articles, {report.rows} rows in {report.seconds:.2f} s")
    print(
        f"    -> {rate:.0f} articles/s on one core, wall clock (target >= 150); "
        f"{cpu_rate:.0f} articles per CPU second ({report.cpu_seconds:.2f} s CPU: other load on the machine "
        "lowers the first figure, not the second)"
    )
    print(
        f"    iteration share: warcio alone = {warcio_seconds / report.seconds:.0%} of the reindex time; "
        f"reindex's own pass 1 {report.iteration_seconds:.2f} s ({report.iteration_share:.0%}), "
        f"read-back {report.read_seconds:.2f} s, parse+rows {report.parse_seconds:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
