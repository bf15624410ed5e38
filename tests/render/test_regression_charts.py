"""A regression story's charts (render/charts.py): the error histogram and the residuals, drawn to SVG offline,
with alt text that counts what the chart shows."""

from __future__ import annotations

import numpy as np

from storybook.render import charts


def test_error_histogram_is_drawn_and_its_alt_text_counts_the_bars() -> None:
    errors = np.array([-12.0, -3.0, -1.0, 0.5, 2.0, 2.5, 3.0, 9.0])
    counts, edges = np.histogram(errors, bins=4)  # [-12,-6.75): 1, [-6.75,-1.5): 1, [-1.5,3.75): 5, [3.75,9]: 1
    chart = charts.error_histogram_chart("h", "beds", [float(e) for e in edges], [int(c) for c in counts],
                                         too_high=5, too_low=3)
    assert chart is not None
    assert chart.alt == ("Bar chart of how far 8 forecasts landed from what happened: 5 were too high and 3 too low; "
                         "the tallest bar, 5 forecasts, covers misses from 1.5 beds too low to 3.75 beds too high.")
    # A bar that starts at no miss says so, with no minus sign anywhere.
    low = charts.error_histogram_chart("h", "beds", [-4.0, 0.0, 4.0], [1, 3], too_high=3, too_low=1)
    assert low is not None and low.alt.endswith("covers misses from no miss to 4 beds too high.")
    assert "-" not in low.alt.split(";")[1]
    svg = charts.to_svg(chart)
    assert svg.startswith("<svg") and "Forecast minus what happened (beds)" in svg
    assert charts.error_histogram_chart("h", "beds", [0.0, 1.0], [0], too_high=0, too_low=0) is None


def test_residuals_chart_says_when_it_draws_a_sample() -> None:
    points = [(10.0, 1.0), (12.0, -2.0), (15.0, 0.0)]
    whole = charts.residuals_chart("r", "beds", points, total=3)
    assert whole is not None and "(a random sample" not in whole.alt
    assert "1 above the zero line (too high), 1 below it (too low)" in whole.alt
    sampled = charts.residuals_chart("r", "beds", points, total=3_000)
    assert sampled is not None and "(a random sample of 3 of the 3,000 forecasts)" in sampled.caption
    assert "Forecast (beds)" in charts.to_svg(whole)
    assert charts.residuals_chart("r", "beds", [], total=0) is None


def test_the_misses_left_out_of_the_bars_are_said() -> None:
    chart = charts.error_histogram_chart("h", "beds", [-2.0, 0.0, 2.0], [3, 4], too_high=6, too_low=4, beyond=3)
    assert chart is not None
    assert "of how far 10 forecasts landed" in chart.alt
    assert "The 3 largest misses, beyond -2 to 2 beds, are left out of the bars." in chart.caption
