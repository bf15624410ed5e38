"""Sign-offs: who signed which content of a story, appended to ``signoffs.yaml`` and never rewritten.

Each entry records the content hash (see :mod:`storybook.review.hashing`) at the time of signing. When the
story's sources or snapshot change, or the project's storybook.yaml or templates (they reach every page), the
hash no longer matches and the sign-off is *stale*: still shown, never deleted, no longer counted. A story
without a pinned snapshot cannot be signed (its figures come from MLflow and can change with no file
changing); a sign-off found in such a story is stale.

What a sign-off proves: that whoever added the entry had this exact content in front of them. It does not
prove who that was: anyone can type a name. Bind it to a person through version control (the commit that
adds the entry signed by, or authored by, that person; CODEOWNERS on signoffs.yaml), see docs/review.md.

A story with a ``decision:`` section also records, in each sign-off, the computed recommendation and each
ground's outcome at the time (``recommendation``, ``grounds``), so ``check`` and the page can say when the
grounds have changed since. A person may record a decision of their own with a reason (``decision``,
``reason``: ``storybook sign --decision ... --reason ...``); bound to the content hash like the rest of the
sign-off, it is shown next to the computed recommendation, and goes stale with the content.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from storybook.errors import Location, SourceError
from storybook.resolve.source import is_pinned
from storybook.review.hashing import content_hash
from storybook.sources.yaml_loader import load_yaml

__all__ = [
    "DECISIONS",
    "SIGNOFF_FILE",
    "RoleStatus",
    "Signoff",
    "SignoffStatus",
    "append_signoff",
    "read_signoffs",
    "require_pinned",
    "role_status",
    "signoff_status",
]

SIGNOFF_FILE = "signoffs.yaml"
_HEADER = ("# Sign-offs of this story, appended by `storybook sign`. Never edit or remove an entry:\n"
           "# a sign-off whose content_hash no longer matches the story shows as stale.\n")
_FIELDS = ("name", "role", "note", "date", "content_hash", "decision", "reason", "recommendation", "grounds")
MAX_TEXT = 500
# What a person may decide (storybook's own recommendation may also be "cannot decide").
DECISIONS = ("go", "no-go", "go with conditions")
_RECOMMENDATIONS = (*DECISIONS, "cannot decide")
_OUTCOMES = ("holds", "fails", "cannot tell")


@dataclass(frozen=True)
class Signoff:
    name: str
    role: str
    note: str
    date: str
    content_hash: str
    line: int
    decision: str = ""
    reason: str = ""
    recommendation: str = ""
    grounds: dict[str, str] = field(default_factory=dict)


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
    decision: str = ""
    reason: str = ""
    recommendation: str = ""
    grounds: dict[str, str] = field(default_factory=dict)
    stale_because: str = ""  # why a stale sign-off no longer counts, in a phrase

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


def require_pinned(story_dir: Path) -> None:
    """Refuse to sign a story without a pinned snapshot: MLflow could change its figures with no file changing."""
    if not is_pinned(story_dir):
        raise SourceError(f"story {story_dir.name!r} is not pinned, so it cannot be signed: its figures come "
                          "from MLflow and can change without any file changing, and a sign-off would no longer "
                          "cover what readers see", location=Location(story_dir / "story.yaml"),
                          hint=f"pin it first: `storybook pin --story {story_dir.name}`, review and commit "
                          "snapshot.json, then sign")


def append_signoff(story_dir: Path, *, name: str, role: str, note: str = "", now: datetime | None = None,
                   decision: str = "", reason: str = "", recommendation: str = "",
                   grounds: Mapping[str, str] | None = None) -> SignoffStatus:
    """Append a sign-off of the story's current content; earlier entries are never touched.

    ``recommendation`` and ``grounds`` are the computed decision at signing; ``decision`` and ``reason`` a
    person's own decision (one of :data:`DECISIONS`), which needs a reason.
    """
    for label, value in (("name", name), ("role", role)):
        if not value.strip():
            raise SourceError(f"a sign-off needs a {label}", hint=f"pass --{label} '...'")
    for label, value in (("name", name), ("role", role), ("note", note), ("reason", reason)):
        if len(value) > MAX_TEXT:
            raise SourceError(f"the sign-off's {label} is longer than {MAX_TEXT} characters",
                              hint="shorten it; link to a longer note instead")
    if decision and decision not in DECISIONS:
        raise SourceError(f"a decision is one of {', '.join(DECISIONS)}, not {decision!r}",
                          hint="pass --decision go, --decision no-go or --decision go-with-conditions")
    if decision and not reason.strip():
        raise SourceError("a decision needs its reason", hint="pass --reason '...': why, in a sentence or two")
    if recommendation and recommendation not in _RECOMMENDATIONS:
        raise ValueError(f"not a recommendation: {recommendation!r}")
    if grounds and any(outcome not in _OUTCOMES for outcome in grounds.values()):
        raise ValueError(f"a ground's outcome is one of {', '.join(_OUTCOMES)}")
    require_pinned(story_dir)
    read_signoffs(story_dir)  # refuse to append to a file that is already broken (or a link)
    path = _signoff_path(story_dir)
    digest = content_hash(story_dir)
    date = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = (f"- name: {_quoted(name.strip())}\n  role: {_quoted(role.strip())}\n  note: {_quoted(note.strip())}\n"
             f"  date: {_quoted(date)}\n  content_hash: {_quoted(digest)}\n")
    if decision:
        entry += f"  decision: {_quoted(decision)}\n  reason: {_quoted(reason.strip())}\n"
    if recommendation:
        entry += f"  recommendation: {_quoted(recommendation)}\n"
    if grounds:
        entry += "  grounds: {" + ", ".join(f"{_quoted(k)}: {_quoted(v)}" for k, v in grounds.items()) + "}\n"
    # O_NOFOLLOW: a link put there after the check above is refused too, never written through
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)  # less the umask
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
    line = len(path.read_text(encoding="utf-8").splitlines()) - entry.count("\n") + 1
    return SignoffStatus(name.strip(), role.strip(), note.strip(), date, digest, "current", path, line,
                         decision, reason.strip(), recommendation, dict(grounds or {}))


def _signoff_path(story_dir: Path) -> Path:
    """The story's signoffs.yaml, refused when it is a link: one added in a pull request could point anywhere,
    and ``storybook sign`` would append to that file (or create it) outside the project."""
    path = story_dir / SIGNOFF_FILE
    if path.is_symlink():
        raise SourceError(f"{SIGNOFF_FILE} is a link; storybook reads sign-offs from, and appends them to, a "
                          "file in the story's folder only", location=Location(path),
                          hint="replace the link with the file itself")
    return path


def read_signoffs(story_dir: Path) -> list[Signoff]:
    """The sign-offs in ``signoffs.yaml`` (none when there is no file); malformed entries are located errors."""
    path = _signoff_path(story_dir)
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
        decided = _decision_fields(item, loaded.location((index, "decision")))
        found.append(Signoff(name=item["name"], role=item["role"], note=str(item.get("note") or ""),
                             date=str(item.get("date") or ""), content_hash=item["content_hash"],
                             line=where.line or 1, **decided))
    return found


def _decision_fields(item: dict[str, object], where: Location) -> dict[str, Any]:
    """The optional decision keys of one entry, checked: a broken entry is an error, never half read."""
    hint = "restore the file from version control; `storybook sign` appends to it"
    texts = {}
    for key, allowed in (("decision", DECISIONS), ("reason", None), ("recommendation", _RECOMMENDATIONS)):
        value = item.get(key)
        if value is None:
            texts[key] = ""
            continue
        if not isinstance(value, str) or (allowed is not None and value not in allowed):
            raise SourceError(f"a sign-off's {key} must be " + (f"one of {', '.join(allowed)}" if allowed
                                                                else "text"), location=where, hint=hint)
        texts[key] = value
    grounds = item.get("grounds")
    if grounds is None:
        grounds = {}
    if not isinstance(grounds, dict) or not all(isinstance(k, str) and v in _OUTCOMES for k, v in grounds.items()):
        raise SourceError(f"a sign-off's grounds map each ground's id to one of {', '.join(_OUTCOMES)}",
                          location=where, hint=hint)
    return {**texts, "grounds": dict(grounds)}


def signoff_status(story_dir: Path) -> list[SignoffStatus]:
    """Every sign-off of the story, oldest first, each ``current`` or ``stale`` against today's content.

    This is what a page shows as "who signed what, and when".
    """
    path = story_dir / SIGNOFF_FILE
    signoffs = read_signoffs(story_dir)
    if not signoffs:
        return []
    digest = content_hash(story_dir)
    pinned = is_pinned(story_dir)

    def why(signoff: Signoff) -> str:
        if not pinned:
            return "the story is not pinned, so its figures can change in MLflow without any file changing"
        return "" if signoff.content_hash == digest else "content changed since"

    return [SignoffStatus(s.name, s.role, s.note, s.date, s.content_hash, "stale" if why(s) else "current", path,
                          s.line, s.decision, s.reason, s.recommendation, s.grounds, why(s)) for s in signoffs]


def role_status(statuses: list[SignoffStatus], required_roles: list[str]) -> list[RoleStatus]:
    """For each required role (compared case-insensitively), the latest current sign-off, if any."""
    result = []
    for role in required_roles:
        matching = [s for s in statuses if s.role.casefold() == role.casefold()]
        current = [s for s in matching if s.current]
        result.append(RoleStatus(role=role, signed_by=current[-1] if current else None,
                                 stale=tuple(s for s in matching if not s.current)))
    return result
