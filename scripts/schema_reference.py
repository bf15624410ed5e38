"""Write docs/story-keys.md: every key of storybook.yaml and story.yaml, from the pydantic models that validate them.

    .venv/bin/python scripts/schema_reference.py           # write docs/story-keys.md
    .venv/bin/python scripts/schema_reference.py --check   # exit 1 if the committed file is out of date

The reference is never edited by hand: a key added to storybook/sources/schema/ appears after a re-run, with its
type, default and the ``description`` its Field gives (else its model's docstring). tests/test_schema_reference.py
fails while the committed file differs from what this script writes.
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
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "story-keys.md"
sys.path.insert(0, str(REPO))

from storybook.analyse.trust import RUBRIC  # noqa: E402
from storybook.analyse.trust_checks.evidence import CHECK_TITLES  # noqa: E402
from storybook.sources.schema import ProjectConfig, StoryConfig  # noqa: E402

Row = tuple[str, str, str, str]  # key path, type, default, what it is


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


def rows(model: type[BaseModel], prefix: str = "") -> list[Row]:
    """One row per key of ``model`` and of every section below it, in the order the model declares them."""
    found: list[Row] = []
    hints = typing.get_type_hints(model, include_extras=True)
    for name, field in model.model_fields.items():
        kind = hints.get(name, field.annotation)
        path = f"{prefix}{field.alias or name}"
        inner = _models_in(kind)
        what = field.description or (_first_line(inner[0].__doc__) if inner else "")
        found.append((path, _describe(field.annotation, field.metadata), _default(field), _first_line(what)))
        if len(inner) == 1:
            if _is_map(kind):
                below = f"{path}.<name>."
            elif _is_list(kind):
                below = f"{path}[]."
            else:
                below = f"{path}."
            found.extend(rows(inner[0], below))
    return found


def _table(found: list[Row]) -> str:
    lines = ["| Key | Type | Default | What it is |", "|---|---|---|---|"]
    for path, kind, default, what in found:
        cells = [f"`{path}`", kind, default, what]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def render() -> str:
    checks = "\n".join(f"| `{check}` | {title} |" for check, title in CHECK_TITLES.items())
    rubric = "\n".join(f"| `{test.id}` | {test.section} | {test.title} |" for test in RUBRIC)
    return f"""# Keys of storybook.yaml and story.yaml

Generated from the models that validate them (`storybook/sources/schema/`) by
`.venv/bin/python scripts/schema_reference.py`; do not edit by hand. A key that is not listed here is an error
(with a "did you mean"). `name[]` is a key of each item of the list `name`; `name.<name>` a key of each entry
of the map `name`. Rules that tie keys together (e.g. "give exactly one of alias or version") are checked too
and reported on the key's line.

## storybook.yaml (the project)

{_table(rows(ProjectConfig))}

## stories/&lt;slug&gt;/story.yaml (one story)

{_table(rows(StoryConfig))}

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/story-keys.md is out of date")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if current != text:
            print(f"{TARGET.relative_to(REPO)} is out of date: run .venv/bin/python scripts/schema_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
