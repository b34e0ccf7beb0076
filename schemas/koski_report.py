"""KOSKI's student-year report (opiskelijavuositiedot, ``koski-report.md``): its columns in KOSKI's order, with ours.

One definition serves our per-study-right report (``tiedolla student-years``; ``--format koski`` writes the
headers as KOSKI does), the day measures of ``fact_student_year_month``, and reading KOSKI's own file to
reconcile with it. ``source_header`` is KOSKI's header, exactly as KOSKI writes it.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from schemas.codes import reference
from schemas.metadata import Column, Rule, Table

#: the additional-period type behind each day column (``schemas/reference/additional_period_types.csv``)
PERIOD_MEASURES: dict[str, tuple[str, ...]] = {}
for _row in reference("additional_period_types"):
    PERIOD_MEASURES.setdefault(_row["measure"], ())
    PERIOD_MEASURES[_row["measure"]] += (_row["code"],)


def _days(name: str, header: str, words: str) -> Column:
    return Column(name, pl.Float64, words, header, nullable=False)


def _period_days(name: str, header: str) -> Column:
    types = " or ".join(f"`{t}`" for t in PERIOD_MEASURES[name])
    return _days(name, header, f"Days with a {types} additional period, whatever the status.")


IDENTITY = (
    Column("study_right_oid", pl.Utf8, "National study-right OID.", "Opiskeluoikeuden oid"),
    Column(
        "study_right_id",
        pl.Utf8,
        "Local study-right id (Opiskeluoikeus).",
        "Opiskeluoikeuden tunniste lähdejärjestelmässä",
        nullable=False,
    ),
)
DESCRIPTIVE = (
    Column(
        "funding_codes",
        pl.Utf8,
        "The distinct funding codes of the period's days, in order, comma-separated.",
        "Rahoitukset",
    ),
    Column(
        "present_funding_entered",
        pl.Boolean,
        "Every lasna day of the period has a funding code.",
        "Läsnä rahoitus syötetty",
        nullable=False,
    ),
    Column(
        "holiday_or_graduated_funding_entered",
        pl.Boolean,
        "Every loma and valmistunut day of the period has a funding code.",
        "Loma/valmistunut rahoitus syötetty",
        nullable=False,
    ),
    Column(
        "ended", pl.Boolean, "The study right ended (an ending status) within the period.", "Päättynyt", nullable=False
    ),
    Column("end_date", pl.Date, "The day it ended, when it ended within the period.", "Päättymispäivä"),
)
#: KOSKI's figures, one column each: every one reconciles with KOSKI's report
FIGURES = (
    _days(
        "student_year_days_old",
        "Opiskelijavuosikertymä (pv)",
        "(Present or graduated + counted holiday days) × each day's part-time %: the formula of KOSKI's report.",
    ),
    _days(
        "present_or_graduated_days",
        "Läsnä tai valmistunut (pv)",
        "lasna days + the graduation day (not adjusted for part-time).",
    ),
    _days(
        "holiday_days_counted",
        "Opiskelijavuoteen kuuluvat lomat (pv)",
        "loma days within the first 28 of an unbroken holiday (which may have begun before the period).",
    ),
    _days("holiday_days_other", "Muut lomat (pv)", "loma days beyond the first 28."),
    _period_days("accommodation_days", "Majoitus (pv)"),
    _period_days("boarding_accommodation_days", "Sisäoppilaitosmainen majoitus (pv)"),
    _period_days(
        "special_support_accommodation_days", "Vaativan erityisen tuen yhteydessä järjestettävä majoitus (pv)"
    ),
    _period_days("special_support_days", "Erityinen tuki (pv)"),
    _period_days("demanding_special_support_days", "Vaativat erityisen tuen tehtävä (pv)"),
    _period_days("hojks_days", "Hojks (pv)"),
    _period_days("severely_disabled_days", "Vaikeasti vammaisten opetus (pv)"),
    _period_days("disabled_with_assistant_days", "Vammainen ja avustaja (pv)"),
    Column(
        "part_time_percentages",
        pl.Utf8,
        "The part-time percentages of the period in order, comma-separated "
        "(a change back and forth is listed each time); empty when every day is 100 %.",
        "Osa-aikaisuusjaksot (prosentit)",
    ),
    Column(
        "part_time_average_percent",
        pl.Float64,
        "Part-time % weighted by days (100 on days without part-time).",
        "Osa-aikaisuus keskimäärin (%)",
        nullable=False,
    ),
    _period_days("study_readiness_days", "Opiskeluvalmiuksia tukevat opinnot (pv)"),
    _period_days("prison_education_days", "Vankilaopetuksessa (pv)"),
    _days(
        "apprenticeship_days",
        "Oppisopimus (pv)",
        "Days in apprenticeship: an `oppisopimus` additional period or "
        "a workplace-learning period whose Muoto is `oppisopimus`.",
    ),
)
#: the formula in force from 1.7.2023: KOSKI's report of the period we anchor on has no column for it
CURRENT = Column(
    "student_year_days_current",
    pl.Float64,
    "Student-year days by the current formula (from 1.7.2023); null for types it gives no value "
    "(e.g. valma). Not in KOSKI's report: reported beside it, not reconciled.",
    "Opiskelijavuosikertymä 1.7.2023 alkaen (pv)",
)

#: our per-study-right report: KOSKI's columns in KOSKI's order, the current formula beside them
STUDENT_YEAR_REPORT = Table(
    name="student_year_report",
    description="Student-years per study right for a period, column for column as KOSKI's opiskelijavuositiedot.",
    grain="One row per study right with at least one day in the period.",
    key=("study_right_id",),
    columns=IDENTITY + DESCRIPTIVE + FIGURES + (CURRENT,),
)
#: the figures that are day counts, "(pv)" in KOSKI's header (also summed per month in ``fact_student_year_month``)
DAY_MEASURES: tuple[str, ...] = tuple(c.name for c in FIGURES + (CURRENT,) if c.source_header.endswith("(pv)"))
#: per additional-period type, its day measure (part-time has none: it weights the days)
MEASURE_OF_TYPE = {t: m for m, types in PERIOD_MEASURES.items() if m.endswith("_days") for t in types}

#: KOSKI's report file as it arrives (``landing/koski/<date>/opiskelijavuositiedot_*.xlsx``): input with personal data,
#: never published; read by header, so only the headers below that the reconciliation uses must be there
KOSKI_FILE = Table(
    name="koski_report",
    source_file="opiskelijavuositiedot_<oppilaitos oid>_<yyyymmdd>-<yyyymmdd>.xlsx",
    source_system="koski",
    description="KOSKI's own student-year report (opiskelijavuositiedot) for an oppilaitos and a reporting period, "
    "downloaded from KOSKI. Reconciled with our figures column by column; nothing of it is published.",
    grain="One row per study right with a day in the reporting period.",
    key=("study_right_oid",),
    columns=(
        replace(IDENTITY[0], personal="oid", nullable=False),
        Column("source_system_code", pl.Utf8, "The system the study right was transferred from.", "Lähdejärjestelmä"),
        IDENTITY[1],
        Column("learner_oid", pl.Utf8, "National learner OID.", "Oppijan oid", personal="oid"),
        Column("hetu", pl.Utf8, "Henkilötunnus.", "Hetu", personal="hetu"),
        Column("last_name", pl.Utf8, "Surname.", "Sukunimi", personal="name"),
        Column("first_names", pl.Utf8, "First names.", "Etunimet", personal="name"),
        Column("study_right_type", pl.Utf8, "KOSKI suoritustyyppi.", "Suorituksen tyyppi"),
        *DESCRIPTIVE,
        *FIGURES,
    ),
)
#: the KOSKI figures we compare, one column each (the current formula is not in KOSKI's report)
RECONCILED: tuple[Column, ...] = FIGURES

#: what reconciling with KOSKI's report finds: each a flag for a steward (nothing of ours is held back by it)
RECONCILIATION_RULES = (
    Rule(
        "koski_report.figure_differs",
        "A figure of ours differs from KOSKI's report for the same study right and reporting period",
        "flag",
        description_fi="Oma lukumme poikkeaa KOSKIn raportista saman opiskeluoikeuden ja aikajakson osalta",
    ),
    Rule(
        "koski_report.only_in_koski",
        "A study right in KOSKI's report has no figures of ours for its reporting period",
        "flag",
        description_fi="KOSKIn raportin opiskeluoikeudelle ei ole omia lukuja raportin aikajaksolle",
    ),
    Rule(
        "koski_report.only_ours",
        "A study right with figures of ours for the reporting period is not in KOSKI's report",
        "flag",
        description_fi="Opiskeluoikeus, jolla on omia lukuja aikajaksolla, puuttuu KOSKIn raportista",
    ),
    Rule(
        "koski_report.unreadable_cell",
        "A cell of KOSKI's report does not read as its column's type (it is left out of the comparison)",
        "flag",
        description_fi="KOSKIn raportin solua ei voi lukea sarakkeen tyyppinä (se jätetään vertailusta pois)",
    ),
)
