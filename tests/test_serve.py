"""``storybook serve``: the preview rebuilds on change, and a broken project shows its error on the page."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from storybook.build import BuildReport
from storybook.errors import StorybookError, UnexpectedError
from storybook.serve import preview

STORY = "breast-cancer-screening"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError("timed out waiting for the preview to rebuild")


def test_preview_rebuilds_on_change_and_shows_errors_instead_of_crashing(project_copy: Path) -> None:
    stop = threading.Event()
    ready: list[str] = []
    thread = threading.Thread(target=preview, args=(project_copy,),
                              kwargs={"port": 0, "stop": stop, "on_ready": ready.append}, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: bool(ready))
        url = ready[0]
        status, page = _get(f"{url}/{STORY}.html")
        assert status == 200 and "Ethical considerations" in page

        section = project_copy / "stories" / STORY / "ethical-considerations.md"
        section.write_text(section.read_text() + "\nA sentence added while previewing.\n")
        _wait_for(lambda: "A sentence added while previewing." in _get(f"{url}/{STORY}.html")[1])

        config = project_copy / "storybook.yaml"
        good = config.read_text()
        config.write_text(good + "\nnot_a_key: 1\n")
        _wait_for(lambda: _get(f"{url}/index.html")[0] == 500)
        status, page = _get(f"{url}/index.html")
        assert "The last build failed" in page and "unknown key &#x27;not_a_key&#x27;" in page
        assert thread.is_alive()

        config.write_text(good)
        _wait_for(lambda: _get(f"{url}/index.html")[0] == 200)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def _request(url: str, path: str, host: str | None, method: str = "GET") -> tuple[int, str]:
    """A request with exactly the Host header given (None: none at all), as a DNS-rebinding page would send."""
    port = int(url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def _start(project: Path, reports: list[tuple[BuildReport | None, StorybookError | None]] | None = None
           ) -> tuple[threading.Thread, threading.Event, str]:
    stop = threading.Event()
    ready: list[str] = []
    on_report = (lambda result, error: reports.append((result, error))) if reports is not None else None
    thread = threading.Thread(target=preview, args=(project,), daemon=True,
                              kwargs={"port": 0, "stop": stop, "on_ready": ready.append, "on_report": on_report})
    thread.start()
    _wait_for(lambda: bool(ready))
    return thread, stop, ready[0]


def test_preview_answers_only_its_own_host_lists_no_folder_and_builds_into_site_dir(project_copy: Path) -> None:
    config = project_copy / "storybook.yaml"
    assert "site_dir: site\n" in config.read_text()
    config.write_text(config.read_text().replace("site_dir: site\n", "site_dir: public\n"))
    reports: list[tuple[BuildReport | None, StorybookError | None]] = []
    thread, stop, url = _start(project_copy, reports)
    port = url.rsplit(":", 1)[1]
    try:
        # The project's site_dir, and the build says so.
        public = (project_copy / "public").resolve()
        assert (public / f"{STORY}.html").is_file() and not (project_copy / "site").exists()
        assert reports and reports[0][0] is not None and reports[0][0].out == public

        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
            status, page = _request(url, f"/{STORY}.html", host)
            assert status == 200 and "Ethical considerations" in page, host
        for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{int(port) + 1}", "127.0.0.1",
                     f"127.0.0.1.attacker.example:{port}", None):
            for path in (f"/{STORY}.html", "/", "/charts/"):
                status, page = _request(url, path, host)
                assert status == 421 and "Ethical considerations" not in page, (host, path)
            assert _request(url, f"/{STORY}.html", host, "HEAD")[0] == 421

        # No folder is listed, with or without its index; the index still serves at "/".
        for path in ("/charts/", "/assets/", "/charts/../assets/"):
            status, page = _request(url, path, f"127.0.0.1:{port}")
            assert status == 404 and "Directory listing" not in page and ".svg" not in page, path
        status, page = _request(url, "/", f"127.0.0.1:{port}")
        assert status == 200 and STORY in page
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_preview_survives_a_rebuild_that_raises_anything(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error storybook did not foresee (here a RuntimeError raised by the build, standing in for a bug) is shown
    in place of the index; the preview keeps serving the last good pages and recovers on the next good build."""
    import storybook.serve

    trigger = project_copy / "stories" / STORY / "boom.txt"
    real_build = storybook.serve.build

    def build_with_a_bug(root: Path, **options: object) -> BuildReport:
        if trigger.exists():
            raise RuntimeError("a bug \x1b[31m in the build")
        return real_build(root, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(storybook.serve, "build", build_with_a_bug)
    reports: list[tuple[BuildReport | None, StorybookError | None]] = []
    thread, stop, url = _start(project_copy, reports)
    try:
        trigger.write_text("x")
        _wait_for(lambda: _get(f"{url}/index.html")[0] == 500)
        status, page = _get(f"{url}/index.html")
        assert "unexpected error (RuntimeError) while rebuilding the preview" in page and "\x1b" not in page
        error = reports[-1][1]
        assert isinstance(error, UnexpectedError) and "RuntimeError: a bug" in error.traceback
        assert thread.is_alive()
        status, page = _get(f"{url}/{STORY}.html")  # the last good site is still there
        assert status == 200 and "Ethical considerations" in page

        trigger.unlink()
        _wait_for(lambda: _get(f"{url}/index.html")[0] == 200)
        assert reports[-1][0] is not None and reports[-1][1] is None
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
