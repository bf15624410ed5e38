"""The scored evaluation set of a multiclass story, built and checked in one place.

:func:`multiclass_set` refuses, with the story.yaml line to fix, a set that a multiclass story cannot tell: the
columns exist, every label is one of the story's classes (and names those that are not), the chances are numbers
between 0 and 1 that sum to 1 on each row, a predicted class is one of the classes. When the classes give
probability columns, the model's call is the most likely class (ties: the first in the story's order); otherwise
it is the logged ``prediction_column``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from storybook.errors import SourceError
from storybook.metrics.multiclass import MulticlassScores
from storybook.resolve.scored_columns import missing_column
from storybook.sources.loader import StorySource
from storybook.sources.schema import ClassSpec

__all__ = ["SUM_TOLERANCE", "MulticlassSet", "multiclass_set"]

SUM_TOLERANCE = 1e-3  # each row's chances must sum to 1 within this
_SHOWN = 5


@dataclass(frozen=True, eq=False)
class MulticlassSet:
    """One version's checked multiclass scored set: the calls and chances, the story's classes, the whole table."""

    scores: MulticlassScores
    classes: tuple[ClassSpec, ...]
    frame: pd.DataFrame

    @property
    def n(self) -> int:
        return self.scores.n


def multiclass_set(story: StorySource, frame: pd.DataFrame, *, which: str = "") -> MulticlassSet:
    """The checked set of one version (``which`` names it in messages); a located SourceError otherwise."""
    evaluation = story.config.evaluation
    assert evaluation is not None and evaluation.classes is not None
    subject = f"the evaluation set {evaluation.artifact!r}" + (f" of {which}" if which else "")
    classes = tuple(evaluation.classes)
    values = evaluation.class_values
    columns: list[tuple[tuple[str | int, ...], str]] = [(("label_column",), evaluation.label_column)]
    with_chances = all(c.probability_column is not None for c in classes)
    if with_chances:
        columns += [(("classes", i, "probability_column"), str(c.probability_column)) for i, c in enumerate(classes)]
    else:
        columns.append((("prediction_column",), str(evaluation.prediction_column)))
    for path, column in columns:
        if column not in frame.columns:
            raise missing_column(story, frame, path, column, subject)
    if len(frame) == 0:
        raise SourceError(f"{subject} has no rows", location=story.yaml.location(("evaluation", "artifact")),
                          hint="log the scored evaluation set with one row per case")
    truth = _class_indices(story, frame[evaluation.label_column], values, subject, ("label_column",), "labels")
    probabilities = None
    if with_chances:
        probabilities = _chances(story, frame, classes, subject)
        predicted = np.argmax(probabilities, axis=1).astype(np.intp)
    else:
        predicted = _class_indices(story, frame[str(evaluation.prediction_column)], values, subject,
                                   ("prediction_column",), "predicted classes")
    scores = MulticlassScores(classes=values, truth=truth, predicted=predicted, probabilities=probabilities)
    return MulticlassSet(scores=scores, classes=classes, frame=frame)


def _class_indices(story: StorySource, column: pd.Series, values: tuple[str, ...], subject: str,
                   path: tuple[str, ...], what: str) -> np.ndarray:
    location = story.yaml.location(("evaluation", *path))
    name = column.name
    missing = int(column.isna().sum())
    if missing:
        raise SourceError(f"column {name!r} of {subject} has {missing:,} empty {what}", location=location,
                          hint="every row of the evaluation set needs one")
    text = column.astype("string")
    unknown = sorted(set(text.unique()) - set(values))
    if unknown:
        shown = ", ".join(repr(str(v)) for v in unknown[:_SHOWN]) + (" ..." if len(unknown) > _SHOWN else "")
        looks = ""
        distinct = text.nunique()
        if distinct > 20 and pd.to_numeric(column, errors="coerce").notna().all():
            looks = f"; its {distinct:,} different numbers look like a regression target (evaluation.task: regression)"
        raise SourceError(f"column {name!r} of {subject} holds {what} that are not among the story's classes "
                          f"({', '.join(values)}): {shown}{looks}", location=location,
                          hint="list every class under evaluation.classes, spelt as in the column")
    index = {value: i for i, value in enumerate(values)}
    return text.map(index).to_numpy(dtype=np.intp)


def _chances(story: StorySource, frame: pd.DataFrame, classes: tuple[ClassSpec, ...], subject: str) -> np.ndarray:
    columns = []
    for i, spec in enumerate(classes):
        name = str(spec.probability_column)
        location = story.yaml.location(("evaluation", "classes", i, "probability_column"))
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise SourceError(f"column {name!r} of {subject} holds empty, infinite or non-numeric chances",
                              location=location, hint="log each row's chance of this class, a number from 0 to 1")
        if values.min() < 0 or values.max() > 1:
            raise SourceError(f"column {name!r} of {subject} holds values from {values.min():g} to "
                              f"{values.max():g}, not chances between 0 and 1", location=location,
                              hint="log predict_proba's column for this class")
        columns.append(values)
    chances = np.column_stack(columns)
    sums = chances.sum(axis=1)
    off = np.abs(sums - 1) > SUM_TOLERANCE
    if off.any():
        row = int(np.argmax(off))
        raise SourceError(f"the chances of the classes in {subject} do not add up to 1 on {int(off.sum()):,} rows "
                          f"(row {row + 1}: {sums[row]:.4g}); storybook needs every class's chance",
                          location=story.yaml.location(("evaluation", "classes")),
                          hint="list every class the model knows, with its probability_column")
    return chances
