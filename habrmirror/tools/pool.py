"""Worker processes for the offline tools (``reindex --jobs``, ``export --jobs``): how many, and how started.

Place: tools/, beside the commands that use it. Work is handed out in units whose results the caller merges
in a fixed order, so the output is the same for any number of processes; this module only counts the cores
and starts the pool.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["available_cores", "process_pool"]


def available_cores() -> int:
    """The cores this process may run on: a container's or ``taskset``'s CPU set, not the machine's count
    (the default of ``--jobs``)."""
    counter: Callable[[], int | None] | None = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return counter() or 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process_pool(
    jobs: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes, each a fresh interpreter (spawn: forking a process that runs
    Arrow's or SQLite's threads is unsafe, and spawn behaves the same on every platform)."""
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initializer,
        initargs=initargs,
    )
