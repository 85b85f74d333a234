"""LeaseScheduler: scrapy-redis's scheduler and dupefilter, with a queue that leases what it pops to this worker.

``SCHEDULER`` of a ``--redis`` crawl (set by the spiders when ``HABR_REDIS_URL`` is). New requests go through
scrapy-redis's ``RFPDupeFilter`` into the job's sorted set; a pop moves the best one into this worker's lease
hash in one Lua step (:mod:`.jobs`), and the spider acknowledges it once its work is recorded. Follow-ups of a
leased request (a retry, a redirect hop) stay in this process under the same lease: they are the same work.
An id block popped is turned into its article requests here (the ones not archived and not known gone) and
acknowledged once they are queued. A request whose article this job archived already (a worker killed after
writing its row, before acknowledging) is acknowledged without being fetched again.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

from habrmirror.crawl.frontier.jobs import REDIS_GONE, JobFrontier
from habrmirror.crawl.frontier.worker import LEASE_META, FrontierWorker
from habrmirror.crawl.spiders.base import ARTICLE_ID_META


class LeaseQueue(Base):  # type: ignore[misc]  # scrapy-redis is untyped
    """The job's queue: a sorted set by priority plus the id blocks; pops go through :meth:`JobFrontier.pop`."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        worker = FrontierWorker.of(spider.crawler)
        assert worker is not None
        self.frontier: JobFrontier = worker.frontier

    def __len__(self) -> int:
        return int(self.server.zcard(self.key)) + int(self.server.llen(self.frontier.key("blocks")))

    def push(self, request: Request) -> None:
        self.frontier.push(-request.priority, self._encode_request(request))

    def encode(self, request: Request) -> bytes:
        data: bytes = self._encode_request(request)
        return data

    def decode(self, data: bytes) -> Request:
        request: Request = self._decode_request(data)
        return request


class LeaseScheduler(Scheduler):  # type: ignore[misc]  # scrapy-redis is untyped
    def __init__(self, worker: FrontierWorker, **kwargs: Any) -> None:
        frontier = worker.frontier
        super().__init__(
            server=frontier.client,
            persist=True,  # the job outlives any one worker: never wipe its queue or dupefilter on close
            queue_key=frontier.key("queue"),
            queue_cls="habrmirror.crawl.frontier.scheduler.LeaseQueue",
            dupefilter=RFPDupeFilter(frontier.client, key=frontier.key("dupefilter")),
            **kwargs,
        )
        self.worker = worker
        self.habr_stats: Any = None
        self.local: deque[Request] = deque()  # follow-ups of requests this worker holds a lease on

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseScheduler:
        worker = FrontierWorker.of(crawler)
        if worker is None:
            raise ValueError("LeaseScheduler needs HABR_REDIS_URL (habrmirror crawl --redis URL)")
        scheduler = cls(worker)
        # scrapy-redis's own counters pass a `spider` argument Scrapy 2.19 deprecates: ours only
        scheduler.habr_stats = crawler.stats
        return scheduler

    def open(self, spider: Spider) -> None:
        # scrapy-redis's open() without its "Resuming crawl" Spider.log() (deprecated in Scrapy 2.19)
        self.spider = spider
        self.queue = LeaseQueue(self.server, spider, self.queue_key, self.serializer)
        self.worker.queue = self.queue

    def __len__(self) -> int:
        if self.worker.lost:
            return len(self.local)
        try:
            return len(self.local) + len(self.queue)
        except REDIS_GONE as error:
            self.worker.redis_lost(error)
            return len(self.local)

    def has_pending_requests(self) -> bool:
        return len(self) > 0

    def enqueue_request(self, request: Request) -> bool:
        if request.meta.get(LEASE_META):
            self.local.append(request)
            return True
        if self.worker.lost:
            return False
        try:
            return bool(super().enqueue_request(request))
        except REDIS_GONE as error:
            self.worker.redis_lost(error)
            return False

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        while not self.worker.lost:
            try:
                request, again = self._pop()
            except REDIS_GONE as error:
                self.worker.redis_lost(error)
                return None
            if request is not None or not again:
                return request
        return None

    def _pop(self) -> tuple[Request | None, bool]:
        """The next request to download, or None and whether to pop again (the pop was used up: a block
        expanded, an article archived already)."""
        frontier = self.worker.frontier
        lease = frontier.pop()
        if lease is None:
            return None, False
        if lease.is_block:
            first, _, last = lease.value.decode().partition("-")
            block_requests = self.spider.block_requests  # type: ignore[attr-defined]  # ArticlesSpider's
            for request in block_requests(range(int(first), int(last) + 1)):
                # an id is in one block only: no dupefilter fingerprint needed (~96 bytes of Redis per id)
                request.dont_filter = True
                super().enqueue_request(request)
            frontier.ack(lease.field, "done")
            return None, True
        request = self.queue.decode(lease.value)
        request.meta[LEASE_META] = lease.field
        article = request.meta.get(ARTICLE_ID_META)
        if article is not None and frontier.archived_in_job([article]):
            frontier.ack(lease.field, "done")
            if self.habr_stats:
                self.habr_stats.inc_value("habrmirror/frontier/archived_by_another")
            return None, True
        if self.habr_stats:
            self.habr_stats.inc_value("habrmirror/frontier/leased")
        return request, False
