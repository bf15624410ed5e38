"""What MLflow holds for one model version or run, for ``storybook new`` to draft a story from.

Read through :class:`~storybook.resolve.mlflow_source.MlflowSource` (the one door): the registered model's
aliases, the run's metrics and params, which metrics were logged step by step (histories), and the run's table
artifacts (CSV or Parquet), with the roles ``storybook.log_scored_set`` recorded for them in a run tag. Every
error leaving here is a StorybookError scrubbed of credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storybook.errors import Location, ReferenceNotFound, StorybookError, TrackingError

if TYPE_CHECKING:
    import pandas as pd

    from storybook.resolve.mlflow_source import MlflowSource

__all__ = ["MAX_TABLES", "FoundTable", "ModelContents", "read_model_contents"]

MAX_TABLES = 20  # table artifacts read at most (the others are named as skipped)
SCORED_SET_TAG = "storybook.scored_set."  # as storybook.logging_api writes it
_TABLE_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class FoundTable:
    """A table artifact of the run: its path, its rows, and the column roles log_scored_set recorded (or None)."""

    path: str
    frame: pd.DataFrame = field(repr=False)
    roles: dict[str, Any] | None = None


@dataclass(frozen=True)
class ModelContents:
    uri: str  # the tracking URI without credentials
    run_id: str
    name: str | None = None  # the registered model (None for a story about a run)
    version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)  # every alias of the registered model -> its version
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    histories: tuple[str, ...] = ()  # metric keys logged at more than one step
    tables: tuple[FoundTable, ...] = ()
    unread: tuple[str, ...] = ()  # table artifacts that could not be read, each with the reason


def read_model_contents(source: MlflowSource, *, name: str | None = None, alias: str | None = None,
                        version: int | None = None, run_id: str | None = None) -> ModelContents:
    """What MLflow holds for ``name@alias``, ``name`` version ``version``, or the run ``run_id``."""
    try:
        with source.bounded(), _tracking_errors(source):
            return _read(source, name, alias, version, run_id)
    except StorybookError as error:
        raise source.scrubbed(error) from None


def _read(source: MlflowSource, name: str | None, alias: str | None, version: int | None,
          run_id: str | None) -> ModelContents:
    aliases: dict[str, int] = {}
    number: int | None = None
    if name is not None:
        registered = source.registered_model(name)
        found = registered.version(alias, version) if registered is not None else None
        if registered is None or found is None:
            which = f"{name}@{alias}" if alias is not None else f"{name} version {version}"
            known = (f"{name} has aliases: {', '.join(sorted(registered.aliases)) or 'none'} and versions "
                     f"{', '.join(str(v) for v in sorted(registered.versions))}" if registered is not None
                     else "check the name in the MLflow UI (Models)")
            raise ReferenceNotFound(f"model {which} is not in the model registry at {source.shown_uri}", hint=known)
        aliases = dict(sorted(registered.aliases.items()))
        number = int(found.version)
        run_id = str(found.run_id or "")
        if not run_id:
            raise ReferenceNotFound(f"model {name} version {number} names no run at {source.shown_uri}",
                                    hint="storybook reads a version's metrics from the run that logged it")
    assert run_id is not None
    run = source.runs([run_id]).get(run_id)
    if run is None:
        raise ReferenceNotFound(f"run {run_id} does not exist at {source.shown_uri}",
                                hint="check the run id in the MLflow UI")
    metrics = {str(k): float(v) for k, v in run.data.metrics.items()}
    client = source.client
    # Steps, not entries: MLflow 3's mlflow.models.evaluate logs each figure twice at step 0 (for the run and for
    # its logged model), which is one reading, not a series over time.
    histories = tuple(key for key in sorted(metrics)
                      if len({m.step for m in client.get_metric_history(run_id, key)}) > 1)
    tags = dict(run.data.tags)
    tables: list[FoundTable] = []
    unread: list[str] = []
    for path in _table_artifacts(client, run_id):
        if len(tables) >= MAX_TABLES:
            unread.append(f"{path} (storybook reads at most {MAX_TABLES} tables)")
            continue
        try:
            frame = source.evaluation_table(run_id, path, Location(Path(path)))
        except StorybookError as error:
            unread.append(f"{path} ({source.secrets.scrub(error.message)})")
            continue
        tables.append(FoundTable(path, frame, _roles(tags.get(SCORED_SET_TAG + path))))
    return ModelContents(uri=source.shown_uri, run_id=run_id, name=name, version=number, aliases=aliases,
                         metrics=metrics, params={str(k): str(v) for k, v in run.data.params.items()},
                         histories=histories, tables=tuple(tables), unread=tuple(unread))


def _table_artifacts(client: Any, run_id: str, folder: str | None = None, depth: int = 0) -> Iterator[str]:
    """Paths of the run's CSV and Parquet artifacts, folders first searched to a depth of three."""
    for entry in client.list_artifacts(run_id, folder) if depth <= 3 else []:
        if entry.is_dir:
            yield from _table_artifacts(client, run_id, entry.path, depth + 1)
        elif str(entry.path).lower().endswith(_TABLE_SUFFIXES):
            yield str(entry.path)


def _roles(tag: str | None) -> dict[str, Any] | None:
    """The roles log_scored_set recorded (untrusted: only a JSON object of strings is taken)."""
    if tag is None:
        return None
    try:
        value = json.loads(tag)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    roles: dict[str, Any] = {str(k): v for k, v in value.items() if isinstance(v, str)}
    chances = value.get("probabilities")
    if isinstance(chances, dict) and all(isinstance(v, str) for v in chances.values()):
        roles["probabilities"] = {str(k): v for k, v in chances.items()}
    slices = value.get("slices")
    if isinstance(slices, list) and all(isinstance(v, str) for v in slices):
        roles["slices"] = list(slices)
    return roles


@contextmanager
def _tracking_errors(source: MlflowSource) -> Iterator[None]:
    """MLflow and network failures as a TrackingError naming the (scrubbed) server."""
    try:
        yield
    except StorybookError:
        raise
    except Exception as error:
        from storybook.resolve.mlflow_source import _explain

        explained = _explain(source.secrets.scrub(str(error)) or type(error).__name__)
        raise TrackingError(f"MLflow at {source.shown_uri} {explained} while storybook new read the model",
                            hint="check that the tracking server is running, the URI is right and the "
                            "credentials are valid") from None
