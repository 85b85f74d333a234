"""Security: a crawl never leaves the allowed hosts, and nothing from a page or a URL reaches a file name.

Allowed hosts (``habrmirror.crawl.offsite``): Habr's own hosts and media hosts, the origin's host and the host of
a URL the user gave. Shown twice: the middleware built with ``get_crawler`` and called directly (hostile hosts
from hypothesis too), and a real ``habrmirror archive`` of an invented hostile article (tests/fixtures/invented/)
served from 127.0.0.1, with an off-site server on 127.0.0.2 whose sent-log must stay empty, and a WARC that
holds no request to any host but the two allowed ones (the off-site redirect's 301 itself is in it).

File names: every place that builds a path from data (the static site's image files and page paths, the
archive's WARC names, export paths) gets hostile values and must keep the path inside its directory.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import scrapy
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.exceptions import NotConfigured
from scrapy.utils.conf import build_component_list
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from habrmirror import settings as habr_settings
from habrmirror.crawl.offsite import AllowedHostsMiddleware, OffsiteRefused, allowed_host_keys
from habrmirror.crawl.spiders.article import ArticleSpider
from habrmirror.pages import PageError, parse_article
from habrmirror.replica import ReplicaThread
from habrmirror.site import build_site
from habrmirror.site.build import slug
from habrmirror.store.index import iter_rows, shard_name
from habrmirror.tools.export import export_archive
from habrmirror.urls import NotAnArticleUrl, checked_id
from tests.conftest import FAST, ROOT, run_cli

INVENTED = ROOT / "tests" / "fixtures" / "invented"
DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=200)


# -- the middleware on its own --------------------------------------------------------------------------------
def middleware(tmp_path: Path, origin: str = "https://habr.com", url: str = "1", **extra: object):
    values = {name: getattr(habr_settings, name) for name in dir(habr_settings) if name.isupper()}
    values.update(HABR_ARCHIVE_DIR=str(tmp_path / "archive"), HABR_ORIGIN=origin, **extra)
    crawler = get_crawler(ArticleSpider, values)
    crawler._apply_settings()  # stats, as a started crawl has them
    crawler.spider = crawler._create_spider(url=url, origin=origin)
    return crawler, AllowedHostsMiddleware.from_crawler(crawler)


HABR_URLS = [
    "https://habr.com/ru/articles/1/",
    "https://m.habr.com/ru/post/1/",
    "http://www.habr.com/post/1/",
    "https://HABR.COM./ru/articles/1/",  # case and the root's trailing dot name the same host
    "https://habrahabr.ru/post/1/",
    "https://geektimes.ru/post/1/",
    "https://habrastorage.org/getpro/habr/upload_files/a/b/c.png",
    "https://habrastorage.org/r/w780q1/webt/x.jpeg",
    "https://hsto.org/files/x.png",
    "https://assets.habr.com/habr-web/css/app.css",
    "https://dr.habracdn.net/habrcom/images/logo.svg",
]
OFFSITE_URLS = [
    "https://evil.example/x.png",
    "https://habr.com.evil.example/x.png",  # a look-alike that ends in another domain
    "https://evilhabr.com/x.png",
    "https://sub.habr.com.evil.example/",
    "https://xn--abr-1sd.com/ru/articles/1/",  # "һabr.com" with a Cyrillic һ, as Scrapy sends it (punycode)
    "https://\u04bbabr.com/ru/articles/1/",  # the same look-alike written in Unicode
    "https://habr.com@evil.example/x.png",  # user@host: the host is evil.example
    "https://habr.com:8443/ru/articles/1/",  # Habr's host, but not on a port Habr serves
    "http://127.0.0.1:1/x",  # loopback is not an allowed host unless it is the origin's
    "http://[::1]:8080/x",
    "data:image/png;base64,iVBORw0KGgo=",
    "file:///etc/passwd",
    "ftp://habr.com/x",
    "s3://bucket/x",
]


@pytest.mark.parametrize("url", HABR_URLS)
def test_habrs_hosts_and_media_hosts_are_allowed(tmp_path: Path, url: str) -> None:
    crawler, guard = middleware(tmp_path)
    assert guard.process_request(scrapy.Request(url)) is None
    assert crawler.stats.get_value("habrmirror/offsite/refused") is None


@pytest.mark.parametrize("url", OFFSITE_URLS)
def test_other_hosts_and_schemes_are_refused_and_counted(tmp_path: Path, url: str) -> None:
    crawler, guard = middleware(tmp_path)
    with pytest.raises(OffsiteRefused, match="off the allowed hosts"):
        guard.process_request(scrapy.Request(url))
    assert crawler.stats.get_value("habrmirror/offsite/refused") == 1
    summary = guard.summary("finished")["offsite"]
    assert summary["refused"] == 1 and sum(summary["by_host"].values()) == 1
    assert summary["examples"] == [scrapy.Request(url).url]


def test_the_origin_and_the_users_url_hosts_are_allowed_and_only_they(tmp_path: Path) -> None:
    crawler, guard = middleware(
        tmp_path, origin="http://127.0.0.1:8089", url="http://mirror.example:8080/ru/articles/5/"
    )
    for url in ["http://127.0.0.1:8089/ru/articles/1/", "http://mirror.example:8080/habrastorage.org/x.png"]:
        assert guard.process_request(scrapy.Request(url)) is None
    for url in ["http://127.0.0.1:8090/x", "http://mirror.example/x", "http://localhost:8089/x"]:
        with pytest.raises(OffsiteRefused):
            guard.process_request(scrapy.Request(url))
    assert crawler.stats.get_value("habrmirror/offsite/refused") == 3


def test_extra_hosts_come_from_the_setting(tmp_path: Path) -> None:
    _, guard = middleware(tmp_path, HABR_ALLOWED_HOSTS=["img.example", "cdn.example:8443"])
    for url in ["https://img.example/a.png", "http://img.example/a.png", "https://cdn.example:8443/x"]:
        assert guard.process_request(scrapy.Request(url)) is None
    with pytest.raises(OffsiteRefused):
        guard.process_request(scrapy.Request("https://cdn.example/x"))


def test_the_guard_is_on_by_default_and_first(tmp_path: Path) -> None:
    crawler, _ = middleware(tmp_path)
    order = build_component_list(crawler.settings.getwithbase("DOWNLOADER_MIDDLEWARES"))
    assert (
        order[0] == "habrmirror.crawl.offsite.AllowedHostsMiddleware"
    )  # before robots.txt, before the guard
    assert habr_settings.HABR_ALLOWED_HOSTS_ONLY is True
    with pytest.raises(NotConfigured):
        middleware(tmp_path / "off", HABR_ALLOWED_HOSTS_ONLY=False)


_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
HOSTS = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)


@DETERMINISTIC
@given(
    host=HOSTS, port=st.sampled_from(["", ":80", ":443", ":8080"]), scheme=st.sampled_from(["http", "https"])
)
def test_any_host_but_the_allowed_ones_is_refused(host: str, port: str, scheme: str) -> None:
    allowed = allowed_host_keys("https://habr.com")
    url = f"{scheme}://{host}{port}/x.png"
    key_port = port[1:] or ("443" if scheme == "https" else "80")
    assert (f"{host}:{key_port}" in allowed) == (
        host
        in {
            "habr.com",
            "www.habr.com",
            "m.habr.com",
            "habrahabr.ru",
            "www.habrahabr.ru",
            "m.habrahabr.ru",
            "geektimes.ru",
            "www.geektimes.ru",
            "m.geektimes.ru",
            "geektimes.com",
            "www.geektimes.com",
            "m.geektimes.com",
            "megamozg.ru",
            "www.megamozg.ru",
            "m.megamozg.ru",
            "habrastorage.org",
            "hsto.org",
            "assets.habr.com",
            "dr.habracdn.net",
        }
        and port in ("", ":80", ":443")
    ), url


# -- a real crawl: the hostile article ------------------------------------------------------------------------
class HostileSite:
    """The invented article's site on 127.0.0.1: the page (``{ORIGIN}``/``{EVIL}`` filled in), a post that
    redirects to the off-site server, one that redirects to an IDN look-alike; 404 for everything else.
    ``sent`` lists every path it answered, in order."""

    def __init__(self, origin: str, evil: str) -> None:
        page = (INVENTED / "article-hostile-links.html").read_text(encoding="utf-8")
        self.page = (
            page.replace("{ORIGIN}", origin)
            .replace("{EVIL}", evil)
            .replace("{EVIL_HOST}", urlsplit(evil).netloc)
        ).encode()
        self.redirects = {
            "/ru/articles/990002/": f"{evil}/ru/articles/990002/",
            "/ru/articles/990003/": "https://xn--abr-1sd.com/ru/articles/990003/",
        }
        self.sent: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                site.sent.append(self.path)
                if self.path == "/ru/articles/990001/":
                    self.answer(200, site.page, [("Content-Type", "text/html; charset=utf-8")])
                elif self.path in site.redirects:
                    self.answer(301, b"moved\n", [("Location", site.redirects[self.path])])
                else:
                    self.answer(404, b"not found\n", [("Content-Type", "text/plain")])

            def answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for name, value in [*headers, ("Content-Length", str(len(body)))]:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostileSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    out = tmp_path_factory.mktemp("hostile") / "archive"
    with ReplicaThread() as replica, ReplicaThread(host="127.0.0.2") as evil:  # noqa: SIM117 - site needs both
        with HostileSite(replica.origin, evil.origin) as site:
            result = run_cli(
                "archive",
                f"{site.origin}/ru/articles/990001/",
                f"{site.origin}/ru/articles/990002/",
                f"{site.origin}/ru/articles/990003/",
                "--origin",
                replica.origin,
                "--out",
                str(out),
                *FAST,
            )
            yield {
                "result": result,
                "out": out,
                "replica": replica,
                "replica_sent": replica.sent_log(),
                "evil": evil,
                "evil_sent": evil.sent_log(),
                "site": site,
            }


def warc_exchanges(out: Path) -> list[tuple[str, str, int | None, dict[str, str]]]:
    """(record type, target URI, HTTP status, HTTP headers) of every WARC record."""
    found = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                status = None
                headers: dict[str, str] = {}
                if record.http_headers is not None:
                    headers = dict(record.http_headers.headers)
                    if record.rec_type in ("response", "revisit"):
                        status = int(record.http_headers.get_statuscode())
                found.append(
                    (record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), status, headers)
                )
    return found


def test_the_off_site_server_never_got_a_request(hostile_crawl: dict) -> None:
    """The off-site server on 127.0.0.2 (a loopback address, so the test guard lets it be reached) is named by
    seven images, two links, a stylesheet, a script and a redirect of the hostile article: nothing reached it."""
    assert hostile_crawl["evil_sent"] == []
    site = hostile_crawl["site"]
    assert site.sent[:1] == ["/robots.txt"] and "/ru/articles/990001/" in site.sent


def test_the_warc_holds_only_allowed_hosts_and_the_off_site_redirect(hostile_crawl: dict) -> None:
    site, replica = hostile_crawl["site"], hostile_crawl["replica"]
    records = warc_exchanges(hostile_crawl["out"])
    hosts = {
        urlsplit(uri).netloc for kind, uri, _, _ in records if kind in ("request", "response", "revisit")
    }
    assert hosts == {urlsplit(site.origin).netloc, urlsplit(replica.origin).netloc}
    redirects = {uri: headers.get("Location") for kind, uri, status, headers in records if status == 301}
    evil = hostile_crawl["evil"].origin
    assert redirects == {
        f"{site.origin}/ru/articles/990002/": f"{evil}/ru/articles/990002/",
        f"{site.origin}/ru/articles/990003/": "https://xn--abr-1sd.com/ru/articles/990003/",
    }
    # the image on the origin's media path was fetched (Habr's media hosts are still archived)
    allowed = f"{replica.origin}/habrastorage.org/getpro/habr/upload_files/ok/allowed.png"
    assert ("response", allowed, 200) in {(kind, uri, status) for kind, uri, status, _ in records}


def test_off_site_links_and_images_are_recorded_not_followed(hostile_crawl: dict) -> None:
    evil, replica = hostile_crawl["evil"].origin, hostile_crawl["replica"].origin
    evil_host = urlsplit(evil).netloc
    (row,) = [row for row in iter_rows(hostile_crawl["out"] / "index") if row["id"] == 990001]
    links = [link["url"] for link in row["links"]]
    assert links == [
        f"{evil}/page.html",
        f"https://{evil_host}/protocol-relative.html",  # the page declares an https:// canonical URL
        f"javascript:fetch('{evil}/js')",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://xn--abr-1sd.com/ru/articles/1/",
        "https://habr.com.evil.example/ru/articles/1/",
        f"{replica}/ru/articles/568382/",
    ]
    images = {image["url"]: (image["archived"], image["error"]) for image in row["images"]}
    assert images.pop(f"{replica}/habrastorage.org/getpro/habr/upload_files/ok/allowed.png") == (True, None)
    assert set(images) == {
        f"{evil}/offsite.png",
        f"https://{evil_host}/protocol-relative.png",
        "https://xn--abr-1sd.com/idn.png",
        "https://habr.com.evil.example/lookalike.png",
        "https://habr.com@evil.example/userinfo.png",
        f"{evil}/srcset-2x.png",
    }
    for url, (archived, error) in images.items():
        assert archived is False and error is not None and "off the allowed hosts" in error, url


def test_the_summary_counts_the_refusals_and_the_redirects_are_reported(hostile_crawl: dict) -> None:
    out, evil = hostile_crawl["out"], hostile_crawl["evil"].origin
    (run,) = sorted((out / "runs").glob("*.json"))
    summary = json.loads(run.read_text())
    offsite = summary["offsite"]
    assert offsite["by_host"] == {
        # offsite.png, srcset 1x and 2x, protocol-relative.png twice (https:// against the page's canonical URL
        # in the row, http:// against the fetched URL among the replay variants), the 990002 redirect
        urlsplit(evil).netloc: 6,
        "xn--abr-1sd.com:443": 2,  # idn.png and the 990003 redirect
        "habr.com.evil.example:443": 1,
        "evil.example:443": 1,  # habr.com@evil.example
    }
    assert offsite["refused"] == sum(offsite["by_host"].values())
    assert sorted(offsite["examples"]) == sorted(
        [
            f"{evil}/ru/articles/990002/",
            "https://xn--abr-1sd.com/ru/articles/990003/",
            f"{evil}/offsite.png",
            f"https://{urlsplit(evil).netloc}/protocol-relative.png",
            f"{evil}/protocol-relative.png",
            f"{evil}/srcset-1x.png",
            f"{evil}/srcset-2x.png",
            "https://xn--abr-1sd.com/idn.png",
            "https://habr.com.evil.example/lookalike.png",
            "https://habr.com@evil.example/userinfo.png",
        ]
    )
    reasons = {failure["id"]: failure for failure in summary["failures"]}
    assert set(reasons) == {990002, 990003}
    for article in (990002, 990003):
        assert reasons[article]["outcome"] == "not_article"
        assert "off the allowed hosts" in reasons[article]["reason"]
    assert "could not archive" in hostile_crawl["result"].stderr


def test_without_the_guard_the_off_site_server_is_reached(tmp_path: Path) -> None:
    """The control run: with HABR_ALLOWED_HOSTS_ONLY off, the same article does reach the off-site server, so
    the empty sent-log above is the guard's doing and not the test's blindness."""
    with ReplicaThread() as replica, ReplicaThread(host="127.0.0.2") as evil:  # noqa: SIM117 - site needs both
        with HostileSite(replica.origin, evil.origin) as site:
            run_cli(
                "archive",
                f"{site.origin}/ru/articles/990001/",
                "--origin",
                replica.origin,
                "--out",
                str(tmp_path / "archive"),
                "--set",
                "HABR_ALLOWED_HOSTS_ONLY=false",
                # https:// to the off-site plain-HTTP server never completes a handshake: give up on it soon
                "--set",
                "DOWNLOAD_TIMEOUT=3",
                "--set",
                "RETRY_TIMES=0",
                *FAST,
            )
            sent = {entry["target"] for entry in evil.sent_log()}
    assert {"/robots.txt", "/offsite.png", "/srcset-1x.png", "/srcset-2x.png"} <= sent


# -- nothing from a page or a URL reaches a file name ---------------------------------------------------------
WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{n}" for n in range(10)),
    *(f"lpt{n}" for n in range(10)),
}
NOT_IN_NAMES = set('<>:"\\|?*') | {chr(code) for code in range(32)}


def bad_name(name: str) -> str | None:
    """Why ``name`` is not a portable file name (POSIX and Windows), or None."""
    if name in ("", ".", ".."):
        return "empty or a dot name"
    if len(name.encode("utf-8")) > 255:
        return "longer than 255 bytes"
    if NOT_IN_NAMES & set(name):
        return f"holds {sorted(NOT_IN_NAMES & set(name))!r}"
    if name.split(".")[0].lower() in WINDOWS_RESERVED:
        return "a Windows device name"
    if name.endswith((" ", ".")):
        return "ends in a space or a dot"
    return None


def assert_safe_tree(root: Path) -> list[Path]:
    """Every file and folder under ``root`` stays inside it (no symlink out, no ``..``) and has a portable name."""
    inside = root.resolve()
    found = []
    for path in sorted(root.rglob("*")):
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(inside), path
        for part in path.relative_to(root).parts:
            assert bad_name(part) is None, f"{path.relative_to(root)}: {bad_name(part)}"
        found.append(path)
    return found


def test_the_hostile_archive_has_only_the_names_the_layout_makes(hostile_crawl: dict) -> None:
    """Hub aliases, an author and tags made to escape (``../``, ``%2F``, NUL, ``con``, 300 characters) are in the
    row as data; the archive directory's names come from the layout alone (WARC names from the time, a serial
    and the pid; shards from the id; capture logs from the month; run files from the start time)."""
    out = hostile_crawl["out"]
    (row,) = [row for row in iter_rows(out / "index") if row["id"] == 990001]
    assert row["author"] == "../../../tmp/owned"
    assert "../../../tmp/owned-hub" in row["hubs"] and "/etc/passwd" in row["hubs"] and "con" in row["hubs"]
    assert "nul\x00byte" in row["hubs"] and "x" * 300 in row["hubs"]
    names = {str(path.relative_to(out)) for path in assert_safe_tree(out) if path.is_file()}
    patterns = [
        r"archive\.json",
        r"README\.md",  # the archive card
        r"search/search\.sqlite[\w-]*",  # the full-text index (store/search.py)
        r"warc/habrmirror-\d{14}-\d{5}-\d+\.warc\.gz",
        r"indexes/habrmirror-\d{14}-\d{5}-\d+\.cdxj",
        r"index/\d{5}\.jsonl",
        r"index/ids\.\w+",
        r"captures/\d{4}-\d{2}\.jsonl",
        r"runs/\d{8}T\d{6}Z-\d+\.json",
        r"state/[\w.-]+",
        r"[\w.-]+\.lock",
    ]
    for name in names:
        assert any(re.fullmatch(pattern, name) for pattern in patterns), name


def test_a_site_of_the_hostile_archive_keeps_every_file_inside(hostile_crawl: dict, tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_site(hostile_crawl["out"], site)
    files = [path.relative_to(site) for path in assert_safe_tree(site) if path.is_file()]
    (row,) = [row for row in iter_rows(hostile_crawl["out"] / "index") if row["id"] == 990001]
    hub_pages = {str(path) for path in files if path.parts[0] == "hubs" and path.name != "index.html"}
    assert len(hub_pages) == len(set(row["hubs"])), sorted(hub_pages)  # one page each, no two share a file
    assert any(path.parts[0] == "authors" and path.name != "index.html" for path in files)
    for path in files:
        if path.parts[0] == "img":
            assert re.fullmatch(r"[0-9a-f]{32}\.(png|jpg|gif|webp|avif|bmp|ico|svg)", path.name), path


@pytest.mark.parametrize("kind", ["csv", "jsonl.zst", "sqlite", "parquet", "hf"])
def test_exports_of_the_hostile_archive_write_only_their_own_names(
    hostile_crawl: dict, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "export"
    target = out / {
        "csv": "csv",
        "jsonl.zst": "index.jsonl.zst",
        "sqlite": "habr.db",
        "parquet": "habr.parquet",
    }.get(kind, "hf")
    if kind in ("csv", "hf"):
        export_archive(hostile_crawl["out"], kind, target)
    else:
        out.mkdir()
        export_archive(hostile_crawl["out"], kind, target)
    assert_safe_tree(out)
    hostile = {"owned", "passwd", "etc", "con", "x" * 300}
    for path in out.rglob("*"):
        assert not hostile & set(re.split(r"[/.\-_]", str(path.relative_to(out)))), path


HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "..",
            "../../etc/passwd",
            "%2e%2e%2f",
            "/etc/passwd",
            "C:\\Windows",
            "con",
            "NUL",
            "com1",
            "lpt9",
            "nul\x00byte",
            "x" * 1000,
            " ",
            ".",
            "a/b",
            "a\\b",
            "хабр",
            "\u202egnp.exe",
            "CON",
            "aux.",
            "-",
        ]
    ),
)


@DETERMINISTIC
@given(HOSTILE_TEXT)
def test_a_hub_or_author_slug_is_a_safe_file_name_inside_its_folder(value: str) -> None:
    name = slug(value)
    for relative in (f"hubs/{name}.html", f"authors/{name}-p2.html"):
        assert bad_name(Path(relative).name) is None, (value, relative)
        assert (Path("/site") / relative).resolve().parent.name in ("hubs", "authors")


@DETERMINISTIC
@given(st.lists(HOSTILE_TEXT, min_size=2, max_size=20, unique=True))
def test_distinct_hub_aliases_never_share_a_file(values: list[str]) -> None:
    names = [slug(value) for value in values]
    assert len({name.lower() for name in names}) == len(names)  # distinct on a case-insensitive disk too


@DETERMINISTIC
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_an_article_id_makes_a_shard_and_page_name_or_no_row(number: int) -> None:
    try:
        article = checked_id(number, number)
    except NotAnArticleUrl:
        return  # an id outside 1..99,999,999 never becomes a row (the page object tries the next candidate)
    assert re.fullmatch(r"\d{5}\.jsonl", shard_name(article))
    assert bad_name(f"{article}.html") is None


def test_a_page_declaring_a_hostile_id_gets_no_file_from_it() -> None:
    page = (INVENTED / "article-hostile-links.html").read_text(encoding="utf-8")
    for canonical in [
        "https://habr.com/ru/post/../../etc/",
        "https://habr.com/ru/post/0/",
        f"https://habr.com/ru/post/{10**30}/",
    ]:
        body = page.replace("https://habr.com/ru/post/990001/", canonical).encode()
        try:
            article = parse_article("https://habr.com/ru/articles/990001/", body)
        except PageError:
            continue
        assert article.id == 990001  # the fetched URL's id: the declared one was not an id


def test_an_out_path_the_system_refuses_is_one_clear_line(tmp_path: Path) -> None:
    for command in (["archive", "1"], ["site", str(tmp_path)], ["pack", str(tmp_path)]):
        done = run_cli(*command, "--out", str(tmp_path / ("x" * 300)), *FAST)
        assert done.returncode != 0
        assert done.stderr.count("\n") == 1 and "File name too long" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
