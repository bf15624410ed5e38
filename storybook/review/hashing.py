"""The content hash a sign-off is bound to: a story's sources and its pinned snapshot.

sha256 over, in order of name: story.yaml, every ``*.md`` section, snapshot.json and the snapshot's CSV
files. Each file contributes its name (relative to the story folder), its length and its bytes, so moving
text from one file to another changes the hash. Line endings are normalised (CRLF → LF) so a checkout on
Windows signs the same content. signoffs.yaml itself is not part of the content.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from storybook.resolve.snapshot import snapshot_files

__all__ = ["HASH_PREFIX", "content_files", "content_hash"]

HASH_PREFIX = "sha256:"


def content_files(story_dir: Path) -> list[Path]:
    """The files whose content a sign-off covers, in a stable order."""
    files = [story_dir / "story.yaml"] if (story_dir / "story.yaml").is_file() else []
    files += sorted(p for p in story_dir.glob("*.md") if p.is_file())
    files += snapshot_files(story_dir)
    return sorted(files, key=lambda p: p.relative_to(story_dir).as_posix())


def content_hash(story_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in content_files(story_dir):
        name = path.relative_to(story_dir).as_posix().encode("utf-8")
        data = path.read_bytes().replace(b"\r\n", b"\n")
        digest.update(b"%d:%s\n%d:" % (len(name), name, len(data)))
        digest.update(data)
        digest.update(b"\n")
    return HASH_PREFIX + digest.hexdigest()
