"""habrmirror: archive habr.com posts into WARC files plus a JSON index researchers can load as is.

The researcher's API, loaded on first use (``import habrmirror`` stays cheap and imports no Scrapy, pyarrow or
pandas)::

    index = habrmirror.load_index("archives/demo")      # rows as dicts, streamed; .to_pandas(), .to_arrow()
    response = index.open_record(row)                   # or habrmirror.open_record(row, "archives/demo")
    habrmirror.export_archive("archives/demo", format="hf", out="habr-hf")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it. Imported by name at first use, not at import time: the package's
# lower rooms import ``__version__`` from here, and the layering contract must not see them reach tools/.
_LAZY = {
    "load_index": "habrmirror.tools.dataset",
    "open_record": "habrmirror.tools.dataset",
    "ArchiveIndex": "habrmirror.tools.dataset",
    "ArchivedResponse": "habrmirror.tools.dataset",
    "MissingExtra": "habrmirror.tools.dataset",
    "export_archive": "habrmirror.tools.export",
    "ExportReport": "habrmirror.tools.export",
    "ExportError": "habrmirror.tools.export",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'habrmirror' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
