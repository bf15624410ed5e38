"""Of twenty stories, the broken ones are reported with located errors and the rest build; and a build that
cannot write (a full disk, simulated with a file-size limit) loses nothing."""

from __future__ import annotations

import hashlib
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from storybook.cli import app

STORY = "breast-cancer-screening"
runner = CliRunner()


def test_twenty_stories_five_broken(project_copy: Path) -> None:
    stories = project_copy / "stories"
    breakages = {
        "story-03": ("story.yaml", "key: test_recall", "key: test_recal"),
        "story-07": ("story.yaml", "alias: champion", "alias: nobody"),
        "story-11": ("metrics.md", "{{ metric(\"test_recall\") | percent }}", "{{ metric(\"test_recall\") | shout }}"),
        "story-15": ("story.yaml", "title: Which", "titel: Which"),
        "story-19": ("story.yaml", "column: size_band", "column: size_bnad"),
    }
    for number in range(1, 21):
        slug = f"story-{number:02d}"
        shutil.copytree(stories / STORY, stories / slug)
        if slug in breakages:
            name, old, new = breakages[slug]
            path = stories / slug / name
            assert old in path.read_text()
            path.write_text(path.read_text().replace(old, new))
    shutil.rmtree(stories / STORY)
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    assert result.output.count("failed story-") == 5
    assert "15 built, 5 failed" in result.output
    for slug, (name, _, _) in breakages.items():
        assert re.search(rf"stories/{slug}/{re.escape(name)}:\d+: ", result.output), slug
        assert not (project_copy / "site" / f"{slug}.html").exists()
    site = project_copy / "site"
    built = sorted(p.stem for p in site.glob("story-*.html") if not p.name.endswith(".summary.html"))
    assert len(built) == 15 and not set(built) & set(breakages)
    assert sorted(p.name.removesuffix(".summary.html") for p in site.glob("story-*.summary.html")) == built
    assert "Traceback" not in result.output


def test_a_build_that_cannot_write_keeps_the_previous_site(project_copy: Path) -> None:
    assert runner.invoke(app, ["build", str(project_copy), "--no-pdf"]).exit_code == 0
    site = project_copy / "site"
    before = {p.relative_to(site): hashlib.sha256(p.read_bytes()).hexdigest() for p in site.rglob("*") if p.is_file()}
    sources_before = {p: p.read_bytes() for p in (project_copy / "stories").rglob("*") if p.is_file()}

    def small_files() -> None:  # every file the build writes may be at most 20 kB: it runs out of room
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    story = project_copy / "stories" / STORY / "metrics.md"
    story.write_text(story.read_text() + "\nChanged.\n")
    sources_before[story] = story.read_bytes()
    result = subprocess.run([str(Path(sys.executable).with_name("storybook")), "build", str(project_copy),
                             "--no-pdf"], capture_output=True, text=True, preexec_fn=small_files, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "could not write the new site: File too large; the previous site is untouched" in result.stderr
    assert "Traceback" not in result.stderr
    after = {p.relative_to(site): hashlib.sha256(p.read_bytes()).hexdigest() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in project_copy.iterdir() if p.name.startswith(".site.new-")]
    assert {p: p.read_bytes() for p in sources_before} == sources_before
