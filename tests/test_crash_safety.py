"""A build killed with SIGKILL at any moment leaves the previous site or the new one, never a mix."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from storybook.cli import app

STORY = "breast-cancer-screening"


def _marker(site: Path) -> set[str]:
    """Which version each page of the site says it is (the marker sits in the story's prose and the title)."""
    versions = set()
    for page in ("index.html", f"{STORY}.html"):
        text = (site / page).read_text()
        versions |= {word for word in ("VERSION-A", "VERSION-B") if word in text}
    return versions


def _set_version(project: Path, version: str) -> None:
    config = project / "storybook.yaml"
    lines = [line for line in config.read_text().splitlines() if not line.startswith("title:")]
    config.write_text("\n".join([f"title: Stories {version}", *lines]) + "\n")
    story = project / "stories" / STORY / "ethical-considerations.md"
    text = story.read_text().replace("VERSION-A", "").replace("VERSION-B", "")
    story.write_text(f"{text}\n\nThis is {version}.\n")


def test_killed_builds_leave_a_whole_site(project_copy: Path) -> None:
    _set_version(project_copy, "VERSION-A")
    assert CliRunner().invoke(app, ["build", str(project_copy), "--no-pdf"]).exit_code == 0
    site = project_copy / "site"
    assert _marker(site) == {"VERSION-A"}
    files_a = sorted(p.relative_to(site) for p in site.rglob("*"))

    _set_version(project_copy, "VERSION-B")
    command = [str(Path(sys.executable).with_name("storybook")), "build", str(project_copy), "--no-pdf"]
    rng = random.Random(20261123)
    # Time a whole build once, then kill later builds at random moments within it (bounded loop).
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    duration = time.monotonic() - started
    _set_version(project_copy, "VERSION-A")
    subprocess.run(command, check=True, capture_output=True)
    seen = set()
    for attempt in range(6):
        _set_version(project_copy, "VERSION-B" if attempt % 2 == 0 else "VERSION-A")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, duration))
        process.send_signal(signal.SIGKILL)
        process.wait()
        versions = _marker(site)
        assert len(versions) == 1, f"attempt {attempt}: mixed site {versions}"
        seen |= versions
        assert sorted(p.relative_to(site) for p in site.rglob("*")) == files_a
    # Leftover staging folders from killed builds are cleared by the next build.
    final = CliRunner().invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert final.exit_code == 0, final.output
    assert not [p for p in project_copy.iterdir() if p.name.startswith(".site.")]
    assert seen  # the site was readable after every kill
