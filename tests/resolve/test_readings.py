"""storybook.resolve.readings: a metric history whose readings are not finite numbers at calendar times fails
its story with a located error naming the reading, where it enters (MLflow or the snapshot)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from storybook.errors import Location, StoryError
from storybook.resolve.readings import FIRST_MS, LAST_MS, check_readings, on_calendar
from storybook.resolve.resolved import Provenance, Series, SeriesPoint

WHERE = Location(Path("stories/s/story.yaml"), 12)


def _series(*points: tuple[int, int, float]) -> Series:
    return Series("production_mean_score", tuple(SeriesPoint(s, t, v) for s, t, v in points),
                  Provenance("sqlite:///x.db", "run1", "series", "production_mean_score"))


def test_the_calendar_runs_from_year_1_to_year_9999() -> None:
    # 0001-01-01T00:00:00 UTC is 62,135,596,800 s before 1970; 9999-12-31T23:59:59.999 is the last millisecond.
    assert FIRST_MS == -62_135_596_800 * 1000 and LAST_MS == 253_402_300_800_000 - 1
    assert on_calendar(0) == 0 and on_calendar(LAST_MS) == LAST_MS and on_calendar(FIRST_MS) == FIRST_MS
    assert on_calendar(LAST_MS + 1) is None and on_calendar(FIRST_MS - 1) is None


def test_good_readings_pass() -> None:
    check_readings(_series((0, 1_788_220_800_000, 0.41), (1, 1_788_307_200_000, -3.5)), WHERE)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_reading_that_is_no_finite_number_fails_on_the_story_line(value: float) -> None:
    with pytest.raises(StoryError) as error:
        check_readings(_series((0, 1_788_220_800_000, 0.4), (7, 1_788_307_200_000, value)), WHERE)
    assert error.value.message.startswith(f"series 'production_mean_score' has a reading (step 7) whose value is "
                                          f"{value} ")
    assert error.value.location == WHERE
    assert error.value.hint is not None and error.value.hint.startswith("log the reading again")


def test_a_reading_at_no_calendar_time_fails_with_the_fix_given() -> None:
    with pytest.raises(StoryError) as error:
        check_readings(_series((3, LAST_MS + 1, 0.4)), WHERE, fix="pin again")
    assert error.value.message == (f"series 'production_mean_score' has a reading (step 3) logged at "
                                   f"{LAST_MS + 1:,} ms since 1970, which is no calendar date (it falls after the "
                                   "year 9999 or before the year 1)")
    assert error.value.hint == "pin again"
