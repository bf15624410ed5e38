"""Checks of what the analysis concludes and who signed it: sign-offs, figures that do not reproduce, claims,
and decision grounds that changed since they were signed (or since they were pinned).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storybook.errors import Location, StorybookError
from storybook.review.checks.findings import Collector
from storybook.sources.loader import StorySource

if TYPE_CHECKING:
    from collections.abc import Mapping

    from storybook.analyse.claims import ClaimResult
    from storybook.analyse.decision import DecisionBrief
    from storybook.analyse.story import StoryAnalysis


def signoffs(found: Collector, directory: Path, roles: list[str], story: StorySource | None) -> None:
    from storybook.review.signoff import role_status, signoff_status

    try:
        statuses = signoff_status(directory)
    except StorybookError as error:
        found.error(error, "signoff-missing", directory / "signoffs.yaml")
        return
    for status in statuses:
        if not status.current:
            found.add("warning", Location(status.file, status.line), "signoff-stale",
                      f"the sign-off by {status.name} ({status.role}) on {status.date} no longer matches the "
                      f"story: {status.stale_because or 'content changed since'}",
                      f"review the change, then `storybook sign {directory.name} --name ... --role {status.role!r}`")
    if story is None:
        return
    for index, role in enumerate(role_status(statuses, roles)):
        if role.signed_by is not None:
            continue
        where = story.yaml.location(("signoffs", "required_roles", index))
        why = (f"only a stale sign-off (by {role.stale[-1].name} on {role.stale[-1].date}) before the content "
               "changed" if role.stale else "none yet")
        found.add("error", where, "signoff-missing",
                  f"the story needs a current sign-off by the role {role.role!r}: {why}",
                  f"after review, run `storybook sign {story.slug} --name ... --role {role.role!r}`")


def figure_mismatches(found: Collector, story: StorySource, analysis: StoryAnalysis) -> None:
    """A logged figure the evaluation set does not reproduce (storybook.analyse.reconcile) fails check on the
    metric's line in story.yaml, with both values and the likely cause."""
    # What in the evaluation: section could make the set give another figure, by the story's task.
    settings = {"binary": "fix positive_value or the threshold",
                "multiclass": "fix the classes' values or probability columns (or prediction_column)",
                "regression": "fix actual_column or prediction_column"}[story.config.task]
    for index, line in enumerate(analysis.card.metrics):  # in story.yaml's order
        mismatch = line.mismatch
        if line.measured_on == "evaluation" and line.recomputed is not None and line.recomputed.value is None:
            found.add("error", story.yaml.location(("metrics", index)), "figure-untold",
                      f"metric {line.spec.key!r} ({line.spec.kind}) was logged as {line.figure.value:.4f}, but the "
                      "evaluation set holds no case to count it among (e.g. no case flagged, for precision): the "
                      "page says it cannot be told, while a {{ metric(...) }} of it in prose still shows the "
                      "logged value",
                      "leave the figure out of metrics: and the prose, or evaluate where it counts something")
            continue
        if mismatch is None:
            continue
        found.add("error", story.yaml.location(("metrics", index)), "figure-mismatch",
                  f"metric {mismatch.key!r} ({mismatch.kind}) was logged as {mismatch.logged:.4f}, but the evaluation "
                  f"set gives {mismatch.recomputed:.4f}; likely cause: {mismatch.cause}. The page tells "
                  f"{mismatch.recomputed:.4f}",
                  f"log the figure from this evaluation set, {settings}, or say where it was measured with "
                  "measured_on (training, cross_validation or other)")


# The kinds a figure averaged over the classes, each weighted by its count, would be told wrongly as.
_NOT_WEIGHTED = ("recall", "precision", "f1", "macro_f1", "balanced_accuracy")


def autolog_averages(found: Collector, story: StorySource) -> None:
    """mlflow.sklearn.autolog's training_recall_score, training_precision_score and training_f1_score average the
    classes, each weighted by its count (unless autolog was given pos_label; its weighted recall is its accuracy):
    told as one class's recall, precision or F1, or as a macro average, the page would be wrong. A warning on the
    metric's line in story.yaml."""
    from storybook.analyse.reconcile import AUTOLOG_WEIGHTED

    for index, spec in enumerate(story.config.metrics):
        if spec.key in AUTOLOG_WEIGHTED and spec.kind in _NOT_WEIGHTED:
            found.add("warning", story.yaml.location(("metrics", index)), "autolog-average",
                      f"metric {spec.key!r} is told as {spec.kind}, but mlflow.sklearn.autolog logs it averaged over "
                      "the classes, each weighted by its count (unless autolog was given pos_label), so the page "
                      "may tell the wrong figure",
                      "log the figure of the class you mean yourself (e.g. sklearn.metrics.recall_score on the "
                      "training data), or give this one kind: other and a label that says it is averaged")


def claim_findings(found: Collector, story: StorySource, claims: tuple[ClaimResult, ...], against: str) -> None:
    """A claim that no longer holds fails check on its line in story.yaml."""
    for index, claim in enumerate(claims):  # in story.yaml's order
        where = story.yaml.location(("claims", index))
        if claim.status == "fails":
            found.add("error", where, "claim-failed", f"claim {claim.spec.id!r} no longer holds against "
                      f"{against}: {claim.evidence}", "fix the model or the data, or reword the claim and have it "
                      "reviewed")
        elif claim.status == "unchecked":
            found.add("warning", where, "claim-unchecked", f"claim {claim.spec.id!r} could not be checked: "
                      f"{claim.evidence}", "widen its period or point it at data that covers it")


def weak_groups_undiscussed(found: Collector, story: StorySource, analysis: StoryAnalysis) -> None:
    """A group the scan found and the page shows, which the story's authors have not acknowledged, warns on the
    line of ``scan:`` in story.yaml (a scan that could not run warns too: the page says so); an acknowledged group
    the scan no longer finds warns on its own line."""
    from storybook.analyse.weak_groups_story import group_key

    report = analysis.weak_groups
    if report is None:
        return
    where = story.yaml.location(("scan",))
    if report.result is None:
        found.add("warning", where, "weak-groups", f"the scan for weak groups could not run: {report.not_run}",
                  "remove scan: from story.yaml, or point evaluation: at a scored set with one row per case")
        return
    for finding in report.unacknowledged:
        found.add("warning", where, "weak-groups",
                  f"storybook found the group {finding.name!r} clearly worse off than the rest "
                  f"({finding.cases:,} of {finding.total:,} cases), and the story does not discuss it",
                  f"look at it; then add under scan.acknowledged: - group: {finding.name!r} with a reason "
                  "(or slice by its column)")
    still = {group_key(f.name) for f in report.result.found}
    spec = story.config.scan
    for index, known in enumerate(spec.acknowledged if spec is not None else ()):
        if group_key(known.group) not in still:
            found.add("warning", story.yaml.location(("scan", "acknowledged", index, "group")), "weak-groups",
                      f"scan.acknowledged names the group {known.group!r}, which the scan no longer finds",
                      "remove it, or check its spelling against the group names on the page")


def decision_since_signed(found: Collector, story: StorySource, brief: DecisionBrief) -> None:
    """Grounds whose outcome changed since the latest sign-off that recorded them."""
    from storybook.review.signoff import signoff_status

    try:
        recorded = [s for s in signoff_status(story.directory) if s.grounds]
    except StorybookError:
        return  # reported by the sign-off check
    if recorded:
        last = recorded[-1]
        decision_grounds(found, story, last.grounds, brief,
                          f"when {last.name} ({last.role}) signed on {last.date[:10]}", "")


def decision_grounds(found: Collector, story: StorySource, recorded: Mapping[str, str], brief: DecisionBrief,
                      then: str, now: str) -> None:
    """A ground that held ``then`` and does not ``now`` is an error on its criterion's line; other changes warn."""
    from storybook.analyse.decision import ground_changes

    assert story.config.decision is not None
    index = {criterion.id: i for i, criterion in enumerate(story.config.decision.criteria)}
    grounds = {ground.id: ground for ground in brief.grounds}
    hint = (f"review the decision brief; if the change is expected, sign the story again "
            f"(`storybook sign {story.slug} --name ... --role ...`)")
    for change in ground_changes(recorded, brief):
        where = story.yaml.location(("decision", "criteria", index[change.id]) if change.id in index
                                    else ("decision", "criteria"))
        ground = grounds.get(change.id)
        detail = f": {ground.sentence}" if ground is not None else ""
        after = {"fails": "fails", "cannot tell": "can no longer be told", "holds": "holds"}.get(
            change.after, "is no longer a ground")
        if change.stopped_holding:
            found.add("error", where, "decision-grounds",
                      f"the grounds for this decision have changed: {change.id!r} held {then} and now {after}"
                      f"{now}{detail}", hint)
        else:
            found.add("warning", where, "decision-grounds",
                      f"the ground {change.id!r} was '{change.before}' {then} and now {after}{now}{detail}", hint)
