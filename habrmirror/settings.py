"""Scrapy settings for habrmirror: polite defaults and every HABR_* setting with a one-line comment.

``scrapy crawl``, scrapyd and the ``habrmirror`` CLI all load this module, so they behave the same.
"""

from habrmirror import __version__

BOT_NAME = "habrmirror"
SPIDER_MODULES = ["habrmirror.crawl.spiders"]
NEWSPIDER_MODULE = "habrmirror.crawl.spiders"

# --- habrmirror settings -------------------------------------------------------------------------------------
HABR_ORIGIN = (
    "https://habr.com"  # site to crawl (spider argument -a origin= overrides); the replica's URL in tests
)
HABR_ARCHIVE_DIR = "archives/"  # archive directory: warc/, index/, captures/, state/, runs/
HABR_WARC_MAX_SIZE = 1_000_000_000  # rotate the WARC file when it would pass this many bytes
HABR_WARC_GZIP_LEVEL = 6  # gzip level per record; warcio's default 9 doubles crawl time for ~1% smaller files
HABR_WARC_DEDUP = True  # write revisit records for payloads already archived (identical-payload-digest)
HABR_CDXJ = True  # write indexes/<warc>.cdxj for every finished WARC (the format cdxj-indexer writes)
HABR_LOCK_WAIT = 0  # seconds to wait for another writer's lock before giving up (archive uses 60)
HABR_CONTACT = "https://github.com/habrmirror/habrmirror"  # contact URL or e-mail put into the User-Agent
HABR_PARSE_WORKERS = 1  # processes that parse article pages beside the crawl (0 = parse in the crawl process)
HABR_IMAGES = True  # fetch the article's body images into the WARC
HABR_COMMENTS = True  # fetch each archived post's comments (Habr's comments API) into the WARC and the row
HABR_LOOPBACK_ONLY = False  # refuse every request whose host is not 127.0.0.0/8 or ::1 (tests, demo)
HABR_ALLOWED_HOSTS_ONLY = (
    True  # refuse requests off Habr's hosts, the origin's and the user's URLs' (crawl/offsite.py)
)
HABR_ALLOWED_HOSTS: list[str] = []  # more hosts a crawl may visit ("host" = ports 80 and 443, or "host:port")
HABR_REQUEST_BUDGET = 0  # stop the run after this many requests (0 = no budget)
HABR_RETRY_RUNS = (
    5  # a post failing transiently (network, 5xx, blocked) is asked again first for this many runs
)
HABR_INDEX_FLUSH_ROWS = 1000  # rewrite dirty index shards after this many changed rows (and at the end); a kill replays at most this many captures from the WARC
HABR_RETRY_AFTER_MAX = 600  # longest Retry-After (seconds) a 429/503 is waited for; longer ones give up
HABR_RETRY_BACKOFF = 2.0  # first backoff (seconds, doubling) for a 429/503 without Retry-After
HABR_COMMAND = ""  # what started this writer, as the archive's lock names it to a second writer ("" = scrapy crawl SPIDER)
# A shared job (README "Running several machines"): workers given one Redis and one job share its frontier.
HABR_REDIS_URL = (
    ""  # redis://[:password@]host:6379/0 makes this crawl a worker of a shared job ("" = on its own)
)
HABR_JOB = ""  # the job's name ("" = derived from the crawl's arguments and the hour, by Redis's clock)
HABR_WORKER_ID = ""  # this worker's name in the job, its WARC file names and archive ("" = <host>-<pid>)
HABR_RATE = 5.0  # requests per second per host for all workers of a Redis together (0 = no shared limit)
HABR_LEASE_TTL = 30.0  # seconds a dead worker's leased requests wait before they go back to the queue
HABR_WARC_PREFIX = "habrmirror"  # WARC file names start with this (a shared job's workers add their id)
HABR_PROGRESS_INTERVAL = 10  # seconds between progress lines (0 = off)
# Size limits (README, "Limits"): a response past its limit is stored truncated (WARC-Truncated: length) and
# reported too_large, so a huge page or a gzip bomb costs a small multiple of the limit in memory, never more.
HABR_MAX_PAGE_BYTES = 20_000_000  # article page as downloaded (content-encoded); real pages are 0.05-0.75 MB
HABR_MAX_DECODED_BYTES = (
    40_000_000  # article page once decoded (gzip/deflate/br stop here); 50x the largest real page
)
HABR_MAX_IMAGE_BYTES = 25_000_000  # one image (Habr's animated GIFs run to ~10 MB)
DOWNLOAD_MAXSIZE = (
    20_000_000  # every other response (listings, robots.txt), also once decoded (Scrapy's default: 1 GiB)
)
DOWNLOAD_WARNSIZE = 10_000_000  # log a warning for a response this large (Scrapy's default: 32 MiB)

# --- politeness --------------------------------------------------------------------------------------------------
USER_AGENT = f"habrmirror/{__version__} (+{HABR_CONTACT}; web archiving)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 60
# Scrapy starts this many asyncio tasks for *every* callback's output (default 100); an article page yields one
# item and a listing page about twenty requests, so 4 is plenty. Measured: 100 cost the crawl process ~30% of its
# CPU on the 2,000-post benchmark (200,000 idle tasks created and torn down).
CONCURRENT_ITEMS = 4
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOAD_HANDLERS = {
    # keeps the reason phrase and framing facts Scrapy drops, so the WARC status line is the one sent
    "http": "habrmirror.crawl.download_handler.WireDownloadHandler",
    "https": "habrmirror.crawl.download_handler.WireDownloadHandler",
}

DOWNLOADER_MIDDLEWARES = {
    # first: a request off the allowed hosts is refused before robots.txt, throttling or DNS see it
    "habrmirror.crawl.offsite.AllowedHostsMiddleware": 40,
    "habrmirror.crawl.middlewares.LoopbackOnlyMiddleware": 50,
    "habrmirror.crawl.middlewares.RequestBudgetMiddleware": 60,
    # article bodies stay encoded until the parse worker decodes them (same slot as the stock one)
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "habrmirror.crawl.middlewares.RawBodyCompressionMiddleware": 590,
    # size limits per request kind; sees a truncated response before decompression (590) does
    "habrmirror.crawl.middlewares.SizeLimitMiddleware": 595,
    # Retry-After aware retry replaces the stock one (same priority slot)
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "habrmirror.crawl.middlewares.RetryAfterMiddleware": 550,
    # a shared job's Retry-After pauses (off unless HABR_REDIS_URL): sees a 429/503 before the retry does
    "habrmirror.crawl.frontier.politeness.SharedRateLimitMiddleware": 960,
}

EXTENSIONS = {
    "habrmirror.crawl.session.ArchiveSession": 100,
    "habrmirror.crawl.recorder.WarcRecorder": 110,
    "habrmirror.crawl.frontier.worker.FrontierWorker": 120,  # off unless HABR_REDIS_URL
    "habrmirror.crawl.progress.ProgressReporter": 500,
}

ITEM_PIPELINES = {
    "habrmirror.crawl.pipelines.media.ImageCapturePipeline": 100,
    "habrmirror.crawl.pipelines.comments.CommentsPipeline": 150,
    "habrmirror.crawl.pipelines.validation.SchemaValidationPipeline": 200,
    "habrmirror.crawl.pipelines.index.IndexPipeline": 300,
}
