"""Keep a long crawl's memory flat: large buffers go back to the system when freed.

A crawl allocates and frees many large buffers (page bodies of 50-500 KB, index rows of ~70 KB). glibc serves
allocations above its mmap threshold with mmap and returns them on free, but it raises that threshold each time
such a block is freed (up to 32 MiB), after which the same buffers come from the heap and fragment it. Measured on
the 2,000-post benchmark: the crawl process peaked at 700 MB; with the threshold fixed at 128 KiB (glibc's own
starting value, which fixing it keeps) at 325 MB, for ~3% more time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt parameter (glibc malloc.h)
MMAP_THRESHOLD = 128 * 1024


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold for this process; False (and nothing changed) on other C libraries."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl, macOS: no mallopt, and no dynamic threshold to fix
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    logger.debug("mallopt(M_MMAP_THRESHOLD, %d): %s", MMAP_THRESHOLD, ok)
    return ok
