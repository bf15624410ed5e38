"""Multiclass metrics on plain arrays: per-class shares with intervals, the confusion matrix, calibration.

A leaf: no story, no words, no I/O. Classes are told by their index into ``MulticlassScores.classes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["MulticlassScores"]

Ints = npt.NDArray[np.intp]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class MulticlassScores:
    """One version's calls on its evaluation set. ``truth`` and ``predicted`` hold class indices into
    ``classes``; ``probabilities`` (n rows x len(classes), each row summing to 1) when the run logged them,
    and then ``predicted`` is the most likely class of each row (ties: the first class in ``classes``)."""

    classes: tuple[str, ...]
    truth: Ints
    predicted: Ints
    probabilities: Floats | None = None

    @property
    def n(self) -> int:
        return int(self.truth.size)

    @property
    def k(self) -> int:
        return len(self.classes)
