"""``storybook example FOLDER`` writes the example project into a folder without one, and never replaces a file.

The files come from the package (storybook.example_project, which in this checkout links to the repository's own
storybook.yaml and stories/); tests/test_wheel_install.py checks the same from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from storybook.cli import app
from storybook.errors import ConfigError
from storybook.example_files import example_sources, has_project, write_example
from tests.conftest import REPO

runner = CliRunner()


def _repository_example() -> dict[str, bytes]:
    files = {"storybook.yaml": (REPO / "storybook.yaml").read_bytes()}
    for path in sorted((REPO / "stories").glob("*/*")):
        if path.name == "story.yaml" or path.suffix == ".md":
            files[path.relative_to(REPO).as_posix()] = path.read_bytes()
    for name in ("storybook", "story"):  # the schema its files' yaml-language-server lines name
        files[f"docs/schema/{name}.schema.json"] = (REPO / "docs" / "schema" / f"{name}.schema.json").read_bytes()
    return files


def _tree(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def test_the_package_holds_the_repository_example_and_nothing_else() -> None:
    sources = {name.as_posix(): content for name, content in example_sources().items()}
    assert sources == _repository_example()
    slugs = {path.parent.name for path in (REPO / "stories").glob("*/story.yaml")}
    assert {"breast-cancer-screening", "diabetes-progression", "student-support"} <= slugs
    assert {name.split("/")[1] for name in sources if name.startswith("stories/")} == slugs


def test_written_into_a_new_folder_byte_for_byte(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "example"
    written = write_example(folder)
    assert [path.relative_to(folder).as_posix() for path in written] == list(_repository_example())
    assert _tree(folder) == _repository_example()
    assert has_project(folder) and not has_project(folder / "stories")


def test_a_file_already_there_is_never_replaced_and_nothing_is_written(tmp_path: Path) -> None:
    mine = tmp_path / "stories" / "student-support" / "metrics.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own words\n")
    with pytest.raises(ConfigError) as caught:
        write_example(tmp_path)
    assert caught.value.location is not None and caught.value.location.path == mine
    assert "already exists" in caught.value.message and "never replaces a file" in caught.value.message
    assert caught.value.hint is not None and "empty folder" in caught.value.hint
    assert _tree(tmp_path) == {"stories/student-support/metrics.md": b"my own words\n"}


def test_a_file_or_a_link_in_the_way_of_a_folder_is_refused(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "stories").write_text("not a folder\n")
    with pytest.raises(ConfigError) as caught:
        write_example(blocked)
    assert caught.value.location is not None and caught.value.location.path == blocked / "stories"

    linked, elsewhere = tmp_path / "linked", tmp_path / "elsewhere"
    linked.mkdir()
    elsewhere.mkdir()
    (linked / "stories").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ConfigError) as caught:
        write_example(linked)
    assert caught.value.location is not None and caught.value.location.path == linked / "stories"
    assert not any(elsewhere.iterdir()) and not (linked / "storybook.yaml").exists()

    a_file = tmp_path / "a-file"
    a_file.write_text("x\n")
    with pytest.raises(ConfigError, match="needs a folder"):
        write_example(a_file)


def test_a_folder_inside_another_project_is_refused(tmp_path: Path) -> None:
    assert not has_project(tmp_path / "empty")
    (tmp_path / "storybook.yaml").write_text("title: Mine\n")
    assert has_project(tmp_path) and not has_project(tmp_path / "deeper")
    with pytest.raises(ConfigError) as caught:
        write_example(tmp_path / "deeper" / "still")
    assert caught.value.location is not None and caught.value.location.path == (tmp_path / "storybook.yaml")
    assert "inside this project" in caught.value.message
    assert caught.value.hint is not None and str(tmp_path) in caught.value.hint
    assert _tree(tmp_path) == {"storybook.yaml": b"title: Mine\n"}


def test_cli_writes_the_example_then_trains_it(tmp_path: Path) -> None:
    folder = tmp_path / "first-stories"
    result = runner.invoke(app, ["example", str(folder), "--no-build"])
    assert result.exit_code == 0, result.output
    stories = len(list((REPO / "stories").glob("*/story.yaml")))
    assert "wrote the example project into " in result.output
    assert f"storybook.yaml and {stories} stories" in result.output
    assert {name: content for name, content in _tree(folder).items()
            if not name.startswith("mlflow/")} == _repository_example()
    assert (folder / "mlflow" / "mlflow.db").is_file()  # trained into the new folder's own store


def test_cli_refuses_to_replace_a_file_with_exit_code_2(tmp_path: Path) -> None:
    mine = tmp_path / "stories" / "breast-cancer-screening" / "story.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("title: mine\n")
    result = runner.invoke(app, ["example", str(tmp_path), "--no-build"])
    assert result.exit_code == 2, result.output
    assert "already exists" in result.output and "story.yaml" in result.output
    assert _tree(tmp_path) == {"stories/breast-cancer-screening/story.yaml": b"title: mine\n"}


def test_cli_leaves_another_project_alone_and_says_how_to_get_the_example(tmp_path: Path) -> None:
    project = tmp_path / "mine"
    (project / "stories").mkdir(parents=True)
    (project / "storybook.yaml").write_text("title: Mine\ntracking_uri: sqlite:///elsewhere.db\n")
    result = runner.invoke(app, ["example", str(project), "--no-build"])
    assert result.exit_code == 2, result.output
    assert "tracking_uri: sqlite:///mlflow/mlflow.db" in result.output
    assert "storybook example NEW_FOLDER" in result.output
    inside = runner.invoke(app, ["example", str(project / "sub"), "--no-build"])
    assert inside.exit_code == 2, inside.output
    assert "inside this project" in inside.output
    assert _tree(project) == {"storybook.yaml": b"title: Mine\ntracking_uri: sqlite:///elsewhere.db\n"}
