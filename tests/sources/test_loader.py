"""Loading a project: storybook.yaml, each story's story.yaml and Markdown, validated with located errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storybook.errors import ConfigError, Location, SourceError, StorybookError
from storybook.sources.loader import BrokenStory, StorySource, load_project, load_story

STORY_YAML = """\
title: Which scans should a specialist see first?
summary: A model estimates the chance that a tumour is malignant.
audience: Screening programme managers
owner: Screening analytics team
model:
  name: breast-cancer-screening
  alias: champion
intended_use:
  primary: Put likely malignant scans at the front of the queue.
  users:
    - Specialists
  out_of_scope:
    - Diagnosing without a specialist
metrics:
  - key: test_recall
    label: Malignant tumours found
    kind: recall
evaluation:
  threshold_param: threshold
  unit: patients
  positive_means: have a malignant tumour
  negative_means: have a harmless tumour
slices:
  - column: size_band
    label: Tumour size
"""
# Line numbers in STORY_YAML used below.
LINE_MODEL = 5
LINE_ALIAS = 7
LINE_METRIC_0 = 15


def write_story(root: Path, slug: str, story_yaml: str = STORY_YAML, *, sections: bool = True) -> Path:
    directory = root / "stories" / slug
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "story.yaml").write_text(story_yaml, encoding="utf-8")
    if sections:
        (directory / "ethical-considerations.md").write_text("- A missed cancer harms a patient.\n")
        (directory / "caveats-and-recommendations.md").write_text("- Check the results every month.\n")
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "storybook.yaml").write_text("title: Test stories\n")
    write_story(root, "screening")
    return root


def only_story(root: Path) -> StorySource | BrokenStory:
    stories = load_project(root).stories
    assert len(stories) == 1
    return stories[0]


def broken(root: Path) -> StorybookError:
    story = only_story(root)
    assert isinstance(story, BrokenStory), story
    return story.error


def test_valid_story_loads(project: Path) -> None:
    loaded = load_project(project)
    assert loaded.config.title == "Test stories"
    assert loaded.root == project.resolve()
    [story] = loaded.stories
    assert isinstance(story, StorySource)
    assert story.slug == "screening"
    assert story.config.model.alias == "champion"
    assert story.config.metrics[0].kind == "recall"
    assert story.config.evaluation is not None and story.config.evaluation.threshold_param == "threshold"
    assert set(story.sections) == {"ethical-considerations", "caveats-and-recommendations"}
    assert story.sections["ethical-considerations"].text.startswith("- A missed cancer")
    assert story.yaml.lines[("model", "alias")] == LINE_ALIAS


def test_the_shipped_example_story_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    story = load_story(root, root / "stories" / "breast-cancer-screening")
    assert story.config.model.name == "breast-cancer-screening"
    assert "model-details" in story.sections


def test_project_is_found_from_a_subfolder(project: Path) -> None:
    assert load_project(project / "stories" / "screening").root == project.resolve()


def test_windows_line_endings_in_markdown_are_normalised(project: Path) -> None:
    (project / "stories" / "screening" / "metrics.md").write_bytes(b"line one\r\nline two\r\n")
    story = only_story(project)
    assert isinstance(story, StorySource)
    assert story.sections["metrics"].text == "line one\nline two\n"


def test_unknown_key_suggests_the_right_one_at_its_line(project: Path) -> None:
    write_story(project, "screening", STORY_YAML.replace("  alias: champion", "  alais: champion"))
    error = broken(project)
    assert "Did you mean 'alias'?" in error.message
    assert "model.alais" in error.message
    assert error.location is not None and error.location.line == LINE_ALIAS
    assert error.location.path.name == "story.yaml"


def test_unknown_top_level_key_without_a_close_match_says_remove_it(project: Path) -> None:
    write_story(project, "screening", STORY_YAML + "zzzzqqq: 1\n")
    error = broken(project)
    assert "Remove it." in error.message
    assert error.location is not None and error.location.line == STORY_YAML.count("\n") + 1



def test_a_value_that_does_not_fit_its_pattern_is_told_in_words_at_its_line(project: Path) -> None:
    write_story(project, "screening", STORY_YAML.replace("  - key: test_recall", "  - key: test_recall?x=1"))
    error = broken(project)
    assert error.message == "metrics.0.key: expected letters, digits, spaces and the characters _ . / - only"
    assert error.location is not None and error.location.line == LINE_METRIC_0


def test_every_pattern_of_the_schema_has_its_words() -> None:
    """A pattern added to the schema without words would print the pattern itself to the author."""
    import re

    from storybook.sources import loader, schema

    folder = Path(schema.__file__).parent
    patterns = {found for path in folder.glob("*.py") for found in re.findall(r'pattern=r"([^"]+)"', path.read_text())}
    assert patterns and patterns <= set(loader._PATTERN_WORDS)


def test_missing_required_key_points_at_its_parent(project: Path) -> None:
    write_story(project, "screening", STORY_YAML.replace("    label: Malignant tumours found\n", ""))
    error = broken(project)
    assert "missing required key 'metrics.0.label'" in error.message
    assert error.location is not None and error.location.line == LINE_METRIC_0


def test_missing_top_level_key_points_at_the_top(project: Path) -> None:
    write_story(project, "screening", STORY_YAML.replace("owner: Screening analytics team\n", ""))
    error = broken(project)
    assert "missing required key 'owner'" in error.message
    assert error.location is not None and error.location.line == 1


def test_several_problems_are_listed_each_with_its_line(project: Path) -> None:
    text = STORY_YAML.replace("owner: Screening analytics team\n", "").replace("  alias: champion", "  alais: x")
    write_story(project, "screening", text)
    error = broken(project)
    assert "missing required key 'owner'" in error.message
    assert f"story.yaml:{LINE_ALIAS - 1}: unknown key 'model.alais'" in error.message  # one line fewer above it


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("  name: m\n  alias: champion\n  version: 3\n", "exactly one of alias"),
        ("  name: m\n", "exactly one of alias"),
        ("  run_id: 0123456789abcdef\n  alias: champion\n", "not both"),
        ("  alias: champion\n", "registered model's name"),
        ("  name: m\n  version: 0\n", "greater than or equal to 1"),
        ("  run_id: NOT-HEX\n", "an MLflow run id: 8 to 64 characters of 0-9 and a-f"),
    ],
)
def test_invalid_model_refs_are_located_at_model(project: Path, model: str, expected: str) -> None:
    text = STORY_YAML.replace("  name: breast-cancer-screening\n  alias: champion\n", model)
    write_story(project, "screening", text)
    error = broken(project)
    assert expected in error.message
    assert error.location is not None and error.location.line is not None
    assert LINE_MODEL <= error.location.line <= LINE_MODEL + 3


@pytest.mark.parametrize(
    ("model", "described"),
    [
        ("  run_id: 0123456789abcdef\n", "run 0123456789abcdef"),
        ("  name: m\n  version: 3\n", "model m version 3"),
        ("  name: m\n  alias: champion\n", "model m@champion"),
    ],
)
def test_valid_model_refs(project: Path, model: str, described: str) -> None:
    write_story(project, "screening", STORY_YAML.replace("  name: breast-cancer-screening\n  alias: champion\n", model))
    story = only_story(project)
    assert isinstance(story, StorySource), story
    assert story.config.model.describe() == described


def test_a_broken_story_does_not_stop_the_others(project: Path) -> None:
    write_story(project, "another", STORY_YAML.replace("title:", "titel:"))
    stories = {story.slug: story for story in load_project(project).stories}
    assert isinstance(stories["screening"], StorySource)
    bad = stories["another"]
    assert isinstance(bad, BrokenStory)
    assert isinstance(bad.error, SourceError)
    assert bad.directory.name == "another"


def test_only_loads_the_named_stories(project: Path) -> None:
    write_story(project, "another")
    assert [story.slug for story in load_project(project, only=["another"]).stories] == ["another"]
    with pytest.raises(ConfigError, match="no story named missing"):
        load_project(project, only=["missing"])


@pytest.mark.parametrize("section", ["ethical-considerations", "caveats-and-recommendations"])
def test_missing_authored_section_is_a_located_error(project: Path, section: str) -> None:
    (project / "stories" / "screening" / f"{section}.md").unlink()
    error = broken(project)
    assert isinstance(error, SourceError)
    assert "written by people" in error.message
    assert error.location is not None and error.location.path.name == f"{section}.md"
    assert error.hint is not None and f"{section}.md" in error.hint


def test_blank_authored_section_counts_as_missing(project: Path) -> None:
    (project / "stories" / "screening" / "ethical-considerations.md").write_text("  \n\n")
    assert "Ethical considerations" in broken(project).message


@pytest.mark.parametrize("slug", ["Screening", "under_score", "-leading-dash", "x" * 65])
def test_invalid_slug_is_a_broken_story(project: Path, slug: str) -> None:
    (project / "stories" / "screening").rename(project / "stories" / slug)
    error = broken(project)
    assert "not a valid slug" in error.message
    assert error.location is not None and error.location.path.parent.name == slug


def test_stories_dir_outside_the_project_is_refused(project: Path) -> None:
    write_story(project.parent / "outside", "elsewhere")  # it exists and holds a story: only its place is wrong
    (project.parent / "outside" / "stories").rename(project.parent / "outside-stories")
    (project / "storybook.yaml").write_text("title: T\nstories_dir: ../outside-stories\n")
    with pytest.raises(ConfigError) as caught:
        load_project(project)
    assert "outside the project" in caught.value.message
    assert caught.value.location is not None and caught.value.location.path.name == "storybook.yaml"


def test_absolute_stories_dir_is_refused(project: Path) -> None:
    (project / "storybook.yaml").write_text(f"title: T\nstories_dir: {project / 'stories'}\n")
    with pytest.raises(ConfigError, match="outside the project"):
        load_project(project)


def test_stories_dir_symlinked_outside_is_refused(project: Path) -> None:
    outside = project.parent / "elsewhere"
    write_story(outside, "screening")
    (project / "linked").symlink_to(outside / "stories")
    (project / "storybook.yaml").write_text("title: T\nstories_dir: linked\n")
    with pytest.raises(ConfigError, match="outside the project"):
        load_project(project)


def test_missing_stories_dir_is_a_config_error(project: Path) -> None:
    (project / "storybook.yaml").write_text("title: T\nstories_dir: nothing-here\n")
    with pytest.raises(ConfigError, match="does not exist"):
        load_project(project)


def test_bad_project_file_is_a_located_config_error(project: Path) -> None:
    (project / "storybook.yaml").write_text("title: T\npfd: true\n")
    with pytest.raises(ConfigError) as caught:
        load_project(project)
    assert "Did you mean 'pdf'?" in caught.value.message
    assert caught.value.location == Location((project / "storybook.yaml").resolve(), 2)


def test_no_project_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no storybook\.yaml"):
        load_project(tmp_path)


def test_symlinked_markdown_outside_the_project_is_refused(project: Path) -> None:
    secret = project.parent / "secret.md"
    secret.write_text("the contents of a file outside the project\n")
    section = project / "stories" / "screening" / "ethical-considerations.md"
    section.unlink()
    section.symlink_to(secret)
    error = broken(project)
    assert "inside the project" in error.message
    assert "contents of a file outside" not in str(error)
    assert error.location is not None and error.location.path.name == "ethical-considerations.md"


def test_symlinked_markdown_inside_the_project_is_allowed(project: Path) -> None:
    shared = project / "shared.md"
    shared.write_text("Shared caveats.\n")
    section = project / "stories" / "screening" / "caveats-and-recommendations.md"
    section.unlink()
    section.symlink_to(shared)
    story = only_story(project)
    assert isinstance(story, StorySource)
    assert story.sections["caveats-and-recommendations"].text == "Shared caveats.\n"


def test_symlinked_story_yaml_outside_the_project_is_refused(project: Path) -> None:
    outside = project.parent / "other-story.yaml"
    outside.write_text(STORY_YAML)
    story_file = project / "stories" / "screening" / "story.yaml"
    story_file.unlink()
    story_file.symlink_to(outside)
    error = broken(project)
    assert "inside the project" in error.message


def test_markdown_folder_instead_of_file_is_refused(project: Path) -> None:
    section = project / "stories" / "screening" / "ethical-considerations.md"
    section.unlink()
    section.mkdir()
    assert "regular file" in broken(project).message


def test_unreadable_markdown_is_a_located_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storybook.sources import loader

    real_read = loader.read_at_most

    def read_at_most(path: Path, limit: int) -> bytes:
        if path.name == "caveats-and-recommendations.md":
            raise PermissionError(13, "Permission denied")
        return real_read(path, limit)

    monkeypatch.setattr(loader, "read_at_most", read_at_most)
    error = broken(project)
    assert "cannot read file (Permission denied)" in error.message
    assert error.location is not None and error.location.path.name == "caveats-and-recommendations.md"


def test_non_utf8_markdown_is_a_located_error(project: Path) -> None:
    (project / "stories" / "screening" / "metrics.md").write_bytes(b"fine\nbad \xff byte\n")
    error = broken(project)
    assert "UTF-8" in error.message
    assert error.location is not None and error.location.line == 2


def test_oversized_markdown_is_refused(project: Path) -> None:
    (project / "stories" / "screening" / "metrics.md").write_text("x" * 200_001)
    assert "at most 200,000" in broken(project).message


def test_story_yaml_that_is_not_a_mapping(project: Path) -> None:
    write_story(project, "screening", "- just\n- a list\n")
    error = broken(project)
    assert "mapping" in error.message
    assert error.location is not None and error.location.line == 1


def test_yaml_tricks_reach_the_schema_as_strings(project: Path) -> None:
    text = STORY_YAML.replace("  threshold_param: threshold\n", "  threshold: 0.50\n  threshold_param: null\n")
    text = text.replace("audience: Screening programme managers", "audience: NO")
    write_story(project, "screening", text)
    story = only_story(project)
    assert isinstance(story, StorySource), story
    assert story.config.audience == "NO"
    assert story.config.evaluation is not None and story.config.evaluation.threshold == 0.5


def test_slices_without_evaluation_is_refused(project: Path) -> None:
    text = STORY_YAML.split("evaluation:")[0] + "slices:\n  - column: size_band\n    label: Tumour size\n"
    write_story(project, "screening", text)
    assert "slices need an evaluation" in broken(project).message


_PIECES = st.sampled_from([
    "title: T\n", "summary: S\n", "model:\n", "  name: m\n", "  alias: a\n", "  run_id: abcdef01\n", "  version: 2\n",
    "metrics:\n", "  - key: k\n", "    label: L\n", "intended_use:\n", "  primary: p\n", "  users: [u]\n",
    "audience: a\n", "owner: o\n", "evaluation: {}\n", "slices: []\n", "min_slice_size: 0\n", "- x\n", ": \n", "[", "]",
    "{", "}", "&a ", "*a", "!!python/object ", "\t", "  ", "title: T\n", "? x\n", "<<: *a\n", "\x00", "\ufeff", "'",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=200), st.lists(_PIECES, max_size=30).map("".join)))
def test_any_story_yaml_loads_or_is_a_broken_story(project: Path, text: str) -> None:
    (project / "stories" / "screening" / "story.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    story = only_story(project)
    if isinstance(story, BrokenStory):
        assert isinstance(story.error, StorybookError)
        assert story.error.location is not None
    else:
        assert isinstance(story, StorySource)


def test_relative_paths_in_errors_are_shown_from_the_working_directory(project: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    write_story(project, "screening", STORY_YAML.replace("title:", "titel:"))
    monkeypatch.chdir(project)
    text = str(broken(project))
    assert os.path.join("stories", "screening", "story.yaml") + ":1" in text
    assert str(project) not in text


def test_a_phrase_that_ends_in_a_full_stop_is_a_located_error(project: Path) -> None:
    # positive_means completes storybook's sentences ("Of the patients who have a malignant tumour, ..."); a full
    # stop at its end would print "tumour., 70 are missed" on every page.
    write_story(project, "screening", STORY_YAML.replace("have a malignant tumour\n", "have a malignant tumour.\n"))
    error = broken(project)
    line = STORY_YAML.splitlines().index("  positive_means: have a malignant tumour") + 1
    assert error.location is not None and error.location.line == line, error.message
    assert "evaluation.positive_means" in error.message and "leave the punctuation out" in error.message
    assert "'have a malignant tumour'" in error.message


def test_a_known_key_in_the_wrong_mapping_is_told_where_it_belongs(project: Path) -> None:
    write_story(project, "screening", STORY_YAML.replace("evaluation:\n", "task: binary\nevaluation:\n"))
    error = broken(project)
    assert "unknown key 'task'." in error.message
    assert "It belongs under 'evaluation': move it there." in error.message
    assert "Did you mean 'task'" not in error.message


def test_a_misspelt_key_is_matched_within_its_own_mapping(project: Path) -> None:
    write_story(project, "screening", STORY_YAML.replace("  unit: patients", "  unti: patients"))
    assert "unknown key 'evaluation.unti'. Did you mean 'unit'?" in broken(project).message
