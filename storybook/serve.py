"""``storybook serve``: preview the site on 127.0.0.1 and rebuild when a source changes.

A rebuild that fails never stops the server: story errors appear on the index as usual, and a project-wide
error (a broken storybook.yaml, or an error storybook did not foresee) is shown on the page in place of the
index until it is fixed; the other pages stay as the last good build left them.

The preview builds into the project's ``site_dir`` (or ``--out``), read again on every rebuild. It answers
only requests addressed to itself (Host 127.0.0.1, localhost or [::1] with its port; anything else is 421,
which stops a DNS-rebinding page from reading it) and never lists a folder (404).
"""

from __future__ import annotations

import functools
import html
import http.server
import threading
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


@dataclass
class Preview:
    """What the server shows: the site folder, and the error of the last build if it failed outright.

    ``out`` is the folder given with ``--out``, else the project's site_dir as of the last build that could read
    storybook.yaml (None before the first: only the error page is served)."""

    root: Path
    out: Path | None
    explicit: bool = False  # out was given (--out): storybook.yaml's site_dir does not move it
    error: str | None = None
    builds: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

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
                if on_report:
                    on_report(report, None)
            self.builds += 1


class _Handler(http.server.SimpleHTTPRequestHandler):
    preview: Preview

    def do_GET(self) -> None:
        if not self._addressed_to_us():
            return
        if self.preview.error is not None and self.path.split("?")[0] in ("/", "/index.html"):
            body = ERROR_PAGE.format(message=html.escape(self.preview.error)).encode()
            self.send_response(500)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

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
