"""The steward review report: ``<warehouse>/reports/steward/index.html`` (Finnish) and ``index.en.html``.

Self-contained (styles inline, trend as inline SVG, no scripts, no network), so it opens
from a file share on any laptop. Everything from the data goes through Jinja's
autoescaping: a value ``<script>`` shows as text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import jinja2
import markupsafe
import polars as pl

from pipelines.files import atomic_write_bytes
from pipelines.formats import day, number
from pipelines.stewardship.corrections import STATUS_WORDS
from pipelines.stewardship.match_review import why
from pipelines.validation import WAIVED
from pipelines.waivers import Waiver
from schemas.metadata import Rule

EXAMPLES = 5
TREND_RUNS = 12
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelines.stewardship", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)

WORDS = {
    "fi": {
        "title": "Tietojen laatu: tarkistettavat rivit",
        "as_of": "Tilanne",
        "run": "Ajo",
        "other": "In English",
        "other_href": "index.en.html",
        "lang": "fi",
        "system": "Lähdejärjestelmä",
        "table": "Taulu",
        "rule": "Sääntö",
        "failing": "Virheelliset rivit",
        "new": "Uudet",
        "resolved": "Korjatut",
        "waived": "Poikkeusluvalla",
        "trend": "Kehitys",
        "examples": "Esimerkkejä",
        "file": "Tiedosto",
        "line": "Rivi",
        "record": "Tietue",
        "column": "Sarake",
        "value": "Arvo (peitetty)",
        "status": "Tila",
        "first_seen": "Ensin havaittu",
        "severity": "Vakavuus",
        "corrections": "Korjauslista (CSV)",
        "data_docs": "Julkaistujen taulujen tarkistukset (Data Docs)",
        "waivers": "Poikkeusluvat",
        "unmatched": "Poikkeusluvat, joita vastaavaa virhettä ei ole",
        "expired": "Vanhentuneet poikkeusluvat",
        "none": "ei yhtään",
        "rows_read": "Luetut rivit",
        "quarantined": "Karanteenissa",
        "no_failures": "Ei virheitä tässä ajossa.",
        "unreadable": "Tiedostoja ei voitu lukea: niiden rivejä ei tarkistettu eikä julkaistu",
        "unreadable_file": "Tiedostoa ei voitu lukea, joten yhtäkään sen riviä ei tarkistettu eikä julkaistu.",
        "unreadable_todo": "Korjaa tiedosto (vie se uudelleen lähdejärjestelmästä) ja aja uudelleen; ennen sitä "
        "kaikki sen rivit ja niistä riippuvat rivit puuttuvat julkaisusta.",
        "reason": "Peruste",
        "approved_by": "Hyväksyjä",
        "expires": "Voimassa asti",
        "consequence": "Seuraus",
        "at_risk": "Luvut vaarassa",
        "at_risk_intro": "Avoimet virheet sen mukaan, paljonko ne vaikuttavat johdon "
        "lukuihin: ensimmäisen rivin korjaus muuttaa lukuja eniten. Laskematta jätetyt opiskelijavuodet: enintään "
        "niin paljon kuin virheen takia kaikista luvuista pois jäävät opiskeluoikeudet voivat kerryttää (niiden "
        "vuoden voimassaolopäivät läsnäolona).",
        "study_rights": "Opiskeluoikeudet",
        "students": "Opiskelijat",
        "employers": "Työpaikat",
        "held_back": "Opiskelijavuosia laskematta (enintään)",
        "touched": "Opiskelijavuosia koskee",
        "year": "kuluva vuosi",
        "rolled_back": "Julkaistu aineisto palautettiin {at} versioon {version} (tilanne {as_of}). Tämä raportti "
        "koskee ajoa {run}, jonka aineisto ei enää ole julkaistuna; virheet koskevat silti viimeisintä "
        "lähdeaineistoa.",
        "severities": {"error": "virhe", "warning": "varoitus", "waived": "poikkeusluvalla"},
        "consequences": {"reject": "rivi hylätään", "clear": "arvo tyhjennetään", "flag": "rivi merkitään"},
        "statuses": STATUS_WORDS["fi"],
        "review": "Tarkistettavat organisaatioparit",
        "review_intro": "Pareja {count}: niiden yhdistämisen todennäköisyys on epävarmalla välillä, joten niitä ei ole "
        "yhdistetty eikä erotettu äänettömästi. Ratkaise pari kerran komennolla tiedolla decide-match <pari> "
        "same|different --by <nimi>; päätös pysyy tallessa ja seuraava ajo käyttää sitä.",
        "review_list": "Tarkistuslista (CSV)",
        "pair": "Pari",
        "probability": "Todennäköisyys",
        "why": "Miksi",
        "decisions_not_applied": "Päätökset, joita ei käytetty tässä ajossa ({file}):",
        "decision_outcomes": {
            "not_in_export": "parin tietue puuttuu tästä aineistosta (päätös säilyy)",
            "refused": "ei käytetty: Y-tunnukset (eri tai sama) tai toinen päätös ovat ristiriidassa sen kanssa",
        },
        "koski": "Täsmäytys KOSKIn opiskelijavuositietoihin",
        "systems": {
            "student_admin": "opiskelijahallinto",
            "crm": "asiakkuudenhallinta (CRM)",
            "koski": "KOSKI",
            "koski_bulk": "KOSKIn massaluovutus",
            "koski_differences": "KOSKI ja oma järjestelmä eroavat",
            "ytj": "YTJ (PRH)",
        },
        "koski_intro": "Omat lukumme KOSKIn raportin omalle aikajaksolle, sarake sarakkeelta. Erot "
        "opiskeluoikeuksittain ja todennäköinen syy ovat korjauslistassa.",
        "koski_column": "KOSKIn sarake",
        "differences": "KOSKI ja oma järjestelmä eroavat",
        "differences_intro": "Oma opiskelijahallinnon aineistomme ja KOSKIn tiedot ({delivered}) opiskeluoikeus "
        "kerrallaan. Luvut kertovat, paljonko KOSKI laskee enemmän (+) tai vähemmän (−) kuin me jaksolla "
        "{first}–{last}: näin ero näkyy kuukausia ennen KOSKIn raporttia. Korjauslistassa jokainen ero, suurin "
        "rahoitusvaikutus ensin, ja mistä se korjataan.",
        "difference": "Ero",
        "days_moved": "Päiviä (KOSKI − omat)",
        "student_years_moved": "Opiskelijavuosia (KOSKI − omat)",
        "difference_kinds": {
            "only_ours": "vain omassa järjestelmässä",
            "only_in_koski": "vain KOSKIssa",
            "annulled_in_koski": "mitätöity KOSKIssa",
            "start": "alkamispäivä",
            "end": "päättyminen",
            "status": "tilahistoria",
            "funding": "rahoitusmuoto",
            "part_time": "osa-aikaisuus",
            "period": "lisätietojakso",
        },
        "ours": "Omat",
        "theirs": "KOSKI",
        "differing": "Eroavat rivit",
        "matched": "Molemmissa",
        "oppilaitos": "oppilaitos",
        "compared": "Verrattu",
        "yes": "kyllä",
        "not_compared": "ei",
        "intro": "Rivit, jotka eivät läpäisseet sääntöjä, ryhmiteltynä "
        "lähdejärjestelmän, taulun ja säännön mukaan. Jokainen sääntö kertoo seurauksensa: hylätty rivi on "
        "karanteenissa, tyhjennetty arvo julkaistaan tyhjänä ja merkitty rivi julkaistaan sellaisenaan; "
        "poikkeusluvalla hyväksytyt julkaistaan merkittyinä.",
    },
    "en": {
        "title": "Data quality: rows to review",
        "as_of": "As of",
        "run": "Run",
        "other": "Suomeksi",
        "other_href": "index.html",
        "lang": "en",
        "system": "Source system",
        "table": "Table",
        "rule": "Rule",
        "failing": "Failing rows",
        "new": "New",
        "resolved": "Resolved",
        "waived": "Waived",
        "trend": "Trend",
        "examples": "Examples",
        "file": "File",
        "line": "Line",
        "record": "Record",
        "column": "Column",
        "value": "Value (masked)",
        "status": "Status",
        "first_seen": "First seen",
        "severity": "Severity",
        "corrections": "Correction list (CSV)",
        "data_docs": "Checks of the published tables (Data Docs)",
        "waivers": "Waivers",
        "unmatched": "Waivers that match no failure",
        "expired": "Expired waivers",
        "none": "none",
        "rows_read": "Rows read",
        "quarantined": "Quarantined",
        "no_failures": "No failures in this run.",
        "unreadable": "Files that could not be read: none of their rows was checked or published",
        "unreadable_file": "The file could not be read, so none of its rows was checked or published.",
        "unreadable_todo": "Fix the file (export it again from its system) and run again; until then all its rows, "
        "and the rows that depend on them, are missing from the published set.",
        "reason": "Reason",
        "approved_by": "Approved by",
        "expires": "Expires",
        "consequence": "Consequence",
        "at_risk": "Figures at risk",
        "at_risk_intro": "Open failures by what they cost management's figures: "
        "fixing the first row moves the figures most. Student-years held back: the most that the study rights the "
        "failure leaves out of every figure could carry (their open days of the year counted as present).",
        "study_rights": "Study rights",
        "students": "Students",
        "employers": "Hosting employers",
        "held_back": "Student-years held back (at most)",
        "touched": "Student-years touched",
        "year": "current year",
        "rolled_back": "The published set was rolled back to version {version} (as of {as_of}) at {at}. This report "
        "is about run {run}, whose set is no longer published; its failures are still those of the latest "
        "source exports.",
        "severities": {"error": "error", "warning": "warning", "waived": "waived"},
        "consequences": {"reject": "row rejected", "clear": "value cleared", "flag": "row flagged"},
        "statuses": STATUS_WORDS["en"],
        "koski": "Reconciliation with KOSKI's student-year report",
        "review": "Organisation pairs to review",
        "review_intro": "Pairs: {count}. Their match probability is in the doubtful band, so they were neither merged "
        "nor split silently. Settle a pair once with tiedolla decide-match <pair> same|different --by <name>; the "
        "decision is kept and the next run applies it.",
        "review_list": "Review list (CSV)",
        "pair": "Pair",
        "probability": "Probability",
        "why": "Why",
        "decisions_not_applied": "Decisions not applied in this run ({file}):",
        "decision_outcomes": {
            "not_in_export": "a record of the pair is not in this export (the decision is kept)",
            "refused": "not applied: the Y-tunnus (different, or the same) or another decision stands against it",
        },
        "systems": {
            "student_admin": "student administration",
            "crm": "CRM",
            "koski": "KOSKI",
            "koski_bulk": "KOSKI's bulk data",
            "koski_differences": "KOSKI and our system differ",
            "ytj": "YTJ (PRH)",
        },
        "koski_intro": "Our figures for the KOSKI report's own period, column by column. The differences per "
        "study right, with the likely cause, are in the correction list.",
        "koski_column": "KOSKI column",
        "differences": "KOSKI and our system differ",
        "differences_intro": "Our student-administration export against KOSKI's data ({delivered}), study right by "
        "study right. The figures say how much more (+) or less (−) KOSKI counts than we do in {first}–{last}: the "
        "difference shows months before KOSKI's report. The correction list has every difference, the biggest "
        "funding effect first, and where to fix it.",
        "difference": "Difference",
        "days_moved": "Days (KOSKI − ours)",
        "student_years_moved": "Student-years (KOSKI − ours)",
        "difference_kinds": {
            "only_ours": "only in our system",
            "only_in_koski": "only in KOSKI",
            "annulled_in_koski": "annulled in KOSKI",
            "start": "start date",
            "end": "end",
            "status": "status timeline",
            "funding": "funding",
            "part_time": "part-time",
            "period": "additional period",
        },
        "ours": "Ours",
        "theirs": "KOSKI",
        "differing": "Rows differing",
        "matched": "In both",
        "oppilaitos": "oppilaitos",
        "compared": "Compared",
        "yes": "yes",
        "not_compared": "no",
        "intro": "Rows that did not pass the rules, grouped by source system, table and "
        "rule. Every rule states its consequence: a rejected row is held in quarantine, a cleared value is "
        "published empty and a flagged row is published as it is; waived failures are published with a flag.",
    },
}


@dataclass
class RuleGroup:
    rule_id: str
    description: str
    severity: str
    consequence: str
    failing: int
    new: int
    resolved: int
    waived: int
    trend: list[int]
    examples: list[dict]

    @property
    def sparkline(self) -> str:
        """SVG polyline points of the trend (oldest first), 100 × 20 units."""
        if len(self.trend) < 2:
            return ""
        top = max(self.trend) or 1
        step = 100 / (len(self.trend) - 1)
        return " ".join(f"{i * step:.1f},{20 - 18 * v / top:.1f}" for i, v in enumerate(self.trend))


@dataclass
class TableGroup:
    table: str
    file: str
    rows_read: int
    rows_rejected: int
    rules: list[RuleGroup] = field(default_factory=list)
    #: why the file could not be read at all (none of its rows was checked or published)
    problem: str | None = None


def _groups(
    history: pl.DataFrame,
    runs: pl.DataFrame,
    run_id: str,
    rules: dict[str, Rule],
    files: dict[str, dict],
    language: str,
) -> dict[str, list[TableGroup]]:
    recent = runs.select("run_id", "recorded_at").unique().sort("recorded_at").tail(TREND_RUNS)["run_id"].to_list()
    now = runs.filter(pl.col("run_id") == run_id)
    out: dict[str, list[TableGroup]] = {}
    for file_name, f in files.items():
        table_group = TableGroup(f["table"], file_name, f["rows_read"], f["rows_rejected"], problem=f["problem"])
        counts = now.filter(pl.col("table") == f["table"])
        for c in counts.sort("rule_id").iter_rows(named=True):
            mine = history.filter(pl.col("rule_id") == c["rule_id"])
            current = mine.filter(pl.col("last_seen_run") == run_id)
            waived = int(current.filter(pl.col("status") == WAIVED)["occurrences"].sum())
            if not (c["failing"] or c["resolved"] or waived):
                continue
            per_run = runs.filter(pl.col("rule_id") == c["rule_id"]).select("run_id", "failing")
            trend = [int(per_run.filter(pl.col("run_id") == r)["failing"].sum()) for r in recent]
            examples = (
                current.sort("source_line")
                .head(EXAMPLES)
                .select(
                    "failure_id",
                    "source_file",
                    "source_line",
                    "record_key",
                    "source_header",
                    "column",
                    "masked_value",
                    "status",
                    "first_seen_on",
                )
                .to_dicts()
            )
            rule = rules.get(c["rule_id"])
            table_group.rules.append(
                RuleGroup(
                    c["rule_id"],
                    rule.words(language) if rule else c["rule_id"],
                    current["severity"].first() or (rule.severity if rule else ""),
                    rule.consequence if rule else "",
                    c["failing"],
                    c["new"],
                    c["resolved"],
                    waived,
                    trend,
                    examples,
                )
            )
        out.setdefault(f["source_system"], []).append(table_group)
    return out


def _at_risk(frame: pl.DataFrame | None, rules: dict[str, Rule], language: str) -> list[dict]:
    if frame is None:
        return []
    return [
        {**row, "description": rules[row["rule_id"]].words(language) if row["rule_id"] in rules else ""}
        for row in frame.to_dicts()
    ]


#: how many doubtful pairs the report shows (the review list has them all)
REVIEW_SHOWN = 20


def _review(review: dict | None, language: str) -> dict:
    """The review queue's first pairs (with why, in the language) and the decisions that were not applied."""
    if not review:
        return {"pairs": [], "count": 0, "not_applied": [], "file": ""}
    pairs = review["review"].sort("match_probability", "pair_id", descending=[True, False]).head(REVIEW_SHOWN)
    return {
        "pairs": [{**r, "why": why(r, language)} for r in pairs.iter_rows(named=True)],
        "count": review["review"].height,
        "not_applied": review["decisions"].filter(pl.col("outcome") != "applied").to_dicts(),
        "file": review["file"],
    }


def write_report(
    folder: Path,
    history: pl.DataFrame,
    runs: pl.DataFrame,
    run_id: str,
    as_of: dt.date,
    rules: dict[str, Rule],
    files: dict[str, dict],
    corrections: dict[str, str],
    waivers: list[Waiver],
    unmatched: list[Waiver],
    data_docs: str | None,
    koski: list[list[dict]] = (),
    at_risk: pl.DataFrame | None = None,
    differences: list[dict] = (),
    organization_review: dict | None = None,
) -> list[Path]:
    """Write the report in Finnish (index.html) and English (index.en.html); returns the paths."""
    expired = [w for w in waivers if not w.active_on(as_of)]
    written = []
    for language, name in (("fi", "index.html"), ("en", "index.en.html")):
        html = TEMPLATES.get_template("steward_report.html.j2").render(
            w=WORDS[language],
            groups=_groups(history, runs, run_id, rules, files, language),
            run_id=run_id,
            as_of=as_of,
            corrections=corrections,
            waivers=[w for w in waivers if w.active_on(as_of)],
            expired=expired,
            unmatched=unmatched,
            data_docs=data_docs,
            unreadable=[(name, f["problem"]) for name, f in files.items() if f["problem"]],
            num=lambda value, decimals=0, lang=language: number(value, decimals, lang),
            day=lambda value, lang=language: day(value, lang),
            koski=koski,
            at_risk=_at_risk(at_risk, rules, language),
            differences=differences,
            review=_review(organization_review, language),
        )
        atomic_write_bytes(folder / name, html.encode("utf-8"), private=True)
        written.append(folder / name)
    return written


STALE_BANNER = '<p class="stale" id="stale" role="alert">'


def mark_rolled_back(folder: Path, version: str, as_of: str, at: str) -> list[Path]:
    """After a rollback: a banner at the top of the report (both languages) saying that the published set is an
    earlier version than the run the report describes. The next run's report replaces it."""
    marked = []
    for language, name in (("fi", "index.html"), ("en", "index.en.html")):
        path = folder / name
        if not path.exists():
            continue
        html = path.read_text(encoding="utf-8")
        if STALE_BANNER in html:  # an earlier rollback's banner
            start = html.index(STALE_BANNER)
            html = html[:start] + html[html.index("</p>\n", start) + len("</p>\n") :]
        run = html.split('<span id="run-id">', 1)[1].split("</span>", 1)[0] if '<span id="run-id">' in html else "?"
        words = WORDS[language]["rolled_back"].format(version=version, as_of=as_of, at=at, run=run)
        banner = f"{STALE_BANNER}{markupsafe.escape(words)}</p>\n"
        html = html.replace("<body>\n", "<body>\n" + banner, 1)
        atomic_write_bytes(path, html.encode("utf-8"), private=True)
        marked.append(path)
    return marked


def forget_examples(folder: Path, failure_ids: set[str], about_key: Callable[[str], bool] = lambda key: False) -> int:
    """Remove the example rows of these failures (a forgotten person's) and the waiver rows whose record key
    ``about_key`` says is theirs from the report in both languages; returns the rows removed. The counts stay: they
    name no one."""
    removed = 0
    for name in ("index.html", "index.en.html"):
        path = folder / name
        if not path.exists():
            continue
        lines = path.read_text(encoding="utf-8").split("\n")
        kept = [line for line in lines if not _about(line, failure_ids, about_key)]
        removed += len(lines) - len(kept)
        if len(kept) != len(lines):
            atomic_write_bytes(path, "\n".join(kept).encode("utf-8"), private=True)
    return removed


def _about(line: str, failure_ids: set[str], about_key: Callable[[str], bool]) -> bool:
    failure = _FAILURE.search(line)
    if failure and failure.group(1) in failure_ids:
        return True
    waiver = _WAIVER_KEY.search(line)
    return bool(waiver and about_key(unescape(waiver.group(1))))


_FAILURE = re.compile(r'data-failure="([^"]*)"')
_WAIVER_KEY = re.compile(r'<tr data-rule="[^"]*" data-key="([^"]*)"')
