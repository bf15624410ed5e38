"""storybook: model cards, cost-of-error stories, trust reports and decision briefs from MLflow runs.

The command line (``storybook build``, ``check``, ``example``, ...) is the main way in. Training code uses the
small Python API below to log what a story reads (see :mod:`storybook.logging_api`)::

    import storybook
    storybook.log_scored_set(scored, task="binary", label="label", score="score", slices=["site"])
    storybook.log_production_series("production_mean_score", daily_means, start=first_day)
    storybook.log_production_scores(week_scores, window="2026-11-02")   # labels= later, when they are known

A scored set too large for one process is aggregated where it lives (:mod:`storybook.commands.aggregate`)::

    made = storybook.aggregate_scored_set("scored/*.parquet", "aggregate.parquet", label="y", score="p")
    storybook.log_aggregate(made.path)

and so are production scores, per day, week or window (:mod:`storybook.commands.production_windows`)::

    made = storybook.aggregate_production("scores/*.parquet", "windows.parquet", score="p", time="scored_at")
    storybook.log_production_windows(made.path, run_id=model_run_id)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storybook.commands.aggregate import Aggregated, LoggedAggregate, aggregate_scored_set, log_aggregate
    from storybook.commands.production_windows import ProductionWindows, aggregate_production
    from storybook.logging_api import LoggedScoredSet, log_production_series, log_scored_set
    from storybook.logging_production import LoggedWindow, log_production_scores
    from storybook.logging_windows import LoggedWindows, log_production_windows

# Where each name of the API lives: imported on first use, so that `storybook build` (which imports this package)
# does not pay for numpy, pandas and the aggregation code it does not use.
_EXPORTS = {
    "Aggregated": "storybook.commands.aggregate",
    "LoggedAggregate": "storybook.commands.aggregate",
    "aggregate_scored_set": "storybook.commands.aggregate",
    "log_aggregate": "storybook.commands.aggregate",
    "ProductionWindows": "storybook.commands.production_windows",
    "aggregate_production": "storybook.commands.production_windows",
    "LoggedScoredSet": "storybook.logging_api",
    "log_production_series": "storybook.logging_api",
    "log_scored_set": "storybook.logging_api",
    "LoggedWindow": "storybook.logging_production",
    "log_production_scores": "storybook.logging_production",
    "LoggedWindows": "storybook.logging_windows",
    "log_production_windows": "storybook.logging_windows",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'storybook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Aggregated",
    "LoggedAggregate",
    "LoggedScoredSet",
    "LoggedWindow",
    "LoggedWindows",
    "ProductionWindows",
    "aggregate_production",
    "aggregate_scored_set",
    "log_aggregate",
    "log_production_scores",
    "log_production_series",
    "log_production_windows",
    "log_scored_set",
]
