"""The network page (Finnish) from the published network mart: every indicator with the providers side by side
against the network's distribution; and, for each provider, the same page showing where it stands."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.dashboard.charts import benchmark_chart
from pipelines.dashboard.page import TEMPLATES
from pipelines.files import atomic_write_bytes
from schemas.codes import NETWORK_INDICATORS, SUPPRESS_BELOW_PERSONS

#: the folder of a provider's reports its standing in the network is written to (``reports/network/``)
NETWORK_PAGE = "network"
#: decimals shown per indicator's unit
DECIMALS = {"student-years": 1, "osaamispisteet per student-year": 1, "%": 1}
SUPPRESSED = f"alle {SUPPRESS_BELOW_PERSONS} henkilöä: ei näytetä"


def _standing(row: dict) -> str:
    """Where a provider's figure is in the network, in words (better is better, whatever the direction)."""
    if row["indicator_value"] is None:
        return SUPPRESSED
    value, q1, median, q3 = row["indicator_value"], row["network_q1"], row["network_median"], row["network_q3"]
    sign = 1 if row["higher_is_better"] else -1
    if sign * (value - (q3 if sign > 0 else q1)) > 0:
        return "parhaan neljänneksen joukossa"
    if sign * (value - (q1 if sign > 0 else q3)) < 0:
        return "heikoimman neljänneksen joukossa"
    if value == median:
        return "mediaanissa"
    return "mediaania parempi" if sign * (value - median) > 0 else "mediaania heikompi"


def _sections(mart: pl.DataFrame, year: int, highlight: str | None) -> list[dict]:
    sections = []
    for code, info in NETWORK_INDICATORS.items():
        rows = mart.filter(
            (pl.col("year") == year) & (pl.col("indicator") == code) & (pl.col("funding_breakdown") == "all")
        ).sort("provider_name")
        if rows.is_empty():
            continue
        decimals = DECIMALS.get(info["unit"], 0)
        records = [{**r, "standing": _standing(r)} for r in rows.to_dicts()]
        chart_rows = [
            {
                "key": r["provider"],
                "label": r["provider_name"] + (" (vanha julkaisu)" if r["is_stale"] else ""),
                "value": r["indicator_value"],
                "missing": SUPPRESSED,
                "q1": r["network_q1"],
                "median": r["network_median"],
                "q3": r["network_q3"],
            }
            for r in records
        ]
        breakdown = mart.filter(
            (pl.col("year") == year) & (pl.col("indicator") == code) & (pl.col("funding_breakdown") != "all")
        ).sort("funding_breakdown", "provider_name")
        sections.append(
            {
                "code": code,
                "label": info["label_fi"],
                "higher_is_better": records[0]["higher_is_better"],
                "decimals": decimals,
                "chart": benchmark_chart(chart_rows, f"{info['label_fi']} {year}", decimals, highlight),
                "rows": records,
                "breakdown": breakdown.to_dicts(),
                "own": next((r for r in records if r["provider"] == highlight), None),
            }
        )
    return sections


def _history(mart: pl.DataFrame) -> list[dict]:
    """The network's median per indicator and year (the total of student-years)."""
    medians = mart.filter(pl.col("funding_breakdown") == "all").unique(["indicator", "year"])
    return [
        {
            "label": info["label_fi"],
            "decimals": DECIMALS.get(info["unit"], 0),
            "medians": dict(medians.filter(indicator=code).select("year", "network_median").iter_rows()),
        }
        for code, info in NETWORK_INDICATORS.items()
    ]


def _render(mart: pl.DataFrame, year: int, highlight: str | None, own_link: str | None) -> bytes:
    providers = mart.unique("provider").sort("provider_name").to_dicts()
    own = next((p for p in providers if p["provider"] == highlight), None)
    html = TEMPLATES.get_template("network.html.j2").render(
        year=year,
        providers=providers,
        own=own,
        own_link=own_link,
        sections=_sections(mart, year, highlight),
        history=_history(mart),
        years=sorted(mart["year"].unique().to_list()),
        suppress_below=SUPPRESS_BELOW_PERSONS,
    )
    return html.encode("utf-8")


def standing(mart: pl.DataFrame, provider: str) -> dict:
    """Where ``provider`` stands in the latest year, for its own dashboard: one row per indicator."""
    year = int(mart["year"].max())
    return {"year": year, "sections": _sections(mart, year, provider), "suppress_below": SUPPRESS_BELOW_PERSONS}


def write_network_pages(mart: pl.DataFrame, network_folder: Path, provider_folders: dict[str, Path]) -> list[Path]:
    """``<network_folder>/index.html`` (every provider alike) and ``<provider folder>/index.html`` for each provider
    (its own figures first and highlighted), from the published mart; the year shown is the latest any provider
    has."""
    year = int(mart["year"].max())
    written = [network_folder / "index.html"]
    atomic_write_bytes(written[0], _render(mart, year, None, None))
    for provider, folder in provider_folders.items():
        written.append(folder / "index.html")
        atomic_write_bytes(written[-1], _render(mart, year, provider, "../dashboard/index.html"))
    return written
