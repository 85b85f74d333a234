"""The shared frontier's Redis steps against a real redis-server: leases, their expiry, seeding once, the
decision of who folds, the archived-id bitmap, and the shared rate and Retry-After pause.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from habrmirror.crawl.frontier.jobs import JobClosed, JobFrontier
from habrmirror.crawl.frontier.politeness import _RESERVE, SharedRateLimitMiddleware, host_keys
from habrmirror.crawl.frontier.worker import FrontierWorker
from habrmirror.crawl.spiders.articles import ArticlesSpider
from habrmirror.store.index import ArchivedIds
from tests.test_redis_workers import RedisServer, wait_until


@pytest.fixture
def client(tmp_path: Path) -> Iterator[redis.Redis]:
    server = RedisServer(tmp_path).start()
    connection = server.client()
    yield connection
    connection.close()
    server.stop()


def frontier(client: redis.Redis, worker: str, ttl: float = 0.3) -> JobFrontier:
    job = JobFrontier(client, "job", worker, lease_ttl=ttl)
    job.heartbeat()
    return job


def test_a_pop_is_leased_until_acknowledged_and_a_dead_workers_leases_come_back(client: redis.Redis) -> None:
    a, b = frontier(client, "a"), frontier(client, "b", ttl=30)
    assert a.seed([(-1.0, b"first"), (0.0, b"second")], ["1-100"], b"")
    assert not b.seed([(0.0, b"again")], [], b"")  # seeded once: the second worker only joins

    lease = a.pop()
    assert lease is not None and lease.value == b"first" and not lease.is_block  # best priority first
    assert a.pending()[:3] == (1, 1, 1)  # one queued, one block, one leased
    assert a.ack(lease.field) and not a.ack(lease.field)  # counted once

    held = [a.pop(), a.pop()]
    assert [h.value for h in held if h] == [b"second", b"1-100"] and held[1] and held[1].is_block
    # a's heartbeat stops (killed): once its TTL has run out, b's heartbeat puts both back where they were
    wait_until(lambda: not client.exists(a.key("alive:a")), 5, "a's lease TTL to run out")
    assert b.heartbeat() == 2
    assert b.pending()[:3] == (1, 1, 0)
    assert [b.pop().value, b.pop().value] == [b"second", b"1-100"]  # type: ignore[union-attr]
    assert client.smembers(a.key("dead")) == {b"a"}


def test_only_the_last_worker_of_a_done_job_folds(client: redis.Redis) -> None:
    a, b = frontier(client, "a", ttl=30), frontier(client, "b", ttl=30)
    a.seed([(0.0, b"only")], [], b"")
    lease = b.pop()
    assert a.leave() == ("left", "")  # b still holds work: the job is not done
    assert lease is not None and b.ack(lease.field)
    assert b.leave() == ("fold", "b")
    assert a.leave() == ("folded_by", "b")
    late = JobFrontier(client, "job", "late", 30)
    with pytest.raises(JobClosed, match="job job is folding already"):
        late.heartbeat()  # joining and claiming the fold are one Lua step each: no worker joins a folding job
    assert not client.sismember(late.key("active"), "late")

    c, d = JobFrontier(client, "other", "c", 30), JobFrontier(client, "other", "d", 30)
    c.heartbeat()
    d.heartbeat()
    c.seed([], [], b"")
    assert c.leave() == ("wait", "")  # done, but d is alive: d (or d's expiry) decides
    assert d.leave() == ("fold", "d")
    d.finish({"job": "other", "folded_by": "d"})  # the fold is written: the claim goes with the frontier
    assert c.leave() == (
        "folded_by",
        "d",
    )  # not a second fold (it would find nothing and overwrite the result)


def test_leaving_gives_back_what_the_worker_still_holds(client: redis.Redis) -> None:
    a, b = frontier(client, "a", ttl=30), frontier(client, "b", ttl=30)
    a.seed([(0.0, b"x")], [], b"")
    assert a.pop() is not None
    assert a.leave() == ("left", "")  # a budget or a signal: not done, its lease is queued again at once
    assert b.pop() is not None


def test_the_archived_bitmap_is_the_archives_own(client: redis.Redis) -> None:
    ids = ArchivedIds()
    for article in (1, 7, 8, 454184):
        ids.add(article)
    job = frontier(client, "a")
    job.seed([], [], bytes(ids.bits))
    assert job.archived([0, 1, 2, 7, 8, 9, 454184, 454185]) == {1, 7, 8, 454184}
    job.note_archived(9)
    assert job.archived([9]) == {9} and job.archived_in_job([1, 9]) == {9}


def test_the_rate_is_shared_and_retry_after_pauses_every_worker(tmp_path: Path, client: redis.Redis) -> None:
    reserve = client.register_script(_RESERVE)
    slot, pause = host_keys("http://127.0.0.1:1/x")
    waits = [int(reserve(keys=[slot, pause], args=[100_000])) for _ in range(3)]
    # three reservations in a row (any workers): 0, then 0.1 s, then 0.2 s from now
    assert (
        waits[0] < 20_000
        and 80_000 < waits[1] - waits[0] <= 100_000
        and 80_000 < waits[2] - waits[1] <= 100_000
    )

    port = client.connection_pool.connection_kwargs["port"]
    settings = {
        "HABR_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "HABR_JOB": "pause",
        "HABR_ARCHIVE_DIR": str(tmp_path / "archive"),
    }
    crawler = get_crawler(ArticlesSpider, settings)
    assert FrontierWorker.of(crawler) is not None
    middleware = SharedRateLimitMiddleware.from_crawler(crawler)
    request = Request("http://127.0.0.1:1/ru/articles/1/")
    answer = Response(request.url, status=429, headers={"Retry-After": "3"}, request=request)
    assert middleware.process_response(request, answer) is answer  # the retry stays RetryAfterMiddleware's
    assert 2_500 < client.pttl(pause) <= 3_000
    # every worker's next slot for that host is after the pause
    assert int(reserve(keys=[slot, pause], args=[100_000])) > 2_500_000
