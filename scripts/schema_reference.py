"""Write docs/reference.md (every key of storybook.yaml and story.yaml) and the JSON Schema of both files
(docs/schema/storybook.schema.json, docs/schema/story.schema.json), from the pydantic models that validate them.

    .venv/bin/python scripts/schema_reference.py           # write the reference and the two schema files
    .venv/bin/python scripts/schema_reference.py --check   # exit 1 if a committed file is out of date

None of them is edited by hand: a key added to storybook/sources/schema/ appears after a re-run, with its type,
default, the ``description`` its Field gives (else its model's docstring) and an example: the value the bundled
example project (storybook.yaml, stories/*/story.yaml) gives the key, else the one in EXAMPLES below (each checked
against the key's type when the script runs). tests/test_schema_reference.py fails while a committed file differs
from what this script writes.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "reference.md"
SCHEMA_DIR = REPO / "docs" / "schema"
sys.path.insert(0, str(REPO))

from storybook.analyse.trust import RUBRIC  # noqa: E402
from storybook.analyse.trust_checks.evidence import CHECK_TITLES  # noqa: E402
from storybook.sources.json_schema import SCHEMA_FILES, schema_text  # noqa: E402
from storybook.sources.schema import ProjectConfig, StoryConfig  # noqa: E402

Row = tuple[str, str, str, str, str]  # key path, type, default, example, what it is

# Examples of the keys the bundled example project does not set (YAML, as written in the file).
EXAMPLES: dict[str, str] = {
    "tracking_timeout": "30",
    "tracking_retries": "2",
    "templates_dir": "my-templates",
    "artifact_locations": "[s3://team-bucket/mlflow]",
    "glossary.<name>.plain": "a tumour that is not cancer",
    "glossary.<name>.in_story": "a {negative} tumour, which the model should leave alone",
    "glossary.<name>.also": "[benign tumour, benign tumours]",
    "versions.summary": "[decision, key-figures, cost-of-error]",
    "versions.page": "all",
    "versions.compliance": "[decision, metrics, cost-of-error, trust, provenance]",
    "model.version": "3",
    "model.run_id": "4f1c2a9e8b7d4c3a9e1f2b3c4d5e6f70",
    "model.in_use_alias": "production",
    "metrics[].measured_on": "cross_validation",
    "evaluation.counts.tp": "test_true_positives",
    "evaluation.counts.fp": "test_false_positives",
    "evaluation.counts.tn": "test_true_negatives",
    "evaluation.counts.fn": "test_false_negatives",
    "evaluation.threshold": "0.35",
    "evaluation.id_column": "patient_id",
    "evaluation.aggregate": "evaluation/aggregate.parquet",
    "cost_of_error.true_positive": "1.5",
    "cost_of_error.true_negative": "0",
    "cost_of_error.ratio": "20",
    "cost_of_error.unstated": "zero",
    "cost_of_error.bootstrap_rounds": "2000",
    "cost_of_error.seed": "7",
    "trust.data.features": "[mean radius, mean texture]",
    "trust.attestations[].automated": "true",
    "trust.production_scores": "production/windows.parquet",
    "trust.estimate.metric": "recall",
    "trust.estimate.guardrails[].figure": "realised",
    "trust.estimate.guardrails[].lower": "0.7",
    "trust.estimate.guardrails[].upper": "0.95",
    "signoffs.required_roles": "[clinical lead, data protection officer]",
    "claims[].since": "2026-01-01",
    "claims[].metric": "test_recall",
    "claims[].at_least": "0.9",
    "claims[].at_most": "0.05",
    "decision.criteria[].metric.at_most": "0.1",
    "drivers.features": "[mean radius, mean texture, mean smoothness]",
    "drivers.model_path": "model",
    "drivers.by_slice": "false",
    "history.metrics": "[test_recall, test_precision]",
    "history.last": "5",
    "history.scored_sets": "true",
    "scan.enabled": "false",
    "scan.min_group_size": "30",
    "scan.min_denominator": "10",
    "scan.false_discovery_rate": "0.05",
    "scan.max_values": "20",
    "scan.max_pair_columns": "30",
    "scan.show": "3",
    "scan.skip_columns": "[student_id, postcode]",
    "scan.acknowledged[].group": "age is above 60",
    "scan.acknowledged[].reason": "older patients see a specialist whatever the model says",
}


def _constraints(metadata: list[Any]) -> str:
    """Bounds and patterns in words: "at least 1", "0 to 1", "matching `^[a-z]+$`"."""
    flat: list[Any] = []
    for item in metadata:  # a Field(...) inside Annotated[...] keeps its bounds in its own metadata
        flat.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    low = high = None
    low_open = high_open = False
    words = []
    for item in flat:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low, low_open = item.gt, True
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt):
            high, high_open = item.lt, True
        elif isinstance(item, annotated_types.MaxLen):
            words.append(f"at most {item.max_length:,}")
        elif getattr(item, "pattern", None):
            words.append(f"matching `{item.pattern}`")
    bounds = []
    if low is not None and high is not None and not low_open and not high_open:
        bounds.append(f"{low:,} to {high:,}")
    else:
        if low is not None:
            bounds.append(f"{'above' if low_open else 'at least'} {low:,}")
        if high is not None:
            bounds.append(f"{'below' if high_open else 'at most'} {high:,}")
    return ", ".join(bounds + words)


def _is_model(kind: Any) -> bool:
    return inspect.isclass(kind) and issubclass(kind, BaseModel)


def _describe(kind: Any, metadata: list[Any] | None = None) -> str:
    """The type in plain words."""
    metadata = list(metadata or [])
    if get_origin(kind) is Annotated:
        base, *extra = get_args(kind)
        return _describe(base, [*extra, *metadata])
    bounds = _constraints(metadata)
    suffix = f" ({bounds})" if bounds else ""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        parts = [arg for arg in get_args(kind) if arg is not type(None)]
        return " or ".join(_describe(part) for part in parts) + suffix
    if origin is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in get_args(kind))
    if origin is list:
        (item,) = get_args(kind)
        return f"list of {_describe(item)}" + suffix
    if origin is dict:
        key, value = get_args(kind)
        return f"map of {_describe(key)} to {_describe(value)}" + suffix
    if _is_model(kind):
        return "section"
    names = {str: "text", int: "whole number", float: "number", bool: "true or false"}
    return names.get(kind, getattr(kind, "__name__", str(kind))) + suffix


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        made = field.default_factory()  # type: ignore[call-arg]
        if isinstance(made, BaseModel):
            return "(the keys below)"
        return "none" if not made else f"`{made}`"
    if field.default is PydanticUndefined:
        return "**required**"
    if field.default is None:
        return "not set"
    value = field.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _first_line(doc: str | None) -> str:
    text = " ".join((doc or "").split())
    return re.sub(r"``([^`]*)``", r"`\1`", text)


def _models_in(kind: Any) -> list[type[BaseModel]]:
    """The models a field's type holds (through Optional, lists, dicts and unions)."""
    if _is_model(kind):
        return [kind]
    found: list[type[BaseModel]] = []
    for arg in get_args(kind):
        found.extend(_models_in(arg))
    return found


def _is_list(kind: Any) -> bool:
    if get_origin(kind) is list:
        return True
    return any(_is_list(arg) for arg in get_args(kind) if get_origin(kind) in (Union, types.UnionType))


def _is_map(kind: Any) -> bool:
    if get_origin(kind) is Annotated:
        return _is_map(get_args(kind)[0])
    if get_origin(kind) is dict:
        return True
    return any(_is_map(arg) for arg in get_args(kind) if get_origin(kind) in (Union, types.UnionType))


def _harvest(data: Any, prefix: str, found: dict[str, Any]) -> None:
    """The first value the example project gives each key path (``name[]`` for list items, ``name.<name>`` for
    map entries), into ``found``."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            found.setdefault(path, value)
            if isinstance(value, dict):
                _harvest(value, f"{path}.", found)
                for entry in value.values():
                    _harvest(entry, f"{path}.<name>.", found)
            elif isinstance(value, list):
                for item in value:
                    _harvest(item, f"{path}[].", found)


def _example_values(files: list[Path]) -> dict[str, Any]:
    """Key path -> first value, from the example's files, read the way storybook reads them (every scalar as the
    text written)."""
    found: dict[str, Any] = {}
    for path in files:
        _harvest(yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader), "", found)
    return found


def _shown(value: Any) -> str:
    """A value as a short line of YAML."""
    if isinstance(value, list):
        text = "[" + ", ".join(_shown(item) for item in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{key}: {_shown(item)}" for key, item in value.items()) + "}"
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:59].rstrip() + "…"


def _example(path: str, kind: Any, inner: list[type[BaseModel]], found: dict[str, Any]) -> str:
    if inner and not _is_list_of_scalars(kind):
        return "(the keys below)"
    if path in found:
        return f"`{_shown(found[path]).replace('`', chr(39))}`"
    if path not in EXAMPLES:
        raise SystemExit(f"no example for {path}: add one to EXAMPLES in {Path(__file__).name}")
    text = EXAMPLES[path]
    TypeAdapter(kind).validate_python(yaml.load(text, Loader=yaml.BaseLoader))  # a wrong example fails here
    return f"`{text}`"


def _is_list_of_scalars(kind: Any) -> bool:
    return _is_list(kind) and not _models_in(kind)


def rows(model: type[BaseModel], found: dict[str, Any], prefix: str = "") -> list[Row]:
    """One row per key of ``model`` and of every section below it, in the order the model declares them;
    ``found``: the example project's values by key path."""
    table: list[Row] = []
    hints = typing.get_type_hints(model, include_extras=True)
    for name, field in model.model_fields.items():
        kind = hints.get(name, field.annotation)
        path = f"{prefix}{field.alias or name}"
        inner = _models_in(kind)
        what = field.description or (_first_line(inner[0].__doc__) if inner else "")
        table.append((path, _describe(field.annotation, field.metadata), _default(field),
                      _example(path, kind, inner, found), _first_line(what)))
        if len(inner) == 1:
            if _is_map(kind):
                below = f"{path}.<name>."
            elif _is_list(kind):
                below = f"{path}[]."
            else:
                below = f"{path}."
            table.extend(rows(inner[0], found, below))
    return table


def _table(found: list[Row]) -> str:
    lines = ["| Key | Type | Default | Example | What it is |", "|---|---|---|---|---|"]
    for path, kind, default, example, what in found:
        cells = [f"`{path}`", kind, default, example, what]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def render() -> str:
    checks = "\n".join(f"| `{check}` | {title} |" for check, title in CHECK_TITLES.items())
    rubric = "\n".join(f"| `{test.id}` | {test.section} | {test.title} |" for test in RUBRIC)
    project = _example_values([REPO / "storybook.yaml"])
    stories = _example_values(sorted((REPO / "stories").glob("*/story.yaml")))
    return f"""# Reference: the keys of storybook.yaml and story.yaml

Generated from the models that validate them (`storybook/sources/schema/`) by
`.venv/bin/python scripts/schema_reference.py`; do not edit by hand. A key that is not listed here is an error
(with a "did you mean"). `name[]` is a key of each item of the list `name`; `name.<name>` a key of each entry
of the map `name`. Rules that tie keys together (e.g. "give exactly one of alias or version") are checked too
and reported on the key's line. The examples are taken from the bundled example project where it sets the key.

**In your editor.** `storybook schema` writes the JSON Schema of both files into `docs/schema/` (this repository
keeps them at [docs/schema/](schema/), generated by the same script). With the YAML language server (VS Code's
YAML extension, Neovim, Helix, ...) a file that starts with the line below is checked and completed as you type:

```yaml
# yaml-language-server: $schema=docs/schema/storybook.schema.json           (in storybook.yaml)
# yaml-language-server: $schema=../../docs/schema/story.schema.json         (in stories/<slug>/story.yaml)
```

## storybook.yaml (the project)

{_table(rows(ProjectConfig, project))}

## stories/&lt;slug&gt;/story.yaml (one story)

{_table(rows(StoryConfig, stories))}

## Check ids an attestation can cover (`trust.attestations[].check`)

storybook's own checks (an attestation for one of them counts toward its area's trust level):

| Check id | What it checks |
|---|---|
{checks}

The 28 tests of the ML Test Score (Breck et al., 2017), by the ids the trust report's rubric uses:

| Test id | Section | Test |
|---|---|---|
{rubric}
"""


def outputs() -> dict[Path, str]:
    """Every file this script writes, with its text."""
    files = {TARGET: render()}
    for name, file_name in SCHEMA_FILES.items():
        files[SCHEMA_DIR / file_name] = schema_text(name)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is out of date")
    args = parser.parse_args()
    files = outputs()
    if args.check:
        stale = [path for path, text in files.items()
                 if not path.is_file() or path.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"{path.relative_to(REPO)} is out of date: run .venv/bin/python scripts/schema_reference.py",
                  file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
