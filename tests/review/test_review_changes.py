"""Review shows every change a reader would see, in a real git repository (issue 17 class 8, issue 24 classes 6
and 7): the recommendation flipping, a changed cost assumption and capacity (the inputs, not only their effect),
a claim that stops holding, a trust level that moves, a removed "no-go" sign-off, template and storybook.yaml
changes; a diff against the work tree; sign-offs that go stale when the project's settings or templates change;
and ``check`` catching, offline, the errors the build would hit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.review.safe import escape_markdown
from storybook.review.signoff import signoff_status
from tests.stores import copy_project

from .conftest import STORY

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=test@example.org",
                           "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, check=True)
    return done.stdout


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@dataclass
class Repo:
    root: Path
    story: Path
    levels: tuple[dict[str, str], dict[str, str]]  # each trust area's level in version 1 and version 2


def _levels(project: Path) -> dict[str, str]:
    """The trust levels the real analysis gives the pinned story."""
    from storybook.analyse.story import analyse_story
    from storybook.resolve.snapshot import SnapshotSource
    from storybook.sources.loader import StorySource, load_project

    [story] = load_project(project).stories
    assert isinstance(story, StorySource)
    trust = analyse_story(story, SnapshotSource().resolve(story)).trust
    assert trust is not None
    return {level.area: level.level.label for level in trust.levels}


# The edits of version 2, each a change a reader of the page would see.
PRODUCTION_STEADY_CONDITION = """      required: false
      condition: >-
        Fix the scanner feed that reports tumour areas in other units since 29 September, and see the
        average predicted chance back within its guardrails, before switching.
"""


@pytest.fixture(scope="module")
def repo(pinned_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("changes") / "project"
    copy_project(pinned_project, root)
    (root / ".gitignore").write_text("mlflow/\n.storybook/\nsite/\n")
    story = root / "stories" / STORY
    _git(root, "init", "-q", "-b", "main")
    # A person's "no-go", on the content of version 1.
    _ok("sign", STORY, "--project", str(root), "--name", "Dr. Amara Okafor", "--role", "clinical lead",
        "--decision", "no-go", "--reason", "The production feed is broken.")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "v1")
    before = _levels(root)

    story_yaml = story / "story.yaml"
    # Making the guardrail ground required flips the recommendation to no-go (the ground fails).
    _edit(story_yaml, PRODUCTION_STEADY_CONDITION, "")
    _edit(story_yaml, "false_negative: 40", "false_negative: 50")  # a cost assumption
    _edit(story_yaml, "capacity: 300", "capacity: 250")  # the capacity
    _edit(story_yaml, '    until: "2026-09-28"\n', "")  # the claim now covers the scanner change: it fails
    _edit(story_yaml, "calibration_tolerance: 0.05", "calibration_tolerance: 0.5")  # model trust moves up
    # The "no-go" entry deleted in the pull request.
    (story / "signoffs.yaml").write_text((story / "signoffs.yaml").read_text().split("\n- name:")[0] + "\n")
    _git(root, "commit", "-q", "-am", "v2")
    return Repo(root, story, (before, _levels(root)))


EXPECTED_TEXT = [
    "recommendation: go with conditions → no-go",
    "ground 'production-steady' (The average predicted chance stayed within its guardrails in production): "
    "fails (a condition) → fails (required)",
    "decision rule: decision.criteria[production-steady].required: false → true",
    "cost assumption: cost_of_error.false_negative: 40 → 50",
    "capacity: cost_of_error.capacity: 300 → 250",
    "claim 'steady-before-scanner-change': holds → fails",
    "trust check whether predicted chances match what happened (model): failed → passed",
    "trust rule: trust.model.calibration_tolerance: 0.05 → 0.5",
    "REMOVED: Dr. Amara Okafor (clinical lead), signed ",
]


def test_diff_shows_outcomes_inputs_and_a_removed_no_go(repo: Repo) -> None:
    text = _ok("diff", "HEAD~1", "HEAD", "--project", str(repo.root))
    for expected in EXPECTED_TEXT:
        assert expected in text, expected
    assert "decision no-go" in text.split("REMOVED:")[1].splitlines()[0]
    # The effect is shown too, after the assumption that caused it.
    assert text.index("cost assumption:") < text.index("current cost per 1,000")
    assert "no story changed" not in text
    # Each trust level the analysis moves is said, and only those (calibration alone may or may not move one).
    before, after = repo.levels
    for area in before:
        line = f"trust in the {area}: {before[area]} → {after[area]}"
        assert (line in text) == (before[area] != after[area]), line


def test_a_trust_level_that_moves_is_an_outcome_in_every_format(pinned_copy: Path) -> None:
    """The real analysis of the pinned story, with version 2's model level moved up one step."""
    import dataclasses

    from storybook.analyse.story import analyse_story
    from storybook.analyse.trust import Level
    from storybook.resolve.snapshot import SnapshotSource
    from storybook.review.diff import ProjectDiff, StoryDiff
    from storybook.review.outcomes import analysis_outcomes
    from storybook.review.render_diff import format_html, format_markdown, format_text
    from storybook.sources.loader import StorySource, load_project

    [story] = load_project(pinned_copy).stories
    assert isinstance(story, StorySource)
    old = analyse_story(story, SnapshotSource().resolve(story))
    assert old.trust is not None
    model = old.trust.levels[0]
    assert model.area == "model" and model.level < Level.STRONG
    moved = dataclasses.replace(model, level=Level(model.level + 1))
    new = dataclasses.replace(old, trust=dataclasses.replace(old.trust, levels=(moved, *old.trust.levels[1:])))
    changes = analysis_outcomes(old, new)
    expected = f"trust in the model: {model.level.label} → {Level(model.level + 1).label}"
    assert [f"{c.what}: {c.old} → {c.new}" for c in changes] == [expected]
    diff = ProjectDiff("v1", "v2", [StoryDiff(STORY, "changed", numbers=changes)])
    assert expected in format_text(diff)
    assert f"| trust in the model | {model.level.label} | {Level(model.level + 1).label} |" in format_markdown(diff)
    assert "<td>trust in the model</td>" in format_html(diff)


def test_review_shows_the_same_changes(repo: Repo) -> None:
    body = _ok("review", "--base", "HEAD~1", "--project", str(repo.root))
    assert "**Changes:** 1 of 1 stories changed." in body
    assert "| recommendation | go with conditions | no-go |" in body
    for expected in ("cost assumption: cost_of_error.false_negative", "capacity: cost_of_error.capacity",
                     "claim 'steady-before-scanner-change'",
                     "trust check whether predicted chances match what happened (model)",
                     "decision.criteria[production-steady].required"):
        assert escape_markdown(expected) in body, expected
    assert "**Sign-off entries changed** (⚠️ entries edited or removed)" in body
    assert f"- **{escape_markdown('REMOVED: Dr. Amara Okafor (clinical lead), signed ')}" in body
    assert "decision no-go" in body


def test_diff_against_the_work_tree(repo: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    _edit(clone / "stories" / STORY / "story.yaml", "false_negative: 50", "false_negative: 60")
    for args in (["HEAD", "."], ["HEAD", "--worktree"], ["HEAD"]):
        text = _ok("diff", *args, "--project", str(clone))
        assert "storybook diff HEAD → the work tree" in text
        assert "cost assumption: cost_of_error.false_negative: 50 → 60" in text
        # Nothing else of the story changed: no figure is listed as removed.
        assert " → —" not in text and "metric test_recall" not in text
    unchanged = _ok("diff", "HEAD", "HEAD", "--project", str(clone))
    assert "no story changed" in unchanged
    for args, message in ((["."], "the work tree can only be the newer side"),
                          (["HEAD", "HEAD~1", "--worktree"], "--worktree compares HEAD with the work tree"),
                          (["HEAD:stories"], "is not a commit")):
        result = runner.invoke(app, ["diff", *args, "--project", str(clone)])
        assert result.exit_code == 2 and message in result.output, result.output


def test_review_calls_out_template_and_storybook_yaml_changes(repo: Repo, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    (clone / "templates").mkdir()
    (clone / "templates" / "_footer.html").write_text("<footer>Reviewed by the board</footer>\n")
    (clone / "storybook.yaml").write_text((clone / "storybook.yaml").read_text()
                                          + "glossary:\n  scan:\n    plain: A picture of the inside of the body.\n")
    _git(clone, "add", ".")
    _git(clone, "commit", "-q", "-m", "templates and glossary")
    body = _ok("review", "--base", "HEAD~1", "--project", str(clone))
    warning = escape_markdown("the project's templates changed: these run on every page")
    assert f"⚠️ **{warning}:** {escape_markdown('templates/_footer.html')}" in body
    assert "**storybook.yaml changed** (it reaches every page)" in body
    assert escape_markdown("glossary: glossary.scan") in body
    text = _ok("diff", "HEAD~1", "HEAD", "--project", str(clone))
    assert "the project's templates changed: these run on every page: templates/_footer.html" in text


def _sign(project: Path) -> None:
    _ok("sign", STORY, "--project", str(project), "--name", "Sam Lee", "--role", "data protection")


def _status(project: Path) -> list[str]:
    return [s.status for s in signoff_status(project / "stories" / STORY)]


@pytest.mark.parametrize("change", ["versions", "glossary", "template"])
def test_signoff_goes_stale_when_project_settings_or_templates_change(pinned_copy: Path, change: str) -> None:
    _sign(pinned_copy)
    assert _status(pinned_copy) == ["current"]
    config = pinned_copy / "storybook.yaml"
    if change == "versions":  # the PDF loses its ethical considerations and caveats
        config.write_text(config.read_text() + "versions:\n  compliance: [model-details, metrics, provenance]\n")
    elif change == "glossary":
        config.write_text(config.read_text() + "glossary:\n  scan:\n    plain: A picture of the inside of the body.\n")
    else:
        (pinned_copy / "templates").mkdir(exist_ok=True)
        (pinned_copy / "templates" / "_footer.html").write_text("<footer>Reviewed</footer>\n")
    assert _status(pinned_copy) == ["stale"]
    result = runner.invoke(app, ["check", str(pinned_copy), "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert [f["code"] for f in findings if f["code"] == "signoff-stale"] == ["signoff-stale"]


def test_an_unpinned_story_cannot_be_signed(pinned_copy: Path) -> None:
    story = pinned_copy / "stories" / STORY
    (story / "snapshot.json").unlink()
    result = runner.invoke(app, ["sign", STORY, "--project", str(pinned_copy), "--name", "Sam Lee",
                                 "--role", "data protection"])
    assert result.exit_code == 1
    assert "is not pinned, so it cannot be signed" in result.output and "pin it first" in result.output
    assert not (story / "signoffs.yaml").exists()


def test_check_catches_build_errors_offline_in_a_pinned_story(pinned_copy: Path) -> None:
    story = pinned_copy / "stories" / STORY
    metrics = story / "metrics.md"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([*lines, "", "Scaled: {{ x * 100 }}.",
                                  'Missing: {{ metric("test_recal") | percent }}.']) + "\n")
    _edit(story / "story.yaml", "alias: champion", "alias: champoin")
    result = runner.invoke(app, ["check", str(pinned_copy), "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    errors = {(f["code"], str(f["file"]).rsplit("/", 1)[-1], f["line"]): f["message"]
              for f in document["findings"] if f["severity"] == "error"}
    assert "not allowed" in errors[("expression", "metrics.md", len(lines) + 2)]
    missing = errors[("reference", "metrics.md", len(lines) + 3)]
    assert "metric 'test_recal' is not available to this story" in missing and "'test_recall'" in missing
    alias = next(m for (code, file, _), m in errors.items() if code == "reference" and file == "story.yaml")
    assert "carries the alias 'champoin'" in alias and "did you mean 'champion'" in alias
    assert document["online"] is False


def test_check_says_what_needs_online_for_an_unpinned_story(pinned_copy: Path) -> None:
    story = pinned_copy / "stories" / STORY
    (story / "snapshot.json").unlink()
    shutil.rmtree(story / "snapshot", ignore_errors=True)
    _edit(story / "metrics.md", "We report", "{{ x * 100 }} We report")
    result = runner.invoke(app, ["check", str(pinned_copy), "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [f["code"] for f in document["findings"] if f["severity"] == "error"] == ["expression"]
    [gap] = document["needs_online"]
    assert gap.startswith(f"{STORY}: not pinned") and "metric keys" in gap and "@champion" in gap
    text = runner.invoke(app, ["check", str(pinned_copy)]).stdout
    assert f"not checked offline (run `storybook check --online`): {STORY}: not pinned" in text
    github = runner.invoke(app, ["check", str(pinned_copy), "--format", "github"]).stdout
    assert f"::notice title=storybook check (offline)::{STORY}: not pinned" in github


def _entry(name: str, role: str, date: str, digest: str, decision: str = "") -> str:
    extra = f'  decision: "{decision}"\n  reason: "because"\n' if decision else ""
    return (f'- name: "{name}"\n  role: "{role}"\n  note: ""\n  date: "{date}"\n  content_hash: "{digest}"\n'
            + extra)


def test_signoff_entries_added_edited_and_removed_are_each_named(tmp_path: Path) -> None:
    from storybook.review.diff import _signoff_changes

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    kept = _entry("Sam Lee", "data protection", "2026-09-01T10:00:00Z", "sha256:aa")
    (old / "signoffs.yaml").write_text(
        kept + _entry("Dr. Amara Okafor", "clinical lead", "2026-09-02T10:00:00Z", "sha256:aa", "no-go")
        + _entry("Kim Park", "board", "2026-09-03T10:00:00Z", "sha256:aa"))
    (new / "signoffs.yaml").write_text(
        kept + _entry("Kim Parker", "board", "2026-09-03T10:00:00Z", "sha256:aa")  # the name rewritten
        + _entry("Jo Doe", "board", "2026-09-04T10:00:00Z", "sha256:bb", "go"))
    notes: list[str] = []
    changes = {(c.change, c.name, c.decision, c.detail) for c in _signoff_changes(old, new, notes)}
    assert changes == {
        ("edited", "Kim Parker", "", "was Kim Park (board); changed: name"),
        ("added", "Jo Doe", "go", ""),
        ("removed", "Dr. Amara Okafor", "no-go", ""),
    }
    assert notes == []
    (new / "signoffs.yaml").write_text("- just text\n")
    assert _signoff_changes(old, new, notes) == [] and "cannot be read" in notes[0]


def test_the_hash_covers_templates_inside_the_project_only(pinned_copy: Path, tmp_path: Path) -> None:
    from storybook.review.hashing import content_hash, project_files

    story = pinned_copy / "stories" / STORY
    before = content_hash(story)
    outside = tmp_path / "outside.html"
    outside.write_text("secret\n")
    (pinned_copy / "templates").mkdir(exist_ok=True)
    (pinned_copy / "templates" / "link.html").symlink_to(outside)
    names = [name for name, _ in project_files(pinned_copy)]
    assert "project:storybook.yaml" in names and "project:templates/link.html" not in names
    assert content_hash(story) == before
    (pinned_copy / "templates" / "_extra.html").write_text("<p>x</p>\n")
    assert content_hash(story) != before


def test_a_changed_tracking_uri_is_shown_without_its_credentials() -> None:
    from storybook.review.outcomes import setting_changes
    from storybook.sources.schema import ProjectConfig

    old = ProjectConfig(tracking_uri="https://alice:s3cret@mlflow.example.org/?token=abc")
    new = ProjectConfig(tracking_uri="https://bob:hunter2@mlflow2.example.org/")
    [change] = setting_changes(old, new, "storybook.yaml")
    assert (change.what, change.old, change.new) == (
        "setting: tracking_uri", "https://mlflow.example.org/", "https://mlflow2.example.org/")
