"""The YAML loader: plain data only, every scalar a string, every key with its line, every problem located."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storybook.errors import Location, SourceError
from storybook.sources.yaml_loader import MAX_DEPTH, MAX_NODES, MAX_YAML_BYTES, load_yaml, parse_yaml

PATH = Path("stories/demo/story.yaml")


def parse(text: str) -> object:
    return parse_yaml(text, PATH).data


def refused(text: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        parse_yaml(text, PATH)
    return caught.value


def test_lines_are_recorded_for_every_key_path() -> None:
    text = (
        "title: Demo\n"          # 1
        "model:\n"               # 2
        "  name: churn\n"        # 3
        "  alias: champion\n"    # 4
        "metrics:\n"             # 5
        "  - key: recall\n"      # 6
        "    label: Found\n"     # 7
        "  - key: precision\n"   # 8
    )
    loaded = parse_yaml(text, PATH)
    assert loaded.lines[("title",)] == 1
    assert loaded.lines[("model",)] == 2
    assert loaded.lines[("model", "name")] == 3
    assert loaded.lines[("model", "alias")] == 4
    assert loaded.lines[("metrics", 0)] == 6
    assert loaded.lines[("metrics", 0, "label")] == 7
    assert loaded.lines[("metrics", 1, "key")] == 8


def test_location_falls_back_to_the_nearest_ancestor() -> None:
    loaded = parse_yaml("a: 1\nmodel:\n  name: x\n", PATH)
    assert loaded.location(("model", "version")).line == 2
    assert loaded.location(("nowhere", "deeper")).line == 1
    assert loaded.location(("model", "name")).path == PATH


def test_duplicate_key_is_a_located_error_naming_both_lines() -> None:
    error = refused("title: A\nsummary: s\ntitle: B\n")
    assert error.location is not None and error.location.line == 3
    assert "duplicate key 'title'" in error.message
    assert "line 1" in error.message


def test_duplicate_key_in_a_nested_mapping() -> None:
    error = refused("model:\n  name: a\n  alias: x\n  name: b\n")
    assert error.location is not None and error.location.line == 4


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system {x: 1}\n",
        "a: !!python/object/apply:os.system ['echo hi']\n",
        "a: !!python/name:os.system\n",
        "a: !foo bar\n",
        "a: !foo\n  b: 1\n",
        "!foo a: 1\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x, y}\n",
    ],
)
def test_tags_are_refused_with_their_line(text: str) -> None:
    error = refused(text)
    assert "tag" in error.message
    assert error.location is not None and error.location.line == 1


def test_tag_on_a_later_line_is_located_there() -> None:
    error = refused("a: 1\nb:\n  c: !!python/tuple [1, 2]\n")
    assert error.location is not None and error.location.line == 3


def test_core_schema_tags_and_implicit_scalars_are_plain_text() -> None:
    assert parse("a: !!str 3.10\nb: !!int 7\nc: =\nd: <<\n") == {"a": "3.10", "b": "7", "c": "=", "d": "<<"}


def test_merge_keys_are_refused() -> None:
    error = refused("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert "merge" in error.message
    assert error.location is not None and error.location.line == 3


def _billion_laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly_with_a_location() -> None:
    started = time.perf_counter()
    error = refused(_billion_laughs())
    # Refused before expanding: a billion nodes expanded would take hours, so a generous bound cannot flake on a
    # loaded machine and still fails an unbounded loader (the speed itself belongs in a benchmark).
    assert time.perf_counter() - started < 30.0
    assert f"{MAX_NODES:,}" in error.message
    assert error.location is not None and error.location.path == PATH and error.location.line is not None


def test_small_aliases_still_work() -> None:
    assert parse("a: &x {b: 1}\nc: *x\nd: [*x]\n") == {"a": {"b": "1"}, "c": {"b": "1"}, "d": [{"b": "1"}]}


@pytest.mark.parametrize("text", ["a: &x [*x]\n", "a: &x {b: *x}\n", "a: &x\n  - 1\n  - [*x]\n"])
def test_alias_to_its_own_parent_is_refused(text: str) -> None:
    error = refused(text)
    assert "alias" in error.message
    assert error.location is not None and error.location.line is not None


@pytest.mark.parametrize(
    "text", ["[" * 5000 + "]" * 5000, "- " * 3000 + "x\n", "a: " + "{b: " * 2000 + "1" + "}" * 2000])
def test_deep_nesting_is_refused_not_a_recursion_error(text: str) -> None:
    error = refused(text)
    assert "nested" in error.message
    assert error.location is not None and error.location.line == 1


def test_nesting_just_under_the_limit_loads() -> None:
    depth = MAX_DEPTH - 1
    data = parse("[" * depth + "x" + "]" * depth)
    for _ in range(depth):
        assert isinstance(data, list)
        data = data[0]
    assert data == "x"


def test_norway_version_and_dates_stay_strings() -> None:
    data = parse("country: NO\nanswer: yes\nflag: off\nversion: 3.10\nwhen: 2024-01-31\n"
                 "stamp: 2001-12-14t21:59:43.10-05:00\ncount: 010\nhex: 0x1F\nsexagesimal: 1:20\n")
    assert data == {
        "country": "NO", "answer": "yes", "flag": "off", "version": "3.10", "when": "2024-01-31",
        "stamp": "2001-12-14t21:59:43.10-05:00", "count": "010", "hex": "0x1F", "sexagesimal": "1:20",
    }


@pytest.mark.parametrize("value", ["", "~", "null", "Null", "NULL"])
def test_nulls_become_none(value: str) -> None:
    assert parse(f"a: {value}\n") == {"a": None}


@pytest.mark.parametrize("value", ['"null"', "'null'", '"~"', "''", '""'])
def test_quoted_nulls_stay_strings(value: str) -> None:
    assert parse(f"a: {value}\n") == {"a": value[1:-1]}


def test_empty_document_is_none() -> None:
    assert parse("") is None
    assert parse("# only a comment\n") is None


def test_invalid_yaml_gives_the_line() -> None:
    error = refused("title: ok\nsummary: fine\nmodel: [unclosed\nowner: x\n")
    assert error.message.startswith("invalid YAML")
    assert error.location is not None and error.location.line is not None and error.location.line >= 3
    assert error.hint is not None


def test_bad_indentation_gives_its_line() -> None:
    error = refused("a:\n  b: 1\n c: 2\n")
    assert error.location is not None and error.location.line == 3


def test_non_string_keys_are_refused() -> None:
    error = refused("? [a, b]\n: 1\n")
    assert "keys" in error.message


def test_load_yaml_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    path.write_text("title: Demo\n", encoding="utf-8")
    loaded = load_yaml(path)
    assert loaded.data == {"title": "Demo"}
    assert loaded.path == path


def test_non_utf8_bytes_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    path.write_bytes(b"title: ok\nsummary: caf\xe9\n")  # 10 + 12 bytes precede it: byte 22 (0-based), line 2
    with pytest.raises(SourceError) as caught:
        load_yaml(path)
    assert "UTF-8" in caught.value.message
    assert "byte 22" in caught.value.message
    assert caught.value.location == Location(path, 2)
    assert caught.value.hint is not None


def test_oversized_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    path.write_bytes(b"#" * (MAX_YAML_BYTES + 1))
    with pytest.raises(SourceError) as caught:
        load_yaml(path)
    assert f"{MAX_YAML_BYTES:,}" in caught.value.message
    assert caught.value.hint is not None


def test_missing_file_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found"):
        load_yaml(tmp_path / "nope.yaml")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read file"):
        load_yaml(tmp_path)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_or_raises_source_error(text: str) -> None:
    try:
        loaded = parse_yaml(text, PATH)
    except SourceError as error:
        assert error.location is not None and error.location.path == PATH
    else:
        assert loaded.path == PATH


YAMLISH = st.lists(
    st.sampled_from(["a", "b", ":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "!!str ", "!t ", "?",
                     "'", '"', "#", "|", ">", "~", "null", "<<", "%YAML 1.1\n", "---\n", "...\n", "\t", "1.0", "NO"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_yamlish_text_parses_or_raises_source_error(text: str) -> None:
    try:
        loaded = parse_yaml(text, PATH)
    except SourceError as error:
        assert error.location is not None and error.location.path == PATH
    else:
        assert all(isinstance(line, int) and line >= 1 for line in loaded.lines.values())
