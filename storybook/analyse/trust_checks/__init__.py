"""The automatic checks behind trust levels: each turns plain data into one :class:`Evidence`.

A check looks at one thing (the model's fit, the data's missing values, a production series) and says in
one sentence what it found, with the figures behind the sentence and where they came from. Checks are
grouped in three areas, as in the design notes:

- **model**: fit on held-out cases with its interval, stability across cross-validation folds,
  calibration, gaps between groups, comparison with another version of the model;
- **data**: balance of outcomes and outcome rate per group, missing values, rows shared between training
  and evaluation sets, groups too small to judge, shift between training data and production inputs;
- **system**: guardrails on a production series, a change in that series against its own history, and
  the deployment history of the registered model.

``passed`` is True or False when the check could run, and None when it could not (no cases, a series too
short, no production inputs yet). Thresholds are always the caller's, declared in the story; the defaults
here are only starting points. Comparisons with a declared tolerance allow ``1e-12`` for floating-point
rounding, so a spread of 0.95 - 0.91 counts as 0.04.

The checks live by area in :mod:`.model`, :mod:`.data` and :mod:`.system`; their statistics
(calibration bands, PSI, the change test) in :mod:`.statistics`, their shared phrasing in :mod:`.words`.

Pure functions: no I/O, no clock; the one random procedure (the permutation test of :func:`detect_change`)
draws from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from storybook.analyse.plain import Verdict
from storybook.analyse.trust_checks.data import (
    LabelRate,
    MissingCount,
    check_class_balance,
    check_duplicates,
    check_label_rates,
    check_missing,
    check_shift,
    check_small_slices,
    duplicated_rows,
    label_rates,
    missing_values,
)
from storybook.analyse.trust_checks.evidence import (
    CHECK_TITLES,
    Area,
    Evidence,
)
from storybook.analyse.trust_checks.model import (
    check_calibration,
    check_fold_stability,
    check_held_out,
    check_previous_version,
    check_slice_gaps,
    gap_verdict,
)
from storybook.analyse.trust_checks.statistics import (
    MAJOR_SHIFT,
    MAX_CHANGE_READINGS,
    MODERATE_SHIFT,
    CalibrationBin,
    ChangePoint,
    FeatureShift,
    ReliabilityCurve,
    detect_change,
    find_change,
    psi,
    reliability_curve,
)
from storybook.analyse.trust_checks.system import (
    ModelVersion,
    Point,
    check_change,
    check_deployments,
    check_guardrails,
)
from storybook.analyse.trust_checks.words import one_in

__all__ = [
    "CHECK_TITLES",
    "MAJOR_SHIFT",
    "MAX_CHANGE_READINGS",
    "MODERATE_SHIFT",
    "Area",
    "CalibrationBin",
    "ChangePoint",
    "Evidence",
    "FeatureShift",
    "LabelRate",
    "MissingCount",
    "ModelVersion",
    "Point",
    "ReliabilityCurve",
    "Verdict",
    "check_calibration",
    "check_change",
    "check_class_balance",
    "check_deployments",
    "check_duplicates",
    "check_fold_stability",
    "check_guardrails",
    "check_held_out",
    "check_label_rates",
    "check_missing",
    "check_previous_version",
    "check_shift",
    "check_slice_gaps",
    "check_small_slices",
    "detect_change",
    "duplicated_rows",
    "find_change",
    "gap_verdict",
    "label_rates",
    "missing_values",
    "one_in",
    "psi",
    "reliability_curve",
]
