"""The wheel ships every package of storybook: pyproject.toml lists its packages by hand, so a new sub-package
(e.g. one made by splitting a module) that is not listed there would be missing from an installed storybook while
every test of this checkout still passes."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: pyproject.toml and storybook/


def test_every_package_of_storybook_is_in_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "storybook").rglob("__init__.py")}
    assert found, "no package found under storybook/"
    missing = sorted(found - listed)
    assert not missing, f"add these packages to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert "storybook.templates" in listed  # the shipped templates, mapped from templates/
