"""docs/story-keys.md is generated from the schema (scripts/schema_reference.py) and must be up to date: every
key of storybook.yaml and story.yaml is documented, the attestation check ids too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from storybook.analyse.trust import RUBRIC
from storybook.analyse.trust_checks import CHECK_TITLES
from storybook.sources.schema import ProjectConfig, StoryConfig

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "schema_reference.py"
REFERENCE = REPO / "docs" / "story-keys.md"


def test_the_committed_key_reference_is_what_the_script_writes() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + "\nrun: .venv/bin/python scripts/schema_reference.py"


def _leaf_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    """Every key name in ``model`` and the models below it."""
    names: set[str] = set()
    seen.add(model)
    for name, field in model.model_fields.items():
        names.add(name)
        stack = [field.annotation]
        while stack:
            kind = stack.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                if kind not in seen:
                    names |= _leaf_names(kind, seen)
            else:
                stack.extend(getattr(kind, "__args__", ()))
    return names


def test_every_key_and_check_id_is_in_the_reference() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for name in _leaf_names(ProjectConfig, set()) | _leaf_names(StoryConfig, set()):
        assert f"{name}`" in text, name
    for path in ("`cost_of_error.population`", "`cost_of_error.capacity`", "`trust.attestations[].check`",
                 "`trust.model.fold_tolerance`", "`drivers.model_path`", "`history.scored_sets`",
                 "`tracking_timeout`", "`decision.criteria[].slice_gap.tolerance`"):
        assert f"| {path} |" in text, path
    for check in [*CHECK_TITLES, *(test.id for test in RUBRIC)]:
        assert f"| `{check}` |" in text, check
    # Bounds and defaults come from the schema: population is 10 to 1,000,000 and 1000 by default.
    assert "| `cost_of_error.population` | whole number (10 to 1,000,000) | `1000` |" in text
