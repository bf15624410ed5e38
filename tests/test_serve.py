"""``storybook serve``: the preview rebuilds on change, and a broken project shows its error on the page."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

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
