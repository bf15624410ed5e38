"""Regression metrics on plain arrays: how far forecasts land from what happened, with intervals.

A leaf: no story, no words, no I/O. An *error* is ``predicted - actual``: positive when the forecast was too
high, negative when it was too low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["RegressionScores"]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RegressionScores:
    """One version's forecasts on its evaluation set: what happened, what was forecast, and (when logged) the
    prediction interval's lower and upper ends. All arrays have one entry per row, finite numbers only."""

    actual: Floats
    predicted: Floats
    lower: Floats | None = None
    upper: Floats | None = None

    @property
    def n(self) -> int:
        return int(self.actual.size)

    @property
    def errors(self) -> Floats:
        """predicted - actual: positive when the forecast was too high."""
        return self.predicted - self.actual
