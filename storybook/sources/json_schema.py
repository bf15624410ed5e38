"""JSON Schema of storybook.yaml and story.yaml, generated from the pydantic models that validate them.

Editors use it to check and complete the files as they are typed (the YAML language server reads the
``# yaml-language-server: $schema=...`` line at the top of a file). It is never kept by hand: ``storybook schema``
writes it, and the repository's copies in docs/schema/ are checked to be current by the tests. Rules that tie keys
together (e.g. "give exactly one of alias or version") are checked by storybook itself, not by the schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from storybook.sources.schema import ProjectConfig, StoryConfig

__all__ = ["SCHEMA_FILES", "json_schema", "schema_text", "write_schemas"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_MODELS: dict[str, tuple[type[BaseModel], str]] = {
    "storybook": (ProjectConfig, "storybook.yaml: a storybook project's settings"),
    "story": (StoryConfig, "story.yaml: one storybook story (stories/<slug>/story.yaml)"),
}
# The files `storybook schema` writes, by schema name.
SCHEMA_FILES: dict[str, str] = {name: f"{name}.schema.json" for name in _MODELS}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``name``: ``storybook`` (storybook.yaml) or ``story`` (story.yaml)."""
    model, title = _MODELS[name]
    generated = model.model_json_schema(mode="validation")
    generated.pop("title", None)
    return {"$schema": DIALECT, "title": title, **_portable(generated)}


# storybook reads every YAML scalar as the text written (``positive_value: 1`` is the text "1"; see
# storybook/sources/yaml_loader.py), where editors read 1 as a number: a text key takes any scalar, so that an
# editor never calls a value wrong that storybook accepts (patterns and lengths still apply to text).
_SCALARS = ("string", "number", "boolean")
# And the other way round: the texts storybook (pydantic) takes for a whole number, a number, or true and false,
# which editors read as text when quoted (`"1000"`), or, for yes/no/on/off, always.
_BOOLEAN_WORDS = ("true", "false", "yes", "no", "on", "off", "y", "n", "t", "f")
_AS_TEXT: dict[str, dict[str, Any]] = {
    "integer": {"pattern": r"^\s*[+-]?[0-9]+\s*$"},
    "number": {"pattern": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"},
    "boolean": {"enum": [*(form for word in _BOOLEAN_WORDS for form in (word, word.title(), word.upper())), "0",
                         "1"]},
}


def _portable(node: Any) -> Any:
    """``node`` as editors should read it: any scalar where storybook takes text (see ``_SCALARS``), and without
    the patterns editors would read otherwise than storybook does.

    In Python ``\\w`` is any letter of any script; in the JavaScript patterns editors use it is A-Z, a-z, 0-9 and _
    only, so an editor would call a glossary term such as "Größe" wrong that storybook accepts. Such a pattern is
    left out (a key pattern becomes "not blank"): the editor then says less, and storybook still checks the term,
    on its line.
    """
    if isinstance(node, list):
        return [_portable(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") in _AS_TEXT:  # a number or yes/no storybook also takes as text: `population: "1000"`
        shown = {key: node[key] for key in ("title", "description", "default", "examples") if key in node}
        typed = {key: value for key, value in node.items() if key not in shown}
        return {**shown, "anyOf": [typed, {"type": "string", **_AS_TEXT[node["type"]]}]}
    kept: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type" and value == "string":  # see _SCALARS
            value = list(_SCALARS)
        if key == "pattern" and isinstance(value, str) and _script_dependent(value):
            continue
        if key == "patternProperties" and isinstance(value, dict):
            value = {(r"^\S" if _script_dependent(pattern) else pattern): item for pattern, item in value.items()}
        kept[key] = _portable(value)
    return kept


def _script_dependent(pattern: str) -> bool:
    return any(escape in pattern for escape in (r"\w", r"\W", r"\b", r"\B"))


def schema_text(name: str) -> str:
    """The schema as the file holds it: indented JSON in the models' key order, ending in a newline."""
    return json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write both schemas into ``folder`` (made if missing), replacing earlier copies; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, file_name in SCHEMA_FILES.items():
        path = folder / file_name
        path.write_text(schema_text(name), encoding="utf-8", newline="\n")
        written.append(path)
    return written
