"""The errors storybook raises, each with a message written for the person who has to fix it.

Every message says where (file:line when there is one), what was expected and how to fix it. The CLI prints
``str(error)`` without a traceback; ``--debug`` shows it.

    StorybookError                      anything storybook reports to a user
    ├── ConfigError                     storybook.yaml or command-line usage is wrong   (exit code 2)
    ├── StoryError                      one story cannot be built; the others still can (exit code 1)
    │   ├── SourceError                 a story file is malformed or fails the schema
    │   ├── ExpressionError             a {{ ... }} expression in story Markdown is not allowed or fails
    │   ├── ReferenceNotFound           a story names a model, run, metric or artifact MLflow does not have
    │   ├── UnexpectedError             anything storybook did not foresee, reported as that story's failure
    │   └── AggregateError              an aggregate of a scored set (storybook.aggregate) cannot be made, or a
    │                                   story's aggregate file cannot be read (foreign, malformed or newer)
    ├── TrackingError                   MLflow cannot be reached or answered with an error
    ├── LoggingError                    training code asked storybook.log_scored_set / log_production_series
    │                                   to log something a story could not read (nothing was logged)
    ├── FilesExistError                 `storybook init` / `new` would replace files (nothing was written)
    └── PublishError                    the site could not be written (nothing was replaced), or a story's
                                        PDF could not be printed (that story fails alone)
"""

from __future__ import annotations

import traceback as tracebacks
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AggregateError",
    "ConfigError",
    "ExpressionError",
    "FilesExistError",
    "Location",
    "LoggingError",
    "PublishError",
    "ReferenceNotFound",
    "SourceError",
    "StoryError",
    "StorybookError",
    "TrackingError",
    "UnexpectedError",
]


@dataclass(frozen=True)
class Location:
    """A place in a source file, shown to users as ``path:line``."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        shown = _display_path(self.path)
        return f"{shown}:{self.line}" if self.line else shown


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class StorybookError(Exception):
    """Base class: a problem a user can act on. ``str()`` gives the complete message."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None) -> None:
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class ConfigError(StorybookError):
    """The project configuration or the command line is wrong; nothing can be built."""


class StoryError(StorybookError):
    """One story cannot be built. Other stories are unaffected."""


class SourceError(StoryError, ValueError):
    """A story source (YAML or Markdown) is malformed or does not match the schema."""


class ExpressionError(StoryError, ValueError):
    """An expression written in story Markdown is not allowed or cannot be evaluated."""


class ReferenceNotFound(StoryError, LookupError):
    """A story refers to a model, version, run, metric, param or artifact that does not exist."""


class UnexpectedError(StoryError):
    """An error storybook did not foresee (a bug, or data no check anticipated), caught around one story so the
    others still build. The message names only the kind of error (its text may carry untrusted data);
    ``traceback`` holds the full traceback, which the CLI shows with ``--debug``."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None,
                 traceback: str = "") -> None:
        super().__init__(message, location=location, hint=hint)
        self.traceback = traceback

    @classmethod
    def from_exception(cls, error: BaseException, *, doing: str = "building this story",
                       location: Location | None = None) -> UnexpectedError:
        while_doing = f" while {doing}" if doing else ""
        return cls(f"unexpected error ({type(error).__name__}){while_doing}; run with --debug for the traceback",
                   location=location, hint="if the files and the data they name look right, please report this "
                   "as a storybook bug", traceback="".join(tracebacks.format_exception(error)))


class AggregateError(StoryError, ValueError):
    """A scored set cannot be aggregated as asked (a column missing, scores outside 0 to 1, too many slice
    values), or an aggregate file is not one storybook can read (not Parquet, not an aggregate, made by a newer
    storybook). A story that reads such a file fails alone; ``storybook aggregate`` writes nothing."""


class TrackingError(StorybookError, ConnectionError):
    """MLflow could not be reached, or answered with an error."""


class LoggingError(StorybookError, ValueError):
    """Training code asked storybook's logging API (:mod:`storybook.logging_api`) to log a scored set or a series
    in a shape a story could not read; the location is the calling line, and nothing was logged."""


class FilesExistError(StorybookError, FileExistsError):
    """``storybook init`` or ``storybook new`` would write files that exist already; nothing was written."""


class PublishError(StorybookError, OSError):
    """Writing the site failed (the previous output is left as it was), or printing one story's PDF did (that
    story fails; the others are published)."""


def user_code_location() -> Location | None:
    """The line of the user's own code that called into storybook (errors of the Python API point at it): the
    first frame outside the storybook package; None when that frame is a library's (the ``storybook`` command
    itself, run through typer) or the standard library's, which the user cannot fix."""
    import sys
    import sysconfig

    package = Path(__file__).resolve().parent
    frame = sys._getframe(1)
    while frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(package):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return None
    caller = Path(frame.f_code.co_filename)
    standard = Path(sysconfig.get_paths()["stdlib"]).resolve()
    if {"site-packages", "dist-packages"} & set(caller.parts) or caller.resolve().is_relative_to(standard):
        return None
    return Location(caller, frame.f_lineno)
