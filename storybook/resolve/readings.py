"""The readings of a metric history, checked once where they enter (MLflow or a pinned snapshot).

A series is drawn and told over time, reading by reading: a reading whose time is no calendar date, or whose
value is NaN or infinite, cannot be placed on a chart, compared with a guardrail or counted in a claim. Such a
series fails its story with a located error instead of a traceback deep in the analysis. So does a metric of
the story's ``metrics:`` logged as NaN or an infinity (MLflow's sqlite store keeps an infinity as the largest
float): a page would tell it as "nan", a decision ground would judge it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping

from storybook.errors import Location, StoryError
from storybook.resolve.resolved import Figure, Series
from storybook.sources.loader import StorySource

__all__ = ["FIRST_MS", "LAST_MS", "check_figures", "check_readings", "is_number", "on_calendar"]

# Milliseconds since 1970 that a calendar date can show: 1 January of year 1 to 31 December 9999.
FIRST_MS, LAST_MS = -62_135_596_800_000, 253_402_300_799_999


def on_calendar(timestamp_ms: int) -> int | None:
    """A logging time, or None (not shown) when it is no date at all."""
    return timestamp_ms if FIRST_MS <= timestamp_ms <= LAST_MS else None


def check_readings(history: Series, location: Location, *, fix: str = "log the reading again with its real "
                   "value and time (or leave it out), or name another series") -> None:
    """Raise a located StoryError for the first reading that is not a finite number at a calendar time."""
    for point in history.points:
        if not math.isfinite(point.value):
            raise StoryError(
                f"series {history.key!r} has a reading (step {point.step}) whose value is {point.value} (not a "
                "number storybook can compare with guardrails, claims or other readings)", location=location,
                hint=fix)
        if not FIRST_MS <= point.timestamp_ms <= LAST_MS:
            raise StoryError(
                f"series {history.key!r} has a reading (step {point.step}) logged at {point.timestamp_ms:,} ms "
                "since 1970, which is no calendar date (it falls after the year 9999 or before the year 1)",
                location=location, hint=fix)


def is_number(value: float) -> bool:
    """A finite value that is no stand-in for an infinity (MLflow's sqlite store keeps one as the largest float)."""
    return math.isfinite(value) and abs(value) < sys.float_info.max


def check_figures(story: StorySource, metrics: Mapping[str, Figure], *, fix: str) -> None:
    """Raise a located StoryError for the first metric of the story's ``metrics:`` whose logged value is no
    number (NaN or an infinity): no sentence, range or ground can be told from it."""
    for index, spec in enumerate(story.config.metrics):
        figure = metrics.get(spec.key)
        if figure is None or is_number(figure.value):
            continue
        told = "NaN (not a number)" if math.isnan(figure.value) else "an infinity"
        raise StoryError(f"metric {spec.key!r} is logged as {told} on run {figure.provenance.run_id}: there is no "
                         "figure to tell", location=story.yaml.location(("metrics", index, "key")), hint=fix)
