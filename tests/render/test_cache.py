"""The render cache's store and keys, without a build: generic round trips, atomic entries, what a key covers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from markupsafe import Markup

from storybook.render.cache import (
    CachedStory,
    PageCache,
    build_fingerprint,
    decode_value,
    encode_value,
    story_key,
)
from storybook.render.pages import RenderedStory


@dataclasses.dataclass(frozen=True)
class _Audience:
    name: str
    pages: int


# A RenderedStory that has gained fields (audience versions, say): the cache must store it without knowing them.
RicherStory = dataclasses.make_dataclass(
    "RicherStory",
    [("summary", "str | None", dataclasses.field(default=None)),
     ("versions", "dict[str, str]", dataclasses.field(default_factory=dict)),
     ("audiences", "tuple[_Audience, ...]", dataclasses.field(default=())),
     ("thumbnail", "bytes", dataclasses.field(default=b""))],
    bases=(RenderedStory,), frozen=True, namespace={"__module__": __name__})


def test_a_rendered_story_with_fields_added_later_round_trips() -> None:
    page = RicherStory("s", "<p>page</p>", {"s-a.svg": "<svg/>"}, summary=Markup("<b>one page</b>"),
                       versions={"board": "<p>short</p>"}, audiences=(_Audience("board", 1), _Audience("staff", 3)),
                       thumbnail=b"\x89PNG\x00")
    back = decode_value(RicherStory, encode_value(page))
    assert back == page and type(back) is RicherStory
    assert back.audiences[1] == _Audience("staff", 3) and back.thumbnail == b"\x89PNG\x00"
    assert isinstance(back.summary, str) and back.summary == "<b>one page</b>"


@pytest.mark.parametrize("data", [
    {"slug": "s", "html": "<p/>"},  # a field missing
    {"slug": "s", "html": 3, "charts": {}},  # a field of the wrong type
    {"slug": "s", "html": "<p/>", "charts": ["a.svg"]},
    [],
])
def test_data_that_does_not_fit_is_refused(data: object) -> None:
    with pytest.raises(ValueError, match="cache entry does not match"):
        decode_value(RenderedStory, data)


def test_entries_are_written_whole_and_unreadable_ones_count_as_broken(tmp_path: Path) -> None:
    cache = PageCache(tmp_path / "pages")
    key = "ab" + "0" * 62
    story = CachedStory(RenderedStory("s", "<p>é</p>", {"s-x.svg": "<svg/>"}), "Title", "Nurses", "model@champion")
    assert cache.get(key) is None and cache.stats.misses == 1
    cache.put(key, story)
    assert cache.get(key) == story and cache.stats.hits == 1 and cache.stats.written == 1
    assert [p.name for p in (tmp_path / "pages").rglob("*") if p.is_file()] == [f"{key}.json.z"]  # no temp left
    path = tmp_path / "pages" / "ab" / f"{key}.json.z"
    # An entry filed under another key (copied by hand, say) is not served.
    other = "cd" + "1" * 62
    (tmp_path / "pages" / "cd").mkdir()
    (tmp_path / "pages" / "cd" / f"{other}.json.z").write_bytes(path.read_bytes())
    assert cache.get(other) is None and cache.stats.broken == 1
    path.write_bytes(path.read_bytes()[:-5])
    assert cache.get(key) is None and cache.stats.broken == 2
    disabled = PageCache(None)
    disabled.put(key, story)
    assert disabled.get(key) is None and disabled.stats.written == 0


def _project(root: Path) -> tuple[Path, Path]:
    (root / "stories" / "a").mkdir(parents=True)
    (root / "storybook.yaml").write_text("title: T\n")
    story = root / "stories" / "a"
    (story / "story.yaml").write_text("title: A\n")
    (story / "metrics.md").write_text("Text.\n")
    return root, story


def test_a_key_covers_every_file_of_the_story_and_the_build(tmp_path: Path) -> None:
    root, story = _project(tmp_path)
    templates = root / "templates"
    fingerprint = build_fingerprint(root, templates, pdf=False)
    assert fingerprint == build_fingerprint(root, templates, pdf=False)
    assert fingerprint != build_fingerprint(root, templates, pdf=True)
    key = story_key(fingerprint, root, story)
    assert key is not None and key == story_key(fingerprint, root, story)
    assert key != story_key(fingerprint, root, story, resolved="0" * 64)
    for name, text in (("signoffs.yaml", "- name: A\n"), ("snapshot/evaluation.csv", "label\n1\n")):
        (story / name).parent.mkdir(exist_ok=True)
        (story / name).write_text(text)
        assert story_key(fingerprint, root, story) != key
        key = story_key(fingerprint, root, story)
    # Moving text from one file to another changes the key.
    (story / "metrics.md").write_text("Text")
    (story / "story.yaml").write_text(".\ntitle: A\n")
    assert story_key(fingerprint, root, story) != key
    templates.mkdir()
    (templates / "story.html").write_text("{{ slug }}")
    assert build_fingerprint(root, templates, pdf=False) != fingerprint
    (root / "storybook.yaml").write_text("title: U\n")
    assert build_fingerprint(root, templates, pdf=False) != build_fingerprint(root, root / "none", pdf=False)



def test_keys_made_with_another_cache_key_are_never_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry written on another machine (or planted under .storybook/cache in a pull request, its name worked
    out from the story's files) is never looked up: every key holds this user's secret."""
    from storybook.files import cache_secret
    from storybook.render.charts import spec_hash

    root, story = _project(tmp_path)
    made: dict[str, tuple[str, str | None, str]] = {}
    try:
        for machine in ("here", "elsewhere"):
            monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / machine))
            cache_secret.cache_clear()
            fingerprint = build_fingerprint(root, root / "templates", pdf=False)
            made[machine] = (fingerprint, story_key(fingerprint, root, story), spec_hash({"mark": "bar"}))
    finally:
        cache_secret.cache_clear()
    for here, elsewhere in zip(made["here"], made["elsewhere"], strict=True):
        assert here is not None and here != elsewhere


def test_a_story_with_a_link_in_it_is_not_cached(tmp_path: Path) -> None:
    root, story = _project(tmp_path / "project")
    outside = tmp_path / "secret.md"
    outside.write_text("outside the project")
    (story / "intended-use.md").symlink_to(outside)
    assert story_key("f", root, story) is None
