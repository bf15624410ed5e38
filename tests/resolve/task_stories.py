"""Story sources for the scored-set tests of each task: one multiclass and one regression evaluation section, a
story written with one of them, and the line of its story.yaml that holds a given text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storybook.sources.loader import load_story
from tests.stores import story, write_project

MULTICLASS = {
    "task": "multiclass", "artifact": "evaluation/scored.csv", "unit": "students", "label_column": "label",
    "classes": [{"value": v, "means": f"need {v}", "probability_column": f"p_{v}"}
                for v in ("support", "challenge", "neither")],
}
REGRESSION = {
    "task": "regression", "artifact": "evaluation/scored.csv", "unit": "patients", "actual_column": "actual",
    "prediction_column": "predicted", "target_means": "the progression score a year later", "amount_unit": "points",
}


def task_story(tmp_path: Path, evaluation: dict[str, Any], kind: str = "other") -> Any:
    root = write_project(tmp_path, {"s": story("m", "champion", [{"key": "k", "label": "K", "kind": kind}],
                                               evaluation)})
    return load_story(root, root / "stories" / "s")


def yaml_line(story: Any, text: str) -> int:
    lines = (story.directory / "story.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)
