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

from storybook.commands.aggregate import Aggregated, LoggedAggregate, aggregate_scored_set, log_aggregate
from storybook.commands.production_windows import ProductionWindows, aggregate_production
from storybook.logging_api import LoggedScoredSet, log_production_series, log_scored_set
from storybook.logging_production import LoggedWindow, log_production_scores
from storybook.logging_windows import LoggedWindows, log_production_windows

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
