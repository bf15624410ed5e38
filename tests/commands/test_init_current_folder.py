"""``storybook init`` with no folder named writes into the current folder and lists each file it wrote.

(It used to write the files, then stop on a Python error while listing them: the written paths were relative and
the folder absolute.) The README's quick start runs it this way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app

runner = CliRunner()


def test_init_in_the_current_folder_lists_what_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "--yes", "--title", "Our stories", "--tracking-uri",
                                 "sqlite:///mlflow/mlflow.db"])
    assert result.exit_code == 0, result.output
    listed = [line.removeprefix("wrote ") for line in result.output.splitlines() if line.startswith("wrote ")]
    assert "storybook.yaml" in listed and ".gitignore" in listed
    assert all((tmp_path / name).is_file() for name in listed), listed
    assert "title: Our stories" in (tmp_path / "storybook.yaml").read_text()
