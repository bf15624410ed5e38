"""The binary scored set (resolve/scored.py) and the task dispatch of task_set."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from storybook.resolve.scored import ScoredSet, task_set
from tests.resolve.task_stories import task_story


def test_a_binary_story_still_gets_its_binary_set(tmp_path: Path) -> None:
    s = task_story(tmp_path, {"positive_means": "has it", "negative_means": "does not", "threshold": 0.5})
    found = task_set(s, pd.DataFrame({"label": [1, 0], "score": [0.8, 0.3]}), {}, "r1")
    assert isinstance(found, ScoredSet) and found.labels.tolist() == [True, False]
