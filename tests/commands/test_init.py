"""storybook init (commands/init.py): the files a new project starts with, a tracking URI never written with its
password, and nothing replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from storybook.commands.init import DEFAULT_TRACKING_URI, init_project, project_files
from storybook.errors import ConfigError, FilesExistError
from storybook.sources.schema import ProjectConfig


def test_a_new_project_holds_its_settings_the_ci_files_and_the_schemas(tmp_path: Path) -> None:
    written = init_project(tmp_path / "p", title="Clinic models", tracking_uri=DEFAULT_TRACKING_URI)
    assert sorted(path.relative_to(tmp_path / "p").as_posix() for path in written) == [
        ".github/workflows/storybook.yml", ".gitignore", ".pre-commit-config.yaml", "docs/schema/story.schema.json",
        "docs/schema/storybook.schema.json", "storybook.yaml"]
    assert (tmp_path / "p" / "stories").is_dir()
    text = (tmp_path / "p" / "storybook.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=docs/schema/storybook.schema.json\n")
    config = ProjectConfig.model_validate(yaml.safe_load(text))
    assert (config.title, config.tracking_uri) == ("Clinic models", "sqlite:///mlflow/mlflow.db")


def test_without_a_tracking_uri_the_key_is_a_comment_and_the_file_still_valid() -> None:
    text = project_files("Ünïcode title: with a colon", None)["storybook.yaml"]
    data = yaml.safe_load(text)
    assert "tracking_uri" not in data and data["title"] == "Ünïcode title: with a colon"
    assert "# tracking_uri: sqlite:///mlflow/mlflow.db   (not set: storybook reads MLFLOW_TRACKING_URI)" in text


def test_a_tracking_uri_with_a_password_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"carries a credential \(a user name or password"):
        project_files("T", "https://ada:s3cret@mlflow.example.org")
    with pytest.raises(ConfigError, match=r"or a secret in its query after '\?'\)") as refused:
        project_files("T", "https://mlflow.example.org/?token=s3cret")
    assert "s3cret" not in str(refused.value)


def test_init_into_a_project_replaces_nothing(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("mine\n")
    with pytest.raises(FilesExistError, match=r"storybook init would replace files that exist: \.gitignore"):
        init_project(tmp_path, title="T", tracking_uri=None)
    assert (tmp_path / ".gitignore").read_text() == "mine\n" and not (tmp_path / "storybook.yaml").exists()
