"""The example project's files, written into a folder of the user's own by ``storybook example FOLDER``.

The wheel ships them in :mod:`storybook.example_project` (in the repository, links to its own ``storybook.yaml`` and
``stories/``): the project file and each story's ``story.yaml`` and Markdown sections, nothing else (no snapshot,
no sign-offs), so a new folder gets the same project from a wheel as from a checkout; beside them the JSON Schema
their ``# yaml-language-server`` lines name (``docs/schema/``, generated as ``storybook schema`` does). A file
already there is never replaced: the whole copy is refused before anything is written.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from storybook.errors import ConfigError, Location
from storybook.sources.json_schema import SCHEMA_FILES, schema_text
from storybook.sources.loader import PROJECT_FILE

if TYPE_CHECKING:
    from collections.abc import Iterator
    from importlib.resources.abc import Traversable

__all__ = ["example_sources", "has_project", "write_example"]

STORIES = "stories"
SCHEMA_DIR = "docs/schema"


def example_sources() -> dict[PurePosixPath, bytes]:
    """The example project's files: ``storybook.yaml``, ``stories/<slug>/story.yaml`` and ``*.md``, and the JSON
    Schema of both in ``docs/schema/`` (generated), by path."""
    try:
        root = importlib.resources.files("storybook.example_project")
    except ModuleNotFoundError as error:  # pragma: no cover - an installation that lost part of the package
        raise ConfigError("this installation of storybook has no example project (storybook.example_project)",
                          hint="reinstall storybook: pip install --force-reinstall storybook-ml") from error
    files = {PurePosixPath(PROJECT_FILE): (root / PROJECT_FILE).read_bytes()}
    for story in _by_name((root / STORIES).iterdir()):
        if not story.is_dir():
            continue
        for item in _by_name(story.iterdir()):
            if item.is_file() and (item.name == "story.yaml" or item.name.endswith(".md")):
                files[PurePosixPath(STORIES, story.name, item.name)] = item.read_bytes()
    # The JSON Schema the files' `# yaml-language-server: $schema=...` lines name (as the repository has it).
    for name, file_name in SCHEMA_FILES.items():
        files[PurePosixPath(SCHEMA_DIR, file_name)] = schema_text(name).encode()
    return files


def _by_name(items: Iterator[Traversable]) -> list[Traversable]:
    return sorted(items, key=lambda item: item.name)


def has_project(folder: Path) -> bool:
    """Whether ``folder`` itself holds storybook.yaml (the example's project, trained and built again)."""
    return (folder / PROJECT_FILE).is_file()


def _project_above(folder: Path) -> Path | None:
    """The storybook.yaml of a project that ``folder`` lies inside, if any."""
    return next((above / PROJECT_FILE for above in folder.resolve().parents if (above / PROJECT_FILE).is_file()),
                None)


def write_example(folder: Path) -> list[Path]:
    """Write the example project into ``folder`` (made if missing); returns the files written, in order.

    Refuses, writing nothing, when any of them (or a folder on their way) is already there: it never replaces a
    file of the user's. Refuses a folder inside another project too (its stories or sources are no place for it).
    """
    files = example_sources()
    if folder.exists() and not folder.is_dir():
        raise ConfigError("this is a file; storybook example needs a folder to write the example project into",
                          location=Location(folder), hint="name a new or empty folder: storybook example FOLDER")
    enclosing = _project_above(folder)
    if enclosing is not None:
        raise ConfigError(
            f"{folder} is inside this project; storybook example writes the example project into a folder of its "
            "own, outside any other project",
            location=Location(enclosing),
            hint=f"name a folder outside {enclosing.parent}, or run storybook example in {enclosing.parent} to "
                 "train and build that project's example again")
    taken = [path for path in _paths_on_the_way(folder, files) if path.exists() or path.is_symlink()]
    if taken:
        more = f" (and {len(taken) - 1} more of the example's files)" if len(taken) > 1 else ""
        raise ConfigError(
            f"already exists{more}; storybook example writes the example project here (storybook.yaml and "
            f"{STORIES}/) and never replaces a file",
            location=Location(taken[0]),
            hint="run storybook example in an empty folder (storybook example NEW_FOLDER), or move these away")
    written = []
    for name, content in files.items():
        path = folder.joinpath(*name.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as handle:  # "x": fails rather than replace a file made since the check
            handle.write(content)
        written.append(path)
    return written


def _paths_on_the_way(folder: Path, files: dict[PurePosixPath, bytes]) -> list[Path]:
    """Each file to write, and each folder to make for it that is in the way when it is a file or a link."""
    paths: list[Path] = []
    for name in files:
        for depth in range(1, len(name.parts)):
            between = folder.joinpath(*name.parts[:depth])
            if between not in paths and (between.is_symlink() or (between.exists() and not between.is_dir())):
                paths.append(between)
        paths.append(folder.joinpath(*name.parts))
    return paths
