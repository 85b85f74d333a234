"""Benchmark: a full ``habrmirror crawl`` against a bare Scrapy fetch and ``wget --warc-file`` of the same site.

Place: developer tool next to the crawl (``habrmirror.crawl.run``); nothing imports it. One run starts the local replica
(``--synthetic N``, 2,000 by default) and measures, each in its own child process (peak RSS from ``wait4``):

* (c) ``wget -r -l 1 -p --warc-file`` from the listing pages (articles at depth 1, their images as requisites);
  run first, it also warms the replica's caches;
* (b) ``habrmirror crawl`` with everything on (WARC, parse, validation, index, images), fresh archive dir;
* (a) bare Scrapy: exactly the responses (b) recorded (URL multiset from (b)'s WARC), no WARC, no parsing.

(a) and (b) share the politeness settings (AutoThrottle off, the same CONCURRENT_REQUESTS and per-domain
limit, robots.txt obeyed); wget is one connection, one request at a time (it has no concurrency), robots on.
The replica's CPU time per run is printed, so a saturated server is visible. ``--scale`` adds the peak-RSS
comparison of (b) at 1k vs 10k articles; ``--profile`` runs (b) once more under cProfile and prints the top costs.
``--search-cost`` measures only what keeping the search index costs a crawl: (b) as usual, (b-) the same crawl
with no search index (its file made unreadable before the run, so the writer runs without one, as it does when
the search index is behind) and (a), taking turns ``--repeat`` times; it prints b/b- and b/a before and after.

Usage: ``python bench/crawl.py [--synthetic 2000] [--scale] [--profile] [--search-cost] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGE_SIZE = 20  # replica listing page size (habrmirror.replica.listings.PAGE_SIZE)
_STATS_COUNT = re.compile(r"'downloader/response_count': (\d+)")


# ---------------------------------------------------------------------------------------------------------
# Child processes: the replica, the runs, and their resource use.


@dataclass
class Measured:
    """One timed child process: wall seconds, peak RSS (KiB), exit code and the replica CPU it cost."""

    name: str
    seconds: float
    max_rss_kib: int
    returncode: int
    responses: int = 0
    articles: int = 0  # article pages fetched (HTTP 200)
    replica_cpu: float = 0.0
    cpu: float = 0.0  # CPU seconds of the child and the children it waited for (its parse worker)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0


def child_env() -> dict[str, str]:
    """This environment with the repo importable (the package is not installed)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Replica:
    """``python -m habrmirror.replica`` without a sent-log (the log's JSON line per response would cost the
    server CPU that the crawlers are then charged for)."""

    def __init__(self, synthetic: int, work: Path) -> None:
        port_file = work / f"replica-{synthetic}.port"
        port_file.unlink(missing_ok=True)  # a stale file from an earlier replica would name a dead port
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "habrmirror.replica",
                "--port",
                "0",
                "--synthetic",
                str(synthetic),
                "--port-file",
                str(port_file),
            ],
            env=child_env(),
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the replica did not start")
            time.sleep(0.05)
        self.origin = f"http://127.0.0.1:{int(port_file.read_text())}"
        self.synthetic = synthetic

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def replica_running(synthetic: int, work: Path) -> Iterator[Replica]:
    replica = Replica(synthetic, work)
    try:
        yield replica
    finally:
        replica.stop()


def measure(name: str, command: list[str], log: Path, replica: Replica, cwd: Path) -> Measured:
    """Run ``command`` to the end; wall time, the child's own peak RSS (``wait4``), replica CPU spent."""
    replica_before = replica.cpu()
    with log.open("wb") as sink:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=child_env(), cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        name,
        seconds,
        usage.ru_maxrss,
        process.returncode,
        replica_cpu=replica.cpu() - replica_before,
        cpu=usage.ru_utime + usage.ru_stime,
    )


# ---------------------------------------------------------------------------------------------------------
# The three runs.


def politeness(concurrency: int, per_domain: int, autothrottle: bool = False) -> dict[str, Any]:
    """What (a) and (b) share (``--autothrottle``: habrmirror's polite default, AutoThrottle on, for both)."""
    return {
        "AUTOTHROTTLE_ENABLED": autothrottle,
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        "ROBOTSTXT_OBEY": True,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
    }


def habrmirror_command(
    out: Path, origin: str, shared: dict[str, Any], profile: Path | None = None
) -> list[str]:
    """``habrmirror crawl`` with every feature at its default (on), plus the shared politeness."""
    prefix = [sys.executable]
    if profile is not None:
        prefix += ["-m", "cProfile", "-o", str(profile)]
    command = [*prefix, "-m", "habrmirror", "crawl", "--out", str(out), "--origin", origin]
    command += [
        "--log-level",
        "INFO",
        "--set",
        "HABR_LOOPBACK_ONLY=true",
        "--set",
        "HABR_PROGRESS_INTERVAL=0",
    ]
    for key, value in shared.items():
        if key != "LOG_LEVEL":
            command += ["--set", f"{key}={json.dumps(value)}"]
    return command


def bare_command(urls: Path, stats: Path, shared: dict[str, Any]) -> list[str]:
    return [sys.executable, __file__, "bare-child", str(urls), str(stats), json.dumps(shared)]


def wget_command(listings: Path, warc: Path, files: Path, origin: str) -> list[str]:
    """Listing pages at depth 0, the articles they link at depth 1, and those pages' images (-p)."""
    host = re.escape(origin)
    accept = (
        rf"^{host}/(robots\.txt|ru/(articles|news)/(page[0-9]+/)?|ru/(articles|news)/[0-9]+/([^/]*_files/[^/]*\.(png|jpe?g|gif|svg|webp))?"
        r"|habrastorage\.org/.*|hsto\.org/.*)$"
    )
    return [
        "wget",
        "--recursive",
        "--level=1",
        "--page-requisites",
        "--no-verbose",
        f"--accept-regex={accept}",
        # listing snippets' cover images: neither habrmirror nor (a) fetch them (they are not article images)
        "--reject-regex=/upload_files/synthetic/[0-9]+/lead\\.png$",
        "--execute=robots=on",
        f"--warc-file={warc}",
        f"--directory-prefix={files}",
        f"--input-file={listings}",
    ]


def run_bare(urls_file: str, stats_file: str, shared_json: str) -> int:
    """Child of (a): fetch every URL of the list (it repeats the URLs habrmirror fetched more than once)."""
    import scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response

    urls = Path(urls_file).read_text(encoding="utf-8").split()

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self) -> Any:
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response: Response) -> None:
            return None

    process = CrawlerProcess(json.loads(shared_json))
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler)
    process.start()
    Path(stats_file).write_text(json.dumps(crawler.stats.get_stats(), default=str), encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------------------------------------
# Reading what each run fetched.


def warc_responses(paths: list[Path]) -> list[tuple[str, int | None]]:
    """``(target URI, HTTP status)`` of every response/revisit record, in file order."""
    from warcio.archiveiterator import ArchiveIterator

    found = []
    for path in paths:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type in ("response", "revisit"):
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    status = record.http_headers.get_statuscode() if record.http_headers else None
                    found.append((uri, int(status) if status else None))
    return found


def kind_of(url: str) -> str:
    path = url.split("//", 1)[-1].split("/", 1)[-1] if "//" in url else url
    path = "/" + path
    if path == "/robots.txt":
        return "robots"
    if re.match(r"^/ru/(articles|news|all)/(page\d+/)?$", path):
        return "listing"
    if re.match(r"^/ru/(articles|news|post)/\d+/$", path):
        return "article"
    if path.startswith(("/habrastorage.org/", "/hsto.org/")) or "_files/" in path:
        return "media"
    return "other"


def describe(responses: list[tuple[str, int | None]]) -> str:
    kinds = Counter(kind_of(url) for url, _ in responses)
    statuses = Counter(status for _, status in responses)
    unique = len({url for url, _ in responses})
    return (
        ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        + f"; {unique} distinct URLs; status "
        + ", ".join(
            f"{status}: {count}" for status, count in sorted(statuses.items(), key=lambda p: str(p[0]))
        )
    )


def article_pages(responses: list[tuple[str, int | None]]) -> int:
    return sum(1 for url, status in responses if status == 200 and kind_of(url) == "article")


def stats_count(log: Path) -> int:
    """``downloader/response_count`` from a Scrapy stats dump in a log (0 when absent)."""
    found = _STATS_COUNT.findall(log.read_text(encoding="utf-8", errors="replace"))
    return int(found[-1]) if found else 0


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def check(measured: Measured, log: Path) -> None:
    if measured.returncode not in (0, 8):  # wget: 8 = some request answered an HTTP error (404 links)
        raise SystemExit(f"{measured.name} exited with {measured.returncode}:\n{tail(log)}")


NO_SEARCH = b"not a database: this crawl keeps no search index\n"


def run_habrmirror(
    name: str,
    replica: Replica,
    work: Path,
    shared: dict[str, Any],
    profile: Path | None = None,
    search: bool = True,
) -> tuple[Measured, list[tuple[str, int | None]], Path]:
    """``search=False``: the archive's search index file is made unreadable first, so the writer keeps none
    (``open_for_writer`` gives None, as for a search index behind the index) and the rest runs as usual."""
    out = work / f"archive-{name}"
    shutil.rmtree(out, ignore_errors=True)
    if not search:
        (out / "search").mkdir(parents=True)
        (out / "search" / "search.sqlite").write_bytes(NO_SEARCH)
    log = work / f"{name}.log"
    measured = measure(name, habrmirror_command(out, replica.origin, shared, profile), log, replica, work)
    check(measured, log)
    if not search and (out / "search" / "search.sqlite").read_bytes() != NO_SEARCH:
        raise SystemExit(f"{name}: the crawl wrote a search index after all")
    fetched = warc_responses(sorted((out / "warc").glob("*.warc.gz")))
    measured.responses = stats_count(log) or len(fetched)
    measured.articles = article_pages(fetched)
    run = sorted((out / "runs").glob("*.json"))
    summary = json.loads(run[-1].read_text(encoding="utf-8")) if run else {}
    measured.note = f"archived {summary.get('archived')}, failed {summary.get('failed')}"
    if not summary.get("archived") or set(summary.get("outcomes", {})) != {"archived"}:
        raise SystemExit(f"{name}: the crawl did not archive cleanly: {summary.get('outcomes')}\n{tail(log)}")
    return measured, fetched, log


def measure_bare(
    name: str, replica: Replica, work: Path, shared: dict[str, Any], fetched: list[tuple[str, int | None]]
) -> Measured:
    """A bare Scrapy fetch of ``work/urls.txt``."""
    log = work / "a.log"
    stats = work / "a-stats.json"
    measured = measure(name, bare_command(work / "urls.txt", stats, shared), log, replica, work)
    check(measured, log)
    measured.responses = int(json.loads(stats.read_text())["downloader/response_count"])
    measured.articles = article_pages(fetched)
    return measured


def median_run(runs: list[Measured]) -> Measured:
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


# ---------------------------------------------------------------------------------------------------------


def print_table(rows: list[Measured]) -> None:
    print(
        f"{'run':28} {'responses':>9} {'seconds':>8} {'resp/s':>8} {'articles':>8} {'articles/s':>10} "
        f"{'peak RSS MiB':>12} {'replica CPU':>14}"
    )
    for row in rows:
        share = 100 * row.replica_cpu / row.seconds if row.seconds else 0
        print(
            f"{row.name:28} {row.responses:9d} {row.seconds:8.2f} {row.rate:8.1f} {row.articles:8d} "
            f"{row.articles / row.seconds:10.1f} {row.max_rss_kib / 1024:12.1f} {row.replica_cpu:7.2f}s {share:4.0f}%"
        )


def print_profile(path: Path, top: int = 25) -> None:
    print(f"\n--- cProfile of (b), top {top} by cumulative time, then by own time ---")
    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main(argv: list[str]) -> int:
    if argv[:1] == ["bare-child"]:
        return run_bare(*argv[1:4])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--synthetic", type=int, default=2000, help="synthetic articles on the replica")
    parser.add_argument("--concurrency", type=int, default=16, help="CONCURRENT_REQUESTS for (a) and (b)")
    parser.add_argument(
        "--per-domain", type=int, default=4, help="CONCURRENT_REQUESTS_PER_DOMAIN for (a), (b) (default 4)"
    )
    parser.add_argument(
        "--autothrottle",
        action="store_true",
        help="AutoThrottle on for (a) and (b), as habrmirror runs by default",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a), (a') and (b); medians reported")
    parser.add_argument("--scale", action="store_true", help="also peak RSS of (b) at 1k vs 10k articles")
    parser.add_argument("--profile", action="store_true", help="also run (b) under cProfile, print top costs")
    parser.add_argument(
        "--search-cost", action="store_true", help="only (b) with and without the search index, and (a)"
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temp dir)")
    args = parser.parse_args(argv)
    if shutil.which("wget") is None:
        raise SystemExit("wget not found (apt-get install wget)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="habr-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    shared = politeness(args.concurrency, args.per_domain, args.autothrottle)
    print(
        f"replica --synthetic {args.synthetic}; (a)/(b): CONCURRENT_REQUESTS={args.concurrency}, "
        f"per domain {args.per_domain}, AutoThrottle {'on' if args.autothrottle else 'off'}, robots.txt obeyed; "
        "wget: 1 connection; "
        f"{os.cpu_count()} CPUs; work dir {work}"
    )
    if args.search_cost:
        try:
            return search_cost(args.synthetic, args.repeat, work, shared)
        finally:
            if args.keep is None:
                shutil.rmtree(work, ignore_errors=True)
    try:
        with replica_running(args.synthetic, work) as replica:
            # (c) first: it also warms the replica's listing and article caches for (b) and (a).
            listings = [
                f"{replica.origin}/ru/{kind}/" + (f"page{page}/" if page > 1 else "")
                for kind, count in (
                    ("articles", listed_count(replica, "articles")),
                    ("news", listed_count(replica, "news")),
                )
                for page in range(1, -(-count // PAGE_SIZE) + 1)
            ]
            (work / "listings.txt").write_text("\n".join(listings) + "\n", encoding="utf-8")
            files = work / "wget-files"
            shutil.rmtree(files, ignore_errors=True)
            for old in work.glob("wget.warc*"):
                old.unlink()
            log = work / "c.log"
            wget = measure(
                "(c) wget --warc-file",
                wget_command(work / "listings.txt", work / "wget", files, replica.origin),
                log,
                replica,
                work,
            )
            check(wget, log)
            wget_fetched = warc_responses(sorted(work.glob("wget*.warc.gz")))
            wget.responses = len(wget_fetched)
            wget.articles = article_pages(wget_fetched)

            from habrmirror import settings as habr_settings

            # (b), (a) and (a') take turns, --repeat times; the median run of each is reported (single runs on a
            # 2-core machine vary by 5%, which is more than the margins being measured).
            b_runs: list[Measured] = []
            a_runs: list[Measured] = []
            tuned_runs: list[Measured] = []
            for _ in range(args.repeat):
                full, fetched, _ = run_habrmirror("(b) habrmirror crawl", replica, work, shared)
                b_runs.append(full)
                # (a) fetches exactly the responses (b) recorded: the same URL multiset (robots.txt on its own).
                urls = [url for url, _ in fetched if kind_of(url) != "robots"]
                (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
                a_runs.append(measure_bare("(a) bare Scrapy", replica, work, shared, fetched))
                # (a') the same, with the one stock Scrapy setting habrmirror changes for speed
                # (CONCURRENT_ITEMS: Scrapy starts that many asyncio tasks per callback), so the ratio is also
                # shown against a tuned Scrapy.
                tuned_shared = {**shared, "CONCURRENT_ITEMS": habr_settings.CONCURRENT_ITEMS}
                name = f"(a') bare, CONCURRENT_ITEMS={habr_settings.CONCURRENT_ITEMS}"
                tuned_runs.append(measure_bare(name, replica, work, tuned_shared, fetched))
            full, bare, tuned = median_run(b_runs), median_run(a_runs), median_run(tuned_runs)

            # (c') wget over exactly the responses (b) recorded (no recursion): responses/s like for like.
            for old in work.glob("wget-same.warc*"):
                old.unlink()
            log = work / "c-same.log"
            wget_same = measure(
                "(c') wget, (b)'s URLs",
                [
                    "wget",
                    "--no-verbose",
                    "--execute=robots=on",
                    f"--warc-file={work / 'wget-same'}",
                    f"--directory-prefix={work / 'wget-same-files'}",
                    f"--input-file={work / 'urls.txt'}",
                ],
                log,
                replica,
                work,
            )
            check(wget_same, log)
            same_fetched = warc_responses(sorted(work.glob("wget-same*.warc.gz")))
            wget_same.responses = len(same_fetched)
            wget_same.articles = article_pages(same_fetched)

        print()
        for runs in (a_runs, tuned_runs, b_runs):
            print(f"{runs[0].name}: " + ", ".join(f"{run.seconds:.2f} s" for run in runs) + " (median used)")
        print_table([bare, tuned, full, wget, wget_same])
        print(f"\n(b) {full.note}; fetched: {describe(fetched)}")
        print(
            f"(a) fetched {bare.responses} responses: the URL list of (b)'s WARC ({len(urls)} + robots.txt)"
        )
        print(f"(c) fetched: {describe(wget_fetched)}")
        b_urls, c_urls = {u for u, _ in fetched}, {u for u, _ in wget_fetched}
        only_b, only_c = sorted(b_urls - c_urls), sorted(c_urls - b_urls)
        print(
            f"    URLs only (b) fetched: {len(only_b)} {only_b[:3]}; only (c) fetched: {len(only_c)} {only_c[:3]}"
        )
        wget_article_rate = wget.articles / wget.seconds
        print(
            f"\nb/c responses/s = {full.rate / wget.rate:.2f}, article pages/s = "
            f"{(full.articles / full.seconds) / wget_article_rate:.2f}  (target >= 1)\n"
            f"b/a responses/s = {full.rate / bare.rate:.2f}  (target >= 0.75; same responses)\n"
            f"b/c' responses/s = {full.rate / wget_same.rate:.2f}  (target >= 1; wget fetching exactly (b)'s "
            "responses)\n"
            f"b/a' responses/s = {full.rate / tuned.rate:.2f}  (against a bare Scrapy given habrmirror's "
            "CONCURRENT_ITEMS too)"
        )

        if args.profile:
            with replica_running(args.synthetic, work) as replica:
                profile = work / "b.prof"
                profiled, _, _ = run_habrmirror("(b) under cProfile", replica, work, shared, profile)
                print(f"\n(b) under cProfile: {profiled.seconds:.1f} s, {profiled.responses} responses")
            print_profile(profile)

        if args.scale:
            scaled = []
            for count in (1000, 10000):
                with replica_running(count, work) as replica:
                    measured, _, _ = run_habrmirror(f"(b) {count} articles", replica, work, shared)
                    scaled.append(measured)
            print()
            print_table(scaled)
            ratio = scaled[1].max_rss_kib / scaled[0].max_rss_kib
            print(f"peak RSS 10k / 1k = {ratio:.2f}  (target <= 1.2)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def search_cost(synthetic: int, repeat: int, work: Path, shared: dict[str, Any]) -> int:
    """(b) with the search index, (b-) without, (a) bare, taking turns; medians and their ratios."""
    with replica_running(synthetic, work) as replica:
        run_habrmirror("(b) warm-up", replica, work, shared)  # the replica's caches (resized images), untimed
        on: list[Measured] = []
        off: list[Measured] = []
        bare: list[Measured] = []
        for _ in range(repeat):
            measured, fetched, _ = run_habrmirror("(b) habrmirror crawl", replica, work, shared)
            on.append(measured)
            measured, _, _ = run_habrmirror("(b-) no search index", replica, work, shared, search=False)
            off.append(measured)
            urls = [url for url, _ in fetched if kind_of(url) != "robots"]
            (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
            bare.append(measure_bare("(a) bare Scrapy", replica, work, shared, fetched))
    print()
    for runs in (bare, off, on):
        print(
            f"{runs[0].name}: "
            + ", ".join(f"{run.seconds:.2f} s ({run.cpu:.1f} s CPU)" for run in runs)
            + " (median used)"
        )
    full, without, base = median_run(on), median_run(off), median_run(bare)
    print_table([base, without, full])
    pairs = ", ".join(f"{b.seconds / c.seconds:.3f}" for b, c in zip(on, off, strict=True))
    cpu = statistics.median(run.cpu for run in on) / statistics.median(run.cpu for run in off)
    print(
        f"\nkeeping the search index: b/b- seconds = {full.seconds / without.seconds:.3f} of the medians "
        f"(target <= 1.05; per turn {pairs}); CPU seconds b/b- = {cpu:.3f} (medians); "
        f"b/a responses/s = {full.rate / base.rate:.2f} with it, {without.rate / base.rate:.2f} without"
    )
    return 0


def listed_count(replica: Replica, kind: str) -> int:
    """How many posts a listing of the replica holds (from its stats control endpoint)."""
    import urllib.request

    request = urllib.request.Request(f"{replica.origin}/_replica/stats", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(json.loads(answer.read())["listed"][kind])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
