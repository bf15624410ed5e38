"""Batched reads on the really trained example (sqlite): the plan, and the resolved story against MlflowClient."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from storybook.errors import ReferenceNotFound
from storybook.resolve.batch import BatchReader, StoryReads, plan_reads
from storybook.resolve.mlflow_source import MlflowSource
from storybook.resolve.tracking import tracking_uri
from storybook.sources.loader import StorySource, load_project

STORY = "breast-cancer-screening"
MODEL = "breast-cancer-screening"


def _stories(root: Path) -> list[StorySource]:
    stories = [s for s in load_project(root, None).stories if isinstance(s, StorySource)]
    assert stories
    return stories


def _source(root: Path) -> MlflowSource:
    return MlflowSource(tracking_uri("sqlite:///mlflow/mlflow.db", root), root / ".storybook" / "cache")


def _client(root: Path) -> MlflowClient:
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def test_plan_names_every_read_of_the_example_story(trained_project: Path) -> None:
    (story,) = _stories(trained_project)
    assert plan_reads(story) == StoryReads(
        name=MODEL, alias="champion", compare_with="challenger",
        series=("production_mean_score", "cv_recall"),  # the chart's series, then the trust folds
        artifacts=("evaluation/scored.csv", "data/train.csv", "production/inputs.csv",
                   "production/windows.parquet"),
        compared_artifacts=("evaluation/scored.csv",),
    )


def test_prefetched_example_resolves_to_what_mlflow_client_reports(project_copy: Path) -> None:
    (story,) = _stories(project_copy)
    source = _source(project_copy)
    source.prefetch([story])
    resolved = source.resolve(story)
    client = _client(project_copy)

    champion = client.get_model_version_by_alias(MODEL, "champion")
    challenger = client.get_model_version_by_alias(MODEL, "challenger")
    assert resolved.model is not None and resolved.model.run_id == champion.run_id
    assert resolved.model.version == int(champion.version) and "champion" in resolved.model.aliases
    assert [(v.version, v.run_id, v.aliases) for v in resolved.versions] == [
        (int(champion.version), champion.run_id, ("champion",)),
        (int(challenger.version), challenger.run_id, ("challenger",))]

    run = client.get_run(champion.run_id)
    assert {k: f.value for k, f in resolved.run.metrics.items()} == run.data.metrics
    for key, figure in resolved.run.metrics.items():  # step and time of the value shown: the last one logged
        last = max(client.get_metric_history(run.info.run_id, key), key=lambda m: (m.step, m.timestamp))
        assert (figure.provenance.step, figure.provenance.timestamp_ms) == (last.step, last.timestamp), key
    assert resolved.run.params == run.data.params and resolved.run.tags == run.data.tags
    assert resolved.run.experiment_name == client.get_experiment(run.info.experiment_id).name
    assert (resolved.run.start_ms, resolved.run.end_ms) == (run.info.start_time, run.info.end_time)
    logged = run.inputs.dataset_inputs
    assert len(logged) == 2
    assert sorted((d.name, d.digest) for d in resolved.run.datasets) == sorted(
        (i.dataset.name, i.dataset.digest) for i in logged)

    for key in ("production_mean_score", "cv_recall"):
        history = sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run.info.run_id, key))
        assert [(p.step, p.timestamp_ms, p.value) for p in resolved.series[key].points] == history
        assert len(history) > 2

    downloads = project_copy / "expected"
    downloads.mkdir()

    def table(run_id: str, path: str) -> pd.DataFrame:
        return pd.read_csv(client.download_artifacts(run_id, path, str(downloads / run_id)))

    assert resolved.evaluation is not None
    pd.testing.assert_frame_equal(resolved.evaluation, table(champion.run_id, "evaluation/scored.csv"))
    for path in ("data/train.csv", "production/inputs.csv"):
        pd.testing.assert_frame_equal(resolved.tables[path], table(champion.run_id, path))
    assert resolved.compared is not None and resolved.compared.run.run_id == challenger.run_id
    assert resolved.compared.evaluation is not None
    pd.testing.assert_frame_equal(resolved.compared.evaluation, table(challenger.run_id, "evaluation/scored.csv"))


def test_resolve_without_prefetch_gives_the_same_story(project_copy: Path) -> None:
    (story,) = _stories(project_copy)
    batched = _source(project_copy)
    batched.prefetch([story])
    one = batched.resolve(story)
    # A local artifact store is read where it is: nothing was copied into the cache.
    assert not (project_copy / ".storybook" / "cache" / "artifacts").exists()
    alone = _source(project_copy).resolve(story)  # what pin and check do: no prefetch
    assert alone.run == one.run and alone.model == one.model and alone.versions == one.versions
    assert alone.series == one.series
    assert alone.evaluation is not None and one.evaluation is not None
    pd.testing.assert_frame_equal(alone.evaluation, one.evaluation)


def test_each_story_gets_its_own_copy_of_a_shared_table(project_copy: Path) -> None:
    stories = project_copy / "stories"
    shutil.copytree(stories / STORY, stories / "second-story")
    first, second = _stories(project_copy)
    source = _source(project_copy)
    source.prefetch([first, second])
    one, two = source.resolve(first), source.resolve(second)
    assert one.evaluation is not None and two.evaluation is not None
    pd.testing.assert_frame_equal(one.evaluation, two.evaluation)
    one.evaluation.loc[:, "score"] = -1.0
    assert (two.evaluation["score"] >= 0).all()  # analysing one story cannot change another's data


def test_missing_artifact_fails_its_story_at_its_line_with_what_is_there(project_copy: Path) -> None:
    stories = project_copy / "stories"
    shutil.copytree(stories / STORY, stories / "broken")
    story_file = stories / "broken" / "story.yaml"
    story_file.write_text(story_file.read_text().replace("artifact: evaluation/scored.csv",
                                                         "artifact: evaluation/scores.csv"))
    line = next(n for n, text in enumerate(story_file.read_text().splitlines(), 1) if "scores.csv" in text)
    by_slug = {s.slug: s for s in _stories(project_copy)}
    broken, good = by_slug["broken"], by_slug[STORY]
    source = _source(project_copy)
    source.prefetch([broken, good])  # the failed download is remembered, not raised here
    with pytest.raises(ReferenceNotFound) as caught:
        source.resolve(broken)
    error = caught.value
    assert error.location is not None and error.location.line == line
    assert re.fullmatch(r"run [0-9a-f]{32} has no artifact 'evaluation/scores\.csv'", error.message)
    assert error.hint == "artifacts there: evaluation/scored.csv"
    assert source.resolve(good).evaluation is not None  # the other story is untouched


def test_one_registry_read_gives_versions_aliases_and_tags(trained_project: Path) -> None:
    client = _client(trained_project)
    reader = BatchReader(lambda: client)
    reader.load_models([MODEL, "no-such-model"])
    registered = reader.models[MODEL]
    assert registered is not None and reader.models["no-such-model"] is None
    expected = client.get_registered_model(MODEL)
    assert registered.aliases == {alias: int(number) for alias, number in expected.aliases.items()}
    assert registered.tags == expected.tags
    assert sorted(registered.versions) == sorted(int(v.version) for v in client.search_model_versions(
        f"name = '{MODEL}'"))
    assert registered.version(alias="champion").run_id == client.get_model_version_by_alias(MODEL, "champion").run_id
    assert registered.version(number=2).run_id == client.get_model_version(MODEL, "2").run_id
    assert registered.version(alias="nobody") is None and registered.version(number=99) is None
