"""Shared fixtures: a real local MLflow store, filled once per session by really training the example."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stores import copy_project

REPO = Path(__file__).resolve().parents[1]


SCREENING = "breast-cancer-screening"


def copy_example_project(target: Path, *, every_story: bool = False) -> Path:
    """The repository's own storybook project (storybook.yaml + stories/), copied to ``target``: with the
    screening story only (the one most tests are about, so their builds and counts do not change as the example
    gains stories), or with ``every_story``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "storybook.yaml", target / "storybook.yaml")
    if every_story:
        shutil.copytree(REPO / "stories", target / "stories")
    else:
        shutil.copytree(REPO / "stories" / SCREENING, target / "stories" / SCREENING)
    return target



def copy_example_story(project: Path, slug: str, *replacements: tuple[str, str]) -> Path:
    """A copy of the example story under another slug in ``project``, with ``replacements`` (old, new) made in its
    story.yaml; each old text must be there."""
    directory = project / "stories" / slug
    shutil.copytree(project / "stories" / "breast-cancer-screening", directory)
    story = directory / "story.yaml"
    text = story.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    story.write_text(text)
    return directory

@pytest.fixture(autouse=True, scope="session")
def _new_sqlite_stores_from_a_template() -> Iterator[None]:
    """New sqlite stores made in the test process replay the tables MLflow made for the first one (see
    tests/store_template.py): seconds saved per store, the same tables."""
    from tests.store_template import tables_from_a_template

    with tables_from_a_template():
        yield


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example project whose MLflow store holds the really trained example models (the screening
    story's two versions, and the student-support and diabetes-progression models); its stories folder holds the
    screening story only (see :func:`copy_example_project`).

    Tests must not change this project; copy it with ``project_copy`` to change stories.
    """
    from storybook.example import train_example

    root = copy_example_project(tmp_path_factory.mktemp("example") / "project")
    train_example(root)
    return root


@pytest.fixture
def project_copy(trained_project: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the trained project (stories and MLflow store), safe to edit."""
    yield copy_project(trained_project, tmp_path / "project")


@pytest.fixture(scope="session")
def pinned_project(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained example whose story is pinned (``storybook pin``). Do not change it."""
    from typer.testing import CliRunner

    from storybook.cli import app

    root = copy_project(trained_project, tmp_path_factory.mktemp("pinned") / "project")
    result = CliRunner().invoke(app, ["pin", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def pinned_copy(pinned_project: Path, tmp_path: Path) -> Path:
    """A private, editable copy of the pinned project (stories, snapshot and MLflow store)."""
    return copy_project(pinned_project, tmp_path / "project")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regenerate-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*.txt from this build instead of comparing with them")


@pytest.fixture
def regenerate_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite the golden files (``--regenerate-golden``)."""
    return bool(request.config.getoption("--regenerate-golden"))


@contextlib.contextmanager
def _mlflow_globals_kept() -> Iterator[None]:
    """MLflow keeps the tracking URI, the registry URI and the active experiment in module globals (and reads
    MLFLOW_* environment variables); whatever the block sets is put back when it ends."""
    import sys

    def state() -> list[tuple[object, str, object]]:
        if "mlflow" not in sys.modules:
            return []
        import mlflow.tracking._model_registry.utils as registry
        import mlflow.tracking._tracking_service.utils as tracking
        import mlflow.tracking.fluent as fluent

        return [(module, name, getattr(module, name)) for module, name in (
            (tracking, "_tracking_uri"), (registry, "_registry_uri"), (fluent, "_active_experiment_id"))
            if hasattr(module, name)]

    import os

    from storybook.resolve import tracking as storybook_tracking

    variables = ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    environment = {name: os.environ.get(name) for name in variables}
    opened = set(storybook_tracking._opened)
    before = state()
    _forget_artifact_repositories()
    yield
    _forget_artifact_repositories()
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    storybook_tracking._opened.clear()
    storybook_tracking._opened.update(opened)  # the tracking URIs a test opened are its own, not the next test's
    if before:
        for module, name, value in before:
            setattr(module, name, value)
    else:
        for module, name, _ in state():
            setattr(module, name, None)


def _forget_artifact_repositories() -> None:
    """MLflow caches each run's artifact repository by run id, in a module global: a copied store has the same run
    ids, so without this a test would read (and write!) the original's artifacts through the cache."""
    import sys

    if "mlflow" in sys.modules:
        import mlflow.tracking._tracking_service.utils as tracking

        cache = getattr(tracking, "_artifact_repos_cache", None)
        if cache is not None:
            cache.clear()


@pytest.fixture(autouse=True)
def _mlflow_globals_restored() -> Iterator[None]:
    """A test that sets MLflow's globals must not point a later test's logging at its own (by then deleted)
    store."""
    with _mlflow_globals_kept():
        yield


@pytest.fixture(autouse=True, scope="module")
def _mlflow_globals_restored_per_module() -> Iterator[None]:
    """The same for a test module: its module-scoped fixtures (set up before any test's own restore point) must
    not leave an active experiment or tracking URI to the next module."""
    with _mlflow_globals_kept():
        yield
