"""storybook: model cards, cost-of-error stories, trust reports and decision briefs from MLflow runs.

The command line (``storybook build``, ``check``, ``example``, ...) is the main way in. Training code uses the
small Python API below to log what a story reads (see :mod:`storybook.logging_api`)::

    import storybook
    storybook.log_scored_set(scored, task="binary", label="label", score="score", slices=["site"])
    storybook.log_production_series("production_mean_score", daily_means, start=first_day)
    storybook.log_production_scores(week_scores, window="2026-11-02")   # labels= later, when they are known
"""

from storybook.logging_api import LoggedScoredSet, log_production_series, log_scored_set
from storybook.logging_production import LoggedWindow, log_production_scores

__all__ = ["LoggedScoredSet", "LoggedWindow", "log_production_scores", "log_production_series", "log_scored_set"]
