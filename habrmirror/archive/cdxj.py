"""CDXJ indexes of finished WARC files (``DIR/indexes/NAME.cdxj``), written by cdxj-indexer, not by hand.

Called when a WARC file is closed, so pywb, ReplayWeb.page and WACZ packing find every record by URL.
"""

from __future__ import annotations

import io
from pathlib import Path

from cdxj_indexer.main import write_cdx_index

from habrmirror.archive.layout import write_atomic


def cdxj_path(warc_path: Path, cdxj_dir: Path) -> Path:
    """``warc/x.warc.gz`` -> ``indexes/x.cdxj``."""
    return cdxj_dir / (warc_path.name.removesuffix(".warc.gz") + ".cdxj")


def write_cdxj(warc_path: Path, cdxj_dir: Path) -> Path:
    """Index one WARC file (sorted CDXJ, filename relative to its warc/ folder), written atomically.

    No ``post_append``: the crawl sends only GETs, and that option makes cdxj-indexer buffer every request
    record (4x slower for the same lines, measured on a 2,000-article WARC).
    """
    buffer = io.StringIO()
    write_cdx_index(buffer, [str(warc_path)], {"sort": True})
    target = cdxj_path(warc_path, cdxj_dir)
    write_atomic(target, buffer.getvalue().encode("utf-8"))
    return target
