"""Find the project and its stories, read their files and validate them against the schema.

``load_project`` fails only when the project itself is unusable (ConfigError). A story that cannot be read
becomes a ``BrokenStory`` carrying its located error; the others load normally.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from storybook.errors import ConfigError, Location, SourceError, StorybookError, UnexpectedError
from storybook.files import FileTooLarge, read_at_most
from storybook.sources.placeholders import placeholder_error, placeholder_lines
from storybook.sources.schema import SLUG_PATTERN, KeyedValueError, ProjectConfig, StoryConfig
from storybook.sources.sections import AUTHORED_SECTIONS, HEADINGS, MARKDOWN_SECTIONS
from storybook.sources.yaml_loader import KeyPath, LoadedYaml, load_yaml

__all__ = [
    "PROJECT_FILE",
    "BrokenStory",
    "MarkdownSource",
    "Project",
    "StorySource",
    "find_project_root",
    "find_stories",
    "load_project",
    "load_story",
]

PROJECT_FILE = "storybook.yaml"
STORY_FILE = "story.yaml"
MAX_MARKDOWN_BYTES = 200_000

# Which Markdown files a story may have (<id>.md) and which it must have: see storybook/sources/sections.py.
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class MarkdownSource:
    """One Markdown file of a story: untrusted text with ``{{ ... }}`` references."""

    path: Path
    text: str


@dataclass(frozen=True)
class StorySource:
    """A story as its author wrote it, validated."""

    slug: str
    directory: Path
    config: StoryConfig
    sections: dict[str, MarkdownSource]
    yaml: LoadedYaml = field(repr=False)
    # The project's storybook.yaml, for what a story inherits from it (wording rules, glossary).
    project: ProjectConfig | None = field(default=None, repr=False, compare=False)

    @property
    def story_file(self) -> Path:
        return self.directory / STORY_FILE


@dataclass(frozen=True)
class BrokenStory:
    """A story that could not be loaded, and why."""

    slug: str
    directory: Path
    error: StorybookError


@dataclass(frozen=True)
class Project:
    root: Path
    config: ProjectConfig
    stories: list[StorySource | BrokenStory]

    @property
    def site_dir(self) -> Path:
        return (self.root / self.config.site_dir).resolve()

    @property
    def templates_dir(self) -> Path:
        return self.root / self.config.templates_dir


def find_project_root(start: Path) -> Path:
    """``start`` itself or the nearest parent holding storybook.yaml."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise ConfigError(
        f"no {PROJECT_FILE} found in {start} or any folder above it",
        hint=f"run storybook inside a project, pass its folder, or create {PROJECT_FILE}",
    )


def load_project(root: Path, only: list[str] | None = None) -> Project:
    """Load storybook.yaml and every story under the stories folder (or only the slugs given)."""
    root, config, directories = find_stories(root, only)
    stories: list[StorySource | BrokenStory] = []
    for directory in directories:
        try:
            stories.append(load_story(root, directory, config))
        except StorybookError as exc:
            stories.append(BrokenStory(slug=directory.name, directory=directory, error=exc))
        except Exception as exc:  # a surprise in one story's files breaks that story only
            surprise = UnexpectedError.from_exception(exc, doing="reading this story",
                                                      location=Location(directory / STORY_FILE))
            stories.append(BrokenStory(slug=directory.name, directory=directory, error=surprise))
    return Project(root=root, config=config, stories=stories)


def find_stories(root: Path, only: list[str] | None = None) -> tuple[Path, ProjectConfig, list[Path]]:
    """The project root, its validated storybook.yaml and its story folders (or only the slugs given), without
    reading any story: a build that finds a story in its cache never parses it."""
    root = find_project_root(root)
    project_file = root / PROJECT_FILE
    try:
        loaded = load_yaml(project_file)
        config = validate(ProjectConfig, loaded)
    except SourceError as exc:
        raise ConfigError(exc.message, location=exc.location, hint=exc.hint) from None
    stories_dir = inside(root, config.stories_dir, loaded.location(("stories_dir",)))
    _project_folders(root, config, loaded, stories_dir)
    if not stories_dir.is_dir():
        raise ConfigError(f"stories folder {config.stories_dir!r} does not exist",
                          location=Location(project_file),
                          hint="create it, or set stories_dir to the folder that holds your stories")
    slugs = sorted(p.name for p in stories_dir.iterdir() if (p / STORY_FILE).is_file())
    if only:
        unknown = [slug for slug in only if slug not in slugs]
        if unknown:
            raise ConfigError(f"no story named {', '.join(unknown)} in {config.stories_dir}/",
                              hint=f"stories here: {', '.join(slugs) or 'none'}")
        slugs = [slug for slug in slugs if slug in only]
    return root, config, [stories_dir / slug for slug in slugs]


def load_story(root: Path, directory: Path, project: ProjectConfig | None = None) -> StorySource:
    """One story folder; ``project`` is the project's validated storybook.yaml (read here when not given)."""
    slug = directory.name
    story_file = directory / STORY_FILE
    if re.fullmatch(SLUG_PATTERN, slug) is None:
        raise SourceError(f"story folder name {slug!r} is not a valid slug", location=Location(story_file),
                          hint="use lower-case letters, digits and dashes, e.g. 'churn-risk'")
    if not story_file.resolve().is_relative_to(root.resolve()):
        raise SourceError("story.yaml must be a file inside the project", location=Location(story_file),
                          hint="replace the link or symlink with the file itself")
    loaded = load_yaml(story_file)
    _refuse_placeholders(story_file)
    config = validate(StoryConfig, loaded)
    sections: dict[str, MarkdownSource] = {}
    for section_id in MARKDOWN_SECTIONS:
        path = directory / f"{section_id}.md"
        if path.exists():
            sections[section_id] = read_markdown(root, path)
    for markdown in sections.values():
        _refuse_placeholders(markdown.path, markdown.text)
    for section_id in AUTHORED_SECTIONS:
        if section_id not in sections or not sections[section_id].text.strip():
            raise SourceError(
                f"the model card needs the section {HEADINGS[section_id]!r}, written by people",
                location=Location(directory / f"{section_id}.md"),
                hint=f"write {section_id}.md in {directory.name}/ (plain Markdown)",
            )
    if project is None and (root / PROJECT_FILE).is_file():
        try:
            project = validate(ProjectConfig, load_yaml(root / PROJECT_FILE))
        except SourceError as exc:
            raise ConfigError(exc.message, location=exc.location, hint=exc.hint) from None
    return StorySource(slug=slug, directory=directory, config=config, sections=sections, yaml=loaded,
                       project=project)


def _refuse_placeholders(path: Path, text: str | None = None) -> None:
    """A story file that still holds a placeholder of ``storybook new`` does not build (located at its line)."""
    if text is None:
        text = path.read_text(encoding="utf-8", errors="replace")
    lines = placeholder_lines(text)
    if lines:
        raise placeholder_error(path, lines[0])


def read_markdown(root: Path, path: Path) -> MarkdownSource:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
        raise SourceError("Markdown file must be a regular file inside the project", location=Location(path),
                          hint="replace the link or symlink with the file itself")
    try:
        raw = read_at_most(resolved, MAX_MARKDOWN_BYTES)  # its size is checked before it is read
    except FileTooLarge as exc:
        raise SourceError(f"file is {exc.size:,} bytes; a section may be at most {MAX_MARKDOWN_BYTES:,}",
                          location=Location(path), hint="split the section or shorten it") from None
    except OSError as exc:
        raise SourceError(f"cannot read file ({exc.strerror or exc})", location=Location(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not valid UTF-8 (byte {exc.start})",
                          location=Location(path, raw.count(b"\n", 0, exc.start) + 1),
                          hint="save the file as UTF-8") from None
    return MarkdownSource(path=path, text=text.replace("\r\n", "\n"))


def _project_folders(root: Path, config: ProjectConfig, loaded: LoadedYaml, stories_dir: Path) -> None:
    """``site_dir`` and ``templates_dir`` stay inside the project, and are neither the project folder itself
    nor (for the site) the stories folder or a folder in it: a located ConfigError before anything is read
    or written there."""
    for key in ("site_dir", "templates_dir"):
        relative = getattr(config, key)
        location = loaded.location((key,))
        folder = inside(root, relative, location)
        if folder == root.resolve():
            raise ConfigError(f"{key} {relative!r} is the project folder itself", location=location,
                              hint=f"name a folder inside the project, e.g. {ProjectConfig.model_fields[key].default}")
        if key == "site_dir" and folder.is_relative_to(stories_dir):
            raise ConfigError(f"site_dir {relative!r} is inside the stories folder", location=location,
                              hint="write the site to its own folder, e.g. site")


def inside(root: Path, relative: str, location: Location) -> Path:
    """``root / relative``, refusing anything that resolves outside ``root``."""
    candidate = (root / relative).resolve()
    if os.path.isabs(relative) or not candidate.is_relative_to(root.resolve()):
        raise ConfigError(f"path {relative!r} points outside the project", location=location,
                          hint="use a path relative to the project folder, without '..'")
    return candidate


def validate(model: type[M], loaded: LoadedYaml) -> M:
    """Validate YAML data against a schema model; every problem is reported with its file:line."""
    data = loaded.data if loaded.data is not None else {}
    if not isinstance(data, dict):
        raise SourceError("expected a mapping of keys to values at the top of the file",
                          location=loaded.location(()))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(model, error, loaded) for error in exc.errors()]
        if len(problems) == 1:
            location, text = problems[0]
            raise SourceError(text, location=location) from None
        listed = "\n".join(f"  {location}: {text}" for location, text in problems)
        raise SourceError(f"the file does not match the schema:\n{listed}", location=Location(loaded.path),
                          hint="fix each line listed above") from None


def _key_path(loc: tuple[Any, ...]) -> KeyPath:
    return tuple(part for part in loc if isinstance(part, str | int))


def _describe(model: type[BaseModel], error: Any, loaded: LoadedYaml) -> tuple[Location, str]:
    loc = _key_path(tuple(error["loc"]))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, KeyedValueError):  # a model's validator named the key below it that is wrong
        loc = (*loc, *cause.path)
    dotted = ".".join(str(part) for part in loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        return loaded.location(loc), f"unknown key {dotted!r}.{_suggestion(model, loc, key)}"
    if kind == "missing":
        return loaded.location(loc[:-1]), f"missing required key {dotted!r}"
    if kind == "string_pattern_mismatch":
        words = _PATTERN_WORDS.get(str((error.get("ctx") or {}).get("pattern", "")))
        if words is not None:
            return loaded.location(loc), f"{dotted}: expected {words}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return loaded.location(loc), f"{dotted}: {message}"


# What each pattern of the schema (sources/schema) asks for, in words: pydantic would print the pattern itself.
_PATTERN_WORDS = {
    r"^[A-Za-z0-9_./ -]+$": "letters, digits, spaces and the characters _ . / - only",
    r"^[A-Za-z0-9_./ -]+\.parquet$": "a path ending in .parquet, of letters, digits, spaces and _ . / - only",
    r"^[A-Za-z0-9_-]{1,255}$": "an MLflow alias: letters, digits, _ and - only (at most 255)",
    r"^[0-9a-f]{8,64}$": "an MLflow run id: 8 to 64 characters of 0-9 and a-f (copy it from the MLflow UI)",
    r"^\d{4}-\d{2}-\d{2}$": "a date written YYYY-MM-DD, such as 2026-03-31",
    r"^[a-z0-9][a-z0-9-]{0,63}$": "an id of lower-case letters, digits and - (at most 64), starting with a letter or "
                                  "digit",
    r"^[^\W_][\w .'/+-]*$": "a term that starts with a letter or digit, then letters, digits, spaces and . ' / + - "
                             "only",
    r"^[A-Za-z][A-Za-z0-9+.-]*://[^@?#\s]+$": "a location such as s3://bucket/path, without user name, password, "
                                              "query (?) or fragment (#)",
}


def _suggestion(model: type[BaseModel], loc: KeyPath, key: str) -> str:
    """What to write instead of the unknown ``key`` at ``loc``: a close key of the same mapping, else where the
    key belongs when another mapping of the file has it (``task`` at the top belongs under ``evaluation:``)."""
    here = _model_at(model, loc[:-1])
    close = difflib.get_close_matches(key, sorted(here.model_fields), n=1) if here is not None else []
    if close and close[0] != key:
        return f" Did you mean {close[0]!r}?"
    homes = sorted(".".join(path) for path in _paths_of(model, key) if path[:-1] != tuple(
        str(part) for part in loc[:-1] if isinstance(part, str)))
    if homes:
        return f" It belongs under {homes[0].rpartition('.')[0]!r}: move it there." if "." in homes[0] else (
            " It belongs at the top of the file: move it there.")
    close = difflib.get_close_matches(key, sorted(_field_names(model)), n=1)
    return f" Did you mean {close[0]!r}?" if close and close[0] != key else " Remove it."


def _model_at(model: type[BaseModel], path: KeyPath) -> type[BaseModel] | None:
    """The schema model of the mapping at ``path`` (list indices skipped), or None when it is not one."""
    current: type[BaseModel] = model
    for part in path:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part)
        found = _models_in(info.annotation) if info is not None else []
        if not found:
            return None
        current = found[0]
    return current


def _paths_of(model: type[BaseModel], key: str, prefix: tuple[str, ...] = (),
              seen: frozenset[type[BaseModel]] = frozenset()) -> list[tuple[str, ...]]:
    """Every path (of field names) in the schema that ends in ``key``."""
    if model in seen:
        return []
    found: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        if name == key:
            found.append((*prefix, name))
        for inner in _models_in(info.annotation):
            found.extend(_paths_of(inner, key, (*prefix, name), seen | {model}))
    return found


def _field_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    pending: list[type[BaseModel]] = [model]
    seen: set[type[BaseModel]] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, info in current.model_fields.items():
            names.add(name)
            for candidate in _models_in(info.annotation):
                pending.append(candidate)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_models_in(arg))
    return found
