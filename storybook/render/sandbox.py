"""The sandbox every page template runs in, storybook's own and a project's ``templates/`` alike.

A project's templates arrive in pull requests, so a template is untrusted code: it may read the values it is
given and format them, and nothing else. The environment is Jinja's ``ImmutableSandboxedEnvironment``
(no underscore attributes, no changing lists or dicts), with autoescaping and ``StrictUndefined``, and:

- **Calls**: only methods defined by storybook, Jinja or markupsafe, and methods of plain values (``str``,
  numbers, lists, dicts). A ``pathlib.Path`` or a pydantic class method is not callable.
- **Vocabulary**: storybook's filters and a list of Jinja's that cannot run away (no ``safe``, ``center``,
  ``indent``, ``wordwrap``); the only global is ``range`` (bounded).
- **Compiled once**: a template's compiled code is kept in Jinja's per-user cache folder (``_jinja2-cache-<uid>``
  in the temporary folder, owned by the user and closed to everyone else; never in the project, which a pull
  request could write to), keyed by its file, its source, Jinja's version and this module's text, which decides
  how templates compile: a new process renders without compiling them again (a quarter of a second).
- **Cost**: a template file is at most ``MAX_TEMPLATE_BYTES``; a page at most ``MAX_PAGE_CHARS`` characters;
  ``range`` gives at most ``MAX_RANGE_ITEMS`` items over one page; ``*``, ``**`` and ``%`` refuse results that
  would be larger than a page; ``join``, ``replace`` and ``format`` check the size of their result before
  making it; rendering one page stops after ``MAX_RENDER_SECONDS`` (when rendering on the main thread).

A template that breaks a rule raises :class:`jinja2.sandbox.SecurityError` (a ``TemplateError``);
:func:`template_failure` turns it, or any error raised while a template ran, into a located ``PublishError``
(template file and line).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    pass_environment,
)
from jinja2 import __version__ as jinja_version
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from storybook.errors import Location, PublishError
from storybook.text_controls import CONTROLS

__all__ = [
    "MAX_PAGE_CHARS",
    "MAX_RANGE_ITEMS",
    "MAX_RENDER_SECONDS",
    "MAX_TEMPLATE_BYTES",
    "PageSandbox",
    "template_failure",
]

MAX_TEMPLATE_BYTES = 1_000_000
MAX_PAGE_CHARS = 20_000_000
MAX_RANGE_ITEMS = 100_000
MAX_RENDER_SECONDS = 60.0

# Jinja's filters a template may use; each either shrinks its input or is bounded by it.
_JINJA_FILTERS = (
    "abs", "attr", "batch", "capitalize", "count", "default", "d", "dictsort", "e", "escape", "first", "float",
    "forceescape", "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "slice", "sort", "string",
    "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
    "format",
)
_SAFE_MODULES = ("storybook.", "jinja2.", "markupsafe")
_PLAIN = (str, int, float, bool, tuple, list, dict, set, frozenset, Markup)
# Methods of plain values a template may call: none of them can make a value larger than its input.
_PLAIN_METHODS = frozenset({
    "startswith", "endswith", "upper", "lower", "strip", "lstrip", "rstrip", "split", "rsplit", "title",
    "capitalize", "casefold", "count", "find", "rfind", "index", "rindex", "isdigit", "isalpha", "isalnum",
    "isspace", "isupper", "islower", "isdecimal", "isnumeric", "splitlines", "partition", "rpartition",
    "removeprefix", "removesuffix", "swapcase", "get", "keys", "values", "items", "is_integer",
})
_BRACE_WIDTH = re.compile(r"\{[^{}]*:[^{}]*(\d{4,}|\{)")
_FORMAT_WIDTH = re.compile(r"%[-+ #0]*(\*|\d{4,})|%[-+ #0]*\d*\.(\*|\d{4,})")


class _TooLong(SecurityError):
    pass


def _check_size(size: int, what: str) -> None:
    if size > MAX_PAGE_CHARS:
        raise _TooLong(f"{what} would make {size:,} characters, more than a page may hold ({MAX_PAGE_CHARS:,})")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _join(env: Any, value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    _check_size(sum(len(str(item)) for item in items) + len(str(d)) * max(len(items) - 1, 0), "join")
    return jinja_filters.sync_do_join(env, items, d, attribute)


def _replace(env: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(s), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if count is not None:
        times = min(times, max(count, 0))
    _check_size(len(text) + times * max(len(new) - len(old), 0), "replace")
    return jinja_filters.do_replace(env, s, old, new, count)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    if _FORMAT_WIDTH.search(str(value)):
        raise SecurityError("format: widths and precisions are limited to three digits")
    return jinja_filters.do_format(value, *args, **kwargs)


class _BudgetRange:
    """``range`` with one budget of items for the whole page, so nested loops cannot run away."""

    def __init__(self) -> None:
        self.left = MAX_RANGE_ITEMS

    def __call__(self, *args: int) -> range:
        items = range(*args)
        self.left -= len(items)
        if self.left < 0:
            raise SecurityError(f"range: a page may loop over at most {MAX_RANGE_ITEMS:,} numbers in all")
        return items


class _Timeout(SecurityError):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Stop a render that runs longer than ``seconds``; a no-op off the main thread (signals need it)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Timeout(f"the template took longer than {seconds:g} s to render")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _BoundedLoader(FileSystemLoader):
    """Reads a template only after checking that it is a file inside its folder (a link in a pull request could
    name any file, such as /proc/self/environ, whose text would then be published on the page) and its size."""

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        for root in self.searchpath:
            path = Path(root, *template.split("/"))
            if (path.exists() or path.is_symlink()) and not path.resolve().is_relative_to(Path(root).resolve()):
                raise SecurityError(f"template {template!r} is a link to a file outside its folder {root}; "
                                    "storybook reads templates only from inside it (replace the link with the "
                                    "template itself)")
            if path.is_file() and path.stat().st_size > MAX_TEMPLATE_BYTES:
                raise SecurityError(f"template {template!r} is {path.stat().st_size:,} bytes, more than "
                                    f"{MAX_TEMPLATE_BYTES:,}")
            if path.is_file():
                break
        return super().get_source(environment, template)


def without_controls(text: str) -> str:
    """``text`` without control characters or bidi overrides (tab, newline and carriage return stay)."""
    return CONTROLS.sub("", text)


def _printable(value: Any) -> Any:
    """Every value a page template prints, once: no control characters or bidi overrides reach the page (and
    so the PDF), whether they came from story files, MLflow or the author's rendered Markdown."""
    if isinstance(value, Markup):
        return Markup(without_controls(str(value)))
    if isinstance(value, str):
        return without_controls(value)
    return value


class _CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's per-user cache of compiled templates, with the key also naming what decides how they compile."""

    def __init__(self, salt: str) -> None:
        super().__init__(pattern="storybook-%s.cache")
        self._salt = salt

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self._salt}|{name}", filename)


def _compiled_templates() -> BytecodeCache | None:
    """The cache of compiled page templates; None when there is no private folder for it (then every process
    compiles them: slower, never wrong)."""
    try:
        salt = hashlib.sha256(f"jinja {jinja_version}\n".encode() + Path(__file__).read_bytes()).hexdigest()
        return _CompiledTemplates(salt)
    except (OSError, RuntimeError):
        return None


class PageSandbox(ImmutableSandboxedEnvironment):
    """The page templates' environment (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, search: list[Path]) -> None:
        super().__init__(loader=ChoiceLoader([_BoundedLoader([str(p)]) for p in search]), autoescape=True,
                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=_printable,
                         bytecode_cache=_compiled_templates())
        self.filters = {name: self.filters[name] for name in _JINJA_FILTERS}
        self.filters.update(join=pass_environment(_join), replace=pass_environment(_replace), format=_format)
        self._range = _BudgetRange()
        self.globals = {"range": self._range}

    def concat(self, parts: Iterable[str]) -> str:
        """Render a page (Template.render joins its parts here): bounded in size and time."""
        self._range.left = MAX_RANGE_ITEMS
        size = 0
        out: list[str] = []
        with _time_limit(MAX_RENDER_SECONDS):
            for part in parts:
                size += len(part)
                _check_size(size, "the page")
                out.append(part)
        return "".join(out)

    def is_safe_callable(self, obj: Any) -> bool:
        if not super().is_safe_callable(obj):
            return False
        if isinstance(obj, type):
            return False
        if getattr(obj, "sandboxed_format", False) is True:
            return True
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, _PLAIN) and not hasattr(obj, "__func__"):
            # A builtin method of a plain value ('x'.startswith), from a list that cannot grow a value.
            return getattr(obj, "__name__", "") in _PLAIN_METHODS
        function = getattr(obj, "__func__", obj)
        module = getattr(function, "__module__", None) or ""
        return module.startswith(_SAFE_MODULES) or module == "markupsafe"

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and _BRACE_WIDTH.search(str(value.__self__)):
            def refuse(*args: Any, **kwargs: Any) -> str:
                raise SecurityError("format: widths and precisions are limited to three digits")
            return refuse
        if wrapped is not None:
            wrapped.sandboxed_format = True  # type: ignore[attr-defined]  # Jinja's own sandboxed str.format
        return wrapped

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                length = _sized(sequence)
                if length is not None and isinstance(times, int):
                    _check_size(length * times, "'*'")
        elif operator == "**":
            if isinstance(right, int) and isinstance(left, int) and abs(right) > 64 and abs(left) > 1:
                raise SecurityError("'**': a power may be at most 64")
        elif operator == "%" and isinstance(left, str) and _FORMAT_WIDTH.search(left):
            raise SecurityError("'%': widths and precisions are limited to three digits")
        return super().call_binop(context, operator, left, right)


def _template_line(exc: BaseException, roots: list[Path]) -> Location | None:
    """Where in a template the error was raised: Jinja rewrites tracebacks so template frames carry it."""
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        return Location(Path(exc.filename), exc.lineno)
    found = None
    frame = exc.__traceback__
    while frame is not None:
        name = frame.tb_frame.f_code.co_filename
        if any(name.startswith(os.path.abspath(root) + os.sep) for root in roots):
            found = Location(Path(name), frame.tb_lineno)
        frame = frame.tb_next
    return found


def template_failure(exc: BaseException, what: str, roots: list[Path]) -> PublishError | None:
    """A located PublishError for a template that failed (syntax, a sandbox refusal, a missing value, or any
    error raised while a template ran); None when ``exc`` did not come from a template."""
    where = _template_line(exc, roots)
    if not isinstance(exc, TemplateError | RecursionError) and where is None:
        return None
    if isinstance(exc, RecursionError):
        reason = "it calls itself too deeply"
    elif isinstance(exc, TemplateError):
        reason = str(exc)
    else:
        reason = f"{type(exc).__name__}: {exc}"
    hint = ("templates run in a sandbox: they may read and format the values they are given, nothing more"
            if isinstance(exc, SecurityError) else "check the project's templates/ overrides")
    return PublishError(f"template failed for {what}: {reason}", location=where, hint=hint)
