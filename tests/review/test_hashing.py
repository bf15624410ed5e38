"""storybook.review.hashing: the content hash a sign-off is bound to, recomputed here from its documented recipe
(each file's name, length and bytes, in order of name, CRLF read as LF), and what changes it and what does not."""

from __future__ import annotations

import hashlib
from pathlib import Path

from storybook.review.hashing import HASH_PREFIX, content_files, content_hash, project_files


def _project(root: Path) -> Path:
    """A project with one story (story.yaml and two sections) and a templates folder of one file."""
    (root / "storybook.yaml").write_text("title: Stories\n")
    (root / "templates").mkdir()
    (root / "templates" / "story.html").write_text("{{ page }}\n")
    story = root / "stories" / "s"
    story.mkdir(parents=True)
    (story / "story.yaml").write_text("title: S\n")
    (story / "caveats-and-recommendations.md").write_text("Check it.\n")
    (story / "ethical-considerations.md").write_text("People decide.\n")
    (story / "signoffs.yaml").write_text("- who: Ann\n")
    return story


def _by_hand(files: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, data in sorted(files):
        digest.update(f"{len(name.encode())}:{name}\n{len(data)}:".encode() + data + b"\n")
    return HASH_PREFIX + digest.hexdigest()


def test_the_hash_follows_the_documented_recipe(tmp_path: Path) -> None:
    story = _project(tmp_path)
    assert [p.name for p in content_files(story)] == ["caveats-and-recommendations.md", "ethical-considerations.md",
                                                      "story.yaml"]  # signoffs.yaml is not content
    assert [name for name, _ in project_files(tmp_path)] == ["project:storybook.yaml", "project:templates/story.html"]
    assert content_hash(story) == _by_hand([
        ("caveats-and-recommendations.md", b"Check it.\n"), ("ethical-considerations.md", b"People decide.\n"),
        ("story.yaml", b"title: S\n"), ("project:storybook.yaml", b"title: Stories\n"),
        ("project:templates/story.html", b"{{ page }}\n")])


def test_what_changes_the_hash_and_what_does_not(tmp_path: Path) -> None:
    story = _project(tmp_path)
    signed = content_hash(story)
    (story / "signoffs.yaml").write_text("- who: Ann\n- who: Bob\n")
    assert content_hash(story) == signed  # a new sign-off does not unsign the others
    (story / "story.yaml").write_bytes(b"title: S\r\n")
    assert content_hash(story) == signed  # a Windows checkout signs the same content
    # Moving text from one file to another changes it, though the bytes put together are the same.
    (story / "caveats-and-recommendations.md").write_text("Check it.\nPeople")
    (story / "ethical-considerations.md").write_text(" decide.\n")
    assert content_hash(story) != signed
    (story / "ethical-considerations.md").write_text("People decide.\n")
    (story / "caveats-and-recommendations.md").write_text("Check it.\n")
    assert content_hash(story) == signed
    (tmp_path / "templates" / "story.html").write_text("{{ page }} \n")  # a template reaches every page
    assert content_hash(story) != signed


def test_a_templates_folder_outside_the_project_or_a_file_linked_from_outside_is_not_hashed(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    story = _project(root)
    outside = tmp_path / "secret.txt"
    outside.write_text("not the project's\n")
    (root / "templates" / "link.html").symlink_to(outside)
    assert [name for name, _ in project_files(root)] == ["project:storybook.yaml", "project:templates/story.html"]
    (root / "storybook.yaml").write_text("title: Stories\ntemplates_dir: ../elsewhere\n")
    (tmp_path / "elsewhere").mkdir()
    assert [name for name, _ in project_files(root)] == ["project:storybook.yaml"]
    assert content_hash(story).startswith(HASH_PREFIX)
