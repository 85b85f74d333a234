"""All Scrapy glue: spiders (routing only), the WARC recorder and download handler, the archive session,
middlewares, pipelines, the parse worker pool, progress and running one crawl (``run``)."""
