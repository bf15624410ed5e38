"""The JSON Schema editors check story.yaml and storybook.yaml with (sources/json_schema.py): made from the pydantic
models, it never calls a value wrong that storybook accepts (text keys take any scalar, quoted numbers and yes/no
words are numbers and booleans, script-dependent patterns are left out), and still refuses what storybook refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from storybook.sources.json_schema import DIALECT, SCHEMA_FILES, json_schema, schema_text, write_schemas

REPO = Path(__file__).resolve().parents[2]


def _errors(name: str, data: Any) -> list[list[Any]]:
    """The paths of the schema's complaints about ``data``, also inside an optional section's alternatives."""
    schema = json_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)

    def paths(errors: list[jsonschema.ValidationError]) -> list[list[Any]]:
        found = []
        for error in errors:
            found.append(list(error.absolute_path))
            found.extend(paths(list(error.context or [])))
        return found

    return paths(list(jsonschema.Draft202012Validator(schema).iter_errors(data)))


def _story() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "stories" / "breast-cancer-screening" / "story.yaml").read_text())
    return data


def test_each_schema_names_its_dialect_and_its_file_not_the_python_class() -> None:
    story = json_schema("story")
    assert story["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
    assert story["title"] == "story.yaml: one storybook story (stories/<slug>/story.yaml)"
    assert json_schema("storybook")["title"] == "storybook.yaml: a storybook project's settings"
    assert "StoryConfig" not in json.dumps(story["title"])


def test_the_example_story_is_valid() -> None:
    assert _errors("story", _story()) == []


def test_a_quoted_whole_number_is_a_number_and_a_word_is_not() -> None:
    story = _story()
    story["cost_of_error"]["population"] = "1000"
    assert _errors("story", story) == []
    story["cost_of_error"]["population"] = "a thousand"
    assert ["cost_of_error", "population"] in _errors("story", story)


def test_a_text_key_takes_a_number_as_storybook_reads_it_as_text() -> None:
    story = _story()
    story["owner"] = 2024   # `owner: 2024` is the text "2024" to storybook
    assert _errors("story", story) == []
    story["owner"] = ["a", "list"]
    assert ["owner"] in _errors("story", story)


def test_a_glossary_term_in_any_script_is_accepted() -> None:
    story = _story()
    story["glossary"]["Größe"] = {"plain": "How big the tumour is."}
    assert _errors("story", story) == []


def test_yes_no_words_are_booleans_and_other_words_are_not() -> None:
    project: dict[str, Any] = yaml.safe_load((REPO / "storybook.yaml").read_text())
    for word in ("yes", "Off", "TRUE", "0"):
        project["pdf"] = word
        assert _errors("storybook", project) == [], word
    project["pdf"] = "sometimes"
    assert ["pdf"] in _errors("storybook", project)


def test_write_schemas_writes_both_files_as_schema_text_makes_them(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "new" / "schema")
    assert sorted(path.name for path in written) == sorted(SCHEMA_FILES.values()) == [
        "story.schema.json", "storybook.schema.json"]
    for name, file_name in SCHEMA_FILES.items():
        text = (tmp_path / "new" / "schema" / file_name).read_text(encoding="utf-8")
        assert text == schema_text(name) and text.endswith("}\n")
        assert json.loads(text) == json_schema(name)
