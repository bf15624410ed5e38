"""storybook.yaml's settings (sources/schema/project.py): the defaults a bare file gets, the bounds refused, and the
audience versions a story overrides key by key."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from storybook.sources.schema.project import PAGE_SECTIONS, ProjectConfig, Versions


def test_a_bare_project_gets_its_defaults() -> None:
    config = ProjectConfig.model_validate({})
    assert (config.title, config.stories_dir, config.site_dir, config.pdf) == ("Model stories", "stories", "site",
                                                                                 False)
    assert config.tracking_uri is None and config.readability is None
    assert config.versions.summary == ["decision", "key-figures", "cost-of-error", "trust", "claims"]


@pytest.mark.parametrize(("settings", "where"), [
    ({"tracking_timeout": 0}, ("tracking_timeout",)),
    ({"tracking_retries": 11}, ("tracking_retries",)),
    ({"readability": {"max_grade": 31}}, ("readability", "max_grade")),
    ({"wording": {"min_count": 0}}, ("wording", "min_count")),
    ({"artifact_locations": ["s3://user:pw@bucket/x"]}, ("artifact_locations", 0)),   # no credentials in a URI
    ({"versions": {"summary": []}}, ("versions", "summary")),
    ({"titel": "A misspelt key"}, ("titel",)),
])
def test_a_setting_out_of_bounds_is_refused_on_its_key(settings: dict[str, Any], where: tuple[str | int, ...]
                                                       ) -> None:
    with pytest.raises(ValidationError) as caught:
        ProjectConfig.model_validate(settings)
    assert [error["loc"] for error in caught.value.errors()] == [where]


def test_the_compliance_pdf_always_carries_its_provenance() -> None:
    versions = Versions.model_validate({"page": ["model-details", "metrics"], "compliance": ["metrics"]})
    assert versions.sections("page") == {"model-details", "metrics"}
    assert versions.sections("compliance") == {"metrics", "provenance"}
    assert Versions().sections("page") == frozenset(PAGE_SECTIONS)


def test_a_story_s_versions_replace_the_project_s_key_by_key() -> None:
    project = Versions.model_validate({"summary": ["decision"], "page": ["metrics"]})
    story = Versions.model_validate({"page": ["model-details"]})
    merged = project.merged(story)
    assert (merged.summary, merged.page, merged.compliance) == (["decision"], ["model-details"], "all")
    assert project.merged(None) is project
