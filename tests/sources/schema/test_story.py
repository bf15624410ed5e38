"""story.yaml's drivers: and history: sections (storybook.sources.schema.story): typed once, errors on the line of
the key that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import StorybookError
from storybook.sources.loader import BrokenStory, StorySource, load_project
from tests.sources.test_loader import STORY_YAML, write_story

DRIVERS = """\
drivers:
  source: model
  metric: roc_auc
  repeats: 5
  names:
    mean radius: tumour size
history:
  metrics: [test_recall]
  compare_with: challenger
"""


def _load(tmp_path: Path, story_yaml: str) -> StorySource | BrokenStory:
    root = tmp_path / "project"
    root.mkdir(exist_ok=True)
    (root / "storybook.yaml").write_text("title: Test stories\n")
    write_story(root, "screening", story_yaml)
    (story,) = load_project(root).stories
    return story


def _error(tmp_path: Path, story_yaml: str) -> StorybookError:
    story = _load(tmp_path, story_yaml)
    assert isinstance(story, BrokenStory), story
    return story.error


def _line(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def test_drivers_and_history_are_typed(tmp_path: Path) -> None:
    story = _load(tmp_path, STORY_YAML.replace("evaluation:\n", "evaluation:\n  artifact: evaluation/scored.csv\n")
                  + DRIVERS)
    assert isinstance(story, StorySource)
    drivers, history = story.config.drivers, story.config.history
    assert drivers is not None and history is not None
    assert (drivers.source, drivers.metric, drivers.repeats) == ("model", "roc_auc", 5)
    assert (drivers.seed, drivers.show) == (0, 8)
    assert drivers.names == {"mean radius": "tumour size"}
    assert (history.metrics, history.compare_with, history.last, history.scored_sets) == (["test_recall"],
                                                                                         "challenger", 10, None)


@pytest.mark.parametrize(("change", "needle", "message"), [
    ("  repeats: 5\n", "  repats: 5\n", "repats"),
    ("  metric: roc_auc\n", "  metric: other\n", "metric"),
    ("  source: model\n", "  source: importance.json\n", "source is 'model' or the path of a .csv or .parquet"),
    ("  metrics: [test_recall]\n", "  metrics: [test_auc]\n", "history metric 'test_auc' is not one of the story's"),
])
def test_a_wrong_key_is_reported_on_its_line(tmp_path: Path, change: str, needle: str, message: str) -> None:
    text = STORY_YAML + DRIVERS.replace(change, needle)
    error = _error(tmp_path, text)
    assert message in error.message
    assert error.location is not None and error.location.line == _line(text, needle)


def test_drivers_from_the_model_need_the_scored_set(tmp_path: Path) -> None:
    text = STORY_YAML.replace("slices:\n  - column: size_band\n    label: Tumour size\n", "").replace(
        "evaluation:\n", "evaluation:\n  counts: {tp: tp, fp: fp, tn: tn, fn: fn}\n") + DRIVERS
    error = _error(tmp_path, text)
    assert "drivers from the model need an evaluation: section naming the scored evaluation set" in error.message
    assert error.location is not None and error.location.line == _line(text, "  source: model")


def test_a_history_needs_a_registered_model(tmp_path: Path) -> None:
    text = STORY_YAML.replace("  name: breast-cancer-screening\n  alias: champion\n", "  run_id: 0123abcd4567\n") \
        + "history: {}\n"
    error = _error(tmp_path, text)
    assert "a model history needs a registered model" in error.message
    assert error.location is not None and error.location.line == _line(text, "history:")
