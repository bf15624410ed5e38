"""storybook: model cards, cost-of-error stories, trust reports and decision briefs from MLflow runs.

The command line (``storybook build``, ``check``, ``example``, ...) is the main way in. Training code uses the
small Python API below to log what a story reads (see :mod:`storybook.logging_api`)::

    import storybook
    storybook.log_scored_set(scored, task="binary", label="label", score="score", slices=["site"])
    storybook.log_production_series("production_mean_score", daily_means, start=first_day)
"""

from storybook.logging_api import LoggedScoredSet, log_production_series, log_scored_set

__all__ = ["LoggedScoredSet", "log_production_series", "log_scored_set"]
