"""Benchmark: 3 workers of a shared job (``crawl --redis``) against one worker, on a replica 100 ms away.

Place: developer tool next to the frontier (``habrmirror.crawl.frontier``); nothing imports it. Each run starts
its own redis-server (127.0.0.1, a free port, no persistence) and replica (``--latency MS --synthetic N``), and
backfills the synthetic ids with ``habrmirror crawl --redis ... --ids`` (id blocks: every worker has work from
the start). AutoThrottle off, ``CONCURRENT_REQUESTS=4`` (and per domain) in every worker, images and comments
on. Printed, same run:

* (1) one worker, ``--rate`` high enough not to bind: articles/s (wall time from start to the last exit,
  the fold included);
* (3) three workers, the same: articles/s and the ratio to (1) (target >= 2.7);
* (r) three workers at ``--rate 20``: the most responses the replica sent in any 5-s (and 1-s) window
  (target <= 100 per 5 s).

Usage: ``python bench/workers.py [--synthetic 300] [--latency 100] [--rate-articles 80]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from habrmirror.replica.process import most_in_window  # noqa: E402  (the sent log's busiest window)

FIRST_ID = 800001  # the replica's first synthetic id (habrmirror/replica/catalog.py)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(
    workers: int, articles: int, latency: float, rate: float, scratch: Path
) -> tuple[float, int, list[float]]:
    """(seconds, articles archived, the replica's send times) of one job with ``workers`` workers."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=scratch,
        stdout=subprocess.DEVNULL,
    )
    port_file, log = scratch / "replica.port", scratch / "sent.jsonl"
    replica = subprocess.Popen(
        [sys.executable, "-m", "habrmirror.replica", "--port", "0", "--port-file", str(port_file)]
        + ["--synthetic", str(articles), "--latency", str(latency), "--log", str(log)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        while not port_file.exists():
            time.sleep(0.05)
        origin = f"http://127.0.0.1:{port_file.read_text()}"
        out = scratch / "archive"
        command = [sys.executable, "-m", "habrmirror", "crawl", "--out", str(out), "--origin", origin]
        command += ["--redis", f"redis://127.0.0.1:{port}/0", "--job", "bench", "--rate", str(rate)]
        command += ["--ids", f"{FIRST_ID}-{FIRST_ID + articles - 1}"]
        for setting in (
            "HABR_LOOPBACK_ONLY=true",
            "AUTOTHROTTLE_ENABLED=false",
            "CONCURRENT_REQUESTS=4",
            "CONCURRENT_REQUESTS_PER_DOMAIN=4",
            "HABR_PROGRESS_INTERVAL=0",
        ):
            command += ["--set", setting]
        time.sleep(0.5)  # redis-server listening
        started = time.perf_counter()
        processes = [
            subprocess.Popen(command + ["--set", f"HABR_WORKER_ID=w{n}"], env=env, stdout=subprocess.PIPE)
            for n in range(workers)
        ]
        for process in processes:
            process.communicate()
            assert process.returncode == 0, f"worker exited {process.returncode}"
        seconds = time.perf_counter() - started
        wall_start = time.time() - seconds
        rows = sum(1 for shard in (out / "index").glob("*.jsonl") for _ in shard.open())
        sent = sorted(datetime.fromisoformat(json.loads(line)["time"]).timestamp() for line in log.open())
        print(
            f"    {workers} worker(s): start-up (start to first response) {sent[0] - wall_start:.1f} s,"
            f" the end (last response to the last exit, fold included) {wall_start + seconds - sent[-1]:.1f} s"
        )
        return seconds, rows, sent
    finally:
        for process in (replica, redis):
            process.terminate()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=300, help="articles to backfill (default 300)")
    parser.add_argument(
        "--latency", type=float, default=100, help="replica latency per answer, ms (default 100)"
    )
    parser.add_argument(
        "--rate-articles", type=int, default=80, help="articles in the --rate 20 run (default 80)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as scratch:
        figures = {}
        for workers in (1, 3):
            directory = Path(scratch) / f"w{workers}"
            directory.mkdir()
            seconds, rows, sent = run(workers, args.synthetic, args.latency, 10_000, directory)
            crawling = sent[-1] - sent[0]  # first to last response: without start-up and fold
            figures[workers] = (rows / seconds, rows / crawling)
            print(
                f"({workers}) {workers} worker(s): {rows} articles in {seconds:.1f} s = {rows / seconds:.1f}"
                f" articles/s ({len(sent) / seconds:.1f} responses/s); crawling (first to last response)"
                f" {crawling:.1f} s = {rows / crawling:.1f} articles/s"
            )
        print(
            f"    3 workers / 1 worker: {figures[3][0] / figures[1][0]:.2f}x start to exit,"
            f" {figures[3][1] / figures[1][1]:.2f}x while crawling (target >= 2.7)"
        )
        directory = Path(scratch) / "rate"
        directory.mkdir()
        seconds, rows, sent = run(3, args.rate_articles, args.latency, 20, directory)
        print(
            f"(r) 3 workers at --rate 20: {len(sent)} responses in {seconds:.1f} s; most in any 5 s:"
            f" {most_in_window(sent, 5.0)} (target <= 100), in any 1 s: {most_in_window(sent, 1.0)}"
        )


if __name__ == "__main__":
    main()
