"""Metric histories from a database store are read for many runs in one query (MLflow's own
``SqlAlchemyStore.get_metric_history_bulk``), and give exactly what ``get_metric_history`` gives run by run, also
when the query's limit cuts the answer short (those runs are read again one by one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from storybook.resolve import batch
from storybook.resolve.batch import BatchReader

KEY = "val_loss"
POINTS = {"a": 3, "b": 7, "c": 0, "d": 4}  # points of KEY per run; run c logs another metric only


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MlflowClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("histories")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("histories", artifact_location=(root / "artifacts").as_uri())
    runs: dict[str, str] = {}
    for name, count in POINTS.items():
        run_id = client.create_run(experiment, run_name=name).info.run_id
        metrics = [Metric(KEY, 1.0 / (step + 1) + len(name), 1_000 + step * 10, step) for step in range(count)]
        metrics.append(Metric("other", 0.5, 1_000, 0))
        if name == "d":  # two readings with the same step and timestamp: order them by value, as MLflow does
            metrics.append(Metric(KEY, 0.1, 1_000, 0))
        client.log_batch(run_id, metrics=metrics)
        runs[name] = run_id
    yield client, runs
    client._tracking_client.store.engine.dispose()


def _one_by_one(client: MlflowClient, run_id: str) -> tuple[tuple[int, int, float], ...]:
    return tuple(sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, KEY)))


def _counted(client: MlflowClient, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"bulk": 0, "one": 0}
    store: Any = client._tracking_client.store
    bulk, one = store.get_metric_history_bulk, client.get_metric_history

    def counted_bulk(*args: Any, **kwargs: Any) -> Any:
        calls["bulk"] += 1
        return bulk(*args, **kwargs)

    def counted_one(*args: Any, **kwargs: Any) -> Any:
        calls["one"] += 1
        return one(*args, **kwargs)

    monkeypatch.setattr(store, "get_metric_history_bulk", counted_bulk)
    monkeypatch.setattr(client, "get_metric_history", counted_one)
    return calls


def _read(client: MlflowClient, runs: dict[str, str]) -> BatchReader:
    reader = BatchReader(lambda: client)
    reader.load_histories((run_id, KEY) for run_id in runs.values())
    return reader


def test_every_run_is_read_in_one_query_and_matches_get_metric_history(
        store: tuple[MlflowClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    client, runs = store
    expected = {name: _one_by_one(client, run_id) for name, run_id in runs.items()}
    calls = _counted(client, monkeypatch)
    reader = _read(client, runs)
    assert calls == {"bulk": 1, "one": 0}
    for name, run_id in runs.items():
        got = tuple((p.step, p.timestamp_ms, p.value) for p in reader.history(run_id, KEY))
        assert got == expected[name]
    assert len(reader.history(runs["d"], KEY)) == 5 and reader.history(runs["c"], KEY) == ()


def test_an_answer_cut_short_by_the_limit_reads_the_rest_run_by_run(
        store: tuple[MlflowClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    client, runs = store
    expected = {name: _one_by_one(client, run_id) for name, run_id in runs.items()}
    monkeypatch.setattr(batch, "POINTS_PER_RUN", 2)  # a limit of 8 points for the 4 runs: 15 are logged
    calls = _counted(client, monkeypatch)
    reader = _read(client, runs)
    assert calls["bulk"] == 1
    assert 1 <= calls["one"] < len(runs)  # a run followed by another in the answer is not read again
    for name, run_id in runs.items():
        assert tuple((p.step, p.timestamp_ms, p.value) for p in reader.history(run_id, KEY)) == expected[name]
