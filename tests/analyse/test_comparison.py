"""Two versions compared: which way (the in-use alias), on which cases (paired or not), by one rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from storybook.analyse.classification import Estimate, proportion
from storybook.analyse.comparison import compare_versions, in_use_alias
from storybook.analyse.decision_judge import (
    Scored,
    difference,
    estimate_for,
    paired_difference,
    same_cases,
    version_gap,
)
from storybook.analyse.trust_checks import check_previous_version, gap_verdict
from storybook.errors import StorybookError
from storybook.resolve.resolved import ComparedVersion, ModelVersionRecord, ResolvedRun, ResolvedStory
from storybook.sources.loader import BrokenStory, Project, StorySource, load_project
from storybook.sources.schema import ProjectConfig


def _scored(labels: list[int], scores: list[float], ids: list[str] | None = None) -> Scored:
    return Scored("v", np.array(labels) == 1, np.array(scores, dtype=np.float64), 0.5, None, "",
                  ids=np.array(ids, dtype=np.str_) if ids is not None else None)


# --- the same cases ---------------------------------------------------------------------------------------


def test_same_cases_by_ids_in_any_order_or_by_labels_in_order() -> None:
    first = _scored([1, 0, 1], [0.9, 0.2, 0.4], ["a", "b", "c"])
    shuffled = _scored([1, 1, 0], [0.1, 0.8, 0.3], ["c", "a", "b"])
    order = same_cases(first, shuffled)
    assert order is not None and list(order) == [1, 2, 0]
    assert same_cases(first, _scored([1, 1, 0], [0.1, 0.8, 0.3], ["c", "a", "x"])) is None        # another case
    assert same_cases(first, _scored([0, 1, 0], [0.1, 0.8, 0.3], ["c", "a", "b"])) is None        # other label
    no_column = Scored("v", shuffled.labels, shuffled.scores, 0.5, None, "", ids=np.array([], dtype=np.str_))
    assert same_cases(first, no_column) is None               # the id column is declared but missing
    plain = _scored([1, 0, 1], [0.5, 0.5, 0.5])
    in_order = same_cases(plain, _scored([1, 0, 1], [0.1, 0.1, 0.1]))
    assert in_order is not None and list(in_order) == [0, 1, 2]
    assert same_cases(plain, _scored([1, 1, 0], [0.1, 0.1, 0.1])) is None   # labels in another order
    assert same_cases(plain, _scored([1, 0], [0.1, 0.1])) is None


# --- the paired interval, worked by hand -----------------------------------------------------------------


def test_a_paired_recall_difference_worked_by_hand() -> None:
    # 10 patients who are positive: version A flags 8, version B 7 of those same 8. A resample's gap is
    # (how many times it draws the one case only A flags) / 10: a binomial of 10 draws at 1/10, whose 2.5%
    # and 97.5% points are 0 and 3 (P(X <= 2) = 0.930, P(X <= 3) = 0.987): the gap is 0.1, from 0 to 0.3.
    labels, ids = [1] * 10, [f"p{i}" for i in range(10)]   # one label only: the ids say they are the same cases
    a = _scored(labels, [0.9] * 8 + [0.1] * 2, ids)
    b = _scored(labels, [0.9] * 7 + [0.1] * 3, ids)
    order = same_cases(a, b)
    assert order is not None
    gap = paired_difference("recall", a, b, order)
    assert (gap.value, gap.low, gap.high, gap.n) == pytest.approx((0.1, 0.0, 0.3, 10))
    # Taken as independent, the same figures give a far wider interval (Newcombe): about -0.26 to 0.45.
    independent = difference(proportion(8, 10), proportion(7, 10))
    assert (independent.low or 0) < -0.2 and (independent.high or 0) > 0.4
    # The other way round is the same interval, mirrored, and the same seed gives the same figures.
    back = paired_difference("recall", b, a, order)
    assert (back.value, back.low, back.high) == pytest.approx((-0.1, -0.3, 0.0))
    assert paired_difference("recall", a, b, order) == gap
    same = paired_difference("recall", a, a, order)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)


def test_a_paired_precision_counts_among_each_versions_own_flagged() -> None:
    # 4 positives, 4 negatives. A flags 3 positives and 1 negative (3/4); B flags the same 3 positives and
    # 3 negatives (3/6).
    labels = [1, 1, 1, 1, 0, 0, 0, 0]
    a = _scored(labels, [0.9, 0.9, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1])
    b = _scored(labels, [0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.1])
    gap = paired_difference("precision", a, b, np.arange(8))
    assert gap.value == pytest.approx(3 / 4 - 3 / 6)
    assert gap.low is not None and gap.high is not None and 0.0 <= gap.low <= gap.value <= gap.high <= 1.0


def test_a_paired_auc_difference_is_delongs() -> None:
    rng = np.random.default_rng(5)
    truth = rng.random(300) < 0.4
    a_scores = np.clip(truth * 0.3 + rng.random(300) * 0.7, 0, 1)
    b_scores = np.clip(0.6 * a_scores + 0.4 * rng.random(300) + truth * 0.05, 0, 1)
    a = Scored("a", truth, a_scores, 0.5, None, "")
    b = Scored("b", truth, b_scores, 0.5, None, "")
    gap = paired_difference("roc_auc", a, b, np.arange(300))
    assert gap.value == pytest.approx(roc_auc_score(truth, a_scores) - roc_auc_score(truth, b_scores))
    # DeLong's standard error against a bootstrap of the same cases, with scikit-learn's AUC.
    draws = []
    for _ in range(1500):
        pick = rng.integers(0, 300, 300)
        draws.append(roc_auc_score(truth[pick], a_scores[pick]) - roc_auc_score(truth[pick], b_scores[pick]))
    assert gap.low is not None and gap.high is not None
    assert (gap.high - gap.low) / (2 * 1.96) == pytest.approx(float(np.std(draws)), rel=0.15)


def test_version_gap_pairs_only_the_same_cases() -> None:
    a = _scored([1, 0, 1, 1], [0.9, 0.9, 0.1, 0.1])
    other_cases = _scored([1, 1, 0, 1], [0.9, 0.1, 0.9, 0.9])
    gap, paired = version_gap("recall", a, other_cases)
    assert not paired
    expected = difference(estimate_for("recall", a), estimate_for("recall", other_cases))
    assert (gap.value, gap.low, gap.high) == (expected.value, expected.low, expected.high)
    _, paired = version_gap("recall", a, _scored([1, 0, 1, 1], [0.9, 0.1, 0.1, 0.1]))
    assert paired


def test_two_sets_sorted_by_label_are_not_taken_for_the_same_cases() -> None:
    """Two versions tested on different splits of the same size and balance, each written sorted by its label:
    the labels agree row by row whichever cases they are, so without ids they are not paired (the page would
    say "both versions scored the same cases" of two different test sets); with ids they are, when the ids
    agree."""
    first = _scored([0, 0, 0, 1, 1], [0.1, 0.2, 0.6, 0.7, 0.9])
    second = _scored([0, 0, 0, 1, 1], [0.3, 0.1, 0.2, 0.4, 0.8])
    assert same_cases(first, second) is None
    assert same_cases(_scored([1, 1, 0, 0, 0], [0.5] * 5), _scored([1, 1, 0, 0, 0], [0.5] * 5)) is None
    assert same_cases(_scored([1] * 4, [0.5] * 4), _scored([1] * 4, [0.2] * 4)) is None   # one label only
    ids = ["a", "b", "c", "d", "e"]
    order = same_cases(_scored([0, 0, 0, 1, 1], [0.1] * 5, ids), _scored([0, 0, 0, 1, 1], [0.2] * 5, ids))
    assert order is not None and list(order) == [0, 1, 2, 3, 4]
    assert version_gap("recall", first, second)[1] is False


def test_a_comparison_with_a_gap_is_judged_on_the_gap() -> None:
    now, before = Estimate(0.93, 0.85, 0.97, 60), Estimate(0.85, 0.75, 0.92, 60)   # the ranges overlap
    gap = Estimate(0.08, 0.02, 0.15, 120)
    assert gap_verdict(gap) == "better" and gap_verdict(gap, higher_is_better=False) == "worse"
    assert gap_verdict(Estimate(0.08, -0.01, 0.15, 120)) == "no clear difference"
    evidence = check_previous_version(now, before, metric="recall", source="", other="version 1 (production)",
                                      this="version 2 (candidate)", gap=gap, paired=True)
    assert evidence.passed is True
    assert evidence.sentence.startswith("Compared with version 1 (production), the recall of version 2 (candidate) "
                                        "is ")
    assert evidence.sentence.endswith(": clearly better: allowing for chance, the difference is anywhere from 2 "
                                      "points higher to 15 points higher (both versions scored the same cases, "
                                      "resampled together).")


# --- which way: the in-use alias -------------------------------------------------------------------------

STORY = """\
title: t
summary: s
audience: a
owner: o
model: {{name: m, alias: {alias}{extra}}}
intended_use: {{primary: p, users: [u], out_of_scope: [x]}}
metrics: [{{key: r, label: Found, kind: recall}}]
evaluation: {{positive_means: are positive, negative_means: are negative}}
trust: {{owner: o, model: {{compare_with: {other}}}}}
"""


def _load(tmp_path: Path, alias: str, other: str, project: str = "", extra: str = "") -> Project:
    story = tmp_path / "stories" / "s"
    story.mkdir(parents=True, exist_ok=True)
    (tmp_path / "storybook.yaml").write_text(f"title: T\n{project}")
    (story / "story.yaml").write_text(STORY.format(alias=alias, other=other, extra=extra))
    for name in ("ethical-considerations", "caveats-and-recommendations"):
        (story / f"{name}.md").write_text("Written by people.\n")
    return load_project(tmp_path)


def _story(project: Project) -> StorySource:
    story = project.stories[0]
    assert isinstance(story, StorySource), story
    return story


def _resolved(story_version: int, compared_version: int, aliases: dict[int, tuple[str, ...]]) -> ResolvedStory:
    run = ResolvedRun(run_id="a" * 32, run_name="r", experiment_name="e", start_ms=0, end_ms=0, metrics={},
                      params={}, tags={})
    records = tuple(ModelVersionRecord("m", v, "a" * 32, 0, aliases.get(v, ())) for v in (1, 2, 3))
    return ResolvedStory(source="s", run=run, model=records[story_version - 1], versions=records,
                         compared=ComparedVersion(model=records[compared_version - 1], run=run))


def test_the_in_use_alias_comes_from_the_story_then_the_project_then_champion(tmp_path: Path) -> None:
    plain = _story(_load(tmp_path / "a", "candidate", "production"))
    assert in_use_alias(plain.config, plain.project) == "champion"
    project = _load(tmp_path / "b", "candidate", "production", project="in_use_alias: production\n")
    assert in_use_alias(_story(project).config, project.config) == "production"
    own = _story(_load(tmp_path / "c", "candidate", "production", project="in_use_alias: production\n",
                       extra=", in_use_alias: serving"))
    assert in_use_alias(own.config, ProjectConfig(in_use_alias="production")) == "serving"


def test_the_direction_follows_the_in_use_alias_whichever_version_the_story_is_about(tmp_path: Path) -> None:
    story = _story(_load(tmp_path, "candidate", "production"))
    aliases = {1: ("production",), 2: ("candidate",)}
    about_candidate = compare_versions(story.config, _resolved(2, 1, aliases), ProjectConfig(in_use_alias="production"))
    about_production = compare_versions(story.config, _resolved(1, 2, aliases),
                                        ProjectConfig(in_use_alias="production"))
    assert about_candidate is not None and about_production is not None
    for comparison in (about_candidate, about_production):
        assert comparison.in_use_version is not None and comparison.in_use_version.version == 1
        assert comparison.proposed_version is not None and comparison.proposed_version.version == 2
    assert about_candidate.in_use == "compared" and about_production.in_use == "story"
    assert about_candidate.named("story") == "version 2 (candidate; this story's version, proposed to replace the " \
                                             "one in use)"
    assert about_candidate.named("compared") == "version 1 (production; in use)"
    assert about_candidate.direction == ("Version 1 (production), the version compared with, is in use (it carries "
                                         "the alias \"production\"); version 2 (candidate), the one this story is "
                                         "about, is the one that would replace it.")

    unknown = compare_versions(story.config, _resolved(2, 1, aliases), None)   # "champion" is on no version
    assert unknown is not None and unknown.in_use is None and unknown.proposed_version is None
    assert unknown.no_direction.startswith(
        "Neither version 2 (candidate) nor version 1 (production) carries the alias \"champion\" that marks the "
        "version in use (no version carries it; the model's aliases: \"production\" on version 1, \"candidate\" "
        "on version 2)")
    elsewhere = compare_versions(story.config, _resolved(2, 1, {**aliases, 3: ("champion",)}), None)
    assert elsewhere is not None and elsewhere.in_use is None
    assert ("carries the alias \"champion\" that marks the version in use: it is on version 3, so neither of the "
            "two is in use") in elsewhere.no_direction


def test_an_older_version_compared_with_the_one_in_use_is_never_said_to_replace_it(tmp_path: Path) -> None:
    story = _story(_load(tmp_path, "champion", "previous"))
    aliases = {1: ("previous",), 2: ("champion",)}
    about_champion = compare_versions(story.config, _resolved(2, 1, aliases), None)
    about_previous = compare_versions(story.config, _resolved(1, 2, aliases), None)
    assert about_champion is not None and about_previous is not None
    assert about_champion.other_is_older and about_previous.other_is_older
    assert about_champion.named("story") == "version 2 (champion; this story's version, in use)"
    assert about_champion.named("compared") == "version 1 (previous; an older version, not in use)"
    assert about_previous.named("story") == "version 1 (previous; this story's version, an older version, not in use)"
    assert about_champion.direction == ("Version 2 (champion), this story's version, is in use (it carries the "
                                        "alias \"champion\"); version 1 (previous), the version compared with, is "
                                        "an older version, not in use.")
    for comparison in (about_champion, about_previous):
        assert "replace" not in comparison.named("story") + comparison.named("compared") + comparison.direction
    # A newer version than the one in use is still the one proposed to replace it.
    newer = compare_versions(story.config, _resolved(2, 3, {2: ("champion",), 3: ("challenger",)}), None)
    assert newer is not None and not newer.other_is_older
    assert newer.named("compared") == "version 3 (challenger; proposed to replace the one in use)"


def test_a_story_cannot_compare_its_version_with_itself(tmp_path: Path) -> None:
    broken = _load(tmp_path, "candidate", "candidate").stories[0]
    assert isinstance(broken, BrokenStory)
    assert "a version cannot be compared with itself" in str(broken.error)
    location = broken.error.location
    assert location is not None and location.line == 9   # the line of trust.model.compare_with


def test_an_in_use_alias_needs_a_registered_model(tmp_path: Path) -> None:
    (tmp_path / "storybook.yaml").write_text("title: T\nin_use_alias: 'not an alias!'\n")
    with pytest.raises(StorybookError, match="in_use_alias"):
        load_project(tmp_path)


def test_the_glossary_says_which_alias_marks_the_version_in_use(tmp_path: Path) -> None:
    from storybook.analyse.glossary import story_glossary
    from storybook.analyse.plain import Vocabulary

    project = _load(tmp_path, "candidate", "production", project="in_use_alias: production\n")
    terms = {t.name: t for t in story_glossary(_story(project).config, project.config, Vocabulary())}
    # shown after the label "In this story:", so it does not say "in this story" again
    assert terms["champion"].in_story == ("The version in use is the one that carries the alias \"production\" in "
                                          "the model registry.")
    default = {t.name: t for t in story_glossary(_story(project).config, None, Vocabulary())}
    assert default["champion"].in_story is not None and "\"champion\"" in default["champion"].in_story


def test_a_compared_alias_on_the_storys_own_version_compares_nothing(tmp_path: Path) -> None:
    story = _story(_load(tmp_path, "candidate", "staging"))
    comparison = compare_versions(story.config, _resolved(2, 2, {2: ("candidate", "staging")}), None)
    assert comparison is not None and comparison.same_version and comparison.in_use is None
    assert comparison.direction.startswith("The version compared with is version 2 (candidate, staging), the "
                                           "version this story is about: a version cannot be compared with itself.")


def test_the_history_pairs_versions_by_case_id_as_the_decision_does(tmp_path: Path) -> None:
    """Two versions' scored sets hold the same 40 cases in another order: the history's comparison is paired
    (by evaluation.id_column), as the decision grounds' is, so the two cannot disagree."""
    import pandas as pd

    from storybook.analyse.history import analyse_history
    from storybook.resolve.resolved import HistoryVersion, ModelHistory, Provenance

    project = _load(tmp_path, "candidate", "production", extra="")
    story = _story(project)
    text = story.story_file.read_text().replace("evaluation: {positive_means: are positive, negative_means: are "
                                                "negative}", "evaluation: {positive_means: are positive, "
                                                "negative_means: are negative, id_column: case}")
    story.story_file.write_text(text + "history: {}\n")
    story = _story(load_project(tmp_path))
    ids = [f"c{i}" for i in range(40)]
    old = pd.DataFrame({"version": 1, "positive": 1, "score": [0.9] * 30 + [0.1] * 10, "case_id": ids})
    new = pd.DataFrame({"version": 2, "positive": 1, "score": [0.9] * 36 + [0.1] * 4, "case_id": ids}).iloc[::-1]
    versions = tuple(HistoryVersion(ModelVersionRecord("m", v, f"{v}" * 32, v, a), f"v{v}", v, {"r": r}, {}, 0.5)
                     for v, a, r in ((1, ("production",), 0.75), (2, ("candidate",), 0.9)))
    history = ModelHistory("m", versions, (), {"production": 1, "candidate": 2},
                           Provenance("s", "1" * 32, "registry", "m"), scored=pd.concat([old, new]))
    report = analyse_history(history, story.config, 2, in_use="production")
    step = report.rows[1].figures[0]
    assert step.verdict == "better"   # 6 more of the same 40 found, and none lost: clear when paired
    assert "(both versions scored the same cases, resampled together)" in step.sentence
    assert step.sentence.startswith("Compared with version 1, the figure 'Found' of version 2 is ")
    unpaired = analyse_history(ModelHistory("m", versions, (), history.aliases, history.provenance,
                                            scored=pd.concat([old.drop(columns="case_id").assign(case_id=pd.NA),
                                                              new])), story.config, 2)
    assert "(each version scored its own cases)" in unpaired.rows[1].figures[0].sentence


def test_the_comparison_module_exports_what_it_defines() -> None:
    from storybook.analyse import comparison

    defined = {name for name, value in vars(comparison).items() if not name.startswith("_") and callable(value)
               and getattr(value, "__module__", "") == comparison.__name__}
    assert defined == set(comparison.__all__)
