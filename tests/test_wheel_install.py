"""``pip install`` of a wheel built from this checkout, then ``storybook example`` in an empty folder (issue 20).

The wheel is built with pip (``pip wheel``, build isolation: setuptools from the package index, as any user's
pip does) from a copy of the checkout, so the test writes nothing into the checkout. It is installed into a fresh
virtual environment made in tmp_path with ``--without-pip`` and no system site-packages.

Its dependencies (MLflow, scikit-learn, WeasyPrint, ...) are not downloaded and installed again (hundreds of MB,
minutes): a ``.pth`` file in the fresh environment adds the *site-packages folder* of the environment running the
tests, which holds those dependencies but not storybook: storybook is installed there in editable mode, through
an import hook that another ``.pth`` file of that folder installs, and ``.pth`` files of a folder added this way
are not run. The test checks that the ``storybook`` the fresh environment imports (its code, templates and example
project) lies inside the fresh environment, and that no folder of the checkout other than that site-packages is
on its path. The command runs in an empty folder outside the checkout.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.golden_text import scrub, section_texts

pytestmark = pytest.mark.timeout(900)

# Left out of the copy the wheel is built from: what a clone does not hold, or the package does not need.
NOT_COPIED = {".git", ".venv", "site", "mlflow", ".storybook", "build", "dist", ".cache", ".hypothesis",
              ".mypy_cache", ".ruff_cache", ".pytest_cache", "tests", "benchmarks", "docs"}
SCREENING = "breast-cancer-screening"
GOLDEN_SECTIONS = ("decision", "metrics", "quantitative-analyses", "cost-of-error", "trust", "claims",
                   "caveats-and-recommendations")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    source: Path  # the copy of the checkout the wheel was built from

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _example_sources(checkout: Path) -> dict[str, bytes]:
    """The checkout's example project, as the wheel should carry it: storybook.yaml and each story's files.

    Read from the copy the wheel was built from, not from the live checkout, which may change meanwhile."""
    files = {"storybook.yaml": (checkout / "storybook.yaml").read_bytes()}
    for path in sorted((checkout / "stories").glob("*/*")):
        if path.name == "story.yaml" or path.suffix == ".md":
            files[path.relative_to(checkout).as_posix()] = path.read_bytes()
    return files


def _run(command: list[str | Path], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"} and not key.startswith("MLFLOW_")}
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _ignore_at_top(folder: str, names: list[str]) -> set[str]:
    ignored = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
    if Path(folder) == REPO:
        ignored |= NOT_COPIED & set(names)
    return ignored


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=_ignore_at_top)
    wheelhouse = root / "wheelhouse"
    built = _run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-w", wheelhouse, "-q"],
                 cwd=root, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list(wheelhouse.glob("storybook_ml-*.whl"))
    assert len(wheels) == 1, wheels

    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root, timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site_packages = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              cwd=root, timeout=60).stdout.strip())
    dependencies = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (site_packages / "storybook-test-dependencies.pth").write_text("".join(f"{path}\n" for path in dependencies))
    pip = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q",
                wheels[0]], cwd=root, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return Installed(wheel=wheels[0], venv=venv, source=source)


@pytest.fixture(scope="module")
def example_run(installed: Installed, tmp_path_factory: pytest.TempPathFactory
                ) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("empty")
    assert not any(folder.iterdir())
    result = _run([installed.venv / "bin" / "storybook", "example"], cwd=folder, timeout=600)
    return folder, result


def test_the_wheel_carries_the_code_the_templates_and_the_example(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        example = {name.removeprefix("storybook/example_project/"): wheel.read(name) for name in names
                   if name.startswith("storybook/example_project/") and not name.endswith(".py")}
    code = {path.relative_to(REPO).as_posix() for path in (REPO / "storybook").rglob("*.py")
            if "__pycache__" not in path.parts}
    assert code and not code - names, sorted(code - names)
    templates = {f"storybook/templates/{path.relative_to(REPO / 'templates').as_posix()}"
                 for path in (REPO / "templates").rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert "storybook/templates/static/style.css" in templates
    assert not templates - names, sorted(templates - names)
    # Every file of the repository's example project, byte for byte (the links in the checkout became files).
    assert example == _example_sources(installed.source)


def test_the_fresh_environment_runs_the_installed_storybook_not_the_checkout(installed: Installed,
                                                                            tmp_path: Path) -> None:
    probe = ("import importlib.resources, json, sys, storybook, storybook.cli\n"
             "print(json.dumps({'code': storybook.__file__, 'cli': storybook.cli.__file__,\n"
             "  'templates': str(importlib.resources.files('storybook.templates') / 'story.html'),\n"
             "  'example': str(importlib.resources.files('storybook.example_project') / 'storybook.yaml'),\n"
             "  'path': sys.path}))\n")
    result = _run([installed.python, "-c", probe], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    venv = installed.venv.resolve()
    for key in ("code", "cli", "templates", "example"):
        where = Path(seen[key]).resolve()
        assert where.is_relative_to(venv), (key, where)
        assert where.is_file(), where
    dependencies = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    in_checkout = {Path(entry).resolve() for entry in seen["path"]
                   if entry and Path(entry).resolve().is_relative_to(REPO.resolve())}
    assert in_checkout <= dependencies, in_checkout  # only the dependencies' site-packages, never the sources


def test_example_in_an_empty_folder_writes_trains_and_builds(installed: Installed, example_run: tuple[
        Path, subprocess.CompletedProcess[str]]) -> None:
    folder, result = example_run
    assert result.returncode == 0, result.stdout + result.stderr
    stories = len(list((installed.source / "stories").glob("*/story.yaml")))
    wrote = f"wrote the example project into this folder: storybook.yaml and {stories} stories"
    assert wrote in result.stdout, result.stdout
    written = {path.relative_to(folder).as_posix(): path.read_bytes()
               for path in [folder / "storybook.yaml", *(folder / "stories").glob("*/*")]}
    assert written == _example_sources(installed.source)
    assert (folder / "mlflow" / "mlflow.db").is_file()
    assert f"{stories} built, 0 failed, {stories} PDFs" in " ".join(result.stdout.split()), result.stdout


def test_the_built_site_and_pdfs_tell_each_story_from_the_folder_s_own_store(installed: Installed, example_run: tuple[
        Path, subprocess.CompletedProcess[str]]) -> None:
    from mlflow.tracking import MlflowClient
    from pypdf import PdfReader

    folder, result = example_run
    assert result.returncode == 0, result.stdout + result.stderr
    site = folder / "site"
    index = " ".join(html.unescape((site / "index.html").read_text()).split())
    uri = f"sqlite:///{folder / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    stories = installed.source / "stories"
    for slug in sorted(path.name for path in stories.iterdir() if (path / "story.yaml").is_file()):
        title = _title(stories / slug / "story.yaml")
        assert title in index, title
        assert (site / f"{slug}.html").is_file() and (site / f"{slug}.summary.html").is_file()
        texts = {pdf: " ".join(" ".join(page.extract_text() for page in PdfReader(site / pdf).pages).split())
                 for pdf in (f"{slug}.pdf", f"{slug}.summary.pdf")}
        for pdf, text in texts.items():
            assert title in text, (pdf, title)
        # The model line names the version the folder's own store gave the story's alias.
        model = _model(stories / slug / "story.yaml")
        version = client.get_model_version_by_alias(model["name"], model["alias"]).version
        assert re.search(rf"{re.escape(model['name'])}, version {version} \([^)]*\b{model['alias']}\b",
                         texts[f"{slug}.pdf"]), slug
    assert len(PdfReader(site / f"{SCREENING}.summary.pdf").pages) == 1


def test_the_screening_page_reads_as_the_reviewed_one(example_run: tuple[
        Path, subprocess.CompletedProcess[str]]) -> None:
    """The same page as the repository's example builds: its golden text (tests/test_golden.py)."""
    folder, result = example_run
    assert result.returncode == 0, result.stdout + result.stderr
    sections = section_texts((folder / "site" / f"{SCREENING}.html").read_text(), GOLDEN_SECTIONS)
    assert set(sections) == set(GOLDEN_SECTIONS)
    days = [datetime.now(UTC).date() - timedelta(days=n) for n in (0, 1)]
    dates = tuple(text for day in days for text in (f"{day.day} {day:%B %Y}", f"{day:%d %B %Y}"))
    text = scrub("".join(f"== {name} ==\n{sections[name]}" for name in GOLDEN_SECTIONS), dates)
    assert text == (REPO / "tests" / "golden" / "example-page.txt").read_text()


def _model(story_yaml: Path) -> dict[str, str]:
    import yaml

    return dict(yaml.safe_load(story_yaml.read_text())["model"])


def _title(story_yaml: Path) -> str:
    import yaml

    title = yaml.safe_load(story_yaml.read_text())["title"]
    assert isinstance(title, str)
    return title
