"""The glossary of a story: the words a reader may not know, in plain words and in the story's own terms.

storybook ships default entries (:data:`DEFAULT_TERMS`: recall, precision, threshold, false positive, ROC AUC,
drift, guardrail...), each for the tasks it belongs to: a regression story gets the typical error, bias, R² and
RMSE and no threshold or recall; a multiclass story each class's "found" and "right when it says so"; the
task-blind words (interval, drift, slice...) go to every story. Each has a plain definition and, where it helps,
the same idea told in the story's own
vocabulary (:class:`storybook.analyse.plain.Vocabulary`): "patients who have a harmless tumour but are put at
the front of the queue anyway". A project (``glossary:`` in storybook.yaml) and a story (``glossary:`` in
story.yaml) may add terms, replace an entry whole (by its name, case-insensitive) or drop one (``null``); the
story's word wins over the project's, the project's over storybook's.

An author's ``in_story`` text may use the placeholders ``{unit}``, ``{positive}``, ``{negative}`` and
``{flagged}``; they are replaced by plain text substitution (never ``str.format``), so no other braces mean
anything. Every text here is plain text: the page escapes it.

:data:`JARGON` lists machine-learning words that need an entry before a reader sees them; ``storybook check``
flags those an author uses that the story's glossary does not define.

Pure: no I/O. The order of :func:`build_glossary`'s result is alphabetical, case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from storybook.analyse.comparison import in_use_alias
from storybook.analyse.plain import Vocabulary, capitalise, full_stop, in_sentence
from storybook.metrics.kinds import TASKS, Task
from storybook.sources.schema import DEFAULT_IN_USE_ALIAS, GlossaryEntry, ProjectConfig, StoryConfig

__all__ = [
    "DEFAULT_TERMS", "JARGON", "DefaultTerm", "Term", "TermOverride", "anchor_for", "build_glossary", "story_glossary",
]


@dataclass(frozen=True)
class Term:
    """One glossary entry as the page shows it. ``also`` are other spellings linked to the same entry."""

    name: str
    plain: str
    in_story: str | None
    also: tuple[str, ...]
    anchor: str

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.also)


@dataclass(frozen=True)
class TermOverride:
    """An entry from storybook.yaml or story.yaml (already validated by the schema)."""

    plain: str
    in_story: str | None = None
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Context:
    words: Vocabulary
    false_positive_means: str | None
    false_negative_means: str | None
    slice_labels: tuple[str, ...]
    in_use_alias: str = DEFAULT_IN_USE_ALIAS
    task: Task = "binary"


InStory = Callable[[_Context], str | None]


@dataclass(frozen=True)
class DefaultTerm:
    """A default entry, for the stories of ``tasks`` only (a regression story has no threshold or recall)."""

    name: str
    plain: str
    in_story: InStory | None = None
    also: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = TASKS


_BINARY: tuple[Task, ...] = ("binary",)
_CLASSIFIERS: tuple[Task, ...] = ("binary", "multiclass")
_REGRESSION: tuple[Task, ...] = ("regression",)
_MULTICLASS: tuple[Task, ...] = ("multiclass",)


def _amount(c: _Context) -> str:
    return c.words.amount_unit or "units"


def _fp(c: _Context) -> str:
    w = c.words
    told = f"{capitalise(w.unit)} who {w.negative} but are {w.flagged} anyway"
    return full_stop(f"{told}: {c.false_positive_means}" if c.false_positive_means else told)


def _fn(c: _Context) -> str:
    w = c.words
    told = f"{capitalise(w.unit)} who {w.positive} but are not {w.flagged}"
    return full_stop(f"{told}: {c.false_negative_means}" if c.false_negative_means else told)


def _slice(c: _Context) -> str | None:
    if not c.slice_labels:
        return None
    groups = " and by ".join(c.slice_labels)
    return f"A group of {c.words.unit} looked at on its own: this story groups them by {groups}."


DEFAULT_TERMS: tuple[DefaultTerm, ...] = (
    DefaultTerm("accuracy", "Of all cases, the share where the model's call is right. It can look high when one "
                "outcome is rare, so read it next to recall and precision.",
                lambda c: f"Of all {c.words.unit}, the share for whom the model's call is right.", tasks=_BINARY),
    DefaultTerm("accuracy", "Of all cases, the share whose class the model calls right. It can look high when one "
                "class is much more common than the others, so read it next to each class's figures.",
                lambda c: f"Of all {c.words.unit}, the share whose class the model calls right.", tasks=_MULTICLASS),
    DefaultTerm("balanced accuracy", "For each class, the share of its cases the model finds, averaged over the "
                "classes, so that each class counts the same however many cases it has.",
                lambda c: f"Each class of {c.words.unit} counts the same, however few {c.words.unit} it has.",
                tasks=_MULTICLASS),
    DefaultTerm("bias", "In the figures: whether the forecasts lean one way, the average of forecast minus what "
                "happened. Above 0 the forecasts run high, below 0 they run low; 0 is no lean either way. (Unfair "
                "treatment of a group is another sense of the word: for that, read the errors group by group.)",
                lambda c: f"Counted in {_amount(c)}: a bias of 5 means the forecasts are 5 {_amount(c)} too high on "
                "average.", ("mean error",), tasks=_REGRESSION),
    DefaultTerm("Brier score", "The average squared gap between the predicted chance and what happened (0 or 1). "
                "0 is perfect; always saying 50% scores 0.25.",
                lambda c: f"Lower is better: it is low when the chances given to {c.words.unit} are close to what "
                "happened to them.", tasks=_BINARY),
    DefaultTerm("calibration", "Whether the model's predicted chances match what happens: of all cases given a "
                "30% chance, about 30 in 100 should turn out positive.",
                lambda c: f"Of the {c.words.unit} the model gives a 30% chance, about 30 in 100 should really "
                f"{c.words.positive}.", ("calibrated",), tasks=_BINARY),
    DefaultTerm("calibration", "Whether the model's chances match what happens: of all cases whose most likely "
                "class is given a 70% chance, about 70 in 100 should truly be of that class.",
                lambda c: f"Of the {c.words.unit} whose most likely class the model gives a 70% chance, about 70 in "
                "100 should truly be of it.", ("calibrated",), tasks=_MULTICLASS),
    DefaultTerm("challenger", "A newer version of the model, tested side by side with the one in use (the "
                "champion) before it may replace it."),
    DefaultTerm("champion", "The version of the model in use now.",
                lambda c: f"The version in use is the one that carries the alias \"{c.in_use_alias}\" in the "
                "model registry."),
    DefaultTerm("cross-validation", "Training and testing the model several times, each time holding back a "
                "different part of the data for the test, to see how steady its results are.",
                None, ("cross-validated",)),
    DefaultTerm("drift", "When the cases a model sees in use move away from the cases it learned from (a new "
                "machine, a new population). Its results may then no longer hold.",
                lambda c: f"The {c.words.unit} seen in day-to-day use, or their measurements, differ from those "
                "the model learned from.", ("shift", "data shift", "distribution shift")),
    DefaultTerm("F1 score", "A single score that balances recall and precision (their harmonic mean); 1 is "
                "perfect, 0 is the worst.", None, ("F1",), tasks=_CLASSIFIERS),
    DefaultTerm("false negative", "The model says no, but the true answer is yes: a missed case.", _fn,
                ("missed case",), tasks=_BINARY),
    DefaultTerm("false positive", "The model says yes, but the true answer is no: a false alarm.", _fp,
                ("false alarm",), tasks=_BINARY),
    DefaultTerm("found", "Of the cases truly of one class, the share the model puts in that class (also called "
                "the class's recall). Each class has its own.",
                lambda c: f"Of the {c.words.unit} truly of a class, the share the model says are of it.",
                tasks=_MULTICLASS),  # not "finds": "the class the model finds most likely" is another sense
    DefaultTerm("guardrail", "A limit set in advance on a figure watched while the model is in use; crossing it "
                "is a signal to look into the model before trusting it further.",
                lambda c: f"A limit on a figure about the {c.words.unit} the model scores each day, such as the "
                + ("average forecast." if c.task == "regression" else "average predicted chance.")),
    DefaultTerm("held-out", "Kept aside while the model learns and used only to test it, so the test is fair.",
                None, ("test set",)),
    DefaultTerm("interval", "The range of values the evaluation supports. A 95% interval is built so that, in "
                "about 95 of every 100 evaluations like this one, it holds the true figure. The fewer cases, the "
                "wider it is.",
                lambda c: f"The fewer {c.words.unit} an evaluation has, the wider the range around each figure.",
                ("95% interval", "confidence interval")),
    DefaultTerm("log loss", "How sure the model was of each case's true class: the average of minus the natural "
                "logarithm of the chance it gave that class. 0 is perfect; confident wrong calls cost the most.",
                None, ("cross-entropy",), tasks=_CLASSIFIERS),
    DefaultTerm("macro F1", "For each class, a score that balances finding its cases against wrong calls of it "
                "(F1), averaged over the classes: 1 is perfect, 0 the worst.", None, tasks=_MULTICLASS),
    DefaultTerm("ML Test Score", "A checklist of 28 tests of how ready a machine-learning system is for "
                "day-to-day use (Breck et al., 2017), in four groups of seven: data, model, infrastructure and "
                "monitoring."),
    DefaultTerm("precision", "Of all the cases the model flags, the share that really are positive. High "
                "precision means few false alarms.",
                lambda c: f"Of the {c.words.unit} who are {c.words.flagged}, the share who really "
                f"{c.words.positive}.", tasks=_BINARY),
    DefaultTerm("PSI", "Population Stability Index: how far the spread of one measurement has moved between two "
                "sets of data. Below 0.1: no real shift; 0.1 to 0.25: a moderate one; 0.25 and above: a major one.",
                lambda c: f"How far a measurement of the {c.words.unit} seen in use has moved from the same "
                "measurement in the training data.", ("population stability index",)),
    DefaultTerm("R²", "How much smaller the forecasts' squared misses are than those of always forecasting the "
                "average of what happened: 1 is perfect, 0 is no better than that average, below 0 is worse.",
                None, ("R-squared", "R squared"), tasks=_REGRESSION),
    DefaultTerm("recall", "Of all the cases that really are positive, the share the model flags. High recall "
                "means few cases are missed.",
                lambda c: f"Of the {c.words.unit} who {c.words.positive}, the share who are {c.words.flagged}.",
                ("sensitivity",), tasks=_BINARY),
    DefaultTerm("regularisation", "A setting that keeps a model simple, so that it learns the general pattern "
                "rather than the quirks of its training data.", None, ("regularization",)),
    DefaultTerm("right when it says so", "Of the cases the model puts in one class, the share truly of that class "
                "(also called the class's precision). Each class has its own.",
                lambda c: f"Of the {c.words.unit} the model says are of a class, the share truly of it.",
                tasks=_MULTICLASS),
    DefaultTerm("RMSE", "Root mean squared error: like the typical error, but large misses count for more (the "
                "square root of the average squared miss). It is never below the typical error.",
                lambda c: f"Counted in {_amount(c)}, as the forecasts are.", ("root mean squared error",),
                tasks=_REGRESSION),
    DefaultTerm("ROC AUC", "How well the scores put cases in order: pick one positive and one negative case at "
                "random; ROC AUC is how often the positive one gets the higher score. 0.5 is a coin toss, 1 is "
                "perfect.",
                lambda c: f"Pick one of the {c.words.unit} who {c.words.positive} and one of those who "
                f"{c.words.negative}: how often the first gets the higher score.", ("AUC", "area under the curve"),
                tasks=_BINARY),
    DefaultTerm("slice", "A group of cases that share something (a site, an age band), looked at on its own to "
                "see whether the model works as well for it.", _slice, ("subgroup",)),
    DefaultTerm("specificity", "Of all the cases that really are negative, the share the model correctly leaves "
                "alone.",
                lambda c: f"Of the {c.words.unit} who {c.words.negative}, the share who are not "
                f"{c.words.flagged}.", tasks=_BINARY),
    DefaultTerm("threshold", "The score at or above which the model says yes. Moving it trades missed cases "
                "against false alarms.",
                lambda c: f"{capitalise(c.words.unit)} whose score is at or above the threshold are {c.words.flagged}; "
                "the others are not.", ("decision threshold", "cut-off"), tasks=_BINARY),
    DefaultTerm("typical error", "How far a forecast lands from what happened, on average, whichever way it "
                "misses (the mean absolute error, MAE).",
                lambda c: f"Counted in {_amount(c)}: a typical error of 12 means the forecasts are usually off by "
                f"about 12 {_amount(c)}, too high or too low.", ("average miss", "mean absolute error", "MAE"),
                tasks=_REGRESSION),
)

# Machine-learning words a reader should find in the glossary before meeting them in prose (lower case; a
# term counts as defined when it is a glossary entry's name or one of its other spellings).
JARGON: tuple[str, ...] = (
    "accuracy", "auc", "roc", "roc auc", "f1", "f1 score", "recall", "precision", "sensitivity", "specificity",
    "false positive", "false negative", "true positive", "true negative", "confusion matrix", "threshold",
    "calibration", "brier score", "log loss", "cross-entropy", "cross-validation", "overfitting", "underfitting",
    "regularisation", "regularization", "hyperparameter", "logistic regression", "gradient boosting",
    "random forest", "neural network", "feature importance", "shap", "embedding", "logit", "softmax", "epoch",
    "training set", "validation set", "test set", "ground truth", "baseline model", "drift", "data drift",
    "concept drift", "psi", "population stability index", "ensemble", "classifier", "precision-recall",
    "interval", "confidence interval", "p-value", "statistically significant", "mae", "mean absolute error",
    "rmse", "root mean squared error", "r²", "r-squared", "mean error", "macro f1", "balanced accuracy",
)

_PLACEHOLDERS = ("unit", "positive", "negative", "flagged")


def anchor_for(name: str) -> str:
    """``term-`` and the name in lower-case letters, digits and dashes: safe as an HTML id and URL fragment."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"term-{slug or 'entry'}"


def _fill(text: str, words: Vocabulary) -> str:
    for key in _PLACEHOLDERS:
        text = text.replace("{" + key + "}", str(getattr(words, key)))
    return text


def build_glossary(words: Vocabulary, *, project: Mapping[str, TermOverride | None] | None = None,
                   story: Mapping[str, TermOverride | None] | None = None,
                   false_positive_means: str | None = None, false_negative_means: str | None = None,
                   slice_labels: Sequence[str] = (), in_use_alias: str = DEFAULT_IN_USE_ALIAS,
                   task: Task = "binary") -> tuple[Term, ...]:
    """storybook's defaults, then the project's entries, then the story's; alphabetical, unique anchors.

    A later entry with the same name (case-insensitive) replaces an earlier one whole; ``None`` removes it.
    A spelling claimed by a later entry (its name or ``also``) is taken away from earlier entries.
    """
    context = _Context(words, false_positive_means, false_negative_means,
                       tuple(in_sentence(label) for label in slice_labels), in_use_alias, task)
    entries: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {}
    for default in DEFAULT_TERMS:
        if task not in default.tasks:
            continue
        told = default.in_story(context) if default.in_story is not None else None
        entries[default.name.lower()] = (default.name, default.plain, told, default.also)
    for overrides in (project or {}, story or {}):
        for name, override in overrides.items():
            key = name.strip().lower()
            if override is None:
                entries.pop(key, None)
                continue
            told = _fill(override.in_story, words) if override.in_story is not None else None
            claimed = {key, *(spelling.lower() for spelling in override.also)}
            for other, (other_name, plain, other_told, also) in list(entries.items()):
                kept = tuple(a for a in also if a.lower() not in claimed)
                if kept != also:
                    entries[other] = (other_name, plain, other_told, kept)
            entries[key] = (name.strip(), _fill(override.plain, words), told,
                            tuple(a for a in override.also if a.lower() != key))
    for key in list(entries):
        name, plain, told, also = entries[key]
        claimed_by_others = {k for k in entries if k != key}
        entries[key] = (name, plain, told, tuple(a for a in also if a.lower() not in claimed_by_others))
    terms: list[Term] = []
    anchors: set[str] = set()
    for key in sorted(entries):
        name, plain, told, also = entries[key]
        anchor = base = anchor_for(name)
        number = 2
        while anchor in anchors:
            anchor, number = f"{base}-{number}", number + 1
        anchors.add(anchor)
        terms.append(Term(name=name, plain=plain, in_story=told, also=also, anchor=anchor))
    return tuple(terms)


def _overrides(entries: Mapping[str, GlossaryEntry | None]) -> dict[str, TermOverride | None]:
    return {name: None if entry is None else TermOverride(entry.plain, entry.in_story, tuple(entry.also))
            for name, entry in entries.items()}


def story_glossary(config: StoryConfig, project: ProjectConfig | None, words: Vocabulary) -> tuple[Term, ...]:
    """The glossary of one story: defaults, the project's ``glossary:``, then the story's."""
    cost = config.cost_of_error
    return build_glossary(
        words, project=_overrides(project.glossary) if project is not None else None,
        story=_overrides(config.glossary),
        false_positive_means=cost.false_positive_means if cost is not None else None,
        false_negative_means=cost.false_negative_means if cost is not None else None,
        slice_labels=[s.label for s in config.slices], in_use_alias=in_use_alias(config, project), task=config.task)
