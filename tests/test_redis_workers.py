"""Workers of a shared job (``crawl --redis``): real redis-server, real replica, real worker processes.

Three workers archive every post once into one archive that verifies; a SIGKILLed worker's leased requests are
re-done by the others; a worker started after the job is done exits at once; the shared rate holds in the
replica's sent log; Redis stopped mid-run stops the worker with one line and the job resumes on restart.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from habrmirror.crawl.frontier.jobs import job_status
from habrmirror.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from habrmirror.replica import ReplicaProcess
from habrmirror.replica.process import most_in_window
from habrmirror.store.layout import ArchiveDir
from tests.conftest import FAST, ROOT, run_cli
from tests.test_crawl_support import (
    all_listed,
    captures,
    check_archive_is_whole,
    crawler_requests,
    index_rows,
    marks,
    requested_ids,
    wait_until,
)

pytestmark = pytest.mark.slow

PASSWORD = "s3cret-pw"
NO_THROTTLE = ["--set", "AUTOTHROTTLE_ENABLED=false", "--set", "HABR_LEASE_TTL=2"]


class RedisServer:
    """Debian's redis-server on 127.0.0.1, a free port, its own directory; stopped on exit."""

    def __init__(self, directory: Path, password: str | None = None, persistent: bool = False) -> None:
        self.directory = directory
        self.password = password
        self.persistent = persistent
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        args += ["--save", ""]
        # the stop-and-resume test keeps the job over a restart, as a production Redis does
        args += (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        )
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        wait_until(lambda: self._answers(client), 10, "redis-server to answer PING")
        client.close()
        return self

    def _answers(self, client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: a clean shutdown (the append-only file is complete)
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, password=PASSWORD).start()
    yield server
    server.stop()


def worker(out: Path, origin: str, url: str, name: str, *args: str) -> subprocess.Popen[str]:
    """One ``habrmirror crawl --redis`` worker process."""
    command = [sys.executable, "-m", "habrmirror", "crawl", "--out", str(out), "--origin", origin]
    command += ["--redis", url, *FAST, *NO_THROTTLE, "--set", f"HABR_WORKER_ID={name}", *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout + stderr


def archived_counts(out: Path) -> Counter[int]:
    return Counter(c.id for c in captures(out) if c.outcome == "archived" and c.id is not None)


def verify(out: Path) -> None:
    result = run_cli("verify", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    check_archive_is_whole(out)
    assert not (out / "workers").exists()  # every worker archive was folded in


def sends_per_window(sent: list[dict[str, Any]], seconds: float) -> int:
    """The most responses the replica sent in any window of ``seconds`` (windows start at each send)."""
    return most_in_window(
        sorted(datetime.fromisoformat(entry["time"]).timestamp() for entry in sent), seconds
    )


def test_three_workers_archive_every_post_once_into_one_archive_at_the_shared_rate(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    out = tmp_path / "archive"
    rate = 20
    with ReplicaProcess(synthetic=30) as replica:
        listed = all_listed(replica.origin)
        job = ["--job", "three", "--rate", str(rate), "--no-comments"]
        workers = [worker(out, replica.origin, redis_server.url, f"w{n}", *job) for n in range(3)]
        results = [finish(process) for process in workers]
        sent = crawler_requests(replica)

        for code, output in results:
            assert code == EXIT_OK, output
            assert PASSWORD not in output  # the URL is shown masked
            # (a worker that started after the others finished the job only says so)
            assert f"redis://:***@127.0.0.1:{redis_server.port}/0" in output or "nothing to do" in output
        folded = [output for _, output in results if "this worker folded" in output]
        assert len(folded) == 1, [output for _, output in results]

        # one archive: every listed post has one row, one archived capture and was fetched once
        assert set(index_rows(out)) == listed
        assert archived_counts(out) == {article: 1 for article in listed}
        assert requested_ids(sent) == sorted(listed)
        warcs = sorted(path.name for path in (out / "warc").glob("*.warc.gz"))
        assert {name.split("-")[1] for name in warcs} <= {"w0", "w1", "w2"}, warcs
        verify(out)
        assert set(marks(out)) == {"ru/articles", "ru/news"}  # the joined walks moved the marks

        # politeness across workers: at most --rate requests per second to the host, over any 5 s. Over 1 s a
        # few more show in the log: the replica logs each answer when it has built it, and on a loaded
        # machine its one event loop falls behind and answers requests that arrived 50 ms apart back-to-back.
        assert len(sent) > 5 * rate  # long enough for the windows to mean something
        assert sends_per_window(sent, 5.0) <= 5 * rate
        assert sends_per_window(sent, 1.0) <= rate * 1.25

        status = job_status(redis_server.client(), "three")
        assert status["state"] == "done" and status["queued"] == status["leased"] == 0
        assert sorted(status["workers"]) == ["w0", "w1", "w2"]
        assert status["result"]["rows"] == len(listed)

        # a worker started after the job is done exits at once, touching nothing
        before = sorted(p.name for p in out.rglob("*"))
        code, output = finish(worker(out, replica.origin, redis_server.url, "late", *job), timeout=30)
        assert code == EXIT_OK, output
        assert "job three: done already; nothing to do" in output
        assert sorted(p.name for p in out.rglob("*")) == before
        assert len(crawler_requests(replica)) == len(sent)

        # the next job starts from the archive's marks and archived ids: nothing new, no post fetched
        fast = ["--rate", "500", "--no-comments"]
        code, output = finish(worker(out, replica.origin, redis_server.url, "n0", "--job", "next", *fast))
        assert code == EXIT_OK and "this worker folded" in output, output
        assert requested_ids(crawler_requests(replica)[len(sent) :]) == []
        # a refresh job re-captures every post of its window once; still one row per post
        refresh = ["--job", "refresh", "--refresh-days", "100000", *fast]
        refreshers = [worker(out, replica.origin, redis_server.url, f"r{n}", *refresh) for n in range(2)]
        assert all(finish(process)[0] == EXIT_OK for process in refreshers)
        assert archived_counts(out) == {article: 2 for article in listed}
        assert set(index_rows(out)) == listed
        verify(out)
        rows = {article: row["captured_at"] for article, row in index_rows(out).items()}
        reindexed = run_cli("reindex", str(out))
        assert reindexed.returncode == 0, reindexed.stdout + reindexed.stderr
        assert {article: row["captured_at"] for article, row in index_rows(out).items()} == rows

    listing = run_cli("jobs", "--redis", redis_server.url)
    assert listing.returncode == 0, listing.stderr
    jobs = [line.split(":")[0] for line in listing.stdout.splitlines() if not line.startswith(" ")]
    assert jobs == ["next", "refresh", "three"]
    assert "three: done; queued 0 (+0 id blocks), leased 0, done " in listing.stdout
    assert PASSWORD not in listing.stdout + listing.stderr
    as_json = json.loads(run_cli("jobs", "--redis", redis_server.url, "--job", "three", "--json").stdout)
    assert [job["job"] for job in as_json] == ["three"]


def test_a_sigkilled_workers_leases_are_redone_by_the_others(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=40) as replica:
        listed = all_listed(replica.origin)
        # slow enough (10 requests/s for the three) that the victim holds leases when it is killed
        job = ["--job", "kill", "--rate", "10", "--no-comments", "--set", "HABR_IMAGES=false"]
        victim = worker(out, replica.origin, redis_server.url, "victim", *job)
        client = redis_server.client()

        def victim_holds_work() -> bool:
            counts = job_status(client, "kill")["workers"].get("victim", {})
            return counts.get("leased_now", 0) > 0 and counts.get("done", 0) > 0

        wait_until(victim_holds_work, 60, "the victim to hold leases", interval=0.05)
        others = [worker(out, replica.origin, redis_server.url, f"w{n}", *job) for n in range(2)]
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        results = [finish(process) for process in others]
        for code, output in results:
            assert code == EXIT_OK, output

        status = job_status(client, "kill")
        assert status["workers"]["victim"]["state"] == "dead"
        assert status["workers"]["victim"]["requeued"] > 0  # its leases went back and were done by others
        assert status["state"] == "done" and status["result"]["dead_workers"] == ["victim"]
        assert set(index_rows(out)) == listed
        # a post the victim logged before it could acknowledge may have a second capture, never a second row
        assert set(archived_counts(out)) == listed
        warcs = [Path(name).name for name in status["result"]["warc_files"]]
        assert any(name.startswith("habrmirror-victim-") for name in warcs), warcs
        verify(out)
        assert marks(out) == {}  # a job with a dead worker leaves the marks (the next run fills any gap)


def test_a_retry_after_pauses_every_worker(tmp_path: Path, redis_server: RedisServer) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess(synthetic=20) as replica:
        listed = sorted(all_listed(replica.origin))
        target = f"/ru/articles/{listed[len(listed) // 2]}/"
        replica.control("fail", status=429, path=target, retry_after=2)
        job = ["--job", "pause", "--rate", "40", "--no-comments", "--set", "HABR_IMAGES=false"]
        workers = [worker(out, replica.origin, redis_server.url, f"w{n}", *job) for n in range(2)]
        assert all(finish(process)[0] == EXIT_OK for process in workers)
        sent = crawler_requests(replica)
        times = [datetime.fromisoformat(entry["time"]).timestamp() for entry in sent]
        blocked = next(t for t, entry in zip(times, sent, strict=True) if entry["status"] == 429)
        # what was on its way when the 429 left may still arrive; after that, no worker sends until it is over
        during = [t - blocked for t in times if blocked + 0.3 < t < blocked + 1.9]
        assert during == [], during
        assert sorted(t - blocked for t in times if t > blocked)[-1] > 2  # the crawl went on after the pause
        assert set(index_rows(out)) == set(listed)  # and the post was retried and archived


def test_redis_stopped_mid_run_stops_the_worker_with_one_line_and_the_job_resumes(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    server = RedisServer(tmp_path, persistent=True).start()
    try:
        with ReplicaProcess(synthetic=30) as replica:
            listed = all_listed(replica.origin)
            job = ["--job", "resume", "--rate", "8", "--no-comments", "--set", "HABR_IMAGES=false"]
            running = worker(out, replica.origin, server.url, "w0", *job)
            client = server.client()
            wait_until(
                lambda: job_status(client, "resume")["done"] >= 5, 60, "five posts done", interval=0.05
            )
            client.close()
            server.stop()
            code, output = finish(running)
            assert code == EXIT_INTERRUPTED, output
            errors = [line for line in output.splitlines() if line.startswith("habrmirror: ")]
            assert len(errors) == 1 and "went away" in errors[0] and "run the same command" in errors[0], (
                output
            )
            assert "Traceback" not in output
            kept = index_rows(out / "workers" / "resume" / "w0")
            assert kept and set(kept) < listed  # what it archived is in its archive, folded later

            server.start()  # the same port and append-only file: the job is as Redis last saw it
            code, output = finish(worker(out, replica.origin, server.url, "w1", *job))
            assert code == EXIT_OK, output
            assert "this worker folded" in output
            assert set(index_rows(out)) == listed
            assert set(archived_counts(out)) == listed
            verify(out)
    finally:
        server.stop()


def test_a_fold_that_cannot_take_the_archive_is_retried_by_the_next_worker(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    out = tmp_path / "archive"
    with ReplicaProcess() as replica:
        listed = all_listed(replica.origin)
        job = ["--job", "locked", "--rate", "500", "--no-comments", "--set", "HABR_LOCK_WAIT=0.5"]
        with ArchiveDir(out).writer_lock(holder="a test holding the archive"):
            code, output = finish(worker(out, replica.origin, redis_server.url, "w0", *job))
        assert code == EXIT_INTERRUPTED, output
        assert (
            "the fold into" in output
            and "locked by pid" in output
            and "run the job's command again" in output
        )
        assert not (out / "index").exists() or not index_rows(out)  # nothing folded yet, nothing lost:
        assert set(index_rows(out / "workers" / "locked" / "w0")) == listed
        code, output = finish(worker(out, replica.origin, redis_server.url, "w1", *job))
        assert code == EXIT_OK and "this worker folded" in output, output
        assert requested_ids(crawler_requests(replica)).count(min(listed)) == 1  # the retry fetched nothing
        assert set(index_rows(out)) == listed
        verify(out)


def test_redis_unreachable_at_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    result = run_cli("crawl", "--out", str(tmp_path / "a"), "--redis", url, *FAST)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.count("\n") == 1 and "cannot reach Redis at redis://:***@127.0.0.1" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert not (tmp_path / "a" / "workers").exists()
    bad = run_cli("crawl", "--job", "x", "--out", str(tmp_path / "a"))
    assert bad.returncode == EXIT_USAGE and "--job needs --redis" in bad.stderr


def test_job_names_follow_the_arguments_and_the_hour() -> None:
    from habrmirror.crawl.frontier.jobs import default_job_name, mask_url

    hour = datetime.fromisoformat("2026-12-06T21:17:00+00:00")
    later = datetime.fromisoformat("2026-12-06T21:59:59+00:00")
    next_hour = datetime.fromisoformat("2026-12-06T22:00:00+00:00")
    name = default_job_name("articles", {"pages": 5}, "https://habr.com", hour)
    assert name.startswith("articles-") and name.endswith("-2026120621")
    assert default_job_name("articles", {"pages": 5}, "https://habr.com", later) == name
    assert default_job_name("articles", {"pages": 5}, "https://habr.com", next_hour) != name
    assert default_job_name("articles", {"pages": 6}, "https://habr.com", hour) != name
    assert mask_url("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert mask_url("redis://host:6379/0") == "redis://host:6379/0"
