"""Reviewing a story like code, end to end through the CLI, in a real git repository.

Version 1 is the example as pinned (champion, model version 1) and signed by the roles the story requires.
Version 2 points the story at the challenger (version 2 of the really trained model), re-pins it and
changes the prose. diff, check, sign-off status and the review comment are checked against both.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from storybook.cli import app
from storybook.review.comment import GITHUB_LIMIT, REVIEW_MARKER, review_comment
from storybook.review.safe import escape_markdown
from storybook.review.signoff import signoff_status
from tests.stores import copy_project

from .conftest import STORY

runner = CliRunner()
ROLES = ["clinical lead", "data protection"]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=test@example.org",
                           "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, check=True)
    return done.stdout


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@dataclass
class Repo:
    root: Path     # the git repository
    project: Path  # the storybook project inside it
    story: Path
    old_recall: float
    new_recall: float


@pytest.fixture(scope="module")
def two_versions(pinned_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("repo")
    project = root / "docs" / "stories-project"  # the project need not be at the repository's top
    copy_project(pinned_project, project)
    (root / ".gitignore").write_text("mlflow/\n.storybook/\nsite/\n")
    story = project / "stories" / STORY
    story_file = story / "story.yaml"
    story_file.write_text(story_file.read_text() + "signoffs:\n  required_roles:\n"
                          + "".join(f"    - {role}\n" for role in ROLES))
    _git(root, "init", "-q", "-b", "main")
    old_recall = json.loads((story / "snapshot.json").read_text())["resolved"]["run"]["metrics"][
        "test_recall"]["value"]
    for role, name in zip(ROLES, ["Dr. Amara Okafor", "Sam Lee"], strict=True):
        _invoke("sign", STORY, "--name", name, "--role", role, "--project", str(project))
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "v1: champion, signed")

    data = yaml.safe_load(story_file.read_text())
    data["model"] = {"name": "breast-cancer-screening", "alias": "challenger"}
    # The challenger logged no production series; the trust report, the claims on its histories and the
    # decision brief and the model history (which compare with the challenger) go with them.
    for champion_only in ("series", "trust", "claims", "decision", "history"):
        data.pop(champion_only, None)
    story_file.write_text(yaml.safe_dump(data, sort_keys=False))
    for section in story.glob("*.md"):
        section.write_text(re.sub(r' ?\{\{ claim\("[a-z-]+"\) \}\}', "", section.read_text()))
    metrics = story / "metrics.md"
    assert "the worst mistake" in metrics.read_text()
    metrics.write_text(metrics.read_text().replace("the worst mistake", "the gravest mistake"))
    _invoke("pin", str(project), "--story", STORY)
    new_recall = json.loads((story / "snapshot.json").read_text())["resolved"]["run"]["metrics"][
        "test_recall"]["value"]
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "v2: challenger")
    return Repo(root, project, story, old_recall, new_recall)


def test_diff_between_revisions_shows_numbers_old_to_new_and_the_word_diff(two_versions: Repo) -> None:
    before = _git(two_versions.root, "status", "--porcelain")
    text = _invoke("diff", "HEAD~1", "HEAD", "--project", str(two_versions.project))
    assert "model version: breast-cancer-screening v1 → breast-cancer-screening v2" in text
    assert "model aliases: champion → challenger" in text
    old, new = (f"{v:.4g}" for v in (two_versions.old_recall, two_versions.new_recall))
    assert old != new
    line = next(line for line in text.splitlines() if "(test_recall)" in line)
    assert f"Malignant tumours found (test_recall): {old} → {new}" in line
    assert re.search(r"(within|larger than) its uncertainty", line)
    assert "lowest-cost threshold:" in text
    assert "[-worst-] {+gravest+}" in text
    # Reading the revisions changed nothing in the work tree.
    assert _git(two_versions.root, "status", "--porcelain") == before

    markdown = _invoke("diff", "HEAD~1", "HEAD", "--project", str(two_versions.project), "--format", "markdown")
    assert "~~worst~~ **gravest**" in markdown
    assert (f"| Malignant tumours found \\(test\\_recall\\) | {escape_markdown(old)} | {escape_markdown(new)} |"
            in markdown)
    page = _invoke("diff", "HEAD~1", "HEAD", "--project", str(two_versions.project), "--format", "html")
    assert page.startswith("<!doctype html>") and "<del>worst</del> <ins>gravest</ins>" in page
    assert "<script" not in page and "http" not in page.split("</head>")[1]


def test_diff_of_two_snapshot_files(two_versions: Repo, tmp_path: Path) -> None:
    # The old snapshot and its tables, as committed, in a folder of their own.
    inside = f"docs/stories-project/stories/{STORY}"
    archive = subprocess.run(["git", "-C", str(two_versions.root), "archive", "HEAD~1", f"{inside}/snapshot.json",
                              f"{inside}/snapshot"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_path / "old", filter="data")
    old = tmp_path / "old" / inside / "snapshot.json"
    text = _invoke("diff", str(old), str(two_versions.story / "snapshot.json"))
    assert f"metric test_recall: {two_versions.old_recall:.4g} → {two_versions.new_recall:.4g}" in text
    assert "model version: breast-cancer-screening v1 → breast-cancer-screening v2" in text


def test_unknown_revision_is_a_usage_error(two_versions: Repo) -> None:
    result = runner.invoke(app, ["diff", "no-such-branch", "HEAD", "--project", str(two_versions.project)])
    assert result.exit_code == 2
    assert "'no-such-branch' is not a commit" in result.output
    result = runner.invoke(app, ["diff", "--upload-pack=touch x", "HEAD", "--project", str(two_versions.project)])
    assert result.exit_code == 2


def test_signoffs_go_stale_and_check_fails_with_located_errors(two_versions: Repo) -> None:
    statuses = signoff_status(two_versions.story)
    assert [(s.role, s.status) for s in statuses] == [("clinical lead", "stale"), ("data protection", "stale")]
    result = runner.invoke(app, ["check", str(two_versions.project), "--format", "github"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    missing = [line for line in lines if "signoff-missing" in line]
    assert len(missing) == 2 and all(line.startswith("::error file=") and "story.yaml,line=" in line
                                     for line in missing)
    assert any("only a stale sign-off (by Dr. Amara Okafor" in line for line in missing)
    assert sum("signoff-stale" in line and line.startswith("::warning") for line in lines) == 2
    # At version 1 the same sign-offs were current: the content is what they are bound to.
    old = Path(str(two_versions.root) + "-v1")
    if not old.exists():
        old.mkdir()
        subprocess.run(f"git -C {two_versions.root} archive HEAD~1 | tar -x -C {old}", shell=True, check=True)
    old_story = old / "docs" / "stories-project" / "stories" / STORY
    assert [s.status for s in signoff_status(old_story)] == ["current", "current"]


def test_review_comment_has_every_section(two_versions: Repo) -> None:
    body = _invoke("review", "--base", "HEAD~1", "--project", str(two_versions.project),
                   "--site-url", "https://example.org/site")
    assert body.startswith(f"{REVIEW_MARKER}\n## 📖 storybook review")  # the marker the workflow finds it by
    assert "**Checks:** ❌ 2 errors" in body
    assert "**Changes:** 1 of 1 stories changed." in body
    assert "[page](https://example.org/site/breast-cancer-screening.html)" in body
    assert "numbers changed" in body and "Malignant tumours found" in body
    # metrics.md (the word, and its claims) and caveats-and-recommendations.md (its claim) changed.
    assert "<details><summary>Prose changes: 2 sections" in body and "~~worst~~ **gravest**" in body
    assert "| breast-cancer-screening | clinical lead | Dr. Amara Okafor |" in body
    assert "⚠️ stale (content changed since)" in body
    assert "❌ required, not signed for this content" in body
    assert len(body) < GITHUB_LIMIT and "Cut to stay under" not in body


def _hostile_commit(two_versions: Repo, tmp_path: Path, text: str) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(two_versions.root), str(clone)], check=True)
    project = clone / "docs" / "stories-project"
    shutil.copytree(two_versions.project / "mlflow", project / "mlflow")
    caveats = project / "stories" / STORY / "caveats-and-recommendations.md"
    caveats.write_text(caveats.read_text() + text)
    _git(clone, "commit", "-q", "-am", "hostile prose")
    return project


def test_review_neutralises_html_mentions_and_workflow_commands(two_versions: Repo, tmp_path: Path) -> None:
    hostile = ("\n\n<script>alert('x')</script> Ping @team and @octo-org/admins.\n"
               "::set-output name=pwned::yes\n::error::fake\n<!-- hidden instructions -->\n"
               "[click](javascript:alert(1)) ![img](https://evil.example/x.png) <img src=x onerror=alert(1)>\n")
    project = _hostile_commit(two_versions, tmp_path, hostile)
    body = _invoke("review", "--base", "HEAD~1", "--project", str(project))
    # The only HTML comment is storybook's own marker, first: story text cannot forge the one the workflow finds.
    assert body.startswith(REVIEW_MARKER + "\n") and body.count("<!--") == 1
    assert "<script" not in body and "<img" not in body
    assert "&lt;script&gt;" in body
    assert "hidden instructions" not in body
    assert "@team" not in body and "@\u200dteam" in body and "@\u200docto-org" in body
    assert "](javascript" not in body and "![img](" not in body
    for line in body.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "set-output" in body  # shown as text, not dropped
    text = _invoke("diff", "HEAD~1", "HEAD", "--project", str(project))
    assert all(not line.lstrip().startswith("::") for line in text.splitlines())
    page = _invoke("diff", "HEAD~1", "HEAD", "--project", str(project), "--format", "html")
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    markdown = _invoke("diff", "HEAD~1", "HEAD", "--project", str(project), "--format", "markdown")
    assert "<script" not in markdown and "@team" not in markdown


def test_review_stays_under_the_limit_with_a_huge_prose_change_and_says_what_was_cut(
        two_versions: Repo, tmp_path: Path) -> None:
    words = " ".join(f"word{i}" for i in range(15_000))  # ~110,000 characters: under the 200 kB section cap
    project = _hostile_commit(two_versions, tmp_path, "\n\n" + words + "\n")
    body = review_comment(project, "HEAD~1")
    assert len(body) < GITHUB_LIMIT
    assert "cut here:" in body  # the section itself was cut, with how much is left
    assert "storybook diff" in body
    # A tight budget forces whole parts out, and the note names them.
    small = review_comment(project, "HEAD~1", budget=6_000)
    assert len(small) < 8_000
    assert "**Cut to stay under GitHub's 65,536-character limit:** the prose changes of breast-cancer-screening" \
        in small
    assert "**Sign-offs**" in small or "sign-off table" in small
