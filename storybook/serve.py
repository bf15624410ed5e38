"""``storybook serve``: preview the site on 127.0.0.1 and rebuild when a source changes.

A rebuild that fails never stops the server: story errors appear on the index as usual, and a project-wide
error (a broken storybook.yaml) is shown on the page in place of the index until it is fixed.
"""

from __future__ import annotations

import functools
import html
import http.server
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from storybook.build import BuildReport, build
from storybook.errors import StorybookError
from storybook.sources.loader import find_project_root

__all__ = ["Preview", "preview"]

ERROR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Build failed</title></head>
<body><main><h1>The last build failed</h1><pre>{message}</pre>
<p>Fix the file named above and save it; this page updates on the next successful build.</p></main></body></html>"""


@dataclass
class Preview:
    """What the server shows: the site folder, and the error of the last build if it failed outright."""

    root: Path
    out: Path
    error: str | None = None
    builds: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rebuild(self, on_report: Callable[[BuildReport | None, StorybookError | None], None] | None = None) -> None:
        with self.lock:
            try:
                report = build(self.root, out=self.out, pdf=False)
            except StorybookError as error:
                self.error = str(error)
                if on_report:
                    on_report(None, error)
            else:
                self.error = None
                if on_report:
                    on_report(report, None)
            self.builds += 1


class _Handler(http.server.SimpleHTTPRequestHandler):
    preview: Preview

    def do_GET(self) -> None:
        if self.preview.error is not None and self.path.split("?")[0] in ("/", "/index.html"):
            body = ERROR_PAGE.format(message=html.escape(self.preview.error)).encode()
            self.send_response(500)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        # Serve from the site as it is now: the folder is swapped atomically on every build.
        self.directory = str(self.preview.out)
        super().do_GET()

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
    """Build, serve on 127.0.0.1:``port`` and rebuild on every change until ``stop`` is set."""
    from watchfiles import watch

    root = find_project_root(project)
    state = Preview(root=root, out=(out or root / "site").resolve())
    state.rebuild(on_report)
    handler = type("Handler", (_Handler,), {"preview": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler,
                                                                                   directory=str(state.out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if on_ready:
        on_ready(f"http://127.0.0.1:{server.server_address[1]}")
    stop = stop or threading.Event()
    try:
        site = state.out
        for changes in watch(*_watched(root), stop_event=stop, debounce=200, rust_timeout=500):
            if all(Path(path).is_relative_to(site) for _, path in changes):
                continue
            state.rebuild(on_report)
    finally:
        server.shutdown()
        server.server_close()
