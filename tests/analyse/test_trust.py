"""Trust levels (storybook.analyse.trust): level rules at their boundaries and the ML Test Score rubric. The
checks behind the levels are tested by area in tests/analyse/trust_checks/.
"""

from __future__ import annotations

import pytest

from storybook.analyse import trust, trust_checks
from storybook.analyse.trust import (
    BANDS,
    RUBRIC,
    Attestation,
    Level,
    level_for,
    levels_for,
    rubric_band,
    score_rubric,
)
from storybook.analyse.trust_checks import Evidence

SRC = "metric test_recall of run abc"


def test_all_is_the_public_api() -> None:
    for module in (trust, trust_checks):
        for name in module.__all__:
            assert hasattr(module, name), name


def _ev(check: str, passed: bool | None, area: str = "model") -> Evidence:
    return Evidence(area, check, f"{check} said something.", passed, {}, SRC)  # type: ignore[arg-type]


SIGNED = Attestation("Dr A. Khan", "clinical lead", "2024-03-04", "I reviewed the slices.", "model.slice_gaps")


def test_no_evidence_no_level() -> None:
    result = level_for([], area="model")
    assert result.level is Level.NONE
    assert result.rule == "None: no check has passed and no one has attested; without evidence there is no level."
    assert result.to_raise[0].startswith("Run 1 more different model check; not run yet: how well the model does")
    assert result.to_raise[-1] == ("Or: ask a person responsible for the model to attest to it (name, role, date and "
                                   "statement).")
    assert level_for([_ev("model.held_out", False)], area="model").level is Level.NONE
    assert level_for([_ev("model.held_out", None)], area="model").level is Level.NONE


def test_emerging_boundary() -> None:
    assert level_for([_ev("model.held_out", True)], area="model").level is Level.EMERGING
    assert level_for([], [SIGNED], area="model").level is Level.EMERGING
    mixed = level_for([_ev("model.held_out", True), _ev("model.calibration", True), _ev("model.slice_gaps", False)],
                      area="model")
    assert mixed.level is Level.EMERGING
    assert mixed.rule == "Emerging: at least one check passed, or a named person attested to the work."
    assert mixed.to_raise == ("Make this check pass (how far apart the model's results are between groups): "
                              "model.slice_gaps said something.",)
    # The same check twice is one different check: still short of established.
    twice = level_for([_ev("model.held_out", True), _ev("model.held_out", True)], area="model")
    assert twice.level is Level.EMERGING and twice.checks_ran == 1


def test_established_boundary() -> None:
    two = level_for([_ev("model.held_out", True), _ev("model.calibration", True)], area="model")
    assert two.level is Level.ESTABLISHED
    assert two.rule == "Established: at least 2 different checks ran and every check that ran passed."
    # A check that could not run does not block established, but it does block strong.
    three_and_gap = level_for([_ev("model.held_out", True), _ev("model.calibration", True),
                               _ev("model.slice_gaps", True), _ev("model.fold_stability", None)], [SIGNED],
                              area="model")
    assert three_and_gap.level is Level.ESTABLISHED
    assert three_and_gap.to_raise == ("Give this check what it needs to run (how steady the model is across "
                                      "cross-validation folds): model.fold_stability said something.",)
    # Two checks and an attestation: one check short of strong.
    short = level_for([_ev("model.held_out", True), _ev("model.calibration", True)], [SIGNED], area="model")
    assert short.level is Level.ESTABLISHED
    assert short.to_raise[0].startswith("Run 1 more different model check; not run yet: how steady the model is")


def test_strong_boundary() -> None:
    three = [_ev("model.held_out", True), _ev("model.calibration", True), _ev("model.slice_gaps", True)]
    unsigned = level_for(three, area="model")
    assert unsigned.level is Level.ESTABLISHED
    assert unsigned.to_raise == ("Ask a person responsible for the model to attest to it (name, role, date and "
                                 "statement).",)
    strong = level_for(three, [SIGNED], area="model")
    assert strong.level is Level.STRONG and strong.to_raise == ()
    assert strong.rule == ("Strong: every check ran and passed, at least 3 different checks ran, and a named person "
                           "attested to the work.")
    assert strong.checks_ran == 3 and strong.checks_passed == 3 and strong.attested == 1
    # Evidence and attestations of other areas do not count.
    data_signed = Attestation("B", "data steward", "2024-03-04", "Checked.", "data.missing")
    assert level_for(three, [data_signed], area="model").level is Level.ESTABLISHED
    assert level_for([*three, _ev("data.missing", False, "data")], [SIGNED], area="model").level is Level.STRONG


def test_levels_for_every_area() -> None:
    results = levels_for([_ev("system.guardrails", True, "system")])
    assert [r.area for r in results] == ["model", "data", "system"]
    assert [r.level for r in results] == [Level.NONE, Level.NONE, Level.EMERGING]
    assert Level.NONE < Level.EMERGING < Level.ESTABLISHED < Level.STRONG
    assert Level.STRONG.label == "strong" and Level.NONE.meaning


def test_attestation_dates_and_areas() -> None:
    with pytest.raises(ValueError, match="ISO date"):
        Attestation("A", "lead", "4 March 2024", "x", "infra-1")
    assert Attestation("A", "lead", "2024-03-04", "x", "infra-1").area == "system"
    assert Attestation("A", "lead", "2024-03-04", "x", "monitor-7").area == "system"
    assert Attestation("A", "lead", "2024-03-04", "x", "data-5").area == "data"
    assert Attestation("A", "lead", "2024-03-04", "x", "model.calibration").area == "model"
    assert Attestation("A", "lead", "2024-03-04", "x", "infra-9").area is None


def test_rubric_has_28_tests_seven_per_section() -> None:
    assert len(RUBRIC) == 28
    assert len({t.id for t in RUBRIC}) == 28
    for section, prefix in [("data", "data"), ("model", "model"), ("infrastructure", "infra"),
                            ("monitoring", "monitor")]:
        tests = [t for t in RUBRIC if t.section == section]
        assert [t.id for t in tests] == [f"{prefix}-{i}" for i in range(1, 8)]


@pytest.mark.parametrize(("score", "band"), [
    (0.0, 0), (0.5, 1), (1.0, 1), (1.5, 2), (2.0, 2), (2.5, 3), (3.0, 3), (3.5, 4), (5.0, 4), (5.5, 5), (7.0, 5),
])
def test_bands_at_their_boundaries(score: float, band: int) -> None:
    assert rubric_band(score) == BANDS[band][1]


def test_final_score_is_the_minimum_of_section_sums() -> None:
    def att(test: str, automated: bool = False) -> Attestation:
        return Attestation("C", "engineer", "2024-03-04", "Done.", test, automated)

    evidence = [
        _ev("data.shift", False, "data"),          # ran (and failed): monitor-3 gets 1 point
        _ev("system.guardrails", None, "system"),  # did not run: monitor-7 gets nothing from it
        _ev("model.slice_gaps", True),             # model-6: 1
    ]
    attestations = [
        att("data-1"), att("data-2", automated=True), att("data-5"),            # data: 0.5 + 1 + 0.5 = 2
        att("model-1"), att("model-6"),                                         # model: 0.5 + max(1, 0.5) = 1.5
        *(att(f"infra-{i}", automated=True) for i in (1, 2, 3)),                # infrastructure: 3
        att("monitor-3"),                                                       # monitoring: max(1, 0.5) = 1
    ]
    scored = score_rubric(evidence, attestations)
    assert scored.sections == {"data": 2.0, "model": 1.5, "infrastructure": 3.0, "monitoring": 1.0}
    assert scored.score == 1.0 and scored.weakest == ("monitoring",)
    assert scored.band == BANDS[1][1]
    by_id = {i.test.id: i for i in scored.items}
    assert by_id["monitor-3"].points == 1.0 and by_id["monitor-3"].basis.startswith("automatic check: shift")
    assert by_id["monitor-7"].points == 0.0 and by_id["monitor-7"].basis == "not done"
    assert by_id["data-1"].basis == "attested by C (engineer) on 2024-03-04: done by hand and documented"
    assert scored.sentence == ("ML Test Score 1 out of 7, the lowest of its four sections (data 2, model 1.5, "
                               "infrastructure 3, monitoring 1): not totally untested, but it is worth considering the "
                               "possibility of serious holes in reliability.")
    assert score_rubric([]).score == 0.0 and score_rubric([]).band == BANDS[0][1]
    with pytest.raises(ValueError, match="infra-8"):
        score_rubric([], checks={"data.shift": "infra-8"})
