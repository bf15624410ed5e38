"""Plain JSON data to typed values and back, driven by type hints: the one reader the snapshot and the render
cache share.

Values are frozen dataclasses, dicts, lists, tuples, str (and subclasses such as Markup), bytes (as hex),
numbers, booleans and None. A caller with a type of its own (the snapshot's DataFrames, stored as CSV files)
passes ``special``: it is asked first and returns :data:`NOT_MINE` for types it does not handle.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

__all__ = ["NOT_MINE", "Mismatch", "decode", "encode"]

NOT_MINE: Any = object()
Special = Callable[[Any, Any, str], Any]


class Mismatch(Exception):
    """The data does not fit the type it is read as; ``where`` is the dotted path to it."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where or 'top level'}: {message}")
        self.where = where


DERIVED: dict[str, Any] = {"derived": True}
"""Field metadata of a value worked out from the other fields (e.g. a checked scored set from its frame): never
stored, and read back as its default."""


def stored_fields(value: Any) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of a dataclass value that are stored (all but the derived ones)."""
    return tuple(f for f in dataclasses.fields(value) if not f.metadata.get("derived"))


def encode(value: Any) -> Any:
    """Plain JSON data for a value made of dataclasses, dicts, lists, tuples, str, bytes, numbers and None."""
    if value is None or isinstance(value, bool | int | float | str):
        return str(value) if isinstance(value, str) else value  # str() drops a subclass such as Markup
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in stored_fields(value)}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


@functools.cache
def _init_fields(cls: type[Any]) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """A dataclass's init fields with their resolved types (resolving them is slow: once per class)."""
    hints = typing.get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


def decode(tp: Any, data: Any, where: str = "", special: Special | None = None) -> Any:
    """``data`` read as ``tp``; raises :class:`Mismatch` (with the path to the bad value) when it does not fit.

    A dataclass field missing from the data takes its default (data written before the field existed)."""
    if special is not None:
        found = special(tp, data, where)
        if found is not NOT_MINE:
            return found
    origin = typing.get_origin(tp)
    if tp is Any:
        return data
    if origin in (Union, types.UnionType):
        return _union(typing.get_args(tp), data, where, special)
    if origin is Literal:
        if data not in typing.get_args(tp):
            raise Mismatch(where, f"expected one of {typing.get_args(tp)}, got {data!r}")
        return data
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass(tp, data, where, special)
    if origin is dict:
        key_type, value_type = typing.get_args(tp) or (Any, Any)
        if not isinstance(data, dict):
            raise Mismatch(where, "expected a mapping")
        return {decode(key_type, k, f"{where}.{k}", special): decode(value_type, v, f"{where}.{k}", special)
                for k, v in data.items()}
    if origin in (list, tuple):
        return _sequence(origin, typing.get_args(tp), data, where, special)
    return _scalar(tp, data, where)


def _union(args: tuple[Any, ...], data: Any, where: str, special: Special | None) -> Any:
    if data is None and type(None) in args:
        return None
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return decode(arg, data, where, special)
        except Mismatch as exc:
            errors.append(exc)
    raise errors[0] if errors else Mismatch(where, "unexpected null")


def _dataclass(cls: Any, data: Any, where: str, special: Special | None) -> Any:
    if not isinstance(data, dict):
        raise Mismatch(where, f"expected a mapping for {cls.__name__}")
    values: dict[str, Any] = {}
    for field, hint in _init_fields(cls):
        inner = f"{where}.{field.name}" if where else field.name
        if field.name not in data:
            if field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING:
                continue
            raise Mismatch(inner, "missing (written by an older storybook)")
        values[field.name] = decode(hint, data[field.name], inner, special)
    return cls(**values)


def _sequence(origin: Any, args: tuple[Any, ...], data: Any, where: str, special: Special | None) -> Any:
    if not isinstance(data, list):
        raise Mismatch(where, "expected a list")
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(data):
            raise Mismatch(where, f"expected {len(args)} items")
        return tuple(decode(a, d, f"{where}.{i}", special) for i, (a, d) in enumerate(zip(args, data, strict=True)))
    item_type = args[0] if args else Any
    items = [decode(item_type, item, f"{where}.{i}", special) for i, item in enumerate(data)]
    return tuple(items) if origin is tuple else items


def _scalar(tp: Any, data: Any, where: str) -> Any:
    if tp is float:
        if isinstance(data, str) and data in ("nan", "inf", "-inf"):
            return float(data)
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise Mismatch(where, f"expected a number, got {data!r}")
        return float(data)
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise Mismatch(where, f"expected a whole number, got {data!r}")
        return data
    if tp is bool:
        if not isinstance(data, bool):
            raise Mismatch(where, f"expected true or false, got {data!r}")
        return data
    if tp is bytes:
        if not isinstance(data, str):
            raise Mismatch(where, "expected hex text")
        try:
            return bytes.fromhex(data)
        except ValueError:
            raise Mismatch(where, "expected hex text") from None
    if isinstance(tp, type) and issubclass(tp, str):
        if not isinstance(data, str):
            raise Mismatch(where, f"expected text, got {data!r}")
        return tp(data)
    raise Mismatch(where, f"cannot read a value of type {tp!r}")
