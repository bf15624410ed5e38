"""What a story's references resolve to: plain, frozen data with provenance, ready for analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from storybook.aggregate.format import AggregateInfo
from storybook.resolve.figures import Figure, Provenance, ProvenanceKind, Series, SeriesPoint
from storybook.resolve.scored import AnyScoredSet, ScoredSet, task_set
from storybook.resolve.scored_aggregate import aggregate_set
from storybook.sources.loader import StorySource
from storybook.typed_json import DERIVED

__all__ = [
    "AliasEvent",
    "ComparedVersion",
    "DatasetRecord",
    "Figure",
    "HistoryVersion",
    "ModelHistory",
    "ModelVersionRecord",
    "Provenance",
    "ProvenanceKind",
    "ResolvedDrivers",
    "ResolvedRun",
    "ResolvedStory",
    "Series",
    "SeriesPoint",
    "compared_task_set",
    "story_task_set",
]

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
    scored: AnyScoredSet | None = field(default=None, metadata=DERIVED)  # its evaluation, checked, when live


@dataclass(frozen=True, eq=False)
class ResolvedDrivers:
    """Permutation importance as resolved (and pinned): the drops, never the model.

    ``table`` is per repeat (``slice, group, feature, repeat, drop``; overall rows have slice and group
    "(all)") when storybook computed it or the artifact lists repeats, or per feature (``feature, mean, std``
    and maybe ``repeats``) when the artifact gives only a summary. ``rows`` is how many evaluation rows the
    drops were measured on (0 when an artifact does not say).
    """

    table: pd.DataFrame
    metric: str
    origin: Literal["model", "artifact"]
    provenance: Provenance
    repeats: int
    seed: int | None
    rows: int
    baseline: float | None = None


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias, as a promotion step recorded it in a registered-model tag (None: removed)."""

    alias: str
    version: int | None
    at_ms: int
    tag: str


@dataclass(frozen=True)
class HistoryVersion:
    """One registered version with its run's headline figures, params and threshold."""

    model: ModelVersionRecord
    run_name: str
    run_start_ms: int
    metrics: dict[str, float]
    params: dict[str, str]
    threshold: float | None = None


@dataclass(frozen=True, eq=False)
class ModelHistory:
    """The registered model's versions, the alias moves its tags record, where the aliases are now, and
    (``scored``: version, label, score) each version's scored evaluation set for ranges."""

    name: str
    versions: tuple[HistoryVersion, ...]
    events: tuple[AliasEvent, ...]
    aliases: dict[str, int]
    provenance: Provenance
    scored: pd.DataFrame | None = None


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
    drivers: ResolvedDrivers | None = None
    history: ModelHistory | None = None
    scored: AnyScoredSet | None = field(default=None, metadata=DERIVED)  # ``evaluation``, checked, when live
    # evaluation.aggregate: the counted scored set's cells and metadata (``evaluation`` is then the row-level
    # sample logged beside it, or None).
    aggregate: pd.DataFrame | None = None
    aggregate_info: AggregateInfo | None = None


def story_task_set(story: StorySource, resolved: ResolvedStory) -> AnyScoredSet | None:
    """The story's version's checked scored set for its task: the one checked when the story was resolved, else
    checked now (a pinned story); None when it has none. A story told from an aggregate gets its weighted set."""
    if resolved.aggregate is not None and resolved.aggregate_info is not None:
        if isinstance(resolved.scored, ScoredSet) and resolved.scored.weights is not None:
            return resolved.scored
        sample = len(resolved.evaluation) if resolved.evaluation is not None else 0
        return aggregate_set(story, resolved.aggregate, resolved.aggregate_info, resolved.run.params,
                             resolved.run.run_id, sample_rows=sample)
    if resolved.scored is not None and resolved.scored.frame is resolved.evaluation:
        return resolved.scored
    if story.config.evaluation is None or resolved.evaluation is None:
        return None
    return task_set(story, resolved.evaluation, resolved.run.params, resolved.run.run_id)


def compared_task_set(story: StorySource, resolved: ResolvedStory) -> AnyScoredSet | None:
    """The compared version's checked scored set for the story's task (the same premises), or None."""
    compared = resolved.compared
    if story.config.evaluation is None or compared is None or compared.evaluation is None:
        return None
    if compared.scored is not None and compared.scored.frame is compared.evaluation:
        return compared.scored
    return task_set(story, compared.evaluation, compared.run.params, compared.run.run_id,
                    which=f"version {compared.model.version}, the compared version")
