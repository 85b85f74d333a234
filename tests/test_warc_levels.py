"""Already-compressed bodies go into stored (level-0) gzip members; text bodies are deflated."""

import gzip
import os
from datetime import datetime, timezone
from pathlib import Path

from habrmirror.archive.reader import iter_records
from habrmirror.archive.warc import HttpExchange, WarcWriter

WHEN = datetime(2026, 11, 25, tzinfo=timezone.utc)


def exchange(url: str, body: bytes, headers: list[tuple[str, str]]) -> HttpExchange:
    return HttpExchange(
        url=url,
        method="GET",
        request_headers=[("Host", "127.0.0.1")],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=headers,
        body=body,
        fetched_at=WHEN,
    )


def test_compressed_bodies_are_stored_and_text_is_deflated(tmp_path: Path) -> None:
    html = (b"<p>" + "Привет, Хабр! ".encode() * 40 + b"</p>\n") * 100
    packed = gzip.compress(os.urandom(20000))
    with WarcWriter(tmp_path, digests=None) as writer:
        text = writer.write_exchange(exchange("http://127.0.0.1/a", html, [("Content-Type", "text/html")]))
        coded = writer.write_exchange(
            exchange(
                "http://127.0.0.1/b", packed, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
            )
        )
        image = writer.write_exchange(
            exchange("http://127.0.0.1/c.png", os.urandom(9000), [("Content-Type", "image/png")])
        )
    assert text.response.length < len(html) / 5  # deflated
    assert coded.response.length > len(packed)  # stored: no second deflate of gzip bytes
    assert image.response.length > 9000
    path = next((tmp_path / "warc").glob("*.warc.gz"))
    bodies = {
        r.record.rec_headers.get_header("WARC-Target-URI"): r.payload
        for r in iter_records(path)
        if r.rec_type == "response"
    }
    assert packed in bodies["http://127.0.0.1/b"] and html in bodies["http://127.0.0.1/a"]
