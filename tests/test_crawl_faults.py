"""Crawler fixes the fault campaign (``test_fault_campaign.py``) found, each shown on one small crawl of the
hostile replica: the run summary names every post that got no row, gone ones too; a listing whose next link
vanishes or loops back does not end the walk early (the mark would move past posts never seen).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from habrmirror.replica import ReplicaProcess
from habrmirror.replica.catalog import Catalog
from tests.test_crawl_support import crawl, explain, index_rows, summary_of

SYNTHETIC = 100  # 80 articles + 8 real posts: five pages of /ru/articles/; 20 news: one page
# permanent for this run (@99): page 2 has no next link, page 4's points back to page 1; one post is gone
SPEC = (
    "next_vanish:/ru/articles/page2/@99,next_loop:/ru/articles/page4/@99,410:/ru/articles/800098/,"
    "redirect_loop:/ru/articles/800097/"
)


@dataclass
class Crawled:
    out: Path
    origin: str
    run: subprocess.CompletedProcess[str]
    summary: dict[str, Any]
    sent: list[dict[str, Any]]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    out = tmp_path_factory.mktemp("crawl-faults") / "archive"
    with ReplicaProcess(synthetic=SYNTHETIC, faults=SPEC) as replica:
        run = crawl(out, replica.origin)
        assert run.returncode == 3, explain(run)  # partial: the redirect loop
        yield Crawled(out, replica.origin, run, summary_of(out, run), replica.sent_log())


def test_the_summary_names_posts_without_a_row_that_are_no_failure(crawled: Crawled) -> None:
    assert 800098 not in index_rows(crawled.out)
    assert crawled.summary["not_archived"] == [
        {
            "id": 800098,
            "url": f"{crawled.origin}/ru/articles/800098/",
            "outcome": "gone",
            "reason": "HTTP 410: deleted or never existed",
        }
    ]


def test_a_vanished_or_looping_next_link_does_not_end_the_walk(crawled: Crawled) -> None:
    catalog = Catalog.load(SYNTHETIC)
    listed = {entry.id for kind in ("articles", "news") for entry in catalog.listed(kind)}
    assert set(index_rows(crawled.out)) == listed - {800098, 800097}
    walk = crawled.summary["listings"]["ru/articles"]
    assert (walk["pages"], walk["stopped"]) == (5, "end of the listing (page 5 is its last)")
    # The redirect loop is a failure a later run may fix: it goes on the retry list, the marks do not wait.
    assert walk["mark_moved"] and crawled.summary["retry_pending"] == [800097]
    pages = [
        e["target"]
        for e in crawled.sent
        if e["kind"] == "listing" and e["target"].startswith("/ru/articles/")
    ]
    assert pages == ["/ru/articles/", *(f"/ru/articles/page{n}/" for n in range(2, 6))]  # each page once
    assert "has no next link, but says it has 5 pages: going on at" in crawled.run.stderr
    assert "links back to a page already read, but says it has 5 pages" in crawled.run.stderr


def test_a_redirect_loop_is_an_http_error_that_says_so(crawled: Crawled) -> None:
    hops = [e for e in crawled.sent if e["target"].startswith("/ru/articles/800097/")]
    assert len(hops) == 21  # the page, then Scrapy's 20 redirects (REDIRECT_MAX_TIMES); not retried
    assert crawled.summary["failures"] == [
        {
            "id": 800097,
            "url": f"{crawled.origin}/ru/articles/800097/",
            "outcome": "http_error",
            "reason": "redirect loop: gave up after 20 redirects (REDIRECT_MAX_TIMES)",
        }
    ]


def test_a_post_failing_every_run_is_retried_first_then_given_up(crawled: Crawled, tmp_path: Path) -> None:
    """The next runs ask for the retry list's post by URL and walk only down to the moved mark; after
    HABR_RETRY_RUNS runs the post is named as given up and asked no more."""
    out = tmp_path / "archive"
    shutil.copytree(crawled.out, out)
    with ReplicaProcess(synthetic=SYNTHETIC, faults=SPEC) as replica:
        second = crawl(out, replica.origin, "--set", "HABR_RETRY_RUNS=3")
        sent = replica.sent_log()
    assert second.returncode == 1, explain(second)  # the only post asked failed again
    summary = summary_of(out, second)
    assert summary["retry_pending"] == [800097] and summary["retry_given_up"] == []
    assert "/ru/articles/800097/" in [e["target"] for e in sent]  # asked by URL, not found in a walk:
    assert all(walk["mark_moved"] and walk["pages"] == 1 for walk in summary["listings"].values())
    with ReplicaProcess(synthetic=SYNTHETIC, faults=SPEC) as replica:
        third = crawl(out, replica.origin, "--set", "HABR_RETRY_RUNS=3")
    summary = summary_of(out, third)
    assert summary["retry_pending"] == []
    [given] = summary["retry_given_up"]
    assert (given["id"], given["runs"], given["outcome"]) == (800097, 3, "http_error")
    assert "given up: 800097 after 3 runs: http_error: redirect loop" in third.stdout
    with ReplicaProcess(synthetic=SYNTHETIC, faults=SPEC) as replica:
        fourth = crawl(out, replica.origin, "--set", "HABR_RETRY_RUNS=3")
    summary = summary_of(
        out, fourth
    )  # page 1 still lists it, so the walk asks: it is not put back on the list
    assert (summary["retry_pending"], summary["retry_given_up"]) == ([], [])
