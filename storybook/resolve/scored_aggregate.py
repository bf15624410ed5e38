"""A binary story's scored set read from an aggregate (``evaluation.aggregate``): counts per slice value, label
and score bin (storybook.aggregate.format), checked once against the story and turned into a *weighted*
:class:`~storybook.resolve.scored.ScoredSet`.

Each cell of the aggregate becomes one row of the set: its label, its score (the bin's lower edge, or the
distinct score itself when the aggregate is exact), its slice values in ``frame``, ``weights`` = the number of
cases in the cell and ``replicates`` = the cell's Poisson bootstrap replicate counts. A threshold at a bin edge
flags exactly the cases it flags row by row (flagged <=> edge >= threshold). Premises checked here, each refused
with the story.yaml line to fix:

- the file is an aggregate this storybook reads (``read_aggregate``: Parquet, its metadata, its columns);
- it was counted for the story's label and score columns and positive value, and holds every slice the story
  tells;
- it holds cases of both outcomes;
- the threshold in use falls on a bin edge, or inside a bin whose cases all score below it (otherwise the
  aggregate cannot say which of that bin's cases the threshold flags).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from storybook.aggregate.format import AggregateInfo, read_aggregate, replicate_columns
from storybook.errors import Location, SourceError
from storybook.resolve.scored import CountedFrom, ScoredSet, threshold_of
from storybook.sources.loader import StorySource

__all__ = ["aggregate_set", "checked_aggregate", "weighted_set"]

_AGGREGATE_HINT = "make it again with `storybook aggregate` using the story's columns"


def checked_aggregate(story: StorySource, path: Path, location: Location) -> tuple[pd.DataFrame, AggregateInfo]:
    """The aggregate's cells and metadata, read from ``path`` (a run's artifact, as a local file) and checked to
    fit the story; errors point at ``location`` (the story.yaml line of ``evaluation.aggregate``)."""
    cells, info = read_aggregate(path, where=location)
    check_fits(story, info, location)
    return cells, info


def check_fits(story: StorySource, info: AggregateInfo, location: Location) -> None:
    """The aggregate was counted for this story: its columns, positive value and slices."""
    evaluation = story.config.evaluation
    assert evaluation is not None
    artifact = evaluation.aggregate
    if story.config.task != "binary" or info.task != "binary":
        raise SourceError(f"the aggregate {artifact!r} tells a {info.task} set and the story is {story.config.task};"
                          " aggregates tell binary stories for now", location=location,
                          hint="point evaluation.artifact at the row-level scored set instead")
    for key, wanted, found in (("label_column", evaluation.label_column, info.label_column),
                               ("score_column", evaluation.score_column, info.score_column),
                               ("positive_value", evaluation.positive_value, info.positive_value)):
        if found != wanted:
            raise SourceError(f"the aggregate {artifact!r} was counted with {key} {found!r}, and the story says "
                              f"{wanted!r}", location=story.yaml.location(("evaluation", key)),
                              hint=f"set {key}: {found} in the story, or {_AGGREGATE_HINT}")
    for index, spec in enumerate(story.config.slices):
        if spec.column not in info.slices:
            counted = ", ".join(repr(s) for s in info.slices) or "none"
            raise SourceError(f"the aggregate {artifact!r} was not counted by {spec.column!r} (its slices: "
                              f"{counted}), so the story cannot tell that slice",
                              location=story.yaml.location(("slices", index, "column")),
                              hint=f"{_AGGREGATE_HINT} and --slice {spec.column}, or remove this slice")


def weighted_set(cells: pd.DataFrame, info: AggregateInfo, threshold: float, *, artifact: str,
                 threshold_source: str = "", sample_rows: int = 0) -> ScoredSet:
    """The weighted scored set of an aggregate's cells (see the module docstring); no story checks here."""
    bins = cells["score_bin"].to_numpy(dtype=np.int64)
    edges = np.asarray(info.bin_edges, dtype=np.float64)
    scores = edges[bins]
    replicates = cells[replicate_columns(info.replicates)].to_numpy(dtype=np.int32) if info.replicates else None
    frame = cells.drop(columns=replicate_columns(info.replicates)).reset_index(drop=True)
    counted = CountedFrom(cases=info.rows, bins=info.bins, exact=info.exact, engine=info.engine, made_on="",
                          step=0.0 if info.exact else 1.0 / info.bins, artifact=artifact, sample_rows=sample_rows,
                          replicates=info.replicates, seed=info.seed)
    return ScoredSet(labels=cells["label"].to_numpy() == 1, scores=scores, threshold=threshold, frame=frame,
                     threshold_source=threshold_source, weights=cells["n"].to_numpy(dtype=np.int64),
                     replicates=replicates, counted=counted)


def aggregate_set(story: StorySource, cells: pd.DataFrame, info: AggregateInfo, params: dict[str, str],
                  run_id: str, *, which: str = "", sample_rows: int = 0) -> ScoredSet:
    """The checked weighted scored set of one version's aggregate (``which`` names the version in messages)."""
    evaluation = story.config.evaluation
    assert evaluation is not None and evaluation.aggregate is not None
    location = story.yaml.location(("evaluation", "aggregate"))
    check_fits(story, info, location)
    subject = f"the aggregate {evaluation.aggregate!r}" + (f" of {which}" if which else "")
    labels = cells["label"].to_numpy()
    for value, outcome in ((1, "positive"), (0, "negative")):
        if not (labels == value).any():
            raise SourceError(f"{subject} holds no {outcome} cases; the evaluation needs cases of both outcomes",
                              location=story.yaml.location(("evaluation", "label_column")),
                              hint="aggregate a set with both positive and negative cases")
    threshold, source = threshold_of(story, params, run_id, which=which)
    _check_threshold(story, cells, info, threshold, subject)
    return weighted_set(cells, info, threshold, artifact=evaluation.aggregate, threshold_source=source,
                        sample_rows=sample_rows)


def _check_threshold(story: StorySource, cells: pd.DataFrame, info: AggregateInfo, threshold: float,
                     subject: str) -> None:
    """A threshold inside a bin is exact only when every case of that bin scores below it."""
    if info.exact:
        return  # between two distinct scores every threshold flags the same cases
    scaled = threshold * info.bins
    if abs(scaled - round(scaled)) < 1e-9 and round(scaled) < info.bins:
        return  # on an edge below the top one (the last bin holds the scores of exactly 1 too)
    inside = min(info.bins - 1, math.floor(scaled))
    straddling = cells["score_bin"].eq(inside) & cells["score_max"].ge(threshold)
    if not straddling.any():
        return
    low, high = info.bin_edges[inside], info.bin_edges[inside + 1]
    cases = int(cells.loc[cells["score_bin"].eq(inside), "n"].sum())
    key = "threshold" if story.config.evaluation is not None and story.config.evaluation.threshold is not None \
        else "threshold_param"
    raise SourceError(
        f"the threshold {threshold:g} falls inside the score bin from {low:g} to {high:g} of {subject}, which "
        f"counts {cases:,} cases together; the aggregate cannot say which of them the threshold flags",
        location=story.yaml.location(("evaluation", key)),
        hint=f"use a threshold on a bin edge (a multiple of {1 / info.bins:g}), or make the aggregate again with "
             "more bins")
