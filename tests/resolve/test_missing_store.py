"""A tracking URI naming a local store that is not there is refused before MLflow opens it (MLflow would create an
empty store behind the user's back, and the story would then fail with "run ... does not exist")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import ConfigError
from storybook.resolve.tracking import refuse_missing_store, tracking_uri
from tests import stores

EXAMPLE = Path(__file__).resolve().parents[2] / "storybook" / "example_project"


@pytest.fixture
def storeless(tmp_path: Path) -> Path:
    """The example project as the package ships it: storybook.yaml says sqlite:///mlflow/mlflow.db, no store."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    assert not (root / "mlflow").exists()
    return root


def _line_of(path: Path, key: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(f"{key}:"))


@pytest.mark.parametrize("command", [
    ["build"], ["check", "--online"], ["pin"], ["new", "fresh-story", "--model", "breast-cancer-screening@champion"],
    ["promote", "breast-cancer-screening", "champion", "1"],
])
def test_reading_commands_refuse_a_missing_sqlite_file_and_create_nothing(
        storeless: Path, command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(storeless)
    before = sorted(p.relative_to(storeless) for p in storeless.rglob("*"))
    where = [] if command[0] in ("new", "promote", "check") else [str(storeless)]  # these read the working folder
    result = CliRunner().invoke(app, [*command, *where])
    assert result.exit_code == (1 if command[0] == "check" else 2), result.output  # check reports it as a finding
    line = _line_of(storeless / "storybook.yaml", "tracking_uri")
    assert f"storybook.yaml:{line}: " in result.output
    assert "tracking_uri names the MLflow sqlite store " in result.output
    assert f"{storeless.resolve() / 'mlflow' / 'mlflow.db'}, which does not exist" in result.output
    assert "correct the path in tracking_uri (a relative path is read from the project folder)" in result.output
    assert not (storeless / "mlflow").exists()  # no store, no folder: nothing written behind the user's back
    assert sorted(p.relative_to(storeless) for p in storeless.rglob("*") if ".storybook" not in p.parts
                  and "site" not in p.parts) == before


def test_the_environment_variable_is_named_when_it_names_the_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mlflow.db"
    with pytest.raises(ConfigError) as raised:
        refuse_missing_store(tracking_uri(None, tmp_path, env={"MLFLOW_TRACKING_URI": f"sqlite:///{missing}"}),
                             None, tmp_path)
    assert raised.value.location is None
    assert str(raised.value).startswith(f"MLFLOW_TRACKING_URI names the MLflow sqlite store {missing}, which does not")
    assert "set MLFLOW_TRACKING_URI to your MLflow store" in str(raised.value)
    assert not missing.parent.exists()


def test_an_empty_file_and_a_missing_folder_store_are_refused(tmp_path: Path) -> None:
    (tmp_path / "storybook.yaml").write_text("title: t\n\n# where\ntracking_uri: sqlite:///empty.db\n")
    (tmp_path / "empty.db").touch()
    with pytest.raises(ConfigError, match=r"which is an empty file, not an MLflow store") as raised:
        refuse_missing_store(tracking_uri("sqlite:///empty.db", tmp_path, env={}), "sqlite:///empty.db", tmp_path)
    assert str(raised.value.location).endswith("storybook.yaml:4")
    assert (tmp_path / "empty.db").stat().st_size == 0
    with pytest.raises(ConfigError, match=r"MLflow folder store .*mlruns, which does not exist"):
        refuse_missing_store(tracking_uri("mlruns", tmp_path, env={}), "mlruns", tmp_path)
    with pytest.raises(ConfigError, match=r"MLflow folder store .*gone, which does not exist"):
        refuse_missing_store(f"file://{tmp_path / 'gone'}", f"file://{tmp_path / 'gone'}", tmp_path)
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "gone").exists()


def test_a_real_store_servers_and_memory_pass(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = stores.tracking_uri(tmp_path)
    MlflowClient(tracking_uri=uri, registry_uri=uri).create_experiment(
        "made", artifact_location=(tmp_path / "artifacts").as_uri())
    refuse_missing_store(uri, uri, tmp_path)  # a store MLflow made: no error
    for other in ("http://127.0.0.1:5000", "https://user:pw@mlflow.example.org", "databricks", "sqlite://",
                  "sqlite:///:memory:", "postgresql://u:p@db/mlflow"):
        refuse_missing_store(other, other, tmp_path)
