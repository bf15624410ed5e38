"""Golden text of the bundled example: what a reader sees on the built page and its one-page summary.

The example is really trained (tests/conftest.py ``trained_project``; seeded, and its figures were checked to be
the same across two fresh trainings), really built, and the pages' visible text (not their HTML) is compared with
the reviewed files in tests/golden/, scrubbed of run ids, times, paths and the build's own date. The full page's
text is over 40 KB, so only the sections that carry sentences about figures are kept.

After a deliberate change of wording or figures, regenerate and review the diff of tests/golden/:

    .venv/bin/python -m pytest tests/test_golden.py --regenerate-golden
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from tests.golden_text import page_text, scrub, section_texts
from tests.stores import copy_project

STORY = "breast-cancer-screening"
GOLDEN = Path(__file__).parent / "golden"
SECTIONS = ("decision", "metrics", "quantitative-analyses", "cost-of-error", "trust", "claims",
            "caveats-and-recommendations")
runner = CliRunner()


@pytest.fixture(scope="module")
def built_site(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("golden") / "project"
    copy_project(trained_project, project)
    result = runner.invoke(app, ["build", str(project), "--no-pdf"])
    assert result.exit_code == 0, result.output
    return project / "site"


def _dates() -> tuple[str, ...]:
    """The days the example may have been trained or built on (today and yesterday), as pages write them."""
    days = [datetime.now(UTC).date() - timedelta(days=n) for n in (0, 1)]
    return tuple(text for day in days for text in (f"{day.day} {day:%B %Y}", f"{day:%d %B %Y}"))


def _compare(text: str, name: str, regenerate: bool) -> None:
    golden = GOLDEN / name
    if regenerate:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    expected = golden.read_text()
    diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), text.splitlines(keepends=True),
                                        f"tests/golden/{name}", "this build"))
    assert text == expected, (
        f"the page's text changed; if the change is meant, run "
        f"`.venv/bin/python -m pytest tests/test_golden.py --regenerate-golden` and review the diff:\n{diff}")


def test_example_page_text_is_the_reviewed_one(built_site: Path, regenerate_golden: bool) -> None:
    html = (built_site / f"{STORY}.html").read_text()
    sections = section_texts(html, SECTIONS)
    assert set(sections) == set(SECTIONS), f"sections missing from the page: {set(SECTIONS) - set(sections)}"
    text = "".join(f"== {name} ==\n{sections[name]}" for name in SECTIONS)
    text = scrub(text, _dates())
    assert len(text.encode()) < 40_000
    _compare(text, "example-page.txt", regenerate_golden)


def test_example_summary_text_is_the_reviewed_one(built_site: Path, regenerate_golden: bool) -> None:
    html = (built_site / f"{STORY}.summary.html").read_text()
    _compare(scrub(page_text(html), _dates()), "example-summary.txt", regenerate_golden)


def test_scrub_leaves_figures_and_removes_what_changes_per_build() -> None:
    text = ("run 4b750fed0b414e85abb2f6ad995f4ea9 (4b750fed0b41) built 03 December 2026, 19:05 UTC from "
            "/tmp/pytest-1/project/mlflow/mlflow.db: 94 in 100, 1,880 hours, 123456789012 cases, 3 December 2026")
    assert scrub(text, ("3 December 2026",)) == (
        "run <run-id> (<run>) built <time> from <path>: 94 in 100, 1,880 hours, 123456789012 cases, <date>")
