"""Resolve a story's references against an MLflow tracking server or store.

This is storybook's one door to MLflow. mlflow is imported lazily, so builds that never talk to MLflow never
pay for the import. Every MLflow failure becomes a StorybookError whose text has been scrubbed of secrets.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from storybook.aggregate.windows import windows_table
from storybook.aggregate.windows_multiclass import multiclass_windows_table
from storybook.errors import Location, ReferenceNotFound, SourceError, StorybookError, TrackingError
from storybook.resolve.artifacts import ArtifactFiles
from storybook.resolve.batch import BatchReader, Registered, StoryReads, plan_reads
from storybook.resolve.drivers import resolve_drivers
from storybook.resolve.readings import check_figures, check_readings, on_calendar
from storybook.resolve.registry_history import resolve_history
from storybook.resolve.resolved import (
    ComparedVersion,
    DatasetRecord,
    Figure,
    ModelVersionRecord,
    Provenance,
    ResolvedRun,
    ResolvedStory,
    Series,
)
from storybook.resolve.scored import AnyScoredSet, task_set
from storybook.resolve.scored_aggregate import aggregate_set, checked_aggregate
from storybook.resolve.tracking import Secrets, display_uri
from storybook.resolve.waiting import show_wait
from storybook.sources.loader import StorySource
from storybook.sources.schema import ModelRef

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["VERBOSE_ENV", "MlflowSource"]

MAX_EVALUATION_BYTES = 512 * 1024 * 1024
# How long storybook waits for the tracking server (MLflow's own defaults retry for minutes before giving up on
# a dead server): storybook.yaml's tracking_timeout / tracking_retries, else MLflow's environment variables,
# else these. Set only while storybook reads MLflow (see MlflowSource._bounded).
DEFAULT_TIMEOUT = 10  # seconds to wait for each answer
DEFAULT_RETRIES = 1  # tries after the first
WAIT_NOTICE_AFTER = 2.0  # seconds before "waiting for the tracking server at ..." is said
BOUNDED_HTTP = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # MLflow's usage telemetry asks the tracking server for /server-info and sends events elsewhere: reading
    # runs for a report should do neither (set it to false to allow it).
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


class MlflowSource:
    """Reads runs, registered models, metric histories and artifacts from one tracking URI."""

    def __init__(self, uri: str, cache_dir: Path, artifact_locations: Iterable[str] = (), *,
                 timeout: int | None = None, retries: int | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        """``artifact_locations``: artifact stores to read besides the tracking server (storybook.yaml's
        ``artifact_locations``; see :func:`storybook.resolve.tracking.artifact_refusal`). ``timeout`` (seconds
        per answer) and ``retries``: storybook.yaml's ``tracking_timeout`` and ``tracking_retries``, else
        MLFLOW_HTTP_REQUEST_TIMEOUT and MLFLOW_HTTP_REQUEST_MAX_RETRIES, else 10 s and 1. ``on_wait`` is told,
        once, when the server has not answered for a couple of seconds (default: a spinner with the server's
        address and the time waited on a terminal, else one line on stderr; see :mod:`.waiting`). Once a server
        has not answered in time, later reads fail at once with the same message instead of waiting again, so
        the whole wait of a command is bounded by one request's timeout and retries, however many stories."""
        self.timeout = timeout if timeout is not None else _env_int("MLFLOW_HTTP_REQUEST_TIMEOUT", DEFAULT_TIMEOUT)
        self.retries = retries if retries is not None else _env_int("MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                                                                    DEFAULT_RETRIES)
        self.on_wait = on_wait
        self._depth = 0  # nesting of _bounded
        self._waited = False
        self._lock = threading.Lock()  # between _bounded and the timer thread that starts the notice
        self._reading = False
        self._stop_notice: Callable[[], None] | None = None
        self._unanswered: str | None = None  # set when the server did not answer in time: no more waiting
        self.uri = uri
        self.shown_uri = display_uri(uri)
        self.secrets = Secrets(uri)
        self.cache_dir = cache_dir
        self.artifact_locations = tuple(artifact_locations)
        self._client: MlflowClient | None = None
        self._batch = BatchReader(lambda: self.client)
        self.artifacts = ArtifactFiles(uri, cache_dir, self._batch.run, self.artifact_locations)
        self._tables: dict[Path, pd.DataFrame] = {}

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            for name, value in BOUNDED_HTTP.items():
                os.environ.setdefault(name, value)
            from mlflow.tracking import MlflowClient

            _quiet_mlflow(self.secrets)
            self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def prefetch(self, stories: Iterable[StorySource]) -> None:
        """Read what all ``stories`` need in batches, before any of them resolves (see ``batch.py``).

        Requests grow with models, experiments and metric keys, not with stories. Nothing is raised here: a
        read that failed is remembered, and each story that needed it fails in ``resolve`` with its own
        located error. ``resolve`` works without it too, reading one story's needs in the same batched way.
        """
        plans = [plan_reads(story) for story in stories]
        if not plans or self._unanswered is not None:
            return
        with self.bounded():
            self._prefetch(plans)

    def _prefetch(self, plans: list[StoryReads]) -> None:
        self._batch.load_models({plan.name for plan in plans if plan.name is not None})
        runs = [self._planned_runs(plan) for plan in plans]
        self._batch.load_runs({run_id for pair in runs for run_id in pair if run_id is not None})
        found = self._batch.runs
        self._batch.load_histories({(own, key) for plan, (own, _) in zip(plans, runs, strict=True)
                                    if own is not None and found.get(own) is not None for key in plan.series})
        artifacts: dict[tuple[str, str], None] = {}
        for plan, (own, other) in zip(plans, runs, strict=True):
            for run_id, paths in ((own, plan.artifacts), (other, plan.compared_artifacts)):
                if run_id is not None and found.get(run_id) is not None:
                    artifacts.update(dict.fromkeys((run_id, path) for path in paths))
        self.artifacts.prefetch(list(artifacts))

    def _planned_runs(self, plan: StoryReads) -> tuple[str | None, str | None]:
        """The run a story reads and the run of the version it compares with, as far as they are known."""
        if plan.name is None:
            return plan.run_id, None
        registered = self._batch.models.get(plan.name)
        if registered is None:
            return None, None
        own = registered.version(plan.alias, plan.version)
        other = registered.version(plan.compare_with) if plan.compare_with is not None else None
        return (own.run_id or None) if own is not None else None, (other.run_id or None) if other else None

    def registered_model(self, name: str) -> Registered | None:
        """A registered model as the batched registry read found it (versions, aliases, tags); None if absent.

        For other resolvers (e.g. a model's history): no request when prefetch already read the name.
        """
        return self._batch.model(name)

    def runs(self, run_ids: Iterable[str]) -> dict[str, Any]:
        """MLflow runs by id, read in batches (one search per 500 ids, all experiments); absent ids left out."""
        wanted = list(dict.fromkeys(run_ids))
        self._batch.load_runs(wanted)
        return {run_id: run for run_id in wanted if (run := self._batch.run(run_id)) is not None}

    def resolve(self, story: StorySource) -> ResolvedStory:
        """Everything ``story`` needs from MLflow. Every error leaving here is a StorybookError scrubbed of
        credentials (message and hint), whatever part of resolve raised it."""
        try:
            with self.bounded():
                return self._resolve(story)
        except StorybookError as error:
            raise self.scrubbed(error) from None
        except Exception as error:  # not foreseen: the caller reports its kind (its traceback with --debug)
            error.args = tuple(self.secrets.scrub(a) if isinstance(a, str) else a for a in error.args)
            if isinstance(getattr(error, "message", None), str):
                error.message = self.secrets.scrub(error.message)  # type: ignore[attr-defined]
            raise

    @contextmanager
    def bounded(self) -> Iterator[None]:
        """While storybook reads MLflow: MLflow waits ``timeout`` seconds per answer and tries ``retries`` more
        times (its environment variables, set for the duration and then restored), and when a server has not
        answered for a couple of seconds, ``on_wait`` says what storybook is waiting for, once."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        names = ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")
        saved = {name: os.environ.get(name) for name in (*names, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")}
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(self.timeout)
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(self.retries)
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        timer = None
        if self.uri.split(":", 1)[0] in ("http", "https", "databricks"):
            timer = threading.Timer(WAIT_NOTICE_AFTER, self._tell_waiting, args=(time.monotonic(),))
            timer.daemon = True
            timer.start()
        self._depth = 1
        with self._lock:
            self._reading = True
        try:
            yield
        finally:
            self._depth = 0
            if timer is not None:
                timer.cancel()
            with self._lock:
                self._reading, stop, self._stop_notice = False, self._stop_notice, None
            if stop is not None:
                stop()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _tell_waiting(self, started: float) -> None:
        """Runs in the timer's thread: the reads have waited a couple of seconds for the server."""
        bound = f"it gets {self.timeout} s to answer each request, {_tries(self.retries)}"
        with self._lock:
            if not self._reading:
                return  # the answer came just now
            if self.on_wait is not None:
                if not self._waited:
                    self.on_wait(f"waiting for the tracking server at {self.shown_uri} ... ({bound})")
            else:  # a spinner each time on a terminal; one line, once, elsewhere
                self._stop_notice = show_wait(self.shown_uri, bound, started, line=not self._waited)
            self._waited = True

    def scrubbed(self, error: StorybookError) -> StorybookError:
        """``error`` with every credential storybook knows of removed from its message and hint."""
        message = self.secrets.scrub(error.message)
        hint = self.secrets.scrub(error.hint) if error.hint is not None else None
        if message == error.message and hint == error.hint:
            return error
        try:
            return type(error)(message, location=error.location, hint=hint)
        except TypeError:  # a subclass with another signature: the base class keeps the words
            return StorybookError(message, location=error.location, hint=hint)

    def _resolve(self, story: StorySource) -> ResolvedStory:
        config = story.config
        model_location = story.yaml.location(("model",))
        with self.reading(story, model_location):
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
        check_figures(story, run.metrics, fix="log the figure as a number (or not at all), or leave it out of "
                      "metrics:")
        series: dict[str, Series] = {}
        with self.reading(story, story.yaml.location(("series",))):
            for index, spec in enumerate(config.series):
                history = self._history(run_id, spec.key)
                if not history.points:
                    raise ReferenceNotFound(
                        f"run {run_id} has no history for metric {spec.key!r}",
                        location=story.yaml.location(("series", index, "key")),
                        hint=_available("metrics logged", run.metrics),
                    )
                check_readings(history, story.yaml.location(("series", index, "key")))
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
            with self.reading(story, location):
                evaluation = self.evaluation_table(run_id, config.evaluation.artifact, location)
            evaluation_provenance = Provenance(self.shown_uri, run_id, "artifact", config.evaluation.artifact)
        # Checked once for the story's task: here when the drivers or the history need it now, handed to them and
        # to every analysis; else where the story is analysed (story_task_set, in a worker), so that this process
        # goes on reading the other stories. Its errors are the same, located at the story, either way.
        checked_now = config.history is not None or (config.drivers is not None and config.drivers.source == "model")
        scored = (task_set(story, evaluation, run.params, run_id)
                  if evaluation is not None and checked_now else None)
        aggregate = aggregate_info = None
        if config.evaluation is not None and config.evaluation.aggregate is not None:
            location = story.yaml.location(("evaluation", "aggregate"))
            with self.reading(story, location):
                path = self.artifacts.path(run_id, config.evaluation.aggregate, location)
            aggregate, aggregate_info = checked_aggregate(story, path, location)
            # The figures come from the aggregate; the row-level sample (if any) serves only the drivers.
            scored = aggregate_set(story, aggregate, aggregate_info, run.params, run_id,
                                   sample_rows=len(evaluation) if evaluation is not None else 0)
            evaluation_provenance = Provenance(self.shown_uri, run_id, "artifact", config.evaluation.aggregate)
        tables: dict[str, pd.DataFrame] = {}
        compared = None
        if config.trust is not None:
            tables, compared = self._trust_inputs(story, run, series)
        return ResolvedStory(
            source=self.shown_uri, run=run, model=model, versions=versions, series=series,
            evaluation=evaluation, evaluation_provenance=evaluation_provenance, tables=tables, compared=compared,
            drivers=resolve_drivers(self, story, run, model, evaluation, scored),
            history=resolve_history(self, story, run, versions, known=_checked_sets(run, scored, compared)),
            scored=scored, aggregate=aggregate, aggregate_info=aggregate_info,
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
            with self.reading(story, story.yaml.location(where)):
                history = self._history(run.run_id, key)
            if not history.points:
                raise ReferenceNotFound(f"run {run.run_id} has no history for metric {key!r}",
                                        location=story.yaml.location(where),
                                        hint=_available("metrics logged", run.metrics))
            check_readings(history, story.yaml.location(where))
            series[key] = history
        tables: dict[str, pd.DataFrame] = {}
        for name in ("training_artifact", "production_artifact"):
            artifact = getattr(trust.data, name)
            if artifact is not None:
                location = story.yaml.location(("trust", "data", name))
                with self.reading(story, location):
                    tables[artifact] = self.evaluation_table(run.run_id, artifact, location)
        if trust.production_scores is not None:  # the production windows the label-free estimate reads
            location = story.yaml.location(("trust", "production_scores"))
            with self.reading(story, location):
                path = self.artifacts.path(run.run_id, trust.production_scores, location)
                evaluation = story.config.evaluation
                if evaluation is not None and evaluation.task == "multiclass":
                    tables[trust.production_scores] = multiclass_windows_table(path, evaluation.class_values,
                                                                               where=location)
                else:
                    tables[trust.production_scores] = windows_table(path, where=location)
        compared = None
        ref = story.config.model
        if trust.model.compare_with is not None and ref.name is not None:
            location = story.yaml.location(("trust", "model", "compare_with"))
            with self.reading(story, location):
                other_ref = ModelRef(name=ref.name, alias=trust.model.compare_with)
                other, _ = self._model(other_ref, location)
                assert other is not None
                other_run = self._run(other.run_id, location)
                other_evaluation = None
                evaluation = story.config.evaluation
                if evaluation is not None and evaluation.artifact is not None:
                    other_evaluation = self.evaluation_table(other.run_id, evaluation.artifact, location)
            other_set = (task_set(story, other_evaluation, other_run.params, other_run.run_id,
                                  which=f"version {other.version}, the compared version")
                         if other_evaluation is not None else None)
            compared = ComparedVersion(model=other, run=other_run, evaluation=other_evaluation, scored=other_set)
        return tables, compared

    # -- MLflow reads -------------------------------------------------------------------------------------

    def _model(self, ref: ModelRef, location: Location) -> tuple[ModelVersionRecord | None,
                                                                 tuple[ModelVersionRecord, ...]]:
        if ref.name is None:
            return None, ()
        registered = self._batch.model(ref.name)
        found = registered.version(ref.alias, ref.version) if registered is not None else None
        if registered is None or found is None:
            raise ReferenceNotFound(f"{ref.describe()} is not in the model registry at {self.shown_uri}",
                                    location=location, hint=self._registered_hint(ref.name))
        aliases = registered.aliases_of()
        versions = tuple(sorted((_version_record(v, aliases) for v in registered.versions.values()),
                                key=lambda v: v.version))
        return _version_record(found, aliases), versions

    def _registered_hint(self, name: str) -> str:
        registered = self._batch.models.get(name)
        if registered is None:
            try:
                names = [m.name for m in self.client.search_registered_models(max_results=20)]
            except Exception:
                names = []
            return f"registered models: {', '.join(names) or 'none'}"
        aliases = ", ".join(sorted(registered.aliases)) or "none"
        return f"{name} has aliases: {aliases}"

    def _run(self, run_id: str, location: Location) -> ResolvedRun:
        run = self._batch.run(run_id)
        if run is None:
            raise ReferenceNotFound(f"run {run_id} does not exist at {self.shown_uri}", location=location,
                                    hint="check the run id in the MLflow UI")
        metrics = {
            key: Figure(key, float(value), Provenance(self.shown_uri, run_id, "metric", key))
            for key, value in run.data.metrics.items()
        }
        # The summary metrics carry no step or time; the detailed record does, so take it when it exists.
        for metric in getattr(run.data, "_metric_objs", []) or []:
            metrics[metric.key] = Figure(metric.key, float(metric.value), Provenance(
                self.shown_uri, run_id, "metric", metric.key, int(metric.step), on_calendar(int(metric.timestamp))))
        return ResolvedRun(
            run_id=run_id, run_name=run.info.run_name or run_id,
            experiment_name=self._batch.experiment_name(run.info.experiment_id),
            start_ms=int(run.info.start_time or 0), end_ms=run.info.end_time,
            metrics=metrics, params=dict(run.data.params), tags=dict(run.data.tags),
            datasets=tuple(_dataset_records(run)),
        )

    def _history(self, run_id: str, key: str) -> Series:
        return Series(key, self._batch.history(run_id, key), Provenance(self.shown_uri, run_id, "series", key))

    def evaluation_table(self, run_id: str, artifact: str, location: Location) -> pd.DataFrame:
        """A run's table artifact (CSV or Parquet), read once and copied for each caller."""
        path = self.artifacts.path(run_id, artifact, location)
        if path in self._tables:  # read once; each story gets its own copy
            return self._tables[path].copy()
        if path.stat().st_size > MAX_EVALUATION_BYTES:
            raise SourceError(f"artifact {artifact!r} is larger than {MAX_EVALUATION_BYTES // 2**20} MiB",
                              location=location, hint="log a sample of the evaluation set")
        try:
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        except Exception as exc:
            raise SourceError(f"artifact {artifact!r} of run {run_id} is not a readable table ({exc})",
                              location=location, hint="log the scored evaluation set as CSV or Parquet") from None
        self._tables[path] = frame
        return frame.copy()

    @contextmanager
    def reading(self, story: StorySource, location: Location) -> Iterator[None]:
        """Turn MLflow and network failures into scrubbed, located StorybookErrors. After the server did not
        answer in time, fail at once with the same words instead of asking it again."""
        if self._unanswered is not None:
            raise TrackingError(
                f"MLflow at {self.shown_uri} {self._unanswered} earlier in this command, so storybook did not ask "
                f"it again while resolving {story.config.model.describe()}",
                location=location, hint=_TIMEOUT_HINT)
        try:
            yield
        except StorybookError:
            raise
        except Exception as exc:
            explained = _explain(self.secrets.scrub(str(exc)))
            hint = ("check that the tracking server is running, the URI is right and the credentials are valid; "
                    "a build from a pinned snapshot needs no server")
            if explained == "did not answer in time":
                explained += f" (it got {self.timeout} s to answer each request, {_tries(self.retries)})"
                hint = _TIMEOUT_HINT
                self._unanswered = explained
            raise TrackingError(
                f"MLflow at {self.shown_uri} {explained} while resolving {story.config.model.describe()}",
                location=location, hint=hint,
            ) from None


class _Scrub(logging.Filter):
    """Removes every credential storybook knows of from a log line before a handler prints it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[Secrets] = []

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for secrets in self.secrets:
            text = secrets.scrub(text)
        record.msg, record.args = text, None
        return True


_SCRUB = _Scrub()
# Set by `storybook --verbose` (an environment variable, so worker processes see it too).
VERBOSE_ENV = "STORYBOOK_VERBOSE"


def _quiet_mlflow(secrets: Secrets) -> None:
    """MLflow's and alembic's INFO lines ("Creating initial MLflow database tables", "Context impl SQLiteImpl")
    are not said on every storybook command; their warnings and errors still are, scrubbed of credentials.
    With ``storybook --verbose`` (which sets STORYBOOK_VERBOSE) MLflow's INFO lines are said too, scrubbed the
    same way. MLFLOW_LOGGING_LEVEL, when set, decides instead."""
    if secrets not in _SCRUB.secrets:
        _SCRUB.secrets = [*_SCRUB.secrets[-15:], secrets]  # the sources of this process's recent commands
    verbose = bool(os.environ.get(VERBOSE_ENV))
    for name in ("mlflow", "alembic"):
        logger = logging.getLogger(name)
        if os.environ.get("MLFLOW_LOGGING_LEVEL"):
            pass
        elif verbose:
            logger.setLevel(logging.INFO)
        elif logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
        for handler in logger.handlers:
            if _SCRUB not in handler.filters:
                handler.addFilter(_SCRUB)


def _env_int(name: str, default: int) -> int:
    """A whole number from the environment; ``default`` when it is not set or not a number."""
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return default


def _tries(retries: int) -> str:
    return "one try" if retries == 0 else f"{retries + 1} tries"


_TIMEOUT_HINT = ("check that the tracking server is running and answers; to wait longer, set tracking_timeout "
                 "(seconds) in storybook.yaml or MLFLOW_HTTP_REQUEST_TIMEOUT; a build from a pinned snapshot "
                 "needs no server")


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



def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no details"
    return line[:300]


def _available(what: str, names: dict[str, Any]) -> str:
    shown = sorted(names)[:15]
    more = f" and {len(names) - 15} more" if len(names) > 15 else ""
    return f"{what}: {', '.join(shown) or 'none'}{more}"


def _checked_sets(run: ResolvedRun, scored: AnyScoredSet | None, compared: ComparedVersion | None,
                  ) -> dict[str, AnyScoredSet]:
    """The sets checked already, by run id: the story's version's and the compared version's."""
    known = {run.run_id: scored} if scored is not None else {}
    if compared is not None and compared.scored is not None:
        known[compared.run.run_id] = compared.scored
    return known
