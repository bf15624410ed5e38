"""How fast, how lean and how chatty ``storybook build`` is at team scale, against issue 12's targets.

Run from the repository root:

    .venv/bin/python benchmarks/bench_build.py                 # 200 stories, 2,000 runs (about 5-10 minutes)
    .venv/bin/python benchmarks/bench_build.py --stories 1000  # 1,000 stories
    .venv/bin/python benchmarks/bench_build.py --quick         # 40 stories, 400 runs: a smoke run

Everything is generated in a temporary folder (kept with --keep DIR): a sqlite MLflow store with 2,000 runs in
4 experiments (10 metrics, params, tags and a 5-step metric history each; a small scored evaluation CSV on every
fifth run; 5 registered models with 3 versions and the aliases champion and challenger) and a project whose N
generated stories point at them (a quarter by name + alias, the rest by run id; three quarters with an evaluation set,
slices and a series chart; every 20th with a cost of error). Builds run the real CLI in subprocesses
(``storybook build PROJECT --no-pdf``) with bytecode caches on, as in an installed package; peak memory is the
largest sum of the proportional set sizes (PSS) of the build's process tree (the build, its forkserver and its
workers), sampled every 20 ms from /proc.

Figures, live from sqlite: cold build, no-change rebuild and one-story rebuild (one Markdown file edited; every
story is still resolved against MLflow, only rendering is skipped), and a cold build with PDFs. Then the stories
are pinned (``storybook pin``) and the same figures are taken from snapshots: that is how a team that pins builds,
and the no-change and one-story targets are read there. Through a real ``mlflow server`` on 127.0.0.1 behind a
counting proxy: MLflow REST requests per build, and the time spent resolving.
Floors, measured in the same run: one batched ``MlflowClient.search_runs`` of the stories' runs (sqlite and
through the server), ``mkdocs build`` of N trivial pages (if mkdocs is installed: it is in the dev extras),
pandoc + typst for one story's text (pypandoc_binary and typst, dev extras), and the CLI's own start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(1, str(REPO))  # for tests.mlflow_server's counting proxy (this process never imports storybook)
from tests.mlflow_server import counting_proxy  # noqa: E402

BIN = Path(sys.executable).parent
STORYBOOK = BIN / "storybook"
MLFLOW = BIN / "mlflow"
MKDOCS = BIN / "mkdocs"

EXPERIMENTS = ("bench-churn", "bench-fraud", "bench-triage", "bench-credit")
MODELS = tuple(f"bench-model-{i}" for i in range(5))
EVAL_EVERY = 5  # every fifth run logs a scored evaluation set
EVAL_ROWS = 300
SEGMENTS = ("north", "south", "east")
TIERS = ("basic", "plus")
METRIC_KEYS = ("test_recall", "test_precision", "test_specificity", "test_accuracy", "test_roc_auc", "test_brier",
               "test_tp", "test_fp", "test_tn", "test_fn")
GIB = 1 << 30

# Issue 12's targets (2-core machine).
TARGET_COLD_200 = 15.0
TARGET_NOCHANGE_1000 = 2.0
TARGET_ONE_STORY = 1.0
TARGET_PDF_200 = 60.0
TARGET_REQUESTS_200 = 20
TARGET_RESOLVE_RATIO = 1.5


# -- generated data -------------------------------------------------------------------------------------------

@dataclass
class Store:
    db: Path
    artifacts: Path
    run_ids: list[str]
    eval_run_ids: list[str]
    model_runs: dict[tuple[str, str], str]  # (model, alias) -> run id
    experiment_ids: list[str]

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.db}"


def make_store(root: Path, runs: int, seed: int = 12) -> Store:
    """A sqlite MLflow store with ``runs`` runs, logged with one log_batch each."""
    import logging
    import warnings

    import numpy as np
    import pandas as pd
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    db = root / "mlflow.db"
    artifacts = root / "artifacts"
    artifacts.mkdir(parents=True)
    # sqlite commits fsync: on a disk that is ~60 ms a run, on tmpfs ~25 ms. Log into tmpfs when there is one,
    # then move the finished database next to the artifacts (the builds read it from disk).
    shm = Path("/dev/shm")
    staging = Path(tempfile.mkdtemp(prefix="storybook-bench-", dir=shm)) if shm.is_dir() else root
    uri = f"sqlite:///{staging / 'mlflow.db'}"
    client = MlflowClient(uri, uri)
    rng = np.random.default_rng(seed)
    experiment_ids = [client.create_experiment(name, artifact_location=(artifacts / name).as_uri())
                      for name in EXPERIMENTS]
    scratch = root / "scratch"
    scratch.mkdir()
    run_ids: list[str] = []
    eval_run_ids: list[str] = []
    now_ms = int(time.time() * 1000)
    for index in range(runs):
        experiment_id = experiment_ids[index % len(experiment_ids)]
        run = client.create_run(experiment_id, run_name=f"run-{index:04d}", start_time=now_ms - 86_400_000)
        run_id = run.info.run_id
        recall, precision, specificity = (float(x) for x in rng.uniform(0.6, 0.95, size=3))
        tp, fp, tn, fn = (int(x) for x in rng.integers(10, 200, size=4))
        values = [recall, precision, specificity, float(rng.uniform(0.7, 0.95)), float(rng.uniform(0.75, 0.98)),
                  float(rng.uniform(0.05, 0.2)), tp, fp, tn, fn]
        metrics = [Metric(key, float(value), now_ms, 0) for key, value in zip(METRIC_KEYS, values, strict=True)]
        metrics += [Metric("cv_recall", float(recall + rng.normal(0, 0.02)), now_ms + step, step) for step in range(5)]
        params = [Param("model_type", "gradient boosting" if index % 2 else "logistic regression"),
                  Param("C", str(round(float(rng.uniform(0.01, 1.0)), 3))), Param("features", str(10 + index % 20)),
                  Param("threshold", "0.5"), Param("seed", str(index))]
        tags = [RunTag("team", f"analytics team {index % 7}"), RunTag("purpose", "benchmark")]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        if index % EVAL_EVERY == 0:
            labels = rng.random(EVAL_ROWS) < 0.3
            scores = 1 / (1 + np.exp(-(rng.normal(size=EVAL_ROWS) + 2.0 * labels - 1.0)))
            frame = pd.DataFrame({"label": labels.astype(int), "score": np.round(scores, 5),
                                  "segment": rng.choice(SEGMENTS, EVAL_ROWS), "tier": rng.choice(TIERS, EVAL_ROWS)})
            target = scratch / "scored.csv"
            frame.to_csv(target, index=False)
            client.log_artifact(run_id, str(target), "evaluation")
            eval_run_ids.append(run_id)
        client.set_terminated(run_id, end_time=now_ms)
        run_ids.append(run_id)
    model_runs: dict[tuple[str, str], str] = {}
    for number, name in enumerate(MODELS):
        client.create_registered_model(name, description=f"Benchmark model {number}.")
        for version in range(3):
            run_id = eval_run_ids[(number * 3 + version) * 7 % len(eval_run_ids)]
            client.create_model_version(name, f"{artifacts}/model-{number}-{version}", run_id=run_id)
        client.set_registered_model_alias(name, "champion", "2")
        client.set_registered_model_alias(name, "challenger", "3")
        model_runs[(name, "champion")] = eval_run_ids[(number * 3 + 1) * 7 % len(eval_run_ids)]
        model_runs[(name, "challenger")] = eval_run_ids[(number * 3 + 2) * 7 % len(eval_run_ids)]
    shutil.rmtree(scratch)
    client._tracking_client.store.engine.dispose()  # close sqlite before the move
    if staging != root:
        shutil.move(staging / "mlflow.db", db)
        shutil.rmtree(staging, ignore_errors=True)
    return Store(db, artifacts, run_ids, eval_run_ids, model_runs, experiment_ids)


STORY_MD = {
    "caveats-and-recommendations.md": (
        "- Check the model's results each month against what really happened, and after any change upstream.\n"
        "- Keep the threshold under review with the people who act on the flags.\n"),
    "ethical-considerations.md": (
        "- **A missed case harms someone.** The model only reorders a queue; people still decide.\n"
        "- **People trust numbers.** A flag is a prompt to look sooner, not a verdict.\n"),
    "metrics.md": (
        "We report how many true cases the model finds ({{ metric(\"test_recall\") | percent }} in testing)\n"
        "and how many of its flags are right ({{ metric(\"test_precision\") | percent }}).\n"),
    "model-details.md": (
        "The model is a {{ param(\"model_type\") }} with C = {{ param(\"C\") }}. It reads\n"
        "{{ param(\"features\") }} measurements and was built by the {{ tag(\"team\") }}.\n"),
}


def story_yaml(index: int, store: Store, rng: random.Random) -> tuple[str, bool]:
    """One story's YAML and whether it uses the run's evaluation artifact."""
    lines = [f"title: Benchmark story {index}, which cases should be looked at first",
             "summary: >-",
             f"  A generated story ({index}) about a model that flags cases so that people look at them first.",
             "audience: Programme managers", "owner: Analytics team"]
    if index % 4 == 0:
        name = MODELS[(index // 4) % len(MODELS)]
        alias = "champion" if (index // 4) % 2 == 0 else "challenger"
        lines += ["model:", f"  name: {name}", f"  alias: {alias}"]
        evaluated = True
    elif index % 4 in (1, 2):
        run_id = store.eval_run_ids[(index * 7) % len(store.eval_run_ids)]
        lines += ["model:", f"  run_id: {run_id}"]
        evaluated = True
    else:
        non_eval = [r for i, r in enumerate(store.run_ids) if i % EVAL_EVERY]
        lines += ["model:", f"  run_id: {non_eval[(index * 13) % len(non_eval)]}"]
        evaluated = False
    lines += ["intended_use:", "  primary: Put likely cases at the front of the queue.",
              "  users: [Case workers]", "  out_of_scope: [Deciding without a person reading the case]",
              "metrics:",
              "  - {key: test_recall, label: True cases found, kind: recall}",
              "  - {key: test_precision, label: Flags that are right, kind: precision}",
              "  - {key: test_roc_auc, label: Ranking quality, kind: roc_auc}"]
    if evaluated:
        lines += ["evaluation:", "  artifact: evaluation/scored.csv", "  label_column: label",
                  "  score_column: score", '  positive_value: "1"', "  threshold_param: threshold",
                  "  unit: cases", "  positive_means: need a closer look", "  negative_means: are fine",
                  "  flagged_means: put at the front of the queue",
                  "slices:", "  - {column: segment, label: Region, why: teams differ between regions}",
                  "series:", "  - {key: cv_recall, label: Recall per cross-validation fold}"]
        if index % 20 == 0:
            lines += ["cost_of_error:", "  unit: hours of staff time", "  owner: Programme lead",
                      f"  false_positive: {rng.choice([1, 1.5, 2])}", f"  false_negative: {rng.choice([10, 20, 40])}",
                      "  population: 1000"]
    else:
        lines += ["evaluation:", "  counts: {tp: test_tp, fp: test_fp, tn: test_tn, fn: test_fn}",
                  "  threshold: 0.5", "  unit: cases", "  positive_means: need a closer look",
                  "  negative_means: are fine"]
    return "\n".join(lines) + "\n", evaluated


def make_project(root: Path, stories: int, store: Store, title: str = "Benchmark stories") -> Path:
    """A project with ``stories`` generated stories; tracking URI from MLFLOW_TRACKING_URI (set per build)."""
    rng = random.Random(stories)
    root.mkdir(parents=True)
    (root / "storybook.yaml").write_text(f"title: {title}\nstories_dir: stories\nsite_dir: site\npdf: false\n")
    for index in range(stories):
        directory = root / "stories" / f"story-{index:04d}"
        directory.mkdir(parents=True)
        text, _ = story_yaml(index, store, rng)
        (directory / "story.yaml").write_text(text)
        for name, body in STORY_MD.items():
            (directory / name).write_text(body)
    return root


def clean(project: Path) -> None:
    for name in ("site", ".storybook", "site-server"):
        shutil.rmtree(project / name, ignore_errors=True)
    for leftover in project.glob(".site*"):
        shutil.rmtree(leftover, ignore_errors=True)


# -- running builds ---------------------------------------------------------------------------------------------

@dataclass
class Run:
    seconds: float
    cpu: float  # user + system seconds of the child and of every process under it (workers sampled from /proc)
    max_rss: int  # bytes: the child's own peak RSS, or its process tree's peak PSS sum if larger
    code: int
    output: str


def _tree(root_pid: int) -> tuple[int, dict[int, float]]:
    """Memory of ``root_pid`` and its descendants, from /proc (nothing where /proc is missing): the sum of their
    proportional set sizes (PSS), so pages that forked workers share are counted once, not once per worker; and
    the CPU seconds (user + system) each descendant has used so far."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
                cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {root_pid}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            continue
    return total, {pid: cpu[pid] for pid in tree - {root_pid} if pid in cpu}


def run(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run a child, wait for it with wait4 (its own rusage); return wall time, peak tree memory and output."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        # Bytecode caches on, as in an installed package (this machine's environment turns them off).
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd,
                                 env={**base, "NO_COLOR": "1", "TERM": "dumb", **(env or {})})
        peak = [0]
        descendants: dict[int, float] = {}  # pid -> CPU seconds last seen (workers are not the child's to wait for)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                memory, cpu = _tree(child.pid)
                peak[0] = max(peak[0], memory)
                for pid, seconds in cpu.items():
                    descendants[pid] = max(descendants.get(pid, 0.0), seconds)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    rss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    own = usage.ru_utime + usage.ru_stime  # the child and the children it waited for
    return Run(seconds, own + sum(descendants.values()), max(rss, peak[0]), child.returncode, text)


def build(project: Path, uri: str, *, pdf: bool = False, out: Path | None = None) -> Run:
    command = [str(STORYBOOK), "build", str(project), "--pdf" if pdf else "--no-pdf"]
    if out is not None:
        command += ["--out", str(out)]
    result = run(command, env={"MLFLOW_TRACKING_URI": uri})
    if result.code != 0:
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        raise SystemExit(f"build failed (exit {result.code}): {' '.join(command)}\n{tail}")
    return result


def pin(project: Path, uri: str) -> Run:
    """``storybook pin PROJECT``: every story's snapshot written from MLflow."""
    result = run([str(STORYBOOK), "pin", str(project)], env={"MLFLOW_TRACKING_URI": uri})
    if result.code != 0:
        raise SystemExit(f"pin failed (exit {result.code}):\n{result.output[-3000:]}")
    return result


def median(values: list[float]) -> float:
    return statistics.median(values)


RESOLVE_PROBE = r"""
import json, sys, time
start = time.perf_counter()
import mlflow.tracking  # noqa: F401  (imported before the clock starts, so resolve time excludes the import)
import_seconds = time.perf_counter() - start
from storybook.resolve import mlflow_source
spent = [0.0, 0]
# The client (and its store: engine, schema check) is made inside the first clocked call; the search floor makes
# its client before its clock, so that time is taken out here and reported on its own.
client_start = [0.0]
original_client_init = mlflow.tracking.MlflowClient.__init__
def timed_client_init(self, *args, **kwargs):
    begin = time.perf_counter()
    try:
        return original_client_init(self, *args, **kwargs)
    finally:
        client_start[0] += time.perf_counter() - begin
mlflow.tracking.MlflowClient.__init__ = timed_client_init
original = mlflow_source.MlflowSource.resolve
def timed(self, story):
    begin = time.perf_counter()
    try:
        return original(self, story)
    finally:
        spent[0] += time.perf_counter() - begin
        spent[1] += 1
mlflow_source.MlflowSource.resolve = timed
original_prefetch = getattr(mlflow_source.MlflowSource, "prefetch", None)
def timed_prefetch(self, stories):
    begin = time.perf_counter()
    try:
        return original_prefetch(self, stories)
    finally:
        spent[0] += time.perf_counter() - begin
if original_prefetch is not None:  # the batched reads before the stories resolve count as resolving
    mlflow_source.MlflowSource.prefetch = timed_prefetch
from storybook.cli import main
sys.argv = ["storybook", "build", sys.argv[1], "--no-pdf", "--out", sys.argv[2]]
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
import os
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({"import_mlflow": import_seconds, "resolve": spent[0] - client_start[0], "client": client_start[0],
               "stories": spent[1], "code": code}, out)
"""


def resolve_probe(project: Path, uri: str, out: Path, scratch: Path) -> dict[str, Any]:
    """Build in a subprocess with MlflowSource.resolve wrapped in a clock; the sum over stories."""
    result_file = scratch / "probe.json"
    result_file.unlink(missing_ok=True)
    shutil.rmtree(project / ".storybook", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    child = run([sys.executable, "-c", RESOLVE_PROBE, str(project), str(out)],
                env={"MLFLOW_TRACKING_URI": uri, "PROBE_OUT": str(result_file)})
    data: dict[str, Any] = json.loads(result_file.read_text()) if result_file.exists() else {"code": child.code}
    if data["code"] != 0:
        tail = "\n".join(child.output.strip().splitlines()[-15:])
        raise SystemExit(f"build (resolve probe) failed with exit {data['code']}:\n{tail}")
    data["wall"] = child.seconds
    return data


SEARCH_PROBE = r"""
import json, os, sys, time, logging, warnings
warnings.simplefilter("ignore")
logging.getLogger("mlflow").setLevel(logging.ERROR)
start = time.perf_counter()
from mlflow.tracking import MlflowClient
import_seconds = time.perf_counter() - start
uri = os.environ["MLFLOW_TRACKING_URI"]
spec = json.load(open(os.environ["PROBE_IN"]))
client = MlflowClient(uri, uri)

def search(run_ids):
    found, token = [], None
    quoted = ", ".join(f"'{r}'" for r in run_ids)
    query = f"attributes.run_id IN ({quoted})" if run_ids else ""
    while True:
        page = client.search_runs(spec["experiments"], query, max_results=1000, page_token=token)
        found += page
        token = page.token
        if not token:
            return len(found)

figures = {"import_mlflow": import_seconds}
begin = time.perf_counter(); n = search(spec["runs"]); figures["stories_runs_first"] = time.perf_counter() - begin
figures["stories_runs_count"] = n
begin = time.perf_counter(); search(spec["runs"]); figures["stories_runs_warm"] = time.perf_counter() - begin
begin = time.perf_counter(); n = search([]); figures["all_runs"] = time.perf_counter() - begin
figures["all_runs_count"] = n
begin = time.perf_counter(); client.get_run(spec["runs"][0]); figures["get_run"] = time.perf_counter() - begin
# What any resolver of these stories reads besides their runs: the registry (models with their aliases, and their
# versions), then each evaluation set a story tells, parsed as a table. Only for a store whose artifacts are
# local files (the paths are found before the clock).
import pandas as pd
from urllib.parse import urlsplit
tables = []
for run_id in spec["runs"]:
    parts = urlsplit(client.get_run(run_id).info.artifact_uri)
    if parts.scheme in ("", "file") and os.path.isfile(os.path.join(parts.path, "evaluation", "scored.csv")):
        tables.append(os.path.join(parts.path, "evaluation", "scored.csv"))
pd.read_csv(tables[0]) if tables else None  # pandas' first call, outside the clock
begin = time.perf_counter()
client.search_registered_models(max_results=1000)
client.search_model_versions("", max_results=10000)
figures["registry"] = time.perf_counter() - begin
begin = time.perf_counter()
for path in tables:
    pd.read_csv(path)
figures["tables"] = time.perf_counter() - begin
figures["tables_count"] = len(tables)
json.dump(figures, open(os.environ["PROBE_OUT"], "w"))
"""


def search_floor(uri: str, experiments: list[str], run_ids: list[str], scratch: Path) -> dict[str, float]:
    """One batched search_runs of the stories' runs (first call in a fresh process, then warm), and of all runs."""
    spec = scratch / "search-in.json"
    spec.write_text(json.dumps({"experiments": experiments, "runs": run_ids}))
    result = scratch / "search-out.json"
    result.unlink(missing_ok=True)
    child = run([sys.executable, "-c", SEARCH_PROBE],
                env={"MLFLOW_TRACKING_URI": uri, "PROBE_IN": str(spec), "PROBE_OUT": str(result)})
    if not result.exists():
        raise SystemExit(f"search probe failed:\n{child.output[-3000:]}")
    figures: dict[str, float] = json.loads(result.read_text())
    return figures


def story_run_ids(store: Store, project: Path) -> list[str]:
    """The distinct runs the project's stories resolve to (aliases followed)."""
    found: list[str] = []
    for path in sorted((project / "stories").glob("*/story.yaml")):
        name = alias = run_id = None
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("name: "):
                name = stripped[6:]
            elif stripped.startswith("alias: "):
                alias = stripped[7:]
            elif stripped.startswith("run_id: "):
                run_id = stripped[8:]
        if run_id is None and name is not None and alias is not None:
            run_id = store.model_runs[(name, alias)]
        if run_id is not None and run_id not in found:
            found.append(run_id)
    return found


# -- a real mlflow server behind a counting proxy -------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mlflow_server(backend_uri: str, artifacts: Path, log: Path) -> Iterator[str]:
    port = free_port()
    command = [str(MLFLOW), "server", "--backend-store-uri", backend_uri, "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--artifacts-destination", str(artifacts)]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"mlflow server exited early:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"mlflow server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# -- floors -------------------------------------------------------------------------------------------------------

def mkdocs_floor(root: Path, pages: int) -> float | None:
    """``mkdocs build`` of ``pages`` trivial pages (median of 3), or None without mkdocs."""
    if not MKDOCS.exists():
        return None
    docs = root / "docs"
    docs.mkdir(parents=True)
    (root / "mkdocs.yml").write_text("site_name: Benchmark\n")
    (docs / "index.md").write_text("# Benchmark\n\nIndex page.\n")
    for index in range(pages):
        body = "".join(STORY_MD.values()).replace("{{", "").replace("}}", "")
        (docs / f"story-{index:04d}.md").write_text(
            f"# Benchmark story {index}\n\n{body}\n| figure | value |\n|---|---|\n| recall | 81% |\n")
    times = []
    for _ in range(3):
        shutil.rmtree(root / "site", ignore_errors=True)
        result = run([str(MKDOCS), "build", "-q", "-f", str(root / "mkdocs.yml"), "-d", str(root / "site")])
        if result.code != 0:
            print(f"  mkdocs build failed:\n{result.output[-1500:]}")
            return None
        times.append(result.seconds)
    return median(times)


def pandoc_typst_floor(project: Path) -> float | None:
    """pandoc (markdown -> typst) + typst (-> PDF) for one story's text, median of 5 after a warm-up."""
    try:
        import pypandoc
        import typst
    except ImportError:
        return None
    story = project / "stories" / "story-0000"
    text = "# Benchmark story 0\n\n" + "\n".join(
        f"## {path.stem.replace('-', ' ').capitalize()}\n\n{path.read_text()}" for path in sorted(story.glob("*.md")))
    times = []
    for _ in range(6):
        start = time.perf_counter()
        source = pypandoc.convert_text(text, "typst", format="markdown", extra_args=["--standalone"])
        pdf = typst.compile(source.encode(), format="pdf")
        times.append(time.perf_counter() - start)
        assert pdf[:4] == b"%PDF"
    return median(times[1:])


# -- the report ---------------------------------------------------------------------------------------------------

@dataclass
class Row:
    figure: str
    measured: str
    cpu: str = ""
    target: str = ""
    floor: str = ""
    ratio: str = ""
    verdict: str = ""


def seconds(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ratio(value: float | None, floor: float | None) -> str:
    if value is None or floor is None or floor <= 0 or value != value:
        return ""
    return f"{value / floor:.1f}x"


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def print_table(rows: list[Row]) -> None:
    headers = ("figure", "measured", "cpu", "target", "floor", "vs floor", "")
    cells = [headers, *[(r.figure, r.measured, r.cpu, r.target, r.floor, r.ratio, r.verdict) for r in rows]]
    widths = [max(len(str(c[i])) for c in cells) for i in range(len(headers))]
    for number, line in enumerate(cells):
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if number == 0:
            print("  ".join("-" * w for w in widths))


SKIPPABLE = ("server", "pdf", "probe", "one-story", "floors", "live")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=200, help="generated stories (200; issue 12 also asks 1000)")
    parser.add_argument("--runs", type=int, default=2000, help="runs in the generated MLflow store")
    parser.add_argument("--pdf", type=int, help="stories in the cold build with PDFs (default: all of them)")
    parser.add_argument("--rebuilds", type=int, default=3,
                        help="at most this many repeats of each rebuild figure (median); repeats stop after 30 s")
    parser.add_argument("--quick", action="store_true", help="40 stories, 400 runs, PDFs for 10: a smoke run")
    parser.add_argument("--skip", action="append", default=[], choices=SKIPPABLE, help="leave out a part")
    parser.add_argument("--keep", type=Path, help="generate into this (new) folder and keep it")
    args = parser.parse_args()
    if args.quick:
        args.stories, args.runs, args.pdf, args.rebuilds = 40, 400, 10, 2
    if args.keep is not None:
        args.keep.mkdir(parents=True)
        root = args.keep.resolve()
    else:
        root = Path(tempfile.mkdtemp(prefix="storybook-bench-"))
    # Children run from here, so `import storybook` means the installed package (or PYTHONPATH's), not ./storybook.
    os.chdir(root)
    try:
        bench(root, args)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def repeat(times: int, action: Any, budget: float = 30.0) -> list[Run]:
    """Run ``action(attempt)`` at least once and at most ``times``, stopping once ``budget`` seconds are spent."""
    results: list[Run] = []
    spent = 0.0
    for attempt in range(times):
        if results and spent > budget:
            break
        results.append(action(attempt))
        spent += results[-1].seconds
    return results


def bench(root: Path, args: argparse.Namespace) -> None:
    n = args.stories
    skip = set(args.skip)
    started = time.perf_counter()
    load_before = os.getloadavg()
    where = run([sys.executable, "-c", "import storybook; print(storybook.__file__)"]).output.strip()
    step(f"benchmarking {where}")
    step(f"generating a sqlite MLflow store with {args.runs:,} runs in {root}")
    begin = time.perf_counter()
    store = make_store(root / "store", args.runs)
    step(f"  {len(store.run_ids):,} runs ({len(store.eval_run_ids)} with an evaluation set), "
         f"{len(MODELS)} registered models, in {time.perf_counter() - begin:.1f} s")
    project = make_project(root / "project", n, store)
    run_ids = story_run_ids(store, project)
    uri = store.uri
    scratch = root / "scratch"
    scratch.mkdir()
    peak = 0

    cli_start = mkdocs_seconds = mkdocs_one = pandoc_typst = None
    search_sqlite: dict[str, float] = {}
    if "floors" not in skip:
        step("floors: CLI start-up, search_runs (sqlite), mkdocs, pandoc + typst")
        cli_start = median([run([str(STORYBOOK), "--help"]).seconds for _ in range(3)])
        search_sqlite = search_floor(uri, store.experiment_ids, run_ids, scratch)
        mkdocs_seconds = mkdocs_floor(root / "mkdocs", n)
        mkdocs_one = mkdocs_floor(root / "mkdocs-one", 1)
        pandoc_typst = pandoc_typst_floor(project)

    def edit_and_build(attempt: int) -> Run:
        edited = project / "stories" / f"story-{(attempt * 37 + 11) % n:04d}" / "caveats-and-recommendations.md"
        edited.write_text(edited.read_text() + f"- Edited for the benchmark ({attempt}).\n")
        return build(project, uri)

    live: dict[str, Any] = {}
    if "live" not in skip:
        step(f"cold build, {n} stories, live from sqlite")
        clean(project)
        live["cold"] = build(project, uri)
        step(f"  {seconds(live['cold'].seconds)}; no-change rebuild (every story resolved again, none rendered)")
        live["unchanged"] = repeat(args.rebuilds, lambda _: build(project, uri))
        if "one-story" not in skip:
            step(f"  {seconds(median([r.seconds for r in live['unchanged']]))}; one-story rebuild")
            live["one"] = repeat(args.rebuilds, edit_and_build)
        peak = max(peak, live["cold"].max_rss, *(r.max_rss for key in ("unchanged", "one") for r in live.get(key, [])))
    with_pdfs: Run | None = None
    pdf_stories = min(args.pdf or n, n)
    if "pdf" not in skip:
        step(f"cold build with PDFs, {pdf_stories} stories, live from sqlite")
        pdf_project = project if pdf_stories == n else make_project(root / "project-pdf", pdf_stories, store)
        clean(pdf_project)
        with_pdfs = build(pdf_project, uri, pdf=True)
        peak = max(peak, with_pdfs.max_rss)
        step(f"  {seconds(with_pdfs.seconds)}")
    probe_sqlite: dict[str, Any] = {}
    if "probe" not in skip:
        step("resolve time from sqlite (a cold build with a clock around MlflowSource.resolve)")
        probe_sqlite = resolve_probe(project, uri, root / "probe-site", scratch)

    server: dict[str, Any] = {}
    if "server" not in skip:
        step("mlflow server on 127.0.0.1 (same sqlite backend) behind a counting proxy")
        with mlflow_server(uri, root / "server-artifacts", root / "server.log") as upstream, \
                counting_proxy(upstream) as (proxy, counts):
            server["search"] = search_floor(proxy, store.experiment_ids, run_ids, scratch)
            counts.take()
            step("  cold build through the server (with the resolve clock)")
            clean(project)
            server["probe"] = resolve_probe(project, proxy, project / "site-server", scratch)
            server["cold_requests"] = counts.take()
            step("  no-change rebuild through the server")
            again = build(project, proxy, out=project / "site-server")
            peak = max(peak, again.max_rss)
            server["rebuild"] = again.seconds
            server["rebuild_requests"] = counts.take()

    step(f"pinning {n} stories (storybook pin), then the same builds from snapshots")
    pinned = pin(project, uri)
    clean(project)
    snap_cold = build(project, uri)
    peak = max(peak, snap_cold.max_rss)
    step(f"  cold build from snapshots {seconds(snap_cold.seconds)}; no-change rebuild")
    unchanged = repeat(args.rebuilds, lambda _: build(project, uri))
    one_story: list[Run] = []
    if "one-story" not in skip:
        step(f"  {seconds(median([r.seconds for r in unchanged]))}; one-story rebuild (one Markdown file edited)")
        one_story = repeat(args.rebuilds, edit_and_build)
    peak = max(peak, *(r.max_rss for r in unchanged + one_story))

    # -- the table ---------------------------------------------------------------------------------------------
    rows: list[Row] = []
    at_200 = n == 200
    mkdocs_label = f"mkdocs {n} pages {seconds(mkdocs_seconds)}" if mkdocs_seconds else ""
    cold = live.get("cold")
    if cold is not None:
        rows.append(Row(f"cold build, {n} stories, no PDF (live, sqlite)", seconds(cold.seconds), seconds(cold.cpu),
                        f"< {TARGET_COLD_200:.0f} s (200 stories)", mkdocs_label, ratio(cold.seconds, mkdocs_seconds),
                        verdict(cold.seconds < TARGET_COLD_200) if at_200 else ""))
        again = median([r.seconds for r in live["unchanged"]])
        rows.append(Row(f"  no-change rebuild, live (median of {len(live['unchanged'])}): all resolved again",
                        seconds(again), seconds(median([r.cpu for r in live["unchanged"]]))))
        if live.get("one"):
            rows.append(Row(f"  one-story rebuild, live (median of {len(live['one'])})",
                            seconds(median([r.seconds for r in live["one"]])),
                            seconds(median([r.cpu for r in live["one"]]))))
    if with_pdfs is not None:
        pdf_floor = None if pandoc_typst is None else pdf_stories * pandoc_typst
        rows.append(Row(f"cold build with PDFs, {pdf_stories} stories (live, sqlite)", seconds(with_pdfs.seconds),
                        seconds(with_pdfs.cpu), f"< {TARGET_PDF_200:.0f} s (200 stories)",
                        "" if pdf_floor is None else f"{pdf_stories} x pandoc+typst {seconds(pdf_floor)}",
                        ratio(with_pdfs.seconds, pdf_floor),
                        verdict(with_pdfs.seconds < TARGET_PDF_200) if pdf_stories == 200 else ""))
    rows.append(Row(f"pin {n} stories (storybook pin, sqlite)", seconds(pinned.seconds), seconds(pinned.cpu)))
    rows.append(Row(f"cold build, {n} snapshot stories, no PDF", seconds(snap_cold.seconds), seconds(snap_cold.cpu),
                    "", mkdocs_label, ratio(snap_cold.seconds, mkdocs_seconds)))
    nochange = median([r.seconds for r in unchanged])
    rows.append(Row(f"no-change rebuild, {n} snapshot stories (median of {len(unchanged)})", seconds(nochange),
                    seconds(median([r.cpu for r in unchanged])), f"< {TARGET_NOCHANGE_1000:.0f} s (1,000 stories)",
                    f"CLI start {seconds(cli_start)}" if cli_start else "", ratio(nochange, cli_start),
                    verdict(nochange < TARGET_NOCHANGE_1000) if n >= 1000 else
                    ("MISSED already at this size" if nochange >= TARGET_NOCHANGE_1000 else "")))
    if one_story:
        one = median([r.seconds for r in one_story])
        rows.append(Row(f"one-story rebuild, {n} snapshot stories (median of {len(one_story)})", seconds(one),
                        seconds(median([r.cpu for r in one_story])), f"< {TARGET_ONE_STORY:.0f} s",
                        f"CLI start {seconds(cli_start)}" if cli_start else "", ratio(one, cli_start),
                        verdict(one < TARGET_ONE_STORY)))
    if probe_sqlite:
        floor = search_sqlite.get("stories_runs_first")
        rows.append(Row(f"resolve {probe_sqlite['stories']} stories (sqlite, in the build)",
                        seconds(probe_sqlite["resolve"]), "", f"<= {TARGET_RESOLVE_RATIO}x floor",
                        f"1 search_runs of {len(run_ids)} runs {seconds(floor)}" if floor else "",
                        ratio(probe_sqlite["resolve"], floor),
                        verdict(probe_sqlite["resolve"] <= TARGET_RESOLVE_RATIO * floor) if floor else ""))
    if server:
        requests = sum(server["cold_requests"].values())
        minimum = len(store.experiment_ids) + len(MODELS)
        probe, search = server["probe"], server["search"]
        rows.append(Row(f"MLflow requests, cold build of {n} stories (server)", f"{requests:,}", "",
                        f"< {TARGET_REQUESTS_200} (200 stories)", f"experiments + models = {minimum}",
                        ratio(requests, minimum),
                        verdict(requests < TARGET_REQUESTS_200) if at_200 else
                        ("MISSED already at this size" if requests >= TARGET_REQUESTS_200 else "")))
        rows.append(Row("MLflow requests, no-change rebuild (server)",
                        f"{sum(server['rebuild_requests'].values()):,}"))
        rows.append(Row(f"cold build, {n} stories, no PDF (server)", seconds(probe.get("wall")), "", "",
                        mkdocs_label, ratio(probe.get("wall"), mkdocs_seconds)))
        floor = search["stories_runs_first"]
        rows.append(Row(f"resolve {probe['stories']} stories (server, in the build)", seconds(probe["resolve"]), "",
                        f"<= {TARGET_RESOLVE_RATIO}x floor", f"1 search_runs of {len(run_ids)} runs {seconds(floor)}",
                        ratio(probe["resolve"], floor), verdict(probe["resolve"] <= TARGET_RESOLVE_RATIO * floor)))
    rows.append(Row("peak memory (a build's processes together)", f"{peak / 2**20:,.0f} MiB", "", "< 1 GiB", "", "",
                    verdict(peak < GIB)))

    print()
    print(f"storybook build benchmark: {n} stories, {len(store.run_ids):,} runs in {len(EXPERIMENTS)} experiments, "
          f"{len(MODELS)} registered models; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; load average "
          f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    print()
    print_table(rows)
    print()
    print("floors and reference figures (same run):")
    if search_sqlite:
        print(f"  import mlflow (fresh process)                  {seconds(search_sqlite['import_mlflow'])}")
        print(f"  storybook --help (CLI start-up)                {seconds(cli_start)}")
        print(f"  search_runs, {search_sqlite['stories_runs_count']} story runs, sqlite      first call "
              f"{seconds(search_sqlite['stories_runs_first'])}, again {seconds(search_sqlite['stories_runs_warm'])}")
        print(f"  search_runs, all {search_sqlite['all_runs_count']:,} runs, sqlite          "
              f"{seconds(search_sqlite['all_runs'])}")
        print(f"  one get_run, sqlite                            {seconds(search_sqlite['get_run'])}")
        needed = search_sqlite["stories_runs_first"] + search_sqlite["registry"] + search_sqlite["tables"]
        print(f"  what any resolver reads, sqlite                {seconds(needed)}: the runs' search (first call), "
              f"the registry (2 searches) {seconds(search_sqlite['registry'])}, "
              f"{search_sqlite['tables_count']} evaluation CSVs read by pandas {seconds(search_sqlite['tables'])}")
        if probe_sqlite:
            print(f"  resolve (sqlite, in the build) against it      {ratio(probe_sqlite['resolve'], needed)}")
    if server:
        search = server["search"]
        print(f"  search_runs, {search['stories_runs_count']} story runs, server      first call "
              f"{seconds(search['stories_runs_first'])}, again {seconds(search['stories_runs_warm'])}")
        print(f"  search_runs, all {search['all_runs_count']:,} runs, server          {seconds(search['all_runs'])}")
        print(f"  one get_run, server                            {seconds(search['get_run'])}")
    if mkdocs_seconds is not None:
        print(f"  mkdocs build, {n} pages / 1 page                {seconds(mkdocs_seconds)} / {seconds(mkdocs_one)}")
    if pandoc_typst is not None:
        print(f"  pandoc + typst, one story's text               {seconds(pandoc_typst)}")
    if probe_sqlite:
        print(f"  cold build with the resolve clock (sqlite)     {seconds(probe_sqlite.get('wall'))}, of which "
              f"resolve {seconds(probe_sqlite['resolve'])} (mlflow imported before the clock: "
              f"{seconds(probe_sqlite['import_mlflow'])}; making the MlflowClient and its store, taken out as "
              f"the floor's is: {seconds(probe_sqlite.get('client'))})")
    if server:
        print(f"  no-change rebuild (server)                     {seconds(server['rebuild'])}")
        print("  MLflow requests by endpoint, cold build (server):")
        for endpoint, count in server["cold_requests"].most_common():
            print(f"    {count:6,}  {endpoint}")
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
