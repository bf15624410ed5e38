"""storybook.resolve.artifacts: run artifacts as local files, on a real sqlite MLflow store whose artifacts are
a folder on this machine (read in place, never copied), with located errors for a path that leaves the run, a
file the run does not have, and a run that does not exist; a failed prefetch is told at each story's line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from storybook.errors import Location, ReferenceNotFound, SourceError
from storybook.resolve.artifacts import ArtifactFiles
from tests import stores

WHERE = Location(Path("stories/s/story.yaml"), 9)


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, MlflowClient]:
    """A sqlite store with one run that logged evaluation/scored.csv and notes.txt (made once: it takes seconds)."""
    root = tmp_path_factory.mktemp("artifacts")
    uri = stores.tracking_uri(root)
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("artifacts", artifact_location=(root / "artifacts").as_uri())
    run_id = client.create_run(experiment).info.run_id
    client.log_text(run_id, "label,score\n1,0.9\n0,0.2\n", "evaluation/scored.csv")
    client.log_text(run_id, "notes\n", "notes.txt")
    return uri, run_id, client


@pytest.fixture
def store(logged: tuple[str, str, MlflowClient], tmp_path: Path) -> tuple[ArtifactFiles, str, MlflowClient]:
    """Fresh ArtifactFiles (its own cache and remembered failures) over the logged store."""
    uri, run_id, client = logged

    def run(wanted: str) -> Any | None:
        try:
            return client.get_run(wanted)
        except MlflowException:
            return None

    return ArtifactFiles(uri, tmp_path / ".cache", run), run_id, client


def test_a_local_store_is_read_in_place(store: tuple[ArtifactFiles, str, MlflowClient], tmp_path: Path) -> None:
    files, run_id, client = store
    path = files.path(run_id, "evaluation/scored.csv", WHERE)
    assert path.read_text() == "label,score\n1,0.9\n0,0.2\n"
    root = Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))
    assert path == root / "evaluation" / "scored.csv"  # the run's own file, not a copy
    assert not (tmp_path / ".cache").exists()


@pytest.mark.parametrize("artifact", ["../other/scored.csv", "/etc/passwd", "evaluation/../../x.csv", ""])
def test_a_path_that_leaves_the_run_is_refused_on_the_story_line(store: tuple[ArtifactFiles, str, MlflowClient],
                                                                 artifact: str) -> None:
    files, run_id, _ = store
    with pytest.raises(SourceError) as error:
        files.path(run_id, artifact, WHERE)
    assert error.value.message == f"artifact path {artifact!r} must be relative to the run, without '..'"
    assert error.value.location == WHERE


def test_a_file_the_run_does_not_have_says_what_it_has(store: tuple[ArtifactFiles, str, MlflowClient]) -> None:
    files, run_id, _ = store
    with pytest.raises(ReferenceNotFound) as error:
        files.path(run_id, "evaluation/scores.csv", WHERE)
    assert error.value.message == f"run {run_id} has no artifact 'evaluation/scores.csv'"
    assert error.value.hint == "artifacts there: evaluation/scored.csv"
    with pytest.raises(ReferenceNotFound) as error:
        files.path(run_id, "scored.csv", WHERE)
    assert error.value.hint == "artifacts there: evaluation, notes.txt"
    with pytest.raises(ReferenceNotFound, match="is a folder, not a file"):
        files.path(run_id, "evaluation", WHERE)


def test_a_run_that_does_not_exist_is_named(store: tuple[ArtifactFiles, str, MlflowClient]) -> None:
    files, _, _ = store
    with pytest.raises(ReferenceNotFound) as error:
        files.path("0" * 32, "evaluation/scored.csv", WHERE)
    assert error.value.message.startswith(f"run {'0' * 32} does not exist at sqlite:///")
    assert error.value.location == WHERE


def test_a_failed_prefetch_is_told_at_each_storys_own_line(store: tuple[ArtifactFiles, str, MlflowClient]) -> None:
    files, run_id, _ = store
    files.prefetch([(run_id, "missing.csv"), (run_id, "notes.txt"), (run_id, "missing.csv")])  # never raises
    for line in (3, 17):
        where = Location(Path(f"stories/{line}/story.yaml"), line)
        with pytest.raises(ReferenceNotFound) as error:
            files.path(run_id, "missing.csv", where)
        assert error.value.location == where
        assert error.value.message == f"run {run_id} has no artifact 'missing.csv'"
    assert files.path(run_id, "notes.txt", WHERE).read_text() == "notes\n"


def test_links_inside_the_run_are_followed_and_a_linked_store_folder_is_read(
        logged: tuple[str, str, MlflowClient], tmp_path: Path) -> None:
    """Only what lies below the run's folder is looked at part by part: a link there that stays inside is
    followed; the store's own folder may be reached through a link (as /tmp is on some systems)."""
    uri, first_run, client = logged
    run_id = client.create_run(client.get_run(first_run).info.experiment_id).info.run_id
    client.log_text(run_id, "label,score\n1,0.7\n", "evaluation/scored.csv")
    root = Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))
    (root / "latest").symlink_to(root / "evaluation", target_is_directory=True)
    (root / "evaluation" / "same.csv").symlink_to(root / "evaluation" / "scored.csv")
    (root / "folder.csv").mkdir()
    files = ArtifactFiles(uri, tmp_path / ".cache", client.get_run)
    assert files.path(run_id, "latest/scored.csv", WHERE).read_text() == "label,score\n1,0.7\n"
    assert files.path(run_id, "evaluation/same.csv", WHERE).read_text() == "label,score\n1,0.7\n"
    with pytest.raises(ReferenceNotFound, match="is a folder, not a file"):
        files.path(run_id, "folder.csv", WHERE)

    # An experiment whose artifact location is reached through a link: a real run logged there is read in place.
    (tmp_path / "real-store").mkdir()
    linked = tmp_path / "linked-store"
    linked.symlink_to(tmp_path / "real-store", target_is_directory=True)
    experiment = client.create_experiment("through a link", artifact_location=linked.as_uri())
    other = client.create_run(experiment).info.run_id
    client.log_text(other, "label,score\n0,0.2\n", "evaluation/scored.csv")
    found = files.path(other, "evaluation/scored.csv", WHERE)
    assert found.read_text() == "label,score\n0,0.2\n" and found.is_relative_to(linked)  # read where it is


def test_a_prefetch_of_runs_read_in_place_looks_at_no_file(store: tuple[ArtifactFiles, str, MlflowClient],
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    files, run_id, _ = store
    looked: list[str] = []
    original = ArtifactFiles._local_file

    def counting(self: ArtifactFiles, *args: Any) -> Path | None:
        looked.append(str(args[1]))
        return original(self, *args)

    monkeypatch.setattr(ArtifactFiles, "_local_file", counting)
    files.prefetch([(run_id, "evaluation/scored.csv"), (run_id, "notes.txt")])
    assert looked == [] and not (tmp_path / ".cache").exists()
    assert files.path(run_id, "notes.txt", WHERE).read_text() == "notes\n"
    assert looked == ["notes.txt"]
