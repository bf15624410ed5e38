"""The ``storybook`` command: parse options, call the library, print one-line errors with the next step."""

from __future__ import annotations

import gc
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from storybook.errors import ConfigError, StorybookError, UnexpectedError
from storybook.resolve.tracking import scrub_known
from storybook.resolve.waiting import use_console
from storybook.review.safe import for_terminal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.progress import Progress, TaskID

    from storybook.review.check import Finding

__all__ = ["app", "main"]

EXIT_OK, EXIT_STORIES_FAILED, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="storybook",
    help="Turn MLflow runs into model cards, cost-of-error stories and trust reports that people who never "
    "open a notebook can read and act on.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False, "collector_off": False}
VERBOSE_ENV = "STORYBOOK_VERBOSE"  # the same name as storybook.resolve.mlflow_source.VERBOSE_ENV (a test checks)

ProjectArg = Annotated[Path, typer.Argument(
    help="The project folder (the one holding storybook.yaml), or any folder inside it.",
    show_default="the current folder")]


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also show MLflow's own INFO lines (they are "
                                          "left out otherwise; its warnings and errors are always shown).")] = False,
) -> None:
    _state["debug"] = debug or bool(os.environ.get("STORYBOOK_DEBUG"))
    use_console(out)  # a slow tracking server's spinner, drawn with the build's progress bars
    if verbose:  # read where storybook opens MLflow (storybook.resolve.mlflow_source), in worker processes too
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.pop(VERBOSE_ENV, None)


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Map our errors to one message and an exit code: 2 for project or usage errors, 1 for story errors (and
    for an error storybook did not foresee, shown in one line; its traceback with --debug)."""
    try:
        yield
    except ConfigError as error:
        _report(error)
        raise typer.Exit(EXIT_USAGE) from None
    except StorybookError as error:
        _report(error)
        raise typer.Exit(EXIT_STORIES_FAILED) from None
    except Exception as error:  # a one-line message, never a bare traceback
        _report(UnexpectedError.from_exception(error, doing=""))
        raise typer.Exit(EXIT_STORIES_FAILED) from None


def _report(error: StorybookError) -> None:
    """One located message on stderr; with --debug the traceback first. Text from story files and MLflow is
    shown, never obeyed (see :func:`storybook.review.safe.for_terminal`)."""
    if _state["debug"]:
        # The error's own traceback: a story's failure is reported after it was caught, where format_exc()
        # would print "NoneType: None". One that crossed from a worker process has none left to show.
        if isinstance(error, UnexpectedError) and error.traceback:
            shown = error.traceback
        elif error.__traceback__ is not None:
            shown = "".join(traceback.format_exception(error))
        else:
            shown = ""
        if shown:
            err.print(for_terminal(scrub_known(shown)), markup=False)
    err.print(f"error: {for_terminal(scrub_known(str(error)))}", markup=False)


@app.command()
def build(
    project: ProjectArg = Path("."),
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write the site here instead of the "
                                                  "project's site folder.")] = None,
    pdf: Annotated[bool | None, typer.Option("--pdf/--no-pdf", help="Also write one PDF per story.",
                                             show_default="the project's setting")] = None,
    story: Annotated[list[str] | None, typer.Option("--story", "-s", help="Build only this story (repeat "
                                                     "for several).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never talk to MLflow: build every story from "
                                          "its pinned snapshot (see `storybook pin`).")] = False,
    backend: Annotated[str, typer.Option("--backend", help="site: storybook's own HTML and PDFs. quarto: also "
                                         "generate a Quarto project in the site's quarto/ folder and run "
                                         "`quarto render` on it (HTML and Typst PDF).")] = "site",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Analyse and render every story and write every "
                                           "PDF afresh, without reading or writing .storybook/cache/.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes that render stories "
                                             "and PDFs (1: all in this process).",
                                             show_default="the number of cores")] = None,
) -> None:
    """Resolve every story (from its pinned snapshot, else MLflow) and write the static site (and PDFs).

    Stories whose sources, snapshot, resolved values and templates are unchanged are taken from the cache in
    .storybook/cache/ instead of being rendered again.

    Exit codes: 0 every story built; 1 some stories failed (the others were published);
    2 the project or the command line is wrong (nothing was written).
    """
    from storybook.build import build as run_build

    _imports_done()

    built: list[str] = []  # printed together: one rich print for a thousand lines, not a thousand prints

    def show_built() -> None:
        if built:
            out.print("\n".join(f"[green]built[/green]  {escape(for_terminal(slug))}" for slug in built))
            built.clear()

    def progress(slug: str, error: StorybookError | None) -> None:
        if error is None:
            built.append(slug)
        else:
            show_built()
            out.print(f"[red]failed[/red] {escape(for_terminal(slug))}")
            _report(error)

    try:
        with _exit_codes(), _progress_bars() as bars:
            report = run_build(project, out=out_dir, pdf=pdf, only=story or None, on_story=progress,
                               offline=offline, backend=backend, cache=not no_cache, jobs=jobs, progress=bars)
    finally:
        show_built()
    summary = f"{len(report.built)} built, {len(report.failed)} failed"
    if report.pdfs:
        summary += f", {len(report.pdfs)} PDFs"
    if report.cached or report.pdfs_reused:
        summary += f" ({len(report.cached)} of {len(report.built)} stories"
        summary += f" and {len(report.pdfs_reused)} of {len(report.pdfs)} PDFs" if report.pdfs else ""
        summary += " unchanged, taken from the cache)"
    if report.carried:
        summary += f"; {len(report.carried)} other stories kept as the previous site had them"
    out.print(f"{summary}; site at {report.out}/index.html", markup=False)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_STORIES_FAILED)


_BAR_LABELS = {"resolved": "stories resolved", "rendered": "stories rendered", "pdfs": "PDFs written"}


class _Bars:
    """Rich progress bars for a build: stories resolved, stories rendered, PDFs written."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def start(self, task: str, total: int) -> None:
        """Show the bar ``task`` out of ``total``; started again, its total changes and what is done stays."""
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(_BAR_LABELS.get(task, task), total=total)
        else:
            self.progress.update(self.tasks[task], total=total)

    def advance(self, task: str) -> None:
        if task in self.tasks:
            self.progress.advance(self.tasks[task])


@contextmanager
def _progress_bars() -> Iterator[_Bars | None]:
    """Progress bars on a terminal; nothing when the output is a file or a pipe, or in CI (``CI`` is set)."""
    if not out.is_terminal or os.environ.get("CI"):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<17}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        yield _Bars(progress)


ExampleFolder = Annotated[Path, typer.Argument(
    help="The example project's folder: one that holds it already (trained and built again), or a new or empty "
    "folder, into which its storybook.yaml and stories are written first (no file is ever replaced).",
    show_default="the current folder")]


@app.command()
def example(
    project: ExampleFolder = Path("."),
    build_site: Annotated[bool, typer.Option("--build/--no-build", help="Build the site (and PDFs) after "
                                             "training.")] = True,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes for the build.",
                                             show_default="the number of cores")] = None,
) -> None:
    """Train the bundled example's models into the project's local MLflow store, then build.

    Trains two real scikit-learn models on the breast-cancer data that scikit-learn ships, logs them
    (params, metrics, cross-validation folds, datasets, the scored evaluation set and a simulated
    production series) to the sqlite store named in storybook.yaml, registers them as versions 1 and 2
    with the aliases champion and challenger; also a diabetes progression regression and a three-way
    student-support model (simulated students), each registered with the alias champion. Then builds the
    site and PDFs. In a folder without storybook.yaml (a new or empty one, outside any other project), first
    writes the example project there: storybook.yaml and the stories.
    """
    from storybook.example import train_example
    from storybook.example_files import has_project, write_example

    _imports_done()

    with _exit_codes():
        if not has_project(project):
            written = write_example(project)
            stories = sorted({path.parent.name for path in written if path.name == "story.yaml"})
            where = "this folder" if project.resolve() == Path.cwd().resolve() else for_terminal(str(project))
            out.print(f"wrote the example project into {escape(where)}: storybook.yaml and {len(stories)} stories "
                      f"({', '.join(stories)})")
        summary = train_example(project)
    out.print(summary)
    if build_site:
        build(project, out_dir=None, pdf=True, story=None, offline=False, jobs=jobs)


@app.command()
def init(
    project: Annotated[Path, typer.Argument(help="The new project's folder (created if needed).",
                                            show_default="the current folder")] = Path("."),
    title: Annotated[str | None, typer.Option("--title", help="The site's title.")] = None,
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="The MLflow tracking URI the stories "
                                                     "read (without credentials; ${VAR} is read from the "
                                                     "environment).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ask nothing: take the defaults for what no flag "
                                      "gives.")] = False,
) -> None:
    """Start a project: storybook.yaml, a .gitignore for site/ and .storybook/, a GitHub Actions workflow
    (.github/workflows/storybook.yml), a pre-commit config running `storybook check`, and docs/schema/ (the JSON
    Schema editors check storybook.yaml and the stories with); keep or delete any.

    Never replaces a file: when one exists, says which and writes nothing (exit code 1).
    """
    from storybook.commands.init import DEFAULT_TRACKING_URI, init_project

    if title is None:
        title = "Model stories" if yes else typer.prompt("Site title", default="Model stories")
    if tracking_uri is None and not yes:
        tracking_uri = typer.prompt("MLflow tracking URI (leave as is to read MLFLOW_TRACKING_URI)",
                                    default=os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI)
    with _exit_codes():
        written = init_project(project, title=title, tracking_uri=tracking_uri)
    root = project.resolve()
    for path in written:
        out.print(f"wrote {for_terminal(path.resolve().relative_to(root).as_posix())}", markup=False)
    out.print("next: storybook new SLUG --model NAME@ALIAS, write the marked lines, then storybook build",
              markup=False)


@app.command()
def new(
    slug: Annotated[str, typer.Argument(help="The story's name: its folder under stories/ (e.g. churn-risk).")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="The registered model: NAME@ALIAS, or NAME "
                                              "with --version.")] = None,
    version: Annotated[int | None, typer.Option("--version", min=1, help="The model's version number (with "
                                                "--model NAME).")] = None,
    run: Annotated[str | None, typer.Option("--run", help="A run id, instead of a registered model.")] = None,
    project: Annotated[Path, typer.Option("--project", "-p", help="The project folder.")] = Path("."),
) -> None:
    """Draft stories/SLUG/ from what MLflow holds for the model: its recognised metrics, the scored set and the
    task it looks like, slices, series and aliases. Places only people can write are marked
    "[storybook: to write]"; the story builds once each is written. Never replaces a file.
    """
    from storybook.commands.new import new_story
    from storybook.sources.placeholders import placeholder_lines

    with _exit_codes():
        written = new_story(project, slug, model=model, version=version, run_id=run)
    marks = 0
    for path in written:
        count = len(placeholder_lines(path.read_text(encoding="utf-8")))
        marks += count
        places = f" ({count} place{'s' if count > 1 else ''} to write)" if count else ""
        out.print(f"wrote {for_terminal(str(path))}{places}",
                  markup=False)
    out.print(f"next: write the {marks} marked places, then storybook check and storybook build", markup=False)


@app.command()
def aggregate(
    source: Annotated[str, typer.Argument(help="The scored set: a Parquet or CSV file, or a glob of them "
                                          "(quote it: 'scored/*.parquet').")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The aggregate to write (a .parquet file).")],
    label: Annotated[str | None, typer.Option("--label", help="The column of true outcomes (two values).")]
    = None,
    score: Annotated[str | None, typer.Option("--score", help="The column of the model's chances, 0 to 1.")]
    = None,
    task: Annotated[str, typer.Option("--task", help="binary (--label, --score), regression (--actual, "
                                      "--prediction) or multiclass (--label, --probability ...).")] = "binary",
    actual: Annotated[str | None, typer.Option("--actual", help="Regression: the column of actual amounts.")]
    = None,
    prediction: Annotated[str | None, typer.Option("--prediction", help="Regression: the column of predicted "
                                                   "amounts; multiclass: of the called class (else the most "
                                                   "likely one).")] = None,
    probability: Annotated[list[str] | None, typer.Option("--probability", help="Multiclass: CLASS=COLUMN, the "
                                                          "column of that class's chance (repeat for each "
                                                          "class).")] = None,
    positive: Annotated[str, typer.Option("--positive", help="The label value that counts as positive, as the "
                                          "column spells it.")] = "1",
    slices: Annotated[list[str] | None, typer.Option("--slice", help="A column to count separately by (repeat "
                                                      "for several; at most 1,000 values each).")] = None,
    bins: Annotated[int, typer.Option("--bins", help="Score bins over 0 to 1 (the scores themselves when there "
                                      "are fewer different ones); regression: bins of the errors.")] = 1000,
    replicates: Annotated[int, typer.Option("--replicates", help="Bootstrap replicates for the figures' "
                                            "ranges.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the replicates.")] = 0,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (on this machine, in bounded memory) or spark (the "
                                          "active Spark session, or a local one).")] = "duckdb",
    memory_limit: Annotated[str, typer.Option("--memory-limit", help="The most memory the engine may use; the "
                                              "rest spills to disk beside --out.")] = "1GB",
    log_to_run: Annotated[str | None, typer.Option("--log-to-run", help="Log the aggregate to this MLflow run "
                                                   "(read from MLFLOW_TRACKING_URI or --tracking-uri).")] = None,
    artifact_path: Annotated[str, typer.Option("--artifact-path", help="Where in the run's artifacts.")]
    = "evaluation/aggregate.parquet",
    tracking_uri: Annotated[str | None, typer.Option("--tracking-uri", help="The MLflow tracking URI for "
                                                     "--log-to-run.")] = None,
) -> None:
    """Aggregate a scored set of any size into a small file of counts per slice, label and score bin (regression:
    per slice and error bin, with the sums of the errors), with bootstrap replicates, that a story reads instead
    of the rows; optionally log it to an MLflow run."""
    from storybook.commands.aggregate import aggregate_scored_set, log_aggregate, summary

    _imports_done()

    with _exit_codes():
        made = aggregate_scored_set(source, out_file, label=label, score=score, positive=positive,
                                    task=task,  # type: ignore[arg-type]  # checked inside, with a located error
                                    actual=actual, prediction=prediction,
                                    probabilities=_class_columns(probability), slices=slices or [], bins=bins,
                                    replicates=replicates, seed=seed, engine=engine, memory_limit=memory_limit)
        for line in summary(made):
            out.print(for_terminal(line), markup=False)
        if log_to_run is not None:
            if tracking_uri is not None:
                import mlflow

                mlflow.set_tracking_uri(tracking_uri)
            with _bounded_requests():
                logged = log_aggregate(made.path, run_id=log_to_run, artifact_path=artifact_path)
            out.print(for_terminal(f"logged it to run {logged.run_id} as {logged.artifact_path}"), markup=False)


@contextmanager
def _bounded_requests() -> Iterator[None]:
    """MLflow's requests waited on as storybook's reads are: MLFLOW_HTTP_REQUEST_TIMEOUT and _MAX_RETRIES when
    set, else 10 s and 1 retry (MLflow's own defaults, 120 s and 7 retries with backoff, kept a command silent for
    minutes on a server that is down)."""
    from storybook.resolve.mlflow_source import DEFAULT_RETRIES, DEFAULT_TIMEOUT

    bounds = {"MLFLOW_HTTP_REQUEST_TIMEOUT": str(DEFAULT_TIMEOUT),
              "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(DEFAULT_RETRIES), "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    added = [name for name in bounds if name not in os.environ]
    for name in added:
        os.environ[name] = bounds[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _class_columns(given: list[str] | None) -> dict[str, str] | None:
    """--probability CLASS=COLUMN options as {class: column}; a usage error for one without "="."""
    if not given:
        return None
    pairs = {}
    for item in given:
        name, sep, column = item.partition("=")
        if not sep or not name or not column:
            raise ConfigError(f"--probability {item!r} should be CLASS=COLUMN", hint="e.g. --probability "
                              "support=p_support, once per class")
        pairs[name] = column
    return pairs


StoryOption = Annotated[list[str] | None, typer.Option("--story", "-s", help="Only this story (repeat for "
                                                       "several).")]


def _shown_value(value: object) -> str:
    return "(none)" if value is None else repr(value) if isinstance(value, str) else str(value)


@app.command()
def pin(
    project: ProjectArg = Path("."),
    story: StoryOption = None,
) -> None:
    """Resolve stories against MLflow and write each one's pinned snapshot (stories/<slug>/snapshot.json).

    Builds then use the snapshot instead of MLflow; refreshing it is an explicit change to review.
    Exit codes: 0 every story pinned; 1 some stories failed; 2 the project or command line is wrong.
    """
    from storybook.resolve.snapshot import SnapshotChange
    from storybook.review.pin import pin as run_pin

    _imports_done()

    def progress(slug: str, change: SnapshotChange | None, error: StorybookError | None) -> None:
        slug = escape(for_terminal(slug))
        if error is not None or change is None:
            out.print(f"[red]failed[/red] {slug}")
            if error is not None:
                _report(error)
            return
        if change.created:
            out.print(f"[green]pinned[/green] {slug}: wrote {change.path.name}")
        elif not change.changes:
            out.print(f"[green]pinned[/green] {slug}: unchanged")
        else:
            out.print(f"[green]pinned[/green] {slug}: {len(change.changes)} values changed")
            for key, old, new in change.changes[:50]:
                out.print(for_terminal(f"  {key}: {_shown_value(old)} -> {_shown_value(new)}"), markup=False)
            if len(change.changes) > 50:
                out.print(f"  ... and {len(change.changes) - 50} more (see `git diff`)")

    with _exit_codes():
        report = run_pin(project, only=story or None, on_story=progress)
    out.print(f"{len(report.pinned)} pinned, {len(report.failed)} failed")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_STORIES_FAILED)


@app.command()
def promote(
    model: Annotated[str, typer.Argument(help="The registered model's name.")],
    alias: Annotated[str, typer.Argument(help="The alias to move, e.g. champion.")],
    version: Annotated[int | None, typer.Argument(help="The version it now points at.", show_default=False)] = None,
    project: Annotated[Path, typer.Option("--project", "-p", help="The project folder.")] = Path("."),
    remove: Annotated[bool, typer.Option("--remove", help="Remove the alias instead.")] = False,
) -> None:
    """Move a registered model's alias and record when (a tag MLflow keeps; MLflow itself does not).

    The model history in a story (story.yaml history:) dates alias moves from these records.
    """
    from storybook.promote import promote_in_project

    _imports_done()

    if (version is None) != remove:
        err.print("error: give the VERSION to point the alias at, or --remove (not both)")
        raise typer.Exit(EXIT_USAGE)
    with _exit_codes():
        out.print(for_terminal(promote_in_project(project, model, alias, None if remove else version)), markup=False)


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


@app.command()
def check(
    project: ProjectArg = Path("."),
    output: Annotated[CheckFormat, typer.Option("--format", "-f", help="text for people, json, or github "
                                                "(workflow annotations).")] = CheckFormat.text,
    online: Annotated[bool, typer.Option("--online", help="Also resolve against MLflow and report pinned "
                                         "values it now disagrees with.")] = False,
    story: StoryOption = None,
) -> None:
    """Lint every story: schema, every {{ expression }} and (against the pinned snapshot) every reference,
    model-card sections, literal numbers in prose, readability, chart alt text, sign-offs. With --online also
    pinned values MLflow disagrees with, and everything of an unpinned story; without it, check says what it
    could not look at ("not checked offline" lines; "needs_online" in JSON).

    Exit codes: 0 no errors (warnings may be shown); 1 some story has errors; 2 the project or command line
    is wrong.
    """
    from storybook.review.check import (
        check_project,
        config_finding,
        escape_github_data,
        format_github,
        format_json,
    )

    _imports_done()

    def show(findings: list[Finding], checked: int, needs_online: list[str] | None = None) -> None:
        if output is CheckFormat.json:
            sys.stdout.write(scrub_known(format_json(findings, online=online, needs_online=needs_online)))
        elif output is CheckFormat.github:
            sys.stdout.write(scrub_known(format_github(findings)))
            for gap in needs_online or []:  # a notice in the run's summary, never an error
                sys.stdout.write(f"::notice title=storybook check (offline)::{escape_github_data(gap)}\n")
        else:
            _print_findings(findings, checked)

    try:
        report = check_project(project, online=online, only=story or None)
    except ConfigError as error:
        show([config_finding(error)], 0)
        raise typer.Exit(EXIT_USAGE) from None
    if _state["debug"]:
        for shown in report.tracebacks:
            err.print(for_terminal(scrub_known(shown)), markup=False)
    show(report.findings, len(report.stories), report.needs_online)
    if output is CheckFormat.text:
        for gap in report.needs_online:
            out.print(f"not checked offline (run `storybook check --online`): {escape(for_terminal(gap))}")
        target = f"; target grade {report.max_grade:g} or below" if report.max_grade is not None else ""
        for slug, versions in report.readability.items():
            grades = ", ".join(f"{version} grade {r.grade:.1f} (reading ease {r.reading_ease:.0f}, {r.words:,} words)"
                               for version, r in versions.items())
            out.print(f"readability of {escape(for_terminal(slug))}: {grades}{target}")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_STORIES_FAILED)


def _print_findings(shown: Sequence[Finding], checked: int) -> None:
    """One line per finding: a line break inside one (from a story's text it quotes) is shown as \\n, so no
    quoted text can print a line of its own, such as a forged summary."""
    for f in shown:
        mark = "[red]error[/red]" if f.severity == "error" else "[yellow]warning[/yellow]"
        where = f"{f.file}:{f.line}" if f.line else f.file
        message = escape(_one_line(for_terminal(scrub_known(f.message))))
        out.print(f"{escape(_one_line(for_terminal(where)))}: {mark} {message} [dim]\\[{f.code}][/dim]")
    errors = sum(f.severity == "error" for f in shown)
    out.print(f"{checked} stories checked: {errors} errors, {len(shown) - errors} warnings")


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n")


@app.command()
def sign(
    story: Annotated[str, typer.Argument(help="The story's slug (its folder under stories/).")],
    name: Annotated[str, typer.Option("--name", help="Who signs.")],
    role: Annotated[str, typer.Option("--role", help="In which role, e.g. 'clinical lead'.")],
    note: Annotated[str, typer.Option("--note", help="What was checked, or conditions.")] = "",
    project: Annotated[Path, typer.Option("--project", "-p", help="The project folder.")] = Path("."),
    decision: Annotated[str, typer.Option("--decision", help="Record your own decision on the story's decision "
                                          "brief: go, no-go or go-with-conditions (needs --reason).")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why you decided so, shown next to the computed "
                                        "recommendation.")] = "",
) -> None:
    """Sign the story's current content (sources + snapshot, storybook.yaml and the project's templates):
    appends to stories/<slug>/signoffs.yaml. Only a pinned story can be signed.

    The sign-off is bound to a hash of the content; when the content changes it shows as stale. For a story
    with a decision: section it also records the computed recommendation and each ground's outcome, and with
    --decision your own decision and its reason (shown as an overrule when it differs).
    """
    from storybook.review.decide import current_brief, decision_argument
    from storybook.review.signoff import append_signoff, require_pinned
    from storybook.sources.loader import BrokenStory, load_project

    _imports_done()

    with _exit_codes():
        loaded = load_project(project, [story])
        target = loaded.stories[0]
        if isinstance(target, BrokenStory):
            raise target.error
        require_pinned(target.directory)  # before reading anything from MLflow
        chosen = decision_argument(decision) if decision else ""
        if chosen and target.config.decision is None:
            raise ConfigError(f"story {story!r} has no decision: section to decide on",
                              hint="declare the question and its grounds under decision: in story.yaml")
        brief = current_brief(loaded, target)
        grounds = {g.id: g.outcome for g in brief.grounds} if brief is not None else None
        signed = append_signoff(target.directory, name=name, role=role, note=note, decision=chosen, reason=reason,
                                recommendation=brief.recommendation if brief is not None else "", grounds=grounds)
    out.print(f"signed {escape(for_terminal(story))} as {escape(for_terminal(signed.role))} "
              f"({escape(for_terminal(signed.name))}), content "
              f"{signed.content_hash[:19]}, in {signed.file.name}")
    if brief is not None:
        out.print(f"storybook recommends {brief.recommendation}" + (
            "" if not chosen else f"; you decided {chosen}" + (
                " (agreeing)" if chosen == brief.recommendation else ", which overrules it, with your reason")))


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    html = "html"


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="A git revision (e.g. origin/main, HEAD~1, a tag or a sha) or a "
                                       "snapshot.json file.")],
    new: Annotated[str | None, typer.Argument(help="A git revision, a snapshot.json file, or '.' for the work "
                                              "tree as it is (uncommitted edits included).",
                                              show_default="the work tree")] = None,
    worktree: Annotated[bool, typer.Option("--worktree", help="Compare OLD with the work tree (the same as "
                                           "giving '.' or no NEW).")] = False,
    output: Annotated[DiffFormat, typer.Option("--format", "-f", help="text, markdown or html (a "
                                               "self-contained page).")] = DiffFormat.text,
    project: Annotated[Path, typer.Option("--project", "-p", help="The project folder.")] = Path("."),
) -> None:
    """Compare two versions of the stories: what the analysis concludes (recommendation and grounds, trust
    levels and checks, claims, slices), the settings behind it (cost assumptions, capacity, thresholds, every
    story.yaml and storybook.yaml key), template changes, every number that changed (and whether the change
    is larger than its uncertainty), sign-off entries added, edited or removed, and the prose word by word.

    OLD is a git revision; NEW another one or the work tree ('.', --worktree, or nothing). Git revisions are
    read with git itself; your work tree is never checked out or changed.
    """
    from storybook.review.diff import diff_revisions, diff_snapshot_files, looks_like_file
    from storybook.review.render_diff import format_html, format_markdown, format_text

    _imports_done()

    with _exit_codes():
        if worktree and new not in (None, "."):
            raise ConfigError(f"--worktree compares {old} with the work tree: give no second revision "
                              f"(not {new!r})", hint=f"e.g. `storybook diff {old} --worktree`")
        if new is not None and looks_like_file(old) and looks_like_file(new):
            result = diff_snapshot_files(Path(old), Path(new))
        elif looks_like_file(old) or (new is not None and looks_like_file(new)):
            raise ConfigError("compare two git revisions (or a revision and the work tree) or two snapshot "
                              "files, not one of each")
        else:
            result = diff_revisions(project, old, None if worktree else new)
    formats = {DiffFormat.text: format_text, DiffFormat.markdown: format_markdown, DiffFormat.html: format_html}
    text = formats[output](result)
    # Text and Markdown land in terminals and CI logs: control characters shown, no workflow commands.
    sys.stdout.write(text if output is DiffFormat.html else for_terminal(text))


@app.command()
def review(
    base: Annotated[str, typer.Option("--base", help="The git revision to compare with, e.g. origin/main.")],
    project: Annotated[Path, typer.Option("--project", "-p", help="The project folder.")] = Path("."),
    site_url: Annotated[str | None, typer.Option("--site-url", help="Where the built site is published, to "
                                                 "link each story's page.")] = None,
) -> None:
    """Print a pull-request comment body (Markdown): checks, number changes, prose changes and sign-offs
    against --base, with links to the built pages. Always under GitHub's 65,536-character limit.
    """
    from storybook.review.comment import review_comment

    _imports_done()

    with _exit_codes():
        body = review_comment(project, base, site_url=site_url)
    sys.stdout.write(for_terminal(body))


@app.command()
def schema(
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="The folder to write the two schema files "
                                                  "into.", show_default="docs/schema in the project (the folder "
                                                  "holding storybook.yaml, here or above), else here")] = None,
) -> None:
    """Write the JSON Schema of storybook.yaml and story.yaml (storybook.schema.json, story.schema.json), so that
    editors check and complete the files as you type.

    A file whose first line is `# yaml-language-server: $schema=docs/schema/storybook.schema.json` (for a story:
    `$schema=../../docs/schema/story.schema.json`) is validated by editors with the YAML language server (VS Code's
    YAML extension, Neovim, Helix...). The schema comes from the models storybook validates with; run this again
    after upgrading storybook.
    """
    from storybook.sources.json_schema import write_schemas
    from storybook.sources.loader import find_project_root

    if out_dir is None:  # where the files' `$schema=docs/schema/...` lines look, whichever folder this runs in
        try:
            out_dir = find_project_root(Path(".")) / "docs" / "schema"
        except ConfigError:
            out_dir = Path("docs/schema")
    with _exit_codes():
        try:
            written = write_schemas(out_dir)
        except OSError as error:
            raise ConfigError(f"cannot write the schema files into {out_dir} ({error.strerror})",
                              hint="choose another folder with --out") from None
    out.print(for_terminal(f"wrote {' and '.join(str(path) for path in written)}"), markup=False)


@app.command()
def serve(
    project: ProjectArg = Path("."),
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1 to serve the preview on.")] = 8000,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Build the preview here instead of the "
                                                  "project's site folder.")] = None,
) -> None:
    """Preview the site on 127.0.0.1 and rebuild it whenever a story, storybook.yaml or a template changes.

    The preview is built into the project's site_dir (or --out); each build says where. It answers only
    requests for 127.0.0.1, localhost or [::1] on its port, and lists no folders. A failed rebuild never stops
    the preview: story errors show on the index, and a broken storybook.yaml (or any error storybook did not
    foresee) shows in place of the index until it is fixed; the pages it leaves behind say so at their top. An
    open page reloads by itself after each rebuild (only the served copy gets the small script that does it; the
    built site stays free of scripts). Stop with Ctrl-C.
    """
    from storybook.build import BuildReport
    from storybook.serve import preview

    _imports_done()

    def report(result: BuildReport | None, error: StorybookError | None) -> None:
        if error is not None:
            _report(error)
        elif result is not None:
            out.print(f"built: {len(result.built)} built, {len(result.failed)} failed, into {result.out}", markup=False)

    try:
        preview(project, port=port, out=out_dir, on_report=report,
                on_ready=lambda url: out.print(f"previewing on {url}/index.html (Ctrl-C to stop)"))
    except ConfigError as error:
        _report(error)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as error:
        err.print(f"error: cannot serve on 127.0.0.1:{port} ({error.strerror})\n  fix: choose another --port")
        raise typer.Exit(EXIT_USAGE) from None


def _imports_done() -> None:
    """Called by a command once it has imported what it runs: what is in memory now (modules, classes,
    functions, made to last as long as the process) is frozen out of the cyclic garbage collector's reach, which
    then runs again for the command's own work (see :func:`main`)."""
    if _state["collector_off"]:
        gc.freeze()
        gc.enable()
        _state["collector_off"] = False


def main() -> None:
    """Entry point of the console script.

    A command imports thousands of objects that live as long as the process; Python's cyclic garbage collector
    would walk all of them again and again while they are imported, during the work and at exit. So it is off
    until the command has imported what it runs (:func:`_imports_done`), and everything then in memory is frozen
    out of its reach; at exit everything is frozen, so the last collection is short. That took a one-page
    rebuild in a new process from 0.93 s to 0.77 s."""
    gc.disable()
    _state["collector_off"] = True
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; the previous site is untouched")
        sys.exit(130)
    finally:
        gc.freeze()
