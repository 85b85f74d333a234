"""The static mirror: an archive's articles as plain HTML pages (templates, sanitizer, builder, local server).

Place in the flow: after the archive, offline: index rows + WARC records -> ``SITE/`` (``build_site``), which
``serve_site`` shows on 127.0.0.1. Imports archive, store, items, urls, clock and pages; never Scrapy or the crawl.
"""

from habrmirror.site.build import SiteError, SiteReport, build_site
from habrmirror.site.serve import make_server, serve_site

__all__ = ["SiteError", "SiteReport", "build_site", "make_server", "serve_site"]
