"""Resolve what drives a story's predictions: permutation importance, from an artifact or the logged model.

Two sources, as the story's ``drivers.source`` says:

- **an artifact** the run logged (CSV or Parquet): ``feature, repeat, drop`` (optionally with ``slice`` and
  ``group`` columns for per-group drops; overall rows carry "(all)"), or ``feature, mean, std`` (optionally
  ``repeats``). Nothing is executed. This works for every model, whatever its framework.
- **the model** (``source: model``): the logged model is downloaded and loaded with ``mlflow.sklearn`` (or
  ``mlflow.pyfunc`` for other flavours) and each feature column of the story's scored evaluation set is
  shuffled (:func:`storybook.metrics.importance.permutation_drops`). Loading a model unpickles it, which
  runs code from the artifact store: only stories that ask for it do this, and only at resolve time. The
  drops (never the model) go into the ResolvedStory, so ``storybook pin`` fixes them in the snapshot and a
  snapshot build neither loads the model nor imports mlflow.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from storybook.errors import Location, SourceError, StorybookError
from storybook.metrics.importance import ALL_ROWS, drops_frame, permutation_drops, task_scorer
from storybook.resolve.drivers_cache import CachedDrops, drops_key, model_digest, model_folder, read_drops, write_drops
from storybook.resolve.resolved import ModelVersionRecord, Provenance, ResolvedDrivers, ResolvedRun
from storybook.resolve.scored import AnyScoredSet, ScoredSet, task_set
from storybook.resolve.scored_multiclass import MulticlassSet
from storybook.resolve.scored_regression import RegressionSet
from storybook.resolve.tracking import artifact_refusal
from storybook.sources.loader import StorySource

if TYPE_CHECKING:
    from storybook.resolve.reader import MlflowReader

__all__ = ["MAX_MODEL_BYTES", "MAX_PREDICTIONS", "resolve_drivers"]

MAX_MODEL_BYTES = 2 * 1024**3
MAX_PREDICTIONS = 50_000_000  # rows scored in all: evaluation rows x features x repeats x (1 + groups)
# The loaded model must reproduce the evaluation set's scores this closely (they are often rounded).
SCORE_TOLERANCE = 1e-4
_ARTIFACT_HINT = ("log the importance from the training code instead (e.g. sklearn's permutation_importance, "
                  "as a CSV with columns feature, repeat, drop) and set drivers.source to its path")


def resolve_drivers(source: MlflowReader, story: StorySource, run: ResolvedRun, model: ModelVersionRecord | None,
                    evaluation: pd.DataFrame | None, scored: AnyScoredSet | None = None) -> ResolvedDrivers | None:
    """What the story's drivers section needs: a table logged on the run, or the model's permutation drops on
    the story's checked scored set (``scored``, checked once by the caller; checked here when not given)."""
    spec = story.config.drivers
    if spec is None:
        return None
    location = story.yaml.location(("drivers", "source"))
    if spec.source != "model":
        with source.reading(story, location):
            table = source.evaluation_table(run.run_id, spec.source, location)
        return ResolvedDrivers(table=_artifact_table(table, spec.source, location),
                               metric=spec.metric_for(story.config.task), origin="artifact",
                               provenance=Provenance(source.shown_uri, run.run_id, "artifact", spec.source),
                               repeats=spec.repeats, seed=None, rows=0)
    if evaluation is None:  # only an aggregate (the schema requires a set for source: model): no rows to shuffle
        return None
    config = story.config
    assert config.evaluation is not None
    metric = spec.metric_for(config.task)
    uri = (f"models:/{model.name}/{model.version}" if model is not None
           else f"runs:/{run.run_id}/{spec.model_path}")
    if scored is None or scored.frame is not evaluation:
        scored = task_set(story, evaluation, run.params, run.run_id)
    with source.reading(story, location):
        local = _download(source, uri, model, run.run_id, spec.model_path, location)
    truth, logged = _truth_and_logged(scored)
    key = drops_key(model=model_digest(local), evaluation=evaluation, truth=truth, logged=logged,
                    settings=_settings(story, scored, metric))
    provenance = Provenance(source.shown_uri, run.run_id, "model", uri)
    cached = read_drops(source.cache_dir / "drivers", key)
    if cached is not None:  # the same model, scored set and settings: the drops it gave before, nothing loaded
        return ResolvedDrivers(table=cached.table, metric=metric, origin="model", provenance=provenance,
                               repeats=spec.repeats, seed=spec.seed, rows=cached.rows, baseline=cached.baseline)
    predict, signature = _load(local, uri, story, location, scored)
    features = list(spec.features) or signature or _other_columns(story, evaluation)
    if not features:
        raise SourceError(f"storybook cannot tell which columns the model {uri} reads (it has no signature)",
                          location=story.yaml.location(("drivers",)),
                          hint="list them under drivers.features, or log the model with an input example")
    missing = [f for f in features if f not in evaluation.columns]
    if missing:
        raise SourceError(
            f"the evaluation set has no column {missing[0]!r} that the model reads"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            location=location, hint="log the feature columns in the scored evaluation set, or " + _ARTIFACT_HINT)
    frame = evaluation[features]
    groups = [(s.column, evaluation[s.column].astype("string").fillna("(missing)")) for s in config.slices
              if spec.by_slice and s.column in evaluation.columns]
    work = len(frame) * len(features) * spec.repeats * (1 + sum(g.nunique() for _, g in groups))
    if work > MAX_PREDICTIONS:
        raise SourceError(f"shuffling would score {work:,} rows, more than {MAX_PREDICTIONS:,}",
                          location=location, hint=_ARTIFACT_HINT)
    try:
        output = predict(frame)
    except StorybookError:
        raise
    except Exception as exc:  # the model's own code refusing these columns, whatever its framework
        shown = ", ".join(features[:8]) + (f" and {len(features) - 8} more" if len(features) > 8 else "")
        raise SourceError(f"the model {uri} could not score the evaluation set's columns {shown} "
                          f"({type(exc).__name__})", location=story.yaml.location(("drivers",)),
                          hint="list the columns the model reads under drivers.features, or log the model with "
                          "an input example (its signature names them)") from None
    _check_reproduces(output, logged, uri, location)
    if isinstance(scored, ScoredSet):
        score = task_scorer(metric, "binary", threshold=scored.threshold)
    elif isinstance(scored, MulticlassSet):
        score = task_scorer(metric, "multiclass", classes=scored.scores.classes)
    else:
        score = task_scorer(metric, "regression")
    result = permutation_drops(predict, frame, truth, score, n_repeats=spec.repeats, seed=spec.seed)
    tables = [drops_frame(result)]
    for column, keys in groups:
        for group in sorted(set(keys)):
            mask = (keys == group).to_numpy()
            within = permutation_drops(predict, frame[mask], truth[mask], score,
                                       n_repeats=spec.repeats, seed=spec.seed)
            tables.append(drops_frame(within, slice_column=column, group=str(group)))
    table = pd.concat(tables, ignore_index=True)
    write_drops(source.cache_dir / "drivers", key, CachedDrops(table, len(frame), result.baseline))
    return ResolvedDrivers(table=table, metric=metric, origin="model", provenance=provenance, repeats=spec.repeats,
                           seed=spec.seed, rows=len(frame), baseline=result.baseline)


def _settings(story: StorySource, scored: AnyScoredSet, metric: str) -> dict[str, Any]:
    """What the drops depend on besides the model and the scored set's values (the key of the drops cache):
    never the words (``show``, ``names``), so a wording change does not shuffle again."""
    spec, evaluation = story.config.drivers, story.config.evaluation
    assert spec is not None and evaluation is not None
    told = [evaluation.label_column, evaluation.score_column, evaluation.actual_column,
            evaluation.prediction_column, evaluation.lower_column, evaluation.upper_column,
            *(c.probability_column for c in evaluation.classes or ())]
    return {"task": story.config.task, "metric": metric, "repeats": spec.repeats, "seed": spec.seed,
            "features": list(spec.features), "model_path": spec.model_path, "by_slice": spec.by_slice,
            "slices": [s.column for s in story.config.slices], "columns": told,
            "positive": evaluation.positive_value, "classes": list(evaluation.class_values),
            "threshold": scored.threshold if isinstance(scored, ScoredSet) else None,
            "scored_classes": list(scored.scores.classes) if isinstance(scored, MulticlassSet) else None}


def _other_columns(story: StorySource, evaluation: pd.DataFrame) -> list[str]:
    """For a model without a signature: the set's columns other than what happened and what was predicted."""
    spec = story.config.evaluation
    assert spec is not None
    told = {spec.label_column, spec.score_column, spec.actual_column, spec.prediction_column, spec.lower_column,
            spec.upper_column, *(c.probability_column for c in spec.classes or ())}
    return [str(c) for c in evaluation.columns if c not in told] if story.config.task != "binary" else []


def _truth_and_logged(scored: AnyScoredSet) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """What happened on each row, and what the logged set says the model gave it (to check the model is it)."""
    if isinstance(scored, ScoredSet):
        return scored.labels, scored.scores
    if isinstance(scored, MulticlassSet):
        given = scored.scores.probabilities
        return scored.scores.truth, given if given is not None else scored.scores.predicted
    return scored.scores.actual, scored.scores.predicted


def _check_reproduces(output: npt.NDArray[Any], logged: npt.NDArray[Any], uri: str, location: Location) -> None:
    """The loaded model gives the logged set's scores, chances, calls or forecasts (forecasts within a relative
    SCORE_TOLERANCE of their size, as they are often rounded), or the drops would not be this model's."""
    if output.shape != logged.shape:
        raise SourceError(f"the model {uri} gives {output.shape[-1] if output.ndim == 2 else 1} figure(s) per row, "
                          f"and the evaluation set {logged.shape[-1] if logged.ndim == 2 else 1}", location=location,
                          hint="the scored set must come from this model; or " + _ARTIFACT_HINT)
    if logged.dtype.kind in "iu":
        wrong = int(np.count_nonzero(output != logged))
        if wrong:
            raise SourceError(f"the model {uri} does not reproduce the evaluation set's calls ({wrong:,} rows "
                              "differ)", location=location,
                              hint="the scored set must come from this model; or " + _ARTIFACT_HINT)
        return
    gap = np.abs(output - logged) / np.maximum(1.0, np.abs(logged))
    worst = float(np.nanmax(gap)) if gap.size else 0.0
    if not worst <= SCORE_TOLERANCE:
        raise SourceError(f"the model {uri} does not reproduce the evaluation set's scores (they differ by up to "
                          f"{float(np.nanmax(np.abs(output - logged))):.3g})", location=location,
                          hint="the scored set must come from this model; or " + _ARTIFACT_HINT)


def _artifact_table(table: pd.DataFrame, name: str, location: Location) -> pd.DataFrame:
    columns = set(table.columns)
    if "feature" in columns and {"repeat", "drop"} <= columns:
        keep = ["slice", "group", "feature", "repeat", "drop"]
        table = table.assign(**{c: ALL_ROWS for c in ("slice", "group") if c not in columns})
        numeric = ["repeat", "drop"]
    elif "feature" in columns and {"mean", "std"} <= columns:
        keep = ["feature", "mean", "std", *(["repeats"] if "repeats" in columns else [])]
        numeric = keep[1:]
    else:
        raise SourceError(f"artifact {name!r} has columns {', '.join(map(str, table.columns[:10]))}; storybook "
                          "reads feature, repeat, drop (one row per shuffle) or feature, mean, std",
                          location=location, hint="write the importance table with those column names")
    out = table[keep].copy()
    for column in numeric:
        values = pd.to_numeric(out[column], errors="coerce")
        if values.isna().any():
            raise SourceError(f"column {column!r} of artifact {name!r} holds values that are not numbers",
                              location=location)
        out[column] = values
    for column in ("slice", "group", "feature"):
        if column in out.columns:
            out[column] = out[column].astype(str)
    return out.reset_index(drop=True)


def _download(source: MlflowReader, uri: str, model: ModelVersionRecord | None, run_id: str, model_path: str,
              location: Location) -> Path:
    """The model's files in the cache, downloaded through the story's own client and URI (never MLflow's
    process-wide tracking URI).

    MLflow 3 keeps a model in one of several places, whichever way it was logged and registered: a logged
    model (``models:/<model_id>``, what ``log_model(name=...)`` makes), the run's artifacts (``runs:/<run>/<path>``,
    a model saved and logged as files), or the registered version's own storage. Each is tried in that order
    (:func:`_places`); a place outside the tracking server is refused, never contacted; when none gives an
    MLflow model, the error lists each place tried and why it failed.
    """
    target = model_folder(source.cache_dir, source.shown_uri, uri)
    cached = sorted(target.glob("**/MLmodel")) if target.is_dir() else []
    if cached:
        return cached[0].parent
    tried: list[tuple[str, str]] = []
    for shown, stored in _places(source, model, run_id, model_path, tried):
        refusal = artifact_refusal(stored, source.uri, source.artifact_locations)
        if refusal is not None:
            tried.append((shown, f"refused: {refusal}"))
            continue
        local = _fetch(source, stored, target, shown, tried)
        if local is None:
            continue
        size = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
        if size > MAX_MODEL_BYTES:
            raise SourceError(f"the model {uri} is {size / 1024**3:.1f} GiB, more than storybook loads "
                              f"({MAX_MODEL_BYTES / 1024**3:.0f} GiB)", location=location, hint=_ARTIFACT_HINT)
        return local
    told = "; ".join(f"{shown} ({reason})" for shown, reason in tried) or "nothing"
    raise SourceError(f"storybook could not download the model {uri}; it tried {told}", location=location,
                      hint="check where the model's files are in the MLflow UI (the run's Artifacts, or the "
                      "model's page) and set drivers.model_path to their path or logged model's name; or "
                      + _ARTIFACT_HINT)


def _places(source: MlflowReader, model: ModelVersionRecord | None, run_id: str, model_path: str,
            tried: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Where the model may be, best first, as (URI shown to people, artifact URI to download).

    A registered version: the logged model it names (``models:/m-...`` in its source or its model id), the
    version's download URI, and, for a version registered from ``runs:/<run>/<path>``, the model that run logged
    under that name, then the run's files at that path. A run: the model it logged as ``model_path``, then its
    files at that path. A place that cannot be looked up is added to ``tried`` with the reason.
    """
    client = source.client
    runs_path: tuple[str, str] | None = (run_id, model_path)
    if model is not None:
        try:  # the batched registry read has it already; ask again only if it does not
            registered = source.registered_model(model.name)
            version = registered.versions.get(model.version) if registered is not None else None
            if version is None:
                version = client.get_model_version(model.name, str(model.version))
        except Exception as exc:
            tried.append((f"models:/{model.name}/{model.version}", _reason(source, exc)))
            return
        version_source = str(version.source or "")
        model_id = str(getattr(version, "model_id", None) or "")
        if not model_id and re.fullmatch(r"models:/m-[0-9a-f]+", version_source):
            model_id = version_source.removeprefix("models:/")
        if model_id:
            yield from _logged_model(source, model_id, tried)
        try:
            download = str(client.get_model_version_download_uri(model.name, str(model.version)))
        except Exception as exc:
            tried.append((f"models:/{model.name}/{model.version}", _reason(source, exc)))
            download = ""
        if download and not download.startswith(("runs:/", "models:/")):
            yield f"models:/{model.name}/{model.version}", download
        found = re.fullmatch(r"runs:/([0-9a-f]+)/(.+)", version_source) or re.fullmatch(
            r"runs:/([0-9a-f]+)/(.+)", download)
        runs_path = (found.group(1), found.group(2).strip("/")) if found else None
    if runs_path is None:
        return
    run, path = runs_path
    logged_name = f"the model run {run} logged as {path!r}"
    if re.fullmatch(r"[A-Za-z0-9_.-]+", path):
        try:
            experiment_id = client.get_run(run).info.experiment_id
            logged = list(client.search_logged_models(experiment_ids=[experiment_id], filter_string=(
                f"source_run_id = '{run}' AND name = '{path}'"), max_results=1))
        except Exception as exc:
            tried.append((logged_name, _reason(source, exc)))
        else:
            if logged:
                yield f"models:/{logged[0].model_id}", str(logged[0].artifact_location)
            else:
                tried.append((logged_name, f"run {run} has no logged model named {path!r}"))
    try:
        artifact_root = str(client.get_run(run).info.artifact_uri).rstrip("/")
    except Exception as exc:
        tried.append((f"runs:/{run}/{path}", _reason(source, exc)))
        return
    if ".." not in PurePosixPath(path).parts and not path.startswith("/"):
        yield f"runs:/{run}/{path}", f"{artifact_root}/{path}"


def _logged_model(source: MlflowReader, model_id: str, tried: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    try:
        logged = source.client.get_logged_model(model_id)
    except Exception as exc:
        tried.append((f"models:/{model_id}", _reason(source, exc)))
        return
    yield f"models:/{model_id}", str(logged.artifact_location)


def _fetch(source: MlflowReader, stored: str, target: Path, shown: str, tried: list[tuple[str, str]]) -> Path | None:
    """Download ``stored`` into ``target`` (through a temporary folder); None, with the reason in ``tried``,
    when it fails or is not an MLflow model."""
    import mlflow.artifacts

    try:
        listed = mlflow.artifacts.list_artifacts(artifact_uri=stored, tracking_uri=source.uri)
    except Exception:
        listed = None  # the download below says why
    if listed is not None and not listed:
        tried.append((shown, "no files are stored there"))
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as temp:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=stored, dst_path=temp,
                                                             tracking_uri=source.uri))
        except Exception as exc:
            tried.append((shown, _reason(source, exc)))
            return None
        if not (local / "MLmodel").is_file():
            tried.append((shown, "no MLmodel file there, so not an MLflow model"))
            return None
        shutil.rmtree(target, ignore_errors=True)
        os.replace(local, target)
    return target


def _reason(source: MlflowReader, exc: Exception) -> str:
    """One short line saying why a place failed: scrubbed of credentials and of control characters."""
    lines = [line.strip() for line in source.secrets.scrub(str(exc)).splitlines() if line.strip()]
    line = " ".join(lines[:2]) if lines and lines[0].endswith(":") else lines[0] if lines else type(exc).__name__
    return re.sub(r"[\x00-\x1f\x7f]", " ", line)[:200]


def _load(local: Path, uri: str, story: StorySource, location: Location, scored: AnyScoredSet,
          ) -> tuple[Callable[[pd.DataFrame], npt.NDArray[Any]], list[str]]:
    """A predict function giving what the scored set holds (the positive class's score; each class's chance in
    the story's order, or the called class's index; the forecast), and the columns the signature names (else,
    for a scikit-learn model, the columns it was fitted on)."""
    from mlflow.models import Model

    try:
        info = Model.load(str(local))
        signature = [str(n) for n in info.signature.inputs.input_names()] if info.signature is not None else []
        if "sklearn" in info.flavors:
            import mlflow.sklearn

            estimator = mlflow.sklearn.load_model(str(local))
            known = [str(n) for n in getattr(estimator, "feature_names_in_", [])]  # what it was fitted on
            return _sklearn_predict(estimator, story, scored), signature or known
        if "python_function" not in info.flavors:
            raise SourceError(f"the model {uri} has no flavour storybook can load ({', '.join(info.flavors)})",
                              location=location, hint=_ARTIFACT_HINT)
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(str(local))
    except StorybookError:
        raise
    except ImportError as exc:
        raise SourceError(f"the model {uri} needs {exc.name or 'a package'}, which is not installed here",
                          location=location, hint="install the model's requirements "
                          "(requirements.txt beside its MLmodel), or " + _ARTIFACT_HINT) from None
    except Exception as exc:
        raise SourceError(f"the model {uri} could not be loaded ({type(exc).__name__})", location=location,
                          hint=_ARTIFACT_HINT) from None
    if isinstance(scored, MulticlassSet):
        return _pyfunc_classes(pyfunc, story, scored, uri, location), signature

    def predict(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        output = np.asarray(pyfunc.predict(frame))
        return np.asarray(output.reshape(len(frame), -1)[:, -1], dtype=np.float64)

    return predict, signature


def _class_order(model_classes: list[str], story: StorySource, uri: str) -> list[int]:
    """Where each of the story's classes is among the model's (a located error when the model lacks one)."""
    evaluation = story.config.evaluation
    assert evaluation is not None
    missing = [value for value in evaluation.class_values if value not in model_classes]
    if missing:
        raise SourceError(f"the model {uri} knows the classes {', '.join(model_classes) or 'none'}, not "
                          f"{', '.join(repr(m) for m in missing)}", location=story.yaml.location(("evaluation",
                                                                                                   "classes")),
                          hint="spell each class under evaluation.classes as the model does")
    return [model_classes.index(value) for value in evaluation.class_values]


def _indices_of(calls: npt.ArrayLike, values: tuple[str, ...], uri: str, location: Location) -> npt.NDArray[np.intp]:
    text = [str(c) for c in np.asarray(calls).ravel()]
    unknown = sorted(set(text) - set(values))
    if unknown:
        raise SourceError(f"the model {uri} calls classes that are not the story's: {', '.join(unknown[:5])}",
                          location=location, hint="list every class under evaluation.classes")
    index = {value: i for i, value in enumerate(values)}
    return np.asarray([index[t] for t in text], dtype=np.intp)


def _pyfunc_classes(pyfunc: Any, story: StorySource, scored: MulticlassSet, uri: str, location: Location,
                    ) -> Callable[[pd.DataFrame], npt.NDArray[Any]]:
    """A generic model's calls (one class per row), or its chances as a table with a column per class."""
    values = scored.scores.classes

    def predict(frame: pd.DataFrame) -> npt.NDArray[Any]:
        output = pyfunc.predict(frame)
        if scored.scores.probabilities is None:
            return _indices_of(output, values, uri, location)
        if not isinstance(output, pd.DataFrame):
            raise SourceError(f"the model {uri} gives no table of chances with a column per class, which the "
                              "evaluation set's chances need", location=location, hint=_ARTIFACT_HINT)
        order = _class_order([str(c) for c in output.columns], story, uri)
        return np.asarray(output.to_numpy(dtype=np.float64)[:, order], dtype=np.float64)

    return predict


def _sklearn_predict(estimator: Any, story: StorySource, scored: AnyScoredSet,
                     ) -> Callable[[pd.DataFrame], npt.NDArray[Any]]:
    evaluation = story.config.evaluation
    assert evaluation is not None
    if isinstance(scored, RegressionSet):
        return lambda frame: np.asarray(estimator.predict(frame), dtype=np.float64)
    if isinstance(scored, MulticlassSet):
        uri = "the loaded model"
        location = story.yaml.location(("drivers", "source"))
        if scored.scores.probabilities is not None and hasattr(estimator, "predict_proba"):
            order = _class_order([str(c) for c in getattr(estimator, "classes_", [])], story, uri)
            return lambda frame: np.asarray(estimator.predict_proba(frame)[:, order], dtype=np.float64)
        if scored.scores.probabilities is not None:
            raise SourceError("the model gives no chances (predict_proba), which the evaluation set's chances need",
                              location=location, hint=_ARTIFACT_HINT)
        return lambda frame: _indices_of(estimator.predict(frame), scored.scores.classes, uri, location)
    if hasattr(estimator, "predict_proba"):
        classes = [str(c) for c in getattr(estimator, "classes_", [])]
        if evaluation.positive_value not in classes:
            raise SourceError(f"the model's classes are {', '.join(classes) or 'unknown'}, not "
                              f"{evaluation.positive_value!r}", location=story.yaml.location(("evaluation",
                                                                                              "positive_value")))
        column = classes.index(evaluation.positive_value)
        return lambda frame: np.asarray(estimator.predict_proba(frame)[:, column], dtype=np.float64)
    return lambda frame: np.asarray(estimator.predict(frame), dtype=np.float64)
