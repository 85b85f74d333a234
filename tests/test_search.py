"""The search index on a real archive (a crawl of the replica): word forms, filters, hostile query text, raw FTS5
syntax errors, and the index and search index staying in step through a killed crawl and a reindex; a writer's
search index on its own thread (what a commit holds, re-put rows, errors) with and without that thread.
"""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from habrmirror.clock import parse_utc
from habrmirror.replica import ReplicaProcess
from habrmirror.store.index import iter_rows
from habrmirror.store.search import (
    SearchError,
    SearchIndex,
    compile_query,
    ensure_search_index,
    search_archive,
    search_path,
    stem_text,
)
from habrmirror.tools.reindex import reindex_archive
from tests.test_crawl_support import BackgroundCrawl, crawl, explain, wait_until
from tests.test_reindex import build_archive

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("search") / "archive"
    build_archive(out)
    return out


def rows(root: Path) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in iter_rows(root / "index")}


def search_docs(root: Path) -> dict[int, str | None]:
    """``id -> title`` of every post the search index holds."""
    with sqlite3.connect(search_path(root)) as db:
        return dict(db.execute("SELECT id, title FROM docs"))


def assert_in_step(root: Path) -> None:
    """The search index holds exactly the index's posts, with their titles, and needs no rebuild."""
    assert ensure_search_index(root) is None
    assert search_docs(root) == {article: row["title"] for article, row in rows(root).items()}


def test_the_crawl_kept_the_search_index(archive: Path) -> None:
    assert search_path(archive).exists()
    assert_in_step(archive)  # written by the crawl and the two `archive` runs, not rebuilt


def test_an_inflected_form_finds_the_word_in_the_body(archive: Path) -> None:
    body = rows(archive)[462783]["text"]
    assert "Матрица" in body and "матрицей" not in body.lower()
    hits = search_archive(archive, "матрицей")
    assert 462783 in [hit.id for hit in hits]
    hit = next(hit for hit in hits if hit.id == 462783)
    assert "**Матриц" in hit.snippet  # the original word is marked, not its stem
    assert hit.url and hit.date and hit.title == rows(archive)[462783]["title"]
    # English forms: "projects" finds the body's "project"; "running" the body's "run"
    assert 1000 in [hit.id for hit in search_archive(archive, "projects")]
    assert stem_text("running") == stem_text("run") == "run"
    assert stem_text("транзакция") == stem_text("транзакции")


def test_hits_are_ranked_and_limited(archive: Path) -> None:
    hits = search_archive(archive, "балансировщик", limit=3)
    assert len(hits) == 3
    assert [hit.score for hit in hits] == sorted(hit.score for hit in hits)
    assert all("балансировщик" in (hit.title or "").lower() for hit in hits)  # title matches weigh most


def test_filters(archive: Path) -> None:
    everything = {hit.id for hit in search_archive(archive, "балансировщик", limit=100)}
    by_id = rows(archive)
    assert len(everything) > 3
    hub = {hit.id for hit in search_archive(archive, "балансировщик", hub="MATHS", limit=100)}
    assert hub and hub < everything and all("maths" in by_id[article]["hubs"] for article in hub)
    author = {hit.id for hit in search_archive(archive, "балансировщик", author="rvnikita", limit=100)}
    assert author and all(by_id[article]["author"] == "rvnikita" for article in author)
    since = parse_utc("2025-01-01T00:00:00Z")
    recent = {hit.id for hit in search_archive(archive, "Матрица", since=since, limit=100)}
    assert 462783 not in recent  # published 2019
    assert all(parse_utc(by_id[article]["published_at"]) >= since for article in recent)
    assert search_archive(archive, "балансировщик", hub="no-such-hub") == []


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "a-b", "*", "NOT", "(", ")", "NEAR(", "AND OR", "title:", '""', "'; DROP", "^", "{", ""],
)
def test_any_text_is_a_safe_query(archive: Path, query: str) -> None:
    hits = search_archive(archive, query)  # never raises
    assert isinstance(hits, list)
    for text in (query, f"Матрица {query}"):
        search_archive(archive, text, comments=True)


def test_raw_mode_takes_fts5_syntax_and_reports_its_errors(archive: Path) -> None:
    phrase = {hit.id for hit in search_archive(archive, '"Матрица" OR projects', raw=True)}
    assert {462783, 1000} <= phrase
    assert 462783 in {hit.id for hit in search_archive(archive, "title: матрицы", raw=True)}
    assert 462783 in {hit.id for hit in search_archive(archive, "матр*", raw=True)}
    for bad in ['"unbalanced', "a AND", "(x", "NEAR(a b,", "nosuchcolumn: x"]:
        with pytest.raises(SearchError) as error:
            search_archive(archive, bad, raw=True)
        assert "\n" not in str(error.value)
    assert compile_query("*", raw=False) is None


def test_comments_are_searched_only_when_asked(archive: Path) -> None:
    with_comments = [
        (article, comment)
        for article, row in rows(archive).items()
        for comment in row.get("comments") or []
        if len(comment.get("message_markdown") or "") > 40
    ]
    if not with_comments:
        pytest.skip("no archived comment text in this archive yet")
    article, comment = with_comments[0]
    post = rows(archive)[article]
    in_post = set(stem_text(" ".join([post["title"] or "", post["text"] or "", *post["tags"]])).split())
    words = [
        word
        for word in re.findall(r"[^\W\d_]{6,}", comment["message_markdown"])
        if stem_text(word) not in in_post
    ]
    if not words:
        pytest.skip("every comment word is also in its post")
    assert article in {hit.id for hit in search_archive(archive, words[0], comments=True, limit=100)}
    assert article not in {hit.id for hit in search_archive(archive, words[0], limit=100)}


def test_an_archive_without_a_search_index_gets_one_on_first_search(archive: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(archive, copy)
    shutil.rmtree(copy / "search")  # as made before the search index existed
    note = ensure_search_index(copy)
    assert note and "rebuilt" in note and "\n" not in note
    assert_in_step(copy)
    # older than the index: a writer without the search index moved the checkpoint on
    with sqlite3.connect(search_path(copy)) as db:
        db.execute("DELETE FROM docs WHERE id = 462783")
    (copy / "state" / "index-checkpoint.json").write_text('{"file": "2999-01.jsonl", "offset": 1}')
    assert 462783 in {hit.id for hit in search_archive(copy, "матрицей")}  # rebuilt first
    assert_in_step(copy)


def test_reindex_rebuilds_the_search_index(archive: Path, tmp_path: Path) -> None:
    copy = tmp_path / "reindexed"
    shutil.copytree(archive, copy)
    with sqlite3.connect(search_path(copy)) as db:  # a damaged search index: reindex must not keep it
        db.execute("DELETE FROM docs WHERE id = 462783")
    report = reindex_archive(copy)
    assert report.search_rows == report.rows == len(rows(copy))
    assert_in_step(copy)
    assert 462783 in {hit.id for hit in search_archive(copy, "матрицей")}


def test_a_killed_crawl_leaves_the_search_index_in_step(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    flush_often = ["--set", "HABR_INDEX_FLUSH_ROWS=3"]
    with ReplicaProcess(synthetic=30) as replica:
        run = BackgroundCrawl(out, replica.origin, *flush_often)

        def archived() -> int:
            return sum(p.read_bytes().count(b'"archived"') for p in (out / "captures").glob("*.jsonl"))

        wait_until(lambda: archived() >= 10 or not run.running(), 60, "captures")
        assert run.running(), "the crawl ended before it could be killed"
        code, output = run.stop(signal.SIGKILL)
        assert code == -signal.SIGKILL, output
        # committed after the index's shards, before the checkpoint: never ahead of the index
        assert set(search_docs(out)) <= set(rows(out))
        resumed = crawl(out, replica.origin, *flush_often)
        assert resumed.returncode == 0, explain(resumed)
    assert len(rows(out)) > 30
    assert_in_step(out)  # recovery replayed the unflushed captures into both; no rebuild was needed


def post(article: int, text: str, title: str = "Заголовок") -> dict[str, Any]:
    return {
        "id": article,
        "title": title,
        "text": text,
        "tags": ["тег"],
        "author": "someone",
        "hubs": ["maths"],
    }


def matching(path: Path, word: str) -> set[int]:
    expression = compile_query(word, comments=True)
    with sqlite3.connect(path) as db:
        return {
            rowid for (rowid,) in db.execute("SELECT rowid FROM terms WHERE terms MATCH ?", (expression,))
        }


@pytest.mark.parametrize("background", [True, False], ids=["thread", "no thread"])
def test_a_commit_holds_every_row_put_before_it_and_the_last_text_of_each(
    tmp_path: Path, background: bool
) -> None:
    path = tmp_path / "search.sqlite"
    search = SearchIndex(path, create=True, background=background)
    for article in range(1, 601):  # more than one batch
        search.put(post(article, f"общий текст метка{article}"))
    search.put(post(7, "транзакции заменили текст"))  # put again, new text, maybe in the same batch
    search.commit({"file": "a", "offset": 1})
    assert search.holds_for({"file": "a", "offset": 1})
    search.put(post(8, "другие транзакции"))  # again after the commit: its old words must go
    search.put(post(9, "общий текст метка9", title="Новый заголовок"))  # same text, new title: re-indexed
    search.put(post(10, "общий текст метка10"))  # the same row again: nothing changes
    search.put(post(11, "не закоммичено"))
    search.commit()
    search.put(post(12, "никогда не закоммичено"))  # dropped by close: the capture log has it
    search.close()
    assert matching(path, "транзакция") == {7, 8}
    assert matching(path, "метка7") == matching(path, "метка8") == set()
    assert matching(path, "общий") == set(range(1, 601)) - {7, 8, 11}
    assert 9 in matching(path, "новый") and 11 in matching(path, "закоммичено")
    assert matching(path, "никогда") == set()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM docs").fetchone() == (600,)
        # rank 0: the FTS index alone (its external content holds the original words, not the stems)
        assert db.execute("INSERT INTO terms(terms, rank) VALUES ('integrity-check', 0)").fetchall() == []


def test_an_error_on_the_search_thread_is_raised_by_the_next_commit(tmp_path: Path) -> None:
    search = SearchIndex(tmp_path / "search.sqlite", create=True, background=True)
    search.put(post(1, "текст"))
    search.commit()
    search.db.close()  # the thread's next statement fails
    search.put(post(2, "текст"))
    with pytest.raises(sqlite3.ProgrammingError):
        search.commit({"file": "a", "offset": 1})
    with pytest.raises(sqlite3.ProgrammingError):
        search.put(post(3, "текст"))
    search.close()
    reopened = SearchIndex(tmp_path / "search.sqlite")
    assert reopened.meta()["checkpoints"] == []  # the last commit's stamps, not the failed one's
    reopened.close()


def test_the_c_stemmer_gives_the_pure_python_stems() -> None:
    """PyStemmer (a dependency: snowballstemmer uses it when installed, 14x faster) and snowballstemmer's own
    Python stemmers give the same stem for every word of the real saved pages, so a search index does not depend
    on which one built it."""
    from snowballstemmer.english_stemmer import EnglishStemmer
    from snowballstemmer.russian_stemmer import RussianStemmer

    from habrmirror.store import search

    assert type(search._RUSSIAN).__module__ == "Stemmer"  # the C one is what the index uses
    words: set[str] = set()
    for path in (Path(__file__).parent / "fixtures" / "habr").iterdir():
        words.update(word.lower() for word in re.findall(r"\w+", path.read_text("utf-8", errors="replace")))
    assert len(words) > 30000
    russian, english = RussianStemmer(), EnglishStemmer()
    for word in words:
        assert search._RUSSIAN.stemWord(word) == russian.stemWord(word), word
        assert search._ENGLISH.stemWord(word) == english.stemWord(word), word
