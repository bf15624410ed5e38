"""What a trust check found (:class:`Evidence`), the areas and the checks' titles.

Comparisons with a declared tolerance allow ``EPS`` (1e-12) for floating-point rounding, so a spread of
0.95 - 0.91 counts as 0.04.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Area = Literal["model", "data", "system"]
FigureValue = float | int | str | None

EPS = 1e-12

CHECK_TITLES: dict[str, str] = {
    "model.held_out": "how well the model does on cases it never saw",
    "model.fold_stability": "how steady the model is across cross-validation folds",
    "model.calibration": "whether predicted chances match what happened",
    "model.slice_gaps": "how far apart the model's results are between groups",
    "model.previous_version": "comparison with another version of the model (compare_with)",
    "data.class_balance": "balance of outcomes",
    "data.label_rates": "outcome rates per group",
    "data.missing": "missing values",
    "data.duplicates": "evaluation rows that also appear in training",
    "data.small_slices": "groups large enough to judge",
    "data.shift": "shift between training data and production inputs",
    "data.weak_groups": "groups nobody asked about (the scan for weak groups)",
    "data.leaks": "inputs that give the answer away (possible leaks)",
    "data.contradictions": "identical inputs with different outcomes",
    "data.empty_columns": "columns that are constant or almost always missing",
    "data.group_coverage": "groups found in training but not in evaluation, or the reverse",
    "system.guardrails": "guardrails on a production series",
    "system.change": "changes in a production series",
    "system.estimate_guardrails": "guardrails on performance in production (estimated from the scores, or shown by "
                                  "the labels once in)",
    "system.deployments": "deployment history",
}


@dataclass(frozen=True)
class Evidence:
    """What one automatic check found, in one sentence a stakeholder can read.

    ``check`` is one of :data:`CHECK_TITLES`' keys; ``passed`` is None when the check could not run;
    ``figures`` hold the numbers behind the sentence; ``source`` says where the inputs came from (e.g.
    "metric test_recall of run abc").
    """

    area: Area
    check: str
    sentence: str
    passed: bool | None
    figures: dict[str, FigureValue]
    source: str

    @property
    def told_source(self) -> str:
        """Where the check's inputs came from, as the page says it: "from metric test_recall of run abc"."""
        return f"from {self.source}"

    @property
    def title(self) -> str:
        return CHECK_TITLES.get(self.check, self.check)
