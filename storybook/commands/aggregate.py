"""``storybook aggregate SOURCE --out FILE.parquet``, and the same from Python: aggregate a scored set of any size
into a small file of counts per slice x label x score bin (:mod:`storybook.aggregate.format`), and log it to an
MLflow run.

    import mlflow
    import storybook

    made = storybook.aggregate_scored_set("scored/*.parquet", "aggregate.parquet", label="clicked",
                                          score="p_click", slices=["country"])
    with mlflow.start_run():
        storybook.log_aggregate(made.path)        # as evaluation/aggregate.parquet

(The function is ``aggregate_scored_set``, not ``aggregate``: ``storybook.aggregate`` is the package that holds
the format and the engines.)
"""

from __future__ import annotations

import fnmatch
import glob
import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from storybook.aggregate import format as fmt
from storybook.errors import ConfigError, LoggingError, TrackingError
from storybook.logging_api import _caller, _run_id

__all__ = ["AGGREGATE_TAG_PREFIX", "Aggregated", "LoggedAggregate", "aggregate_scored_set", "log_aggregate",
           "summary"]

AGGREGATE_TAG_PREFIX = "storybook.aggregate."
ENGINES = ("duckdb", "spark")  # spark: a local[2] session, or the active one (docs/scale.md)


@dataclass(frozen=True)
class Aggregated:
    """What :func:`aggregate_scored_set` wrote: the file, its metadata, its number of cells and how long it took."""

    path: Path
    info: fmt.AggregateInfo
    cells: int
    seconds: float


@dataclass(frozen=True)
class LoggedAggregate:
    """What :func:`log_aggregate` logged: on which run, where, and how many rows the aggregate stands for."""

    run_id: str
    artifact_path: str
    rows: int


def aggregate_scored_set(source: str | Path, out: str | Path, *, label: str | None = None, score: str | None = None,
                         positive: str = "1", task: Literal["binary", "regression", "multiclass"] = "binary",
                         actual: str | None = None, prediction: str | None = None,
                         probabilities: Mapping[str, str] | None = None, slices: Sequence[str] = (),
                         bins: int = fmt.DEFAULT_BINS, replicates: int = fmt.DEFAULT_REPLICATES, seed: int = 0,
                         engine: str = "duckdb", memory_limit: str = "1GB", threads: int | None = None) -> Aggregated:
    """Aggregate the scored set in ``source`` (Parquet or CSV files: a path or a glob) into ``out`` (a ``.parquet``
    file, written whole or not at all) with the DuckDB engine, in bounded memory.

    A binary set (``task="binary"``): ``label`` and ``score`` name the columns (the true outcome, two values; the
    model's chance, 0 to 1); ``positive`` is the label value that counts as positive, as the column spells it.
    A regression set (``task="regression"``): ``actual`` and ``prediction`` name the columns of amounts.
    A multiclass set (``task="multiclass"``): ``label`` (the true class) and ``probabilities`` (each class, as the
    label column spells it, to the column of its chance), and optionally ``prediction`` (the called class). See
    :mod:`storybook.aggregate.duckdb_engine` for the rest. Raises :class:`~storybook.errors.AggregateError`
    (nothing written) when the set cannot be aggregated.
    """
    from storybook.aggregate.duckdb_engine import (
        aggregate_multiclass_with_duckdb,
        aggregate_regression_with_duckdb,
        aggregate_with_duckdb,
    )

    where = _caller()
    target = Path(out)
    needed: dict[str, dict[str, object]] = {
        "binary": {"label": label, "score": score}, "regression": {"actual": actual, "prediction": prediction},
        "multiclass": {"label": label, "probability": probabilities}}
    if task not in needed:
        raise ConfigError(f"task {task!r} cannot be aggregated; aggregates hold binary, regression or multiclass "
                          "sets", location=where, hint="use task binary, regression or multiclass")
    missing = [name for name, value in needed[task].items() if not value]
    if missing:
        flags = " and ".join(f"--{name}" for name in needed[task])
        raise ConfigError(f"a {task} set needs {flags} (the columns to count)", location=where,
                          hint=f"name the columns with {flags}")
    if target.suffix.lower() != ".parquet":
        raise ConfigError(f"the aggregate is a Parquet file: {target} should end in .parquet", location=where,
                          hint="e.g. --out aggregate.parquet")
    if engine not in ENGINES:
        raise ConfigError(f"engine {engine!r} is not one storybook runs here; it runs {', '.join(ENGINES)}",
                          location=where, hint="on Spark, call storybook.aggregate.spark_engine from your "
                                               "cluster (docs/scale.md)")
    if _among_sources(target, str(source)):
        raise ConfigError(f"--out {target} is one of the files to aggregate (or matches their pattern); writing it "
                          "would replace the scored set", location=where,
                          hint="write the aggregate beside the scored set's files, under another name or folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if engine == "spark":
        from storybook.aggregate.spark_engine import aggregate_files_with_spark

        cells, info = aggregate_files_with_spark(source, task=task, label_column=label, score_column=score,
                                                 positive_value=positive, actual_column=actual,
                                                 prediction_column=prediction, probabilities=probabilities,
                                                 slices=slices, bins=bins, replicates=replicates, seed=seed,
                                                 threads=threads, where=where)
        fmt.write_aggregate(cells, info, target)
        return Aggregated(path=target, info=info, cells=len(cells), seconds=time.perf_counter() - started)
    with tempfile.TemporaryDirectory(prefix=".storybook-aggregate-", dir=target.parent) as spill:
        if task == "multiclass":
            cells, info = aggregate_multiclass_with_duckdb(
                source, label_column=str(label), probabilities=dict(probabilities or {}), prediction_column=prediction,
                slices=slices, bins=bins, replicates=replicates, seed=seed, memory_limit=memory_limit,
                threads=threads, temp_directory=Path(spill), where=where)
        elif task == "regression":
            cells, info = aggregate_regression_with_duckdb(
                source, actual_column=str(actual), prediction_column=str(prediction), slices=slices, bins=bins,
                replicates=replicates, seed=seed, memory_limit=memory_limit, threads=threads,
                temp_directory=Path(spill), where=where)
        else:
            cells, info = aggregate_with_duckdb(
                source, label_column=str(label), score_column=str(score), positive_value=positive, slices=slices,
                bins=bins, replicates=replicates, seed=seed, memory_limit=memory_limit, threads=threads,
                temp_directory=Path(spill), where=where)
        fmt.write_aggregate(cells, info, target)
    return Aggregated(path=target, info=info, cells=len(cells), seconds=time.perf_counter() - started)


def _among_sources(target: Path, source: str) -> bool:
    """Whether ``target`` is a file the source names, or would be matched by the source's pattern next time."""
    if fnmatch.fnmatchcase(str(target.absolute()), str(Path(source).absolute())):
        return True
    matched = glob.glob(source) if glob.has_magic(source) else [source]
    return any(Path(name).resolve() == target.resolve() for name in matched)


def log_aggregate(path: str | Path, *, run_id: str | None = None,
                  artifact_path: str = "evaluation/aggregate.parquet") -> LoggedAggregate:
    """Log the aggregate at ``path`` as an artifact of the active MLflow run (or of ``run_id``), at
    ``artifact_path``, after checking it is an aggregate storybook can read (nothing is logged otherwise). Its
    columns' roles are recorded in a run tag ``storybook.aggregate.<artifact path>`` (JSON)."""
    where = _caller()
    source = Path(path)
    artifact = Path(artifact_path) if isinstance(artifact_path, str) else None
    if artifact is None or artifact.is_absolute() or ".." in artifact.parts or artifact.suffix != ".parquet":
        raise LoggingError(f"artifact_path must be a relative path ending in .parquet, not {artifact_path!r}",
                           location=where, hint="e.g. evaluation/aggregate.parquet (the story's evaluation.artifact)")
    info = fmt.read_info(source, where=where)
    target = _run_id(where, run_id, "log_aggregate")
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    described: dict[str, object] = {
        "kind": info.kind, "task": info.task, "label": info.label_column, "score": info.score_column,
        "positive_value": info.positive_value, "slices": list(info.slices), "rows": info.rows, "bins": info.bins,
        "exact": info.exact, "replicates": info.replicates}
    if info.task == "multiclass":
        described["probabilities"] = dict(zip(info.classes, info.probability_columns, strict=True))
    try:
        with tempfile.TemporaryDirectory(prefix="storybook-aggregate-") as folder:
            staged = Path(folder) / artifact.name
            shutil.copyfile(source, staged)
            parent = artifact.parent.as_posix()
            client.log_artifact(target, str(staged), artifact_path=None if parent == "." else parent)
        client.set_tag(target, AGGREGATE_TAG_PREFIX + artifact_path, json.dumps(described))
    except MlflowException as error:
        said = "".join(ch for ch in str(error).splitlines()[0] if ch.isprintable())[:200] if str(error) else ""
        raise TrackingError(f"MLflow could not log the aggregate to run {target}: {said}", location=where,
                            hint="check the run id and the tracking URI (MLFLOW_TRACKING_URI)") from None
    return LoggedAggregate(run_id=target, artifact_path=artifact_path, rows=info.rows)


def summary(made: Aggregated) -> list[str]:
    """What the command prints, in plain words: rows read, cells written, what the bins mean, how long it took."""
    info = made.info
    lines = [f"read {info.rows:,} rows of {info.source} and wrote {made.cells:,} cells to {made.path.name} in "
             f"{made.seconds:.1f} seconds"]
    if info.task == "multiclass":
        width = 1 / info.bins
        lines.append(f"counted per true class and called class ({len(info.classes)} classes), with the called "
                     f"class's chance in {info.bins:,} bins {width:g} wide")
    elif info.task == "regression":
        low, high = info.bin_edges[0], info.bin_edges[-1]
        lines.append(f"the errors (prediction minus actual) run from {low:g} to {high:g}; they are counted in "
                     f"{info.bins:,} bins {(high - low) / info.bins:g} wide, for their spread; the mean error, the "
                     "mean absolute error and the root mean squared error come from exact sums")
    elif info.exact:
        lines.append(f"the set has {info.bins:,} different scores, each kept exactly: every threshold at one of "
                     "them gives the same counts as the full set")
    else:
        width = 1 / info.bins
        lines.append(f"scores are grouped into {info.bins:,} bins {width:g} wide: a threshold at a multiple of "
                     f"{width:g} (below 1) gives the same counts as the full set; one between two of them is "
                     f"known to within {width:g}")
    if info.slices:
        lines.append(f"counted separately for each value of {', '.join(info.slices)}")
    if info.replicates and info.task == "regression":
        lines.append(f"{info.replicates:,} bootstrap replicates (seed {info.seed}) of the counts per bin; ranges of "
                     "figures made of sums, such as the mean absolute error, are only approximate from them")
    elif info.replicates:
        lines.append(f"{info.replicates:,} bootstrap replicates (seed {info.seed}) give the ranges of the figures "
                     "made of counts")
    return lines
