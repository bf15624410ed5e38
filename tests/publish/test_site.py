"""storybook.publish.site: one writer owns the output folder. It gathers every file, writes them beside the site
and swaps the new site into place; it refuses to write over sources or a folder it did not make, two pages on
one path, and paths that leave the site; unchanged files are linked from the previous site, not written again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storybook.errors import PublishError
from storybook.publish.site import MARKER, SiteWriter


def _publish(out: Path, files: dict[str, str], protected: list[Path] | None = None) -> None:
    writer = SiteWriter(out, protected or [])
    for relative, content in files.items():
        writer.add(relative, content)
    writer.publish(writer.stage())


def test_the_new_site_replaces_the_old_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "site"
    _publish(out, {"index.html": "one", "a/story.html": "a", "old.html": "gone soon"})
    _publish(out, {"index.html": "two", "a/story.html": "a"})
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        MARKER, "a/story.html", "index.html"]
    assert (out / "index.html").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging or old folder is left beside it


def test_an_unchanged_file_is_linked_from_the_previous_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    _publish(out, {"same.html": "unchanged", "index.html": "v1"})
    before = (out / "same.html").stat().st_ino, (out / "index.html").stat().st_ino
    _publish(out, {"same.html": "unchanged", "index.html": "v2"})
    assert (out / "same.html").stat().st_ino == before[0]  # the same file on disk
    assert (out / "index.html").stat().st_ino != before[1] and (out / "index.html").read_text() == "v2"


def test_a_kept_file_is_carried_over_as_it_is(tmp_path: Path) -> None:
    out = tmp_path / "site"
    _publish(out, {"b/story.pdf": "%PDF old", "index.html": "v1"})
    writer = SiteWriter(out, [])
    writer.keep("b/story.pdf")
    writer.add("index.html", "v2")
    writer.publish(writer.stage())
    assert (out / "b" / "story.pdf").read_text() == "%PDF old"
    with pytest.raises(PublishError, match=r"two pages want the same path 'b/story\.pdf'"):
        writer.add("b/story.pdf", "new")


@pytest.mark.parametrize("relative", ["../escape.html", "/abs.html", "a/../../x.html"])
def test_a_path_that_leaves_the_site_is_refused(tmp_path: Path, relative: str) -> None:
    writer = SiteWriter(tmp_path / "site", [])
    with pytest.raises(PublishError, match="refusing to write outside the site"):
        writer.add(relative, "x")
    with pytest.raises(PublishError, match="refusing to keep a file outside the site"):
        writer.keep(relative)


def test_two_pages_on_one_path_are_refused(tmp_path: Path) -> None:
    writer = SiteWriter(tmp_path / "site", [])
    writer.add("a/story.html", "first")
    with pytest.raises(PublishError) as error:
        writer.add("a/story.html", "second")
    assert error.value.message == "two pages want the same path 'a/story.html'"
    assert error.value.hint == "give the stories different folder names"


def test_the_site_is_never_written_over_the_sources(tmp_path: Path) -> None:
    stories = tmp_path / "stories"
    stories.mkdir()
    for out in (tmp_path, stories, tmp_path / "stories" / ".."):
        with pytest.raises(PublishError, match="it holds the project's sources"):
            SiteWriter(out, [stories])
    SiteWriter(tmp_path / "site", [stories])  # a folder of its own is fine


def test_a_folder_storybook_did_not_make_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "handwritten.md").write_text("mine")
    writer = SiteWriter(out, [])
    writer.add("index.html", "x")
    with pytest.raises(PublishError, match="was not written by storybook; refusing to replace it"):
        writer.stage()
    assert [p.name for p in out.iterdir()] == ["handwritten.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]  # nothing staged beside it either


def test_what_a_killed_build_left_beside_the_site_is_cleared(tmp_path: Path) -> None:
    out = tmp_path / "site"
    half_written = tmp_path / ".site.new-abc"
    half_written.mkdir()
    (half_written / MARKER).write_text("")
    old = tmp_path / f".site.old-{os.getpid() + 1}"
    old.mkdir()
    someone_elses = tmp_path / ".site.new-xyz"  # not ours (no marker, not empty): kept
    someone_elses.mkdir()
    (someone_elses / "notes.txt").write_text("keep me")
    _publish(out, {"index.html": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.new-xyz", "site"]


def test_every_written_file_is_flushed_to_disk_before_the_swap(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The fsyncs run side by side (one journal commit for many files), but each written file still gets one."""
    flushed: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr("storybook.publish.site.os.fsync", recording_fsync)
    writer = SiteWriter(tmp_path / "site", [])
    for number in range(40):
        writer.add(f"charts/chart-{number}.svg", f"<svg>{number}</svg>")
    writer.add("index.html", "index")
    staging = writer.stage()
    on_disk = sorted(str(p) for p in staging.rglob("*") if p.is_file())
    assert len(on_disk) == 42  # 40 charts, the index and the marker
    assert sorted(flushed) == on_disk


def test_a_flush_that_fails_leaves_no_half_written_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("storybook.publish.site.os.fsync", full_disk)
    writer = SiteWriter(tmp_path / "site", [])
    for number in range(5):
        writer.add(f"page-{number}.html", "text")
    with pytest.raises(PublishError, match="the disk is full"):
        writer.stage()
    assert list(tmp_path.iterdir()) == []  # the staging folder is gone; no site was made
