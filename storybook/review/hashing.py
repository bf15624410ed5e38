"""The content hash a sign-off is bound to: everything that changes what the story's reader sees.

sha256 over, in order of name:

- the story's own files: story.yaml, every ``*.md`` section, snapshot.json and the snapshot's CSV files;
- the project's files that reach every page: the whole ``storybook.yaml`` (its ``versions:``, glossary,
  wording rules, title...: simply all of it, so no setting that changes a page can be missed) and every file
  of the project's templates folder (``templates_dir``, ``templates/`` by default).

Each file contributes its name (story files relative to the story folder, project files prefixed with
``project:``), its length and its bytes, so moving text from one file to another changes the hash. Line
endings are normalised (CRLF → LF) so a checkout on Windows signs the same content. signoffs.yaml itself is
not part of the content.

A story without a pinned snapshot reads its figures from MLflow, which can change without any file changing:
such a story cannot be signed (``storybook sign`` says "pin it first"), and a sign-off of it never counts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from storybook.resolve.snapshot import snapshot_files

__all__ = ["HASH_PREFIX", "PROJECT_PREFIX", "content_files", "content_hash", "project_files"]

HASH_PREFIX = "sha256:"
PROJECT_PREFIX = "project:"
PROJECT_FILE = "storybook.yaml"
MAX_TEMPLATE_FILES = 2_000  # a templates folder is a handful of files; never walk a whole disk


def content_files(story_dir: Path) -> list[Path]:
    """The story's own files a sign-off covers, in a stable order."""
    files = [story_dir / "story.yaml"] if (story_dir / "story.yaml").is_file() else []
    files += sorted(p for p in story_dir.glob("*.md") if p.is_file())
    files += snapshot_files(story_dir)
    return sorted(files, key=lambda p: p.relative_to(story_dir).as_posix())


def _project_root(story_dir: Path) -> Path | None:
    for candidate in (story_dir.resolve(), *story_dir.resolve().parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    return None


def _templates_dir(root: Path) -> Path | None:
    """The project's templates folder as storybook.yaml names it (the default when it cannot be read)."""
    from storybook.errors import StorybookError
    from storybook.sources.loader import validate
    from storybook.sources.schema import ProjectConfig
    from storybook.sources.yaml_loader import load_yaml

    try:
        name = validate(ProjectConfig, load_yaml(root / PROJECT_FILE)).templates_dir
    except (StorybookError, OSError, ValueError):
        name = ProjectConfig.model_fields["templates_dir"].default
    folder = (root / name).resolve()
    if not folder.is_relative_to(root) or not folder.is_dir():
        return None  # outside the project it is refused by the build; absent means the shipped defaults
    return folder


def project_files(root: Path) -> list[tuple[str, Path]]:
    """The project's files that reach every page: storybook.yaml and the templates folder, named for hashing."""
    root = root.resolve()
    files = [(PROJECT_PREFIX + PROJECT_FILE, root / PROJECT_FILE)] if (root / PROJECT_FILE).is_file() else []
    folder = _templates_dir(root)
    if folder is None:
        return files
    found: list[tuple[str, Path]] = []
    for path in sorted(folder.rglob("*")):
        if len(found) >= MAX_TEMPLATE_FILES:
            break
        real = path.resolve()
        if real.is_relative_to(root) and real.is_file():
            found.append((PROJECT_PREFIX + path.relative_to(root).as_posix(), path))
    return files + found


def content_hash(story_dir: Path, project_root: Path | None = None) -> str:
    """The hash of the story's content and of the project files that reach its page (see the module text).

    ``project_root`` defaults to the nearest folder above the story holding storybook.yaml.
    """
    root = project_root if project_root is not None else _project_root(story_dir)
    named = [(p.relative_to(story_dir).as_posix(), p) for p in content_files(story_dir)]
    if root is not None:
        named += project_files(root)
    digest = hashlib.sha256()
    for name, path in sorted(named, key=lambda item: item[0]):
        encoded = name.encode("utf-8")
        data = path.read_bytes().replace(b"\r\n", b"\n")
        digest.update(b"%d:%s\n%d:" % (len(encoded), encoded, len(data)))
        digest.update(data)
        digest.update(b"\n")
    return HASH_PREFIX + digest.hexdigest()
