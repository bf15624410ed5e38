"""The ``{{ ... }}`` expressions story authors write in Markdown, evaluated in a small sandbox.

Authors may write only output expressions built from a fixed vocabulary::

    {{ metric("test_recall") | percent }}     a metric logged on the story's run
    {{ param("C") }}  {{ tag("team") }}         a param or tag of the run
    {{ claim("recall-held") }}                  a claim from story.yaml, checked against the data
    {{ model.name }} {{ model.version }} {{ model.alias }} {{ model.run_id }}
    {{ evaluation.size | count }} {{ evaluation.positives | count }} {{ evaluation.negatives | count }}
    {{ evaluation.flagged | count }}

``evaluation.size`` exists for a story with a scored evaluation set; ``positives``, ``negatives`` and ``flagged``
only for a binary one (a multiclass or regression set has no positives, so asking for them is refused like any
unknown name, never told as 0).

Filters: percent(digits=0), number(digits=2), count, date. Nothing else parses: no statements, loops,
arithmetic, attribute walking, or other filters. Each expression is checked against the template's syntax
tree before anything runs, so every refusal points at its line. A figure renders as a Markdown link to its
provenance (run, metric key, step, time), one click from the number.

Params, tags and the model's name, alias and run come from MLflow, where anyone with access writes them: they
are text, never markup. Each is put into the author's Markdown with every ASCII punctuation character
backslash-escaped (no link, emphasis, HTML tag or entity can start inside it) and on one line (control
characters and line breaks become spaces), so it reads on the page exactly as it was logged.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from storybook.analyse.plain import format_count, format_date, format_number, format_percent
from storybook.errors import ExpressionError, Location, ReferenceNotFound
from storybook.metrics.kinds import Task
from storybook.resolve.figures import Figure, Provenance
from storybook.text_controls import BREAKS, CONTROLS

if TYPE_CHECKING:
    from storybook.resolve.resolved import ResolvedStory

__all__ = ["EVALUATION_FIELDS", "FUNCTIONS", "MODEL_FIELDS", "Reference", "Vocabulary", "as_text", "available_names",
           "evaluation_fields",
           "find_references", "provenance_anchor", "render_expressions", "unknown_references"]

FUNCTIONS = ("metric", "param", "tag", "claim")
FILTERS = ("percent", "number", "count", "date")
MAX_SOURCE = 200_000
MAX_OUTPUT = 1_000_000
MAX_NESTING = 16  # filters applied to filters etc.; real expressions need three or four levels
MAX_KEY = 250
_DIGITS_FILTERS = ("percent", "number")
MODEL_FIELDS = ("name", "version", "alias", "run_id")  # model.<field>
EVALUATION_FIELDS = ("size", "positives", "negatives", "flagged")  # evaluation.<field> of a binary story


def evaluation_fields(task: Task | None) -> tuple[str, ...]:
    """The ``evaluation.<field>`` names of a story of ``task`` (None: the story names no scored evaluation set)."""
    if task is None:
        return ()
    return EVALUATION_FIELDS if task == "binary" else ("size",)


@dataclass(frozen=True)
class Reference:
    """A value an expression asks for, e.g. metric 'test_recall' on line 4."""

    function: str
    key: str
    line: int


@dataclass(frozen=True)
class Vocabulary:
    """The values an author may reach."""

    metrics: Mapping[str, Figure]
    params: Mapping[str, str]
    tags: Mapping[str, str]
    model: Mapping[str, str]
    evaluation: Mapping[str, int]
    claims: Mapping[str, str] = field(default_factory=dict)  # claim id -> its Markdown (text and check mark)

    def names(self) -> dict[str, Collection[str]]:
        """What each function and name of an expression may ask for."""
        return {"metric": self.metrics.keys(), "param": self.params.keys(), "tag": self.tags.keys(),
                "model": self.model.keys(), "evaluation": self.evaluation.keys(), "claim": self.claims.keys()}


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def as_text(value: str) -> str:
    """A value from MLflow as Markdown that renders as the value itself: one line, no markup, no control
    characters (nor bidi overrides, which reorder the text around them)."""
    return _PUNCTUATION.sub(r"\\\1", CONTROLS.sub("", BREAKS.sub(" ", value)))


def provenance_anchor(provenance: Provenance) -> str:
    return "prov-" + re.sub(r"[^a-z0-9]+", "-", f"{provenance.kind}-{provenance.key}".lower()).strip("-")


class _Shown:
    """A figure on its way to the page: the formatted text plus a link to where it came from."""

    def __init__(self, text: str, figure: Figure) -> None:
        self.text = text
        self.figure = figure

    def __str__(self) -> str:
        p = self.figure.provenance
        step = f", step {p.step}" if p.step is not None else ""
        when = f", logged {format_date(p.timestamp_ms)}" if p.timestamp_ms else ""
        title = f"{p.kind} {p.key} of run {p.run_id[:12]}{step}{when}".replace('"', "'")
        return f'[{self.text}](#{provenance_anchor(p)} "{title}")'


def _value(item: Any) -> tuple[float, Figure | None]:
    if isinstance(item, Figure):
        return item.value, item
    if isinstance(item, _Shown):
        return item.figure.value, item.figure
    if isinstance(item, bool) or not isinstance(item, int | float):
        raise ExpressionError(f"expected a number, got {item!r}")
    return float(item), None


def _shown(item: Any, text: Callable[[float], str]) -> Any:
    value, figure = _value(item)
    return _Shown(text(value), figure) if figure is not None else text(value)


def _percent(item: Any, digits: int = 0) -> Any:
    return _shown(item, lambda v: format_percent(v, _digits(digits)))


def _number(item: Any, digits: int = 2) -> Any:
    return _shown(item, lambda v: format_number(v, _digits(digits)))


def _count(item: Any) -> Any:
    return _shown(item, format_count)


def _date(item: Any) -> str:
    value, _ = _value(item)
    return format_date(int(value))


def _digits(digits: Any) -> int:
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 6:
        raise ExpressionError("digits must be a whole number from 0 to 6")
    return digits


def _finalize(item: Any) -> Any:
    if isinstance(item, Figure):
        return _Shown(f"{item.value:,.3g}", item)
    return item


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_finalize,
                                        keep_trailing_newline=True)
    env.filters = {"percent": _percent, "number": _number, "count": _count, "date": _date}
    env.tests = {}
    env.globals = {}
    return env


_ENV = _environment()


def _check(node: nodes.Node, path: Location, depth: int = 0) -> None:
    """Refuse any syntax outside the vocabulary, naming the line."""
    where = Location(path.path, (path.line or 1) + (node.lineno or 1) - 1)
    if depth > MAX_NESTING:
        raise ExpressionError(f"expression is nested more than {MAX_NESTING} levels deep", location=where,
                              hint='write e.g. {{ metric("accuracy") | percent }}')
    if isinstance(node, nodes.Template | nodes.Output | nodes.TemplateData):
        pass
    elif isinstance(node, nodes.Const):
        if not isinstance(node.value, str | int | float) or isinstance(node.value, bool):
            raise ExpressionError("only text and numbers may be written as values", location=where)
        if isinstance(node.value, str) and len(node.value) > MAX_KEY:
            raise ExpressionError(f"a key may be at most {MAX_KEY} characters", location=where)
    elif isinstance(node, nodes.Name):
        if node.name not in ("model", "evaluation"):
            raise ExpressionError(
                f"unknown name {node.name!r}", location=where,
                hint="use metric(\"key\"), param(\"key\"), tag(\"key\"), model.<field> or evaluation.<field>")
    elif isinstance(node, nodes.Getattr):
        if not isinstance(node.node, nodes.Name):
            raise ExpressionError("only model.<field> and evaluation.<field> may use a dot", location=where)
    elif isinstance(node, nodes.Call):
        if not isinstance(node.node, nodes.Name) or node.node.name not in FUNCTIONS:
            raise ExpressionError("only metric(...), param(...), tag(...) and claim(...) may be called",
                                  location=where)
        if node.kwargs or node.dyn_args or node.dyn_kwargs or len(node.args) != 1 or not (
                isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)):
            raise ExpressionError(f'{node.node.name}() takes one quoted key, e.g. {node.node.name}("accuracy")',
                                  location=where)
        if len(node.args[0].value) > MAX_KEY:
            raise ExpressionError(f"a key may be at most {MAX_KEY} characters", location=where)
        return  # the callee name is not a free variable
    elif isinstance(node, nodes.Filter):
        if node.name not in FILTERS:
            raise ExpressionError(f"unknown filter {node.name!r}", location=where,
                                  hint=f"filters: {', '.join(FILTERS)}")
        _check_filter_arguments(node, where)
    elif isinstance(node, nodes.Keyword):
        pass
    else:
        kind = type(node).__name__
        raise ExpressionError(
            f"{kind} is not allowed in a story; only {{{{ value | filter }}}} expressions are",
            location=where, hint='write e.g. {{ metric("accuracy") | percent }}; move logic into story.yaml')
    for child in node.iter_child_nodes():
        _check(child, path, depth + 1)


def _check_filter_arguments(node: nodes.Filter, where: Location) -> None:
    """percent and number take digits (a whole number written out, 0 to 6); count and date take nothing."""
    if node.name not in _DIGITS_FILTERS:
        if node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise ExpressionError(f"filter {node.name!r} takes no argument", location=where)
        return
    if node.dyn_args or node.dyn_kwargs or len(node.args) + len(node.kwargs) > 1:
        raise ExpressionError(f"filter {node.name!r} takes at most one argument (digits)", location=where)
    if node.kwargs and node.kwargs[0].key != "digits":
        raise ExpressionError(f"filter {node.name!r} has no argument {node.kwargs[0].key!r}", location=where,
                              hint=f"write {node.name}(1) or {node.name}(digits=1)")
    arguments = [*node.args, *(keyword.value for keyword in node.kwargs)]
    for argument in arguments:
        value = argument.value if isinstance(argument, nodes.Const) else None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 6:
            raise ExpressionError("digits must be a whole number from 0 to 6", location=where,
                                  hint=f"write e.g. {node.name}(1)")


def _parse(text: str, where: Location) -> nodes.Template:
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"text is longer than {MAX_SOURCE:,} characters", location=where)
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        line = (where.line or 1) + (exc.lineno or 1) - 1
        raise ExpressionError(f"expression syntax: {exc.message}", location=Location(where.path, line),
                              hint='write e.g. {{ metric("accuracy") | percent }}') from None
    except RecursionError:
        raise ExpressionError("an expression is nested too deeply to read", location=where,
                              hint='write e.g. {{ metric("accuracy") | percent }}') from None
    except ValueError:  # the lexer refuses integers with thousands of digits
        raise ExpressionError("a number in an expression is too long to read", location=where) from None
    _check(tree, where)
    return tree


def find_references(text: str, where: Location) -> list[Reference]:
    """Every metric(), param(), tag() and claim() the text asks for, with its line; refuses what is not allowed."""
    tree = _parse(text, where)
    found = []
    for call in tree.find_all(nodes.Call):
        assert isinstance(call.node, nodes.Name) and isinstance(call.args[0], nodes.Const)
        found.append(Reference(call.node.name, str(call.args[0].value), (where.line or 1) + call.lineno - 1))
    for attribute in tree.find_all(nodes.Getattr):
        assert isinstance(attribute.node, nodes.Name)
        found.append(Reference(attribute.node.name, attribute.attr, (where.line or 1) + attribute.lineno - 1))
    return found


def available_names(resolved: ResolvedStory | None, claim_ids: Iterable[str],
                    task: Task | None = "binary") -> dict[str, Collection[str]]:
    """What a story's expressions may ask for before its page is built (``storybook check``): the model's and
    the evaluation's fields (those of the story's ``task``; None: no scored evaluation set), the story's claims,
    and, when its values are at hand, the run's metrics, params and tags (the names the page's
    :class:`Vocabulary` holds)."""
    names: dict[str, Collection[str]] = {"model": MODEL_FIELDS, "evaluation": evaluation_fields(task),
                                         "claim": set(claim_ids)}
    if resolved is not None:
        names.update(metric=resolved.run.metrics.keys(), param=resolved.run.params.keys(),
                     tag={key for key in resolved.run.tags if not key.startswith("mlflow.")})
    return names


def unknown_references(references: Iterable[Reference], path: Path,
                       names: Mapping[str, Collection[str]]) -> list[ReferenceNotFound]:
    """The one check of what expressions ask for, made by the build (:func:`render_expressions`) and by
    ``storybook check`` alike: each reference to a name the story lacks, located on its line, with the closest
    name or those available. A function ``names`` leaves out (values not at hand) is not checked."""
    missing = []
    for ref in references:
        known = names.get(ref.function)
        if known is None or ref.key in known:
            continue
        close = difflib.get_close_matches(ref.key, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"available: {', '.join(sorted(known)[:12]) or 'none'}"
        missing.append(ReferenceNotFound(f"{ref.function} {ref.key!r} is not available to this story",
                                         location=Location(path, ref.line), hint=hint))
    return missing


def render_expressions(text: str, where: Location, values: Vocabulary) -> str:
    """Evaluate every expression in ``text``; unknown keys are located errors."""
    missing = unknown_references(find_references(text, where), where.path, values.names())
    if missing:
        raise missing[0]
    context = {
        "metric": lambda key: values.metrics[key],
        "param": lambda key: as_text(values.params[key]),
        "tag": lambda key: as_text(values.tags[key]),
        "claim": lambda key: values.claims[key],  # storybook's own Markdown: the author's words and a mark
        "model": {key: as_text(value) for key, value in values.model.items()},
        "evaluation": dict(values.evaluation),
    }
    try:
        output = _ENV.from_string(text).render(context)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, location=_failed_at(exc, where), hint=exc.hint) from None
    except Exception as exc:
        raise ExpressionError(f"expression failed: {type(exc).__name__}", location=_failed_at(exc, where)) from None
    if len(output) > MAX_OUTPUT:
        raise ExpressionError(f"text expands beyond {MAX_OUTPUT:,} characters", location=where)
    return output


def _failed_at(exc: BaseException, where: Location) -> Location:
    """The line of the expression that raised: Jinja rewrites tracebacks so template frames carry it."""
    line = None
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == "<template>":
            line = frame.tb_lineno
        frame = frame.tb_next
    return Location(where.path, (where.line or 1) + line - 1) if line else where
