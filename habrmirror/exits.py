"""Exit codes of every habrmirror command (README, "Exit codes"): one table, imported by the CLI and the crawl."""

EXIT_OK = 0
EXIT_FAILED = 1  # nothing of what was asked could be archived (or verify found problems)
EXIT_USAGE = 2  # bad arguments
EXIT_PARTIAL = 3  # some articles failed (the rest is archived)
EXIT_LOCKED = 4  # another writer holds the archive's lock
EXIT_INTERRUPTED = 5  # the run was stopped (signal, budget, Redis gone) before it finished
