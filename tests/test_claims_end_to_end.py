"""Checked claims on the bundled example: they hold, the reader sees when they were checked, and check fails on
the claim's line when one stops holding."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from storybook.cli import app

STORY = "breast-cancer-screening"
runner = CliRunner()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _claims_section(project: Path) -> str:
    page = (project / "site" / f"{STORY}.html").read_text()
    return _text(page.split('<section id="claims">', 1)[1].split("</section>", 1)[0])


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_example_claims_hold_and_say_when_and_against_what(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    section = _claims_section(project_copy)
    assert section.count("✓ checked") == 3 and "no longer true" not in section.lower()
    # The slice claim holds on overlapping ranges, and its mark says that it allows for chance.
    assert ("✓ checked (allowing for chance: no clear difference given the number of cases): The North clinic"
            in section)
    assert re.search(r"tested against the figures in MLflow when this page was built \(\d+ \w+ \d{4}, \d\d:\d\d UTC\)",
                     section)
    assert "True for all 28 readings from 1 September 2026 to 28 September 2026" in section
    assert "North clinic: 80% (between 63% and 90%, from 30 cases)" in section
    page = (project_copy / "site" / f"{STORY}.html").read_text()
    # Where the author wrote {{ claim("...") }}, the sentence links to its evidence.
    assert re.search(r'stayed within its guardrails every day\. <a href="#claim-steady-before-scanner-change" '
                     r'title="True for all 28 readings[^"]*"[^>]*>\(✓ checked\)</a>', page)
    report = runner.invoke(app, ["check", str(project_copy), "--format", "json"])
    assert not [f for f in json.loads(report.output)["findings"] if f["code"].startswith("claim-")]


def test_a_claim_that_stops_holding_fails_check_on_its_line_and_is_marked_on_the_page(project_copy: Path) -> None:
    story_yaml = project_copy / "stories" / STORY / "story.yaml"
    # Without its end date the claim covers the scanner change on 29 September, when readings jumped to 1.0.
    story_yaml.write_text(story_yaml.read_text().replace('    until: "2026-09-28"\n', ""))
    line = _line_of(story_yaml, "id: steady-before-scanner-change")
    report = runner.invoke(app, ["check", str(project_copy), "--online", "--format", "json"])
    assert report.exit_code == 1, report.output
    failed = [f for f in json.loads(report.output)["findings"] if f["code"] == "claim-failed"]
    assert [(f["line"], f["file"].endswith("story.yaml")) for f in failed] == [(line, True)]
    assert "on 29 September 2026 the reading was 1.00, above 0.60; 14 of the 42 readings" in failed[0]["message"]
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output  # the page is built, and says the claim no longer holds
    section = _claims_section(project_copy)
    assert "✗ no longer true: Until the scanner change" in section.replace("✗ No longer true", "✗ no longer true")
    assert "(✗ no longer true)" in _text((project_copy / "site" / f"{STORY}.html").read_text())


def test_a_claim_about_something_the_story_does_not_read_is_a_located_error(project_copy: Path) -> None:
    story_yaml = project_copy / "stories" / STORY / "story.yaml"
    story_yaml.write_text(story_yaml.read_text().replace("    series: cv_recall\n", "    series: cv_recal\n"))
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 1
    line = _line_of(story_yaml, "series: cv_recal")
    assert f"story.yaml:{line}: claim 'folds-steady' checks the history 'cv_recal'" in result.output
