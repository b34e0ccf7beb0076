"""Write ``<warehouse>/reports/dashboard/index.html`` from one published version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2

from pipelines.dashboard.charts import bar_chart, forecast_chart
from pipelines.dashboard.figures import Figures
from pipelines.dashboard.small_cells import WORDS as SUPPRESSED_WORDS
from pipelines.files import atomic_write_bytes
from pipelines.formats import day, number

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelines.dashboard", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)
TEMPLATES.filters["number"] = number
TEMPLATES.filters["day"] = day
#: Finnish labels of the code values the charts show
LABELS = {
    "both": "CRM + työpaikka",
    "crm_only": "Vain CRM:ssä",
    "student_admin_only": "Vain työpaikkana",
    "strategic_partner": "Strateginen kumppani",
    "partner": "Yhteistyökumppani",
    "promoter": "Suosittelijat (9–10)",
    "passive": "Neutraalit (7–8)",
    "detractor": "Arvostelijat (0–6)",
    "student_admin": "Opiskelijahallinto",
    "crm": "CRM",
    "unknown": "tuntematon",
}


def _labelled(rows: list[dict]) -> list[dict]:
    return [{**r, "label": LABELS.get(str(r["label"]), r["label"])} for r in rows]


def _released(at: str) -> str:
    """A release time (UTC, ISO) as a Finn reads it: 20.11.2026 klo 8.15 (UTC)."""
    if not at:
        return "–"
    moment = dt.datetime.fromisoformat(at)
    return f"{day(moment.date())} klo {moment.hour}.{moment.minute:02d} (UTC)"


def _every_month(rows: list[dict], last: int) -> list[dict]:
    """Each month of the year up to ``last`` (``label`` the month number), 0 where nothing happened (not missing)."""
    by_month = {r["label"]: r for r in rows}
    empty = {"value": 0, "suppressed": False}
    return [{**by_month.get(m, empty), "label": f"kk {m}"} for m in range(1, last + 1)]


def write_dashboard(
    figures: Figures,
    folder: Path,
    steward_report: str,
    network_page: str | None = None,
    standing: dict | None = None,
    provider: str | None = None,
) -> Path:
    """The page, linking to the steward report; for a network's provider, to its page in the network, and (once
    the network's mart is published) where it stands there (``standing``: ``network_page.standing``)."""
    f = figures
    charts = {
        "forecast": forecast_chart(f.forecast_by_month, "Opiskelijavuodet kuukausittain"),
        "campus": bar_chart(_labelled(f.by_campus), "Ennuste toimipisteittäin", 1),
        "qualification_type": bar_chart(_labelled(f.by_qualification_type), "Ennuste tutkintotyypeittäin", 1),
        "graduations": bar_chart(_every_month(f.graduations_by_month, f.as_of.month), "Valmistuneet"),
        "overlap": bar_chart(_labelled(f.overlap), "Työpaikat ja CRM"),
        "segments": bar_chart(_labelled(f.segments), "Asiakassegmentit"),
        "partnerships": bar_chart(_labelled(f.partnerships), "Kumppanuudet"),
        "nps": bar_chart(_labelled(f.nps_groups), "NPS-vastaukset"),
        "quality": bar_chart(_labelled(f.quality), "Karanteenin osuus (%)", 2, unit="%"),
    }
    html = TEMPLATES.get_template("dashboard.html.j2").render(
        f=f,
        h=f.headline,
        charts=charts,
        labelled=_labelled,
        every_month=_every_month,
        suppressed_words=SUPPRESSED_WORDS,
        hidden=lambda headline, figure: figure in headline.get("suppressed", ()),
        provider=provider,
        released=_released(f.released_at),
        steward_report=steward_report,
        network_page=network_page,
        standing=standing,
    )
    path = folder / "index.html"
    atomic_write_bytes(path, html.encode("utf-8"))
    return path
