"""storybook.analyse.drivers: permutation drops told in plain words, on a hand-worked table.

Four repeats per feature (t for 3 degrees of freedom, 97.5%: 3.182446), drops in accuracy:

    radius      0.19 0.21 0.20 0.20    mean 0.20   sample sd 0.008165   half 3.182446 * 0.008165 / 2 = 0.012992
                                       -> between 18.7 and 21.3 points: clear
    area        0.06 0.04 0.05 0.05    mean 0.05   the same sd and half  -> between 3.7 and 6.3: clear
    texture     0.01 -0.01 0.02 -0.02  mean 0      sample sd 0.018257   half 0.029052 -> -2.9 to 2.9: no clear effect
    smoothness  -0.03 -0.02 -0.03 -0.02 mean -0.025 sample sd 0.005774  half 0.009187
                                       -> between -3.4 and -1.6: the model does slightly better without it

Within the slice "size_band": radius in group "small" (3 patients) drops 0.40 0.41 0.39 0.40 (mean 0.40, from
38.7 to 41.3: above 18.7-21.3, so "more"); in group "tiny" (1 patient) the same, but 1 is fewer than the
smallest group compared (2); in group "large" (2 patients) as overall (no difference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storybook.analyse.drivers import analyse_drivers, points
from storybook.analyse.plain import Vocabulary
from storybook.resolve.resolved import Provenance, ResolvedDrivers
from storybook.sources.schema import DriversSpec, SliceSpec

OVERALL = {"radius": [0.19, 0.21, 0.20, 0.20], "area": [0.06, 0.04, 0.05, 0.05],
           "texture": [0.01, -0.01, 0.02, -0.02], "smoothness": [-0.03, -0.02, -0.03, -0.02]}
WORDS = Vocabulary(unit="patients", positive="have a malignant tumour", negative="have a harmless tumour")
# radius and area move together (Pearson r 0.998); texture and smoothness with neither (|r| < 0.9).
EVALUATION = pd.DataFrame({"radius": [1, 2, 3, 4, 5, 6], "area": [1.1, 2.0, 3.2, 3.9, 5.1, 6.0],
                           "texture": [3, 1, 4, 1, 5, 9], "smoothness": [2, 7, 1, 8, 2, 8],
                           "size_band": ["small", "small", "small", "large", "large", "tiny"]})


def _table(sliced: bool) -> pd.DataFrame:
    rows = [("(all)", "(all)", f, r, d) for f, drops in OVERALL.items() for r, d in enumerate(drops)]
    if sliced:
        for group, drops in (("small", [0.40, 0.41, 0.39, 0.40]), ("tiny", [0.40, 0.41, 0.39, 0.40]),
                             ("large", OVERALL["radius"])):
            rows += [("size_band", group, "radius", r, d) for r, d in enumerate(drops)]
    return pd.DataFrame(rows, columns=["slice", "group", "feature", "repeat", "drop"])


def _resolved(sliced: bool = True, origin: str = "model") -> ResolvedDrivers:
    key = "models:/screening/1" if origin == "model" else "importance/drops.csv"
    return ResolvedDrivers(table=_table(sliced), metric="accuracy", origin=origin,  # type: ignore[arg-type]
                           provenance=Provenance("sqlite:///mlflow.db", "run1", "model" if origin == "model"
                                                 else "artifact", key), repeats=4, seed=7, rows=6, baseline=0.93)


def test_the_ranking_and_each_line_in_plain_words() -> None:
    report = analyse_drivers(_resolved(), DriversSpec.model_validate({"names": {"radius": "tumour radius"}}),
                             words=WORDS, slices=[SliceSpec(column="size_band", label="Tumour size")],
                             evaluation=EVALUATION, min_slice_size=2)
    assert [(i.feature, i.rank) for i in report.ranked] == [("radius", 1), ("area", 2), ("texture", 3),
                                                            ("smoothness", 4)]
    radius = report.ranked[0]
    assert radius.mean == pytest.approx(0.20) and radius.low == pytest.approx(0.187008, abs=1e-6)
    assert report.lead == ("The model leans most on tumour radius: shuffling it costs 20.0 points of accuracy out of "
                           "100 (between 18.7 and 21.3): about 20.0 more wrong calls in every 100 patients.")
    lines = dict((i.feature, line) for i, line in report.lines)
    assert lines["area"] == ("Shuffling area costs 5.0 points of accuracy out of 100 (between 3.7 and 6.3): about "
                             "5.0 more wrong calls in every 100 patients.")
    assert lines["texture"] == ("Shuffling texture makes no clear difference: its effect on accuracy is between "
                                "-2.9 and 2.9 points, which includes no effect at all.")
    assert lines["smoothness"] == ("Shuffling smoothness makes the model slightly better (2.5 points of accuracy, "
                                   "between 1.6 and 3.4): on this evaluation set the model does not gain from it, "
                                   "and may be picking up noise.")
    assert [i.feature for i in report.no_clear] == ["texture"]
    assert (report.metric_name, report.rows, report.repeats, report.baseline) == ("accuracy", 6, 4, 0.93)
    assert report.source.startswith("Worked out when the story was read from MLflow: storybook loaded the logged "
                                    "model (models:/screening/1), scored the 6 patients")
    assert "4 times each (seed 7)" in report.source


def test_measurements_that_move_together_are_named_with_their_correlation() -> None:
    report = analyse_drivers(_resolved(), DriversSpec(), words=WORDS, slices=[], evaluation=EVALUATION,
                             min_slice_size=2)
    expected = float(np.corrcoef(EVALUATION["radius"], EVALUATION["area"])[0, 1])
    assert expected > 0.99
    assert [(a, b) for a, b, _ in report.together] == [("radius", "area")]
    assert report.together[0][2] == pytest.approx(expected)


def test_a_group_is_told_only_when_it_differs_beyond_the_shuffles_and_is_big_enough() -> None:
    report = analyse_drivers(_resolved(), DriversSpec.model_validate({"names": {"radius": "tumour radius"}}),
                             words=WORDS, slices=[SliceSpec(column="size_band", label="Tumour size")],
                             evaluation=EVALUATION, min_slice_size=2)
    assert [(s.group, s.direction, s.n) for s in report.slices] == [("small", "more", 3)]
    assert report.slices[0].sentence == (
        "For tumour size 'small' (3 patients), the model leans clearly more on tumour radius: shuffling it costs "
        "40 points of accuracy there; over all patients it costs 20 points of accuracy.")
    assert report.slices_note == "Groups with fewer than 2 patients are not compared (tumour size 'tiny')."
    # Without per-group shuffles there is nothing to say about groups, and nothing is said.
    plain = analyse_drivers(_resolved(sliced=False), DriversSpec(), words=WORDS,
                            slices=[SliceSpec(column="size_band", label="Tumour size")], evaluation=EVALUATION,
                            min_slice_size=2)
    assert (plain.slices, plain.slices_note) == ((), "")


def test_only_the_features_asked_for_are_shown_and_an_artifact_says_it_was_not_checked() -> None:
    report = analyse_drivers(_resolved(origin="artifact"), DriversSpec.model_validate({"show": 2}), words=WORDS,
                             slices=[], evaluation=None, min_slice_size=2)
    assert [i.feature for i in report.shown] == ["radius", "area"] and len(report.ranked) == 4
    assert report.together == ()  # no evaluation set: correlations cannot be told
    assert report.source == ("Read from importance/drops.csv, which run run1 logged; storybook did not check how it "
                             "was computed.")


def test_nothing_clear_is_said_as_such() -> None:
    table = _table(sliced=False)
    only_noise = table[table["feature"] == "texture"]
    resolved = ResolvedDrivers(table=only_noise, metric="recall", origin="model",
                               provenance=Provenance("s", "r", "model", "m"), repeats=4, seed=0, rows=6)
    report = analyse_drivers(resolved, DriversSpec(metric="recall"), words=WORDS, slices=[], evaluation=None,
                             min_slice_size=2)
    assert report.lead == ("No single measurement clearly drives the model: shuffling any one of them changes "
                           "recall by less than the shuffles themselves vary.")


@pytest.mark.parametrize(("value", "metric", "shown"), [
    (0.2, "accuracy", "20"), (0.05, "accuracy", "5.0"), (0.0004, "accuracy", "0"), (-0.025, "accuracy", "2.5"),
    (0.0123, "brier", "0.012"), (0.09999, "recall", "10.0"), (0.0999, "recall", "10.0"), (0.1, "recall", "10"),
])
def test_points_out_of_100(value: float, metric: str, shown: str) -> None:
    assert points(value, metric) == shown
