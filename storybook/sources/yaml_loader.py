"""Load YAML safely and remember the line of every key, so schema errors can point at file:line.

Only plain data is accepted: mappings, sequences and scalars. Every scalar stays a string (or None for an
empty value / ``null`` / ``~``); the pydantic schema decides its type. That keeps ``NO`` a string where a
string is expected (the "Norway problem"), ``3.10`` from becoming ``3.1`` and dates from becoming dates.
Duplicate keys, tags and oversized or alias-bomb documents are errors, not silent surprises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from storybook.errors import Location, SourceError
from storybook.files import FileTooLarge, read_at_most

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_YAML_BYTES", "KeyPath", "LoadedYaml", "load_yaml", "parse_yaml"]

MAX_YAML_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64
_NULLS = {"", "~", "null", "Null", "NULL"}
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
# Tags the resolver gives plain scalars such as '<<' and '='; as values they are just text.
_IMPLICIT_SCALAR_TAGS = {"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"}

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedYaml:
    """A YAML document as plain data, with the line (1-based) where each key path starts."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def location(self, key_path: KeyPath) -> Location:
        """The location of ``key_path``, or of its nearest ancestor that has one."""
        for end in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return Location(self.path, line)
        return Location(self.path, 1)


def load_yaml(path: Path) -> LoadedYaml:
    """Read and parse ``path``; every problem becomes a located :class:`SourceError`."""
    try:
        raw = read_at_most(path, MAX_YAML_BYTES)  # its size is checked before it is read
    except FileNotFoundError:
        raise SourceError("file not found", location=Location(path)) from None
    except FileTooLarge as exc:
        raise SourceError(
            f"file is {exc.size:,} bytes; story files may be at most {MAX_YAML_BYTES:,}",
            location=Location(path), hint="move large data into MLflow artifacts and refer to them",
        ) from None
    except OSError as exc:
        raise SourceError(f"cannot read file ({exc.strerror or exc})", location=Location(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not valid UTF-8 (byte {exc.start})",
                          location=Location(path, raw.count(b"\n", 0, exc.start) + 1),
                          hint="save the file as UTF-8") from None
    return parse_yaml(text, path)


class _DepthLimitedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer refuses documents nested deeper than MAX_DEPTH (instead of overflowing
    Python's stack), naming the line where the limit was passed."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
                raise ComposerError(None, None, f"values are nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(text: str, path: Path) -> LoadedYaml:
    """Parse YAML text that came from ``path`` (used in messages only)."""
    try:
        root = yaml.compose(text, Loader=_DepthLimitedLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problem = exc.problem or "invalid YAML"
        raise SourceError(f"invalid YAML: {problem}", location=Location(path, line),
                          hint="check indentation and quoting around this line") from None
    except (yaml.YAMLError, ValueError) as exc:
        raise SourceError(f"invalid YAML: {exc}", location=Location(path)) from None
    builder = _Builder(path)
    data = builder.build(root, ()) if root is not None else None
    return LoadedYaml(path=path, data=data, lines=builder.lines)


class _Builder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[KeyPath, int] = {}
        self.visited = 0
        self.open: set[int] = set()  # ids of the collections being built, to spot an alias to its own parent

    def build(self, node: Node, key_path: KeyPath) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise SourceError(
                f"document expands to more than {MAX_NODES:,} values (too many aliases or entries)",
                location=self._loc(node), hint="write the values out instead of repeating anchors",
            )
        self.lines.setdefault(key_path, node.start_mark.line + 1)
        self._check_tag(node)
        if isinstance(node, ScalarNode):
            if node.style is None and node.value in _NULLS:
                return None
            return node.value
        if id(node) in self.open:
            raise SourceError("an alias refers to the value that contains it", location=self._loc(node),
                              hint="write the values out instead of using an anchor inside itself")
        self.open.add(id(node))
        try:
            return self._build_collection(node, key_path)
        finally:
            self.open.discard(id(node))

    def _build_collection(self, node: Node, key_path: KeyPath) -> Any:
        if isinstance(node, SequenceNode):
            return [self.build(item, (*key_path, index)) for index, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise SourceError("keys must be plain words", location=self._loc(key_node))
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise SourceError("merge keys (<<) are not supported", location=self._loc(key_node),
                                      hint="write the keys out")
                self._check_tag(key_node)
                key = key_node.value
                if key in result:
                    first = self.lines.get((*key_path, key))
                    raise SourceError(
                        f"duplicate key {key!r} (first set on line {first})", location=self._loc(key_node),
                        hint="keep one of them; YAML would silently use the last",
                    )
                self.lines[(*key_path, key)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, (*key_path, key))
            return result
        raise SourceError("unsupported YAML node", location=self._loc(node))  # pragma: no cover

    def _check_tag(self, node: Node) -> None:
        # Only the core schema's own tags: '!!python/object', '!!binary', '!!set', '!custom' and the like are
        # refused, whether the tag was written out or not.
        if node.tag in _PLAIN_TAGS or (isinstance(node, ScalarNode) and node.tag in _IMPLICIT_SCALAR_TAGS):
            return
        raise SourceError(f"YAML tag {node.tag!r} is not allowed", location=self._loc(node),
                          hint="remove the tag; story files hold plain values only")

    def _loc(self, node: Node) -> Location:
        return Location(self.path, node.start_mark.line + 1)
