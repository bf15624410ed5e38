"""A story over a very large scored set and a very long metric series builds in bounded time and memory.

Run from the repository root:

    .venv/bin/python benchmarks/bench_large_inputs.py                      # 10,000,000 rows, 1,000,000 points
    .venv/bin/python benchmarks/bench_large_inputs.py --rows 1000000 --points 100000   # a quick run

It generates (in a temporary folder, kept with --keep DIR) a sqlite MLflow store with one run that logged a
scored evaluation CSV of ``--rows`` rows (label, score with about as many distinct values as rows, a
``region`` column of 8 groups and a ``customer`` column of ``--groups`` groups), a ``threshold`` param and a
metric history ``production_mean_score`` of ``--points`` steps; and a project with one story that uses all of
it: the model card with both slices, the cost of error (sweep + bootstrap + per-group costs), a trust report
whose guardrail reads the long series, and a claim over it.

Figures: ``storybook build PROJECT --no-pdf`` in a subprocess (wall time and the peak resident memory of the
build's processes), beside floors measured in the same run in their own subprocesses: pandas reading the CSV
(``pandas.read_csv``, the least any build must do with it) and MLflow reading the series
(``MlflowClient.get_metric_history``). Caps that bound the work are printed with the figures.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BIN = Path(sys.executable).parent
STORYBOOK = BIN / "storybook"
SERIES = "production_mean_score"


def make_store(root: Path, rows: int, points: int, groups: int) -> tuple[str, Path, str]:
    """The run, its scored CSV and its series; returns (tracking URI, CSV path, run id)."""
    import logging
    import warnings

    import numpy as np
    import pandas as pd
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    db = root / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("large", artifact_location=(root / "artifacts").as_uri())
    run_id = client.create_run(experiment, run_name="large-run").info.run_id
    client.log_batch(run_id, params=[Param("threshold", "0.5")])
    for key, value in (("test_recall", 0.8), ("test_precision", 0.6)):
        client.log_metric(run_id, key, value)

    rng = np.random.default_rng(7)
    labels = rng.random(rows) < 0.2
    scores = 1.0 / (1.0 + np.exp(-(rng.normal(size=rows) + 1.5 * labels - 1.0)))
    frame = pd.DataFrame({
        "label": labels.astype(np.int8),
        "score": np.round(scores, 7),
        "region": np.array([f"region {i}" for i in range(8)])[rng.integers(0, 8, rows)],
        # Zipf-like sizes: a few big customers, a long tail of small ones, every one of `groups` present.
        "customer": np.concatenate([np.arange(groups), rng.zipf(1.3, rows - groups) % groups])[:rows],
    })
    csv = root / "scratch" / "scored.csv"
    csv.parent.mkdir()
    frame.to_csv(csv, index=False)
    del frame
    client.log_artifact(run_id, str(csv), "evaluation")

    # The series: written straight into MLflow's own tables (the client's log_batch takes 1,000 at a time and
    # would need an hour); the build reads it back through MLflow like any other history.
    start = int(time.time() * 1000) - points * 60_000
    values = 0.4 + 0.05 * np.sin(np.arange(points) / 500.0) + rng.normal(0, 0.01, points)
    client.log_metric(run_id, SERIES, float(values[-1]), timestamp=start + (points - 1) * 60_000, step=points - 1)
    client._tracking_client.store.engine.dispose()
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM metrics WHERE key = ?", (SERIES,))
        connection.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
            ((SERIES, float(v), start + i * 60_000, run_id, i) for i, v in enumerate(values)))
    return uri, root / "artifacts" / run_id / "artifacts" / "evaluation" / "scored.csv", run_id


def make_project(root: Path, run_id: str) -> Path:
    project = root / "project"
    story = project / "stories" / "large"
    story.mkdir(parents=True)
    (project / "storybook.yaml").write_text("title: Large inputs\nstories_dir: stories\nsite_dir: site\npdf: false\n")
    (story / "story.yaml").write_text(textwrap.dedent(f"""\
        title: Which cases should be looked at first?
        summary: A generated story over a very large evaluation set and a very long production series.
        audience: Programme managers
        owner: Analytics team
        model:
          run_id: {run_id}
        intended_use:
          primary: Put likely cases at the front of the queue.
          users: [Case workers]
          out_of_scope: [Deciding without a person reading the case]
        metrics:
          - {{key: test_recall, label: True cases found, kind: recall}}
          - {{key: test_precision, label: Flags that are right, kind: precision}}
        evaluation:
          artifact: evaluation/scored.csv
          label_column: label
          score_column: score
          positive_value: "1"
          threshold_param: threshold
          unit: cases
          positive_means: need a closer look
          negative_means: are fine
          flagged_means: put at the front of the queue
        slices:
          - {{column: region, label: Region, why: teams differ between regions}}
          - {{column: customer, label: Customer, why: customers differ}}
        series:
          - {{key: {SERIES}, label: Average score per minute}}
        cost_of_error:
          unit: hours of staff time
          owner: Programme lead
          false_positive: 1
          false_negative: 10
          population: 1000
        trust:
          owner: Analytics team
          guardrails:
            - {{series: {SERIES}, name: the average score, lower: 0.2, upper: 0.6}}
        claims:
          - id: score-steady
            says: The average score stayed above 0.2 all along.
            series: {SERIES}
            stays_above: 0.2
        """))
    sections = {
        "model-details.md": 'A generated model. It finds {{ metric("test_recall") | percent }} of true cases.\n',
        "metrics.md": "We count the true cases the model finds. {{ claim(\"score-steady\") }}\n",
        "ethical-considerations.md": "- A missed case harms someone; people still decide.\n",
        "caveats-and-recommendations.md": "- Check the results each month against what really happened.\n",
    }
    for name, text in sections.items():
        (story / name).write_text(text)
    return project


def child_run(args: list[str], env: dict[str, str] | None = None,
              ) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall time and peak RSS in bytes of a command (``wait4``: the largest of the child and the descendants
    it waited for, e.g. a build's workers)."""
    import os

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(args, child.returncode, out.read(), err.read())
    return wall, usage.ru_maxrss * 1024, done


def python_floor(code: str) -> tuple[float, int]:
    """Wall time and peak RSS of a fresh Python running ``code`` (its import time included)."""
    wall, peak, done = child_run([sys.executable, "-c", code])
    if done.returncode:
        raise SystemExit(done.stderr)
    return wall, peak


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=100_002)
    parser.add_argument("--keep", type=Path, default=None)
    options = parser.parse_args()

    root = options.keep or Path(tempfile.mkdtemp(prefix="storybook-large-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        if (root / "mlflow.db").is_file() and (root / "project").is_dir():  # --keep DIR of an earlier run
            uri = f"sqlite:///{root / 'mlflow.db'}"
            csv = next((root / "artifacts").glob("*/artifacts/evaluation/scored.csv"))
            run_id = csv.parents[2].name
            project = root / "project"
            shutil.rmtree(project / "site", ignore_errors=True)
        else:
            uri, csv, run_id = make_store(root, options.rows, options.points, options.groups)
            project = make_project(root, run_id)
        print(f"generated (or reused) in {time.perf_counter() - started:.0f} s: {options.rows:,} scored rows "
              f"({csv.stat().st_size / 2**20:,.0f} MiB CSV), {options.groups:,} customers, "
              f"a series of {options.points:,} points", flush=True)

        import os

        load_before = os.getloadavg()[0]
        env = {"MLFLOW_TRACKING_URI": uri}
        wall, peak, done = child_run([str(STORYBOOK), "build", str(project), "--no-pdf", "--no-cache"], env)
        built = (project / "site" / "large.html").is_file()
        read_wall, read_peak = python_floor(f"import pandas; pandas.read_csv({str(csv)!r})")
        series_wall, series_peak = python_floor(
            "import logging; logging.disable(logging.WARNING)\n"
            "from mlflow.tracking import MlflowClient\n"
            f"MlflowClient({uri!r}).get_metric_history({run_id!r}, {SERIES!r})")

        from storybook.analyse.classification import MAX_GROUPS
        from storybook.analyse.costs import BOOTSTRAP_SAMPLE, BOOTSTRAP_WORK
        from storybook.resolve.mlflow_source import MAX_EVALUATION_BYTES

        print()
        print(f"{'figure':<52} {'wall':>9} {'peak RSS':>10}")
        print("-" * 73)
        print(f"{'storybook build --no-pdf (one story)':<52} {wall:>8.1f}s {mib(peak):>10}"
              f"   {'built' if built else 'FAILED: ' + done.stdout[-400:] + done.stderr[-400:]}")
        print(f"{'  floor: pandas.read_csv of the scored set':<52} {read_wall:>8.1f}s {mib(read_peak):>10}")
        print(f"{'  floor: MlflowClient.get_metric_history':<52} {series_wall:>8.1f}s {mib(series_peak):>10}")
        print(f"\ncaps: scored CSV at most {MAX_EVALUATION_BYTES / 2**20:,.0f} MiB; cost bootstrap on at most "
              f"{BOOTSTRAP_SAMPLE:,} cases and {BOOTSTRAP_WORK:,} rows drawn over all rounds (a stated sample "
              f"past that); slices show the largest {MAX_GROUPS} groups and count the rest in one row")
        if built:
            page = (project / "site" / "large.html").read_text(encoding="utf-8")
            for needle in ("random sample of", "smaller groups"):
                print(f"page says {needle!r}: {'yes' if needle in page else 'NO'}")
        print(f"(benchmark took {time.perf_counter() - started:.0f} s; {os.cpu_count()} CPUs, load average "
              f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after)")
    finally:
        if options.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
