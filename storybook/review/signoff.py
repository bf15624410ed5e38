"""Sign-offs: who signed which content of a story, appended to ``signoffs.yaml`` and never rewritten.

Each entry records the content hash (see :mod:`storybook.review.hashing`) at the time of signing. When the
story's sources or snapshot change, the hash no longer matches and the sign-off is *stale*: still shown,
never deleted, no longer counted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from storybook.errors import SourceError
from storybook.review.hashing import content_hash
from storybook.sources.yaml_loader import load_yaml

__all__ = [
    "SIGNOFF_FILE",
    "RoleStatus",
    "Signoff",
    "SignoffStatus",
    "append_signoff",
    "read_signoffs",
    "role_status",
    "signoff_status",
]

SIGNOFF_FILE = "signoffs.yaml"
_HEADER = ("# Sign-offs of this story, appended by `storybook sign`. Never edit or remove an entry:\n"
           "# a sign-off whose content_hash no longer matches the story shows as stale.\n")
_FIELDS = ("name", "role", "note", "date", "content_hash")
MAX_TEXT = 500


@dataclass(frozen=True)
class Signoff:
    name: str
    role: str
    note: str
    date: str
    content_hash: str
    line: int


@dataclass(frozen=True)
class SignoffStatus:
    """One sign-off and whether it still covers the story as it is now."""

    name: str
    role: str
    note: str
    date: str
    content_hash: str
    status: Literal["current", "stale"]
    file: Path
    line: int

    @property
    def current(self) -> bool:
        return self.status == "current"


@dataclass(frozen=True)
class RoleStatus:
    """A required role and the current sign-off that covers it (None: missing, or only stale ones)."""

    role: str
    signed_by: SignoffStatus | None
    stale: tuple[SignoffStatus, ...]


def _quoted(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: quotes, newlines and control characters escaped.
    # YAML also breaks lines at NEL, LS and PS, and ignores a BOM: escape those too.
    quoted = json.dumps(text, ensure_ascii=False)
    for char, escaped in (("\x85", "\\x85"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
                          ("\ufeff", "\\ufeff")):
        quoted = quoted.replace(char, escaped)
    return quoted


def append_signoff(story_dir: Path, *, name: str, role: str, note: str = "",
                   now: datetime | None = None) -> SignoffStatus:
    """Append a sign-off of the story's current content; earlier entries are never touched."""
    for label, value in (("name", name), ("role", role)):
        if not value.strip():
            raise SourceError(f"a sign-off needs a {label}", hint=f"pass --{label} '...'")
    for label, value in (("name", name), ("role", role), ("note", note)):
        if len(value) > MAX_TEXT:
            raise SourceError(f"the sign-off's {label} is longer than {MAX_TEXT} characters",
                              hint="shorten it; link to a longer note instead")
    read_signoffs(story_dir)  # refuse to append to a file that is already broken
    path = story_dir / SIGNOFF_FILE
    digest = content_hash(story_dir)
    date = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = (f"- name: {_quoted(name.strip())}\n  role: {_quoted(role.strip())}\n  note: {_quoted(note.strip())}\n"
             f"  date: {_quoted(date)}\n  content_hash: {_quoted(digest)}\n")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        prefix = b""
        size = os.fstat(fd).st_size
        if size == 0:
            prefix = _HEADER.encode()
        else:
            with path.open("rb") as existing:
                existing.seek(size - 1)
                if existing.read(1) != b"\n":
                    prefix = b"\n"
        os.write(fd, prefix + entry.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    line = len(path.read_text(encoding="utf-8").splitlines()) - 4
    return SignoffStatus(name.strip(), role.strip(), note.strip(), date, digest, "current", path, line)


def read_signoffs(story_dir: Path) -> list[Signoff]:
    """The sign-offs in ``signoffs.yaml`` (none when there is no file); malformed entries are located errors."""
    path = story_dir / SIGNOFF_FILE
    if not path.is_file():
        return []
    loaded = load_yaml(path)
    data = loaded.data
    if data is None:
        return []
    if not isinstance(data, list):
        raise SourceError("signoffs.yaml must be a list of sign-offs", location=loaded.location(()),
                          hint="restore it from version control; `storybook sign` appends to it")
    found = []
    for index, item in enumerate(data):
        where = loaded.location((index,))
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("name", "role",
                                                                                        "content_hash")):
            raise SourceError("a sign-off needs name, role and content_hash", location=where,
                              hint="restore the file from version control; `storybook sign` appends to it")
        unknown = sorted(set(item) - set(_FIELDS))
        if unknown:
            raise SourceError(f"unknown key {unknown[0]!r} in a sign-off", location=where,
                              hint=f"a sign-off has {', '.join(_FIELDS)}")
        found.append(Signoff(name=item["name"], role=item["role"], note=str(item.get("note") or ""),
                             date=str(item.get("date") or ""), content_hash=item["content_hash"],
                             line=where.line or 1))
    return found


def signoff_status(story_dir: Path) -> list[SignoffStatus]:
    """Every sign-off of the story, oldest first, each ``current`` or ``stale`` against today's content.

    This is what a page shows as "who signed what, and when".
    """
    path = story_dir / SIGNOFF_FILE
    signoffs = read_signoffs(story_dir)
    if not signoffs:
        return []
    digest = content_hash(story_dir)
    return [SignoffStatus(s.name, s.role, s.note, s.date, s.content_hash,
                          "current" if s.content_hash == digest else "stale", path, s.line) for s in signoffs]


def role_status(statuses: list[SignoffStatus], required_roles: list[str]) -> list[RoleStatus]:
    """For each required role (compared case-insensitively), the latest current sign-off, if any."""
    result = []
    for role in required_roles:
        matching = [s for s in statuses if s.role.casefold() == role.casefold()]
        current = [s for s in matching if s.current]
        result.append(RoleStatus(role=role, signed_by=current[-1] if current else None,
                                 stale=tuple(s for s in matching if not s.current)))
    return result
