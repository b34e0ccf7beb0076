"""KOSKI's student-year report (opiskelijavuositiedot, ``koski-report.md``): its columns in KOSKI's order, with ours.

One definition serves our per-study-right report (``tiedolla student-years``; ``--format koski`` writes the
headers as KOSKI does today), the day measures of ``fact_student_year_month``, and reading KOSKI's own file to
reconcile with it. ``source_header`` is KOSKI's header today, exactly as KOSKI writes it
(``raportti-excel-kolumni-*`` in KOSKI's ``koski-default-texts.json``); :data:`EARLIER_HEADERS` holds what
earlier versions of the file called the same column, so a file downloaded months ago reads too.
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
    column("ended", "Päättynyt", nullable=False),
    column("end_date", "Päättymispäivä", meaning="The day it ended, when it ended within the period."),
)
#: the formula in force from 1.7.2023 (KOSKI's ``opiskelijavuosikertymä2026``)
CURRENT = column("student_year_days_current", "Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (1.7.2023 alkaen)")
#: KOSKI's figures in KOSKI's order today (since June 2026), one column each: every one reconciles with KOSKI's report
FIGURES = (
    _days("student_year_days_old", "Opiskelijavuosikertymä (pv) - vanha laskentakaava (ennen v. 2026)"),
    _days("present_or_graduated_days", "Läsnä tai valmistunut (pv)"),
    CURRENT,
    _days("holiday_days_counted", "Opiskelijavuoteen kuuluvat lomat (pv)"),
    _days("holiday_days_other", "Muut lomat (pv)"),
    _days("accommodation_days", "Majoitus (pv)"),
    _days("boarding_accommodation_days", "Sisäoppilaitosmainen majoitus (pv)"),
    _days("special_support_accommodation_days", "Vaativan erityisen tuen yhteydessä järjestettävä majoitus (pv)"),
    _days("special_support_days", "Erityinen tuki (pv)"),
    _days("demanding_special_support_days", "Vaativa erityisen tuen tehtävä (pv)"),
    _days("hojks_days", "Hojks (pv)"),
    _days("severely_disabled_days", "Vaikeasti vammaisten opetus (pv)"),
    _days("disabled_with_assistant_days", "Vammainen ja avustaja (pv)"),
    column("part_time_percentages", "Osa-aikaisuusjaksot (prosentit)"),
    column("part_time_average_percent", "Osa-aikaisuus keskimäärin (%)", nullable=False),
    _days("study_readiness_days", "Opiskeluvalmiuksia tukevat opinnot (pv)"),
    _days("prison_education_days", "Vankilaopetuksessa (pv)"),
    _days("apprenticeship_days", "Oppisopimus (pv)"),
)
#: what earlier versions of KOSKI's file called a column of today's (its history in KOSKI's repository):
#: ``Opiskelijavuosikertymä (pv)`` until March 2026, ``Vaativat …`` until February 2023
EARLIER_HEADERS: dict[str, tuple[str, ...]] = {
    "student_year_days_old": ("Opiskelijavuosikertymä (pv)",),
    "demanding_special_support_days": ("Vaativat erityisen tuen tehtävä (pv)",),
}
#: headers of earlier versions that held a figure counted by a rule KOSKI has since corrected: read, never compared
#: (February–June 2026 KOSKI counted its new formula from 1.1.2026 and for fewer study-right types)
SUPERSEDED_HEADERS: dict[str, str] = {
    "Opiskelijavuosikertymä 2026 (pv)": "student_year_days_current",
    "Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (v. 2026 eteenpäin)": "student_year_days_current",
}

#: every header of KOSKI's file today, in its order (``AmmatillinenOpiskelijavuositiedotRaportti.columnSettings``):
#: the file as a whole, of which ``KOSKI_FILE`` reads the columns it needs
KOSKI_HEADERS: tuple[str, ...] = (
    "Opiskeluoikeuden oid",
    "Lähdejärjestelmä",
    "Opiskeluoikeuden tunniste lähdejärjestelmässä",
    "Sisältyy opiskeluoikeuteen",
    "Korottaa opiskeluoikeuden",
    "Ostettu",
    "Sisältyvät opiskeluoikeudet",
    "Sisältyvien opiskeluoikeuksien oppilaitokset",
    "Päivitetty",
    "Toimipisteet",
    "Yksilöity",
    "Oppijan oid",
    "Oppijan master-oid",
    "Hetu",
    "Sukunimi",
    "Etunimet",
    "Suorituksen tyyppi",
    "Tutkinnot",
    "Päätason suorituksen nimi",
    "Osaamisalat",
    "Päätason suorituksen suoritustapa",
    "Opiskeluoikeuden alkamispäivä",
    "Viimeisin opiskeluoikeuden tila",
    "Viimeisin opiskeluoikeuden tila aikajakson lopussa",
    "Rahoitukset",
    "Päättynyt",
    "Päättymispäivä",
    "Arvioitu päättymispäivä",
    *(c.source_header for c in FIGURES),
    "Henkilöstökoulutus",
    "Koulutusvienti",
    "Maksuttomuus",
    "Maksullisuus",
    "Oikeutta maksuttomuuteen pidennetty",
)

#: our per-study-right report: KOSKI's columns in KOSKI's order today
STUDENT_YEAR_REPORT = Table(
    name="student_year_report",
    description="Student-years per study right for a period, column for column as KOSKI's opiskelijavuositiedot.",
    grain="One row per study right of KOSKI's report (not annulled, not TUVA) with at least one day in the period.",
    key=("study_right_id",),
    columns=IDENTITY + DESCRIPTIVE + FIGURES,
)
#: the figures that are day counts, "(pv)" in KOSKI's header (also summed per month in ``fact_student_year_month``),
#: the current formula last (the published fact's column order, which BI tools rely on)
DAY_MEASURES: tuple[str, ...] = tuple(c.name for c in FIGURES if "(pv)" in c.source_header and c is not CURRENT) + (
    CURRENT.name,
)
#: per additional-period type, its day measure (part-time has none: it weights the days)
MEASURE_OF_TYPE = {t: m for m, types in PERIOD_MEASURES.items() if m.endswith("_days") for t in types}

#: KOSKI's report file as it arrives (``landing/koski/<date>/opiskelijavuositiedot_*.xlsx``): input with personal data,
#: never published; read by header in any order, so only its two identifiers must be there
KOSKI_FILE = Table(
    name="koski_report",
    source_file="opiskelijavuositiedot_<oppilaitos oid>_<yyyymmdd>-<yyyymmdd>.xlsx",
    source_system="koski",
    description="KOSKI's own student-year report (opiskelijavuositiedot) for an oppilaitos and a reporting period, "
    "downloaded from KOSKI (encrypted with the password typed when downloading). Reconciled with our figures column "
    "by column; nothing of it is published.",
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
#: the KOSKI figures we compare, one column each, when the file has them
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
        "A study right with figures of ours for the reporting period is not in KOSKI's report of its oppilaitos",
        "flag",
        description_fi="Opiskeluoikeus, jolla on omia lukuja aikajaksolla, puuttuu oppilaitoksensa KOSKI-raportista",
    ),
    Rule(
        "koski_report.unreadable_cell",
        "A cell of KOSKI's report does not read as its column's type (it is left out of the comparison)",
        "flag",
        description_fi="KOSKIn raportin solua ei voi lukea sarakkeen tyyppinä (se jätetään vertailusta pois)",
    ),
    Rule(
        "koski_report.oppilaitos_unknown",
        "A study right with figures for the period could not be placed in an oppilaitos, so no KOSKI file was "
        "compared with it: map its toimipiste in the site configuration (koski.oppilaitokset)",
        "flag",
        description_fi="Opiskeluoikeuden oppilaitos ei ole tiedossa, joten sitä ei verrattu mihinkään KOSKIn "
        "raporttiin: liitä sen toimipiste oppilaitokseen asetuksissa (koski.oppilaitokset)",
    ),
)
