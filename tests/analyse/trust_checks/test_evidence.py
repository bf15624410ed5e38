"""storybook.analyse.trust_checks.evidence: every check id a trust check can report has a title for the reader,
in its own area, and every title belongs to a check that exists (read from the checks' source with ast)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import storybook.analyse.trust_checks as trust_checks
from storybook.analyse.trust_checks.evidence import CHECK_TITLES, Evidence

CHECK_ID = re.compile(r"^(model|data|system)\.[a-z_]+$")


def _reported() -> set[tuple[str, str]]:
    """(area, check id) of every ``Evidence(area, check, ...)`` a module of trust_checks makes with literal ids."""
    found: set[tuple[str, str]] = set()
    for path in Path(trust_checks.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Evidence"):
                continue
            given = dict(zip(("area", "check"), node.args, strict=False))
            given |= {k.arg: k.value for k in node.keywords if k.arg in ("area", "check")}
            values = [v.value if isinstance(v, ast.Constant) else None for v in (given.get("area"),
                                                                                  given.get("check"))]
            if all(isinstance(v, str) for v in values):
                found.add((str(values[0]), str(values[1])))
    return found


def test_every_reported_check_has_a_title_and_every_title_a_check() -> None:
    reported = _reported()
    assert len(reported) >= 14, reported  # the scan found the checks (three areas)
    assert {check for _, check in reported} == set(CHECK_TITLES)
    assert all(check.startswith(area + ".") for area, check in reported), reported  # each in its own area


def test_each_check_id_names_its_area_and_its_title_reads_as_a_phrase() -> None:
    for check, title in CHECK_TITLES.items():
        assert CHECK_ID.match(check), check
        assert title == title.strip() and title[0].islower() and not title.endswith("."), title


def test_evidence_is_titled_from_the_table_and_an_unknown_check_by_its_id() -> None:
    told = Evidence("data", "data.missing", "No value is missing.", True, {"missing": 0}, "the evaluation set")
    assert told.title == "missing values"
    assert Evidence("data", "data.other", "x", None, {}, "").title == "data.other"
