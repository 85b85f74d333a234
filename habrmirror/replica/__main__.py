"""``python -m habrmirror.replica``: run the local Habr replica (see :mod:`habrmirror.replica.cli`)."""

from __future__ import annotations

import sys

from habrmirror.replica.cli import main

if __name__ == "__main__":
    sys.exit(main())
