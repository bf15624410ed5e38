"""The decision: section of story.yaml: every mistake is a located error on the line of the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import SourceError
from storybook.sources.loader import BrokenStory, StorySource, load_project
from storybook.sources.schema import CostSavingGround, GuardrailGround, SliceGapGround
from tests.sources.test_loader import STORY_YAML, write_story

# STORY_YAML ends at line 40; these lines follow it.
EXTRA = """\
cost_of_error:
  unit: hours
  owner: Dr. Okafor
  false_positive: 1
  false_negative: 10
trust:
  owner: Analytics
  model:
    compare_with: challenger
  guardrails:
    - series: production_mean_score
      name: the mean score
      upper: 0.6
decision:
  question: Switch to the challenger?
  options:
    go: Switch.
    no_go: Do not switch.
    go_with_conditions: Switch once the conditions are met.
  criteria:
"""


def _text(extra: str) -> str:
    """STORY_YAML with a scored evaluation set and a second slice (site), then ``extra``."""
    return (STORY_YAML.replace("evaluation:\n", "evaluation:\n  artifact: scored.csv\n")
            .replace("  - column: size_band", "  - column: site\n    label: Site\n  - column: size_band") + extra)


FIRST_CRITERION = len(_text(EXTRA).splitlines()) + 1


def _load(tmp_path: Path, criteria: str, extra: str = EXTRA) -> StorySource | BrokenStory:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Tests\n")
    write_story(root, "story", _text(extra) + criteria)
    return load_project(root).stories[0]


def _error(tmp_path: Path, criteria: str, extra: str = EXTRA) -> SourceError:
    story = _load(tmp_path, criteria, extra)
    assert isinstance(story, BrokenStory), "expected the story to be refused"
    assert isinstance(story.error, SourceError)
    return story.error


def test_a_complete_decision_loads_with_typed_grounds(tmp_path: Path) -> None:
    story = _load(tmp_path, """\
    - id: cheaper
      cost_saving: {versus: compared_version, at_least: 100}
    - id: sites
      required: false
      condition: Check the sites.
      slice_gap: {slice: site, tolerance: 0.2}
    - id: steady
      guardrail: {series: production_mean_score}
""")
    assert isinstance(story, StorySource), getattr(story, "error", None)
    decision = story.config.decision
    assert decision is not None
    kinds = [(c.id, c.kind, type(c.ground), c.required) for c in decision.criteria]
    assert kinds == [("cheaper", "cost_saving", CostSavingGround, True), ("sites", "slice_gap", SliceGapGround, False),
                     ("steady", "guardrail", GuardrailGround, True)]
    assert story.yaml.location(("decision", "criteria", 1)).line == FIRST_CRITERION + 2


@pytest.mark.parametrize(("criteria", "offset", "message"), [
    # A slice the story does not break results down by: on the line of `slice:`.
    ("    - id: gap\n      slice_gap:\n        slice: clinic\n        tolerance: 0.2\n", 2,
     "'clinic' is not a column listed under slices: (there are: site, size_band)"),
    # A guardrail nobody declared: on the line of `series:`.
    ("    - id: steady\n      guardrail:\n        series: production_flag_rate\n", 2,
     "no guardrail on series 'production_flag_rate' under trust.guardrails (there are: production_mean_score)"),
    # A metric that is not listed: on the line of `key:`.
    ("    - id: found\n      metric:\n        key: test_auc\n        at_least: 0.9\n", 2,
     "'test_auc' is not a key listed under metrics: (there are: test_recall)"),
    # Both bounds at once: on the line of the ground.
    ("    - id: found\n      metric:\n        key: test_recall\n        at_least: 0.5\n        at_most: 0.9\n", 1,
     "give exactly one of at_least or at_most"),
    # A misspelt key inside a ground: on its own line, with a suggestion.
    ("    - id: cheaper\n      cost_saving:\n        versus: compared_version\n        at_lest: 0\n", 3,
     "unknown key 'decision.criteria.0.cost_saving.at_lest'. Did you mean 'at_least'?"),
    # Two grounds in one criterion: on the criterion's line.
    ("    - id: two\n      guardrail: {series: production_mean_score}\n      trust_level: "
     "{area: model, at_least: strong}\n", 0, "this one has trust_level, guardrail"),
    # A condition without `required: false`: on the line of `condition:`.
    ("    - id: steady\n      condition: Fix it.\n      guardrail: {series: production_mean_score}\n", 1,
     "a required ground has no condition"),
    # A condition ground without its condition: on the line of `required:`.
    ("    - id: steady\n      required: false\n      guardrail: {series: production_mean_score}\n", 1,
     "needs condition: what must be done"),
    # The same id twice: on the second id.
    ("    - id: a\n      guardrail: {series: production_mean_score}\n"
     "    - id: a\n      trust_level: {area: data, at_least: emerging}\n", 2, "criterion id 'a' is used twice"),
    # A level that does not exist.
    ("    - id: t\n      trust_level:\n        area: model\n        at_least: high\n", 3, "at_least"),
])
def test_mistakes_are_located_on_their_line(tmp_path: Path, criteria: str, offset: int, message: str) -> None:
    error = _error(tmp_path, criteria)
    assert message in error.message
    assert error.location is not None and error.location.line == FIRST_CRITERION + offset, error


def test_grounds_that_need_another_section_say_which(tmp_path: Path) -> None:
    without_compared = EXTRA.replace("  model:\n    compare_with: challenger\n", "")
    error = _error(tmp_path, "    - id: cheaper\n      cost_saving:\n        versus: compared_version\n",
                   without_compared)
    assert "needs the compared version: set trust.model.compare_with" in error.message
    criteria_line = len(_text(without_compared).splitlines())
    assert error.location is not None and error.location.line == criteria_line + 3   # `versus:`


def test_a_metric_without_a_range_cannot_carry_a_decision(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Tests\n")
    text = (STORY_YAML.replace("    kind: recall\n", "    kind: recall\n  - key: test_brier\n    label: Calibration\n"
                               "    kind: brier\n") + EXTRA + "    - id: calibrated\n      metric: {key: test_brier, "
            "at_most: 0.1}\n")
    write_story(root, "story", text)
    story = load_project(root).stories[0]
    assert isinstance(story, BrokenStory) and isinstance(story.error, SourceError)
    assert "metric 'test_brier' is of kind brier, which has no 95% range" in story.error.message
    assert story.error.location is not None and story.error.location.line == len(text.splitlines())


def test_go_with_conditions_must_be_worded_when_there_are_conditions(tmp_path: Path) -> None:
    extra = EXTRA.replace("    go_with_conditions: Switch once the conditions are met.\n", "")
    error = _error(tmp_path, "    - id: steady\n      required: false\n      condition: Fix it.\n"
                             "      guardrail: {series: production_mean_score}\n", extra)
    assert "say what 'go with conditions' means here" in error.message
    options_line = _text(extra).splitlines().index("  options:") + 1
    assert error.location is not None and error.location.line == options_line
