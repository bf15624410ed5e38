"""Writing the files of ``init`` and ``new``: all of them or none, never over a file that exists."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from storybook.errors import FilesExistError, Location

__all__ = ["SCHEMA_DIR", "schema_files", "schema_line", "write_new_files"]

# Where `storybook schema` writes the JSON Schema of storybook.yaml and story.yaml, relative to the project.
SCHEMA_DIR = "docs/schema"


def schema_line(schema: str, depth: int = 0) -> str:
    """The comment that lets editors (the YAML language server) validate and complete a file against ``schema``
    (``storybook`` or ``story``); ``depth``: how many folders below the project root the file is."""
    return f"# yaml-language-server: $schema={'../' * depth}{SCHEMA_DIR}/{schema}.schema.json\n"


def schema_files() -> dict[str, str]:
    """The JSON Schema of storybook.yaml and story.yaml, by path relative to the project (as `storybook schema`
    writes them)."""
    from storybook.sources.json_schema import SCHEMA_FILES, schema_text

    return {f"{SCHEMA_DIR}/{file_name}": schema_text(name) for name, file_name in SCHEMA_FILES.items()}


def write_new_files(root: Path, files: Mapping[str, str], *, doing: str) -> list[Path]:
    """Write ``files`` (relative path -> text) under ``root``; when any of them exists, write none and say which
    exist. Returns the written paths, in the order given."""
    targets = {relative: root / relative for relative in files}
    existing = [relative for relative, path in targets.items() if path.exists() or path.is_symlink()]
    if existing:
        shown = ", ".join(existing[:10]) + (f" and {len(existing) - 10} more" if len(existing) > 10 else "")
        raise FilesExistError(f"{doing} would replace files that exist: {shown}; nothing was written",
                              location=Location(targets[existing[0]]),
                              hint="move or delete them first, or choose another folder or name")
    written: list[Path] = []
    for relative, text in files.items():
        path = targets[relative]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="\n") as handle:  # "x": never replace, even in a race
            handle.write(text)
        written.append(path)
    return written
