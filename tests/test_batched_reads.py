"""Batched MLflow reads against a real ``mlflow server``, counted by a proxy in front of it.

Stories over two registered models in two experiments (some by alias, some by run id, some with a series and a
scored evaluation set logged through the server's artifact proxy) build with a fixed, small number of requests
that does not grow when the stories double; the figures on the pages are the ones MlflowClient reports.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app
from storybook.resolve.mlflow_source import MlflowSource
from storybook.sources.loader import StorySource, load_project
from tests.fresh_process import build_in_fresh_process
from tests.mlflow_server import Counts, counting_proxy, mlflow_server

runner = CliRunner()
MODELS = ("triage-model", "fraud-model")
RUNS = 8  # four per experiment; the first four log a scored evaluation set
EVALUATED = 4
METRICS = {"test_recall": 0.81, "test_precision": 0.64, "test_roc_auc": 0.88, "test_tp": 81, "test_fp": 45,
           "test_tn": 380, "test_fn": 19}
SECTIONS = {
    "caveats-and-recommendations.md": "- Check the results each month against what really happened.\n",
    "ethical-considerations.md": "- **A missed case harms someone.** People still decide.\n",
    "metrics.md": "It finds {{ metric(\"test_recall\") | percent }} of true cases.\n",
    "model-details.md": "A {{ param(\"model_type\") }} built by the {{ tag(\"team\") }}.\n",
}


@dataclass
class Served:
    url: str  # the server itself: for the test's own MlflowClient, not counted
    proxy: str  # what the builds read through
    counts: Counts
    runs: list[str]
    root: Path

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.url, self.url)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real mlflow server (sqlite backend, artifacts proxied) with two experiments and two models."""
    root = tmp_path_factory.mktemp("batched")
    with mlflow_server(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts", root / "server.log") as url, \
            counting_proxy(url) as (proxy, counts):
        runs = _log(url, root)
        counts.take()
        yield Served(url, proxy, counts, runs, root)


def _log(url: str, root: Path) -> list[str]:
    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    client = MlflowClient(url, url)
    experiments = [client.create_experiment(name) for name in ("triage", "fraud")]
    rng = np.random.default_rng(7)
    runs: list[str] = []
    for index in range(RUNS):
        run_id = client.create_run(experiments[index % 2], run_name=f"run-{index}").info.run_id
        metrics = [Metric(key, value + (index / 100 if isinstance(value, float) else index), 1_700_000_000_000, 0)
                   for key, value in METRICS.items()]
        metrics += [Metric("cv_recall", 0.8 + step / 100 - index / 1000, 1_700_000_000_000 + step, step)
                    for step in range(5)]
        client.log_batch(run_id, metrics=metrics, params=[
            Param("model_type", "logistic regression"), Param("threshold", "0.5"), Param("seed", str(index))],
            tags=[RunTag("team", f"analytics team {index}")])
        if index < EVALUATED:
            labels = rng.random(240) < 0.3
            scores = 1 / (1 + np.exp(-(rng.normal(size=240) + 2.0 * labels - 1.0)))
            frame = pd.DataFrame({"label": labels.astype(int), "score": np.round(scores, 5),
                                  "segment": rng.choice(["north", "south"], 240)})
            scratch = root / f"scratch-{index}"
            scratch.mkdir()
            frame.to_csv(scratch / "scored.csv", index=False)
            client.log_artifact(run_id, str(scratch / "scored.csv"), "evaluation")
        client.set_terminated(run_id)
        runs.append(run_id)
    for number, name in enumerate(MODELS):
        client.create_registered_model(name)
        for version in range(2):
            run_id = runs[number * 2 + version]
            client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
        client.set_registered_model_alias(name, "champion", "1")
        client.set_registered_model_alias(name, "challenger", "2")
    return runs


def _story_yaml(index: int, runs: list[str]) -> str:
    lines = [f"title: Story {index}, which cases to look at first", "summary: A generated story.",
             "audience: Programme managers", "owner: Analytics team", "model:"]
    if index % 3 == 0:
        lines += [f"  name: {MODELS[(index // 3) % 2]}", f"  alias: {('champion', 'challenger')[(index // 6) % 2]}"]
        evaluated = True
    else:
        run = index % RUNS
        lines += [f"  run_id: {runs[run]}"]
        evaluated = run < EVALUATED
    lines += ["intended_use:", "  primary: Put likely cases first.", "  users: [Case workers]",
              "  out_of_scope: [Deciding without a person]", "metrics:",
              "  - {key: test_recall, label: True cases found, kind: recall}",
              "  - {key: test_precision, label: Flags that are right, kind: precision}"]
    if evaluated:
        lines += ["evaluation:", "  artifact: evaluation/scored.csv", "  label_column: label", "  score_column: score",
                  '  positive_value: "1"', "  threshold_param: threshold", "  unit: cases",
                  "  positive_means: need a closer look", "  negative_means: are fine",
                  "  flagged_means: put first",
                  "slices:", "  - {column: segment, label: Region, why: teams differ between regions}",
                  "series:", "  - {key: cv_recall, label: Recall per cross-validation fold}"]
    else:
        lines += ["evaluation:", "  counts: {tp: test_tp, fp: test_fp, tn: test_tn, fn: test_fn}",
                  "  threshold: 0.5", "  unit: cases", "  positive_means: need a closer look",
                  "  negative_means: are fine"]
    return "\n".join(lines) + "\n"


BROKEN = {"missing-run": "model:\n  run_id: " + "ab" * 16 + "\n",
          "missing-alias": "model:\n  name: triage-model\n  alias: nobody\n"}


def _project(root: Path, stories: int, served: Served, broken: bool = True) -> Path:
    """``stories`` generated stories (plus the two broken ones), reading MLflow through the counting proxy."""
    root.mkdir(parents=True)
    (root / "storybook.yaml").write_text(f"title: Batched\ntracking_uri: {served.proxy}\npdf: false\n")
    texts = {f"story-{index:02d}": _story_yaml(index, served.runs) for index in range(stories)}
    if broken:
        for slug, model in BROKEN.items():
            texts[slug] = re.sub(r"model:\n(  .*\n)+", model, texts["story-01"])
    for slug, text in texts.items():
        directory = root / "stories" / slug
        directory.mkdir(parents=True)
        (directory / "story.yaml").write_text(text)
        for name, body in SECTIONS.items():
            (directory / name).write_text(body)
    return root


SERVER_INFO = "GET /api/3.0/mlflow/server-info"


def _build(project: Path, served: Served) -> tuple[Counter[str], str]:
    """The requests one build made, without MLflow's /server-info probe (asked before the first proxied
    artifact download, at most once a minute per process: in a test process it may or may not fall in)."""
    served.counts.take()
    result = runner.invoke(app, ["build", str(project), "--no-pdf"])
    counts = served.counts.take()
    assert counts.pop(SERVER_INFO, 0) <= 1
    return counts, result.output


def test_requests_do_not_grow_with_stories(served: Served, tmp_path: Path) -> None:
    twelve, output = _build(_project(tmp_path / "twelve", 12, served), served)
    assert "12 built, 2 failed" in output, output
    twentyfour, output = _build(_project(tmp_path / "twentyfour", 24, served), served)
    assert "24 built, 2 failed" in output, output
    assert twentyfour == twelve, (twelve, twentyfour)
    api = Counter({k: v for k, v in twelve.items() if "/mlflow-artifacts/" not in k})
    assert api == Counter({
        "GET /api/2.0/mlflow/registered-models/search": 1,  # aliases of both models
        "GET /api/2.0/mlflow/model-versions/search": 1,  # versions of both models
        "POST /api/2.0/mlflow/experiments/search": 1,
        "POST /api/2.0/mlflow/runs/search": 1,  # every run of every story, both experiments
        "GET /api/2.0/mlflow/metrics/get-history-bulk-interval": 1,  # cv_recall of every run that draws it
    }), twelve
    # Each of the four scored evaluation sets is fetched once (a listing and the file), whatever reads it.
    artifacts = {k: v for k, v in twelve.items() if "/mlflow-artifacts/" in k}
    assert sum(artifacts.values()) == 2 * EVALUATED, artifacts
    assert sum(twelve.values()) < 20


def test_cached_artifacts_cost_no_request(served: Served, tmp_path: Path) -> None:
    project = _project(tmp_path / "project", 12, served)
    cold, _ = _build(project, served)
    assert any("/mlflow-artifacts/" in k for k in cold)
    warm, output = _build(project, served)
    assert "12 built, 2 failed" in output, output
    assert not [k for k in warm if "/mlflow-artifacts/" in k], warm
    assert sum(warm.values()) == sum(cold.values()) - 2 * EVALUATED


def test_pages_show_what_mlflow_client_reports(served: Served, tmp_path: Path) -> None:
    project = _project(tmp_path / "project", 12, served)
    _, output = _build(project, served)
    client = served.client
    for index in range(12):
        slug = f"story-{index:02d}"
        story_yaml = (project / "stories" / slug / "story.yaml").read_text()
        if "run_id:" in story_yaml:
            run_id = re.findall(r"run_id: (\w+)", story_yaml)[0]
        else:
            name, alias = re.findall(r"name: (\S+)\n  alias: (\S+)", story_yaml)[0]
            run_id = client.get_model_version_by_alias(name, alias).run_id
        page = (project / "site" / f"{slug}.html").read_text()
        shown = dict(re.findall(r'data-metric="([^"]+)">([^<]+)<', page))
        logged = client.get_run(run_id).data.metrics
        assert shown == {key: f"{logged[key]:.4f}" for key in ("test_recall", "test_precision")}, slug
        assert run_id in page, slug
    # The stories prefetch could not serve fail alone, with the located errors a single story gets.
    assert re.search(r"stories/missing-run/story\.yaml:\d+: run (ab){16} does not exist at "
                     r"http://127\.0\.0\.1:\d+", output), output
    assert re.search(r"stories/missing-alias/story\.yaml:\d+: model triage-model@nobody is not in the model "
                     r"registry at http://127\.0\.0\.1:\d+\n  fix: triage-model has aliases: challenger, champion",
                     output), output


def test_prefetched_stories_resolve_to_what_mlflow_client_reports(served: Served, tmp_path: Path) -> None:
    project = load_project(_project(tmp_path / "project", 12, served, broken=False), None)
    stories = [s for s in project.stories if isinstance(s, StorySource)]
    source = MlflowSource(served.proxy, tmp_path / "cache")
    source.prefetch(stories)
    served.counts.take()
    client = served.client
    for story in stories:
        resolved = source.resolve(story)
        run = client.get_run(resolved.run.run_id)
        assert {k: f.value for k, f in resolved.run.metrics.items()} == run.data.metrics
        assert resolved.run.params == run.data.params and resolved.run.tags == run.data.tags
        assert resolved.run.experiment_name == client.get_experiment(run.info.experiment_id).name
        assert resolved.run.run_name == run.info.run_name
        if story.config.model.name is not None:
            assert resolved.model is not None
            assert resolved.model.run_id == client.get_model_version_by_alias(
                story.config.model.name, str(story.config.model.alias)).run_id
            assert [(v.version, v.run_id) for v in resolved.versions] == sorted(
                (int(v.version), v.run_id) for v in client.search_model_versions(
                    f"name = '{story.config.model.name}'"))
            assert {a for v in resolved.versions for a in v.aliases} == {"champion", "challenger"}
        for key, series in resolved.series.items():
            history = client.get_metric_history(run.info.run_id, key)
            assert [(p.step, p.timestamp_ms, p.value) for p in series.points] == sorted(
                (m.step, m.timestamp, m.value) for m in history)
            assert len(series.points) == 5
        if resolved.evaluation is not None:
            expected = pd.read_csv(client.download_artifacts(run.info.run_id, "evaluation/scored.csv",
                                                             str(tmp_path / "expected")))
            pd.testing.assert_frame_equal(resolved.evaluation, expected)
    # After prefetch, resolving every story asked MLflow nothing.
    assert served.counts.take() == Counter()


def test_build_from_snapshots_alone_never_imports_mlflow(served: Served, tmp_path: Path) -> None:
    project = _project(tmp_path / "project", 3, served, broken=False)
    pinned = runner.invoke(app, ["pin", str(project)])
    assert pinned.exit_code == 0, pinned.output
    # Not --offline: the build sees every story pinned and never needs MLflow, so it never imports it.
    config = project / "storybook.yaml"
    config.write_text(config.read_text().replace(served.proxy, "http://127.0.0.1:9"))
    assert "mlflow" not in build_in_fresh_process(project, "--no-pdf", cwd=tmp_path)
    for index in range(3):
        assert (project / "site" / f"story-{index:02d}.html").is_file()


def test_two_builds_at_once_download_each_file_once(served: Served, tmp_path: Path) -> None:
    project = _project(tmp_path / "project", 12, served)
    storybook = Path(sys.executable).with_name("storybook")
    served.counts.take()
    builds = [subprocess.Popen([str(storybook), "build", str(project), "--no-pdf", "--out", str(tmp_path / name)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
              for name in ("site-a", "site-b")]
    outputs = [build.communicate(timeout=600)[0] for build in builds]
    for output in outputs:
        assert "12 built, 2 failed" in output, output
    counts = served.counts.take()
    files = {k: v for k, v in counts.items() if k.endswith("/evaluation/scored.csv")}
    assert len(files) == EVALUATED and set(files.values()) == {1}, counts  # one build downloaded, one waited
    assert counts["GET /api/2.0/mlflow-artifacts/artifacts"] == EVALUATED  # the listing before each download
    assert counts["POST /api/2.0/mlflow/runs/search"] == 2  # each build still reads its runs
