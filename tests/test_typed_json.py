"""storybook.typed_json: typed values to plain JSON data and back (the reader the snapshot and the render cache
share); data that does not fit its type is refused with the dotted path to the bad value."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from markupsafe import Markup

from storybook.typed_json import NOT_MINE, Mismatch, decode, encode


@dataclass(frozen=True)
class Point:
    step: int
    value: float


@dataclass(frozen=True)
class Record:
    name: str
    kind: Literal["metric", "param"]
    points: tuple[Point, ...]
    tags: dict[str, str]
    digest: bytes
    pair: tuple[int, str]
    note: str | None = None
    flags: list[bool] = field(default_factory=list)


RECORD = Record(name="recall", kind="metric", points=(Point(0, 0.5), Point(1, math.inf)), tags={"team": "a"},
                digest=b"\x00\xff", pair=(3, "x"), note=None, flags=[True, False])


def test_a_record_goes_to_plain_json_and_comes_back_equal() -> None:
    data = encode(RECORD)
    assert data == {"name": "recall", "kind": "metric", "points": [{"step": 0, "value": 0.5},
                                                                  {"step": 1, "value": math.inf}],
                    "tags": {"team": "a"}, "digest": "00ff", "pair": [3, "x"], "note": None, "flags": [True, False]}
    assert decode(Record, json.loads(json.dumps(data))) == RECORD


def test_a_str_subclass_is_stored_as_plain_text_and_read_back_as_its_type() -> None:
    stored = encode(Markup("<b>x</b>"))
    assert type(stored) is str and stored == "<b>x</b>"
    assert type(decode(Markup, stored)) is Markup


def test_nan_and_infinities_written_as_text_are_read_as_numbers() -> None:
    assert math.isnan(decode(float, "nan"))
    assert decode(float, "-inf") == -math.inf
    assert decode(float, 2) == 2.0 and type(decode(float, 2)) is float


def test_a_field_missing_from_old_data_takes_its_default_and_a_required_one_is_refused() -> None:
    data = encode(RECORD)
    del data["note"], data["flags"]
    assert decode(Record, data) == Record(**{**RECORD.__dict__, "note": None, "flags": []})
    del data["pair"]
    with pytest.raises(Mismatch) as error:
        decode(Record, data)
    assert error.value.where == "pair" and str(error.value) == "pair: missing (written by an older storybook)"


@pytest.mark.parametrize(("path", "bad", "message"), [
    (("points", 1, "step"), True, "points.1.step: expected a whole number, got True"),  # a bool is no int
    (("points", 0, "value"), "0.5", "points.0.value: expected a number, got '0.5'"),
    (("kind",), "tag", "kind: expected one of ('metric', 'param'), got 'tag'"),
    (("digest",), "zz", "digest: expected hex text"),
    (("pair",), [3], "pair: expected 2 items"),
    (("tags",), ["team"], "tags: expected a mapping"),
    (("flags", 0), 1, "flags.0: expected true or false, got 1"),
    (("name",), 7, "name: expected text, got 7"),
])
def test_data_that_does_not_fit_names_the_path_to_the_bad_value(path: tuple[Any, ...], bad: Any,
                                                                 message: str) -> None:
    data = encode(RECORD)
    holder = data
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = bad
    with pytest.raises(Mismatch) as error:
        decode(Record, data)
    assert str(error.value) == message


def test_top_level_mismatches_say_top_level() -> None:
    with pytest.raises(Mismatch, match=r"^top level: expected a mapping for Record$"):
        decode(Record, [1, 2])


def test_encode_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="cannot store a set as JSON"):
        encode({"a": {1, 2}})


def test_a_special_reader_is_asked_first_and_may_decline() -> None:
    seen: list[str] = []

    def special(tp: Any, data: Any, where: str) -> Any:
        seen.append(where)
        if tp is int and where.endswith("step"):
            return data * 10  # this reader owns the steps
        return NOT_MINE

    back = decode(Record, encode(RECORD), special=special)
    assert [p.step for p in back.points] == [0, 10]
    assert back.points[1].value == math.inf  # declined: read as usual
    assert "points.1.step" in seen and "name" in seen


def test_a_derived_field_is_never_stored_and_reads_back_as_its_default() -> None:
    import dataclasses

    from storybook.typed_json import DERIVED, decode, encode

    @dataclasses.dataclass(frozen=True)
    class Held:
        frame: list[int]
        checked: tuple[int, ...] | None = dataclasses.field(default=None, metadata=DERIVED)

    stored = encode(Held(frame=[1, 2], checked=(1, 2)))
    assert stored == {"frame": [1, 2]}
    assert decode(Held, stored) == Held(frame=[1, 2], checked=None)
