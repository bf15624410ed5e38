"""Checks of a story's files and prose (review/checks/prose.py): the sections people must write, files that are
no section, figures written as literals (each on its line), and a cost with no owner."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.review.checks.findings import CheckReport, Collector, Finding
from storybook.review.checks.prose import (
    check_sections,
    find_literal_numbers,
    literals_and_readability,
    prose_only,
)
from storybook.sources.loader import load_project
from tests.stores import story, write_project

EVALUATION = {"artifact": "evaluation/scored.csv", "positive_means": "has it", "negative_means": "does not",
              "threshold": 0.5}



def _findings(root: Path) -> list[Finding]:
    report = CheckReport(root)
    (loaded,) = load_project(root).stories
    check_sections(Collector(report), loaded)
    return report.findings


@pytest.fixture
def project(tmp_path: Path) -> Path:
    metrics = [{"key": "k", "label": "K", "kind": "other"}]
    return write_project(tmp_path / "project", {"s": story("m", "champion", metrics, EVALUATION)})


def test_a_story_with_its_two_written_sections_has_no_finding(project: Path) -> None:
    assert _findings(project) == []


def test_a_missing_or_blank_written_section_is_an_error_on_its_file(project: Path) -> None:
    (project / "stories" / "s" / "ethical-considerations.md").unlink()
    (project / "stories" / "s" / "caveats-and-recommendations.md").write_text("  \n")
    found = {(f.severity, f.code, Path(f.file).name) for f in _findings(project)}
    assert found == {("error", "section-missing", "ethical-considerations.md"),
                     ("error", "section-missing", "caveats-and-recommendations.md")}


def test_a_file_that_is_no_section_is_a_warning_with_the_likely_name(project: Path) -> None:
    (project / "stories" / "s" / "intended-uses.md").write_text("Who may use it.\n")
    (project / "stories" / "s" / "notes.md").write_text("To do.\n")
    found = {Path(f.file).name: (f.severity, f.code, f.message) for f in _findings(project)}
    assert found["intended-uses.md"][:2] == ("warning", "section-unknown")
    assert "(fix: rename it to intended-use.md)" in found["intended-uses.md"][2]
    assert "sections are: model-details, intended-use" in found["notes.md"][2]


def test_an_empty_generated_section_is_a_warning_and_not_an_error(project: Path) -> None:
    (project / "stories" / "s" / "factors.md").write_text("\n")
    (finding,) = _findings(project)
    assert (finding.severity, finding.code, Path(finding.file).name) == ("warning", "section-empty", "factors.md")


def test_literal_figures_are_found_on_their_lines_but_years_counts_and_hours_are_not() -> None:
    text = "Recall is 97%.\nIt was 0.93 in 2021, for 120 people, and 12 percent; review takes 1.5 hours.\n"
    assert find_literal_numbers(text) == [(1, "97%"), (2, "0.93"), (2, "12 percent")]


def test_numbers_in_expressions_code_and_link_targets_are_not_prose() -> None:
    text = 'It is {{ metric("k") | round(0.5) }}.\n`0.7` and ```\n0.8\n```\n[the page](docs/0.4.html) 55%'
    assert find_literal_numbers(text) == [(5, "55%")]
    assert prose_only(text).count("\n") == text.count("\n")   # lines kept, so findings stay on their line


def test_a_literal_figure_in_a_section_is_a_warning_on_its_line(project: Path) -> None:
    (project / "stories" / "s" / "caveats-and-recommendations.md").write_text("Read with care.\nIt finds 97%.\n")
    report = CheckReport(project)
    literals_and_readability(Collector(report), load_project(project), project / "stories" / "s")
    (finding,) = report.findings
    assert (finding.severity, finding.code, Path(finding.file).name, finding.line) == (
        "warning", "literal-number", "caveats-and-recommendations.md", 2)
    assert finding.message.startswith("'97%' is written as a literal")
