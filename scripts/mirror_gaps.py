"""List the modules of storybook that have no mirrored test module.

Tests mirror the package: ``storybook/<pkg>/<mod>.py`` is tested in ``tests/<pkg>/test_<mod>.py`` (a top-level
``storybook/<mod>.py`` in ``tests/test_<mod>.py``). For each module without one, this prints the path its test
module would have and the test modules that import it directly (what covers it today, if anything).

    .venv/bin/python scripts/mirror_gaps.py
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> list[str]:
    found = []
    for path in sorted((ROOT / "storybook").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] != "__init__":
            found.append(".".join(parts))
    return found


def _imported_by(modules: list[str]) -> dict[str, list[str]]:
    """For each module, the test files that import it (``from storybook.x import y`` counts for x.y when that is
    a module, else for x)."""
    known = set(modules)
    users: dict[str, list[str]] = {m: [] for m in modules}
    for test in sorted((ROOT / "tests").rglob("test_*.py")):
        shown = test.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(test.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("storybook"):
                names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                         for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("storybook")]
            for name in names:
                if name in users and shown not in users[name]:
                    users[name].append(shown)
    return users


def main() -> None:
    modules = _modules()
    users = _imported_by(modules)
    missing = 0
    for module in modules:
        parts = module.split(".")[1:]
        mirror = Path("tests", *parts[:-1], f"test_{parts[-1]}.py")
        if (ROOT / mirror).is_file():
            continue
        missing += 1
        by = users[module]
        told = ", ".join(by[:6]) + (f" and {len(by) - 6} more" if len(by) > 6 else "") if by else "no test imports it"
        print(f"{module:48} {mirror.as_posix():52} {told}")
    print(f"{missing} of {len(modules)} modules have no mirrored test module")


if __name__ == "__main__":
    main()
