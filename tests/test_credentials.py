"""Credentials go to the tracking server and nowhere else, and never reach any output (issue 24, class 1).

A real ``mlflow server`` on 127.0.0.1 serves the trained example store, with tracking credentials in the
environment. Someone who can write to that server makes an experiment whose artifact location names a second
local listener (``mlflow-artifacts://127.0.0.1:<port>/...`` and ``http://127.0.0.1:<port>/...``) and registers
runs in it: one as a version a story names, one as a new version with no alias. The listener must receive no
request at all; the story that names the poisoned version fails with a located error, the good story beside it
is published; a story that asks for every version's scored set (``history.scored_sets: true``) fails on its
line too. A proxy in front of the server echoes the request's headers back in an error on one endpoint: the
token, the password and their encoded forms must not appear in the terminal, the site, check's JSON, the
``.storybook`` cache or a pinned snapshot.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from storybook.cli import app
from tests.mlflow_server import counting_proxy, mlflow_server

runner = CliRunner()
MODEL = "breast-cancer-screening"
USER = "alice-analyst"
PASSWORD = "hunter2/s3cret@pw"  # a '/' and an '@': both break naive URI splitting
TOKEN = "tok-98765-secret-bearer"
SECRETS = (PASSWORD, TOKEN, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
           base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()[:20], "hunter2", "s3cret", "98765")

STORY = """\
title: {title}
summary: Which scans go first.
audience: Managers
owner: Analytics
model:
  name: breast-cancer-screening
  alias: {alias}
intended_use:
  primary: Sort scans.
  users: [Specialists]
  out_of_scope: [Diagnosis]
metrics:
  - {{key: test_recall, label: Malignant tumours found, kind: recall}}
evaluation:
  artifact: evaluation/scored.csv
  threshold_param: threshold
  unit: patients
  positive_means: have a malignant tumour
  negative_means: have a harmless tumour
{extra}"""


@contextmanager
def listener() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A second local HTTP server that records the headers of every request it gets (and answers 404)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _record(self) -> None:
            seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_HEAD = _record

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), seen
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def echoing_proxy(upstream: str) -> Iterator[str]:
    """Forwards to ``upstream``, except metric-history reads, which fail with HTTP 400 and a message that
    echoes the request's Authorization header, decoded too, as a careless server might."""

    def echo(request: BaseHTTPRequestHandler) -> bool:
        if "get-history" not in request.path:
            return False
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(length)
        sent = request.headers.get("Authorization", "")
        decoded = base64.b64decode(sent.split()[-1]).decode() if sent.startswith("Basic ") else ""
        data = json.dumps({"error_code": "BAD_REQUEST",
                           "message": f"bad history request; you sent Authorization: {sent} ({decoded})"}).encode()
        request.send_response(400)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
        return True

    with counting_proxy(upstream, answer=echo) as (url, _):
        yield url


def _poison(store: str, port: int) -> None:
    """Two runs whose experiments keep artifacts on the listener: one registered as version 'poisoned' (alias),
    one as the newest version with no alias. Written straight into the store the server serves (recent mlflow
    servers refuse a foreign ``mlflow-artifacts`` location over REST; anyone who can write to the store, or an
    older server, can still set one)."""
    client = MlflowClient(store, store)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    source_run = client.get_run(champion.run_id)
    for name, location, alias in (
            ("poisoned-a", f"mlflow-artifacts://127.0.0.1:{port}/stolen", "poisoned"),
            ("poisoned-b", f"http://127.0.0.1:{port}/stolen", None)):
        experiment = client.create_experiment(name, artifact_location=location)
        run = client.create_run(experiment, run_name=name)
        for key, value in source_run.data.metrics.items():
            client.log_metric(run.info.run_id, key, value)
        client.log_param(run.info.run_id, "threshold", source_run.data.params.get("threshold", "0.5"))
        client.set_terminated(run.info.run_id)
        version = client.create_model_version(MODEL, f"{location}/{run.info.run_id}/model", run.info.run_id)
        if alias is not None:
            client.set_registered_model_alias(MODEL, alias, version.version)


def _project(root: Path) -> None:
    shutil.rmtree(root / "stories")
    stories = {
        "good": STORY.format(title="The model in use", alias="champion", extra="history: {compare_with: challenger}\n"),
        "poisoned": STORY.format(title="The poisoned version", alias="poisoned", extra=""),
        "every-version": STORY.format(title="Every version's scored set", alias="champion",
                                      extra="history:\n  last: 1\n  scored_sets: true\n"),
        "echoed": STORY.format(title="A series the server refuses", alias="champion",
                               extra="series:\n  - {key: production_mean_score, label: Average score}\n"),
    }
    for slug, text in stories.items():
        (root / "stories" / slug).mkdir(parents=True)
        (root / "stories" / slug / "story.yaml").write_text(text)
        for name in ("ethical-considerations.md", "caveats-and-recommendations.md"):
            (root / "stories" / slug / name).write_text("People decide.\n")
    config = root / "storybook.yaml"
    config.write_text(config.read_text().replace("sqlite:///mlflow/mlflow.db", "${TEAM_MLFLOW_URI}")
                      .replace("pdf: true", "pdf: false"))


def _line(root: Path, slug: str, text: str) -> int:
    lines = (root / "stories" / slug / "story.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in {where}"


@pytest.mark.parametrize("credentials", ["basic", "bearer"])
def test_credentials_go_only_to_the_tracking_server_and_never_reach_any_output(
        project_copy: Path, tmp_path: Path, credentials: str) -> None:
    _project(project_copy)
    backend = f"sqlite:///{project_copy / 'mlflow' / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_TOKEN": TOKEN} if credentials == "bearer" else {
        "MLFLOW_TRACKING_USERNAME": USER, "MLFLOW_TRACKING_PASSWORD": PASSWORD}
    with listener() as (port, seen), mlflow_server(backend, tmp_path / "served", tmp_path / "server.log") as url:
        _poison(backend, port)
        with echoing_proxy(url) as proxy:
            env["TEAM_MLFLOW_URI"] = proxy
            result = runner.invoke(app, ["build", str(project_copy), "--no-pdf", "--jobs", "1"], env=env)
            checked = runner.invoke(app, ["check", str(project_copy), "--online", "--format", "json"], env=env)
            pinned = runner.invoke(app, ["pin", str(project_copy)], env=env)
    print(result.output)  # shown when the test fails
    assert seen == []  # the listener was never contacted: no request, so no Authorization header either
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    site = project_copy / "site"
    assert (site / "good.html").is_file()  # the good story is published beside the poisoned ones
    assert "Malignant tumours found" in (site / "good.html").read_text()
    for slug, line_text, reason in (
            ("poisoned", "artifact:",
             rf"keeps its artifacts where storybook does not read them: mlflow-artifacts://127\.0\.0\.1:{port}/"
             r"stolen/\S+ is not on the tracking server"),
            ("every-version", "artifact:", rf"http://127\.0\.0\.1:{port}/stolen/\S+ is not on the tracking server"),
            ("echoed", "series:", r"MLflow at http://127\.0\.0\.1:\d+ failed \(.*bad history request")):
        line = _line(project_copy, slug, line_text)
        assert re.search(rf"stories/{slug}/story\.yaml:{line}: .*{reason}", result.output), (slug, result.output)
        assert not (site / f"{slug}.html").is_file()
    # The echoed header reached storybook, and was scrubbed from every form it took.
    assert "you sent Authorization: Basic ***" in result.output or "you sent Authorization: Bearer ***" in \
        result.output
    _no_secret(result.output, "the build's terminal output")
    _no_secret(checked.output, "check's JSON")
    _no_secret(pinned.output, "pin's terminal output")
    assert (project_copy / "stories" / "good" / "snapshot.json").is_file()  # the good story was pinned
    assert not (project_copy / "stories" / "poisoned" / "snapshot.json").exists()
    assert checked.exit_code == 1, checked.output
    findings = json.dumps(json.loads(checked.output))
    assert "is not on the tracking server" in findings and "bad history request" in findings
    for folder in (site, project_copy / ".storybook", project_copy / "stories"):
        for path in folder.rglob("*"):
            if path.is_file():
                _no_secret(path.read_bytes().decode("utf-8", "replace"), str(path))


def test_a_model_version_stored_on_another_host_is_refused_without_a_request(tmp_path: Path) -> None:
    """drivers: {source: model} for a version whose files a writer to the store put on another host: each place
    is refused before any request, and the error says which and why."""
    import numpy as np
    import pandas as pd

    from storybook.errors import SourceError
    from storybook.resolve.mlflow_source import MlflowSource
    from storybook.sources.loader import StorySource, load_project

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("e", artifact_location=(tmp_path / "artifacts").as_uri())
    run = client.create_run(experiment).info.run_id
    rng = np.random.default_rng(0)
    scored = pd.DataFrame({"x": rng.normal(size=50), "label": rng.integers(0, 2, 50), "score": rng.random(50)})
    client.log_text(run, scored.to_csv(index=False), "evaluation/scored.csv")
    client.log_metric(run, "test_recall", 0.5)
    with listener() as (port, seen):
        client.create_registered_model("elsewhere")
        client.create_model_version("elsewhere", f"http://127.0.0.1:{port}/models/m-1", run)
        project = tmp_path / "project"
        (project / "stories" / "s").mkdir(parents=True)
        (project / "storybook.yaml").write_text(f"title: t\ntracking_uri: {uri}\n")
        (project / "stories" / "s" / "story.yaml").write_text(
            STORY.format(title="t", alias="x", extra="drivers: {source: model, features: [x]}\n")
            .replace("  alias: x", "  version: 1").replace("breast-cancer-screening", "elsewhere")
            .replace("  threshold_param: threshold\n", "  threshold: 0.5\n"))
        for name in ("ethical-considerations.md", "caveats-and-recommendations.md"):
            (project / "stories" / "s" / name).write_text("People decide.\n")
        story = load_project(project).stories[0]
        assert isinstance(story, StorySource), story
        with pytest.raises(SourceError) as caught:
            MlflowSource(uri, project / ".cache").resolve(story)
    assert seen == []
    message = caught.value.message
    assert message.startswith("storybook could not download the model models:/elsewhere/1; it tried ")
    assert (f"models:/elsewhere/1 (refused: http://127.0.0.1:{port}/models/m-1 is neither a folder on this "
            "machine nor a location storybook.yaml lists under artifact_locations)") in message
