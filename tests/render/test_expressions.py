"""Author expressions: a small vocabulary renders with provenance links; everything else is a located refusal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storybook.errors import ExpressionError, Location, ReferenceNotFound, StorybookError
from storybook.render.expressions import (
    Reference,
    Vocabulary,
    available_names,
    evaluation_fields,
    find_references,
    provenance_anchor,
    render_expressions,
    unknown_references,
)
from storybook.resolve.resolved import Figure, Provenance

PATH = Path("stories/demo/metrics.md")
WHERE = Location(PATH, 1)
RUN_ID = "0123456789abcdef0123456789abcdef"
# 1700000000000 ms after the epoch is 2023-11-14 22:13:20 UTC.
RECALL = Figure("test_recall", 0.9712,
                Provenance(source="sqlite:///x.db", run_id=RUN_ID, kind="metric", key="test_recall", step=3,
                           timestamp_ms=1_700_000_000_000))
AUC = Figure("test/roc auc", 0.5, Provenance(source="s", run_id=RUN_ID, kind="metric", key="test/roc auc"))
VALUES = Vocabulary(
    metrics={"test_recall": RECALL, "test/roc auc": AUC},
    params={"C": "0.5", "threshold": "0.3"},
    tags={"team": "Screening analytics"},
    model={"name": "breast-cancer-screening", "version": "3", "alias": "champion", "run_id": RUN_ID},
    evaluation={"size": 1234, "positives": 56},
)
RECALL_TITLE = "metric test_recall of run 0123456789ab, step 3, logged 14 November 2023"


def render(text: str, where: Location = WHERE) -> str:
    return render_expressions(text, where, VALUES)


def refusal(text: str, error: type[StorybookError] = ExpressionError) -> StorybookError:
    with pytest.raises(error) as caught:
        render(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{{ metric("test_recall") | percent }}', f'[97%](#prov-metric-test-recall "{RECALL_TITLE}")'),
        ('{{ metric("test_recall") | percent(1) }}', f'[97.1%](#prov-metric-test-recall "{RECALL_TITLE}")'),
        ('{{ metric("test_recall") | percent(digits=2) }}', f'[97.12%](#prov-metric-test-recall "{RECALL_TITLE}")'),
        ('{{ metric("test_recall") | number }}', f'[0.97](#prov-metric-test-recall "{RECALL_TITLE}")'),
        ('{{ metric("test_recall") | number(3) }}', f'[0.971](#prov-metric-test-recall "{RECALL_TITLE}")'),
        ('{{ metric("test_recall") }}', f'[0.971](#prov-metric-test-recall "{RECALL_TITLE}")'),
        ('{{ metric("test/roc auc") | percent }}',
         '[50%](#prov-metric-test-roc-auc "metric test/roc auc of run 0123456789ab")'),
        ("{{ evaluation.size | count }}", "1,234"),
        ("{{ evaluation.positives }}", "56"),
        ('{{ param("C") }}', "0\\.5"),  # MLflow text: punctuation escaped, so it renders as itself
        ('{{ tag("team") }}', "Screening analytics"),
        ("{{ model.name }} v{{ model.version }} @{{ model.alias }}", "breast\\-cancer\\-screening v3 @champion"),
        ("{{ 0.25 | percent }}", "25%"),
        ("{{ 1234567 | count }}", "1,234,567"),
        ("{{ 1700000000000 | date }}", "14 November 2023"),
    ],
)
def test_allowed_expressions_render(text: str, expected: str) -> None:
    assert render(text) == expected


def test_text_around_expressions_is_kept() -> None:
    text = 'We found {{ metric("test_recall") | percent }} of them.\n\n{# a note #}Done.\n'
    assert render(text) == f'We found [97%](#prov-metric-test-recall "{RECALL_TITLE}") of them.\n\nDone.\n'


def test_provenance_anchor_is_a_slug() -> None:
    assert provenance_anchor(AUC.provenance) == "prov-metric-test-roc-auc"


def test_quotes_in_a_provenance_title_cannot_break_the_link() -> None:
    figure = Figure('a"b', 0.5, Provenance(source="s", run_id=RUN_ID, kind="metric", key='a"b'))
    values = Vocabulary(metrics={'a"b': figure}, params={}, tags={}, model={}, evaluation={})
    assert render_expressions("{{ metric('a\"b') | percent }}", WHERE, values) == (
        "[50%](#prov-metric-a-b \"metric a'b of run 0123456789ab\")")


def test_find_references_lists_every_reference_with_its_line() -> None:
    text = 'intro\n{{ metric("test_recall") | percent }} and {{ param("C") }}\n\n{{ model.name }}\n'
    assert find_references(text, Location(PATH, 10)) == [
        Reference("metric", "test_recall", 11),
        Reference("param", "C", 11),
        Reference("model", "name", 13),
    ]


def test_unknown_metric_is_reference_not_found_on_its_line() -> None:
    error = refusal('First line.\nSecond line.\nThird: {{ metric("test_recal") | percent }}\n', ReferenceNotFound)
    assert error.location == Location(PATH, 3)
    assert "metric 'test_recal'" in error.message
    assert error.hint is not None and "test_recall" in error.hint


def test_line_numbers_count_from_where_the_text_starts() -> None:
    with pytest.raises(ReferenceNotFound) as caught:
        render('\n\n{{ tag("nope") }}', Location(PATH, 20))
    assert caught.value.location == Location(PATH, 22)


@pytest.mark.parametrize("text", ["{{ model.__class__ }}", "{{ model.items }}", "{{ evaluation.nothing }}",
                                  '{{ param("nope") }}'])
def test_unknown_fields_are_not_found(text: str) -> None:
    refusal(text, ReferenceNotFound)


REFUSED = [
    "{% for x in [1] %}{{ x }}{% endfor %}",
    "{% for %}",
    "{{ 7**9999999 }}",
    '{{ "a" * 100000000 }}',
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__ }}",
    "{{ metric.__globals__ }}",
    '{{ metric("test_recall").__class__ }}',
    "{{ model.name.upper() }}",
    '{{ model["name"] }}',
    "{{ range(10) }}",
    "{{ range(99999999) | list }}",
    "{{ x|safe }}",
    '{{ metric("test_recall")|safe }}',
    '{{ model.name|e }}',
    "{{ cycler }}",
    "{{ joiner() }}",
    "{{ namespace() }}",
    '{{ "%s"|format(1) }}',
    "{{ lipsum() }}",
    "{{ lipsum(99999, False, 99999, 99999) }}",
    "{% set x = 1 %}",
    '{% include "x" %}',
    '{% extends "x" %}',
    '{% import "x" as y %}',
    "{% macro m() %}x{% endmacro %}",
    "{% block b %}x{% endblock %}",
    "{% filter upper %}x{% endfilter %}",
    "{% with a = 1 %}{{ a }}{% endwith %}",
    "{% if true %}x{% endif %}",
    '{{ metric("test_recall") | percent(1, 2) }}',
    '{{ metric("test_recall") | percent(digits=1, other=2) }}',
    '{{ metric("test_recall") | percent(other=2) }}',
    '{{ metric("test_recall") | percent(*[1]) }}',
    '{{ evaluation.size | count(2) }}',
    '{{ 1 | date(1) }}',
    '{{ metric("test_recall") | percent(99) }}',
    '{{ metric("test_recall") | number(7) }}',
    '{{ metric("test_recall") | percent(-1) }}',
    '{{ metric("test_recall") | percent(1.5) }}',
    '{{ metric("test_recall") | percent(true) }}',
    '{{ metric("test_recall") | percent(model.version) }}',
    '{{ metric("test_recall", 2) }}',
    "{{ metric(key) }}",
    '{{ metric(key="test_recall") }}',
    '{{ metric("a" ~ "b") }}',
    "{{ 1 + 1 }}",
    "{{ 1 if 1 else 2 }}",
    "{{ [1, 2] }}",
    "{{ {'a': 1} }}",
    "{{ none }}",
    "{{ true }}",
    "{{ 1 is odd }}",
    "{{ 1 < 2 }}",
    "{{ not 1 }}",
    "{{ -1 }}",
    "{{ 'a' ~ 'b' }}",
    "{{ self }}",
    "{{ config }}",
    "{{ request }}",
    '{{ "x" * 251 }}',
    "{{ '" + "k" * 251 + "' }}",
    "{{ metric('" + "k" * 251 + "') }}",
    "{{ 1" + " | percent" * 40 + " }}",
    "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
    "{{ " + "9" * 5000 + " }}",
    "{{ unclosed",
]


@pytest.mark.parametrize("text", REFUSED)
def test_refused_with_a_located_expression_error(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        render("# Heading\n\n" + text + "\n", Location(PATH, 5))
    assert time.perf_counter() - started < 2.0
    assert caught.value.location is not None and caught.value.location.path == PATH
    if "9999999999" not in text and "(((" not in text:  # those two cannot be parsed far enough to know the line
        assert caught.value.location.line == 7, caught.value


@pytest.mark.parametrize("text", REFUSED)
def test_find_references_refuses_the_same(text: str) -> None:
    with pytest.raises(ExpressionError):
        find_references(text, WHERE)


def test_filter_on_text_fails_on_the_line_it_is_written() -> None:
    error = refusal('one\ntwo\n{{ param("C") | percent }}\n')
    assert "expected a number" in error.message
    assert error.location == Location(PATH, 3)


def test_digits_refusal_names_the_line_and_the_fix() -> None:
    error = refusal('one\ntwo\n{{ metric("test_recall") | percent(99) }}\n')
    assert error.message == "digits must be a whole number from 0 to 6"
    assert error.location == Location(PATH, 3)
    assert error.hint is not None and "percent(1)" in error.hint


def test_big_but_allowed_numbers_stay_bounded() -> None:
    started = time.perf_counter()
    text = "{{ 1e308 | number(6) }}" * 1000
    output = render(text)
    assert time.perf_counter() - started < 2.0
    assert len(output) < 1_000_000


def test_overflowing_filter_is_a_located_expression_error() -> None:
    error = refusal("ok\n{{ 1e300 | date }}")
    assert error.location == Location(PATH, 2)


def test_oversized_text_is_refused() -> None:
    error = refusal("x" * 200_001)
    assert "200,000" in error.message


JINJAISH = st.lists(
    st.sampled_from(["{{", "}}", "{%", "%}", "{#", "#}", "metric", "(", ")", '"test_recall"', "|", "percent", "number",
                     "count", "date", "model", ".", "name", "evaluation", "size", "1", "2.5", "-", "*", "**", ",",
                     "digits", "=", " ", "\n", "'", '"', "[", "]", "raw", "endraw", "set", "x", "~", "if", "for", "in",
                     "__class__", "safe", "range", "(((", "0x", "1e"]),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), JINJAISH))
def test_any_text_renders_or_raises_a_storybook_error(text: str) -> None:
    try:
        output = render(text)
    except StorybookError as error:
        assert error.location is not None and error.location.path == PATH
    else:
        assert isinstance(output, str)


@pytest.mark.parametrize(
    ("logged", "shown"),
    [
        ("[click me](https://attacker.example)", "[click me](https://attacker.example)"),
        ("![x](https://attacker.example/t.png)", "![x](https://attacker.example/t.png)"),
        ("<style>p {display: none}</style>", "&lt;style&gt;p {display: none}&lt;/style&gt;"),
        ("<https://attacker.example>", "&lt;https://attacker.example&gt;"),
        ("**loud** _quiet_ `code` ~~gone~~", "**loud** _quiet_ `code` ~~gone~~"),
        ("&lt;b&gt; &#60;", "&amp;lt;b&amp;gt; &amp;#60;"),
        ("line one\n# a heading\n\n- a list", "line one # a heading - a list"),
        ("red \x1b[31m text\x00", "red [31m text"),
        ("C:\\models\\v2", "C:\\models\\v2"),
    ],
)
def test_mlflow_values_are_text_not_markup(logged: str, shown: str) -> None:
    """A param, tag or model name read from MLflow renders as the text it is, and the author's prose after it
    (in the same paragraph and the next) is all there."""
    from dataclasses import replace

    from storybook.render.markdown import markdown_to_html

    values = replace(VALUES, params={"note": logged}, tags={"note": logged},
                     model={**VALUES.model, "name": logged, "alias": logged})
    for expression in ('{{ param("note") }}', '{{ tag("note") }}', "{{ model.name }}", "{{ model.alias }}"):
        html = markdown_to_html(render_expressions(f"Logged: {expression} end of sentence.\n\nThe next paragraph.",
                                                   WHERE, values))
        assert html == f"<p>Logged: {shown} end of sentence.</p>\n<p>The next paragraph.</p>\n", expression


def test_binary_counts_are_names_of_binary_stories_only() -> None:
    assert evaluation_fields("binary") == ("size", "positives", "negatives", "flagged")
    assert evaluation_fields("multiclass") == evaluation_fields("regression") == ("size",)
    assert evaluation_fields(None) == ()  # no scored evaluation set: no size either
    text = "Tested on {{ evaluation.size | count }}.\n{{ evaluation.negatives | count }} were fine."
    for task in ("multiclass", "regression"):
        (missing,) = unknown_references(find_references(text, WHERE), PATH, available_names(None, (), task))
        assert str(missing).count("evaluation 'negatives' is not available to this story") == 1
        assert missing.location is not None and missing.location.line == 2
    assert unknown_references(find_references(text, WHERE), PATH, available_names(None, (), "binary")) == []
    # The build refuses the same name when the page's values have no such count, never rendering it as 0.
    regression = Vocabulary(metrics={}, params={}, tags={}, model={}, evaluation={"size": 133})
    with pytest.raises(ReferenceNotFound) as caught:
        render_expressions(text, WHERE, regression)
    assert caught.value.location is not None and caught.value.location.line == 2
