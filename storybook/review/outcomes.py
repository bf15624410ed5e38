"""What a reader of a story would see change, beyond raw figures: the analysis outcomes and the inputs.

Two lists of :class:`NumberChange` (defined here; :mod:`storybook.review.diff` uses it too), both task-blind:

- **outcomes** of the analysis, compared between two :class:`StoryAnalysis`: the recommendation and each
  ground's outcome, the trust levels and each trust check, each claim's status, and each slice group's
  figures;
- **settings**: every key of story.yaml (or storybook.yaml) whose value changed, named by its key path and
  what it is to a reader ("cost assumption", "capacity", "decision rule", "claim", "slices", ...), so the
  changed assumption shows next to its effect (the cost of a miss raised from 8 to 10, not only the new
  threshold).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from storybook.analyse.trust_checks.evidence import CHECK_TITLES

if TYPE_CHECKING:
    from storybook.analyse.classification import Estimate
    from storybook.analyse.decision_judge import GroundResult
    from storybook.analyse.story import StoryAnalysis
    from storybook.analyse.trust_checks.evidence import Evidence
__all__ = ["NumberChange", "analysis_outcomes", "setting_changes"]


@dataclass(frozen=True)
class NumberChange:
    """One figure that changed. ``beyond_uncertainty``: the 95% intervals do not overlap (None: unknown)."""

    what: str
    old: str | None
    new: str | None
    beyond_uncertainty: bool | None = None
    note: str = ""
    kind: Literal["outcome", "setting", "figure"] = "figure"


# Keys already shown as prose (title, summary) are left to the word diff.
PROSE_KEYS = ("title", "summary")
# What a key path is to a reader, by its start (the longest match wins).
SETTING_KINDS = (
    ("cost_of_error.capacity", "capacity"),
    ("cost_of_error.population", "capacity"),
    ("cost_of_error", "cost assumption"),
    ("decision", "decision rule"),
    ("claims", "claim"),
    ("slices", "slices"),
    ("min_slice_size", "slices"),
    ("trust", "trust rule"),
    ("evaluation.threshold", "threshold"),
    ("evaluation", "evaluation"),
    ("metrics", "metric"),
    ("model", "model"),
    ("series", "series"),
    ("glossary", "glossary"),
    ("versions", "audience versions"),
    ("wording", "wording rule"),
    ("templates_dir", "templates"),
)
_NAMING_KEYS = ("id", "key", "column", "name")


def _scalar(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


MAX_SHOWN = 300  # characters of a whole added or removed entry (a claim, a ground...) shown in one line
_MISSING = object()


def _shown(value: Any) -> str | None:
    if value is _MISSING:
        return None
    if isinstance(value, Mapping | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
    return _scalar(value)


def _named(items: list[Any]) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for index, item in enumerate(items):
        name = next((item[k] for k in _NAMING_KEYS if isinstance(item, Mapping)
                     and isinstance(item.get(k), str | int)), index)
        named.setdefault(str(name), item)
    return named


def _walk(old: Any, new: Any, path: str) -> Iterator[tuple[str, str | None, str | None]]:
    """Each place the two values differ, as (key path, before, after); a whole entry added or removed is one."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from _walk(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}" if path else str(key))
        return
    if isinstance(old, list) and isinstance(new, list):
        a, b = _named(old), _named(new)
        for name in [*a, *(n for n in b if n not in a)]:
            yield from _walk(a.get(name, _MISSING), b.get(name, _MISSING), f"{path}[{name}]")
        return
    if old != new:
        yield path, _shown(old), _shown(new)


def _settings(config: BaseModel | None) -> dict[str, Any]:
    """A validated config as plain data (defaults included, so writing a default out changes nothing).

    A tracking URI is shown without user, password or query string, as everywhere else.
    """
    from storybook.resolve.tracking import display_uri

    if config is None:
        return {}
    data = config.model_dump(mode="json")
    if isinstance(data.get("tracking_uri"), str):
        data["tracking_uri"] = display_uri(data["tracking_uri"])
    return {key: value for key, value in data.items() if key not in PROSE_KEYS}


def _kind(path: str) -> str:
    matches = [(prefix, kind) for prefix, kind in SETTING_KINDS if path == prefix or path.startswith(
        (prefix + ".", prefix + "["))]
    return max(matches, key=lambda m: len(m[0]))[1] if matches else "setting"


def setting_changes(old: BaseModel | None, new: BaseModel | None, file: str) -> list[NumberChange]:
    """Each key of ``file`` whose value differs, e.g. "cost assumption: cost_of_error.false_negative: 8 → 10"."""
    return [NumberChange(f"{_kind(path)}: {path}", before, after, note=f"set in {file}", kind="setting")
            for path, before, after in _walk(_settings(old), _settings(new), "")]


def _apart(a: Estimate | None, b: Estimate | None) -> bool | None:
    if a is None or b is None or a.low is None or a.high is None or b.low is None or b.high is None:
        return None
    return a.high < b.low or b.high < a.low


def _share(estimate: Estimate | None) -> str | None:
    if estimate is None or estimate.value is None or not math.isfinite(estimate.value):
        return None
    interval = ("" if estimate.low is None or estimate.high is None
                else f" (95%: {estimate.low:.3g} to {estimate.high:.3g})")
    return f"{estimate.value:.3g}{interval}"


def _compare(changes: list[NumberChange], what: str, old: str | None, new: str | None,
             apart: bool | None = None) -> None:
    if old != new:
        changes.append(NumberChange(what, old, new, apart, kind="outcome"))


def _decision(old: StoryAnalysis, new: StoryAnalysis, changes: list[NumberChange]) -> None:
    a, b = old.decision, new.decision
    _compare(changes, "recommendation", a.recommendation if a else None, b.recommendation if b else None)
    grounds_a = {g.id: g for g in a.grounds} if a else {}
    grounds_b = {g.id: g for g in b.grounds} if b else {}
    for ground_id in [*grounds_b, *(g for g in grounds_a if g not in grounds_b)]:
        ga, gb = grounds_a.get(ground_id), grounds_b.get(ground_id)
        either = gb or ga
        label = either.label if either is not None else ground_id
        _compare(changes, f"ground {ground_id!r} ({label})", _ground(ga), _ground(gb))


def _ground(ground: GroundResult | None) -> str | None:
    """A ground's outcome, and whether it must hold for "go" (making a ground required flips decisions)."""
    if ground is None:
        return None
    return ground.outcome + (" (required)" if ground.required else " (a condition)")


def _trust(old: StoryAnalysis, new: StoryAnalysis, changes: list[NumberChange]) -> None:
    levels_a = {r.area: r for r in old.trust.levels} if old.trust else {}
    levels_b = {r.area: r for r in new.trust.levels} if new.trust else {}
    for area in [*levels_b, *(a for a in levels_a if a not in levels_b)]:
        la, lb = levels_a.get(area), levels_b.get(area)
        _compare(changes, f"trust in the {area}", la.level.label if la else None, lb.level.label if lb else None)
        checks_a = _checks(la.evidence if la else ())
        checks_b = _checks(lb.evidence if lb else ())
        for check in [*checks_b, *(c for c in checks_a if c not in checks_b)]:
            title = CHECK_TITLES.get(check, check)
            _compare(changes, f"trust check {title} ({area})", checks_a.get(check), checks_b.get(check))


def _checks(evidence: Iterable[Evidence]) -> dict[str, str]:
    """Each check's results ("passed", "failed", "could not run"; a check may run more than once)."""
    said: dict[str, list[str]] = {}
    for item in evidence:
        said.setdefault(item.check, []).append({True: "passed", False: "failed", None: "could not run"}[item.passed])
    return {check: ", ".join(results) for check, results in said.items()}


def _claims(old: StoryAnalysis, new: StoryAnalysis, changes: list[NumberChange]) -> None:
    a = {c.spec.id: c.status for c in old.claims}
    b = {c.spec.id: c.status for c in new.claims}
    for claim_id in [*b, *(c for c in a if c not in b)]:
        _compare(changes, f"claim {claim_id!r}", a.get(claim_id), b.get(claim_id))


def _slices(old: StoryAnalysis, new: StoryAnalysis, changes: list[NumberChange]) -> None:
    def rows(analysis: StoryAnalysis) -> dict[tuple[str, str], Any]:
        return {(s.spec.column, row.value): row for s in analysis.card.slices for row in s.table.rows}

    a, b = rows(old), rows(new)
    for key in [*b, *(k for k in a if k not in b)]:
        column, value = key
        ra, rb = a.get(key), b.get(key)
        name = f"slice {column} = {value}"
        _compare(changes, f"{name}: cases", str(ra.n) if ra else None, str(rb.n) if rb else None)
        kinds = sorted(set(ra.rates if ra else ()) | set(rb.rates if rb else ()))
        for kind in kinds:
            ea = ra.rates.get(kind) if ra else None
            eb = rb.rates.get(kind) if rb else None
            _compare(changes, f"{name}: {kind}", _share(ea), _share(eb), _apart(ea, eb))


def _regression(old: StoryAnalysis, new: StoryAnalysis, changes: list[NumberChange]) -> None:
    """A regression story's outcomes: the cost-minimising adjustment and the cost of the forecasts as they are
    (per the story's population), and each slice group's average miss."""
    ca, cb = old.regression_cost, new.regression_cost
    ea = ca.adjustment.adjustment if ca else None
    eb = cb.adjustment.adjustment if cb else None
    _compare(changes, "cost-minimising adjustment of the forecast", _share(ea), _share(eb), _apart(ea, eb))
    stated = cb or ca
    unit = stated.spec.unit if stated is not None else None
    _compare(changes, f"cost per forecast as forecast ({unit})" if unit else "cost per forecast as forecast",
             _share(ca.adjustment.cost_before if ca else None),
             _share(cb.adjustment.cost_before if cb else None),
             _apart(ca.adjustment.cost_before if ca else None, cb.adjustment.cost_before if cb else None))

    def groups(analysis: StoryAnalysis) -> dict[tuple[str, str], Any]:
        performance = analysis.regression
        return {} if performance is None else {(s.spec.column, g.value): g for s in performance.slices
                                               for g in s.groups}

    a, b = groups(old), groups(new)
    for key in [*b, *(k for k in a if k not in b)]:
        ga, gb = a.get(key), b.get(key)
        name = f"slice {key[0]} = {key[1]}"
        _compare(changes, f"{name}: cases", str(ga.n) if ga else None, str(gb.n) if gb else None)
        _compare(changes, f"{name}: average miss", _share(ga.mae if ga else None), _share(gb.mae if gb else None),
                 _apart(ga.mae if ga else None, gb.mae if gb else None))


def _multiclass(old: StoryAnalysis, new: StoryAnalysis, changes: list[NumberChange]) -> None:
    """A multiclass story's outcomes: each class's share found and share right when the model says so, each
    slice group's share of right calls, the cost of the model's calls and the cost rule's saving."""
    def classes(analysis: StoryAnalysis) -> dict[str, Any]:
        return {} if analysis.multiclass is None else {c.value: c for c in analysis.multiclass.performance.lines}

    a, b = classes(old), classes(new)
    for value in [*b, *(v for v in a if v not in b)]:
        la, lb = a.get(value), b.get(value)
        for what, attribute in (("found", "found"), ("right when the model says so", "right")):
            ea, eb = getattr(la, attribute, None), getattr(lb, attribute, None)
            _compare(changes, f"class {value}: {what}", _share(ea), _share(eb), _apart(ea, eb))

    def groups(analysis: StoryAnalysis) -> dict[tuple[str, str], Any]:
        story = analysis.multiclass
        return {} if story is None else {(s.spec.column, g.value): g for s in story.performance.slices
                                         for g in s.rows}

    ga, gb = groups(old), groups(new)
    for key in [*gb, *(k for k in ga if k not in gb)]:
        ra, rb = ga.get(key), gb.get(key)
        name = f"slice {key[0]} = {key[1]}"
        _compare(changes, f"{name}: cases", str(ra.n) if ra else None, str(rb.n) if rb else None)
        _compare(changes, f"{name}: share of calls right", _share(ra.accuracy if ra else None),
                 _share(rb.accuracy if rb else None), _apart(ra.accuracy if ra else None,
                                                             rb.accuracy if rb else None))
    ca = old.multiclass.cost if old.multiclass is not None else None
    cb = new.multiclass.cost if new.multiclass is not None else None
    _compare(changes, "cost of the model's calls", _share(ca.calls_cost if ca else None),
             _share(cb.calls_cost if cb else None), _apart(ca.calls_cost if ca else None,
                                                           cb.calls_cost if cb else None))
    sa = ca.rule.saving if ca is not None and ca.rule is not None else None
    sb = cb.rule.saving if cb is not None and cb.rule is not None else None
    _compare(changes, "saving of the lowest-cost rule over the most likely class", _share(sa), _share(sb),
             _apart(sa, sb))


def analysis_outcomes(old: StoryAnalysis | None, new: StoryAnalysis | None) -> list[NumberChange]:
    """What the analysis concluded differently: recommendation, grounds, trust, claims, slice figures."""
    if old is None or new is None:
        return []
    changes: list[NumberChange] = []
    _decision(old, new, changes)
    _trust(old, new, changes)
    _claims(old, new, changes)
    _slices(old, new, changes)
    _regression(old, new, changes)
    _multiclass(old, new, changes)
    return changes
