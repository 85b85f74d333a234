"""The local Habr replica, tested over real sockets on 127.0.0.1 (no mocks): what it serves, how it encodes
it, what it logs, its listings and its control endpoints.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html

from habrmirror.replica import ReplicaProcess, ReplicaThread
from habrmirror.replica.articles import MEDIA_HOSTS
from habrmirror.replica.catalog import SAMPLES_DIR, load_sample_entries

FIXTURES = Path(__file__).parent / "fixtures" / "habr"
SYNTHETIC = 45
EXTRA_DISALLOW = "/ru/articles/1000/"


@pytest.fixture(scope="module")
def replica() -> ReplicaProcess:
    with ReplicaProcess(synthetic=SYNTHETIC, disallow=[EXTRA_DISALLOW]) as running:
        yield running


def raw_get(origin: str, path: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    """GET over a bare socket: status line, headers, the entity body as on the wire after de-chunking."""
    parts = urlsplit(origin)
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    chunked = fields.get("transfer-encoding") == "chunked"
    body = b""
    if chunked:
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body, rest = body + rest[:size], rest[size + 2 :]
    else:
        body = rest
        assert len(body) == int(fields["content-length"])
    return {"status_line": status_line, "headers": fields, "body": body, "chunked": chunked, "head": head}


def log_line_for(replica: ReplicaProcess, target: str) -> dict:
    return [line for line in replica.sent_log() if line["target"] == target][-1]


_HOSTS = b"|".join(re.escape(host).encode() for host in MEDIA_HOSTS)  # the hosts the replica rewrites
_MEDIA_FORMS = re.compile(rb"(?:https?:)?//(" + _HOSTS + rb")/")


def normalised_media(body: bytes, origin: str | None) -> bytes:
    """Both spellings of a media URL (saved page / replica) reduced to one token, for comparison."""
    if origin is not None:
        body = re.sub(re.escape(origin.encode()) + rb"/(" + _HOSTS + rb")/", rb"MEDIA:\1/", body)
        body = re.sub(
            re.escape(origin.replace("/", "\\/").encode()) + rb"\\/(" + _HOSTS + rb")\\/",
            rb"MEDIA:\1\\/",
            body,
        )
        body = re.sub(
            re.escape(origin.replace("/", "\\u002F").encode()) + rb"\\u002F(" + _HOSTS + rb")\\u002F",
            rb"MEDIA:\1\\u002F",
            body,
        )
        return body
    body = _MEDIA_FORMS.sub(rb"MEDIA:\1/", body)
    body = re.sub(rb"(?:https?:)?\\/\\/(" + _HOSTS + rb")\\/", rb"MEDIA:\1\\/", body)
    return re.sub(rb"(?:https?:)?\\u002F\\u002F(" + _HOSTS + rb")\\u002F", rb"MEDIA:\1\\u002F", body)


def test_samples_are_byte_exact_copies_of_the_fixtures() -> None:
    for line in (SAMPLES_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((SAMPLES_DIR / name).read_bytes()).hexdigest() == digest, name
        assert (SAMPLES_DIR / name).read_bytes() == (FIXTURES / name).read_bytes(), name


@pytest.mark.parametrize(
    ("path", "fixture"),
    [
        ("/ru/articles/1000/", "article-legacy-1000-2018.html"),
        ("/ru/company/parallels/blog/462783/", "article-legacy-462783-company-2019.html"),
        ("/ru/articles/472278/", "article-legacy-472278-company-2019-malformed-utf8.html"),
        ("/ru/articles/568382/", "article-tm-568382-2021.html"),
        ("/ru/articles/957816/", "article-tm-957816-browsersaved-2025.html"),
        ("/ru/amp/publications/483202/", "article-amp-483202.html"),
        ("/mirror/articles/100000/index.html", "mirror-weekly-geekly-article-100000.html"),
        ("/ru/companies/ruvds/posts/1064400/", "article-tm-1064400-company-2026.html"),
        ("/ru/companies/parallels/articles/462783/", "article-legacy-462783-company-2019.html"),
    ],
)
def test_real_page_is_the_saved_page_except_media_urls(
    replica: ReplicaProcess, path: str, fixture: str
) -> None:
    answer = raw_get(replica.origin, path)
    assert answer["status_line"] == "HTTP/1.1 200 OK"
    saved = (FIXTURES / fixture).read_bytes()
    body = answer["body"]
    # a URL left un-rewritten would stay "https://habrastorage.org/" on one side and become MEDIA on the other
    assert normalised_media(body, replica.origin) == normalised_media(saved, None)
    assert body != saved or b"habrastorage.org" not in saved


def test_malformed_utf8_byte_is_served_as_is(replica: ReplicaProcess) -> None:
    body = raw_get(replica.origin, "/ru/articles/472278/")["body"]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


@pytest.mark.parametrize("old", ["/ru/post/568382/", "/post/1000/", "/p/1000/", "/ru/post/1000"])
def test_old_article_urls_move_permanently(replica: ReplicaProcess, old: str) -> None:
    answer = raw_get(replica.origin, old)
    assert answer["status_line"] == "HTTP/1.1 301 Moved Permanently"
    article = re.search(r"\d+", old).group(0)
    assert answer["headers"]["location"] == f"{replica.origin}/ru/articles/{article}/"


@pytest.mark.parametrize(
    "path", ["/ru/articles/999999999/", "/ru/post/999999999/", "/nowhere", "/ru/articles/483202/"]
)
def test_unknown_ids_and_paths_are_404_html(replica: ReplicaProcess, path: str) -> None:
    answer = raw_get(replica.origin, path)
    assert answer["status_line"] == "HTTP/1.1 404 Not Found"
    assert answer["headers"]["content-type"].startswith("text/html")
    assert "Страница не найдена".encode() in answer["body"]


def test_gzip_when_asked_and_identical_after_gunzip(replica: ReplicaProcess) -> None:
    plain = raw_get(replica.origin, "/ru/articles/724768/")
    packed = raw_get(replica.origin, "/ru/articles/724768/", {"Accept-Encoding": "gzip, deflate"})
    refused = raw_get(replica.origin, "/ru/articles/724768/", {"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in plain["headers"] and "content-encoding" not in refused["headers"]
    assert packed["headers"]["content-encoding"] == "gzip"
    assert packed["headers"]["vary"] == "Accept-Encoding"
    assert packed["body"][:2] == b"\x1f\x8b"
    assert gzip.decompress(packed["body"]) == plain["body"] == refused["body"]
    line = log_line_for(replica, "/ru/articles/724768/")
    assert line["content_encoding"] is None  # the last one was the refused request


def test_chunked_article_and_log_matches_the_wire(replica: ReplicaProcess) -> None:
    answer = raw_get(replica.origin, "/ru/articles/804525/", {"Accept-Encoding": "gzip"})
    assert answer["chunked"] and answer["headers"]["transfer-encoding"] == "chunked"
    line = log_line_for(replica, "/ru/articles/804525/")
    assert line["chunked"] is True
    assert line["content_encoding"] == "gzip"
    assert line["status"] == 200 and line["reason"] == "OK"
    assert line["body_sha256"] == hashlib.sha256(answer["body"]).hexdigest()
    assert line["body_length"] == len(answer["body"])
    assert line["header_block"].encode("latin-1") == answer["head"] + b"\r\n\r\n"
    assert ["Accept-Encoding", "gzip"] in line["request_headers"]


def test_images_valid_distinct_deterministic_with_content_length(replica: ReplicaProcess) -> None:
    page = raw_get(replica.origin, "/ru/articles/568382/")["body"].decode("utf-8", "replace")
    urls = sorted(
        set(re.findall(re.escape(replica.origin) + r"/habrastorage\.org/[^\"' )]+\.(?:png|jpe?g|gif)", page))
    )
    assert len(urls) >= 3
    bodies = {}
    for url in urls:
        path = url[len(replica.origin) :]
        answer = raw_get(replica.origin, path)
        assert answer["status_line"] == "HTTP/1.1 200 OK" and not answer["chunked"]
        kind = answer["headers"]["content-type"]
        body = answer["body"]
        if path.endswith(".png"):
            assert kind == "image/png" and body.startswith(b"\x89PNG\r\n\x1a\n")
        elif path.endswith(".gif"):
            assert kind == "image/gif" and body.startswith(b"GIF89a")
        else:
            assert kind == "image/jpeg" and body.startswith(b"\xff\xd8") and body.endswith(b"\xff\xd9")
        bodies[path] = body
        assert log_line_for(replica, path)["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert len(set(bodies.values())) == len(bodies)
    with ReplicaThread() as other:  # another server instance: same bytes for the same paths
        for path, body in bodies.items():
            assert raw_get(other.origin, path)["body"] == body


def test_browser_saved_relative_resources_are_served(replica: ReplicaProcess) -> None:
    page = raw_get(replica.origin, "/ru/articles/724768/")["body"].decode("utf-8")
    relative = re.search(r'src="\./([^"]+_files/[^"]+\.png)"', page).group(1)
    from urllib.parse import quote

    answer = raw_get(replica.origin, "/ru/articles/724768/" + quote(relative))
    assert answer["headers"]["content-type"] == "image/png"
    assert answer["body"].startswith(b"\x89PNG")


def test_keep_alive_serves_many_requests_on_one_connection(replica: ReplicaProcess) -> None:
    parts = urlsplit(replica.origin)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    for path in ["/robots.txt", "/ru/articles/1000/", "/habrastorage.org/a.png", "/ru/articles/"]:
        connection.request("GET", path)
        answer = connection.getresponse()
        assert answer.status == 200 and answer.reason == "OK"
        answer.read()
    connection.close()


def _listing(origin: str, path: str) -> tuple[list[str], list[str], list[str], html.HtmlElement]:
    tree = html.fromstring(raw_get(origin, path)["body"], parser=html.HTMLParser(encoding="utf-8"))
    ids = tree.xpath("//div[@data-test-id='articles-list']/article/@id")
    stamps = tree.xpath("//article//a[contains(@class,'tm-article-datetime-published')]/time/@datetime")
    nexts = tree.xpath("//a[@data-test-id='pagination-next-page'][@rel='next']/@href")
    return ids, stamps, nexts, tree


def test_tm_listings_are_paged_newest_first(replica: ReplicaProcess) -> None:
    stats = replica.control("stats")
    total = stats["listed"]["articles"]
    pages = -(-total // 20)
    seen: list[str] = []
    previous_stamps: list[str] = []
    for page in range(1, pages + 1):
        path = "/ru/articles/" if page == 1 else f"/ru/articles/page{page}/"
        ids, stamps, nexts, tree = _listing(replica.origin, path)
        assert len(ids) == (20 if page < pages else total - 20 * (pages - 1))
        assert len(stamps) == len(ids)
        assert stamps == sorted(stamps, reverse=True)
        assert not previous_stamps or previous_stamps[-1] >= stamps[0]
        assert nexts == ([f"/ru/articles/page{page + 1}/"] if page < pages else [])
        titles = tree.xpath("//article//a[contains(@class,'tm-title__link')]/span/text()")
        assert len(titles) == len(ids) and all(titles)
        hrefs = tree.xpath("//article//a[contains(@class,'tm-title__link')]/@href")
        assert hrefs == [f"/ru/articles/{i}/" for i in ids]
        seen += ids
        previous_stamps = stamps
    assert len(set(seen)) == total
    assert raw_get(replica.origin, f"/ru/articles/page{pages + 1}/")["status_line"].endswith("404 Not Found")
    # a listed synthetic article is served where the listing points
    assert raw_get(replica.origin, f"/ru/articles/{seen[0]}/")["status_line"] == "HTTP/1.1 200 OK"


def test_news_listing_has_only_news(replica: ReplicaProcess) -> None:
    ids, stamps, nexts, tree = _listing(replica.origin, "/ru/news/")
    assert ids and len(ids) == replica.control("stats")["listed"]["news"] <= 20
    assert tree.xpath("//article//a[contains(@class,'tm-title__link')]/@href") == [
        f"/ru/news/{i}/" for i in ids
    ]
    assert nexts == []
    article_ids = set()
    for page in (1, 2, 3):
        article_ids |= set(
            _listing(replica.origin, "/ru/articles/" if page == 1 else f"/ru/articles/page{page}/")[0]
        )
    assert not set(ids) & article_ids
    answer = raw_get(replica.origin, f"/ru/news/{ids[0]}/")
    assert answer["status_line"] == "HTTP/1.1 200 OK"
    assert f"/ru/news/{ids[0]}/".encode() in answer["body"]


def test_legacy_all_listing(replica: ReplicaProcess) -> None:
    total = replica.control("stats")["listed"]["all"]
    first = html.fromstring(
        raw_get(replica.origin, "/ru/all/")["body"], parser=html.HTMLParser(encoding="utf-8")
    )
    posts = first.xpath("//li[contains(@class,'content-list__item_post')]")
    assert len(posts) == 20
    assert first.xpath("//a[@id='next_page']/@href") == ["/ru/all/page2/"]
    links = first.xpath(
        "//li[contains(@class,'content-list__item_post')]//a[@class='post__title_link']/@href"
    )
    assert links[0] == f"{replica.origin}/ru/post/{posts[0].get('id').split('_')[1]}/"
    last_page = -(-total // 20)
    last = html.fromstring(
        raw_get(replica.origin, f"/ru/all/page{last_page}/")["body"], parser=html.HTMLParser(encoding="utf-8")
    )
    assert len(last.xpath("//li[contains(@class,'content-list__item_post')]")) == total - 20 * (last_page - 1)
    assert last.xpath("//a[@id='next_page']") == []


def test_robots_txt_carries_the_extra_disallow(replica: ReplicaProcess) -> None:
    answer = raw_get(replica.origin, "/robots.txt")
    text = answer["body"].decode()
    assert answer["headers"]["content-type"].startswith("text/plain")
    assert text.startswith("User-agent: *\n")
    assert f"Disallow: {EXTRA_DISALLOW}\n" in text
    assert "Disallow: /_replica/\n" in text


def test_control_endpoints() -> None:
    with ReplicaThread(synthetic=25) as replica:
        # added articles are newer than everything and top page 1
        added = replica.control("add", count=2)["added"]
        ids, stamps, _, _ = _listing(replica.origin, "/ru/articles/")
        assert ids[:2] == [str(added[1]["id"]), str(added[0]["id"])]
        page = raw_get(replica.origin, f"/ru/articles/{added[0]['id']}/")
        assert page["status_line"] == "HTTP/1.1 200 OK"
        # 429 with Retry-After for the next two requests of one path, then normal
        replica.control("fail", path="/ru/articles/1000/", count=2, status=429, retry_after=7)
        for _ in range(2):
            blocked = raw_get(replica.origin, "/ru/articles/1000/")
            assert blocked["status_line"] == "HTTP/1.1 429 Too Many Requests"
            assert blocked["headers"]["retry-after"] == "7"
        assert raw_get(replica.origin, "/ru/articles/1000/")["status_line"] == "HTTP/1.1 200 OK"
        replica.control("fail", count=1, status=503, retry_after=3)  # any path
        assert raw_get(replica.origin, "/robots.txt")["status_line"] == "HTTP/1.1 503 Service Unavailable"
        # an edit changes the bytes (a paragraph at the start of the body)
        before = raw_get(replica.origin, "/ru/articles/570002/")["body"]
        assert replica.control("edit", id=570002)["edits"] == 1
        after = raw_get(replica.origin, "/ru/articles/570002/")["body"]
        assert before != after and "Правка 1 статьи 570002".encode() in after
        # delete: 404 and gone from the listings
        victim = ids[2]
        replica.control("delete", id=victim)
        assert raw_get(replica.origin, f"/ru/articles/{victim}/")["status_line"] == "HTTP/1.1 404 Not Found"
        assert victim not in _listing(replica.origin, "/ru/articles/")[0]
        stats = replica.control("stats")
        assert stats["deleted"] == [int(victim)] and stats["edits"] == {"570002": 1}
        statuses = [line["status"] for line in replica.sent_log()]
        assert statuses.count(429) == 2 and statuses.count(503) == 1


def test_synthetic_articles_differ_by_id() -> None:
    with ReplicaThread(synthetic=6) as replica:
        one = raw_get(replica.origin, "/ru/articles/800001/")["body"]
        four = raw_get(replica.origin, "/ru/articles/800004/")["body"]  # same template as 800001
        assert one != four
        assert "(№800001)".encode() in one and "(№800004)".encode() in four
        assert b"/habrastorage.org/getpro/habr/upload_files/synthetic/800001/" in one
        assert replica.control("stats")["articles"] == len(load_sample_entries()) + 6


def test_sent_log_is_one_json_object_per_response(replica: ReplicaProcess) -> None:
    raw_get(replica.origin, "/ru/articles/1000/")
    lines = replica.log_path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == len(replica.sent_log())
    for record in records[-3:]:
        assert {
            "time",
            "method",
            "target",
            "request_headers",
            "status",
            "reason",
            "header_block",
            "headers",
            "chunked",
            "body_sha256",
            "body_length",
            "content_encoding",
        } <= set(record)


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/ru/posts/1064400/", "/ru/companies/ruvds/posts/1064400/"),  # a post's short form
        ("/ru/companies/other/posts/1064400/", "/ru/companies/ruvds/posts/1064400/"),
        ("/ru/posts/568382/", "/ru/articles/568382/"),  # an article is not a post
        ("/ru/companies/x/posts/1000/", "/ru/articles/1000/"),
    ],
)
def test_posts_forms_move_to_the_publication(replica: ReplicaProcess, path: str, location: str) -> None:
    answer = raw_get(replica.origin, path)
    assert answer["status_line"] == "HTTP/1.1 301 Moved Permanently"
    assert answer["headers"]["location"] == replica.origin + location


@pytest.mark.parametrize(
    "path", ["/ru/articles/1064400/", "/ru/posts/999999999/", "/ru/companies/x/articles/483202/"]
)
def test_posts_and_company_forms_404(replica: ReplicaProcess, path: str) -> None:
    """A post is not served as an article, an unknown id is unknown, the AMP-only page has no company form."""
    assert raw_get(replica.origin, path)["status_line"] == "HTTP/1.1 404 Not Found"


def test_the_post_is_served_but_not_listed(replica: ReplicaProcess) -> None:
    listing = raw_get(replica.origin, "/ru/articles/")["body"]
    assert b"1064400" not in listing
    [entry] = [entry for entry in load_sample_entries() if entry.id == 1064400]
    assert (entry.type, entry.title, entry.author) == ("post", "", "ru_vds")
