"""``storybook serve``: the preview rebuilds on change, and a broken project shows its error on the page."""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from storybook.build import BuildReport
from storybook.errors import StorybookError, UnexpectedError
from storybook.serve import preview
from tests.conftest import copy_example_story

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


def _build_number(page: str) -> int:
    found = re.search(r'<script src="/__storybook/reload\.js" data-build="(\d+)"></script></body>', page)
    assert found is not None, page[-300:]
    return int(found.group(1))


def test_served_pages_reload_after_a_rebuild_and_the_site_on_disk_stays_free_of_scripts(project_copy: Path) -> None:
    thread, stop, url = _start(project_copy)
    try:
        status, page = _get(f"{url}/{STORY}.html")
        assert status == 200 and _build_number(page) == 1
        assert "script-src 'self'" in page and "script-src 'none'" not in page
        on_disk = (project_copy / "site" / f"{STORY}.html").read_text()
        assert "<script" not in on_disk and "script-src 'none'" in on_disk
        assert "The last build failed" not in page
        status, script = _get(f"{url}/__storybook/reload.js")
        assert status == 200 and 'fetch("/__storybook/build?seen=" + seen' in script and "location.reload()" in script

        # The page's question "a build since mine?" is answered when the rebuild after an edit finishes.
        answers: list[tuple[int, str]] = []
        asking = threading.Thread(target=lambda: answers.append(_get(f"{url}/__storybook/build?seen=1")))
        asking.start()
        time.sleep(0.5)
        assert not answers  # held open: nothing was built since
        section = project_copy / "stories" / STORY / "ethical-considerations.md"
        section.write_text(section.read_text() + "\nA sentence added while previewing.\n")
        asking.join(timeout=60)
        assert answers == [(200, "2")]
        status, page = _get(f"{url}/{STORY}.html")
        assert "A sentence added while previewing." in page and _build_number(page) == 2
    finally:
        stop.set()
        thread.join(timeout=30)


def test_a_failed_rebuild_shows_its_located_error_on_the_pages_it_leaves_behind(project_copy: Path) -> None:
    copy_example_story(project_copy, "second-story")
    thread, stop, url = _start(project_copy)
    story_yaml = project_copy / "stories" / STORY / "story.yaml"
    good = story_yaml.read_text()
    try:
        story_yaml.write_text(good.replace("owner: Screening analytics team\n",
                                           "owner: Screening analytics team\nownr: a misspelt key\n", 1))
        line = good[:good.index("owner: Screening")].count("\n") + 2
        _wait_for(lambda: "The last build failed" in _get(f"{url}/{STORY}.html")[1])
        status, page = _get(f"{url}/{STORY}.html")
        assert status == 200 and f"story.yaml:{line}" in page and "ownr" in page
        assert "The last build failed" in _get(f"{url}/{STORY}.summary.html")[1]
        assert "The last build failed" not in _get(f"{url}/second-story.html")[1]  # its own story built

        config = project_copy / "storybook.yaml"
        config_text = config.read_text()
        config.write_text(config_text + "\nnot_a_key: 1\n")
        _wait_for(lambda: _get(f"{url}/index.html")[0] == 500)
        status, page = _get(f"{url}/second-story.html")  # a project-wide error: on every page
        assert status == 200 and "The last build failed" in page and "not_a_key" in page
        assert 'src="/__storybook/reload.js"' in _get(f"{url}/index.html")[1]  # the error page reloads too

        config.write_text(config_text)
        story_yaml.write_text(good)
        _wait_for(lambda: "The last build failed" not in _get(f"{url}/{STORY}.html")[1])
        assert _get(f"{url}/index.html")[0] == 200
        assert "The last build failed" not in _get(f"{url}/second-story.html")[1]
    finally:
        stop.set()
        thread.join(timeout=30)
