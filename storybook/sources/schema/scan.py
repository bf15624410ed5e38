"""A story's ``scan:``: storybook looks for weak groups nobody asked about (``analyse/weak_groups.py``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from storybook.sources.schema.common import Key, ShortText, StrictModel, Text


class AcknowledgedGroup(StrictModel):
    """A group the scan found that the story's authors know of, and why the story does not treat it further."""

    group: ShortText = Field(description="the group's name as the page and `storybook check` give it, e.g. "
                             "'age is above 60' or 'region is North and sex is F'")
    reason: Text = Field(description="why the story does not slice by it, or what is done about it")


class ScanSpec(StrictModel):
    """Weak groups found unasked: every column of the evaluation set the story does not slice by, cut into groups
    (numbers into quartiles, other columns by value, and pairs of columns), each compared with the rest."""

    enabled: bool = Field(default=True, description="false: no scan (a story with a row-level scored set is "
                          "scanned even without a scan: block; this turns the scan off)")
    min_group_size: Annotated[int, Field(ge=10, le=1_000_000)] = Field(default=30,
        description="a group needs at least this many cases to be tried")
    min_denominator: Annotated[int, Field(ge=10, le=1_000_000)] = Field(default=10,
        description="and at least this many cases the figure counts among (e.g. positives, for the share missed); "
                    "never fewer than storybook.yaml's wording.min_count")
    false_discovery_rate: Annotated[float, Field(gt=0, le=0.2)] = Field(default=0.05,
        description="the share of the groups shown that may be chance, at most (Benjamini-Hochberg)")
    max_values: Annotated[int, Field(ge=2, le=100)] = Field(default=20,
        description="the most common values of a column that are each tried as a group")
    max_pair_columns: Annotated[int, Field(ge=0, le=60)] = Field(default=30,
        description="pairs of columns are tried among the first this many columns scanned (0: no pairs)")
    show: Annotated[int, Field(ge=1, le=10)] = Field(default=3, description="how many found groups to tell")
    skip_columns: list[Key] = Field(default_factory=list,
        description="columns not to scan (the story's slices, labels, scores, forecasts and id are never scanned)")
    acknowledged: list[AcknowledgedGroup] = Field(default_factory=list,
        description="found groups the authors know of, each with its reason")
