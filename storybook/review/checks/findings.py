"""What ``storybook check`` reports: a :class:`Finding` per problem, gathered in a :class:`CheckReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from storybook.errors import ConfigError, Location, StorybookError

if TYPE_CHECKING:
    from storybook.review.readability import PageReadability


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    file: str
    line: int | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "line": self.line, "code": self.code,
                "message": self.message}


@dataclass
class CheckReport:
    root: Path
    findings: list[Finding] = field(default_factory=list)
    stories: list[str] = field(default_factory=list)
    readability: dict[str, dict[str, PageReadability]] = field(default_factory=dict)  # slug -> version -> grades
    max_grade: float | None = None  # storybook.yaml's readability target
    tracebacks: list[str] = field(default_factory=list)  # of unforeseen errors, shown with --debug
    online: bool = False
    needs_online: list[str] = field(default_factory=list)  # what was not checked because it needs MLflow
    pinned_offline: list[str] = field(default_factory=list)  # pinned stories checked without MLflow

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def shown(path: Path) -> str:
    """A path as GitHub and people expect it: relative to the working directory (the repository root in CI)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


class Collector:
    def __init__(self, report: CheckReport) -> None:
        self.report = report

    def add(self, severity: Severity, location: Location | Path, code: str, message: str,
            hint: str | None = None) -> None:
        if isinstance(location, Path):
            location = Location(location)
        text = f"{message} (fix: {hint})" if hint else message
        finding = Finding(severity, shown(location.path), location.line, code, text)
        if any((f.file, f.line, f.message) == (finding.file, finding.line, finding.message)
               for f in self.report.findings):
            return  # the same problem found by two checks (e.g. the expression check and the build)
        self.report.findings.append(finding)

    def error(self, error: StorybookError, code: str, fallback: Path) -> None:
        self.add("error", error.location or Location(fallback), code, error.message, error.hint)


def config_finding(error: ConfigError) -> Finding:
    location = error.location or Location(Path("storybook.yaml"))
    text = f"{error.message} (fix: {error.hint})" if error.hint else error.message
    return Finding("error", shown(location.path), location.line, "config", text)
