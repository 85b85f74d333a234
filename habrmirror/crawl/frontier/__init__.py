"""The shared frontier: several ``habrmirror crawl --redis URL`` workers on one job in one Redis.

Where it sits in the flow: between the spiders' requests and the downloader. scrapy-redis's scheduler and
dupefilter hold the job's requests in Redis; :mod:`.jobs` leases each popped request to its worker (Redis key
TTLs, heartbeats), :mod:`.scheduler` is the Scrapy side of that, :mod:`.politeness` shares the per-host rate and
Retry-After pauses, :mod:`.worker` keeps a worker alive while the job has work and, in the last worker to leave,
folds the per-worker archives into one (:mod:`habrmirror.store.fold`).
"""
