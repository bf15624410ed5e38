"""Every file storybook writes for its users follows the umask, like any file the user writes: the site and
its folders, PDFs, the pinned snapshot and its CSV files, sign-offs and the build caches. A file written with
:mod:`tempfile` is private (0600) unless storybook says otherwise."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.files import file_mode, folder_mode, umask

STORY = "breast-cancer-screening"
runner = CliRunner()


@pytest.fixture
def group_writable() -> Iterator[None]:
    """umask 002 (a common one for shared project folders): files 0664, folders 0775, neither 0600 nor 0644."""
    previous = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(folder: Path) -> dict[str, int]:
    return {path.relative_to(folder).as_posix(): stat.S_IMODE(path.stat().st_mode)
            for path in [folder, *folder.rglob("*")]}


def test_the_umask_is_read_without_changing_it(group_writable: None) -> None:
    assert umask() == 0o002 and umask() == 0o002
    assert (file_mode(), folder_mode()) == (0o664, 0o775)


def test_site_pdfs_snapshot_signoffs_and_caches_follow_the_umask(project_copy: Path, group_writable: None) -> None:
    result = runner.invoke(app, ["pin", str(project_copy)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sign", STORY, "--name", "Ada", "--role", "clinical lead", "-p", str(project_copy)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["build", str(project_copy), "--pdf", "--jobs", "1"])
    assert result.exit_code == 0, result.output

    story = project_copy / "stories" / STORY
    written = {name: mode for name, mode in _modes(story).items()
               if name == "snapshot.json" or name.startswith("snapshot") or name == "signoffs.yaml"}
    assert "snapshot.json" in written and "signoffs.yaml" in written
    assert any(name.endswith(".csv") for name in written)
    site = _modes(project_copy / "site")
    assert {".", "index.html", f"{STORY}.html", f"{STORY}.pdf", f"{STORY}.summary.pdf", "assets/style.css",
            "charts"} <= set(site)
    # The caches storybook writes (pages, charts, PDFs; not the artifacts MLflow downloads as they were).
    cache = {f"{part}/{name}": mode for part in ("pages", "charts", "pdfs")
             for name, mode in _modes(project_copy / ".storybook" / "cache" / part).items()}
    assert any(name.endswith(".pdf") for name in cache) and any(name.endswith(".svg") for name in cache)
    assert any(name.endswith(".json.z") for name in cache)
    for place, modes in (("story", written), ("site", site), ("cache", cache)):
        for name, mode in modes.items():
            is_folder = (project_copy / {"story": f"stories/{STORY}", "site": "site",
                                         "cache": ".storybook/cache"}[place] / name).is_dir()
            assert mode == (0o775 if is_folder else 0o664), f"{place}: {name} is {oct(mode)}"

    # A snapshot an earlier storybook wrote private (0600) follows the umask once pinned again.
    (story / "snapshot.json").chmod(0o600)
    assert runner.invoke(app, ["pin", str(project_copy)]).exit_code == 0
    assert stat.S_IMODE((story / "snapshot.json").stat().st_mode) == 0o664
