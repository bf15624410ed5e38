"""The package's imports run one way: no circle between modules, no arrow against the flow.

The test reads every module of ``storybook`` with :mod:`ast` (so it sees imports inside functions and under
``TYPE_CHECKING`` too, which a runtime check would miss) and checks two rules:

1. **Layers.** A module may import only modules of its own layer or of a lower one. The layers, lowest first::

       0 leaf      errors, typed_json, files, metrics/   (no story, no I/O of MLflow, nothing above)
       1 sources   sources/                              (project config and stories, validated once)
       2 resolve   resolve/                              (the only code that reads MLflow or the snapshot)
       3 analyse   analyse/                              (pure analysis on plain data)
       4 render    render/                               (templates, Markdown, charts)
       5 publish   publish/                              (site, PDFs, Quarto)
       6 review    review/                               (checks, diffs, sign-offs, PR comment)
       7 commands  build, workers, cli, serve, pin, sign, promote, example, logging_api   (on top; they wire the rest)
                   build_stories, build_site, build_previous                       (the build's stages)

2. **No circles.** No chain of imports leads from a module back to itself, inside a layer or across.

A new top-level module must be placed in ``LAYERS`` before it can be imported anywhere: the test fails on a
module it does not know, so nobody adds one without saying where it sits.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import storybook

PACKAGE_ROOT = Path(storybook.__file__).parent

# The allowed direction, written out: the first part of a module's dotted name below ``storybook`` -> its layer.
LAYERS: dict[str, int] = {
    # 0: leaf helpers every layer may use.
    "errors": 0,
    "typed_json": 0,
    "files": 0,
    "metrics": 0,
    "aggregate": 0,  # storybook/aggregate/: the aggregate format and its engines (issue 22)
    "text_controls": 0,
    # 1..5: the data flow, sources -> resolve -> analyse -> render -> publish.
    "sources": 1,
    "resolve": 2,
    "analyse": 3,
    "render": 4,
    "publish": 5,
    # 6: review reuses everything below and is used only by commands.
    "review": 6,
    # 7: commands, on top.
    "build": 7,
    "build_stories": 7,
    "build_site": 7,
    "build_previous": 7,
    "workers": 7,
    "cli": 7,
    "serve": 7,
    "pin": 7,
    "sign": 7,
    "promote": 7,
    "example": 7,
    "example_students": 7,
    "example_diabetes": 7,
    "example_files": 7,
    "example_project": 7,  # data only: the example's storybook.yaml and stories, shipped in the wheel
    "logging_api": 7,
    "logging_production": 7,
    "logging_production_multiclass": 7,  # log_production_scores(probabilities=...): a multiclass model's windows
    "logging_windows": 7,  # log_production_windows: an aggregate of production scores to a run (issue 22)
    "commands": 7,
}
LAYER_NAMES = {0: "leaf", 1: "sources", 2: "resolve", 3: "analyse", 4: "render", 5: "publish", 6: "review",
               7: "commands"}

# Arrows against the flow that are known and still to be fixed (issue 18, point 4). Each entry is
# (importing module, imported module). Remove an entry when its arrow is gone; the test fails on an entry that
# no longer matches any import, so this list can only shrink.
KNOWN_BACKWARD: set[tuple[str, str]] = set()  # none left

# Import circles that are known and still to be fixed, each as the sorted tuple of the modules in it.
# Same rule: an entry that no longer matches a circle fails the test.
KNOWN_CIRCLES: set[tuple[str, ...]] = set()  # none left


def _module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every storybook module that ``module`` imports anywhere in its file, with the line of the import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "storybook" or alias.name.startswith("storybook."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == "storybook" or target.startswith("storybook.")):
                continue
            for alias in node.names:
                # ``from storybook.review import signoff`` imports the module storybook.review.signoff.
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in known else target), node.lineno


def _graph() -> dict[str, dict[str, int]]:
    modules = _module_files()
    known = set(modules)
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        for target, line in _imported(module, path, known):
            if target != module:
                edges.setdefault(target, line)
        graph[module] = edges
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package itself
    return LAYERS.get(parts[1])


def _circles(graph: dict[str, dict[str, int]]) -> list[tuple[str, ...]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(graph.get(start, {})))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(tuple(sorted(component)))
    return found


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in _graph() if m != "storybook" and _layer(m) is None)
    assert not unplaced, f"place these modules in LAYERS of tests/test_architecture.py: {unplaced}"


def test_no_import_runs_against_the_flow() -> None:
    graph = _graph()
    backward: dict[tuple[str, str], str] = {}
    for module, edges in graph.items():
        source_layer = _layer(module)
        for target, line in edges.items():
            target_layer = _layer(target)
            if source_layer is None or target_layer is None or target_layer <= source_layer:
                continue
            backward[(module, target)] = (
                f"{module.replace('.', '/')}.py:{line} imports {target} "
                f"({LAYER_NAMES[source_layer]} may not import {LAYER_NAMES[target_layer]})"
            )
    new = sorted(text for arrow, text in backward.items() if arrow not in KNOWN_BACKWARD)
    assert not new, "imports against the flow:\n" + "\n".join(new)
    stale = sorted(KNOWN_BACKWARD - set(backward))
    assert not stale, f"these arrows are fixed; remove them from KNOWN_BACKWARD: {stale}"


def test_no_import_circle() -> None:
    circles = set(_circles(_graph()))
    new = sorted(circles - KNOWN_CIRCLES)
    assert not new, "import circles:\n" + "\n".join(" <-> ".join(c) for c in new)
    stale = sorted(KNOWN_CIRCLES - circles)
    assert not stale, f"these circles are gone; remove them from KNOWN_CIRCLES: {stale}"


def test_the_walk_sees_hidden_imports(tmp_path: Path) -> None:
    """The walk must see imports inside functions, under TYPE_CHECKING and relative ones, or it proves nothing."""
    package = tmp_path / "storybook"
    (package / "resolve").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "resolve" / "__init__.py").write_text("")
    (package / "resolve" / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from storybook.analyse.model_card import ModelCard\n"
        "def f():\n"
        "    import storybook.promote\n"
        "    from . import b\n"
        "    from ..review import signoff\n"
    )
    (package / "resolve" / "b.py").write_text("")
    known = {"storybook.resolve.a", "storybook.resolve.b", "storybook.review.signoff"}
    found = dict(_imported("storybook.resolve.a", package / "resolve" / "a.py", known))
    assert found == {
        "storybook.analyse.model_card": 3,
        "storybook.promote": 5,
        "storybook.resolve.b": 6,
        "storybook.review.signoff": 7,
    }
    graph = {"x.a": {"x.b": 1}, "x.b": {"x.c": 1}, "x.c": {"x.a": 1}, "x.d": {"x.a": 1}}
    assert _circles(graph) == [("x.a", "x.b", "x.c")]
