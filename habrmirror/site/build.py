"""``build_site``: the static mirror of an archive, from its index and WARCs alone (no network), incremental.

Place in the flow: the end of the offline way back: index rows + capture log + WARC image records -> HTML pages,
local images, Atom feed, sitemap and a Pagefind search index under ``SITE/``. A manifest
(``SITE/.habrmirror-site.json``) keeps, for every file, a fingerprint of what it was built from and the digest
of what was written: a re-run renders only articles whose inputs changed (a new or re-captured row, a neighbour,
an image, an earlier capture, a newly archived linked article) and writes only files whose bytes changed. Each
file is replaced atomically and the build is durable once it returns (:class:`habrmirror.site.writer.SiteWriter`:
fsync, rename, directories synced at the end); images and articles are in place before the listings that link
to them, the manifest last. Article pages are rendered on a process pool (one worker per core) when there are
enough of them; the main process reads the rows, copies the images and writes the files meanwhile.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from habrmirror.archive.atomic import write_atomic
from habrmirror.clock import iso, parse_utc
from habrmirror.site.images import ImageFile, ImageRecords, extract_image
from habrmirror.site.labels import human_date, labels_for, site_language
from habrmirror.site.sanitize import BodyContext, BodyRenderer, Labels, highlight_css
from habrmirror.site.writer import SiteWriter
from habrmirror.store.captures import iter_captures
from habrmirror.store.index import find_line
from habrmirror.urls import NotAnArticleUrl, article_id, is_article_url, is_habr_host

MANIFEST = ".habrmirror-site.json"
MANIFEST_VERSION = 1
PAGE_SIZE = 50  # articles per "All Articles", hub or author page
FEED_ENTRIES = 50
PAGEFIND_DIR = "pagefind"
_HERE = Path(__file__).resolve().parent
# Code whose change means every page is rebuilt (templates, styles, the body rewrite, this builder).
_CODE_FILES = ("build.py", "sanitize.py", "labels.py", "images.py")
# Fewer article pages than this to render (a re-run after a small crawl) are rendered in the main process: starting
# the workers (each imports lxml, Jinja2, Pygments) would cost more than it saves.
MIN_PARALLEL_ARTICLES = 64
ARTICLES_IN_FLIGHT_PER_WORKER = (
    4  # tasks queued per worker: keeps workers busy and bounds the pages in memory
)
_SLUG = re.compile(r"[a-z0-9_-]{1,64}")
_NOT_SLUG = re.compile(r"[^a-z0-9_-]+")
# Device names Windows reserves whatever the extension (a site is often copied there, or served from there).
_RESERVED_NAMES = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))]
)
_URL_IN_ROW = re.compile(rb"https?://[^\s\"'<>\\]+")  # URLs as they stand in an index line (JSON text)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CSP = "script-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
_CSP_SEARCH = (
    "script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; frame-src 'none'; base-uri 'none'; "
    "form-action 'none'"
)


class SiteError(Exception):
    """The archive cannot be built into a site (no index, unreadable manifest): one line for the user."""


@dataclass
class SiteReport:
    """What a build did. ``written`` lists site-relative paths whose bytes changed this run."""

    site: Path
    articles: int = 0
    articles_rendered: int = 0  # article pages whose inputs changed (rendered; written only if bytes differ)
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    images: int = 0  # local image files the site holds
    images_missing: int = 0  # images of rows that no WARC record gave us
    search: bool = False  # a Pagefind index was (re)built or is current
    search_files: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"site {self.site}: {self.articles} articles ({self.articles_rendered} rendered), "
            f"{len(self.written)} files written, {self.unchanged} unchanged, {len(self.removed)} removed, "
            f"{self.images} images ({self.images_missing} not in the archive), "
            f"search {'on' if self.search else 'off'}, {self.seconds:.1f} s"
        ]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def slug(value: str) -> str:
    """A file name stem for a hub alias or author login: the value itself when it is ``[a-z0-9_-]{1,64}`` and not
    a name Windows reserves for a device (``con``, ``nul``, ``com1``: ``hubs/con.html`` cannot be created or copied
    there), else an ASCII rendering plus a hash of the value (distinct values never share a file, none escapes)."""
    if _SLUG.fullmatch(value) and value not in _RESERVED_NAMES:
        return value
    readable = _NOT_SLUG.sub("-", value.lower()).strip("-")[:40]
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]
    return f"{readable}-{digest}" if readable else digest


@dataclass
class Group:
    slug: str
    title: str
    count: int = 0


@dataclass
class Entry:
    """What listings, feeds and neighbours need of an article (the body stays on disk)."""

    id: int
    title: str
    titled: bool
    language: str
    url: str
    author: str | None
    author_name: str | None
    author_slug: str | None
    published_at: str | None
    captured_at: str | None
    gone_at: str | None
    reading_time: int | None
    hubs: list[Group]
    tags: list[str]
    summary: str
    digest: str  # SHA-256 of the index line
    shard: Path
    offset: int  # where the line is in the shard (read again to render the page: rows are not kept in memory)
    length: int
    linked: list[int]  # ids of Habr articles the body links to
    image_urls: list[str]

    @property
    def sort_key(self) -> tuple[str, int]:
        return (self.published_at or "", self.id)


def _fallback_title(row: dict[str, Any], label: str) -> str:
    """A titleless post (Habr's short "posts") is listed by its first words."""
    text = " ".join(str(row.get("text") or row.get("lead_markdown") or "").split())
    if text:
        return text if len(text) <= 80 else text[:77].rsplit(" ", 1)[0] + "…"
    return f"{label} {row['id']}"


def _linked_id(url: str, hosts: set[str]) -> int | None:
    """The id of the Habr article a link points at (any URL form Habr has used), else None."""
    if not url.startswith(("http://", "https://")):
        return None
    host = urlsplit(url).hostname
    if not (is_habr_host(host) or host in hosts):
        return None
    try:
        return article_id(url) if is_article_url(url) else None
    except NotAnArticleUrl:
        return None


def _digest(value: object) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


class SiteBuilder:
    """One build of ``out`` from ``archive``; :func:`build_site` is the way to call it."""

    def __init__(
        self,
        archive: Path,
        out: Path,
        base_url: str | None,
        search: bool = True,
        workers: int | None = None,
    ) -> None:
        self.archive = archive
        self.search = search  # False: no Pagefind run (the benchmark times rendering alone)
        self.workers = workers if workers is not None else _cores()  # processes rendering article pages
        self.out = out
        self.base_url = (base_url.rstrip("/") + "/") if base_url else None
        self.report = SiteReport(site=out)
        self.old = self._load_manifest()
        self.files: dict[str, dict[str, Any]] = {}  # the new manifest's files
        self.images_cache: dict[str, dict[str, str | None]] = dict(self.old.get("images", {}))
        self.images_used: dict[str, dict[str, str | None]] = {}
        self.shard_stats: dict[Path, tuple[int, int, int] | None] = {}  # as _entries read each shard
        self.code = self._code_digest()
        self._records: ImageRecords | None = None

    # -- manifest and writing -----------------------------------------------------------------------------------
    def _load_manifest(self) -> dict[str, Any]:
        path = self.out / MANIFEST
        if not path.exists():
            return {}
        try:
            data: dict[str, Any] = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            return {}  # a manifest we cannot read: build everything again
        return data if data.get("version") == MANIFEST_VERSION else {}

    def _code_digest(self) -> str:
        hasher = hashlib.sha256()
        for path in sorted(
            [
                *(_HERE / name for name in _CODE_FILES),
                *(_HERE / "templates").glob("*"),
                *(_HERE / "static").glob("*"),
            ]
        ):
            hasher.update(path.name.encode() + b"\0" + path.read_bytes())
        return hasher.hexdigest()

    def _old_file(self, relative: str) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = self.old.get("files", {}).get(relative)
        return entry

    def put(self, relative: str, data: bytes, inputs: str = "", uses: list[str] | None = None) -> None:
        """Make ``SITE/relative`` hold ``data``: written (atomically) only if its bytes changed. ``uses``: the
        image files the page shows (kept while a page that shows them is)."""
        digest = hashlib.sha256(data).hexdigest()
        old = self._old_file(relative)
        self.files[relative] = {"inputs": inputs, "sha256": digest, "uses": uses or []}
        if old and old.get("sha256") == digest and self.writer.exists(relative):
            self.report.unchanged += 1
            return
        self.writer.write(relative, data)
        self.report.written.append(relative)

    def keep(self, relative: str) -> bool:
        """Carry an unchanged file over to the new manifest without rebuilding it, if it is still there."""
        old = self._old_file(relative)
        if old is None or not self.writer.exists(relative):
            return False
        uses = [str(path) for path in old.get("uses") or []]
        if not all(self.writer.exists(path) for path in uses):
            return False  # an image it shows went missing: render it again (which copies the image back)
        for path in uses:
            self.files.setdefault(path, {"inputs": "", "sha256": ""})
        self.files[relative] = old
        self.report.unchanged += 1
        return True

    def _write_image(self, relative: str, data: bytes) -> None:
        if self.writer.exists(relative):
            return  # two URLs, the same bytes: queued already, maybe not renamed yet
        self.writer.write(relative, data)
        self.report.written.append(relative)

    # -- the build ----------------------------------------------------------------------------------------------
    def build(self) -> SiteReport:
        started = time.perf_counter()
        index_dir = self.archive / "index"
        if not index_dir.is_dir():
            raise SiteError(f"{self.archive} is not an archive directory (no index/)")
        self.out.mkdir(parents=True, exist_ok=True)
        entries = self._entries(index_dir)
        entries.sort(key=lambda entry: entry.sort_key, reverse=True)
        self.report.articles = len(entries)
        languages = Counter(entry.language for entry in entries)
        self.ui_lang = site_language(languages.most_common(1)[0][0] if languages else "ru")
        self.L = labels_for(self.ui_lang)
        self.by_id = {entry.id: entry for entry in entries}
        self.pages = PageRenderer(
            RenderState(
                self.ui_lang,
                frozenset(self.by_id),
                frozenset(entry.author for entry in entries if entry.author),
                frozenset(self._origin_hosts()),
            )
        )
        # the workers are forked now, before the writer starts its threads (see _fork_pool)
        self.pool = self._fork_pool() if len(entries) >= MIN_PARALLEL_ARTICLES else None
        try:
            with SiteWriter(self.out) as self.writer:
                self._build(entries, languages)
        finally:
            self._stop_pool()
        if self.base_url is None:
            self.report.notes.append(
                "no --base-url: atom.xml and sitemap.xml carry site-relative links (give the site's URL to make them absolute)"
            )
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _build(self, entries: list[Entry], languages: Counter[str]) -> None:
        earlier = self._earlier_captures()
        self._static()
        self._articles(entries, earlier)
        self._stop_pool()
        self.writer.wait()  # every article page and image in place before a listing links to it
        self._listing(
            "index.html", entries, self.L["all_articles"], None, "", lambda page: f"pages/{page}.html"
        )
        self._groups(entries)
        self._search(languages)
        self._feed(entries)
        self._sitemap(entries)
        self._remove_stale()
        self.writer.wait()  # Pagefind reads the pages
        if self.search:
            self._pagefind()
        self.writer.finish()  # durable (directories synced) before the manifest says so
        self.report.images = len({v["path"] for v in self.images_used.values() if v.get("path")})
        manifest = {
            "version": MANIFEST_VERSION,
            "code": self.code,
            "archive": str(self.archive.resolve()),
            "files": self.files,
            "images": self.images_used,
            "pagefind": self.code if self.report.search else None,
        }
        write_atomic(self.out / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS))

    def _origin_hosts(self) -> set[str]:
        """Hosts the archive was crawled from besides Habr's own (a replica, a mirror): links there are Habr's."""
        hosts: set[str] = set()
        try:
            info = orjson.loads((self.archive / "archive.json").read_bytes())
            host = urlsplit(str(info.get("origin") or "")).hostname
            if host:
                hosts.add(host)
        except (OSError, orjson.JSONDecodeError):
            pass
        return hosts

    def _entries(self, index_dir: Path) -> list[Entry]:
        entries = []
        for shard in sorted(index_dir.glob("*.jsonl")):
            self.shard_stats[shard] = _stat_key(shard)
            for offset, line in _located_lines(shard):
                row = orjson.loads(line)
                entries.append(self._entry(row, hashlib.sha256(line).hexdigest(), shard, offset, len(line)))
        return entries

    def _entry(self, row: dict[str, Any], digest: str, shard: Path, offset: int, length: int) -> Entry:
        language = row.get("language") or "ru"
        title = (row.get("title") or "").strip()
        hubs = row.get("hubs") or []
        titles = row.get("hub_titles") or []
        hosts = {urlsplit(str(row.get("fetched_url") or "")).hostname or ""}
        linked = {
            found
            for link in row.get("links") or []
            if isinstance(link, dict) and (found := _linked_id(str(link.get("url") or ""), hosts)) is not None
        }
        author = row.get("author") or None
        return Entry(
            id=int(row["id"]),
            title=title or _fallback_title(row, labels_for(language)["post"]),
            titled=bool(title),
            language=language,
            url=row.get("url") or f"https://habr.com/ru/articles/{int(row['id'])}/",
            author=author,
            author_name=row.get("author_name") or None,
            author_slug=slug(author) if author else None,
            published_at=row.get("published_at"),
            captured_at=row.get("captured_at"),
            gone_at=row.get("gone_at"),
            reading_time=row.get("reading_time"),
            hubs=[
                Group(slug(alias), titles[number] if number < len(titles) and titles[number] else alias)
                for number, alias in enumerate(hubs)
                if alias
            ],
            tags=[str(tag) for tag in row.get("tags") or []],
            summary=_summary(row),
            digest=digest,
            shard=shard,
            offset=offset,
            length=length,
            linked=sorted(linked),
            image_urls=[str(image["url"]) for image in row.get("images") or [] if image.get("url")],
        )

    def _earlier_captures(self) -> dict[int, list[str]]:
        """For each article, the times of its archived captures before the one its row shows, newest first."""
        times: dict[int, set[str]] = defaultdict(set)
        directory = self.archive / "captures"
        if directory.is_dir():
            for capture in iter_captures(directory):
                if capture.id is not None and capture.outcome == "archived" and capture.id in self.by_id:
                    times[capture.id].add(capture.time)
        earlier = {}
        for article, moments in times.items():
            shown = self.by_id[article].captured_at or ""
            before = sorted((moment for moment in moments if moment < shown), reverse=True)
            if before:
                earlier[article] = before
        return earlier

    # -- images -------------------------------------------------------------------------------------------------
    @property
    def records(self) -> ImageRecords:
        if self._records is None:
            self._records = ImageRecords(self.archive)
        return self._records

    def image(self, url: str) -> str | None:
        """The site-relative local copy of an image URL (extracted from its WARC record once), or None."""
        known = self.images_used.get(url)
        if known is not None:
            return known.get("path")
        ref = self.records.find(url)
        result: dict[str, str | None]
        if ref is None:
            result = {"ref": None, "path": None, "error": "no WARC record"}
        else:
            cached = self.images_cache.get(url)
            if (
                cached
                and cached.get("ref") == ref.key
                and cached.get("path")
                and self.writer.exists(str(cached["path"]))
            ):
                result = cached
            else:
                copied: ImageFile = extract_image(ref, self.out, self._write_image)
                result = {"ref": ref.key, "path": copied.path, "error": copied.error}
        self.images_used[url] = result
        if result.get("path"):
            self.files[str(result["path"])] = {"inputs": str(result["ref"]), "sha256": ""}
        return result.get("path")

    # -- pages --------------------------------------------------------------------------------------------------
    def _page(self, template: str, relative: str, **context: Any) -> bytes:
        return self.pages.page(template, relative, **context)

    def _static(self) -> None:
        for path in sorted((_HERE / "static").iterdir()):
            if path.is_file():
                self.put(f"static/{path.name}", path.read_bytes())
        self.put("static/highlight.css", highlight_css().encode("utf-8"))

    def _articles(self, entries: list[Entry], earlier: dict[int, list[str]]) -> None:
        """Render the article pages whose inputs changed: on worker processes when there are enough of them, read
        shard by shard (one row in memory per page in flight), written in the order they were asked for."""
        todo: dict[Path, dict[int, tuple[int, str, dict[str, str | None]]]] = defaultdict(dict)
        wanted = 0
        for position, entry in enumerate(entries):
            newer = entries[position - 1] if position > 0 else None
            older = entries[position + 1] if position + 1 < len(entries) else None
            images = {url: self.image(url) for url in entry.image_urls}
            inputs = _digest(
                [
                    self.code,
                    self.ui_lang,
                    entry.digest,
                    [newer.id, newer.title] if newer else None,
                    [older.id, older.title] if older else None,
                    earlier.get(entry.id, []),
                    [article for article in entry.linked if article in self.by_id],
                    images,
                ]
            )
            relative = f"articles/{entry.id}.html"
            old = self._old_file(relative)
            if old and old.get("inputs") == inputs and self.keep(relative):
                continue
            todo[entry.shard][entry.id] = (position, inputs, images)
            wanted += 1
        pool = self.pool if wanted >= MIN_PARALLEL_ARTICLES else None
        tasks = self._article_tasks(todo, entries, earlier)
        if pool is None:
            for inputs, task in tasks:
                rendered = self.pages.article(task)
                while rendered.unresolved:
                    task = self._resolve(task, rendered)
                    rendered = self.pages.article(task)
                self._finish_article(task, inputs, rendered)
            return
        window: deque[tuple[str, ArticleTask, Future[RenderedArticle]]] = deque()
        limit = self.workers * ARTICLES_IN_FLIGHT_PER_WORKER
        for inputs, task in tasks:
            window.append((inputs, task, pool.submit(_render_article, task)))
            while len(window) >= limit:
                self._settle(pool, window)
        while window:
            self._settle(pool, window)

    def _fork_pool(self) -> ProcessPoolExecutor | None:
        """Worker processes for the article pages, or None (one core; not Linux; other threads running).

        Forked, not spawned: a spawned worker imports the caller's main module again, which runs a script that
        lacks the ``if __name__ == "__main__"`` guard a second time. A fork copies only the calling thread, so
        it is done only while that is the only one (a lock another thread held would stay locked in the child):
        before the writer starts its threads, and not at all if the caller runs threads of its own.
        """
        if (
            self.workers < 2
            or not sys.platform.startswith("linux")
            or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()
        ):
            return None
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(self.pages.state,),
        )
        pool.submit(int)  # with fork, the first task starts every worker (and then the pool's own thread)
        return pool

    def _stop_pool(self) -> None:
        pool, self.pool = getattr(self, "pool", None), None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _article_tasks(
        self,
        todo: dict[Path, dict[int, tuple[int, str, dict[str, str | None]]]],
        entries: list[Entry],
        earlier: dict[int, list[str]],
    ) -> Iterator[tuple[str, ArticleTask]]:
        for shard, wanted in todo.items():
            with shard.open("rb") as handle:
                for article, (position, inputs, images) in sorted(
                    wanted.items(), key=lambda item: entries[item[1][0]].offset
                ):
                    entry = entries[position]
                    handle.seek(entry.offset)
                    line = handle.read(entry.length)
                    replaced = self.shard_stats.get(shard) != _stat_key(shard)  # a writer replaced it since
                    if replaced and hashlib.sha256(line).hexdigest() != entry.digest:
                        line = find_line(shard, article) or line
                    task = ArticleTask(
                        line,
                        entry,
                        entries[position - 1] if position > 0 else None,
                        entries[position + 1] if position + 1 < len(entries) else None,
                        earlier.get(article, []),
                        images,
                        self._known_images(line),
                    )
                    yield inputs, task

    def _known_images(self, line: bytes) -> dict[str, str | None]:
        """Image URLs in the row (its comments' among them) this build has looked up already, with their copies.

        A hint, not a rule: a worker uses an entry only for a URL its comments show, and asks for the ones
        missing here (a relative ``src``, say) with :class:`RenderedArticle` ``unresolved``; this saves most
        of those second renders, since comments show the same images again and again.
        """
        known: dict[str, str | None] = {}
        for found in _URL_IN_ROW.findall(line):
            url = found.decode("utf-8", "replace")
            seen = self.images_used.get(url)
            if seen is not None:
                known[url] = seen.get("path")
        return known

    def _settle(
        self, pool: ProcessPoolExecutor, window: deque[tuple[str, ArticleTask, Future[RenderedArticle]]]
    ) -> None:
        """Take the oldest page in flight: write it, or send it back with the comment images it asked for."""
        inputs, task, future = window.popleft()
        rendered = future.result()
        if rendered.unresolved:
            task = self._resolve(task, rendered)
            window.append((inputs, task, pool.submit(_render_article, task)))
            return
        self._finish_article(task, inputs, rendered)

    def _resolve(self, task: ArticleTask, rendered: RenderedArticle) -> ArticleTask:
        """The task again, with the comment images it could not show looked up (copied into the site): only the
        builder copies images, so that there is one registry of them (and a worker writes nothing)."""
        found = dict(task.comment_images)
        for url in rendered.unresolved:
            found[url] = self.image(url)
        return replace(task, comment_images=found)

    def _finish_article(self, task: ArticleTask, inputs: str, rendered: RenderedArticle) -> None:
        self.report.articles_rendered += 1
        self.report.images_missing += sum(1 for path in task.images.values() if path is None)
        self.put(f"articles/{task.entry.id}.html", rendered.data, inputs, rendered.uses)

    def _listing(
        self,
        first: str,
        entries: list[Entry],
        heading: str,
        subheading: str | None,
        prefix: str,
        later: Any,
    ) -> None:
        """Paginated newest-first pages: ``first`` then ``later(2)``, ``later(3)`` ... (paths site-relative)."""
        pages = max(1, -(-len(entries) // PAGE_SIZE))
        paths = [first, *(later(page) for page in range(2, pages + 1))]
        for page, relative in enumerate(paths, start=1):
            chunk = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            here = relative.rsplit("/", 1)[0] if "/" in relative else ""

            def href(target: str, here: str = here) -> str:
                return os.path.relpath(target, here or ".").replace(os.sep, "/")

            data = self._page(
                "listing.html",
                relative,
                page_title=heading if page == 1 else f"{heading} · {self.L['page']} {page}",
                heading=heading,
                subheading=subheading,
                entries=chunk,
                start=(page - 1) * PAGE_SIZE + 1,
                page=page,
                pages=pages,
                newer_href=href(paths[page - 2]) if page > 1 else None,
                older_href=href(paths[page]) if page < pages else None,
            )
            self.put(relative, data)

    def _groups(self, entries: list[Entry]) -> None:
        hubs: dict[str, Group] = {}
        hub_entries: dict[str, list[Entry]] = defaultdict(list)
        authors: dict[str, Group] = {}
        author_entries: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:  # already newest first
            for hub in entry.hubs:
                hubs.setdefault(hub.slug, Group(hub.slug, hub.title))
                hub_entries[hub.slug].append(entry)
            if entry.author and entry.author_slug:
                name = entry.author_name or entry.author
                authors.setdefault(entry.author_slug, Group(entry.author_slug, name))
                author_entries[entry.author_slug].append(entry)
        for kind, groups, members, label in (
            ("hubs", hubs, hub_entries, self.L["articles_of_hub"]),
            ("authors", authors, author_entries, self.L["articles_of_author"]),
        ):
            for key, group in groups.items():
                group.count = len(members[key])
                self._listing(
                    f"{kind}/{key}.html",
                    members[key],
                    f"{label}: {group.title}",
                    f"{group.count} {self.L['articles']}",
                    kind,
                    lambda page, key=key, kind=kind: f"{kind}/{key}-p{page}.html",
                )
            ordered = sorted(groups.values(), key=lambda group: (-group.count, group.title.lower()))
            heading = self.L["hubs"] if kind == "hubs" else self.L["authors"]
            self.put(
                f"{kind}/index.html",
                self._page(
                    "groups.html", f"{kind}/index.html", page_title=heading, heading=heading, groups=ordered
                ),
            )

    def _search(self, languages: Counter[str]) -> None:
        """``search.html`` for the site's language; ``search-<lang>.html`` for each other one (Pagefind keeps an
        index per ``<html lang>``, each with its own stemmer, and a search page reads the one of its language)."""
        present = [language for language, _ in languages.most_common() if language in ("ru", "en")]
        pages = {self.ui_lang: "search.html"}
        for language in present:
            pages.setdefault(language, f"search-{language}.html")
        for language, relative in pages.items():
            others = [
                {"lang": other, "href": href, "name": self.L.get(f"language_{other}", other)}
                for other, href in pages.items()
                if other != language
            ]
            self.put(
                relative,
                self._page(
                    "search.html",
                    relative,
                    lang=language,
                    csp=_CSP_SEARCH,
                    page_title=f"{self.L['search']} · {self.L['site']}",
                    others=others,
                ),
            )

    def _link(self, relative: str) -> str:
        return (self.base_url or "") + relative

    def _feed(self, entries: list[Entry]) -> None:
        from feedgen.feed import FeedGenerator  # imported here: only the feed needs it (and its lxml import)

        feed = FeedGenerator()
        feed.id(self.base_url or f"urn:habrmirror:{self.archive.resolve().name}")
        feed.title(self.L["site"])
        feed.subtitle(self.L["mirror_note"])
        feed.language(self.ui_lang)
        feed.author({"name": self.L["site"]})
        feed.link(href=self._link("index.html"), rel="alternate")
        feed.link(href=self._link("atom.xml"), rel="self")
        feed.generator("habrmirror")
        newest = entries[:FEED_ENTRIES]
        updated = max(
            (_moment(e.captured_at) or _moment(e.published_at) for e in newest), default=None, key=_key
        )
        feed.updated(updated or _EPOCH)
        for entry in newest:
            item = feed.add_entry(order="append")
            item.id(entry.url)
            item.title(entry.title)
            # (feedgen 1.0 writes no rel= on entry links, so a second, rel="via" link to Habr would read as
            # another alternate: the original URL is the entry's id instead)
            item.link(href=self._link(f"articles/{entry.id}.html"), rel="alternate")
            published = _moment(entry.published_at)
            if published:
                item.published(published)
            item.updated(_moment(entry.captured_at) or published or updated or _EPOCH)
            if entry.author:
                item.author({"name": entry.author_name or entry.author})
            for hub in entry.hubs:
                item.category(term=hub.slug, label=hub.title)
            if entry.summary:
                item.summary(entry.summary)
        self.put("atom.xml", feed.atom_str(pretty=True))

    def _sitemap(self, entries: list[Entry]) -> None:
        def lines() -> Iterator[str]:
            yield '<?xml version="1.0" encoding="UTF-8"?>\n'
            yield '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            yield f"<url><loc>{xml_escape(self._link('index.html'))}</loc></url>\n"
            for entry in entries:
                loc = xml_escape(self._link(f"articles/{entry.id}.html"))
                lastmod = f"<lastmod>{xml_escape(entry.captured_at)}</lastmod>" if entry.captured_at else ""
                yield f"<url><loc>{loc}</loc>{lastmod}</url>\n"
            yield "</urlset>\n"

        self.put("sitemap.xml", "".join(lines()).encode("utf-8"))

    def _remove_stale(self) -> None:
        """Files the last build made that this one did not (a hub page no article needs any more)."""
        for relative in sorted(set(self.old.get("files", {})) - set(self.files)):
            path = self.out / relative
            if path.is_file():
                path.unlink()
                self.writer.removed(path)
                self.report.removed.append(relative)

    # -- search -------------------------------------------------------------------------------------------------
    def _pagefind(self) -> None:
        """Run Pagefind over the site into a new folder and swap it in (the old index serves until then)."""
        pages_changed = any(
            path.startswith("articles/") for path in self.report.written + self.report.removed
        )
        current = self.out / PAGEFIND_DIR
        if current.is_dir() and not pages_changed and self.old.get("pagefind") == self.code:
            self.report.search = True
            self.report.search_files = sum(1 for _ in current.rglob("*") if _.is_file())
            return
        staging = self.out / f".{PAGEFIND_DIR}.new"
        shutil.rmtree(staging, ignore_errors=True)
        command = [sys.executable, "-m", "pagefind", "--site", str(self.out), "--output-path", str(staging)]
        command += ["--glob", "articles/*.html", "--silent"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as error:
            self.report.notes.append(f"search index not built: {error}")
            return
        if done.returncode != 0 or not staging.is_dir():
            message = (done.stderr or done.stdout).strip().splitlines()
            self.report.notes.append(
                "search index not built: pagefind failed"
                + (f" ({message[-1]})" if message else "")
                + " (install it: pip install 'pagefind[bin]')"
            )
            shutil.rmtree(staging, ignore_errors=True)
            return
        retired = self.out / f".{PAGEFIND_DIR}.old"
        shutil.rmtree(retired, ignore_errors=True)
        if current.exists():
            os.replace(current, retired)
        os.replace(staging, current)
        shutil.rmtree(retired, ignore_errors=True)
        self.report.search = True
        self.report.search_files = sum(1 for _ in current.rglob("*") if _.is_file())


def _summary(row: dict[str, Any]) -> str:
    text = " ".join(str(row.get("text") or "").split())
    return text if len(text) <= 280 else text[:277].rsplit(" ", 1)[0] + "…"


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def _key(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


def _time_text(value: Any) -> str | None:
    """A comment's time as ISO text (the API gives ISO strings; a number is Unix seconds)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return iso(datetime.fromtimestamp(value, timezone.utc))
    return str(value)


# -- rendering: shared by the builder and its worker processes ----------------------------------------------------
@dataclass(frozen=True)
class RenderState:
    """What rendering any page needs to know of the whole build (sent once to each worker process)."""

    ui_lang: str
    ids: frozenset[int]  # archived articles: a link to one goes to its mirror page
    authors: frozenset[str]  # logins with an author page
    hosts: frozenset[str]  # origins besides Habr's own the archive was crawled from


@dataclass
class ArticleTask:
    """One article page to render: its index line and what the page shows around it."""

    line: bytes
    entry: Entry
    newer: Entry | None
    older: Entry | None
    earlier: list[str]
    images: dict[str, str | None]  # the row's image URLs -> their local copies (None: not in the archive)
    comment_images: dict[str, str | None] = field(default_factory=dict)  # other image URLs its comments show


@dataclass
class RenderedArticle:
    data: bytes
    uses: list[str]  # the image files the page shows
    unresolved: list[str]  # comment image URLs not in the task: look them up, render again (``data`` is void)


class _PlainValues(Environment):
    """Jinja's environment for templates fed plain dicts: ``c.author`` looks the key up first (Jinja tries the
    attribute first, and the AttributeError every dict field raised was a tenth of a build's time)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class PageRenderer:
    """Templates, labels and the body rewrite of one build: renders any page from plain values."""

    def __init__(self, state: RenderState) -> None:
        self.state = state
        self.L = labels_for(state.ui_lang)
        self.body_labels = Labels(self.L["embed"], self.L["image"], self.L["image_missing"])
        self.env = _PlainValues(
            loader=FileSystemLoader(_HERE / "templates"),
            autoescape=select_autoescape(["html", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=False,
            keep_trailing_newline=True,
        )
        self.renderer = BodyRenderer()

    def page(self, template: str, relative: str, **context: Any) -> bytes:
        depth = relative.count("/")
        root = "../" * depth
        ui_lang = self.state.ui_lang
        values = {
            "root": root,
            "L": self.L,
            "ui_lang": ui_lang,
            "lang": ui_lang,
            "csp": _CSP,
            "date": lambda value, with_time=True: human_date(value, ui_lang, with_time),
            **context,
        }
        return self.env.get_template(template).render(values).encode("utf-8")

    def article(self, task: ArticleTask) -> RenderedArticle:
        row: dict[str, Any] = orjson.loads(task.line)
        entry = task.entry
        images = task.images
        bases = [url for url in (row.get("url"), row.get("fetched_url")) if url] or ["https://habr.com/"]
        hosts = set(self.state.hosts) | {urlsplit(str(row.get("fetched_url") or "")).hostname or ""}

        def article_link(url: str) -> str | None:
            if images.get(url):
                return images[url]
            found = _linked_id(url, hosts)
            if found is None or found not in self.state.ids:
                return None
            fragment = urlsplit(url).fragment
            return f"articles/{found}.html" + (
                f"#{fragment}" if fragment and _SLUG.fullmatch(fragment) else ""
            )

        used: set[str] = set()
        unresolved: list[str] = []

        def body_image(url: str) -> str | None:
            path = images.get(url)
            if path:
                used.add(path)
            return path

        def comment_image(url: str) -> str | None:  # comments' images are not in the row's image list
            if url in images:
                path = images[url]
            elif url in task.comment_images:
                path = task.comment_images[url]
            else:
                unresolved.append(url)
                return None
            if path:
                used.add(path)
            return path

        def link_target(url: str) -> str | None:
            target = article_link(url)
            if target and target.startswith("img/"):
                used.add(target)
            return target

        # comments first: if they show an image the task does not know, the page is rendered again with it,
        # and this pass has only to name them
        comments = self._comments(
            row.get("comments"), BodyContext(bases, comment_image, link_target, "../", self.body_labels)
        )
        if unresolved:
            return RenderedArticle(b"", [], list(dict.fromkeys(unresolved)))
        context = BodyContext(bases, body_image, link_target, "../", self.body_labels)
        body = self.renderer.render(row.get("text_html"), context)
        data = self.page(
            "article.html",
            f"articles/{entry.id}.html",
            lang=entry.language,
            page_title=entry.title,
            a=entry,
            body=body,
            comments=comments,
            earlier=task.earlier,
            newer=task.newer,
            older=task.older,
        )
        return RenderedArticle(data, sorted(used), [])

    def _comments(self, comments: Any, context: BodyContext) -> list[dict[str, Any]]:
        """A comment thread in reading order (replies under their parent), each with its sanitized HTML."""
        if not isinstance(comments, list) or not comments:
            return []
        items = [item for item in comments if isinstance(item, dict) and item.get("id") is not None]
        ids = {item["id"] for item in items}
        children: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            parent = item.get("parent_id")
            children[parent if parent in ids else None].append(item)
        for siblings in children.values():
            siblings.sort(key=lambda item: (str(item.get("time_published") or ""), str(item["id"])))
        ordered: list[dict[str, Any]] = []
        stack: list[tuple[dict[str, Any], int]] = [(item, 0) for item in reversed(children[None])]
        seen: set[Any] = set()
        while stack:
            item, depth = stack.pop()
            if item["id"] in seen:
                continue
            seen.add(item["id"])
            author = item.get("author") or None
            ordered.append(
                {
                    "id": slug(str(item["id"])),
                    "depth": min(depth, 8),
                    "author": author,
                    "author_name": item.get("author_name"),
                    "author_slug": slug(author) if author and author in self.state.authors else None,
                    "time": _time_text(item.get("time_published")),
                    "deleted": bool(item.get("deleted")),
                    "banned": bool(item.get("banned")),
                    "score": item.get("score") if isinstance(item.get("score"), int) else None,
                    "html": self.renderer.render(item.get("message_html"), context),
                }
            )
            stack.extend((child, depth + 1) for child in reversed(children.get(item["id"], [])))
        return ordered


_WORKER: PageRenderer | None = None  # a worker process's renderer, made once by _start_worker


def _start_worker(state: RenderState) -> None:
    global _WORKER
    _WORKER = PageRenderer(state)


def _render_article(task: ArticleTask) -> RenderedArticle:
    assert _WORKER is not None, "a worker renders only after _start_worker"
    return _WORKER.article(task)


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    """What tells that a shard was replaced (writers rename a new file over it): inode, size, mtime."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _located_lines(shard: Path) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` of every non-empty line of a shard, read in large blocks (rows are long: a line-by-line
    read of a 100 MB shard spends most of its time joining buffer pieces)."""
    offset = 0
    rest = b""
    with shard.open("rb") as handle:
        while block := handle.read(8 << 20):
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if line:
                    yield offset, line
                offset += len(line) + 1
    if rest:
        yield offset, rest


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def build_site(archive: Path, out: Path, base_url: str | None = None) -> SiteReport:
    """Build (or bring up to date) the static mirror of ``archive`` in ``out``; see the module docstring."""
    return SiteBuilder(Path(archive), Path(out), base_url).build()
