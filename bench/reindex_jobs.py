"""Benchmark: ``habrmirror reindex --jobs N`` against ``--jobs 1`` on the same archive, in the same run.

Place: developer tool beside ``habrmirror.tools.reindex``. It builds an archive by crawling the local replica
with N synthetic posts (``bench/reindex.py``'s builder), or takes one with ``--archive``, then runs the two
commands as a user does (``python -m habrmirror reindex COPY --jobs J``, a fresh copy each time, the original
never touched), taking turns ``--repeat`` times, and prints the median wall seconds of each, their ratio
(issue 15's target: >= 1.8 with 2 jobs on 2 cores), the CPU seconds of each run (this process's children:
the command and its workers) and the load average before each run: other work on the machine lowers the ratio,
and the CPU seconds show how much of it the reindex got. Beside each pair it times the machine's own ceiling: a
pure CPU loop in one process twice against the same loop in J spawned processes at once (what J processes can
gain on this machine at that moment, 2.0 on two idle cores). It checks that both give the same index bytes.

Run from the repository root: ``PYTHONPATH=. python bench/reindex_jobs.py [-n 2000] [--jobs 2] [--repeat 3]
[--archive DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reindex import build_archive  # noqa: E402  (bench/reindex.py: the same replica crawl)


def index_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for shard in sorted((root / "index").glob("*.jsonl")):
        digest.update(shard.name.encode())
        digest.update(shard.read_bytes())
    return digest.hexdigest()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_reindex(source: Path, scratch: Path, jobs: int) -> tuple[float, float, str, float]:
    """(wall seconds, CPU seconds, index digest, load average before) of one ``reindex --jobs`` on a copy."""
    copy = scratch / f"copy-{jobs}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    command = [sys.executable, "-m", "habrmirror", "reindex", str(copy), "--jobs", str(jobs)]
    load = os.getloadavg()[0]
    cpu = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"reindex --jobs {jobs} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    digest = index_digest(copy)
    shutil.rmtree(copy)
    return seconds, children_cpu() - cpu, digest, load


def burn(count: int) -> int:
    total = 0
    for number in range(count):
        total += number * number
    return total


def machine_ceiling(jobs: int, count: int = 20_000_000) -> float:
    """Seconds of ``jobs`` loops one after another / in ``jobs`` processes at once (started beforehand)."""
    started = time.perf_counter()
    for _ in range(jobs):
        burn(count)
    serial = time.perf_counter() - started
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        pool.map(burn, [1] * jobs)
        started = time.perf_counter()
        pool.map(burn, [count] * jobs, chunksize=1)
        parallel = time.perf_counter() - started
    return serial / parallel


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-n", "--count", type=int, default=2000, help="synthetic posts to crawl (default 2000)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="the parallel run's --jobs (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, median reported (default 3)")
    parser.add_argument("--archive", type=Path, help="measure this archive instead of building one")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="habr-bench-reindex-jobs-") as scratch_dir:
        scratch = Path(scratch_dir)
        source = args.archive
        if source is None:
            source = scratch / "built"
            build_archive(source, args.count, images=False)
        warcs = sorted((source / "warc").glob("*.warc.gz"))
        print(
            f"{len(warcs)} WARC files, {sum(p.stat().st_size for p in warcs) / 1e6:.1f} MB; "
            f"{len(os.sched_getaffinity(0))} cores"
        )
        runs: dict[int, list[tuple[float, float, str, float]]] = {1: [], args.jobs: []}
        ceilings = []
        for attempt in range(args.repeat):
            ceilings.append(machine_ceiling(args.jobs))
            print(
                f"  machine ceiling before run {attempt + 1}: {ceilings[-1]:.2f}x with {args.jobs} processes"
            )
            for jobs in runs:
                run = run_reindex(source, scratch, jobs)
                runs[jobs].append(run)
                print(
                    f"  run {attempt + 1} --jobs {jobs}: {run[0]:.2f} s, {run[1]:.2f} s CPU, "
                    f"load average before {run[3]:.2f}"
                )

    digests = {run[2] for results in runs.values() for run in results}
    one = statistics.median(run[0] for run in runs[1])
    many = statistics.median(run[0] for run in runs[args.jobs])
    cpu_one = statistics.median(run[1] for run in runs[1])
    cpu_many = statistics.median(run[1] for run in runs[args.jobs])
    print(f"--jobs 1: median {one:.2f} s ({cpu_one:.2f} s CPU)")
    print(
        f"--jobs {args.jobs}: median {many:.2f} s ({cpu_many:.2f} s CPU, {cpu_many / cpu_one:.2f}x of --jobs 1's)"
    )
    pairs = sorted(a[0] / b[0] for a, b in zip(runs[1], runs[args.jobs], strict=True))
    print(
        f"speed-up --jobs {args.jobs} / --jobs 1: {one / many:.2f}x of the medians (target >= 1.8 with 2 jobs on"
        f" 2 cores); per pair {', '.join(f'{ratio:.2f}' for ratio in pairs)}; the machine's ceiling (a pure CPU"
        f" loop in {args.jobs} processes): median {statistics.median(ceilings):.2f}x"
        f" ({', '.join(f'{c:.2f}' for c in ceilings)}); same index bytes in every run:"
        f" {'yes' if len(digests) == 1 else 'NO'}"
    )
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
