"""Benchmark: habrmirror's ``parse_article`` per real article fixture vs a bare lxml parse + text walk.

Place: developer tool next to the page objects (``habrmirror.pages``); the baseline is measured in the same run so
the ratio is comparable across machines. Usage: ``python bench/parse.py [N]`` (N rounds, default 20).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from habrmirror.pages import parse_article  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "habr"
ARTICLES = sorted(
    p for p in FIXTURES.glob("*.html") if p.name.startswith(("article-", "mirror-weekly-geekly-article"))
)


def baseline(body: bytes) -> int:
    """What any parser must at least do: decode, parse the page with lxml, walk its text once."""
    root = lxml.html.fromstring(body.decode("utf-8", errors="replace"))
    return len("".join(root.itertext()))


def measure(function, bodies: list[tuple[str, bytes]], rounds: int) -> float:
    """Milliseconds per article (best of ``rounds`` full passes, to damp scheduler noise)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for url, body in bodies:
            function(url, body)
        best = min(best, time.perf_counter() - start)
    return best * 1000 / len(bodies)


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 20
    bodies = [(f"https://habr.com/{path.name}", path.read_bytes()) for path in ARTICLES]
    print(f"{len(bodies)} article fixtures, {rounds} rounds, best round reported")
    print(f"{'fixture':58} {'baseline ms':>11} {'habrmirror ms':>13} {'ratio':>6}")
    for url, body in bodies:
        base = measure(lambda _u, b: baseline(b), [(url, body)], rounds)
        ours = measure(parse_article, [(url, body)], rounds)
        print(f"{url.rsplit('/', 1)[-1]:58} {base:11.2f} {ours:13.2f} {ours / base:6.2f}")
    base = measure(lambda _u, b: baseline(b), bodies, rounds)
    ours = measure(parse_article, bodies, rounds)
    print(f"{'ALL (ms/article)':58} {base:11.2f} {ours:13.2f} {ours / base:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
