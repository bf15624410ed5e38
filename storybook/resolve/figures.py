"""The figures a story shows and where each came from: plain frozen data, without the tables.

Kept apart from :mod:`storybook.resolve.resolved` (which holds the evaluation tables and so imports pandas) so that
what every build needs, e.g. a figure's link on the page, imports no table code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Figure", "Provenance", "ProvenanceKind", "Series", "SeriesPoint"]

ProvenanceKind = Literal["metric", "param", "tag", "artifact", "series", "model", "registry"]


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
