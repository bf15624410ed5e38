"""docs/reference.md and docs/schema/*.schema.json are generated from the schema (scripts/schema_reference.py) and
must be up to date: every key of storybook.yaml and story.yaml is documented with an example, the attestation check
ids too; the JSON Schema accepts the example project's files and refuses wrong ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from storybook.analyse.trust import RUBRIC
from storybook.analyse.trust_checks import CHECK_TITLES
from storybook.cli import app
from storybook.sources.schema import ProjectConfig, StoryConfig

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "schema_reference.py"
REFERENCE = REPO / "docs" / "reference.md"
SCHEMAS = REPO / "docs" / "schema"


def test_the_committed_reference_and_schemas_are_what_the_script_writes() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + "\nrun: .venv/bin/python scripts/schema_reference.py"


def test_the_check_fails_on_a_stale_schema(tmp_path: Path) -> None:
    """--check compares every generated file: a copy of the script next to a stale schema fails."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "schema_reference.py").write_text(SCRIPT.read_text())
    for relative in ("storybook.yaml", "docs/reference.md"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes((REPO / relative).read_bytes())
    (tmp_path / "stories").symlink_to(REPO / "stories")
    schemas = tmp_path / "docs" / "schema"
    schemas.mkdir()
    (schemas / "storybook.schema.json").write_bytes((SCHEMAS / "storybook.schema.json").read_bytes())
    (schemas / "story.schema.json").write_text('{"type": "object"}\n')
    result = subprocess.run([sys.executable, str(tmp_path / "scripts" / "schema_reference.py"), "--check"],
                            capture_output=True, text=True, check=False, env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 1, result.stderr
    assert "docs/schema/story.schema.json is out of date" in result.stderr
    assert "storybook.schema.json" not in result.stderr and "reference.md" not in result.stderr


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _example_files() -> list[tuple[str, Path]]:
    return [("storybook", REPO / "storybook.yaml"),
            *(("story", path) for path in sorted((REPO / "stories").glob("*/story.yaml")))]


@pytest.mark.parametrize(("name", "path"), _example_files(), ids=[path.parent.name or name for name, path in
                                                                  _example_files()])
def test_the_example_project_is_valid_under_the_json_schema(name: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    relative = "docs/schema/storybook.schema.json" if name == "storybook" else "../../docs/schema/story.schema.json"
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={relative}"
    assert (path.parent / relative).resolve() == (SCHEMAS / f"{name}.schema.json").resolve()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator(name).iter_errors(yaml.safe_load(text))]
    assert errors == []


def _story() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "stories" / "breast-cancer-screening" / "story.yaml").read_text())
    return data


@pytest.mark.parametrize(("change", "where"), [
    (lambda s: s.update(titel="A misspelt key"), []),  # unknown keys are errors, as storybook says
    (lambda s: s.pop("owner"), []),  # a required key
    (lambda s: s["cost_of_error"].update(population=5), ["cost_of_error", "population"]),  # below 10
    (lambda s: s["metrics"][0].update(kind="recal"), ["metrics", 0, "kind"]),  # not a kind storybook knows
    (lambda s: s["model"].update(alias="champion one"), ["model", "alias"]),  # not an alias name
])
def test_a_wrong_story_fails_json_schema_validation(change: Any, where: list[Any]) -> None:
    story = _story()
    assert list(_validator("story").iter_errors(story)) == []
    change(story)
    errors = list(_validator("story").iter_errors(story))
    assert errors, "the schema accepted a wrong story"
    assert where in _paths(errors), [(list(e.absolute_path), e.message) for e in errors]


def _paths(errors: list[jsonschema.ValidationError]) -> list[list[Any]]:
    """Where each error is, also inside "not valid under any of the given schemas" (an optional section)."""
    found = []
    for error in errors:
        found.append(list(error.absolute_path))
        found.extend(_paths(list(error.context or [])))
    return found


def test_a_wrong_project_file_fails_json_schema_validation() -> None:
    project = yaml.safe_load((REPO / "storybook.yaml").read_text())
    project["tracking_timeout"] = 0
    project["pdf"] = "sometimes"
    errors = list(_validator("storybook").iter_errors(project))
    assert {tuple(path) for path in _paths(errors)} == {("tracking_timeout",), ("pdf",)}


def test_storybook_schema_writes_the_committed_schemas(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schema", "--out", str(tmp_path / "schema")])
    assert result.exit_code == 0, result.output
    assert "storybook.schema.json" in result.output and "story.schema.json" in result.output
    for name in ("storybook", "story"):
        written = (tmp_path / "schema" / f"{name}.schema.json").read_text(encoding="utf-8")
        assert written == (SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")
        assert json.loads(written)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_storybook_schema_writes_into_the_project_from_any_folder_inside_it(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "storybook.yaml").write_text("title: Clinic models\n")
    (tmp_path / "stories" / "triage").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "stories" / "triage")
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "docs" / "schema").iterdir()) == [
        "story.schema.json", "storybook.schema.json"]
    assert not (tmp_path / "stories" / "triage" / "docs").exists()


def test_storybook_schema_says_where_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    result = CliRunner().invoke(app, ["schema", "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2
    assert "cannot write the schema files into" in result.output and "--out" in result.output


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
    # Bounds and defaults come from the schema: population is 10 to 1,000,000 and 1000 by default; the example
    # column takes the example project's value, else the script's table.
    assert "| `cost_of_error.population` | whole number (10 to 1,000,000) | `1000` | `1000` |" in text
    assert "| `tracking_timeout` | whole number (1 to 3,600) | not set | `30` |" in text


def test_every_key_has_an_example() -> None:
    table = [line for line in REFERENCE.read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    keys = [line for line in table if line.count(" | ") >= 4]  # the key tables (five columns)
    assert len(keys) > 150
    for line in keys:
        example = line.replace("\\|", "").split(" | ")[3]
        assert example == "(the keys below)" or (example.startswith("`") and len(example) > 2), line


def test_the_schema_never_refuses_a_term_storybook_accepts() -> None:
    """Editors read \\w as A-Z, a-z, 0-9 and _ only; storybook takes letters of any script. The schema leaves such
    patterns out rather than call a good glossary term wrong."""
    project = {"title": "Klinik", "glossary": {"Größe": {"plain": "wie groß der Tumor ist", "also": ["naïve Größe"]}}}
    ProjectConfig.model_validate(project)  # storybook accepts it
    assert list(_validator("storybook").iter_errors(project)) == []
    text = (SCHEMAS / "storybook.schema.json").read_text(encoding="utf-8")
    assert "\\\\w" not in text and "\\\\W" not in text
    project["glossary"]["Größe"]["plain"] = ["a list where text belongs"]  # the entry is still checked
    assert list(_validator("storybook").iter_errors(project))


def test_a_number_where_storybook_reads_text_is_valid_in_the_editor_too() -> None:
    """storybook reads `positive_value: 1` as the text "1" (every scalar stays text until the schema types it);
    an editor reads a number. The schema takes both, and still refuses a section where text belongs."""
    from storybook.sources.yaml_loader import parse_yaml

    story = _story()
    story["evaluation"]["positive_value"] = 1
    story["model"]["alias"] = 2024
    assert list(_validator("story").iter_errors(story)) == []
    story["evaluation"]["positive_value"] = {"value": 1}
    assert ["evaluation", "positive_value"] in _paths(list(_validator("story").iter_errors(story)))
    assert parse_yaml("positive_value: 1\n", Path("story.yaml")).data == {"positive_value": "1"}  # storybook: text


def test_yes_and_quoted_numbers_storybook_takes_are_valid_in_the_editor_too() -> None:
    project = yaml.safe_load((REPO / "storybook.yaml").read_text())
    project.update(pdf="yes", tracking_timeout="30")  # as an editor reads `pdf: yes` and `tracking_timeout: "30"`
    project["wording"]["tight_width"] = "0.1"
    ProjectConfig.model_validate(project)  # storybook takes them
    assert list(_validator("storybook").iter_errors(project)) == []
    project.update(pdf="sometimes", tracking_timeout="thirty")
    errors = list(_validator("storybook").iter_errors(project))
    assert {tuple(path) for path in _paths(errors)} >= {("pdf",), ("tracking_timeout",)}
