"""The search index: SQLite FTS5 over every index row's title, text, tags and comments, in ``DIR/search/``.

Beside the JSON index at the end of the flow (item validated -> index row -> search index). Rows reach it in
:class:`~habrmirror.store.writer.ArchiveWriter` the moment they reach the index (a writer's search index stems
and inserts them on a thread of its own, off the crawl's path); each writer flush commits it before the
capture-log checkpoint moves, so crash recovery replays the same captures into both (a row is upserted
by id, so twice is once). It is derived data: ``reindex`` rebuilds it, and ``search`` rebuilds one that is missing
or older than the index (an archive made before it existed, or written by a version without it).

Word forms: every word is stemmed (Snowball, Russian or English by its script) when indexed and when searched, so
"транзакция" finds "транзакции" and "running" finds "run". The FTS table is an external-content table: its index
holds the stems, its content (``docs``) the original text, one stem per original word in the same order, so
FTS5's ``snippet()`` marks the original words (it maps token positions back onto the original text).
"""

from __future__ import annotations

import html
import json
import logging
import os
import queue
import re
import sqlite3
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
import snowballstemmer

from habrmirror.archive.atomic import fsync_dir
from habrmirror.store.index import iter_rows
from habrmirror.store.layout import ArchiveDir, LockHeld

logger = logging.getLogger(__name__)

__all__ = [
    "Hit",
    "SearchError",
    "SearchIndex",
    "SearchRebuild",
    "compile_query",
    "ensure_search_index",
    "rebuild_search_index",
    "row_stems",
    "search_archive",
    "search_path",
    "stem_text",
]

SEARCH_DIR = "search"
DB_NAME = "search.sqlite"
CHECKPOINT_NAME = "index-checkpoint.json"  # store.recovery's: the position of the log the index reflects
FORMAT = 1  # of the tables below; a search index of another format is rebuilt
TOKENIZE = "unicode61 remove_diacritics 2"
# bm25 weights per column: a word in the title says more than one deep in a long text
WEIGHTS = {"title": 8.0, "body": 1.0, "tags": 4.0, "comments": 0.5}
COLUMNS = tuple(WEIGHTS)
WITHOUT_COMMENTS = "{title body tags}"
HIGHLIGHT = ("**", "**")  # around each matched word in a snippet
SNIPPET_TOKENS = 24
_REBUILD_BATCH = 2000  # rows per transaction while rebuilding
_STEM_CACHE_MAX = 1_000_000  # whitespace tokens remembered with their stems (Zipf: most recur)
_WORD_CACHE_MAX = 500_000  # words remembered with their stems ("слово," and "(слово" share one Snowball run)

_SCHEMA = f"""
CREATE TABLE docs(
    id INTEGER PRIMARY KEY,
    title TEXT, body TEXT, tags TEXT, comments TEXT,   -- the original text, what snippet() shows
    published_at TEXT, time_published INTEGER, url TEXT, author TEXT, author_key TEXT,
    hub_keys TEXT,                                     -- '|alias|title|...|', case folded, for --hub
    language TEXT, type TEXT
);
CREATE VIRTUAL TABLE terms USING fts5(
    {", ".join(COLUMNS)}, content='docs', content_rowid='id', tokenize='{TOKENIZE}'
);
INSERT INTO terms(terms, rank) VALUES('rank', 'bm25({", ".join(str(w) for w in WEIGHTS.values())})');
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
"""


class SearchError(ValueError):
    """A query the search index cannot run (bad FTS5 syntax in raw mode), or a search index that cannot be had."""


@dataclass(frozen=True)
class Hit:
    """One search result, best first: the post and a snippet of its text with the matched words marked."""

    id: int
    date: str | None  # published_at, ISO 8601 UTC
    title: str | None
    url: str | None
    snippet: str
    author: str | None
    score: float  # bm25 (lower is better, as SQLite reports it)

    def as_json(self) -> bytes:
        return orjson.dumps(asdict(self))


def search_path(root: Path) -> Path:
    """``DIR/search/search.sqlite``."""
    return Path(root) / SEARCH_DIR / DB_NAME


# --- words and stems ----------------------------------------------------------------------------------------


class _TokenChars:
    """Which characters FTS5's tokenizer keeps inside a token, asked of SQLite itself once per character.

    The stemmed text must have exactly one token per token of the original text (snippet() maps positions from
    one onto the other), so words are cut where the tokenizer cuts them: ``©2024``, ``25°C`` or a combining
    accent are one token to unicode61, two to a ``\\w+`` regex.
    """

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}
        self._probe: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # a writer's search thread and a query may both ask

    def __call__(self, char: str) -> bool:
        known = self._known.get(char)
        if known is None:
            known = self._known[char] = self._ask(char)
        return known

    def _ask(self, char: str) -> bool:
        if char.isspace():
            return False
        with self._lock:
            return self._ask_sqlite(char)

    def _ask_sqlite(self, char: str) -> bool:
        if self._probe is None:
            self._probe = sqlite3.connect(":memory:", check_same_thread=False)
            self._probe.execute(f"CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='{TOKENIZE}')")
            self._probe.execute("CREATE VIRTUAL TABLE probe_terms USING fts5vocab(probe, instance)")
        with self._probe:
            self._probe.execute("DELETE FROM probe")
            self._probe.execute("INSERT INTO probe(text) VALUES (?)", (f"a{char}b",))
            (tokens,) = self._probe.execute("SELECT count(*) FROM probe_terms").fetchone()
        return bool(tokens == 1)


_token_char = _TokenChars()
_RUSSIAN = snowballstemmer.stemmer("russian")
_ENGLISH = snowballstemmer.stemmer("english")
STEMMER = f"snowballstemmer {version('snowballstemmer')} russian+english, words cut as the tokenizer does"


def _words(token: str) -> list[str]:
    """The tokenizer's tokens in one whitespace-free piece of text."""
    words, current = [], []
    for char in token:
        if _token_char(char):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _stem_word(word: str) -> str:
    """One token's stem (remembered: a new piece of text is mostly known words with new punctuation)."""
    stem = _word_stems.get(word)
    if stem is None:
        if len(_word_stems) >= _WORD_CACHE_MAX:
            _word_stems.clear()
        stem = _word_stems[word] = _snowball(word)
    return stem


_word_stems: dict[str, str] = {}


def _snowball(word: str) -> str:
    """One token's stem: lower case, ё as е, Snowball by script; the word itself when that is no one token."""
    folded = unicodedata.normalize("NFC", word).lower().replace("ё", "е")
    first = folded[0]
    if "а" <= first <= "я":
        stem = _RUSSIAN.stemWord(folded)
    elif "a" <= first <= "z":
        stem = _ENGLISH.stemWord(folded)
    else:
        stem = folded
    if not stem or not all(map(_token_char, stem)):
        return word
    return str(stem)


class _StemCache(dict[str, str]):
    """Whitespace-separated piece of text -> its stems joined by spaces (``"транзакции,"`` -> ``"транзакц"``)."""

    def __missing__(self, token: str) -> str:
        if len(self) >= _STEM_CACHE_MAX:
            self.clear()
        value = self[token] = " ".join(_stem_word(word) for word in _words(token))
        return value


_stems = _StemCache()


def stem_text(text: str) -> str:
    """``text`` as stems, one per token of the original, in order (what the FTS index holds)."""
    return " ".join(map(_stems.__getitem__, text.split()))


def row_stems(row: dict[str, Any]) -> tuple[str, ...]:
    """The stems the search index holds for a row's title, body, tags and comments (what :meth:`SearchIndex.put`
    computes; ``reindex --jobs``' workers compute them beside the row)."""
    return tuple(stem_text(text) for text in _row_texts(row))


def _prefix(word: str) -> str:
    """A prefix query's text: folded like a stem, not stemmed (a stem is itself a prefix of its words)."""
    return unicodedata.normalize("NFC", word).lower().replace("ё", "е")


# --- queries ------------------------------------------------------------------------------------------------

# FTS5 query syntax: strings ("" escapes a quote), barewords, and the punctuation between them.
_RAW_TOKEN = re.compile(
    r'(?P<string>"(?P<inner>(?:[^"]|"")*)(?P<closed>"?))|(?P<bare>[^\s"(){}:^*+,\-]+)|(?P<other>\s+|.)', re.S
)
_OPERATORS = {"AND", "OR", "NOT", "NEAR"}


def compile_query(query: str, raw: bool = False, comments: bool = False) -> str | None:
    """The FTS5 MATCH expression for what the user typed; None when it holds no word to look for.

    Default: the words of ``query``, each a required term (punctuation, quotes, ``*``, ``NOT``, ``NEAR`` or
    parentheses are just text). ``raw``: FTS5 query syntax (``"phrases"``, ``AND``/``OR``/``NOT``,
    ``NEAR(a b, 5)``, ``prefix*``, column filters such as ``title: word`` over title, body, tags, comments),
    its words stemmed the same way. Without ``comments`` the comments column is left out.
    """
    if raw:
        expression = _stem_raw(query)
        if not expression.strip():
            return None
    else:
        stems = stem_text(query).split()
        if not stems:
            return None
        expression = " ".join(f'"{stem}"' for stem in stems)
    return expression if comments else f"{WITHOUT_COMMENTS} : ({expression})"


def _stem_raw(query: str) -> str:
    """Raw FTS5 syntax with each string's and bareword's words replaced by their stems; operators, column
    names, NEAR distances and punctuation are kept, and errors are left for FTS5 to report."""
    matches = list(_RAW_TOKEN.finditer(query))
    out: list[str] = []
    in_columns = False
    for position, match in enumerate(matches):
        piece = match.group()
        following = next((m.group() for m in matches[position + 1 :] if not m.group().isspace()), "")
        if match["other"]:
            in_columns = (in_columns or piece == "{") and piece != "}"
            out.append(piece)
        elif match["string"]:
            if match["closed"]:
                out.append(_phrase(match["inner"].replace('""', '"'), following == "*"))
            else:
                out.append(piece)  # an unterminated string: FTS5 says so
        elif in_columns or following == ":" or piece in _OPERATORS or piece.isdigit():
            out.append(piece)  # a column name, an operator, a NEAR distance
        else:
            out.append(_phrase(piece, following == "*"))
    return "".join(out)


def _phrase(text: str, prefix: bool) -> str:
    """A quoted FTS5 string of ``text``'s stems (the last word folded, not stemmed, before a ``*``)."""
    words = [word for token in text.split() for word in _words(token)]
    if not words:
        return '""'
    stems = [_stem_word(word) for word in (words[:-1] if prefix else words)]
    if prefix:
        stems.append(_prefix(words[-1]))
    return '"' + " ".join(stems).replace('"', '""') + '"'


# --- the index file -----------------------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 10000")  # a reader waits out a writer's commit
    return connection


def checkpoint_json(path: Path) -> Any:
    """A checkpoint file's JSON (what the search index notes it holds for), None when there is none."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _read_checkpoint(root: Path) -> Any:
    """The index's checkpoint (its JSON), None when there is none yet."""
    return checkpoint_json(ArchiveDir(root).state_dir / CHECKPOINT_NAME)


def _row_texts(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """``(title, body, tags, comments)``: the original text the search index holds for a row."""
    comments = row.get("comments") or []
    return (
        row.get("title") or "",
        row.get("text") or "",
        "\n".join(tag for tag in row.get("tags") or [] if tag),
        "\n\n".join(_comment_text(comment) for comment in comments if isinstance(comment, dict)),
    )


_TAG = re.compile(r"<[^>]*>")


def _comment_text(comment: dict[str, Any]) -> str:
    text = comment.get("message_markdown")
    if not text and comment.get("message_html"):
        text = html.unescape(_TAG.sub(" ", comment["message_html"]))
    return str(text or "")


def _row_meta(row: dict[str, Any]) -> tuple[Any, ...]:
    """``(published_at, time_published, url, author, author_key, hub_keys, language, type)`` of a row."""
    hubs = [*(row.get("hubs") or []), *(row.get("hub_titles") or [])]
    author = row.get("author")
    return (
        row.get("published_at"),
        row.get("time_published"),
        row.get("url"),
        author,
        author.casefold() if author else None,
        "|" + "|".join(dict.fromkeys(str(hub).casefold() for hub in hubs)) + "|",
        row.get("language"),
        row.get("type"),
    )


# id, _row_texts, _row_meta, and the texts' stems when the caller made them (row_stems): what a row gives
_Doc = tuple[int, tuple[str, str, str, str], tuple[Any, ...], tuple[str, ...] | None]
_WRITE_BATCH = 256  # rows per executemany (the writer thread takes what has queued, up to this many)


@dataclass
class _Commit:
    """Asks the writer thread to commit, after every row queued before it; ``done`` is set once it has."""

    checkpoints: list[Any]
    done: threading.Event = field(default_factory=threading.Event)


class _Stop:
    """Asks the writer thread to end (rows queued and not committed are dropped: the capture log has them)."""


class SearchIndex:
    """The search index file, open for writing: :meth:`put` rows, :meth:`commit` with the checkpoints it holds
    for. Nothing is visible to readers (or survives a kill) before a commit.

    With ``background``, :meth:`put` only queues the row's text (microseconds): a thread of its own stems it
    and inserts it as rows come, and :meth:`commit` waits for that thread to have written every row queued
    and committed. SQLite releases the GIL while it tokenizes and writes, so that part runs beside the
    crawl; the stemming is Python and mostly dictionary lookups (see :func:`stem_text`). An error on that
    thread is raised by the next put, commit or close.
    """

    def __init__(
        self, path: Path, create: bool = False, building: bool = False, background: bool = False
    ) -> None:
        """Open ``path`` (``create``: make it when missing). ``building``: a file being rebuilt, not yet in
        place: no WAL (one self-contained file to rename), no syncs (it is fsynced once, when done)."""
        self.path = path
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise FileNotFoundError(path)
        self.db = _connect(path)
        if create and not self._has_tables():
            self.db.executescript(_SCHEMA)
            self._set_meta(format=FORMAT, stemmer=STEMMER, checkpoints=[])
        if building:
            self.db.execute("PRAGMA journal_mode = DELETE")
            self.db.execute("PRAGMA synchronous = OFF")
        else:
            self.db.execute("PRAGMA journal_mode = WAL")  # readers search while a crawl writes
            # FULL, not NORMAL: in WAL mode NORMAL leaves a commit unsynced until a WAL checkpoint, so a power
            # loss could take it back after the index checkpoint moved past it. Nothing inconsistent would be
            # used (the stamps would no longer name the index checkpoint: `search` rebuilds) but it would cost
            # a rebuild, to save one fsync per flush (HABR_INDEX_FLUSH_ROWS rows): under 1% of the hook.
            self.db.execute("PRAGMA synchronous = FULL")
        self._in_transaction = False
        self._batch: list[_Doc] = []  # without background: rows put and not yet written
        self._failure: BaseException | None = None  # of the writer thread, raised by the next put or commit
        self._failure_raised = False
        self._queue: queue.SimpleQueue[_Doc | _Commit | _Stop] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name=f"search index {path}", daemon=True)
            self._thread.start()

    def _has_tables(self) -> bool:
        found = self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
        return found is not None

    def meta(self) -> dict[str, Any]:
        if not self._has_tables():
            return {}
        return {key: json.loads(value) for key, value in self.db.execute("SELECT key, value FROM meta")}

    def _set_meta(self, **values: Any) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [(key, json.dumps(value, sort_keys=True)) for key, value in values.items()],
        )

    def holds_for(self, checkpoint: Any) -> bool:
        """True when this file was committed for ``checkpoint`` (the index's) with today's format and stemmer."""
        meta = self.meta()
        return (
            meta.get("format") == FORMAT
            and meta.get("stemmer") == STEMMER
            and checkpoint in meta.get("checkpoints", [])
        )

    def put(self, row: dict[str, Any], stems: tuple[str, ...] | None = None) -> None:
        """Insert or replace the row ``row["id"]`` (its words are re-indexed only when its text changed).
        ``stems``: :func:`row_stems` of the row, when the caller made them already (in another process)."""
        doc = (int(row["id"]), _row_texts(row), _row_meta(row), stems)
        if self._queue is not None:
            self._raise_failure()
            self._queue.put(doc)
            return
        self._batch.append(doc)
        if len(self._batch) >= _WRITE_BATCH:
            self._write(self._batch)
            self._batch = []

    def commit(self, *checkpoints: Any) -> None:
        """Make the rows put so far durable, noting the index checkpoints this state is consistent with."""
        if self._queue is not None:
            self._raise_failure()
            request = _Commit(list(checkpoints))
            self._queue.put(request)
            request.done.wait()
            self._raise_failure()
            return
        self._write(self._batch)
        self._batch = []
        self._commit_now(list(checkpoints))

    def optimize(self) -> None:
        """Merge the FTS index into one segment (a rebuild does, last: the fastest file to search)."""
        self._write(self._batch)
        self._batch = []
        self.db.execute("INSERT INTO terms(terms) VALUES ('optimize')")

    def close(self) -> None:
        """Close the file; rows not committed are dropped (recovery replays them from the capture log, and
        the stamps still name the last commit's checkpoints)."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(_Stop())
            self._thread.join()
            if self._failure is not None and not self._failure_raised:
                logger.warning("search index %s: rows not written: %s", self.path, self._failure)
        self._batch = []
        if self._in_transaction:
            self.db.execute("ROLLBACK")
            self._in_transaction = False
        self.db.close()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            self._failure_raised = True
            raise self._failure

    def _run(self) -> None:
        """The writer thread: takes rows as they are queued (in batches of what has queued) and commits when
        asked, until asked to stop. After an error it only answers commits (each raises it in the caller)."""
        assert self._queue is not None
        batch: list[_Doc] = []
        while True:
            try:
                item = self._queue.get(block=not batch)
            except queue.Empty:
                item = None  # nothing more queued for now: write what was taken
            if isinstance(item, tuple):
                batch.append(item)
                if len(batch) < _WRITE_BATCH:
                    continue
                item = None
            try:
                if self._failure is None and not isinstance(item, _Stop):
                    self._write(batch)
                    if isinstance(item, _Commit):
                        self._commit_now(item.checkpoints)
            except BaseException as error:  # the caller's next put, commit or close raises it
                self._failure = error
            finally:
                batch = []
                if isinstance(item, _Commit):
                    item.done.set()
            if isinstance(item, _Stop):
                return

    def _write(self, batch: list[_Doc]) -> None:
        """Insert or replace the batch's rows in the open transaction (a row put twice: the last one)."""
        if not batch:
            return
        if not self._in_transaction:
            self.db.execute("BEGIN")
            self._in_transaction = True
        docs = {doc[0]: doc for doc in batch}
        db = self.db
        marks = ",".join("?" * len(docs))
        old = {
            found[0]: tuple(found[1:])
            for found in db.execute(
                f"SELECT id, title, body, tags, comments FROM docs WHERE id IN ({marks})", tuple(docs)
            )
        }
        same = [
            (*meta, article_id)
            for article_id, texts, meta, _ in docs.values()
            if old.get(article_id) == texts
        ]
        changed = [doc for doc in docs.values() if old.get(doc[0]) != doc[1]]
        db.executemany(
            "UPDATE docs SET published_at=?, time_published=?, url=?, author=?, author_key=?, hub_keys=?,"
            " language=?, type=? WHERE id = ?",
            same,
        )
        # external content: the index entries are removed by giving the stems they were made of
        db.executemany(
            "INSERT INTO terms(terms, rowid, title, body, tags, comments) VALUES ('delete', ?, ?, ?, ?, ?)",
            [
                (article_id, *(stem_text(text or "") for text in old[article_id]))
                for article_id, _, _, _ in changed
                if article_id in old
            ],
        )
        # One statement of many rows each, not executemany: SQLite releases the GIL per step, and on a busy
        # crawl thread every re-take of the GIL waits out a switch interval (5 ms), so a row per step starves
        # the writer thread; one step per batch does not.
        if changed:
            db.execute(
                "INSERT OR REPLACE INTO docs(id, title, body, tags, comments, published_at, time_published, url,"
                " author, author_key, hub_keys, language, type) VALUES "
                + ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?)"] * len(changed)),
                [value for article_id, texts, meta, _ in changed for value in (article_id, *texts, *meta)],
            )
            db.execute(
                "INSERT INTO terms(rowid, title, body, tags, comments) VALUES "
                + ",".join(["(?,?,?,?,?)"] * len(changed)),
                [
                    value
                    for article_id, texts, _, stems in changed
                    for value in (article_id, *(stems or map(stem_text, texts)))
                ],
            )

    def _commit_now(self, checkpoints: list[Any]) -> None:
        if not self._in_transaction:
            self.db.execute("BEGIN")
        self._set_meta(checkpoints=checkpoints)
        self.db.execute("COMMIT")
        self._in_transaction = False


def open_for_writer(archive: ArchiveDir) -> SearchIndex | None:
    """The search index a writer keeps up to date, or None when it is behind the index (``search`` rebuilds
    it then: a crawl is not held up by a rebuild). A new archive gets a new, empty one."""
    path = search_path(archive.root)
    checkpoint = _read_checkpoint(archive.root)
    try:
        if path.exists():
            search = SearchIndex(path, background=True)
            if search.holds_for(checkpoint):
                return search
            search.close()
        elif not any(archive.index_dir.glob("*.jsonl")):
            search = SearchIndex(path, create=True, background=True)
            search.commit(checkpoint)
            return search
    except sqlite3.DatabaseError as error:
        logger.warning("search index %s unreadable (%s): `habrmirror search` rebuilds it", path, error)
        return None
    logger.info("search index %s is behind the index: `habrmirror search` rebuilds it", path)
    return None


class SearchRebuild:
    """A search index built afresh beside the current one: :meth:`put` the index's rows in shard order, then
    :meth:`finish` swaps it in (or :meth:`abandon` deletes it). The caller holds the writer lock. The same
    rows put in the same order make the same file, however they were fed.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = search_path(self.root)
        self.new = self.path.with_name(self.path.name + ".new")
        for leftover in _files_of(self.new):
            leftover.unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.search = SearchIndex(self.new, create=True, building=True)
        self.rows = 0

    def put(self, row: dict[str, Any], stems: tuple[str, ...] | None = None) -> None:
        self.search.put(row, stems)
        self.rows += 1
        if self.rows % _REBUILD_BATCH == 0:
            self.search.commit()

    def finish(self, checkpoint: Any = None) -> int:
        """Commit for ``checkpoint`` (default: the capture log's now), swap the file in; the rows indexed."""
        if checkpoint is None:
            checkpoint = _read_checkpoint(self.root)
        try:
            self.search.optimize()
            self.search.commit(checkpoint)
        finally:
            self.search.close()
        with open(self.new, "rb") as handle:
            os.fsync(handle.fileno())
        for stale in _files_of(self.path):  # never a new file beside an old file's WAL
            stale.unlink(missing_ok=True)
        os.replace(self.new, self.path)
        fsync_dir(self.path.parent)
        return self.rows

    def abandon(self) -> None:
        """Close and delete the file being built (the current one, if any, is left as it is)."""
        self.search.close()
        for leftover in _files_of(self.new):
            leftover.unlink(missing_ok=True)


def rebuild_search_index(root: Path) -> int:
    """Build the search index afresh from the index rows (streamed, shard by shard) and swap it in; returns
    the rows indexed. The caller holds the writer lock (``reindex`` does; :func:`ensure_search_index` takes it)."""
    archive = ArchiveDir(Path(root))
    checkpoint = _read_checkpoint(archive.root)  # before the rows: they are at least this new
    build = SearchRebuild(archive.root)
    try:
        for row in iter_rows(archive.index_dir):
            build.put(row)
    except BaseException:
        build.abandon()
        raise
    return build.finish(checkpoint)


def remove_search_index(root: Path) -> None:
    """Delete the search index (a reindex does, first: until it is rebuilt it would answer for the old index)."""
    for path in _files_of(search_path(Path(root))):
        path.unlink(missing_ok=True)


def _files_of(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _meta(db: sqlite3.Connection) -> dict[str, Any]:
    return {key: json.loads(value) for key, value in db.execute("SELECT key, value FROM meta")}


def _holds_for_index(db: sqlite3.Connection, root: Path) -> bool:
    """True when the search index was committed for the index's checkpoint. Stamps, checkpoint, stamps again:
    a running writer commits new stamps before it moves the checkpoint, so one it moved in between is among
    the second stamps."""
    first = _meta(db)
    checkpoint = _read_checkpoint(root)
    second = first if checkpoint in first.get("checkpoints", []) else _meta(db)
    return (
        second.get("format") == FORMAT
        and second.get("stemmer") == STEMMER
        and checkpoint in [*first.get("checkpoints", []), *second.get("checkpoints", [])]
    )


def _open_current(root: Path) -> sqlite3.Connection | None:
    """A connection to the search index when it is current, else None."""
    path = search_path(root)
    if not path.exists():
        return None
    db = _connect(path)
    try:
        if _holds_for_index(db, root):
            return db
    except sqlite3.DatabaseError:
        pass
    db.close()
    return None


def _is_current(root: Path) -> bool:
    db = _open_current(root)
    if db is None:
        return False
    db.close()
    return True


def ensure_search_index(root: Path) -> str | None:
    """Rebuild the search index when it is missing or older than the index; a one-line note saying what was
    done (None when it was current). A running writer keeps its lock: then an existing, older search index is
    used as it is (the note says so), a missing one is a :class:`SearchError`."""
    archive = ArchiveDir(Path(root))
    path = search_path(archive.root)
    if _is_current(archive.root):
        return None
    try:
        with archive.writer_lock(wait=0, holder="habrmirror search (rebuilding the search index)"):
            if _is_current(archive.root):
                return None
            missing = not path.exists()
            rows = rebuild_search_index(archive.root)
    except LockHeld as error:
        if path.exists():
            return f"the search index is older than the index and {error}: results may miss the newest posts"
        raise SearchError(f"no search index yet and {error}: search again when it is done") from None
    why = "missing" if missing else "older than the index"
    return f"search index was {why}: rebuilt from {rows} index rows"


# --- searching ----------------------------------------------------------------------------------------------


def search_archive(
    root: Path,
    query: str,
    hub: str | None = None,
    author: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
    comments: bool = False,
    raw: bool = False,
) -> list[Hit]:
    """The archive's posts matching ``query``, best first (bm25), at most ``limit``.

    ``query``: words (any text is safe: punctuation and FTS5 operators are taken as words); ``raw=True``: FTS5
    query syntax instead (see :func:`compile_query`), whose errors raise :class:`SearchError`. ``hub``: an alias
    or title, ``author``: a login (case ignored both); ``since``: published at or after it; ``comments``: search
    the archived comments too. A missing or outdated search index is rebuilt first (:func:`ensure_search_index`).
    """
    if limit < 1:
        raise SearchError(f"limit must be 1 or more, got {limit}")
    expression = compile_query(query, raw=raw, comments=comments)
    connection = _open_current(Path(root))
    if connection is None:
        note = ensure_search_index(root)
        if note:
            logger.warning("%s", note)
        connection = _connect(search_path(Path(root)))
    if expression is None:
        connection.close()
        return []
    sql, parameters = _select(expression, hub, author, since, limit)
    try:
        rows = connection.execute(sql, parameters).fetchall()
    except sqlite3.OperationalError as error:
        raise SearchError(f"cannot search for {query!r}: {_fts_message(error)}") from None
    finally:
        connection.close()
    return [Hit(*row) for row in rows]


def _select(
    expression: str, hub: str | None, author: str | None, since: datetime | None, limit: int
) -> tuple[str, list[Any]]:
    """The one SQL statement of a search: FTS5 match ranked by bm25, filters on the docs row, snippets."""
    where = ["terms MATCH ?"]
    parameters: list[Any] = [expression]
    if hub:
        where.append("instr(d.hub_keys, ?) > 0")
        parameters.append(f"|{hub.casefold()}|")
    if author:
        where.append("d.author_key = ?")
        parameters.append(author.casefold())
    if since is not None:
        where.append("d.time_published >= ?")
        parameters.append(int(since.timestamp()))
    open_mark, close_mark = HIGHLIGHT
    sql = (
        "SELECT terms.rowid, d.published_at, d.title, d.url,"
        f" snippet(terms, -1, '{open_mark}', '{close_mark}', '…', {SNIPPET_TOKENS}), d.author, rank"
        " FROM terms JOIN docs AS d ON d.id = terms.rowid"
        f" WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?"
    )
    parameters.append(limit)
    return sql, parameters


def _fts_message(error: sqlite3.OperationalError) -> str:
    message = str(error)
    return message.removeprefix("fts5: ")
