"""Fixtures for review tests: the trained example, pinned once per session, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app

STORY = "breast-cancer-screening"


@pytest.fixture(scope="session")
def pinned_project(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained example whose story is pinned (``storybook pin``). Do not change it."""
    root = tmp_path_factory.mktemp("pinned") / "project"
    shutil.copytree(trained_project, root, ignore=shutil.ignore_patterns("site", ".storybook"))
    result = CliRunner().invoke(app, ["pin", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def pinned_copy(pinned_project: Path, tmp_path: Path) -> Path:
    """A private, editable copy of the pinned project (stories, snapshot and MLflow store)."""
    target = tmp_path / "project"
    shutil.copytree(pinned_project, target, ignore=shutil.ignore_patterns("site", ".storybook"))
    return target
