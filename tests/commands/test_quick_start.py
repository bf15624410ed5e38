"""The README's quick start, as a person types it: ``storybook init`` in the current folder, ``storybook new
--model NAME@ALIAS`` against a real MLflow store (the trained example's), write the marked values and the two
sections only people can write, then ``storybook build``.

Only the quoted values that hold the mark are written, as a person would: no comment line of the draft holds the
mark (a header that did failed the build after every value was written), and ``init`` with no folder named lists
what it wrote (it used to stop on a Python error after writing).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.sources.placeholders import PLACEHOLDER

runner = CliRunner()
MARKED_VALUE = re.compile(r'"\[storybook: to write\][^"]*"')


def test_init_in_the_current_folder_lists_what_it_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "--yes", "--title", "Our stories", "--tracking-uri",
                                 "sqlite:///mlflow/mlflow.db"])
    assert result.exit_code == 0, result.output
    listed = [line.removeprefix("wrote ") for line in result.output.splitlines() if line.startswith("wrote ")]
    assert "storybook.yaml" in listed and ".gitignore" in listed
    assert all((tmp_path / name).is_file() for name in listed), listed
    assert "title: Our stories" in (tmp_path / "storybook.yaml").read_text()


def test_the_five_minute_path_builds_a_page_and_a_pdf(trained_project: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader

    monkeypatch.chdir(tmp_path)
    store = f"sqlite:///{trained_project / 'mlflow' / 'mlflow.db'}"
    assert runner.invoke(app, ["init", "--yes", "--title", "Our stories", "--tracking-uri", store]).exit_code == 0
    drafted = runner.invoke(app, ["new", "screening", "--model", "breast-cancer-screening@champion"])
    assert drafted.exit_code == 0, drafted.output
    story = tmp_path / "stories" / "screening"
    text = (story / "story.yaml").read_text()
    assert not [line for line in text.splitlines() if line.lstrip().startswith("#") and PLACEHOLDER in line]
    marks = len(MARKED_VALUE.findall(text))
    assert f"write the {marks + 2} marked places" in drafted.output  # the values, and one mark in each section

    # A person writes each marked value and the two sections; nothing else is touched.
    (story / "story.yaml").write_text(MARKED_VALUE.sub('"Written by the screening team"', text))
    (story / "ethical-considerations.md").write_text("A missed tumour can cost a life; a specialist decides.\n")
    (story / "caveats-and-recommendations.md").write_text("Tested on one hospital's scans only.\n")
    built = runner.invoke(app, ["build"])
    assert built.exit_code == 0, built.output
    assert "1 built, 0 failed, 1 PDFs" in built.output
    pdf = " ".join(" ".join(page.extract_text() for page in PdfReader(tmp_path / "site" / "screening.pdf").pages)
                   .split())
    assert "A missed tumour can cost a life" in pdf and "breast-cancer-screening, version 1 (champion)" in pdf
