"""Decision briefs (storybook.analyse.decision and its grounds): the recommendation rules, the grounds on a story
worked by hand, and what people recorded (overrules, grounds that changed). How one interval is judged against its
bound is tested in tests/analyse/test_decision_judge.py.

The hand-worked story has 100 cases, 40 positive (rows 0-39) and 60 negative, threshold 0.5, a false alarm
costing 1 hour and a miss 10 hours:

- version 1 (the story's model, "champion") flags positives 0-29 and negatives 40-45:
  TP 30, FN 10, FP 6, TN 54; cost (6 x 1 + 10 x 10) / 100 x 1,000 = 1,060 hours per 1,000.
- version 2 ("challenger") flags positives 0-35 and negatives 40-48:
  TP 36, FN 4, FP 9, TN 51; cost (9 + 40) / 100 x 1,000 = 490; switching saves 570 per 1,000.
- site A holds positives 0-19, site B positives 20-39. Version 1 finds 20 of 20 in A and 10 of 20 in B:
  Wilson 95% intervals [0.8389, 1] and [0.2993, 0.7007], a gap of 0.5 whose MOVER interval starts at
  0.5 - sqrt((1 - 0.8389)^2 + (0.7007 - 0.5)^2) = 0.2426, above a tolerance of 0.2: it fails.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from storybook.analyse import decision, decision_grounds, decision_judge
from storybook.analyse.classification import proportion, wilson_interval
from storybook.analyse.decision import (
    RULES,
    DecisionBrief,
    GroundResult,
    ground_changes,
    grounds_record,
    recommend,
    settle,
)
from storybook.analyse.decision_judge import (
    difference,
)
from storybook.analyse.story import analyse_story
from storybook.resolve.resolved import (
    ComparedVersion,
    Figure,
    ModelVersionRecord,
    Provenance,
    ResolvedRun,
    ResolvedStory,
    Series,
    SeriesPoint,
)
from storybook.sources.loader import StorySource, load_project

RUN_1, RUN_2 = "a" * 32, "b" * 32
DAY = 86_400_000


def test_all_is_the_public_api() -> None:
    for module in (decision, decision_grounds, decision_judge):
        exported = {name for name in vars(module) if not name.startswith("_") and callable(vars(module)[name])
                    and getattr(vars(module)[name], "__module__", "") == module.__name__}
        assert exported <= set(module.__all__), module.__name__


# --- the rules -------------------------------------------------------------------------------------------


def _ground(ground_id: str, outcome: str, *, required: bool = True, condition: str | None = None) -> GroundResult:
    return GroundResult(id=ground_id, kind="metric", label=f"ground {ground_id}", required=required,
                        condition=condition, outcome=outcome, value=None, low=None, high=None,  # type: ignore[arg-type]
                        bound="", sentence="", section="metrics", source="")


def test_every_required_ground_holding_and_every_condition_holding_is_go() -> None:
    assert recommend([_ground("a", "holds"), _ground("c", "holds", required=False, condition="do c")]) == (
        "go", (), ())


def test_a_required_ground_that_fails_is_no_go_whatever_else() -> None:
    grounds = [_ground("a", "holds"), _ground("b", "fails"), _ground("c", "cannot tell"),
               _ground("d", "fails", required=False, condition="do d")]
    assert recommend(grounds) == ("no-go", (), ())


def test_a_condition_that_does_not_hold_makes_it_go_with_that_condition() -> None:
    grounds = [_ground("a", "holds"), _ground("c", "fails", required=False, condition="do c"),
               _ground("d", "cannot tell", required=False, condition="do d"),
               _ground("e", "holds", required=False, condition="do e")]
    assert recommend(grounds) == ("go with conditions", ("do c", "do d"), ())


def test_a_required_ground_that_cannot_be_told_means_storybook_cannot_decide() -> None:
    grounds = [_ground("a", "holds"), _ground("b", "cannot tell"),
               _ground("c", "fails", required=False, condition="do c")]
    assert recommend(grounds) == ("cannot decide", (), ("b",))


def test_the_rules_are_worded_for_the_reader() -> None:
    assert set(RULES) == {"go", "no-go", "go with conditions", "cannot decide"}
    assert RULES["no-go"].startswith("No-go: at least one required ground fails")


# --- a story worked by hand --------------------------------------------------------------------------------

STORY_YAML = """\
title: A decision worked by hand
summary: Two versions of a model on 100 cases.
audience: Testers
owner: Test team
model: {{name: m, alias: champion}}
intended_use: {{primary: Testing., users: [Testers], out_of_scope: [Anything else]}}
metrics:
  - {{key: test_recall, label: Cases found, kind: recall}}
  - {{key: test_brier, label: Calibration error, kind: brier, higher_is_better: false}}
evaluation:
  artifact: evaluation/scored.csv
  positive_means: are positive
  negative_means: are negative
  unit: cases
  id_column: case
slices:
  - {{column: site, label: Site}}
min_slice_size: 10
cost_of_error: {{unit: hours, owner: Someone, false_positive: 1, false_negative: 10, bootstrap_rounds: 300}}
trust:
  owner: Test team
  model: {{metric: recall, minimum: 0.5, compare_with: challenger}}
  guardrails:
    - {{series: prod, name: the mean score, lower: 0.2, upper: 0.6}}
decision:
  question: Replace version 1 with version 2?
  options:
    go: Switch to version 2.
    no_go: Keep version 1.
    go_with_conditions: Switch once the conditions are met.
  criteria:
{criteria}
"""


def _frame(found: int, false_alarms: int) -> pd.DataFrame:
    labels = [1] * 40 + [0] * 60
    scores = [0.9 if i < found else 0.1 for i in range(40)] + [0.8 if i < false_alarms else 0.2 for i in range(60)]
    sites = ["A"] * 20 + ["B"] * 20 + ["A", "B"] * 30
    # Sorted by label, so only the ids say both versions scored the same 100 cases.
    return pd.DataFrame({"case": [f"c{i}" for i in range(100)], "label": labels, "score": scores, "site": sites})


def _run(run_id: str, recall: float) -> ResolvedRun:
    figure = Figure("test_recall", recall, Provenance("sqlite:///m.db", run_id, "metric", "test_recall"))
    brier = Figure("test_brier", 0.1, Provenance("sqlite:///m.db", run_id, "metric", "test_brier"))
    return ResolvedRun(run_id=run_id, run_name="r", experiment_name="e", start_ms=DAY, end_ms=DAY,
                       metrics={"test_recall": figure, "test_brier": brier}, params={"threshold": "0.5"}, tags={})


def _resolved(guard: list[float]) -> ResolvedStory:
    points = tuple(SeriesPoint(step, DAY * (step + 1), value) for step, value in enumerate(guard))
    series = Series("prod", points, Provenance("sqlite:///m.db", RUN_1, "series", "prod"))
    return ResolvedStory(
        source="sqlite:///m.db", run=_run(RUN_1, 0.75),
        model=ModelVersionRecord("m", 1, RUN_1, DAY, ("champion",)), series={"prod": series},
        evaluation=_frame(30, 6), compared=ComparedVersion(
            model=ModelVersionRecord("m", 2, RUN_2, 2 * DAY, ("challenger",)), run=_run(RUN_2, 0.9),
            evaluation=_frame(36, 9)))


def _story(tmp_path: Path, criteria: str) -> StorySource:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "storybook.yaml").write_text("title: Tests\n")
    directory = tmp_path / "stories" / "hand"
    directory.mkdir(parents=True)
    (directory / "story.yaml").write_text(STORY_YAML.format(criteria=criteria))
    for name in ("ethical-considerations", "caveats-and-recommendations"):
        (directory / f"{name}.md").write_text("Written by people.\n")
    story = load_project(tmp_path).stories[0]
    assert isinstance(story, StorySource), story
    return story


def _brief(tmp_path: Path, criteria: str, guard: list[float] | None = None) -> DecisionBrief:
    analysis = analyse_story(_story(tmp_path, criteria), _resolved(guard or [0.3, 0.4, 0.5]))
    assert analysis.decision is not None
    return analysis.decision


def _by_id(brief: DecisionBrief) -> dict[str, GroundResult]:
    return {g.id: g for g in brief.grounds}


def test_the_hand_worked_story(tmp_path: Path) -> None:
    brief = _brief(tmp_path, """\
    - {id: saves, cost_saving: {versus: compared_version, at_least: 0}}
    - {id: finds, version_comparison: {metric: recall, margin: 0.05}}
    - {id: recall-2, metric: {key: test_recall, version: compared, at_least: 0.7}}
    - {id: sites, slice_gap: {slice: site, tolerance: 0.2}}
    - {id: steady, guardrail: {series: prod}, required: false, condition: Watch it.}
    - {id: trusted, trust_level: {area: model, at_least: emerging}}
""")
    grounds = _by_id(brief)
    saves = grounds["saves"]
    assert saves.value == pytest.approx(570.0)   # 1,060 - 490 hours per 1,000 cases
    assert saves.low is not None and saves.low > 0 and saves.outcome == "holds"
    assert "a saving of 570 hours for every 1,000 cases" in saves.sentence
    assert "the same resampled cases for both" in saves.source

    # 36/40 - 30/40, both versions on the same 100 cases: paired. Version 2 finds the 30 version 1 finds and
    # 6 more, so a resample's gap is (how many of those 6 it draws) / (positives it draws): about a binomial
    # of 40 draws at 6/40, whose 2.5% and 97.5% points are 2 and 11, i.e. 0.05 to 0.275; far narrower than
    # the independent (Newcombe) interval, -0.02 to 0.31, which ignores that the cases are the same.
    finds = grounds["finds"]
    independent = difference(proportion(36, 40), proportion(30, 40))
    assert finds.value == pytest.approx(0.15)
    assert finds.low == pytest.approx(0.05, abs=0.015) and finds.high == pytest.approx(0.275, abs=0.015)
    assert (independent.low or 0) < 0 < (finds.low or 0) and (finds.high or 1) < (independent.high or 0)
    assert finds.outcome == "holds"
    assert "90 in 100 for version 2 (challenger), measured on 40 cases who are positive" in finds.sentence
    assert "75 in 100 for version 1 (champion), the version in use, measured on the same 40" in finds.sentence
    assert "both versions on the same 100 cases, resampled together" in finds.sentence
    assert "the same cases for both" in finds.source

    recall_2 = grounds["recall-2"]
    low, high = wilson_interval(36, 40)
    assert (recall_2.value, recall_2.low, recall_2.high) == pytest.approx((0.9, low, high))
    assert recall_2.outcome == "holds" and low > 0.7
    assert "measured on 40 cases who are positive" in recall_2.sentence

    sites = grounds["sites"]   # version 1: 20/20 in A against 10/20 in B
    assert sites.value == pytest.approx(0.5)
    assert sites.low == pytest.approx(0.2426, abs=1e-4)
    assert sites.outcome == "fails"
    assert "100 in 100 for A, out of 20 cases who are positive, and 50 in 100 for B" in sites.sentence

    assert grounds["steady"].outcome == "holds" and grounds["steady"].value == 0
    assert grounds["trusted"].outcome == "holds"
    assert brief.recommendation == "no-go"   # the gap between the sites is a required ground and fails
    assert brief.action == "Keep version 1." and brief.rule == RULES["no-go"]
    assert [g.section for g in brief.grounds] == ["cost-of-error", "trust", "trust", "quantitative-analyses",
                                                  "trust", "trust"]


def test_the_cost_saving_agrees_with_the_cost_story(tmp_path: Path) -> None:
    story = _story(tmp_path, "    - {id: threshold, cost_saving: {at_least: 0}}\n")
    analysis = analyse_story(story, _resolved([0.3]))
    assert analysis.cost is not None and analysis.decision is not None
    assert analysis.cost.current_cost_per == pytest.approx(1060.0)
    ground = analysis.decision.grounds[0]
    saving = analysis.cost.uncertainty.saving if analysis.cost.uncertainty else None
    assert saving is not None
    assert (ground.value, ground.low, ground.high) == (saving.value, saving.low, saving.high)
    assert ground.section == "cost-of-error"


def _bound_case(tmp_path: Path, at_least: float) -> str:
    ground = f"metric: {{key: test_recall, version: compared, at_least: {at_least!r}}}"
    brief = _brief(tmp_path, f"    - {{id: r, {ground}}}\n")
    return brief.grounds[0].outcome


@pytest.mark.parametrize(("shift", "outcome"), [(0.0, "holds"), (1e-9, "cannot tell")])
def test_a_metric_exactly_at_its_bound_holds(tmp_path: Path, shift: float, outcome: str) -> None:
    low, _ = wilson_interval(36, 40)
    assert _bound_case(tmp_path, low + shift) == outcome


def test_a_metric_whose_whole_interval_is_short_fails(tmp_path: Path) -> None:
    _, high = wilson_interval(36, 40)
    assert _bound_case(tmp_path, high + 1e-9) == "fails"


def test_a_broken_guardrail_as_a_condition_gives_go_with_conditions(tmp_path: Path) -> None:
    brief = _brief(tmp_path, """\
    - {id: finds, version_comparison: {metric: recall, margin: 0.2}}
    - {id: steady, guardrail: {series: prod}, required: false, condition: Fix the feed first.}
""", guard=[0.3, 0.7, 0.4])
    steady = _by_id(brief)["steady"]
    assert steady.outcome == "fails" and steady.value == 1
    assert "1 of 3 readings were outside" in steady.sentence
    assert brief.recommendation == "go with conditions"
    assert brief.conditions == ("Fix the feed first.",)
    assert brief.action == "Switch once the conditions are met."


def test_missing_evidence_cannot_be_told_and_storybook_cannot_decide(tmp_path: Path) -> None:
    story = _story(tmp_path, "    - {id: finds, version_comparison: {metric: recall}}\n"
                             "    - {id: saves, cost_saving: {versus: compared_version}}\n")
    resolved = _resolved([0.3])
    assert resolved.compared is not None
    without = ResolvedStory(source=resolved.source, run=resolved.run, model=resolved.model, series=resolved.series,
                            evaluation=resolved.evaluation, compared=ComparedVersion(resolved.compared.model,
                                                                                      resolved.compared.run, None))
    analysis = analyse_story(story, without)
    assert analysis.decision is not None
    assert [g.outcome for g in analysis.decision.grounds] == ["cannot tell", "cannot tell"]
    assert analysis.decision.recommendation == "cannot decide"
    assert analysis.decision.undecided == ("finds", "saves")


def test_compare_with_on_the_storys_own_version_judges_nothing(tmp_path: Path) -> None:
    # The story names version 1 and compare_with an alias that is on version 1 too: nothing to compare.
    story = _story(tmp_path, "    - {id: finds, version_comparison: {metric: recall}}\n"
                             "    - {id: saves, cost_saving: {versus: compared_version}}\n"
                             "    - {id: other, metric: {key: test_recall, version: compared, at_least: 0.5}}\n")
    resolved = _resolved([0.3])
    assert resolved.model is not None
    itself = ResolvedStory(source=resolved.source, run=resolved.run, model=resolved.model, series=resolved.series,
                           evaluation=resolved.evaluation,
                           compared=ComparedVersion(resolved.model, resolved.run, resolved.evaluation))
    brief = analyse_story(story, itself).decision
    assert brief is not None
    assert [g.outcome for g in brief.grounds] == ["cannot tell"] * 3
    assert all("a version cannot be compared with itself" in g.sentence for g in brief.grounds)
    assert brief.direction is not None and brief.direction.startswith("The version compared with is version 1")


def test_a_slice_gap_is_judged_on_the_share_asked_for(tmp_path: Path) -> None:
    # Version 1 flags positives 0-29 (20 in A, 10 in B) and negatives 40-45 (sites alternate: 3 in A, 3 in B),
    # so precision is 20 of 23 in A and 10 of 13 in B, both at least min_slice_size (10).
    brief = _brief(tmp_path, "    - {id: sites, slice_gap: {slice: site, metric: precision, tolerance: 0.2}}\n")
    ground = brief.grounds[0]
    expected = difference(proportion(20, 23), proportion(10, 13))
    assert (ground.value, ground.low, ground.high) == pytest.approx((20 / 23 - 10 / 13, expected.low, expected.high))
    assert ground.outcome == "cannot tell" and (expected.low or 0) < 0.2 < (expected.high or 0)
    assert "out of 23 cases who are flagged" in ground.sentence


def test_a_slice_gap_with_too_few_cases_cannot_be_told(tmp_path: Path) -> None:
    story = _story(tmp_path, "    - {id: sites, slice_gap: {slice: site, tolerance: 0.2}}\n")
    resolved = _resolved([0.3])
    frame = _frame(30, 6)
    frame.loc[25:39, "site"] = "A"   # B keeps 5 positives: fewer than min_slice_size (10)
    analysis = analyse_story(story, ResolvedStory(source=resolved.source, run=resolved.run, model=resolved.model,
                                                  series=resolved.series, evaluation=frame))
    assert analysis.decision is not None
    ground = analysis.decision.grounds[0]
    assert ground.outcome == "cannot tell" and ground.value is None
    assert "Too few cases who are positive to judge (fewer than 10): B (5)" in ground.sentence


# --- what people recorded --------------------------------------------------------------------------------


class _Record:
    def __init__(self, name: str, *, current: bool, decision: str = "", reason: str = "",
                 grounds: dict[str, str] | None = None) -> None:
        self.name, self.role, self.date = name, "lead", "2026-11-02T10:00:00Z"
        self.current, self.decision, self.reason, self.grounds = current, decision, reason, grounds or {}


def _two_grounds(tmp_path: Path) -> DecisionBrief:
    return _brief(tmp_path, """\
    - {id: finds, version_comparison: {metric: recall, margin: 0.2}}
    - {id: sites, slice_gap: {slice: site, tolerance: 0.2}}
""")


def test_an_overrule_is_shown_next_to_the_computed_recommendation(tmp_path: Path) -> None:
    brief = _two_grounds(tmp_path)
    assert brief.recommendation == "no-go"
    settled = settle(brief, [_Record("Ada", current=True, decision="go", reason="The gap is known and handled.")])
    assert settled.recommendation == "no-go"   # never replaced
    person = settled.person
    assert person is not None and person.overrules and not person.agrees
    assert (person.name, person.role, person.date, person.reason) == ("Ada", "lead", "2026-11-02",
                                                                       "The gap is known and handled.")
    stale = settle(brief, [_Record("Ada", current=False, decision="go", reason="r")]).person
    assert stale is not None and not stale.overrules and not stale.current
    agreeing = settle(brief, [_Record("Bo", current=True, decision="no-go", reason="r")]).person
    assert agreeing is not None and agreeing.agrees and not agreeing.overrules
    assert settle(brief, [_Record("Cy", current=True)]).person is None   # a plain sign-off decides nothing


def test_grounds_that_stopped_holding_since_signing_are_named(tmp_path: Path) -> None:
    brief = _two_grounds(tmp_path)
    assert grounds_record(brief) == {"finds": "holds", "sites": "fails"}
    signed = {"finds": "holds", "sites": "holds", "gone": "holds"}
    changes = ground_changes(signed, brief)
    assert [(c.id, c.before, c.after, c.stopped_holding) for c in changes] == [
        ("sites", "holds", "fails", True), ("gone", "holds", "no longer a ground", True)]
    settled = settle(brief, [_Record("Old", current=False, grounds=signed),
                             _Record("Ada", current=True, grounds=grounds_record(brief))])
    assert settled.changes == () and not settled.grounds_changed   # the latest record is today's
    settled = settle(brief, [_Record("Ada", current=False, grounds=signed)])
    assert settled.grounds_changed and settled.compared_with == "Ada (lead) signed on 2026-11-02"
    better = ground_changes({"finds": "holds", "sites": "cannot tell"}, brief)
    assert [c.stopped_holding for c in better] == [False]


def test_grounds_are_deterministic(tmp_path: Path) -> None:
    criteria = "    - {id: saves, cost_saving: {versus: compared_version}}\n"
    first = _brief(tmp_path / "one", criteria)
    second = _brief(tmp_path / "two", criteria)
    assert first.grounds[0].low == second.grounds[0].low and not math.isnan(first.grounds[0].low or math.nan)


def test_the_threshold_saving_keeps_within_the_capacity(tmp_path: Path) -> None:
    # Version 1 at 0.5 costs 1,060 per 1,000. The cheapest threshold, 0.1, flags everyone (600 per 1,000); with
    # room for 300 of every 1,000 (30 of the 100 cases) the cheapest allowed is 0.9: 30 flagged, 10 missed,
    # (0 + 100) / 100 x 1,000 = 1,000, a saving of 60. The ground moves to 0.9, never to 0.1.
    story = _story(tmp_path, "    - {id: threshold, cost_saving: {at_least: 0}}\n")
    story_yaml = story.directory / "story.yaml"
    story_yaml.write_text(story_yaml.read_text().replace("bootstrap_rounds: 300}", "bootstrap_rounds: 300, "
                                                         "capacity: 300}"))
    story = load_project(tmp_path).stories[0]
    assert isinstance(story, StorySource), story
    analysis = analyse_story(story, _resolved([0.3]))
    assert analysis.cost is not None and analysis.decision is not None
    ground = analysis.decision.grounds[0]
    assert ground.value == pytest.approx(60.0)
    assert ground.sentence.startswith("Moving the threshold from 0.5 to 0.9 would mean a saving of 60 hours for "
                                      "every 1,000 cases"), ground.sentence

