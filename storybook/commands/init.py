"""``storybook init [PROJECT]``: start a project (storybook.yaml, .gitignore, a CI workflow, a pre-commit config).

Every file is one the user can keep, change or delete; none is ever replaced (:func:`write_new_files`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from storybook.commands.files import schema_files, schema_line, write_new_files
from storybook.errors import ConfigError
from storybook.resolve.tracking import display_uri
from storybook.review.ci_workflow import WORKFLOW as CI_WORKFLOW

__all__ = ["DEFAULT_TRACKING_URI", "PRE_COMMIT", "WORKFLOW", "init_project", "project_files"]

DEFAULT_TRACKING_URI = "sqlite:///mlflow/mlflow.db"

GITIGNORE = """\
# Written by storybook build; rebuilt from the stories at any time.
site/
# storybook's cache of downloaded artifacts and rendered pages.
.storybook/
"""

# The pull-request workflow: check the stories, build the site, and put the review in one comment that each push
# updates (found by the hidden marker the review body carries). The same file as docs/ci/storybook.yml.
WORKFLOW = CI_WORKFLOW

PRE_COMMIT = """\
# Run `storybook check` before each commit (pip install pre-commit; pre-commit install). Delete this file if you
# do not want it.
repos:
  - repo: local
    hooks:
      - id: storybook-check
        name: storybook check
        entry: storybook check
        language: system
        pass_filenames: false
        files: ^(storybook\\.yaml|stories/)
"""


def project_files(title: str, tracking_uri: str | None) -> dict[str, str]:
    """The files ``init`` writes, by path relative to the project folder."""
    if tracking_uri is not None and display_uri(tracking_uri) != tracking_uri:
        raise ConfigError("the tracking URI carries a credential (a user name or password, or a secret in its query "
                          "after '?'), which storybook.yaml would keep in plain text (and in git)",
                          hint="give the URI without it and set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD "
                          "(or MLFLOW_TRACKING_TOKEN), or write ${VARIABLE} for the secret part")
    settings = yaml.safe_dump({"title": title}, sort_keys=False, allow_unicode=True)
    if tracking_uri is not None:
        where = yaml.safe_dump({"tracking_uri": tracking_uri}, sort_keys=False, allow_unicode=True)
    else:
        where = ("# tracking_uri: sqlite:///mlflow/mlflow.db   (not set: storybook reads MLFLOW_TRACKING_URI)\n")
    config = (schema_line("storybook")
              + "# storybook's project file. Editors check and complete its keys from the schema named above\n"
              + "# (written by `storybook schema`; run it again after upgrading storybook).\n"
              + settings
              + "# The MLflow tracking server or store the stories read (${VAR} is read from the environment).\n"
              + where
              + "stories_dir: stories\nsite_dir: site\npdf: true\n")
    return {
        "storybook.yaml": config,
        ".gitignore": GITIGNORE,
        ".github/workflows/storybook.yml": WORKFLOW,
        ".pre-commit-config.yaml": PRE_COMMIT,
        # What the files' `# yaml-language-server: $schema=...` lines name (`storybook schema` writes them again).
        **schema_files(),
    }


def init_project(root: Path, *, title: str, tracking_uri: str | None) -> list[Path]:
    """Write a new project's files into ``root`` (created if needed); nothing when any of them exists."""
    files = project_files(title, tracking_uri)
    written = write_new_files(root, files, doing="storybook init")
    (root / "stories").mkdir(exist_ok=True)
    return written
