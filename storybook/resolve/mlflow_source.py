"""Resolve a story's references against an MLflow tracking server or store.

This is storybook's one door to MLflow. mlflow is imported lazily, so builds that never talk to MLflow never
pay for the import. Every MLflow failure becomes a StorybookError whose text has been scrubbed of secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import pandas as pd

from storybook.errors import Location, ReferenceNotFound, SourceError, StorybookError, TrackingError
from storybook.resolve.resolved import (
    ComparedVersion,
    DatasetRecord,
    Figure,
    ModelVersionRecord,
    Provenance,
    ResolvedRun,
    ResolvedStory,
    Series,
    SeriesPoint,
)
from storybook.resolve.tracking import Secrets, display_uri
from storybook.sources.loader import StorySource
from storybook.sources.schema import ModelRef

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["MlflowSource"]

MAX_EVALUATION_BYTES = 512 * 1024 * 1024
BOUNDED_HTTP = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


class MlflowSource:
    """Reads runs, registered models, metric histories and artifacts from one tracking URI."""

    def __init__(self, uri: str, cache_dir: Path) -> None:
        self.uri = uri
        self.shown_uri = display_uri(uri)
        self.secrets = Secrets(uri)
        self.cache_dir = cache_dir
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            # Bounded waiting: MLflow's defaults retry for minutes before giving up on a dead server.
            for name, value in BOUNDED_HTTP.items():
                os.environ.setdefault(name, value)
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def resolve(self, story: StorySource) -> ResolvedStory:
        config = story.config
        model_location = story.yaml.location(("model",))
        with self._errors(story, model_location):
            model, versions = self._model(config.model, model_location)
            run_id = model.run_id if model is not None else str(config.model.run_id)
            run = self._run(run_id, model_location)
        for index, metric in enumerate(config.metrics):
            if metric.key not in run.metrics:
                raise ReferenceNotFound(
                    f"metric {metric.key!r} is not logged on run {run_id} ({config.model.describe()})",
                    location=story.yaml.location(("metrics", index, "key")),
                    hint=_available("metrics logged", run.metrics),
                )
        series: dict[str, Series] = {}
        with self._errors(story, story.yaml.location(("series",))):
            for index, spec in enumerate(config.series):
                history = self._history(run_id, spec.key)
                if not history.points:
                    raise ReferenceNotFound(
                        f"run {run_id} has no history for metric {spec.key!r}",
                        location=story.yaml.location(("series", index, "key")),
                        hint=_available("metrics logged", run.metrics),
                    )
                series[spec.key] = history
        evaluation = None
        evaluation_provenance = None
        if config.evaluation is not None and config.evaluation.counts is not None:
            counts = config.evaluation.counts
            for name in ("tp", "fp", "tn", "fn"):
                key = getattr(counts, name)
                if key not in run.metrics:
                    raise ReferenceNotFound(
                        f"metric {key!r} (the {name} count) is not logged on run {run_id}",
                        location=story.yaml.location(("evaluation", "counts", name)),
                        hint=_available("metrics logged", run.metrics))
        if config.evaluation is not None and config.evaluation.artifact is not None:
            location = story.yaml.location(("evaluation", "artifact"))
            with self._errors(story, location):
                evaluation = self._evaluation(run_id, config.evaluation.artifact, location)
            evaluation_provenance = Provenance(self.shown_uri, run_id, "artifact", config.evaluation.artifact)
        tables: dict[str, pd.DataFrame] = {}
        compared = None
        if config.trust is not None:
            tables, compared = self._trust_inputs(story, run, series)
        return ResolvedStory(
            source=self.shown_uri, run=run, model=model, versions=versions, series=series,
            evaluation=evaluation, evaluation_provenance=evaluation_provenance, tables=tables, compared=compared,
        )

    def _trust_inputs(self, story: StorySource, run: ResolvedRun, series: dict[str, Series],
                      ) -> tuple[dict[str, pd.DataFrame], ComparedVersion | None]:
        """The histories, tables and other version a trust report needs (added to ``series`` in place)."""
        trust = story.config.trust
        assert trust is not None
        wanted: list[tuple[str, tuple[str | int, ...]]] = []
        if trust.model.folds is not None:
            wanted.append((trust.model.folds, ("trust", "model", "folds")))
        wanted += [(g.series, ("trust", "guardrails", i, "series")) for i, g in enumerate(trust.guardrails)]
        for key, where in wanted:
            if key in series:
                continue
            with self._errors(story, story.yaml.location(where)):
                history = self._history(run.run_id, key)
            if not history.points:
                raise ReferenceNotFound(f"run {run.run_id} has no history for metric {key!r}",
                                        location=story.yaml.location(where),
                                        hint=_available("metrics logged", run.metrics))
            series[key] = history
        tables: dict[str, pd.DataFrame] = {}
        for name in ("training_artifact", "production_artifact"):
            artifact = getattr(trust.data, name)
            if artifact is not None:
                location = story.yaml.location(("trust", "data", name))
                with self._errors(story, location):
                    tables[artifact] = self._evaluation(run.run_id, artifact, location)
        compared = None
        ref = story.config.model
        if trust.model.compare_with is not None and ref.name is not None:
            location = story.yaml.location(("trust", "model", "compare_with"))
            with self._errors(story, location):
                other_ref = ModelRef(name=ref.name, alias=trust.model.compare_with)
                other, _ = self._model(other_ref, location)
                assert other is not None
                other_run = self._run(other.run_id, location)
                other_evaluation = None
                evaluation = story.config.evaluation
                if evaluation is not None and evaluation.artifact is not None:
                    other_evaluation = self._evaluation(other.run_id, evaluation.artifact, location)
            compared = ComparedVersion(model=other, run=other_run, evaluation=other_evaluation)
        return tables, compared

    # -- MLflow reads -------------------------------------------------------------------------------------

    def _model(self, ref: ModelRef, location: Location) -> tuple[ModelVersionRecord | None,
                                                                 tuple[ModelVersionRecord, ...]]:
        if ref.name is None:
            return None, ()
        from mlflow.exceptions import MlflowException

        try:
            if ref.alias is not None:
                found = self.client.get_model_version_by_alias(ref.name, ref.alias)
            else:
                found = self.client.get_model_version(ref.name, str(ref.version))
        except MlflowException as exc:
            if _not_found(exc):
                raise ReferenceNotFound(
                    f"{ref.describe()} is not in the model registry at {self.shown_uri}",
                    location=location, hint=self._registered_hint(ref.name),
                ) from None
            raise
        # search_model_versions leaves aliases out on some stores; the registered model has them all.
        aliases: dict[int, list[str]] = {}
        for alias, number in (getattr(self.client.get_registered_model(ref.name), "aliases", None) or {}).items():
            aliases.setdefault(int(number), []).append(alias)
        versions = tuple(sorted(
            (_version_record(v, aliases) for v in self.client.search_model_versions(f"name = '{_quote(ref.name)}'")),
            key=lambda v: v.version))
        return _version_record(found, aliases), versions

    def _registered_hint(self, name: str) -> str:
        try:
            model = self.client.get_registered_model(name)
        except Exception:
            names = [m.name for m in self.client.search_registered_models(max_results=20)]
            return f"registered models: {', '.join(names) or 'none'}"
        aliases = ", ".join(sorted(getattr(model, "aliases", {}) or {})) or "none"
        return f"{name} has aliases: {aliases}"

    def _run(self, run_id: str, location: Location) -> ResolvedRun:
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException as exc:
            if _not_found(exc):
                raise ReferenceNotFound(f"run {run_id} does not exist at {self.shown_uri}", location=location,
                                        hint="check the run id in the MLflow UI") from None
            raise
        try:
            experiment_name = self.client.get_experiment(run.info.experiment_id).name
        except MlflowException:
            experiment_name = run.info.experiment_id
        metrics = {
            key: Figure(key, float(value), Provenance(self.shown_uri, run_id, "metric", key))
            for key, value in run.data.metrics.items()
        }
        # The summary metrics carry no step or time; the detailed record does, so take it when it exists.
        for metric in getattr(run.data, "_metric_objs", []) or []:
            metrics[metric.key] = Figure(metric.key, float(metric.value), Provenance(
                self.shown_uri, run_id, "metric", metric.key, int(metric.step), int(metric.timestamp)))
        return ResolvedRun(
            run_id=run_id, run_name=run.info.run_name or run_id, experiment_name=experiment_name,
            start_ms=int(run.info.start_time or 0), end_ms=run.info.end_time,
            metrics=metrics, params=dict(run.data.params), tags=dict(run.data.tags),
            datasets=tuple(_dataset_records(run)),
        )

    def _history(self, run_id: str, key: str) -> Series:
        points = tuple(
            sorted((SeriesPoint(int(m.step), int(m.timestamp), float(m.value))
                    for m in self.client.get_metric_history(run_id, key)), key=lambda p: (p.step, p.timestamp_ms))
        )
        return Series(key, points, Provenance(self.shown_uri, run_id, "series", key))

    def _evaluation(self, run_id: str, artifact: str, location: Location) -> pd.DataFrame:
        path = self._artifact(run_id, artifact, location)
        if path.stat().st_size > MAX_EVALUATION_BYTES:
            raise SourceError(f"artifact {artifact!r} is larger than {MAX_EVALUATION_BYTES // 2**20} MiB",
                              location=location, hint="log a sample of the evaluation set")
        try:
            if path.suffix == ".parquet":
                return pd.read_parquet(path)
            return pd.read_csv(path)
        except Exception as exc:
            raise SourceError(f"artifact {artifact!r} of run {run_id} is not a readable table ({exc})",
                              location=location, hint="log the scored evaluation set as CSV or Parquet") from None

    def _artifact(self, run_id: str, artifact: str, location: Location) -> Path:
        """Download an artifact once; later calls read the cached copy."""
        pure = PurePosixPath(artifact)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise SourceError(f"artifact path {artifact!r} must be relative to the run, without '..'",
                              location=location)
        key = hashlib.sha256(json.dumps([self.shown_uri, run_id, artifact]).encode()).hexdigest()[:24]
        target_dir = self.cache_dir / "artifacts" / key
        cached = target_dir / pure.name
        if cached.is_file():
            return cached
        from mlflow.exceptions import MlflowException

        target_dir.mkdir(parents=True, exist_ok=True)
        try:
            downloaded = Path(self.client.download_artifacts(run_id, artifact, str(target_dir)))
        except (MlflowException, OSError) as exc:
            if isinstance(exc, OSError) or _not_found(exc):
                listed = [f.path for f in self.client.list_artifacts(run_id, str(pure.parent))
                          if pure.parent.parts] or [f.path for f in self.client.list_artifacts(run_id)]
                raise ReferenceNotFound(
                    f"run {run_id} has no artifact {artifact!r}", location=location,
                    hint=f"artifacts there: {', '.join(listed) or 'none'}",
                ) from None
            raise
        if not downloaded.is_file():
            raise ReferenceNotFound(f"artifact {artifact!r} of run {run_id} is a folder, not a file",
                                    location=location)
        return downloaded

    @contextmanager
    def _errors(self, story: StorySource, location: Location) -> Iterator[None]:
        """Turn MLflow and network failures into scrubbed, located StorybookErrors."""
        try:
            yield
        except StorybookError:
            raise
        except Exception as exc:
            raise TrackingError(
                f"MLflow at {self.shown_uri} {_explain(self.secrets.scrub(str(exc)))} while resolving "
                f"{story.config.model.describe()}",
                location=location,
                hint="check that the tracking server is running, the URI is right and the credentials are valid; "
                "a build from a pinned snapshot needs no server",
            ) from None


def _explain(text: str) -> str:
    """What went wrong, in words, from an MLflow or requests error message."""
    # MLflow's REST client says "failed with error code 401 != 200"; requests says "status code", "HTTP 401".
    status = re.search(r"(?:status code|error code|HTTP|response code|too many)[^0-9]{0,12}(\d{3})", text)
    code = status.group(1) if status is not None else ""
    if code in ("401", "403") or re.search(r"Unauthorized|PERMISSION_DENIED|UNAUTHENTICATED", text):
        return "refused the credentials"
    if "NewConnectionError" in text or "Connection refused" in text or "Failed to establish" in text:
        return "could not be reached (connection refused)"
    if "timed out" in text.lower() or "timeout" in text.lower():
        return "did not answer in time"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "ConnectionReset" in text:
        return "dropped the connection"
    if code.startswith("5"):
        return f"answered with a server error (HTTP {code})"
    return f"failed ({_first_line(text)})"


def _version_record(version: Any, aliases: dict[int, list[str]]) -> ModelVersionRecord:
    number = int(version.version)
    return ModelVersionRecord(
        name=version.name, version=number, run_id=version.run_id or "",
        created_ms=int(version.creation_timestamp or 0),
        aliases=tuple(sorted({*(version.aliases or ()), *aliases.get(number, ())})),
        description=version.description or "",
    )


def _dataset_records(run: Any) -> Iterator[DatasetRecord]:
    inputs = getattr(run, "inputs", None)
    for dataset_input in getattr(inputs, "dataset_inputs", None) or []:
        dataset = dataset_input.dataset
        context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), "")
        rows = None
        features: tuple[str, ...] = ()
        try:
            profile = json.loads(dataset.profile or "{}")
            rows = int(profile["num_rows"]) if "num_rows" in profile else None
            schema = json.loads(dataset.schema or "{}")
            columns = schema.get("mlflow_colspec", [])
            features = tuple(str(c.get("name")) for c in columns if isinstance(c, dict))
        except (ValueError, TypeError, AttributeError):
            pass
        yield DatasetRecord(name=dataset.name, digest=dataset.digest, context=context,
                            source_type=dataset.source_type, rows=rows, features=features)


def _not_found(exc: Exception) -> bool:
    code = str(getattr(exc, "error_code", ""))
    return "RESOURCE_DOES_NOT_EXIST" in code or "NOT_FOUND" in code or "INVALID_PARAMETER_VALUE" in code


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no details"
    return line[:300]


def _available(what: str, names: dict[str, Any]) -> str:
    shown = sorted(names)[:15]
    more = f" and {len(names) - 15} more" if len(names) > 15 else ""
    return f"{what}: {', '.join(shown) or 'none'}{more}"
