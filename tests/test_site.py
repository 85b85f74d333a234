"""``build_site``: the static mirror of a real archive of the replica, checked file by file.

The archive is made once per module: the demo crawl (every sample post, all layout eras, with images), a second
capture of one post, a post deleted on the replica and fetched again (its row gets ``gone_at``), and one invented
row whose body carries what a sanitizer must stop (script, event handler, ``javascript:`` link, iframe) beside
what it must keep (a table, a code block, a formula, links) and a comment thread.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import urllib.request
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import lxml.html
import pytest

from habrmirror.replica import ReplicaProcess
from habrmirror.site import SiteError, build_site, make_server
from habrmirror.site import build as site_build
from habrmirror.site.build import SiteBuilder, slug
from habrmirror.site.images import image_extension
from habrmirror.site.sanitize import BodyContext, BodyRenderer
from habrmirror.site.writer import SiteWriter
from habrmirror.store.index import dumps_row, iter_rows, shard_name
from tests.conftest import FAST, run_cli

pytestmark = pytest.mark.slow

RECAPTURED = 724768  # captured twice: the page lists the earlier capture
DELETED = 568382  # deleted on the replica after the demo: its row has gone_at
INVENTED = 999001  # an invented row with hostile and tricky HTML
TITLELESS = 1064400  # a 2026 short post: no title

HOSTILE_HTML = """
<p>Probe paragraph with the word xylophonic.</p>
<script>window.__pwned = 1; alert('x')</script>
<img src="https://example.invalid/x.png" onerror="window.__pwned = 2" alt="broken">
<p><a href="javascript:window.__pwned=3">js link</a> <a href="https://example.org/page?a=1&amp;b=2">external</a>
<a href="/ru/articles/724768/">relative habr link</a> <a href="https://habr.com/ru/post/483202/#comments">old form</a>
<a href="#section">anchor</a></p>
<p onclick="window.__pwned = 4" style="color:red">clickable</p>
<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" onload="window.__pwned = 5"></iframe>
<svg onload="window.__pwned = 6"><script>window.__pwned = 7</script></svg>
<form action="https://example.org/"><input name="q"><button>go</button></form>
<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td colspan="2">c</td></tr></tbody></table>
<pre><code class="python">def greet(name):
    return f"hi {name}"  # &lt;b&gt;not a tag&lt;/b&gt;
</code></pre>
<img class="formula" source="e^{i\\pi}+1=0" alt="e^{i\\pi}+1=0" src="./Page_files/f.svg">
<h2 id="section">Section</h2>
"""

COMMENTS = [
    {"id": 1, "parent_id": None, "level": 0, "time_published": "2026-01-02T10:00:00+00:00",
     "message_html": "<p>First <b>comment</b><script>alert(1)</script></p>", "author": "SergioShpadi",
     "author_name": "Сергей", "deleted": False, "banned": False},
    {"id": 3, "parent_id": None, "level": 0, "time_published": "2026-01-03T10:00:00+00:00",
     "message_html": "<p>Second thread</p>", "author": "val6852", "author_name": None, "deleted": False,
     "banned": False},
    {"id": 2, "parent_id": 1, "level": 1, "time_published": "2026-01-02T11:00:00+00:00",
     "message_html": "<p>A reply</p>", "author": "ghost", "author_name": None, "deleted": False, "banned": False},
    {"id": 4, "parent_id": 2, "level": 2, "time_published": "2026-01-02T12:00:00+00:00",
     "message_html": "<p>should not show</p>", "author": None, "author_name": None, "deleted": True,
     "banned": False},
]  # fmt: skip


def add_invented_row(root: Path) -> dict[str, Any]:
    """A row for id INVENTED in its own shard, built from a real row with a hostile body and a thread."""
    row = next(row for row in iter_rows(root / "index") if row["id"] == 1000)
    row.update(
        id=INVENTED,
        title="Зонд <script>alert(1)</script> санитайзера",
        url=f"https://habr.com/ru/articles/{INVENTED}/",
        text_html=HOSTILE_HTML,
        text="Probe paragraph with the word xylophonic.",
        published_at="2026-11-30T12:00:00+00:00",
        hubs=["Weird Hub/../../x"],
        hub_titles=["Странный хаб"],
        author="../../etc/passwd",
        author_name="Evil <b>Name</b>",
        images=[],
        links=[],
        comments=COMMENTS,
    )
    (root / "index" / shard_name(INVENTED)).write_bytes(dumps_row(row) + b"\n")
    return row


def make_archive(root: Path) -> Path:
    """The module's archive (see the module docstring)."""
    done = run_cli("demo", "--out", str(root), *FAST)
    assert done.returncode == 0, done.stdout + done.stderr
    with ReplicaProcess() as replica:
        done = run_cli("archive", str(RECAPTURED), "--origin", replica.origin, "--out", str(root), *FAST)
        assert done.returncode == 0, done.stdout + done.stderr
        replica.control("delete", id=DELETED)
        done = run_cli("archive", str(DELETED), "--origin", replica.origin, "--out", str(root), *FAST)
        assert done.returncode == 1, done.stdout + done.stderr
    add_invented_row(root)
    return root


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_archive(tmp_path_factory.mktemp("site-archive") / "archive")


@pytest.fixture(scope="module")
def rows(archive: Path) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in iter_rows(archive / "index")}


@pytest.fixture(scope="module")
def site(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    report = build_site(archive, out)
    assert report.search, report.notes
    return out


def page(site: Path, relative: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((site / relative).read_bytes())


def newest_first(rows: dict[int, dict[str, Any]]) -> list[int]:
    return [
        row["id"]
        for row in sorted(rows.values(), key=lambda r: (r["published_at"] or "", r["id"]), reverse=True)
    ]


def test_all_articles_newest_first_from_index_html(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    listed = [
        int(re.search(r"(\d+)\.html$", href).group(1))
        for href in page(site, "index.html").xpath(
            "//ol[@class='listing']//a[contains(@class,'entry-title')]/@href"
        )
    ]  # type: ignore[union-attr]
    assert listed == newest_first(rows)
    assert page(site, "index.html").xpath("//h1/text()") == ["Все статьи"]


def test_every_article_reachable_by_links_from_index(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    seen, todo = set(), ["index.html"]
    while todo:
        relative = todo.pop()
        if relative in seen or not relative.endswith(".html") or not (site / relative).is_file():
            continue
        seen.add(relative)
        here = Path(relative).parent
        for href in page(site, relative).xpath("//a/@href"):
            if "://" not in href and not href.startswith(("#", "mailto:")):
                todo.append(_norm((here / href.split("#")[0]).as_posix()))
    assert {f"articles/{article}.html" for article in rows} <= seen


def _norm(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def test_article_page_shows_the_row(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    row = rows[RECAPTURED]
    doc = page(site, f"articles/{RECAPTURED}.html")
    assert doc.xpath("//h1/text()") == [row["title"]]
    assert doc.xpath("string(//p[@class='post-meta']//a[@class='author'])") == row["author_name"]
    assert doc.xpath("//p[@class='post-meta']/time/@datetime") == [row["published_at"]]
    assert doc.xpath("//ul[@class='hubs']//a/text()") == row["hub_titles"]
    assert doc.xpath("//ul[@class='hubs']//a/@href")[0] == f"../hubs/{row['hubs'][0]}.html"
    assert [tag for tag in doc.xpath("//ul[@class='tags']/li[not(@class)]/text()")] == row["tags"]
    assert f"{row['reading_time']} мин" in doc.xpath("string(//span[@class='reading-time'])")
    source = doc.xpath("//p[@class='source']")[0]
    assert source.text_content().startswith("Источник: ")
    assert source.xpath("a/@href") == [row["url"]] and row["url"].startswith("https://habr.com/")
    assert doc.xpath("//p[@class='captured']/time/@datetime") == [row["captured_at"]]
    assert doc.get("lang") if doc.tag == "html" else doc.getroottree().getroot().get("lang") == "ru"
    order = newest_first(rows)
    position = order.index(RECAPTURED)
    assert doc.xpath("//nav[@class='post-nav']/a[@class='newer']/@href") == [f"{order[position - 1]}.html"]
    assert doc.xpath("//nav[@class='post-nav']/a[@class='older']/@href") == [f"{order[position + 1]}.html"]
    assert doc.xpath("//nav[@class='post-nav']/a[@class='all']/@href") == ["../index.html"]


def test_recaptured_post_lists_its_earlier_capture(
    site: Path, archive: Path, rows: dict[int, dict[str, Any]]
) -> None:
    captures = [
        json.loads(line)
        for path in sorted((archive / "captures").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    times = sorted(c["time"] for c in captures if c["id"] == RECAPTURED and c["outcome"] == "archived")
    assert len(times) == 2 and rows[RECAPTURED]["captured_at"] == times[-1]
    doc = page(site, f"articles/{RECAPTURED}.html")
    assert doc.xpath("//p[@class='earlier']/time/@datetime") == [times[0]]
    assert not page(site, "articles/1000.html").xpath("//p[@class='earlier']")


def test_deleted_post_stays_marked_with_the_date(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    gone_at = rows[DELETED]["gone_at"]
    assert gone_at
    doc = page(site, f"articles/{DELETED}.html")
    notice = doc.xpath("//p[contains(@class,'notice-gone')]")[0].text_content()
    assert notice.startswith("Удалена с Хабра") and str(int(gone_at[8:10])) in notice
    assert page(site, "index.html").xpath(
        f"//a[@href='articles/{DELETED}.html']/../p/span[@class='gone-mark']"
    )


def test_titleless_post_gets_a_title_from_its_text(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    assert rows[TITLELESS]["title"] is None
    title = page(site, f"articles/{TITLELESS}.html").xpath("//h1")[0]
    assert title.get("class") == "untitled" and len(title.text_content()) > 10
    assert title.text_content().rstrip("…").split()[0] in rows[TITLELESS]["text"]


def test_images_are_local_files_named_by_content_digest(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    checked = 0
    for article in rows:
        for src in page(site, f"articles/{article}.html").xpath("//div[@class='post-body']//img/@src"):
            assert re.fullmatch(r"\.\./img/[0-9a-f]{32}\.(png|jpg|gif|webp|svg|avif)", src), src
            data = (site / src[3:]).read_bytes()
            assert hashlib.sha256(data).hexdigest()[:32] == Path(src).stem
            checked += 1
    archived = sum(1 for row in rows.values() for image in row["images"] if image["archived"])
    assert checked >= archived > 30
    assert all(re.fullmatch(r"[0-9a-f]{32}\.[a-z]+", path.name) for path in (site / "img").iterdir())


def test_hostile_body_is_inert_and_the_rest_intact(site: Path) -> None:
    html = (site / f"articles/{INVENTED}.html").read_text()
    doc = lxml.html.fromstring(html)
    body = doc.xpath("//div[@class='post-body']")[0]
    assert not doc.xpath("//script | //iframe | //embed | //object | //form | //input | //svg")
    assert not [a for e in doc.iter() for a in e.attrib if a.lower().startswith("on")]
    assert "javascript:" not in html and "__pwned" not in html
    assert "<script>" not in doc.xpath("string(//h1)") or doc.xpath("//h1/script") == []
    embed = body.xpath(".//p[@class='embed']/a")[0]
    assert (
        embed.get("href") == "https://www.youtube.com/embed/dQw4w9WgXcQ" and "www.youtube.com" in embed.text
    )
    assert body.xpath(".//a[@class='missing-image']/@href") == ["https://example.invalid/x.png"]
    hrefs = body.xpath(".//a/@href")
    assert "https://example.org/page?a=1&b=2" in hrefs
    assert f"../articles/{RECAPTURED}.html" in hrefs  # a relative Habr link to an archived post
    assert "../articles/483202.html#comments" in hrefs  # an old URL form, fragment kept
    assert "#section" in hrefs and body.xpath(".//h2[@id='section']")
    assert body.xpath(".//table//td[@colspan='2']/text()") == ["c"]
    code = body.xpath(".//pre[@class='highlight']/code[@class='language-python']")[0]
    assert code.xpath(".//span[@class='k']/text()")[:2] == ["def", "return"]
    assert "<b>not a tag</b>" in code.text_content()
    assert body.xpath(".//code[@class='formula']/text()") == ["e^{i\\pi}+1=0"]


def test_comment_thread_in_reading_order(site: Path) -> None:
    doc = page(site, f"articles/{INVENTED}.html")
    items = doc.xpath("//section[@class='comments']//li")
    assert [item.get("id") for item in items] == ["comment-1", "comment-2", "comment-4", "comment-3"]
    assert [item.get("class") for item in items] == [
        "comment depth-0", "comment depth-1", "comment depth-2", "comment depth-0"
    ]  # fmt: skip
    assert items[0].xpath("string(.//div[@class='comment-body'])") == "First comment"
    assert items[2].xpath("string(.//p[@class='comment-gone'])") == "Комментарий удалён"
    assert "should not show" not in doc.xpath("string(//section[@class='comments'])")
    assert not page(site, f"articles/{DELETED}.html").xpath(
        "//section[@class='comments']"
    )  # 568382 has none (comments_status "none"): no empty section


def test_archived_comments_of_a_real_post(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    row = rows[472278]
    assert row["comments"], "the replica's 2019 post carries its comment thread"
    doc = page(site, "articles/472278.html")
    items = doc.xpath("//section[@class='comments']//li[contains(@class,'comment')]")
    assert len(items) == len(row["comments"])
    assert {item.get("id") for item in items} == {f"comment-{c['id']}" for c in row["comments"]}
    depth = {f"comment-{c['id']}": c["level"] for c in row["comments"]}
    assert all(item.get("class").endswith(f"depth-{min(depth[item.get('id')], 8)}") for item in items)
    assert not doc.xpath("//section[@class='comments']//script | //section[@class='comments']//@onerror")
    assert not [src for src in doc.xpath("//section[@class='comments']//img/@src") if "://" in src]


def test_hub_and_author_pages_have_safe_names(site: Path, rows: dict[int, dict[str, Any]]) -> None:
    names = [path.name for kind in ("hubs", "authors") for path in (site / kind).iterdir()]
    assert all(re.fullmatch(r"[a-z0-9_-]+\.html", name) for name in names), names
    assert not (site / "etc").exists() and not any(site.parent.glob("passwd*"))
    invented = page(site, f"articles/{INVENTED}.html")
    author_href = invented.xpath("//p[@class='post-meta']//a[@class='author']/@href")[0]
    assert author_href == f"../authors/{slug('../../etc/passwd')}.html" and (site / author_href[3:]).is_file()
    hub = page(site, "hubs/maths.html")
    listed = {int(h.split("/")[-1][:-5]) for h in hub.xpath("//a[contains(@class,'entry-title')]/@href")}
    assert listed == {row["id"] for row in rows.values() if "maths" in row["hubs"]}
    author = page(site, "authors/" + slug("SergioShpadi") + ".html")
    assert len(author.xpath("//li[contains(@class,'entry')]")) == sum(
        1 for row in rows.values() if row["author"] == "SergioShpadi"
    )


def test_feed_and_sitemap_relative_then_absolute(
    site: Path, archive: Path, tmp_path: Path, rows: dict[int, dict[str, Any]]
) -> None:
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ElementTree.parse(site / "atom.xml").getroot()
    entries = feed.findall(f"{atom}entry")
    assert (
        [e.find(f"{atom}link").get("href") for e in entries][:2]
        == [  # type: ignore[union-attr]
            f"articles/{article}.html" for article in newest_first(rows)[:2]
        ]
    )
    assert entries[0].find(f"{atom}id").text == rows[newest_first(rows)[0]]["url"]  # type: ignore[union-attr]
    sitemap = ElementTree.parse(site / "sitemap.xml").getroot()
    locs = [loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert len(locs) == len(rows) + 1 and "articles/1000.html" in locs

    other = tmp_path / "absolute"
    report = build_site(archive, other, base_url="https://mirror.example/habr")
    assert not any("base-url" in note for note in report.notes)
    feed = ElementTree.parse(other / "atom.xml").getroot()
    assert feed.find(f"{atom}link[@rel='self']").get("href") == "https://mirror.example/habr/atom.xml"  # type: ignore[union-attr]
    assert "https://mirror.example/habr/articles/1000.html" in (other / "sitemap.xml").read_text()


def test_search_index_per_language(site: Path) -> None:
    bundle = site / "pagefind"
    assert (bundle / "pagefind-ui.js").is_file() and (bundle / "pagefind-entry.json").is_file()
    languages = set(json.loads((bundle / "pagefind-entry.json").read_text())["languages"])
    assert {"ru", "en"} <= languages  # Russian and English stemming, from <html lang>
    assert page(site, "search.html").getroottree().getroot().get("lang") == "ru"
    assert page(site, "search-en.html").getroottree().getroot().get("lang") == "en"
    assert page(site, "articles/100000.html").getroottree().getroot().get("lang") == "en"


def test_rebuild_writes_only_what_changed(archive: Path, tmp_path: Path) -> None:
    copy = tmp_path / "archive"
    shutil.copytree(archive, copy)
    out = tmp_path / "site"
    first = build_site(copy, out)
    again = build_site(copy, out)
    assert again.written == [] and again.articles_rendered == 0 and again.removed == []

    shard = copy / "index" / shard_name(1000)
    lines = shard.read_bytes().splitlines()
    changed = []
    for line in lines:
        row = json.loads(line)
        if row["id"] == 1000:
            row["title"] = "Wikiasaria, исправленная"
            row["captured_at"] = "2026-12-31T00:00:00+00:00"
        changed.append(dumps_row(row))
    shard.write_bytes(b"\n".join(changed) + b"\n")
    third = build_site(copy, out)
    order = newest_first({row["id"]: row for row in iter_rows(copy / "index")})
    position = order.index(1000)
    neighbours = {f"articles/{order[position - 1]}.html", f"articles/{order[position + 1]}.html"}
    assert {p for p in third.written if p.startswith("articles/")} == {"articles/1000.html"} | neighbours
    assert "index.html" in third.written and "atom.xml" in third.written and "sitemap.xml" in third.written
    assert not any(p.startswith(("img/", "static/")) for p in third.written)
    assert third.articles_rendered == 3 < first.articles_rendered
    assert "Wikiasaria, исправленная" in (out / "articles/1000.html").read_text()
    assert not list(out.rglob(".*.tmp"))  # no temp file left behind


def test_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="no index"):
        build_site(tmp_path, tmp_path / "site")


def test_serve_site_mime_types(site: Path) -> None:
    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        wasm = next((site / "pagefind").glob("wasm.*.pagefind"))
        for relative, expected in (
            ("index.html", "text/html"),
            ("static/site.css", "text/css"),
            ("atom.xml", "application/xml"),
            ("pagefind/pagefind-ui.js", "text/javascript"),
            (f"pagefind/{wasm.name}", "application/octet-stream"),
        ):
            with urllib.request.urlopen(base + relative) as response:
                assert response.headers["Content-Type"].startswith(expected), relative
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(base + "img/")
    finally:
        server.shutdown()
        server.server_close()


def test_slug_is_safe_and_distinct() -> None:
    assert slug("maths") == "maths" and slug("may-cat") == "may-cat"
    values = ["SmirkinDA", "smirkinda", "../../x", "Хабр", "a b", "a-b", "", "." * 200]
    slugs = [slug(value) for value in values]
    assert all(re.fullmatch(r"[a-z0-9_-]{1,64}", s) for s in slugs)
    assert len(set(slugs)) == len(values)


def test_image_extension_from_bytes_not_names() -> None:
    assert image_extension(b"\x89PNG\r\n\x1a\n....") == "png"
    assert image_extension(b"\xff\xd8\xff\xe0") == "jpg"
    assert image_extension(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>') == "svg"
    assert image_extension(b"<html><body>not an image") is None


def test_renderer_drops_what_nh3_must() -> None:
    context = BodyContext(["https://habr.com/ru/articles/1/"], lambda url: None, lambda url: None, "../")
    html = BodyRenderer().render(
        '<a href="JaVaScRiPt:alert(1)">x</a><img src=x onerror=alert(1)><div style="x" onmouseover="y">z</div>'
        '<object data="https://e.org/f.swf"></object><a href="data:text/html,hi">d</a>',
        context,
    )
    assert "alert" not in html and "onmouseover" not in html and "data:" not in html and "<object" not in html
    assert 'href="https://e.org/f.swf"' in html  # the embed became a link


def test_pages_rendered_by_worker_processes_are_the_same_bytes(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process pool (forced on for this small archive) writes what one process writes, byte for byte."""
    alone = SiteBuilder(archive, tmp_path / "alone", None, search=False, workers=1).build()
    monkeypatch.setattr(site_build, "MIN_PARALLEL_ARTICLES", 1)
    pooled = SiteBuilder(archive, tmp_path / "pooled", None, search=False, workers=2).build()
    assert pooled.articles_rendered == alone.articles_rendered > 1
    assert sorted(pooled.written) == sorted(alone.written)
    for relative in alone.written:
        assert (tmp_path / "pooled" / relative).read_bytes() == (tmp_path / "alone" / relative).read_bytes()
    manifests = [
        json.loads((tmp_path / name / ".habrmirror-site.json").read_bytes()) for name in ("alone", "pooled")
    ]
    assert manifests[0] == manifests[1]


def test_site_writer_replaces_whole_files_and_reports_a_failed_write(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_bytes(b"old")
    with SiteWriter(tmp_path) as writer:
        writer.write("a.html", b"new")
        writer.write("deep/er/b.html", b"b")
        assert writer.exists("deep/er/b.html")  # queued counts as there (it may not be renamed yet)
        writer.finish()
    assert (tmp_path / "a.html").read_bytes() == b"new" and (tmp_path / "deep/er/b.html").read_bytes() == b"b"
    (tmp_path / "blocker").write_bytes(b"a file where a folder should be")
    with pytest.raises(OSError), SiteWriter(tmp_path) as writer:
        writer.write("blocker/c.html", b"c")
        writer.finish()
    assert not list(tmp_path.rglob(".*.tmp"))


def test_plain_fragments_skip_the_rewrite_and_come_out_the_same() -> None:
    """Comments with no image, link, code or embed go straight to nh3: for every such real comment (both saved
    API answers), the result parses to the same tree as the full rewrite's; hostile markup still goes through
    the rewrite (a <script> is never a plain fragment)."""
    from habrmirror.pages.comments import parse_comments_api
    from habrmirror.site.sanitize import _REWRITTEN

    fixtures = Path(__file__).parent / "fixtures" / "habr"
    context = BodyContext(["https://habr.com/"], lambda url: None, lambda url: None, "../")
    renderer = BodyRenderer()
    plain = 0
    for name in ("api-kek-v2-comments-2021.json", "api-v1-comments-2021.json"):
        for comment in parse_comments_api((fixtures / name).read_bytes()).comments:
            html = comment.message_html or ""
            if not html.strip() or _REWRITTEN.search(html):
                continue
            plain += 1
            fast, full = renderer.render(html, context), renderer.rewrite(html, context)
            as_tree = [
                lxml.html.tostring(lxml.html.fragment_fromstring(x, create_parent="div"))
                for x in (fast, full)
            ]
            assert as_tree[0] == as_tree[1], html
    assert plain >= 20
    assert _REWRITTEN.search("<p>a</p><SCRIPT>alert(1)</SCRIPT>") is not None
    assert "alert" not in renderer.render("<p>a</p><script>alert(1)</script>", context)
