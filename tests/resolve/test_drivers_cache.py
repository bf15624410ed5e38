"""The permutation drops kept between builds: reused while the model, the scored set and the settings are the
same (a no-change build loads no model), computed again when one changes or the entry is broken."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app
from storybook.files import CACHE_DIR
from storybook.resolve import drivers
from storybook.resolve.drivers_cache import model_digest
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.resolved import ResolvedDrivers
from storybook.resolve.tracking import tracking_uri
from storybook.sources.loader import StorySource, load_project
from tests.fresh_process import HEAVY, MODEL_LOADING, build_in_fresh_process

STORY = "breast-cancer-screening"
runner = CliRunner()


def _drivers(project: Path) -> ResolvedDrivers:
    story = load_project(project, [STORY]).stories[0]
    assert isinstance(story, StorySource)
    source = MlflowSource(tracking_uri("sqlite:///mlflow/mlflow.db", project), project / ".cache")
    resolved = source.resolve(story)
    assert resolved.drivers is not None and resolved.drivers.origin == "model"
    return resolved.drivers


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each model storybook loads (the real loader, counted)."""
    seen: list[str] = []
    real: Callable[..., Any] = drivers._load

    def counted(local: Path, uri: str, *args: Any) -> Any:
        seen.append(uri)
        return real(local, uri, *args)

    monkeypatch.setattr(drivers, "_load", counted)
    return seen


def _entries(project: Path, cache: str = ".cache") -> list[Path]:
    return sorted((project / cache / "drivers").glob("*/*.json"))


def test_a_no_change_build_in_a_fresh_process_loads_no_model(project_copy: Path) -> None:
    result = runner.invoke(app, ["build", str(project_copy), "--no-pdf"])
    assert result.exit_code == 0, result.output
    entries = _entries(project_copy, CACHE_DIR)
    assert entries  # the drops of each story with drivers from its model
    written = {path: path.stat().st_mtime_ns for path in entries}
    page = (project_copy / "site" / f"{STORY}.html").read_text()

    imported = build_in_fresh_process(project_copy, "--no-pdf", heavy=(*HEAVY, *MODEL_LOADING))
    assert not set(imported) & set(MODEL_LOADING), imported
    assert "mlflow" in imported  # resolved live from the store, not from a snapshot
    assert {path: path.stat().st_mtime_ns for path in _entries(project_copy, CACHE_DIR)} == written
    assert (project_copy / "site" / f"{STORY}.html").read_text() == page


def test_the_same_model_and_scored_set_give_the_cached_drops(project_copy: Path, loads: list[str]) -> None:
    first = _drivers(project_copy)
    assert len(loads) == 1 and len(_entries(project_copy)) == 1
    again = _drivers(project_copy)
    assert len(loads) == 1  # not loaded again
    pd.testing.assert_frame_equal(again.table, first.table)
    assert (again.rows, again.baseline, again.provenance) == (first.rows, first.baseline, first.provenance)


def test_a_wording_change_in_drivers_keeps_the_drops(project_copy: Path, loads: list[str]) -> None:
    first = _drivers(project_copy)
    path = project_copy / "stories" / STORY / "story.yaml"
    path.write_text(path.read_text().replace("  show: 6\n", "  show: 4\n").replace(
        "mean radius: tumour size (radius)", "mean radius: size of the tumour (radius)"))
    pd.testing.assert_frame_equal(_drivers(project_copy).table, first.table)
    assert len(loads) == 1


def test_a_changed_scored_set_computes_the_drops_again(project_copy: Path, loads: list[str]) -> None:
    first = _drivers(project_copy)
    uri = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    run_id = client.get_model_version_by_alias(STORY, "champion").run_id
    assert run_id is not None
    scored = pd.read_csv(Path(client.download_artifacts(run_id, "evaluation/scored.csv", str(project_copy))))
    client.log_text(run_id, scored.iloc[:-20].to_csv(index=False), "evaluation/scored.csv")

    changed = _drivers(project_copy)
    assert len(loads) == 2 and len(_entries(project_copy)) == 2
    assert (first.rows, changed.rows) == (len(scored), len(scored) - 20)
    fresh = project_copy / "fresh"
    (project_copy / ".cache" / "drivers").rename(fresh)  # the same drops as a build with no cache at all
    pd.testing.assert_frame_equal(_drivers(project_copy).table, changed.table)
    assert len(loads) == 3


def test_a_changed_model_computes_the_drops_again(project_copy: Path, loads: list[str]) -> None:
    _drivers(project_copy)
    folders = [p.parent for p in (project_copy / ".cache" / "models").glob("**/MLmodel")]
    assert len(folders) == 1
    before = model_digest(folders[0])
    (folders[0] / "notes.txt").write_text("the model's files changed\n")
    assert model_digest(folders[0]) != before
    _drivers(project_copy)
    assert len(loads) == 2 and len(_entries(project_copy)) == 2


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"key": "another"}', b"\x00" * 64])
def test_a_broken_entry_is_ignored_and_written_again(project_copy: Path, loads: list[str], damage: bytes) -> None:
    first = _drivers(project_copy)
    [entry] = _entries(project_copy)
    good = entry.read_bytes()
    entry.write_bytes(damage)
    again = _drivers(project_copy)
    assert len(loads) == 2
    pd.testing.assert_frame_equal(again.table, first.table)
    assert entry.read_bytes() == good


def test_a_broken_model_digest_is_computed_again(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    digest = model_digest(folder)
    remembered = tmp_path / "model.sha256.json"
    assert remembered.is_file()
    remembered.write_text("[not the digest")
    assert model_digest(folder) == digest
