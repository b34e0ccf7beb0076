"""KOSKI's student-year report (opiskelijavuositiedot, ``koski-report.md``): its columns in KOSKI's order, with ours.

One definition serves our per-study-right report (``tiedolla student-years``; ``--format koski`` writes the
headers as KOSKI does), the day measures of ``fact_student_year_month``, and reading KOSKI's own file to
reconcile with it. ``source_header`` is KOSKI's header, exactly as KOSKI writes it.
"""

from __future__ import annotations

from dataclasses import replace

from schemas.codes import PERIOD_MEASURES
from schemas.fields import column
from schemas.metadata import Column, Rule, Table


def _days(name: str, header: str) -> Column:
    return column(name, header, nullable=False)


IDENTITY = (
    column("study_right_oid", "Opiskeluoikeuden oid"),
    column(
        "study_right_id",
        "Opiskeluoikeuden tunniste lähdejärjestelmässä",
        meaning="Local study-right id (Opiskeluoikeus).",
        nullable=False,
    ),
)
DESCRIPTIVE = (
    column("funding_codes", "Rahoitukset"),
    column("present_funding_entered", "Läsnä rahoitus syötetty", nullable=False),
    column("holiday_or_graduated_funding_entered", "Loma/valmistunut rahoitus syötetty", nullable=False),
    column("ended", "Päättynyt", nullable=False),
    column("end_date", "Päättymispäivä", meaning="The day it ended, when it ended within the period."),
)
#: KOSKI's figures, one column each: every one reconciles with KOSKI's report
FIGURES = (
    _days("student_year_days_old", "Opiskelijavuosikertymä (pv)"),
    _days("present_or_graduated_days", "Läsnä tai valmistunut (pv)"),
    _days("holiday_days_counted", "Opiskelijavuoteen kuuluvat lomat (pv)"),
    _days("holiday_days_other", "Muut lomat (pv)"),
    _days("accommodation_days", "Majoitus (pv)"),
    _days("boarding_accommodation_days", "Sisäoppilaitosmainen majoitus (pv)"),
    _days("special_support_accommodation_days", "Vaativan erityisen tuen yhteydessä järjestettävä majoitus (pv)"),
    _days("special_support_days", "Erityinen tuki (pv)"),
    _days("demanding_special_support_days", "Vaativat erityisen tuen tehtävä (pv)"),
    _days("hojks_days", "Hojks (pv)"),
    _days("severely_disabled_days", "Vaikeasti vammaisten opetus (pv)"),
    _days("disabled_with_assistant_days", "Vammainen ja avustaja (pv)"),
    column("part_time_percentages", "Osa-aikaisuusjaksot (prosentit)"),
    column("part_time_average_percent", "Osa-aikaisuus keskimäärin (%)", nullable=False),
    _days("study_readiness_days", "Opiskeluvalmiuksia tukevat opinnot (pv)"),
    _days("prison_education_days", "Vankilaopetuksessa (pv)"),
    _days("apprenticeship_days", "Oppisopimus (pv)"),
)
#: the formula in force from 1.7.2023: KOSKI's report of the period we anchor on has no column for it
CURRENT = column("student_year_days_current", "Opiskelijavuosikertymä 1.7.2023 alkaen (pv)")

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
        replace(IDENTITY[0], nullable=False),
        column("source_system_code", "Lähdejärjestelmä"),
        IDENTITY[1],
        column("learner_oid", "Oppijan oid"),
        column("hetu", "Hetu"),
        column("last_name", "Sukunimi"),
        column("first_names", "Etunimet"),
        column("study_right_type", "Suorituksen tyyppi"),
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
