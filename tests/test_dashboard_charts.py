"""The dashboard's charts as a reader sees them: every label whole, units printed, the interval and the median
visible, no value hidden under a line."""

import re

from pipelines.dashboard.charts import bar_chart, benchmark_chart, forecast_chart

LONG = "Ohjaa opiskelijoita, ei hoidettu CRM:ssä"


def test_a_long_label_gets_the_room_it_needs_left_of_the_bars():
    svg = bar_chart([{"label": LONG, "value": 17}, {"label": "Entinen työpaikka", "value": 3}], "Segmentit")
    anchor = float(re.search(r'<text x="([\d.]+)"[^>]*text-anchor="end">' + LONG, svg).group(1))
    assert anchor >= len(LONG) * 7.5  # (15 px letters: a label drawn from x=0 would be cut)


def test_a_share_is_printed_with_its_unit():
    svg = bar_chart([{"label": "CRM", "value": 4.444}], "Karanteenin osuus", 2, unit="%")
    assert ">4,44\u00a0%</text>" in svg


def _months(low_12: float, high_12: float) -> list[dict]:
    months = [
        {"month": m, "actual": 10.0 * m, "forecast": 10.0 * m, "low": 10.0 * m, "high": 10.0 * m, "target": 130}
        for m in range(1, 11)
    ]
    months += [
        {"month": 11, "actual": None, "forecast": 110.0, "low": 109.8, "high": 110.2, "target": 130},
        {"month": 12, "actual": None, "forecast": 120.0, "low": low_12, "high": high_12, "target": 130},
    ]
    return months


def test_a_narrow_80_percent_interval_is_still_drawn_and_written_at_the_year_end():
    svg = forecast_chart(_months(119.6, 120.4), "Opiskelijavuodet")
    whisker = re.search(r'<g class="interval"><line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"', svg)
    assert float(whisker.group(2)) - float(whisker.group(1)) >= 23.9  # visible however thin the band is
    assert "80 %: 119,6–120,4</text>" in svg
    band = re.search(r'<polygon class="band" points="([^"]+)"', svg).group(1)
    assert len(band.split()) == 4 and 'stroke-width="6"' in svg  # the forecast months only, outlined


def test_the_median_line_lies_under_the_values():
    rows = [
        {"label": f"Järjestäjä {i}", "value": v, "key": str(i), "q1": 4.0, "median": 5.0, "q3": 6.0}
        for i, v in enumerate((4.9, 5.1, 7.0))
    ]
    svg = benchmark_chart(rows, "Keskeyttäneet", 1)
    assert svg.index("mediaani") < svg.index(">4,9</text>")
    assert all('paint-order="stroke"' in t for t in re.findall(r"<text[^>]*>[\d,]+</text>", svg))
