"""``storybook serve``: preview the site on 127.0.0.1 and rebuild when a source changes.

A rebuild that fails never stops the server: story errors appear on the index as usual, and a project-wide
error (a broken storybook.yaml, or an error storybook did not foresee) is shown on the page in place of the
index until it is fixed; the other pages stay as the last good build left them.

Preview only, and only in what it serves (the files on disk, the published site, stay free of scripts and keep
their Content-Security-Policy): each page gets a small script (``/__storybook/reload.js``, allowed by the served
copy's policy as ``script-src 'self'``) that asks ``/__storybook/build`` whether a build finished since the page
was served, and reloads the page when one did. While the last build failed, every page says so at its top with
the located error (a story that failed: its own pages; a project-wide error: every page), so the last good page
is never shown as if it were up to date.

The preview builds into the project's ``site_dir`` (or ``--out``), read again on every rebuild. It answers
only requests addressed to itself (Host 127.0.0.1, localhost or [::1] with its port; anything else is 421,
which stops a DNS-rebinding page from reading it) and never lists a folder (404).
"""

from __future__ import annotations

import functools
import html
import http.server
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from storybook.build import BuildReport, build
from storybook.errors import StorybookError, UnexpectedError
from storybook.sources.loader import find_project_root, find_stories

__all__ = ["Preview", "preview"]

ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Build failed</title></head>
<body><main><h1>The last build failed</h1><pre>{message}</pre>
<p>Fix the file named above and save it; this page updates on the next successful build.</p></main></body></html>"""
RELOAD_PATH = "/__storybook/reload.js"
BUILD_PATH = "/__storybook/build"
WAIT_SECONDS = 20.0  # how long /__storybook/build holds a request open before saying "no new build yet"
# Asks, again and again, whether a build finished since the page was served (the server answers as soon as one
# does), and reloads the page when one did.
RELOAD_SCRIPT = """(function () {
  var seen = Number(document.currentScript.getAttribute("data-build")) || 0;
  function ask() {
    fetch("BUILD_PATH?seen=" + seen, {cache: "no-store"})
      .then(function (answer) { return answer.text(); })
      .then(function (text) { if (Number(text) > seen) { location.reload(); } else { ask(); } },
            function () { setTimeout(ask, 1000); });
  }
  ask();
})();
""".replace("BUILD_PATH", BUILD_PATH)
BANNER = ('<div role="alert" style="background:#fde8e8;border-bottom:3px solid #b42318;padding:1em;'
          'font-family:sans-serif"><strong>The last build failed: this page is from an earlier build and may be out '
          'of date.</strong><pre style="white-space:pre-wrap">{message}</pre></div>')


@dataclass
class Preview:
    """What the server shows: the site folder, and the error of the last build if it failed outright.

    ``out`` is the folder given with ``--out``, else the project's site_dir as of the last build that could read
    storybook.yaml (None before the first: only the error page is served)."""

    root: Path
    out: Path | None
    explicit: bool = False  # out was given (--out): storybook.yaml's site_dir does not move it
    error: str | None = None
    failed: dict[str, str] = field(default_factory=dict)  # each story that failed the last build: its error
    builds: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    built: threading.Condition = field(default_factory=threading.Condition)  # told when a build finishes

    def rebuild(self, on_report: Callable[[BuildReport | None, StorybookError | None], None] | None = None) -> None:
        with self.lock:
            try:
                if not self.explicit:
                    _, config, _ = find_stories(self.root)
                    self.out = (self.root / config.site_dir).resolve()
                report = build(self.root, out=self.out, pdf=False)
            except StorybookError as error:
                self.error = str(error)
                if on_report:
                    on_report(None, error)
            except Exception as error:  # a failed rebuild never stops the preview
                surprise = UnexpectedError.from_exception(error, doing="rebuilding the preview")
                self.error = str(surprise)
                if on_report:
                    on_report(None, surprise)
            else:
                self.error = None
                self.failed = {slug: str(error) for slug, error in report.failed.items()}
                if on_report:
                    on_report(report, None)
            with self.built:
                self.builds += 1
                self.built.notify_all()

    def wait_for_build(self, seen: int, timeout: float = WAIT_SECONDS) -> int:
        """The number of builds so far, once it is more than ``seen`` or ``timeout`` seconds have passed."""
        with self.built:
            self.built.wait_for(lambda: self.builds > seen, timeout)
            return self.builds

    def decorate(self, page: str, route: str) -> str:
        """A built page as the preview serves it: with the reload script (and a policy that lets it run), and the
        error of the last build at its top when it failed for this page's story or for the whole project."""
        head, _, body = page.partition("</head>")
        if body:
            page = head.replace("script-src 'none'", "script-src 'self'", 1) + "</head>" + body
        slug = route.rsplit("/", 1)[-1].split(".", 1)[0]
        error = self.error if self.error is not None else self.failed.get(slug)
        if error is not None:
            banner = BANNER.format(message=html.escape(error))
            opening = re.search(r"<body[^>]*>", page)
            page = (page[:opening.end()] + banner + page[opening.end():]) if opening else banner + page
        script = f'<script src="{RELOAD_PATH}" data-build="{self.builds}"></script>'
        end = page.rfind("</body>")
        return page[:end] + script + page[end:] if end >= 0 else page + script


class _Handler(http.server.SimpleHTTPRequestHandler):
    preview: Preview

    def do_GET(self) -> None:
        if not self._addressed_to_us():
            return
        route = urllib.parse.urlsplit(self.path).path
        if route == RELOAD_PATH:
            self._send(200, "text/javascript; charset=utf-8", RELOAD_SCRIPT.encode())
            return
        if route == BUILD_PATH:
            seen = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("seen", [""])[0]
            builds = self.preview.wait_for_build(int(seen) if seen.isdigit() else -1)
            self._send(200, "text/plain; charset=utf-8", str(builds).encode())
            return
        if self.preview.error is not None and route in ("/", "/index.html"):
            body = ERROR_PAGE.format(message=html.escape(self.preview.error)).replace(
                "</body>", f'<script src="{RELOAD_PATH}" data-build="{self.preview.builds}"></script></body>')
            self._send(500, "text/html; charset=utf-8", body.encode())
            return
        page = self._page(route)
        if page is not None:
            self._send(200, "text/html; charset=utf-8", self.preview.decorate(page, route).encode())
            return
        super().do_GET()

    def _send(self, status: int, kind: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away (it reloaded, or its tab was closed) while its question was held open

    def _page(self, route: str) -> str | None:
        """The text of the built HTML page at ``route`` (a folder's index.html), or None for anything else."""
        out = self.preview.out
        if out is None:
            return None
        self.directory = str(out)
        path = Path(self.translate_path(route))
        if path.is_dir():
            if not route.endswith("/"):
                return None  # the standard handler redirects to the folder's "/" address
            path = path / "index.html"
        try:
            if path.suffix != ".html" or not path.is_file() or not path.resolve().is_relative_to(out.resolve()):
                return None
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def do_HEAD(self) -> None:
        if self._addressed_to_us():
            super().do_HEAD()

    def _addressed_to_us(self) -> bool:
        """Only a request for this server by a loopback name: a page on another site that rebinds its own name to
        127.0.0.1 sends its own name as Host, and gets 421."""
        address = self.server.server_address
        port = address[1] if isinstance(address, tuple) else 0
        allowed = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        if port == 80:
            allowed |= {"127.0.0.1", "localhost", "[::1]"}
        host = (self.headers.get("Host") or "").strip().lower()
        if host in allowed:
            return True
        self.send_error(421, "Misdirected Request", f"this preview answers only http://127.0.0.1:{port}/")
        return False

    def send_head(self) -> Any:
        # Serve from the site as it is now: the folder is swapped atomically on every build.
        if self.preview.out is None:
            self.send_error(404, "Not Found", "nothing built yet: see the index for the error")
            return None
        self.directory = str(self.preview.out)
        return super().send_head()

    def list_directory(self, path: str | PathLike[str]) -> None:
        """Folders are never listed."""
        self.send_error(404, "Not Found")
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _watched(root: Path) -> list[Path]:
    return [p for p in (root / "storybook.yaml", root / "stories", root / "templates") if p.exists()]


def preview(project: Path, *, port: int = 8000, out: Path | None = None, stop: threading.Event | None = None,
            on_ready: Callable[[str], None] | None = None,
            on_report: Callable[[BuildReport | None, StorybookError | None], None] | None = None) -> None:
    """Build into the project's site_dir (or ``out``), serve it on 127.0.0.1:``port`` and rebuild on every change
    until ``stop`` is set."""
    from watchfiles import watch

    root = find_project_root(project)
    state = Preview(root=root, out=out.resolve() if out is not None else None, explicit=out is not None)
    state.rebuild(on_report)
    handler = type("Handler", (_Handler,), {"preview": state})
    # The directory is set again for each request (send_head); until a build names one, it is an empty place.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory="/nonexistent"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if on_ready:
        on_ready(f"http://127.0.0.1:{server.server_address[1]}")
    stop = stop or threading.Event()
    try:
        for changes in watch(*_watched(root), stop_event=stop, debounce=200, rust_timeout=500):
            site = state.out
            if site is not None and all(Path(path).is_relative_to(site) for _, path in changes):
                continue
            state.rebuild(on_report)
    finally:
        server.shutdown()
        server.server_close()
