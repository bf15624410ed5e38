"""storybook.analyse.trust_checks.system.check_estimate_guardrails: the story's guardrails on each production
window's estimated or realised key figure, counted in trust in the system. Windows are made of a few distinct
scores (one bin each), so every figure is worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storybook.analyse.label_free import EstimateGuard, LabelFreeReport, estimate_windows
from storybook.analyse.trust import RUBRIC_CHECKS, levels_for
from storybook.analyse.trust_checks.system import check_estimate_guardrails

EVALUATION_SCORES = np.repeat([0.1, 0.3, 0.7, 0.9], 50)  # 200 cases, labels matching their chances exactly
EVALUATION_LABELS = np.concatenate([np.arange(50) < 5, np.arange(50) < 15, np.arange(50) < 35, np.arange(50) < 45])


def _window(name: str, counts: dict[float, int], positives: dict[float, int] | None = None) -> pd.DataFrame:
    """One window: ``counts`` cases per score; with ``positives``, every case labelled (that many positives)."""
    rows = []
    for score, n in counts.items():
        if positives is None:
            rows.append((name, np.nan, score, score, n, score * n))
        else:
            k = positives[score]
            rows += [(name, 1.0, score, score, k, score * k), (name, 0.0, score, score, n - k, score * (n - k))]
    return pd.DataFrame(rows, columns=["window", "label", "bin_low", "bin_high", "n", "score_sum"])


def _report(windows: pd.DataFrame, guards: tuple[EstimateGuard, ...], scores: np.ndarray = EVALUATION_SCORES,
            ) -> LabelFreeReport:
    return estimate_windows(windows, threshold=0.5, metric="recall", evaluation_labels=EVALUATION_LABELS,
                            evaluation_scores=scores, guards=guards, draws=400)


# Estimated recall of a window = (0.7 x n_0.7 + 0.9 x n_0.9) / (sum of all scores), worked by hand:
STEADY = {0.1: 800, 0.3: 400, 0.7: 400, 0.9: 400}  # (280 + 360) / (80 + 120 + 280 + 360) = 640 / 840 = 0.762
FALLEN = {0.1: 600, 0.3: 800, 0.7: 400, 0.9: 200}  # (280 + 180) / (60 + 240 + 280 + 180) = 460 / 760 = 0.605
LABELS = {0.1: 80, 0.3: 120, 0.7: 240, 0.9: 380}  # positives: recall = 620 / (620 + 80 + 120) = 0.756


def test_the_hand_worked_estimates_are_the_reports() -> None:
    report = _report(pd.concat([_window("w1", STEADY), _window("w2", FALLEN)]), ())
    assert report.estimated
    assert [w.figure for w in report.windows] == pytest.approx([640 / 840, 460 / 760])


def test_passes_when_every_window_keeps_its_bound_and_fails_when_one_breaks_it() -> None:
    guard = (EstimateGuard(on="estimated", lower=0.68),)
    kept = check_estimate_guardrails(_report(_window("w1", STEADY), guard), ("told",), refused=None, source="s")
    assert kept.passed is True and kept.check == "system.estimate_guardrails" and kept.area == "system"
    assert kept.figures == {"windows": 1, "judged": 1, "broken": 0, "possibly_broken": 0, "kept": 1}
    assert kept.sentence == "told"
    both = pd.concat([_window("w1", STEADY), _window("w2", FALLEN)])
    broken = check_estimate_guardrails(_report(both, guard), ("told",), refused=None, source="s")
    assert broken.passed is False and broken.figures["broken"] == 1 and broken.figures["kept"] == 1


def test_an_estimate_whose_range_reaches_past_the_bound_does_not_pass() -> None:
    # 0.762 estimated; a bound just under it lies inside the 95% range of a window of 2,000 cases.
    report = _report(_window("w1", STEADY), (EstimateGuard(on="estimated", lower=0.75),))
    evidence = check_estimate_guardrails(report, ("told",), refused=None, source="s")
    assert report.windows[0].guards[0].status == "may be broken"
    assert evidence.passed is False and evidence.figures["possibly_broken"] == 1


def test_a_realised_bound_waits_for_the_labels_and_then_judges_them() -> None:
    guard = (EstimateGuard(on="realised", lower=0.7),)
    waiting = check_estimate_guardrails(_report(_window("w1", STEADY), guard), (), refused=None, source="s")
    assert waiting.passed is None and waiting.figures["judged"] == 0
    assert waiting.sentence == "No production window can be judged against its guardrails yet."
    labelled = _window("w1", STEADY, positives=LABELS)
    report = _report(labelled, guard)
    assert report.windows[0].realised_figure == pytest.approx(620 / 820)
    assert check_estimate_guardrails(report, ("told",), refused=None, source="s").passed is True


def test_when_storybook_does_not_estimate_the_labels_are_still_judged_and_the_refusal_is_said() -> None:
    squashed = 0.5 + (EVALUATION_SCORES - 0.5) * 0.2  # 0.42 ... 0.58: far from what happened
    guards = (EstimateGuard(on="estimated", lower=0.7), EstimateGuard(on="realised", lower=0.9))
    report = _report(_window("w1", STEADY, positives=LABELS), guards, scores=squashed)
    assert not report.estimated
    evidence = check_estimate_guardrails(report, ("The story asks ...",), refused="storybook does not estimate X.",
                                         source="s")
    assert evidence.passed is False  # 0.756 realised, below 0.9; the estimated bound is not known
    assert evidence.figures == {"windows": 1, "judged": 1, "broken": 1, "possibly_broken": 0, "kept": 0}
    assert evidence.sentence == ("The story asks ... The guardrail on the estimate is not judged, because storybook "
                                 "does not estimate X.")
    nothing = check_estimate_guardrails(None, (), refused="storybook does not estimate Y.", source="s")
    assert nothing.passed is None and "storybook does not estimate Y." in nothing.sentence


def test_it_counts_in_trust_in_the_system_and_as_monitoring_prediction_quality() -> None:
    report = _report(_window("w1", STEADY), (EstimateGuard(on="estimated", lower=0.5),))
    evidence = check_estimate_guardrails(report, ("told",), refused=None, source="s")
    system = levels_for([evidence])[2]
    assert system.area == "system" and evidence in system.evidence
    assert RUBRIC_CHECKS["system.estimate_guardrails"] == "monitor-7"
