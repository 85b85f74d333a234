"""``serve_site``: a built mirror on http://127.0.0.1:PORT/ for a look (the standard library's file server,
with the MIME types a mirror needs: Pagefind's ``.wasm`` and index fragments, SVG, WebP, AVIF, Atom)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".xml": "application/xml; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".pagefind": "application/octet-stream",
    ".pf_meta": "application/octet-stream",
    ".pf_index": "application/octet-stream",
    ".pf_fragment": "application/octet-stream",
    ".pf_filter": "application/octet-stream",
}


class MirrorRequestHandler(SimpleHTTPRequestHandler):
    """Files of the site folder only (no directory listings); nosniff, and no scripts in images."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **_TYPES}

    def list_directory(self, path: Any) -> None:
        self.send_error(404, "Not found")
        return None

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.path.split("?", 1)[0].endswith(".svg"):
            # an SVG opened on its own is a document: it may not run scripts under the site's origin
            self.send_header("Content-Security-Policy", "script-src 'none'; sandbox")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def make_server(site: Path, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``site`` bound to 127.0.0.1:``port`` (0: a free port, see ``server.server_address``)."""
    if not (Path(site) / "index.html").is_file():
        raise FileNotFoundError(f"{site} is not a built site (no index.html): run `habrmirror site` first")
    handler = functools.partial(MirrorRequestHandler, directory=str(site))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve_site(site: Path, port: int = 8000) -> None:
    """Serve ``site`` on http://127.0.0.1:``port``/ until interrupted (Ctrl-C)."""
    server = make_server(site, port)
    host, bound = server.server_address[:2]
    print(f"serving {site} on http://{host!s}:{bound}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
