"""``storybook check`` and ``storybook sign`` through the CLI, and the pieces they are built from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.review.check import (
    Finding,
    escape_github_data,
    escape_github_property,
    find_literal_numbers,
    format_github,
    readability_grade,
)
from storybook.review.hashing import content_hash
from storybook.review.signoff import signoff_status

from .conftest import STORY

runner = CliRunner()


def _findings(project: Path, *extra: str) -> tuple[int, list[dict[str, object]]]:
    result = runner.invoke(app, ["check", str(project), "--format", "json", *extra])
    return result.exit_code, json.loads(result.stdout)["findings"]


def test_pinned_example_passes_check_with_no_findings(pinned_copy: Path) -> None:
    code, findings = _findings(pinned_copy)
    assert code == 0, findings
    assert findings == []
    result = runner.invoke(app, ["check", str(pinned_copy)])
    assert result.exit_code == 0
    assert "1 stories checked: 0 errors, 0 warnings" in result.output


def test_check_reports_literals_readability_and_missing_sections_with_lines(pinned_copy: Path) -> None:
    story = pinned_copy / "stories" / STORY
    project_yaml = pinned_copy / "storybook.yaml"
    assert "max_grade: 9" in project_yaml.read_text()  # the example's own target; made strict here
    project_yaml.write_text(project_yaml.read_text().replace("max_grade: 9", "max_grade: 4"))
    metrics = story / "metrics.md"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([*lines, "", "In testing it found 97% of cancers, with an AUC of 0.93.",
                                  'It found {{ metric("test_recall") | percent }} and `0.5` in code.']) + "\n")
    (story / "caveats-and-recommendations.md").write_text("   \n")
    (story / "ethical-considerations.md").rename(story / "ethical-consideration.md")
    code, findings = _findings(pinned_copy)
    assert code == 1
    literal = [f for f in findings if f["code"] == "literal-number"]
    assert {(f["line"], str(f["message"]).split("'")[1]) for f in literal} == {
        (len(lines) + 2, "97%"), (len(lines) + 2, "0.93")}
    assert all(str(f["file"]).endswith("metrics.md") for f in literal)
    missing = {str(f["file"]).rsplit("/", 1)[-1] for f in findings if f["code"] == "section-missing"}
    assert missing == {"caveats-and-recommendations.md", "ethical-considerations.md"}
    unknown = next(f for f in findings if f["code"] == "section-unknown")
    assert "rename it to ethical-considerations.md" in str(unknown["message"])
    assert any(f["code"] == "readability" and "aims for 4" in str(f["message"]) for f in findings)
    assert all(f["severity"] == "warning" for f in findings if f["code"] in ("literal-number", "readability"))


def test_literal_numbers_ignore_references_code_links_counts_and_years() -> None:
    text = ('Found {{ metric("test_recall") | percent }} of 1,000 patients in the 1990s.\n'
            "See [the 0.75 report](https://example.org/0.75) and `0.88`.\n"
            "```\nscore = 0.42\n```\n"
            "It is right 93 percent of the time, recall .91, and costs 1.5 hours.\n")
    # The link's text is prose a reader sees; its target, code, the expression and counts are not figures.
    assert find_literal_numbers(text) == [(2, "0.75"), (6, ".91"), (6, "93 percent")]


def test_readability_grade_tells_plain_from_dense_prose() -> None:
    plain, words = readability_grade("The model finds most cancers. It misses a few. A doctor reads every scan. "
                                     "We check it each week. We tell you when it changes. It is a tool, not a judge.")
    dense, _ = readability_grade("Notwithstanding considerable heterogeneity in acquisition instrumentation, the "
                                 "discriminative performance characteristics demonstrated substantial "
                                 "generalisability across institutional subpopulations, contingent upon "
                                 "appropriate recalibration of probabilistic classification thresholds.")
    assert words > 20
    assert plain < 5 < 15 < dense


def test_github_annotations_escape_story_text_so_it_cannot_inject_commands() -> None:
    hostile = "100% sure\n::set-output name=x::pwned\r\n::add-mask::x"
    assert escape_github_data(hostile) == "100%25 sure%0A::set-output name=x::pwned%0D%0A::add-mask::x"
    assert escape_github_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    text = format_github([Finding("error", "stories/x,y/a:b.md", 3, "literal-number", hostile),
                          Finding("warning", "s.md", None, "readability", "ok")])
    lines = text.splitlines()
    assert lines == [
        "::error file=stories/x%2Cy/a%3Ab.md,line=3,title=storybook literal-number::"
        "100%25 sure%0A::set-output name=x::pwned%0D%0A::add-mask::x",
        "::warning file=s.md,title=storybook readability::ok",
    ]


def test_sign_appends_and_goes_stale_when_content_changes(pinned_copy: Path) -> None:
    story = pinned_copy / "stories" / STORY
    story_yaml = story / "story.yaml"
    story_yaml.write_text(story_yaml.read_text() + "signoffs:\n  required_roles:\n    - clinical lead\n"
                          "    - data protection\n")
    code, findings = _findings(pinned_copy)
    assert code == 1
    missing = [f for f in findings if f["code"] == "signoff-missing"]
    assert len(missing) == 2 and all(str(f["file"]).endswith("story.yaml") and f["line"] for f in missing)

    for role, name in (("clinical lead", "Dr. Okafor"), ("data protection", "Sam Lee")):
        result = runner.invoke(app, ["sign", STORY, "--name", name, "--role", role, "--note", "read it all",
                                     "--project", str(pinned_copy)])
        assert result.exit_code == 0, result.output
    first = (story / "signoffs.yaml").read_text()
    statuses = signoff_status(story)
    assert [(s.name, s.role, s.status) for s in statuses] == [
        ("Dr. Okafor", "clinical lead", "current"), ("Sam Lee", "data protection", "current")]
    assert statuses[0].content_hash == content_hash(story) and statuses[0].date.endswith("Z")
    code, findings = _findings(pinned_copy)
    assert code == 0, findings

    # The snapshot is part of the content: re-pinning a changed value makes both sign-offs stale.
    snapshot = story / "snapshot.json"
    snapshot.write_text(snapshot.read_text().replace('"threshold": "0.5"', '"threshold": "0.4"'))
    assert [s.status for s in signoff_status(story)] == ["stale", "stale"]
    code, findings = _findings(pinned_copy)
    assert code == 1
    stale = [f for f in findings if f["code"] == "signoff-stale"]
    assert [f["line"] for f in stale] == [statuses[0].line, statuses[1].line]
    assert any("only a stale sign-off (by Dr. Okafor" in str(f["message"]) for f in findings)
    # Append-only: signing again keeps every earlier line exactly as it was.
    result = runner.invoke(app, ["sign", STORY, "--name", "Dr. Okafor", "--role", "clinical lead",
                                 "--project", str(pinned_copy)])
    assert result.exit_code == 0
    assert (story / "signoffs.yaml").read_text().startswith(first)
    assert [s.status for s in signoff_status(story)] == ["stale", "stale", "current"]


def test_sign_text_with_quotes_and_newlines_stays_one_entry(pinned_copy: Path) -> None:
    story = pinned_copy / "stories" / STORY
    name = 'O"Brien: "x"\n- name: forged'
    note = "line1\nrole: admin \u2028- role: x\x85 Zoë 😀 \\u0041"
    result = runner.invoke(app, ["sign", STORY, "--name", name, "--role", "lead", "--note", note,
                                 "--project", str(pinned_copy)])
    assert result.exit_code == 0, result.output
    statuses = signoff_status(story)
    assert len(statuses) == 1
    assert (statuses[0].name, statuses[0].role, statuses[0].note) == (name, "lead", note)


def test_check_online_reports_pinned_values_mlflow_disagrees_with(pinned_copy: Path) -> None:
    snapshot = pinned_copy / "stories" / STORY / "snapshot.json"
    document = json.loads(snapshot.read_text())
    # A figure storybook cannot recompute from the scored set (a recomputable one fails offline, figure-mismatch).
    real = document["resolved"]["run"]["metrics"]["production_mean_area"]["value"]
    document["resolved"]["run"]["metrics"]["production_mean_area"]["value"] = 0.5
    document["resolved"]["model"]["version"] = 7
    snapshot.write_text(json.dumps(document, sort_keys=True, indent=2) + "\n")
    code, offline = _findings(pinned_copy)
    assert code == 0 and not [f for f in offline if f["code"] == "pinned-drift"]
    code, findings = _findings(pinned_copy, "--online")
    assert code == 1
    drift = {str(f["message"]).split(" (fix")[0]: f for f in findings if f["code"] == "pinned-drift"}
    assert f"metric 'production_mean_area' is pinned as 0.5 but MLflow now says {real!r}" in drift
    assert "model breast-cancer-screening@champion is pinned as version 7 but MLflow now says version 1" in drift
    line = drift[f"metric 'production_mean_area' is pinned as 0.5 but MLflow now says {real!r}"]["line"]
    assert snapshot.read_text().splitlines()[int(str(line)) - 1].strip() == '"value": 0.5'


def test_check_config_error_exits_2_as_an_annotation(pinned_copy: Path) -> None:
    config = pinned_copy / "storybook.yaml"
    config.write_text(config.read_text().replace("max_grade: 9", "max_grade: -1"))
    result = runner.invoke(app, ["check", str(pinned_copy), "--format", "github"])
    assert result.exit_code == 2
    assert result.stdout.startswith("::error file=") and "readability.max_grade" in result.stdout


@pytest.mark.parametrize("bad", ["- just text\n", "name: x\n", "- {name: a, role: b}\n"])
def test_malformed_signoffs_file_is_a_located_check_error(pinned_copy: Path, bad: str) -> None:
    (pinned_copy / "stories" / STORY / "signoffs.yaml").write_text(bad)
    code, findings = _findings(pinned_copy)
    assert code == 1
    assert any(str(f["file"]).endswith("signoffs.yaml") and f["severity"] == "error" for f in findings)


def test_check_and_build_refuse_a_missing_reference_with_one_check(pinned_copy: Path) -> None:
    """The check and the build run the same reference check: the same words on the same line, reported once."""
    from storybook.build import build
    from storybook.errors import ReferenceNotFound

    metrics = pinned_copy / "stories" / STORY / "metrics.md"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([*lines, "", 'It found {{ metric("test_recal") | percent }} of cancers.']) + "\n")
    code, findings = _findings(pinned_copy)
    assert code == 1
    on_the_line = [f for f in findings if str(f["file"]).endswith("metrics.md") and f["line"] == len(lines) + 2
                   and f["severity"] == "error"]
    assert [(f["code"], f["message"]) for f in on_the_line] == [
        ("reference", "metric 'test_recal' is not available to this story (fix: did you mean 'test_recall'?)")]

    report = build(pinned_copy, pdf=False, offline=True, cache=False, jobs=1)
    error = report.failed[STORY]
    assert isinstance(error, ReferenceNotFound)
    assert error.location is not None and error.location.path == metrics and error.location.line == len(lines) + 2
    assert f"{error.message} (fix: {error.hint})" == on_the_line[0]["message"]


def test_every_name_check_accepts_the_build_renders(pinned_copy: Path) -> None:
    """What check lets through (storybook.render.expressions.available_names), the page's values hold."""
    from storybook.build import build
    from storybook.render.expressions import EVALUATION_FIELDS, MODEL_FIELDS
    from storybook.sources.loader import StorySource, load_project

    story = next(s for s in load_project(pinned_copy).stories if isinstance(s, StorySource))
    claims = [claim.id for claim in story.config.claims or ()]
    assert claims  # the example states claims, so claim() is exercised too
    asked = [*(f"{{{{ model.{name} }}}}" for name in MODEL_FIELDS),
             *(f"{{{{ evaluation.{name} | count }}}}" for name in EVALUATION_FIELDS),
             *(f'{{{{ claim("{claim}") }}}}' for claim in claims)]
    metrics = pinned_copy / "stories" / STORY / "metrics.md"
    metrics.write_text(metrics.read_text() + "\n" + "\n\n".join(asked) + "\n")
    code, findings = _findings(pinned_copy)
    assert [f for f in findings if f["severity"] == "error"] == [], findings
    assert code == 0
    report = build(pinned_copy, pdf=False, offline=True, cache=False, jobs=1)
    assert report.ok and report.built == [STORY], report.failed
