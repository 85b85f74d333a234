"""Local Habr replica: an HTTP/1.1 server on 127.0.0.1 over the saved real Habr pages (plus synthetic ones).

Every test and the demo crawl it instead of habr.com. See README.md in this directory for what it serves,
how media URLs are rewritten and which responses are gzip-encoded or chunked.
"""

from __future__ import annotations

from habrmirror.replica.cli import main
from habrmirror.replica.process import ReplicaProcess, ReplicaThread

__all__ = ["ReplicaProcess", "ReplicaThread", "main"]
