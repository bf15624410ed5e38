"""A project template is a file inside the templates folder: a link there (one a pull request adds) to a file
elsewhere, such as /proc/self/environ or a credentials file, is refused, so its text never reaches a page. Before,
``templates/index.html -> /proc/self/environ`` published the build's environment, tokens included."""

from __future__ import annotations

from pathlib import Path

import pytest

from storybook.errors import PublishError
from storybook.render.pages import page_environment, render_index


@pytest.mark.parametrize("target", ["outside file", "/proc/self/environ"])
def test_a_template_linking_outside_its_folder_is_refused(tmp_path: Path, target: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-linked-template-secret")
    outside = tmp_path / "credentials.txt"
    outside.write_text("aws_secret_access_key = linked-template-secret\n")
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "index.html").symlink_to(outside if target == "outside file" else Path(target))
    with pytest.raises(PublishError) as raised:
        render_index(page_environment(templates), "Title", None, [], "today")
    assert "template 'index.html' is a link to a file outside its folder" in str(raised.value)
    assert "linked-template-secret" not in str(raised.value)


def test_a_template_linking_inside_its_folder_still_renders(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "shared").mkdir(parents=True)
    (templates / "shared" / "index.html").write_text("<h1>{{ title }}</h1>\n")
    (templates / "index.html").symlink_to(templates / "shared" / "index.html")
    assert "<h1>Kept</h1>" in render_index(page_environment(templates), "Kept", None, [], "today")
