"""storybook.analyse.trust_checks.system: the system's checks (guardrails on a production series, a change in it
against its own history, the deployment history).

Dates: 1 March 2024 00:00 UTC is 1,709,251,200,000 ms, and every later day adds 86,400,000 ms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from storybook.analyse.trust_checks.statistics import detect_change
from storybook.analyse.trust_checks.system import ModelVersion, check_change, check_deployments, check_guardrails

MARCH_1 = 1_709_251_200_000
DAY = 86_400_000
SRC = "metric test_recall of run abc"

MEAN_PREDICTION = [(step, MARCH_1 + step * DAY, value) for step, value in enumerate([0.30, 0.32, 0.46, 0.31, 0.10])]


def test_guardrails_name_the_first_break() -> None:
    ev = check_guardrails(list(reversed(MEAN_PREDICTION)), lower=0.2, upper=0.4, name="the mean prediction",
                          source=SRC)
    assert ev.passed is False
    assert ev.sentence == ("The mean prediction first broke its guardrails (0.20 to 0.40) on 3 March 2024, reading "
                           "0.46; 2 of 5 readings were outside.")
    assert ev.figures["first_break_ms"] == MARCH_1 + 2 * DAY
    held = check_guardrails(MEAN_PREDICTION, lower=0.1, upper=0.46, name="the mean prediction", source=SRC)
    assert held.passed is True  # bounds are inclusive
    assert held.sentence == ("The mean prediction stayed within its guardrails (0.10 to 0.46) in all 5 readings from "
                             "1 March 2024 to 5 March 2024.")
    assert check_guardrails([(0, MARCH_1, math.nan)], upper=1.0, name="x", source=SRC).passed is False
    assert check_guardrails([], lower=0.0, name="x", source=SRC).passed is None
    with pytest.raises(ValueError):
        check_guardrails(MEAN_PREDICTION, name="x", source=SRC)


def test_change_sentences() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.30, 0.05, 30), rng.normal(0.50, 0.05, 30)])
    series = [(i, MARCH_1 + i * DAY, float(v)) for i, v in enumerate(values)]
    found = detect_change(values)
    ev = check_change(series, name="the mean prediction", source=SRC)
    assert ev.passed is False
    assert ev.figures["index"] == found.index and ev.figures["timestamp_ms"] == MARCH_1 + (found.index or 0) * DAY
    assert ev.sentence == (f"The mean prediction changed on 31 March 2024: about {found.before_mean:.2f} on average "
                           f"before, about {found.after_mean:.2f} after (60 readings; a change this clear would turn "
                           "up by chance in no more than 0.1 in 100 steady series).")
    steady = check_change(series[:30], name="the mean prediction", source=SRC)
    assert steady.passed is True
    assert steady.sentence == ("The mean prediction has held steady over 30 readings from 1 March 2024 to 30 March "
                               "2024: no change stands out from ordinary variation.")
    short = check_change(series[:6], name="the mean prediction", source=SRC)
    assert short.passed is None
    assert short.sentence == ("Only 6 readings of the mean prediction so far: too few to tell a change from ordinary "
                              "variation (at least 10 are needed).")


def test_deployment_history() -> None:
    versions = [ModelVersion(3, MARCH_1 + 9 * DAY, ("challenger",)), ModelVersion(1, MARCH_1),
                ModelVersion(2, MARCH_1 + 3 * DAY, ("champion",))]
    ev = check_deployments(versions, source="registered model cancer-screening")
    assert ev.passed is True
    assert ev.sentence == ("3 versions registered since 1 March 2024; the version in use (it carries the alias "
                           "\"champion\") is version 2, registered on 4 March 2024. 1 newer version (3) does not "
                           "carry it.")
    orphan = check_deployments(versions[:2], source=SRC)
    assert orphan.passed is False
    assert orphan.sentence == ("2 versions registered since 1 March 2024, but none carries the alias \"champion\" that "
                               "marks the version in use (the aliases there are: \"challenger\" on version 3), so "
                               "the story cannot tell which one serves. If another alias marks it, say so with "
                               "model.in_use_alias in story.yaml or in_use_alias in storybook.yaml.")
    assert check_deployments([], source=SRC).passed is None
    # A registry whose serving alias is "production": no alias name is assumed.
    served = [ModelVersion(1, MARCH_1, ("production",)), ModelVersion(2, MARCH_1 + 3 * DAY, ("candidate",))]
    assert check_deployments(served, in_use="production", source=SRC).sentence == (
        "2 versions registered since 1 March 2024; the version in use (it carries the alias \"production\") is "
        "version 1, registered on 1 March 2024. 1 newer version (2) does not carry it.")
    unset = check_deployments(served, source=SRC)
    assert unset.passed is False
    assert "(the aliases there are: \"production\" on version 1, \"candidate\" on version 2)" in unset.sentence
    with pytest.raises(ValueError, match="more than one"):
        check_deployments([ModelVersion(1, 0, ("champion",)), ModelVersion(2, 0, ("champion",))], source=SRC)
