"""A story built from an aggregate (issue 22): the build's wall time and peak memory do not grow with the number
of rows the aggregate counts.

    .venv/bin/python benchmarks/bench_aggregate_story.py                          # 10,000 and 100,000,000 rows
    .venv/bin/python benchmarks/bench_aggregate_story.py --rows 10000 1000000     # a quick run

For each size, DuckDB generates the scored set (as in bench_aggregate.py: a uniform score, a label drawn with that
chance, 10 sites), ``storybook.aggregate_scored_set`` counts it (1,000 bins, 200 replicates, slice ``site``), and
``storybook.log_aggregate`` logs the file to a run of a fresh sqlite MLflow store. A story about that run tells
the model card, the cost of error (its ranges from the replicates) and the trust report from
``evaluation.aggregate``; ``storybook build`` (no PDF) then runs in a fresh process, measured like the other
benchmarks: wall time, and peak resident memory from ``wait4``. Only the build is compared: the aggregate holds at
most sites x labels x bins cells whatever the rows, so the build reads the same amount either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_aggregate import GENERATE  # the same generated set

AGGREGATE = """
import storybook
made = storybook.aggregate_scored_set('{path}', '{out}', label='label', score='score', slices=['site'],
                                      bins=1000, replicates=200, memory_limit='1GB', threads={threads})
print(made.info.rows, made.cells)
"""

LOG = """
import mlflow, storybook
from pathlib import Path
from storybook.aggregate.format import read_aggregate
cells, _ = read_aggregate(Path('{out}'))
positive = cells[cells['label'] == 1]
recall = positive.loc[positive['score_bin'] >= 500, 'n'].sum() / positive['n'].sum()
mlflow.set_tracking_uri('{uri}')
experiment = mlflow.create_experiment('bench', artifact_location='{artifacts}')
with mlflow.start_run(experiment_id=experiment) as run:
    storybook.log_aggregate('{out}')
    mlflow.log_metric('recall', float(recall))
    print(run.info.run_id)
"""

SECTIONS = {"ethical-considerations.md": "People who are flagged get a call, never a refusal.\n",
            "caveats-and-recommendations.md": "Read the figures with their ranges.\n"}


def story(run_id: str) -> dict[str, object]:
    return {
        "title": "Which customers get a call", "summary": "A model of who leaves, told from counts.",
        "audience": "Retention managers", "owner": "Analytics team", "model": {"run_id": run_id},
        "intended_use": {"primary": "Decide whom to call first.", "users": ["Retention team"],
                         "out_of_scope": ["Refusing anyone a service"]},
        "metrics": [{"key": "recall", "label": "Leavers called", "kind": "recall"}],
        "evaluation": {"aggregate": "evaluation/aggregate.parquet", "threshold": 0.5, "unit": "customers",
                       "positive_means": "leave", "negative_means": "stay", "flagged_means": "called"},
        "slices": [{"column": "site", "label": "Site"}],
        "cost_of_error": {"unit": "euros", "owner": "Retention lead", "false_positive": 20,
                          "false_positive_means": "a call for nothing", "false_negative": 150,
                          "false_negative_means": "a customer lost", "population": 1000},
        "trust": {"owner": "Analytics team", "model": {"metric": "recall", "minimum": 0.5}},
    }


def measure(code: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of ``code`` run in a fresh Python process."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise SystemExit(f"the child failed with exit code {child.returncode}:\n{child.stderr[-2000:]}")
    return time.perf_counter() - started, 0.0, child.stdout.strip()


BUILD = """
import os, sys, time
os.chdir({project!r})
import mlflow, storybook.analyse.story, storybook.build, storybook.render.pages  # imports are not the story's work
from storybook.cli import main
sys.argv = ['storybook', 'build', '--no-cache']
started = time.perf_counter()
try:
    main()
except SystemExit as done:
    if done.code:
        raise
print('work', time.perf_counter() - started)
"""


def build(project: Path) -> tuple[float, float, float, float]:
    """One ``storybook build`` in a fresh process: wall seconds, seconds after the imports, CPU seconds (user +
    system, all threads: steadier than wall time on a shared machine) and peak RSS in MB."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", BUILD.format(project=str(project))], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the build failed:\n{output}")
    work = float(next(line for line in output.splitlines() if line.startswith("work ")).split()[1])
    return time.perf_counter() - started, work, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def prepare(rows: int, here: Path, threads: int) -> Path:
    """The project of one size: its aggregate logged to a run of a fresh sqlite store, and the story."""
    here.mkdir()
    path, out = here / "scored.parquet", here / "aggregate.parquet"
    made, _, _ = measure(GENERATE.format(rows=rows, path=path, threads=threads))
    counted, _, said = measure(AGGREGATE.format(path=path, out=out, threads=threads))
    path.unlink()  # only the aggregate is kept: the build never sees the rows
    project = here / "project"
    (project / "stories" / "churn").mkdir(parents=True)
    uri = f"sqlite:///{project / 'mlflow.db'}"
    _, _, run_id = measure(LOG.format(uri=uri, artifacts=(project / "artifacts").as_uri(), out=out))
    (project / "storybook.yaml").write_text(yaml.safe_dump(
        {"title": "Bench", "tracking_uri": uri, "site_dir": "site", "pdf": False}))
    (project / "stories" / "churn" / "story.yaml").write_text(yaml.safe_dump(story(run_id.splitlines()[-1])))
    for name, text in SECTIONS.items():
        (project / "stories" / "churn" / name).write_text(text)
    print(f"{rows:>13,} rows: generated in {made:.1f} s, aggregated in {counted:.1f} s into {int(said.split()[1]):,} "
          f"cells ({out.stat().st_size / 1e6:.2f} MB)")
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000_000])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=5, help="builds per size, taken in turn; the fastest is "
                        "told (a shared machine's load only ever adds time)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-aggregate-story-", dir="/tmp"))
    try:
        projects = [(rows, prepare(rows, folder / str(rows), args.threads)) for rows in args.rows]
        runs: dict[int, list[tuple[float, float, float, float]]] = {rows: [] for rows in args.rows}
        for _ in range(args.repeat):
            for rows, project in projects:  # in turn, so a change in the machine's load falls on every size
                runs[rows].append(build(project))
                page = (project / "site" / "churn.html").read_text()
                assert "counted in 1,000 score bins" in page, "the page does not say where its figures come from"
        told = {rows: (min(r[0] for r in got), min(r[1] for r in got), min(r[2] for r in got),
                       max(r[3] for r in got)) for rows, got in runs.items()}
        print(f"{'rows':>13} {'build s':>8} {'work s':>7} {'CPU s':>6} {'peak MB':>8}   (fastest of {args.repeat}; "
              "peak: the largest)")
        for rows, (wall, work, cpu, peak) in told.items():
            print(f"{rows:>13,} {wall:>8.1f} {work:>7.2f} {cpu:>6.1f} {peak:>8.0f}")
        if len(told) > 1:
            (few, first), (many, last) = next(iter(told.items())), list(told.items())[-1]
            ratios = ", ".join(f"{name} x{b / a:.2f}" for name, a, b in zip(
                ("build", "work after imports", "CPU", "peak memory"), first, last, strict=True))
            print(f"at {many:,} rows against {few:,}: {ratios}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
