"""The allowed-hosts guard: a downloader middleware that refuses every request off the hosts a crawl may visit.

Place in the flow: first among the downloader middlewares, before robots.txt, throttling and the download, so a
refused request is never sent (no DNS look-up, no connection, nothing in the WARC). A crawl may visit Habr's
own hosts (the site, its media and asset hosts), the ``--origin``'s host and the host of a URL the user gave
(``habrmirror archive URL``); ``HABR_ALLOWED_HOSTS`` adds more. Everything else a page can point at (an image
on another host, a redirect to another host, an IDN look-alike such as ``xn--abr-...`` for "һabr.com" with a
Cyrillic ``һ``, ``habr.com.evil.example``, a ``file:`` or ``data:`` URL) stays in the item's links or images
with the reason, and is counted in ``habrmirror/offsite/refused`` and the run summary's ``offsite``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

from habrmirror.crawl.session import ArchiveSession
from habrmirror.urls import HABR_HOSTS, normalize_origin, request_url

logger = logging.getLogger(__name__)

# Where Habr's pages load images and assets from (what the replica stands in for, replica/articles.py
# MEDIA_HOSTS): habrastorage.org and hsto.org (uploads), assets.habr.com (since 2021) and dr.habracdn.net (before).
HABR_MEDIA_HOSTS = frozenset({"habrastorage.org", "hsto.org", "assets.habr.com", "dr.habracdn.net"})
HABR_OWN_HOSTS = HABR_HOSTS | HABR_MEDIA_HOSTS
_DEFAULT_PORTS = {"http": 80, "https": 443}
LISTED_HOSTS = 100  # the summary counts refusals per host for this many hosts (bounded: hostile pages vary)


class OffsiteRefused(IgnoreRequest):
    """A request to a host the crawl may not visit: not sent (the item keeps the URL and this reason)."""


def host_key(parts: SplitResult) -> str | None:
    """``host:port`` (lower case, no trailing dot, the scheme's default port written out) or None when the URL
    has no usable host (bad port, no host, not http/https)."""
    if parts.scheme not in _DEFAULT_PORTS:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:  # a port that is not a number in 0..65535
        return None
    host = (parts.hostname or "").rstrip(".")
    return f"{host}:{port}" if host else None


def allowed_host_keys(origin: str, targets: Iterable[str] = (), extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``host:port`` keys a crawl may visit: Habr's hosts on both default ports, ``origin``'s host, the hosts
    of the user's ``targets`` as they are fetched (:func:`habrmirror.urls.request_url`), and ``extra`` hosts
    (``HABR_ALLOWED_HOSTS``: a bare host means both default ports, ``host:port`` just that one)."""
    keys = {f"{host}:{port}" for host in HABR_OWN_HOSTS for port in _DEFAULT_PORTS.values()}
    for url in [normalize_origin(origin), *(_fetched(target, origin) for target in targets)]:
        key = host_key(urlsplit(url)) if url else None
        if key:
            keys.add(key)
    for host in extra:
        host = host.strip().lower().rstrip(".")
        if not host:
            continue
        if host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]"):
            keys.add(host)
        else:
            keys.update(f"{host}:{port}" for port in _DEFAULT_PORTS.values())
    return frozenset(keys)


def _fetched(target: str, origin: str) -> str | None:
    """What the crawl fetches for a user's target (its host may be a replica or a mirror), None if unreadable."""
    try:
        return request_url(target, origin)
    except ValueError:
        return None


class AllowedHostsMiddleware:
    """Refuses (``OffsiteRefused``) every request whose ``host:port`` is not among :func:`allowed_host_keys`.

    On by default; ``HABR_ALLOWED_HOSTS_ONLY = False`` switches it off, ``HABR_ALLOWED_HOSTS`` adds hosts. The
    spider's ``origin`` and its ``targets`` (the article spider's user URLs) are read when the first request
    passes, so the hosts a spider argument names are allowed too.
    """

    def __init__(self, crawler: Crawler, extra_hosts: list[str]) -> None:
        self.crawler = crawler
        self.extra_hosts = extra_hosts
        self.allowed: frozenset[str] | None = None
        self.refused: Counter[str] = Counter()  # per host, bounded to LISTED_HOSTS hosts
        self.refused_total = 0
        self.examples: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AllowedHostsMiddleware:
        settings = crawler.settings
        if not settings.getbool("HABR_ALLOWED_HOSTS_ONLY", True):
            raise NotConfigured  # switched off
        middleware = cls(crawler, settings.getlist("HABR_ALLOWED_HOSTS"))
        ArchiveSession.of(crawler).add_finalizer(middleware.summary)
        return middleware

    def allowed_keys(self, spider: Spider | None) -> frozenset[str]:
        if self.allowed is None:
            origin = getattr(spider, "origin", None) or self.crawler.settings.get("HABR_ORIGIN")
            targets = getattr(spider, "targets", ())
            self.allowed = allowed_host_keys(origin, targets, self.extra_hosts)
        return self.allowed

    def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        key = host_key(parts)
        if key is not None and key in self.allowed_keys(self.crawler.spider):
            return
        if key is not None:
            host = key
        elif parts.scheme not in _DEFAULT_PORTS:
            host = f"{parts.scheme}:"  # data:, file:, ftp:, s3: (Scrapy has download handlers for them all)
        else:
            host = parts.netloc or "no host"
        self.refused_total += 1
        if host in self.refused or len(self.refused) < LISTED_HOSTS:
            self.refused[host] += 1
        if len(self.examples) < 20:
            self.examples.append(request.url[:300])
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("habrmirror/offsite/refused")
        logger.info("not requested, off the allowed hosts: %s", request.url[:300])
        raise OffsiteRefused(
            f"off the allowed hosts ({host}; HABR_ALLOWED_HOSTS adds one): {request.url[:300]}"
        )

    def summary(self, finish_reason: str) -> dict[str, Any]:
        """The run summary's ``offsite``: how many requests were refused, per host, and the first few URLs."""
        return {
            "offsite": {
                "refused": self.refused_total,
                "by_host": dict(self.refused.most_common()),
                "examples": self.examples,
            }
        }
