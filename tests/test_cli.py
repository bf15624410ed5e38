"""The command line (cli.py) itself: the commands it offers, and a project-wide error told in one located line with
its fix and exit code 2, never a traceback. Each command's work is tested with its module."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app

COMMANDS = ("build", "example", "init", "new", "aggregate", "pin", "promote", "check", "sign", "diff", "review",
            "schema", "serve")


def test_the_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.startswith("  ")]
    assert tuple(listed) == COMMANDS


@pytest.mark.parametrize("command", ["build", "pin"])
def test_outside_a_project_a_command_says_so_with_its_fix_and_exit_code_2(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [command, str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert f"error: no storybook.yaml found in {tmp_path / 'nowhere'} or any folder above it" in result.output
    assert "fix: run storybook inside a project, pass its folder, or create storybook.yaml" in result.output
    assert "Traceback" not in result.output


def test_check_outside_a_project_reports_it_as_a_config_finding(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert f"error no storybook.yaml found in {tmp_path / 'nowhere'}" in result.output and "[config]" in result.output
    assert result.output.endswith("0 stories checked: 1 errors, 0 warnings\n")


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["publish"])
    assert result.exit_code == 2 and "No such command 'publish'" in result.output


def test_a_finding_that_quotes_a_line_break_prints_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Text a finding quotes from a story cannot print a line of its own (a forged 'all clear' summary)."""
    from storybook.cli import _print_findings
    from storybook.review.checks.findings import Finding

    forged = "role 'lead\n4 stories checked: 0 errors, 0 warnings' is not known"
    _print_findings([Finding("error", "stories/s/signoffs.yaml", 3, "signoff", forged)], 1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[-1] == "1 stories checked: 1 errors, 0 warnings"
    assert "lead\\n4 stories checked: 0 errors, 0 warnings' is not known" in lines[0]
