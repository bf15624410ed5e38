"""What a story's references resolve to: plain, frozen data with provenance, ready for analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

__all__ = [
    "ComparedVersion",
    "DatasetRecord",
    "Figure",
    "ModelVersionRecord",
    "Provenance",
    "ResolvedRun",
    "ResolvedStory",
    "Series",
    "SeriesPoint",
]

ProvenanceKind = Literal["metric", "param", "tag", "artifact", "series"]


@dataclass(frozen=True)
class Provenance:
    """Where a value came from. ``source`` never carries credentials."""

    source: str
    run_id: str
    kind: ProvenanceKind
    key: str
    step: int | None = None
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class Figure:
    """A number a story shows, with where it came from."""

    key: str
    value: float
    provenance: Provenance


@dataclass(frozen=True)
class SeriesPoint:
    step: int
    timestamp_ms: int
    value: float


@dataclass(frozen=True)
class Series:
    """A metric history, e.g. a production series or per-fold cross-validation scores."""

    key: str
    points: tuple[SeriesPoint, ...]
    provenance: Provenance


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset the run logged with mlflow.log_input (its fingerprint, not its rows)."""

    name: str
    digest: str
    context: str
    source_type: str
    rows: int | None
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelVersionRecord:
    name: str
    version: int
    run_id: str
    created_ms: int
    aliases: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class ResolvedRun:
    run_id: str
    run_name: str
    experiment_name: str
    start_ms: int
    end_ms: int | None
    metrics: dict[str, Figure]
    params: dict[str, str]
    tags: dict[str, str]
    datasets: tuple[DatasetRecord, ...] = ()


@dataclass(frozen=True, eq=False)
class ComparedVersion:
    """Another version of the same registered model (e.g. the challenger), to compare with."""

    model: ModelVersionRecord
    run: ResolvedRun
    evaluation: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)
class ResolvedStory:
    """Everything one story needs from MLflow, fetched before any analysis starts."""

    source: str
    run: ResolvedRun
    model: ModelVersionRecord | None = None
    versions: tuple[ModelVersionRecord, ...] = ()
    series: dict[str, Series] = field(default_factory=dict)
    evaluation: pd.DataFrame | None = None
    evaluation_provenance: Provenance | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    compared: ComparedVersion | None = None
