"""Checked claims: the rules at their boundaries, with figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from storybook.analyse.claims import check_metric_claim, check_series_claim, check_slice_claim
from storybook.analyse.classification import Estimate, proportion
from storybook.resolve.resolved import Provenance, Series, SeriesPoint
from storybook.sources.schema import ClaimSpec

RUN = "0123456789abcdef"


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def _series(values: list[tuple[str, float]]) -> Series:
    points = tuple(SeriesPoint(step, _ms(day), value) for step, (day, value) in enumerate(values))
    return Series("daily", points, Provenance("sqlite:///x.db", RUN, "series", "daily"))


def _claim(**fields: Any) -> ClaimSpec:
    return ClaimSpec.model_validate({"id": "c", "says": "something", **fields})


DAYS = [("2026-09-01T12:00", 0.30), ("2026-09-02T12:00", 0.20), ("2026-09-03T23:59", 0.61),
        ("2026-09-04T00:00", 0.50)]


def test_series_bounds_are_inclusive() -> None:
    held = check_series_claim(_claim(series="daily", stays_above=0.2, stays_below=0.61), _series(DAYS))
    assert held.status == "holds"
    assert "all 4 readings from 1 September 2026 to 4 September 2026" in held.evidence
    assert "lowest was 0.20 and the highest 0.61" in held.evidence


def test_series_names_the_first_break_and_counts_them() -> None:
    failed = check_series_claim(_claim(series="daily", stays_above=0.25, stays_below=0.6), _series(DAYS))
    assert failed.status == "fails"
    assert failed.evidence.startswith("No longer true: on 2 September 2026 the reading was 0.20, below 0.25")
    assert "2 of the 4 readings" in failed.evidence


def test_series_window_takes_whole_utc_days() -> None:
    # 3 September ends at 23:59 UTC and is inside "until 3 September"; 4 September 00:00 is outside.
    until = check_series_claim(_claim(series="daily", stays_below=0.6, until="2026-09-03"), _series(DAYS))
    assert until.status == "fails" and "on 3 September 2026 the reading was 0.61, above 0.60" in until.evidence
    since = check_series_claim(_claim(series="daily", stays_below=0.6, since="2026-09-04"), _series(DAYS))
    assert since.status == "holds" and "1 readings, logged on 4 September 2026" in since.evidence


def test_series_without_readings_in_the_window_is_unchecked() -> None:
    result = check_series_claim(_claim(series="daily", stays_above=0, since="2027-01-01"), _series(DAYS))
    assert result.status == "unchecked" and not result.holds


def test_a_missing_value_breaks_a_series_claim() -> None:
    result = check_series_claim(_claim(series="daily", stays_above=0),
                                _series([("2026-09-01", 0.3), ("2026-09-02", float("nan"))]))
    assert result.status == "fails" and "there was no valid reading" in result.evidence


def test_metric_claim_at_the_bound_holds_and_just_below_fails() -> None:
    assert check_metric_claim(_claim(metric="m", at_least=0.9), 0.9, None, RUN).status == "holds"
    failed = check_metric_claim(_claim(metric="m", at_least=0.9), 0.8999, None, RUN)
    assert failed.status == "fails" and "the run logged 0.900 (the claim needs at least 0.90)" in failed.evidence
    assert check_metric_claim(_claim(metric="m", at_most=0.1), 0.1000001, None, RUN).status == "fails"


def test_metric_claim_says_when_the_interval_reaches_past_the_bound() -> None:
    # 52 of 64 found: 0.8125; Wilson 95% interval by hand: centre 0.7948, half-width 0.0945, so 0.700 to 0.889.
    interval = proportion(52, 64)
    narrow = check_metric_claim(_claim(metric="m", at_least=0.75), 0.8125, interval, RUN)
    assert narrow.status == "holds" and "only narrowly" in narrow.evidence
    clear = check_metric_claim(_claim(metric="m", at_least=0.6), 0.8125, interval, RUN)
    assert clear.status == "holds" and "narrowly" not in clear.evidence


def _estimate(value: float, low: float, high: float, n: int = 40) -> Estimate:
    return Estimate(value, low, high, n)


def test_slice_claim_fails_only_when_clearly_worse() -> None:
    claim = _claim(slice="site", group="north", no_worse_than="south", rate="recall")
    overlapping = check_slice_claim(claim, _estimate(0.80, 0.63, 0.90), _estimate(0.83, 0.66, 0.93))
    assert overlapping.status == "holds" and "no clear difference" in overlapping.evidence
    touching = check_slice_claim(claim, _estimate(0.5, 0.4, 0.6), _estimate(0.7, 0.6, 0.8))
    assert touching.status == "holds"  # the intervals share their end point: not clearly worse
    apart = check_slice_claim(claim, _estimate(0.42, 0.19, 0.68), _estimate(0.96, 0.86, 0.99))
    assert apart.status == "fails" and "clearly worse for 'north'" in apart.evidence
    better = check_slice_claim(claim, _estimate(0.96, 0.86, 0.99), _estimate(0.42, 0.19, 0.68))
    assert better.status == "holds" and "clearly better" in better.evidence


def test_slice_claim_on_a_rate_where_lower_is_better() -> None:
    claim = _claim(slice="site", group="north", no_worse_than="south", rate="false_positive_rate")
    assert check_slice_claim(claim, _estimate(0.3, 0.2, 0.4), _estimate(0.1, 0.05, 0.15)).status == "fails"
    assert check_slice_claim(claim, _estimate(0.1, 0.05, 0.15), _estimate(0.3, 0.2, 0.4)).status == "holds"


def test_slice_claim_with_an_empty_group_is_unchecked() -> None:
    claim = _claim(slice="size", group="small", no_worse_than="large", rate="precision")
    result = check_slice_claim(claim, Estimate(None, None, None, 0), _estimate(1.0, 0.92, 1.0))
    assert result.status == "unchecked" and "'small' has no cases" in result.evidence


@pytest.mark.parametrize(("fields", "message"), [
    ({"series": "s"}, "needs stays_above, stays_below or both"),
    ({"series": "s", "metric": "m", "stays_above": 1}, "exactly one of series, metric or slice"),
    ({"metric": "m", "at_least": 1, "since": "2026-01-01"}, "since belong to a series claim"),
    ({"slice": "site", "group": "a"}, "needs group and no_worse_than"),
    ({"series": "s", "stays_above": 0, "since": "2026-02-01", "until": "2026-01-01"}, "is after until"),
    ({"series": "s", "stays_above": 0, "since": "2026-13-40"}, "not a date on the calendar"),
])
def test_claim_schema_refuses_what_cannot_be_checked(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _claim(**fields)


def test_a_claim_says_what_its_mark_rests_on() -> None:
    # "✓ finds at least 7 in 10" beside a trust check that is not passed: the claim checks the logged 0.8125,
    # the trust check the low end of the range (0.700 < 0.75). Each says which, so they do not contradict.
    interval = proportion(52, 64)
    narrow = check_metric_claim(_claim(metric="m", at_least=0.75), 0.8125, interval, RUN)
    assert narrow.checked == "on the value the run logged; allowing for chance, not certain"
    assert "the claim checks the logged value" in narrow.evidence
    assert "anywhere from 0.700 to 0.889" in narrow.evidence and "would not pass yet" in narrow.evidence
    assert check_metric_claim(_claim(metric="m", at_least=0.6), 0.8125, interval, RUN).checked == (
        "on the value the run logged")
    # 68% against 82% on few cases: the claim holds, and says it allows for chance.
    claim = _claim(slice="sex", group="women", no_worse_than="men", rate="recall")
    women, men = proportion(17, 25), proportion(23, 28)
    assert women.value == 0.68 and round(men.value or 0, 2) == 0.82
    held = check_slice_claim(claim, women, men)
    assert held.status == "holds"
    assert held.checked == "allowing for chance: no clear difference given the number of cases"
    assert held.evidence.startswith("True, allowing for chance: no clear difference given the number of cases")
    assert "women: 68% (between" in held.evidence and "men: 82% (between" in held.evidence
    apart = check_slice_claim(claim, _estimate(0.42, 0.19, 0.68), _estimate(0.96, 0.86, 0.99))
    assert apart.checked == "clearly worse, beyond chance"
