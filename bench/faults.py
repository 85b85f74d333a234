"""The fault campaign's figures: 500 posts crawled twice through the hostile replica, faults counted by kind.

Runs exactly what ``tests/test_fault_campaign.py`` runs undisturbed (same SPEC, seed and settings, its functions)
and prints the README's "Faults survived" table: responses injected per fault kind, and what they came to
(recovered: the post, image or comments ended archived; reported: named in a run summary with its reason, noted on
the row, or for a page asset its error response kept in the WARC; lost: neither), then the runs' wall time and
peak RSS. Run from the repository root: ``PYTHONPATH=. python bench/faults.py [--seed N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from habrmirror.replica import ReplicaProcess
from habrmirror.replica.faults import KINDS
from tests.test_fault_campaign import (
    SEED,
    SPEC,
    SYNTHETIC,
    Campaign,
    figures,
    listed_posts,
    measured_crawl,
    replica_titles,
)


def run(seed: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="habr-faults-") as tmp:
        out = Path(tmp) / "archive"
        with ReplicaProcess(synthetic=SYNTHETIC, faults=SPEC, seed=seed) as replica:
            campaign = Campaign(out, replica.origin, listed_posts(), replica_titles(), [])
            campaign.runs = [measured_crawl(out, replica.origin) for _ in range(2)]
            campaign.sent = replica.sent_log()
            return figures(campaign)


def table(result: dict[str, object], seed: int) -> str:
    by_kind = result["by_kind"]
    assert isinstance(by_kind, dict)
    lines = [
        "| fault | kind | URLs | responses | recovered | reported | lost |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    totals = {"urls": 0, "injected": 0, "recovered": 0, "reported": 0, "lost": 0}
    for name, counts in by_kind.items():
        nature = "permanent" if KINDS[name].permanent else "transient"
        row = [counts.get(key, 0) for key in totals]
        for key, value in zip(totals, row, strict=True):
            totals[key] += value
        lines.append(f"| `{name}` | {nature} | " + " | ".join(str(v) for v in row) + " |")
    lines.append("| **all** | | " + " | ".join(f"**{v}**" for v in totals.values()) + " |")
    runs = result["runs"]
    assert isinstance(runs, list)
    timing = "; ".join(
        f"run {n}: {r['seconds']} s, peak RSS {r['rss_mib']} MiB" for n, r in enumerate(runs, 1)
    )
    share = int(str(result["faulty"])) / int(str(result["responses"]))
    url_share = int(str(result["faulty_urls"])) / int(str(result["urls"]))
    lines += [
        "",
        f"{result['posts']} posts (seed {seed}, `--faults '{SPEC}'`): {result['faulty_urls']} of "
        f"{result['urls']} URLs ({url_share:.0%}) and {result['faulty']} of {result['responses']} article, "
        f"listing, media and comments (API, page) responses ({share:.0%}: permanent faults answer every retry) "
        "faulty; "
        f"{result['archived']} posts archived after two runs, the rest reported; {timing}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"fault seed (default {SEED}, the test's)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = run(args.seed)
    print(json.dumps(result, indent=2) if args.json else table(result, args.seed))


if __name__ == "__main__":
    main()
