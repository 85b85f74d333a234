"""Replay for real: posts archived from the local replica, put into a pywb collection, served by ``wayback`` on
127.0.0.1 and compared with what the replica served.

pywb runs from its own venv (:func:`pywb_venv.ensure_pywb_venv`), built from PyPI on first use and
reused afterwards (``~/.cache/habrmirror/pywb-venv`` or ``$HABRMIRROR_PYWB_VENV``); the first run of this
module on a fresh machine therefore needs PyPI.
Nothing here is skipped: a missing venv or a pywb that does not start fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pywb_venv import (
    PywbServer,
    configure_collection,
    ensure_pywb_venv,
    make_collection,
    wayback_timestamp,
)

from habrmirror.pages.requisites import body_image_urls, page_requisites
from habrmirror.replica import ReplicaProcess
from habrmirror.store.index import iter_rows
from tests.conftest import FAST, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ARTICLE_IDS = (568382, 724768, 804525)  # 804525: today's markup loads resized copies (srcset)
# The same archive twice: copied into a wb-manager collection, and served in place through config.yaml.
COLLECTIONS = ("habr", "habr-direct")
CASES = [(collection, article_id) for collection in COLLECTIONS for article_id in ARTICLE_IDS]


@dataclass
class Replayed:
    """An archive of ARTICLE_IDS, what the replica served for each archived URL, and pywb serving it."""

    rows: dict[int, dict[str, Any]]
    served: dict[str, bytes]  # URL -> body as the replica served it (content-encoding removed)
    server: PywbServer

    def get(self, collection: str, row: dict[str, Any], url: str, modifier: str = "") -> requests.Response:
        ts = wayback_timestamp(row["captured_at"])
        answer = requests.get(self.server.replay_url(collection, ts, url, modifier), timeout=30)
        assert answer.status_code == 200, f"{answer.status_code} for {url}: {answer.text[:500]}"
        return answer


@pytest.fixture(scope="session")
def pywb_venv() -> Path:
    """Built once from PyPI (~15 s on a fast link, a few minutes on a slow one), then reused from the cache."""
    return ensure_pywb_venv()


@pytest.fixture(scope="module")
def replayed(pywb_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    root = tmp_path_factory.mktemp("replay") / "archive"
    workdir = tmp_path_factory.mktemp("pywb")
    with ReplicaProcess() as replica:
        ids = [str(i) for i in ARTICLE_IDS]
        done = run_cli("archive", *ids, "--origin", replica.origin, "--out", str(root), *FAST)
        assert done.returncode == 0, done.stdout + done.stderr
        rows = {int(row["id"]): row for row in iter_rows(root / "index")}
        assert sorted(rows) == sorted(ARTICLE_IDS)
        urls = [row["fetched_url"] for row in rows.values()]
        urls += [image["url"] for row in rows.values() for image in row["images"] if image["archived"]]
        served = {}
        for url in urls:
            answer = requests.get(url, timeout=30)  # the same replica: same host:port inside the pages
            assert answer.status_code == 200, url
            served[url] = answer.content
    make_collection(pywb_venv, root, workdir, COLLECTIONS[0])
    configure_collection(root, workdir, COLLECTIONS[1])
    with PywbServer(pywb_venv, workdir) as server:
        yield Replayed(rows=rows, served=served, server=server)


@pytest.mark.parametrize(("collection", "article_id"), CASES)
def test_article_original_bytes(replayed: Replayed, collection: str, article_id: int) -> None:
    row = replayed.rows[article_id]
    answer = replayed.get(collection, row, row["fetched_url"], "id_")
    assert answer.content == replayed.served[row["fetched_url"]]
    assert row["title"] in answer.content.decode("utf-8")


@pytest.mark.parametrize(("collection", "article_id"), CASES)
def test_images_original_bytes(replayed: Replayed, collection: str, article_id: int) -> None:
    row = replayed.rows[article_id]
    images = [image["url"] for image in row["images"] if image["archived"]]
    assert images, f"{article_id} has no archived image to replay"
    for url in images:
        answer = replayed.get(collection, row, url, "id_")
        assert answer.content == replayed.served[url], url


@pytest.mark.parametrize(("collection", "article_id"), CASES)
def test_rewritten_replay_shows_the_post(replayed: Replayed, collection: str, article_id: int) -> None:
    row = replayed.rows[article_id]
    ts = wayback_timestamp(row["captured_at"])
    # Without a modifier pywb answers with its frame page, which loads the rewritten page (mp_) into an iframe.
    frame = replayed.get(collection, row, row["fetched_url"]).text
    assert 'id="replay_iframe"' in frame and row["fetched_url"] in frame and f'"{ts}"' in frame
    page = replayed.get(collection, row, row["fetched_url"], "mp_").text
    assert row["title"] in page
    assert row["text"].split("\n", 1)[0][:40] in page
    # The page was rewritten: its images now load through the archive, not from the origin.
    assert f"/{collection}/{ts}im_/" in page


@pytest.mark.parametrize(("collection", "article_id"), CASES)
def test_every_requisite_and_image_the_page_loads_resolves(
    replayed: Replayed, collection: str, article_id: int
) -> None:
    """What a browser loads to show the post (the page's CSS, scripts, fonts and icons on Habr's hosts; every
    src/data-src/srcset image of the body) is in the archive, and pywb serves it."""
    row = replayed.rows[article_id]
    page = replayed.served[row["fetched_url"]]
    wanted = page_requisites(page, row["fetched_url"]) + body_image_urls(row["text_html"], row["fetched_url"])
    # Offline, only what the replica serves could be fetched: its own host (the media and asset hosts it
    # rewrites onto itself). A saved page's absolute https://habr.com/... URL is refused by the loopback guard.
    host = row["fetched_url"].split("/")[2]
    wanted = [url for url in wanted if url.split("/")[2] == host]
    assert len(wanted) > len(row["images"]), wanted  # requisites and resized copies beside the originals
    missing = []
    for url in dict.fromkeys(wanted):
        ts = wayback_timestamp(row["captured_at"])
        answer = requests.get(replayed.server.replay_url(collection, ts, url, "id_"), timeout=30)
        if answer.status_code != 200:
            missing.append((answer.status_code, url))
    assert missing == []
