"""Batched MLflow reads: what every story needs, read with as few requests as the store allows.

``MlflowSource.prefetch(stories)`` first plans what each story will read (:func:`plan_reads`, no I/O), then a
:class:`BatchReader` reads it all at once:

    registered models  one search_registered_models (aliases) and one search_model_versions (versions and
                       their run ids) for all names, ``name IN (...)``, paged; one pair per name on stores
                       that refuse ``IN``
    experiments        one search_experiments (ids and names), paged
    runs               one search_runs over all experiments per 500 run ids (``attributes.run_id IN (...)``),
                       paged; a run id that is not there is remembered as missing
    metric histories   through ``mlflow server``: the REST ``metrics/get-history-bulk-interval`` per metric key
                       and 100 runs, asking for 2,500 points a run (it samples only past that, so a run that
                       returns fewer is its whole history; one that reaches it is read again with
                       get_metric_history); a database store (sqlite, PostgreSQL, MySQL): its own
                       get_metric_history_bulk, one query per metric key and 100 runs (2,500 points a run at
                       most in all: the runs it returned whole are kept, the others read one by one); other
                       stores: get_metric_history per (run, key), each once

A read that fails is remembered with its exception, so every story that needed it fails with its own located
error without asking MLflow again. Nothing here imports mlflow at module level.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storybook.resolve.resolved import SeriesPoint
from storybook.sources.loader import StorySource

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["BatchReader", "Registered", "StoryReads", "plan_reads"]

RUN_IDS_PER_SEARCH = 500
NAMES_PER_SEARCH = 100
RUNS_PER_HISTORY_REQUEST = 100  # the server's limit for get-history-bulk-interval
POINTS_PER_RUN = 2500  # the server's largest max_results for it
HISTORY_BULK_ENDPOINT = "/api/2.0/mlflow/metrics/get-history-bulk-interval"


@dataclass(frozen=True)
class StoryReads:
    """What one story reads from MLflow: its model version (or run), series and artifacts."""

    name: str | None = None
    alias: str | None = None
    version: int | None = None
    run_id: str | None = None
    compare_with: str | None = None  # another alias of the same model
    series: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()  # on the story's own run
    compared_artifacts: tuple[str, ...] = ()  # on the run of the version it compares with


def plan_reads(story: StorySource) -> StoryReads:
    """The reads ``MlflowSource.resolve(story)`` will make, from the story's configuration alone."""
    config = story.config
    ref = config.model
    series = [spec.key for spec in config.series]
    artifacts: list[str] = []
    compared: list[str] = []
    compare_with = None
    evaluation = config.evaluation.artifact if config.evaluation is not None else None
    if evaluation is not None:
        artifacts.append(evaluation)
    if config.evaluation is not None and config.evaluation.aggregate is not None:
        artifacts.append(config.evaluation.aggregate)  # the counted set, read beside (or instead of) the rows
    trust = config.trust
    if trust is not None:
        if trust.model.folds is not None:
            series.append(trust.model.folds)
        series += [guardrail.series for guardrail in trust.guardrails]
        artifacts += [a for a in (trust.data.training_artifact, trust.data.production_artifact,
                                  trust.production_scores) if a is not None]
        if trust.model.compare_with is not None and ref.name is not None:
            compare_with = trust.model.compare_with
            if evaluation is not None:
                compared.append(evaluation)
    return StoryReads(
        name=ref.name, alias=ref.alias, version=ref.version, run_id=ref.run_id, compare_with=compare_with,
        series=tuple(dict.fromkeys(series)), artifacts=tuple(dict.fromkeys(artifacts)),
        compared_artifacts=tuple(compared),
    )


@dataclass
class Registered:
    """A registered model as the registry holds it: its versions by number, its aliases and its tags."""

    name: str
    versions: dict[int, Any] = field(default_factory=dict)  # mlflow ModelVersion entities
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def version(self, alias: str | None = None, number: int | None = None) -> Any | None:
        if alias is not None:
            number = self.aliases.get(alias)
        return None if number is None else self.versions.get(number)

    def aliases_of(self) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for alias, number in self.aliases.items():
            found.setdefault(number, []).append(alias)
        return found


class BatchReader:
    """What has been read from one tracking URI, by name, run id and (run id, metric key).

    ``load_*`` read what is not read yet, in batches; the lookups raise the exception a failed read gave.
    """

    def __init__(self, client: Callable[[], MlflowClient]) -> None:
        self._client = client
        self.models: dict[str, Registered | None] = {}
        self.runs: dict[str, Any | None] = {}  # mlflow Run entities; None: no such run
        self.histories: dict[tuple[str, str], tuple[SeriesPoint, ...]] = {}
        self.experiments: dict[str, str] | None = None
        self.failed: dict[tuple[str, ...], Exception] = {}

    # -- lookups ------------------------------------------------------------------------------------------

    def model(self, name: str) -> Registered | None:
        if name not in self.models and ("model", name) not in self.failed:
            self.load_models([name])
        self._raise_failure(("model", name))
        return self.models[name]

    def run(self, run_id: str) -> Any | None:
        if run_id not in self.runs and ("run", run_id) not in self.failed:
            self.load_runs([run_id])
        self._raise_failure(("run", run_id))
        return self.runs[run_id]

    def experiment_name(self, experiment_id: str) -> str:
        return (self.experiments or {}).get(experiment_id, experiment_id)

    def history(self, run_id: str, key: str) -> tuple[SeriesPoint, ...]:
        if (run_id, key) not in self.histories and ("history", run_id, key) not in self.failed:
            self.load_histories([(run_id, key)])
        self._raise_failure(("history", run_id, key))
        return self.histories[(run_id, key)]

    def _raise_failure(self, key: tuple[str, ...]) -> None:
        failure = self.failed.get(key)
        if failure is not None:
            raise failure

    # -- batched reads -------------------------------------------------------------------------------------

    def load_models(self, names: Iterable[str]) -> None:
        """Versions and aliases of every named model not read yet: two searches per 100 names."""
        wanted = sorted({n for n in names if n not in self.models and ("model", n) not in self.failed})
        for chunk in _chunks(wanted, NAMES_PER_SEARCH):
            try:
                found = self._search_models(chunk)
            except Exception as exc:
                for name in chunk:
                    self.failed[("model", name)] = exc
                continue
            for name in chunk:
                self.models[name] = found.get(name)

    def _search_models(self, names: list[str]) -> dict[str, Registered]:
        from mlflow.exceptions import MlflowException

        client = self._client()
        try:
            return self._search_models_where(client, _in_filter("name", names))
        except MlflowException as exc:
            if len(names) == 1 or "INVALID_PARAMETER_VALUE" not in str(getattr(exc, "error_code", "")):
                raise
        # A store that does not take `name IN (...)`: one pair of searches per name.
        found: dict[str, Registered] = {}
        for name in names:
            found.update(self._search_models_where(client, f"name = '{_quote(name)}'"))
        return found

    @staticmethod
    def _search_models_where(client: MlflowClient, where: str) -> dict[str, Registered]:
        found: dict[str, Registered] = {}
        # search_model_versions leaves aliases out on sqlite and through the server; the registered model
        # has them all.
        for model in _pages(lambda token: client.search_registered_models(where, max_results=1000,
                                                                          page_token=token)):
            entry = found.setdefault(model.name, Registered(model.name))
            entry.aliases.update({alias: int(number) for alias, number in (model.aliases or {}).items()})
            entry.tags.update({str(k): str(v) for k, v in (getattr(model, "tags", None) or {}).items()})
        for version in _pages(lambda token: client.search_model_versions(where, max_results=10_000,
                                                                         page_token=token)):
            entry = found.setdefault(version.name, Registered(version.name))
            entry.versions[int(version.version)] = version
        return found

    def load_runs(self, run_ids: Iterable[str]) -> None:
        """Every run not read yet, with one search_runs per 500 ids over all experiments (paged)."""
        wanted = sorted({r for r in run_ids if r not in self.runs and ("run", r) not in self.failed})
        if not wanted:
            return
        from mlflow.entities import ViewType

        try:
            client = self._client()
            if self.experiments is None:
                self.experiments = {e.experiment_id: e.name for e in _pages(
                    lambda token: client.search_experiments(view_type=ViewType.ALL, max_results=1000,
                                                            page_token=token))}
            experiment_ids = sorted(self.experiments)
        except Exception as exc:
            for run_id in wanted:
                self.failed[("run", run_id)] = exc
            return
        for chunk in _chunks(wanted, RUN_IDS_PER_SEARCH):
            try:
                found = {run.info.run_id: run for experiments in _chunks(experiment_ids, 1000)
                         for run in _search_runs(client, experiments, _in_filter("attributes.run_id", chunk))}
            except Exception as exc:
                for run_id in chunk:
                    self.failed[("run", run_id)] = exc
                continue
            for run_id in chunk:
                self.runs[run_id] = found.get(run_id)

    def load_histories(self, pairs: Iterable[tuple[str, str]]) -> None:
        """The full history of every (run id, metric key) not read yet."""
        wanted = sorted({p for p in pairs if p not in self.histories and ("history", *p) not in self.failed})
        if not wanted:
            return
        try:
            client = self._client()
            bulk = _history_endpoint(client) or _store_bulk_history(client)
        except Exception as exc:
            for run_id, key in wanted:
                self.failed[("history", run_id, key)] = exc
            return
        by_key: dict[str, list[str]] = {}
        for run_id, key in wanted:
            by_key.setdefault(key, []).append(run_id)
        for key, run_ids in by_key.items():
            for chunk in _chunks(run_ids, RUNS_PER_HISTORY_REQUEST):
                try:
                    got, whole = bulk(chunk, key) if bulk is not None else ({}, set())
                except _BulkUnsupported:
                    bulk, got, whole = None, {}, set()
                except Exception as exc:
                    for run_id in chunk:
                        self.failed[("history", run_id, key)] = exc
                    continue
                for run_id in chunk:
                    points = got.get(run_id, [])
                    if run_id not in whole:  # not read in bulk, or maybe only part of it
                        try:
                            points = [_point(m.step, m.timestamp, m.value)
                                      for m in client.get_metric_history(run_id, key)]
                        except Exception as exc:
                            self.failed[("history", run_id, key)] = exc
                            continue
                    self.histories[(run_id, key)] = tuple(sorted(points, key=_order))


class _BulkUnsupported(Exception):
    """The server has no bulk history endpoint (an older mlflow server)."""


# Reads the histories of one metric key for many runs at once: the points found for each run, and the runs whose
# whole history that is (any other run is read again on its own).
BulkHistory = Callable[[list[str], str], tuple[dict[str, list[SeriesPoint]], set[str]]]


def _history_endpoint(client: MlflowClient) -> BulkHistory | None:
    """A reader of many runs' histories of one key in one request, when the store is an mlflow server."""
    from mlflow.store.tracking.rest_store import RestStore

    # The bulk endpoint has no MlflowClient method; the client's own REST store gives its credentials.
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    if not isinstance(store, RestStore):
        return None
    from mlflow.utils import rest_utils

    http_request: Any = rest_utils.http_request  # untyped in mlflow

    def read(run_ids: list[str], key: str) -> tuple[dict[str, list[SeriesPoint]], set[str]]:
        response = http_request(store.get_host_creds(), HISTORY_BULK_ENDPOINT, "GET",
                                params={"run_ids": run_ids, "metric_key": key, "max_results": POINTS_PER_RUN})
        if response.status_code in (404, 405):  # an older server without the endpoint
            raise _BulkUnsupported()
        rest_utils.verify_rest_response(response, HISTORY_BULK_ENDPOINT)
        found: dict[str, list[SeriesPoint]] = {}
        for metric in response.json().get("metrics", []):
            found.setdefault(str(metric["run_id"]), []).append(
                _point(metric.get("step", 0), metric.get("timestamp", 0), metric.get("value", 0.0)))
        # The server samples a run past max_results points: a run that returned fewer is whole.
        return found, {run_id for run_id in run_ids if len(found.get(run_id, ())) < POINTS_PER_RUN}

    return read


def _store_bulk_history(client: MlflowClient) -> BulkHistory | None:
    """A reader of many runs' histories of one key in one query, when the store is a database (MLflow's
    ``SqlAlchemyStore.get_metric_history_bulk``: no MlflowClient method has it). Its limit counts the points of
    all the runs together, sorted run by run: if the limit is reached, each run followed by another in the answer
    is whole, and the rest are read one by one."""
    module = sys.modules.get("mlflow.store.tracking.sqlalchemy_store")  # loaded if the store is one (no import)
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    if module is None or not isinstance(store, module.SqlAlchemyStore) \
            or not callable(getattr(store, "get_metric_history_bulk", None)):
        return None

    def read(run_ids: list[str], key: str) -> tuple[dict[str, list[SeriesPoint]], set[str]]:
        limit = POINTS_PER_RUN * len(run_ids)
        answer = store.get_metric_history_bulk(run_ids, key, limit)
        found: dict[str, list[SeriesPoint]] = {}
        order: list[str] = []
        try:  # MLflow's MetricWithRunId: a Metric with its run's id
            for item in answer:
                run_id = str(item.run_id)
                if run_id not in found:
                    found[run_id] = []
                    order.append(run_id)
                found[run_id].append(_point(item.step, item.timestamp, item.value))
        except (AttributeError, TypeError):  # another shape in another MLflow version: read run by run
            raise _BulkUnsupported() from None
        if len(answer) < limit:
            return found, set(run_ids)  # nothing was cut off: a run not in the answer has no points
        return found, set(order[:-1])

    return read


def _search_runs(client: MlflowClient, experiment_ids: list[str], where: str) -> Iterator[Any]:
    """Runs in any state (as get_run finds them, deleted too), every page."""
    from mlflow.entities import ViewType

    return _pages(lambda token: client.search_runs(experiment_ids, where, run_view_type=ViewType.ALL,
                                                   max_results=1000, page_token=token))


def _point(step: Any, timestamp: Any, value: Any) -> SeriesPoint:
    return SeriesPoint(int(step or 0), int(timestamp or 0), float(value))


def _order(point: SeriesPoint) -> tuple[int, int, float]:
    return point.step, point.timestamp_ms, point.value


def _pages(search: Callable[[str | None], Any]) -> Iterator[Any]:
    """Every item of a paged MLflow search, following page tokens."""
    token: str | None = None
    while True:
        page = search(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _in_filter(attribute: str, values: list[str]) -> str:
    quoted = ", ".join(f"'{_quote(v)}'" for v in values)
    return f"{attribute} IN ({quoted})"


def _quote(name: str) -> str:
    return name.replace("'", "\\'")
