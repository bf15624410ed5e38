"""storybook.review.signoff: sign-offs appended to signoffs.yaml and never rewritten, bound to the content hash:
current while the content is what was signed, stale (still shown, no longer counted) once it changes; hostile
text stays one quoted value; a broken file is a located error, never half read.

The story folders here hold a snapshot.json file, which is what makes a story pinned (signing needs it); what
the snapshot says does not matter to signing, only its bytes (they are part of the hash).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from storybook.errors import SourceError
from storybook.review.hashing import content_hash
from storybook.review.signoff import (
    SIGNOFF_FILE,
    append_signoff,
    read_signoffs,
    role_status,
    signoff_status,
)

AT = datetime(2026, 9, 28, 14, 30, tzinfo=UTC)


def _story(root: Path, pinned: bool = True) -> Path:
    story = root / "stories" / "s"
    story.mkdir(parents=True)
    (root / "storybook.yaml").write_text("title: Stories\n")
    (story / "story.yaml").write_text("title: S\n")
    if pinned:
        (story / "snapshot.json").write_text('{"version": 1}\n')
    return story


def test_a_signoff_is_appended_with_the_content_hash_and_reads_back(tmp_path: Path) -> None:
    story = _story(tmp_path)
    first = append_signoff(story, name=" Dr A. Khan ", role="clinical lead", note="Checked the slices.", now=AT)
    second = append_signoff(story, name="B. Osei", role="Data protection", now=AT, decision="no-go",
                            reason="Wait for the audit.", recommendation="go with conditions",
                            grounds={"finds-enough": "holds", "sites-alike": "cannot tell"})
    text = (story / SIGNOFF_FILE).read_text()
    assert text.startswith("# Sign-offs of this story, appended by `storybook sign`.")
    assert (first.name, first.date, first.content_hash, first.line) == ("Dr A. Khan", "2026-09-28T14:30:00Z",
                                                                       content_hash(story), 3)
    assert second.line == 8
    back = read_signoffs(story)
    assert [(s.name, s.role, s.line) for s in back] == [("Dr A. Khan", "clinical lead", 3),
                                                         ("B. Osei", "Data protection", 8)]
    assert (back[1].decision, back[1].reason, back[1].recommendation, back[1].grounds) == (
        "no-go", "Wait for the audit.", "go with conditions", {"finds-enough": "holds", "sites-alike": "cannot tell"})
    assert [s.status for s in signoff_status(story)] == ["current", "current"]


def test_a_change_to_the_content_makes_every_earlier_signoff_stale_but_keeps_it(tmp_path: Path) -> None:
    story = _story(tmp_path)
    append_signoff(story, name="A", role="lead", now=AT)
    before = (story / SIGNOFF_FILE).read_text()
    (story / "story.yaml").write_text("title: S, changed\n")
    (status,) = signoff_status(story)
    assert (status.status, status.stale_because, status.current) == ("stale", "content changed since", False)
    append_signoff(story, name="A", role="Lead", now=AT)
    assert (story / SIGNOFF_FILE).read_text().startswith(before)  # appended, never rewritten
    (roles,) = role_status(signoff_status(story), ["LEAD"])
    assert roles.signed_by is not None and roles.signed_by.line == 8 and [s.line for s in roles.stale] == [3]
    (missing,) = role_status(signoff_status(story), ["auditor"])
    assert missing.signed_by is None and missing.stale == ()


def test_hostile_text_stays_one_quoted_value(tmp_path: Path) -> None:
    story = _story(tmp_path)
    name = 'Eve"\n- name: Mallory\n  role: admin\x85\u2028#'
    append_signoff(story, name=name, role="lead", note="\ufeff", now=AT)
    (only,) = read_signoffs(story)
    assert only.name == name.strip() and only.note == "\ufeff"  # read back exactly as given
    written = (story / SIGNOFF_FILE).read_text()
    assert len(yaml.safe_load(written)) == 1
    assert not any(char in written for char in ("\x85", "\u2028", "\ufeff"))  # written as escapes


def test_an_unpinned_story_cannot_be_signed_and_its_signoffs_never_count(tmp_path: Path) -> None:
    story = _story(tmp_path, pinned=False)
    with pytest.raises(SourceError, match="is not pinned, so it cannot be signed") as error:
        append_signoff(story, name="A", role="lead")
    assert error.value.hint is not None and "storybook pin --story s" in error.value.hint
    (story / SIGNOFF_FILE).write_text(f"- name: A\n  role: lead\n  content_hash: {content_hash(story)}\n")
    (status,) = signoff_status(story)
    assert status.status == "stale" and "not pinned" in status.stale_because


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": " "}, "a sign-off needs a name"),
    ({"role": "x" * 501}, "the sign-off's role is longer than 500 characters"),
    ({"decision": "maybe", "reason": "r"}, "a decision is one of go, no-go, go with conditions, not 'maybe'"),
    ({"decision": "go"}, "a decision needs its reason"),
])
def test_a_signoff_that_says_too_little_or_too_much_is_refused(tmp_path: Path, kwargs: dict[str, str],
                                                               message: str) -> None:
    story = _story(tmp_path)
    with pytest.raises(SourceError) as error:
        append_signoff(story, **{"name": "A", "role": "lead", **kwargs})  # type: ignore[arg-type]
    assert error.value.message == message
    assert not (story / SIGNOFF_FILE).exists()


@pytest.mark.parametrize(("text", "message", "line"), [
    ("name: A\n", "signoffs.yaml must be a list of sign-offs", 1),
    ("- name: A\n  role: lead\n", "a sign-off needs name, role and content_hash", 1),
    ("- name: A\n  role: lead\n  content_hash: x\n  signed: yes\n", "unknown key 'signed' in a sign-off", 1),
    ("- name: A\n  role: lead\n  content_hash: x\n- name: B\n  role: lead\n  content_hash: y\n  decision: yes\n",
     "a sign-off's decision must be one of go, no-go, go with conditions", 7),
    ("- name: A\n  role: lead\n  content_hash: x\n  grounds: {a: maybe}\n",
     "a sign-off's grounds map each ground's id to one of holds, fails, cannot tell", 1),
])
def test_a_broken_file_is_a_located_error_and_nothing_is_appended_to_it(tmp_path: Path, text: str, message: str,
                                                                        line: int) -> None:
    story = _story(tmp_path)
    (story / SIGNOFF_FILE).write_text(text)
    with pytest.raises(SourceError) as error:
        read_signoffs(story)
    assert error.value.message == message
    assert error.value.location is not None and error.value.location.line == line
    with pytest.raises(SourceError):
        append_signoff(story, name="A", role="lead")
    assert (story / SIGNOFF_FILE).read_text() == text
