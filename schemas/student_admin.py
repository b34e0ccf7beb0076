"""Student-administration export ("Primus-style"): one table per source file.

Headers are the contract of ``source-exports.md`` section 1; a site maps its own
headers onto them in ``pipelines/config/site.yaml``. Rules that need only one row live
on the table; rules that need several files are :data:`CROSS_FILE_RULES`; :data:`SOURCE`
bundles them for the pipeline.
"""

from __future__ import annotations

import polars as pl

from schemas import codes as c
from schemas.fields import column
from schemas.identifiers import business_id_normalised, hetu_birth_date, hetu_is_valid, hetu_sex, oid_matches
from schemas.metadata import (
    LINE,
    Column,
    CrossFileRule,
    Rule,
    Source,
    Table,
    code_rule,
    missing_parent,
    not_before,
    pattern_rule,
    range_rule,
)

SYSTEM = "student_admin"
#: the rule that lists an annulled study right (which every student-year figure leaves out)
ANNULLED = "status_periods.annulled"
LEARNER_OID = "1.2.246.562.24."
STUDY_RIGHT_OID = "1.2.246.562.15."


def _study_right_fk(header: str = "Opiskeluoikeus") -> Column:
    return column("study_right_id", header, nullable=False)


STUDENTS = Table(
    name="students",
    source_file="opiskelijat.csv",
    source_system=SYSTEM,
    description="Students: one row per person known to the student-administration system.",
    grain="One row per student (local student number).",
    key=("student_number",),
    columns=(
        column("student_number", "Opiskelijanumero", nullable=False, unique=True),
        column(
            "hetu",
            "Henkilötunnus",
            on_failure="clear",
            rules=(
                Rule(
                    "students.hetu.valid",
                    "Henkilötunnus must have a real date, a known century sign and the right check character",
                    description_fi="Henkilötunnuksessa on oltava oikea päivämäärä, tunnettu vuosisatamerkki ja "
                    "oikea tarkistusmerkki",
                    passes=lambda: pl.col("hetu").is_null() | hetu_is_valid("hetu"),
                    column="hetu",
                ),
            ),
        ),
        column(
            "learner_oid",
            "Oppijanumero",
            on_failure="clear",
            rules=(
                Rule(
                    "students.learner_oid.format",
                    f"Oppijanumero must be {LEARNER_OID} followed by 11 digits",
                    description_fi=f"Oppijanumeron on oltava {LEARNER_OID} ja 11 numeroa",
                    passes=lambda: pl.col("learner_oid").is_null() | oid_matches("learner_oid", LEARNER_OID),
                    column="learner_oid",
                ),
            ),
        ),
        column("last_name", "Sukunimi", on_failure="clear"),
        column("first_names", "Etunimet", on_failure="clear"),
        column("birth_date", "Syntymäaika", on_failure="clear"),
        column(
            "sex",
            "Sukupuoli",
            variant="students",
            on_failure="clear",
            rules=(code_rule("students", "sex", "Sukupuoli", c.SEX_CODES, "1 / 2"),),
        ),
        column(
            "mother_tongue",
            "Äidinkieli",
            on_failure="clear",
            rules=(code_rule("students", "mother_tongue", "Äidinkieli", c.LANGUAGES, "ISO 639-1 (fi, sv, …)"),),
        ),
        column(
            "home_municipality",
            "Kotikunta",
            meaning="Home municipality, 3-digit Statistics Finland code.",
            on_failure="clear",
            rules=(
                pattern_rule(
                    "students.home_municipality.format",
                    "Kotikunta must be a 3-digit municipality code (e.g. 091)",
                    "home_municipality",
                    r"^\d{3}$",
                    description_fi="Kotikunnan on oltava kolminumeroinen kuntakoodi (esim. 091)",
                ),
            ),
        ),
        column("email", "Sähköposti", on_failure="clear"),
        column("mobile_phone", "Matkapuhelin", on_failure="clear"),
    ),
    row_rules=(
        Rule(
            "students.hetu_or_learner_oid",
            "A student needs a henkilötunnus or an oppijanumero (or both)",
            "flag",
            description_fi="Opiskelijalla on oltava henkilötunnus tai oppijanumero (tai molemmat)",
            passes=lambda: pl.col("hetu").is_not_null() | pl.col("learner_oid").is_not_null(),
            column="hetu",
        ),
        Rule(
            "students.hetu_matches_birth_date",
            "Syntymäaika must be the birth date the henkilötunnus states",
            description_fi="Syntymäajan on oltava henkilötunnuksen mukainen",
            # (a henkilötunnus whose date cannot be read disagrees with nothing: students.hetu.valid reports it)
            passes=lambda: (
                pl.col("hetu").is_null()
                | pl.col("birth_date").is_null()
                | (hetu_birth_date("hetu") == pl.col("birth_date")).fill_null(True)
            ),
            column="birth_date",
        ),
        Rule(
            "students.hetu_matches_sex",
            "Sukupuoli must agree with the henkilötunnus (odd individual number = male)",
            description_fi="Sukupuolen on oltava henkilötunnuksen mukainen (pariton yksilönumero = mies)",
            passes=lambda: (
                pl.col("hetu").is_null() | pl.col("sex").is_null() | (hetu_sex("hetu") == pl.col("sex")).fill_null(True)
            ),
            column="sex",
        ),
    ),
)

STUDY_RIGHTS = Table(
    name="study_rights",
    source_file="opiskeluoikeudet.csv",
    source_system=SYSTEM,
    description="Study rights (opiskeluoikeudet): a student's right to study one qualification at the provider.",
    grain="One row per study right (local Opiskeluoikeus id).",
    key=("study_right_id",),
    foreign_keys=(("student_number", "students", "student_number"),),
    columns=(
        column("study_right_id", "Opiskeluoikeus", meaning="Local study-right id.", nullable=False, unique=True),
        column(
            "study_right_oid",
            "Opiskeluoikeuden OID",
            meaning="National study-right OID once transferred to KOSKI.",
            on_failure="clear",
            rules=(
                Rule(
                    "study_rights.study_right_oid.format",
                    f"Opiskeluoikeuden OID must be {STUDY_RIGHT_OID} followed by 11 digits",
                    description_fi=f"Opiskeluoikeuden OID:n on oltava {STUDY_RIGHT_OID} ja 11 numeroa",
                    passes=lambda: (
                        pl.col("study_right_oid").is_null() | oid_matches("study_right_oid", STUDY_RIGHT_OID)
                    ),
                    column="study_right_oid",
                ),
            ),
        ),
        # a study right counts without its student (KOSKI counts what is recorded): the reference is cleared
        column(
            "student_number",
            "Opiskelijanumero",
            meaning="The student (foreign key to opiskelijat.csv).",
            nullable=False,
            on_failure="clear",
        ),
        column(
            "study_right_type",
            "Suorituksen tyyppi",
            nullable=False,
            on_failure="clear",
            rules=(
                code_rule(
                    "study_rights",
                    "study_right_type",
                    "Suorituksen tyyppi",
                    c.codes("study_right_types"),
                    "KOSKI suorituksentyyppi",
                ),
            ),
        ),
        column(
            "koulutus_code",
            "Koulutus",
            meaning="6-digit koulutus code of the qualification.",
            nullable=False,
            on_failure="clear",
            rules=(
                code_rule(
                    "study_rights", "koulutus_code", "Koulutus", c.codes(c.QUALIFICATIONS, "koulutus_code"), "koulutus"
                ),
            ),
        ),
        column(
            "osaamisala_code",
            "Osaamisala",
            meaning="4-digit osaamisala code.",
            on_failure="clear",
            rules=(
                pattern_rule(
                    "study_rights.osaamisala_code.format",
                    "Osaamisala must be a 4-digit code",
                    "osaamisala_code",
                    r"^\d{4}$",
                    description_fi="Osaamisalan on oltava nelinumeroinen koodi",
                ),
            ),
        ),
        column("campus", "Toimipiste", nullable=False, on_failure="clear"),
        column(
            "start_date", "Alkamispäivä", meaning="Start date of the study right.", nullable=False, on_failure="clear"
        ),
        column("planned_end_date", "Arvioitu päättymispäivä", on_failure="clear"),
        column("end_date", "Päättymispäivä", meaning="Actual end date; empty while open.", on_failure="clear"),
    ),
    row_rules=(
        not_before(
            "study_rights",
            "start_date",
            "end_date",
            "Päättymispäivä must not be before Alkamispäivä",
            "Päättymispäivä ei saa olla ennen alkamispäivää",
        ),
        not_before(
            "study_rights",
            "start_date",
            "planned_end_date",
            "Arvioitu päättymispäivä must not be before Alkamispäivä",
            "Arvioitu päättymispäivä ei saa olla ennen alkamispäivää",
        ),
    ),
)

STATUS_PERIODS = Table(
    name="status_periods",
    source_file="opiskeluoikeusjaksot.csv",
    source_system=SYSTEM,
    description="Status periods (opiskeluoikeusjaksot): the study right's status from a date until the next period.",
    grain="One row per study right and status change date.",
    key=("study_right_id", "start_date"),
    foreign_keys=(("study_right_id", "study_rights", "study_right_id"),),
    columns=(
        _study_right_fk(),
        column("start_date", "Alkupäivä", meaning="First day of this status.", nullable=False),
        column(
            "status",
            "Tila",
            meaning="KOSKI opiskeluoikeudentila code.",
            nullable=False,
            rules=(code_rule("status_periods", "status", "Tila", c.codes(c.STATUSES), "KOSKI opiskeluoikeudentila"),),
        ),
        column(
            "funding_code",
            "Rahoitus",
            on_failure="clear",
            rules=(
                code_rule(
                    "status_periods",
                    "funding_code",
                    "Rahoitus",
                    c.codes("funding_codes"),
                    "KOSKI opintojenrahoitus (no code 5)",
                ),
            ),
        ),
    ),
    row_rules=(
        # the days still count, without a funding code (KOSKI: Läsnä rahoitus syötetty = false)
        Rule(
            "status_periods.funding_required",
            "Rahoitus is required for lasna, loma and valmistunut",
            "flag",
            description_fi="Rahoitus on pakollinen tiloille lasna, loma ja valmistunut (päivät lasketaan silti, "
            "ilman rahoitusmuotoa)",
            passes=lambda: ~pl.col("status").is_in(sorted(c.FUNDED_STATUSES)) | pl.col("funding_code").is_not_null(),
            column="funding_code",
        ),
        # KOSKI moves an annulled study right out of its reporting tables: it has no day in any report
        Rule(
            ANNULLED,
            "The study right is annulled (mitatoity): KOSKI counts it nowhere, so it is left out of every "
            "student-year figure and the forecast",
            "flag",
            description_fi="Opiskeluoikeus on mitätöity: KOSKI ei laske sitä mihinkään, joten se jätetään pois "
            "kaikista opiskelijavuosiluvuista ja ennusteesta",
            passes=lambda: pl.col("status") != c.ANNULLED_STATUS,
            column="status",
        ),
    ),
)

ADDITIONAL_PERIODS = Table(
    name="additional_periods",
    source_file="opiskeluoikeuden_lisatiedot.csv",
    source_system=SYSTEM,
    description="Additional periods (lisätiedot): part-time, accommodation, special support, apprenticeship.",
    grain="One row per study right, period type and period.",
    foreign_keys=(("study_right_id", "study_rights", "study_right_id"),),
    columns=(
        _study_right_fk(),
        column(
            "period_type",
            "Tyyppi",
            meaning="Kind of additional period.",
            nullable=False,
            rules=(
                code_rule(
                    "additional_periods",
                    "period_type",
                    "Tyyppi",
                    c.codes("additional_period_types"),
                    "lisätietotyypit (KOSKI)",
                ),
            ),
        ),
        column("start_date", "Alkupäivä", meaning="First day (inclusive).", nullable=False),
        column("end_date", "Loppupäivä", meaning="Last day (inclusive); empty = open-ended."),
        column("value", "Arvo"),
    ),
    row_rules=(
        not_before(
            "additional_periods",
            "start_date",
            "end_date",
            "Loppupäivä must not be before Alkupäivä",
            "Loppupäivä ei saa olla ennen alkupäivää",
        ),
        Rule(
            "additional_periods.part_time_percent",
            "Arvo must be a study load of 1–100 % for osa-aikaisuus",
            description_fi="Osa-aikaisuuden arvon on oltava opiskelun kuormitus 1–100 %",
            passes=lambda: (pl.col("period_type") != "osa-aikaisuus") | pl.col("value").is_between(1, 100),
            column="value",
        ),
    ),
)

ASSESSED_UNITS = Table(
    name="assessed_units",
    source_file="tutkinnon_osat.csv",
    source_system=SYSTEM,
    description="Assessed qualification units (tutkinnon osat) with their grade and size.",
    grain="One row per study right and assessed unit.",
    foreign_keys=(("study_right_id", "study_rights", "study_right_id"),),
    columns=(
        _study_right_fk(),
        column(
            "unit_code",
            "Tutkinnon osa",
            nullable=False,
            rules=(
                Rule(
                    "assessed_units.unit_code.format",
                    "Tutkinnon osa must be a numeric ePerusteet code",
                    description_fi="Tutkinnon osan on oltava ePerusteiden numeerinen koodi",
                    passes=lambda: pl.col("unit_code").str.contains(r"^\d{1,12}$"),
                    column="unit_code",
                ),
            ),
        ),
        column("unit_name", "Nimi"),
        column(
            "credits",
            "Laajuus",
            meaning="Size in osaamispisteet (competence points).",
            nullable=False,
            on_failure="clear",
            rules=(
                Rule(
                    "assessed_units.credits.range",
                    "Laajuus must be more than 0 and at most 200 osaamispistettä",
                    description_fi="Laajuuden on oltava yli 0 ja enintään 200 osaamispistettä",
                    passes=lambda: pl.col("credits").is_null() | ((pl.col("credits") > 0) & (pl.col("credits") <= 200)),
                    column="credits",
                ),
            ),
        ),
        column(
            "grade",
            "Arvosana",
            meaning="1–5, Hyväksytty or Hylätty.",
            nullable=False,
            on_failure="clear",
            rules=(code_rule("assessed_units", "grade", "Arvosana", c.codes("grades"), "1–5 / Hyväksytty / Hylätty"),),
        ),
        column("assessment_date", "Arviointipäivä", nullable=False),
        column(
            "recognised",
            "Tunnustettu",
            variant="assessed_units",
            on_failure="clear",
            rules=(code_rule("assessed_units", "recognised", "Tunnustettu", c.RECOGNISED_CODES, "K / E"),),
        ),
    ),
)

WORKPLACE_PERIODS = Table(
    name="workplace_periods",
    source_file="tyopaikkajaksot.csv",
    source_system=SYSTEM,
    description="Workplace learning periods (työpaikalla järjestettävä koulutus).",
    grain="One row per study right, workplace and period.",
    foreign_keys=(("study_right_id", "study_rights", "study_right_id"),),
    columns=(
        _study_right_fk(),
        column(
            "agreement_type",
            "Muoto",
            meaning="koulutussopimus or oppisopimus.",
            nullable=False,
            on_failure="clear",
            rules=(
                code_rule(
                    "workplace_periods", "agreement_type", "Muoto", c.AGREEMENT_TYPES, "koulutussopimus / oppisopimus"
                ),
            ),
        ),
        column(
            "business_id",
            "Y-tunnus",
            meaning="Workplace's Y-tunnus as typed.",
            rules=(
                Rule(
                    "workplace_periods.business_id.valid",
                    "Y-tunnus must be a valid business id (1234567-8, check digit mod 11); the row is kept without it",
                    consequence="flag",
                    description_fi="Y-tunnuksen on oltava kelvollinen (1234567-8, "
                    "tarkistusnumero mod 11); rivi säilyy ilman sitä",
                    passes=lambda: (
                        pl.col("business_id").is_null() | business_id_normalised("business_id").is_not_null()
                    ),
                    column="business_id",
                ),
            ),
        ),
        column(
            "workplace_name",
            "Työpaikka",
            meaning="Workplace name as typed by staff.",
            nullable=False,
            on_failure="clear",
        ),
        column("start_date", "Alkupäivä", nullable=False),
        column("end_date", "Loppupäivä"),
    ),
    row_rules=(
        not_before(
            "workplace_periods",
            "start_date",
            "end_date",
            "Loppupäivä must not be before Alkupäivä",
            "Loppupäivä ei saa olla ennen alkupäivää",
        ),
    ),
)

TARGETS = Table(
    name="targets",
    source_file="tavoitteet.csv",
    source_system=SYSTEM,
    description="The provider's student-year target per year from its funding decision.",
    grain="One row per calendar year.",
    key=("year",),
    columns=(
        column(
            "year",
            "Vuosi",
            nullable=False,
            unique=True,
            rules=(
                range_rule(
                    "targets.year.range",
                    "Vuosi must be a year between 2000 and 2100",
                    "year",
                    2000,
                    2100,
                    description_fi="Vuoden on oltava välillä 2000–2100",
                ),
            ),
        ),
        column(
            "target_student_years",
            "Opiskelijavuodet",
            nullable=False,
            rules=(
                range_rule(
                    "targets.target_student_years.range",
                    "Opiskelijavuodet must be zero or more",
                    "target_student_years",
                    0,
                    None,
                    description_fi="Opiskelijavuosia on oltava nolla tai enemmän",
                ),
            ),
        ),
    ),
)

TABLES: tuple[Table, ...] = (
    STUDENTS,
    STUDY_RIGHTS,
    STATUS_PERIODS,
    ADDITIONAL_PERIODS,
    ASSESSED_UNITS,
    WORKPLACE_PERIODS,
    TARGETS,
)
BY_NAME = {t.name: t for t in TABLES}


# ---- rules across files ----------------------------------------------------------------
def _periods_in_file_order(t):
    """A status period dated before an earlier row of the same study right."""
    p = t["status_periods"].lazy()  # (lazy: polars runs this window over a million rows twice as fast)
    latest_before = pl.col("start_date").cum_max().shift(1).over("study_right_id", order_by=LINE)
    return p.filter(pl.col("start_date") < latest_before).collect()[LINE]


def _two_on_one_date(t):
    """Every status period that shares its study right and date with another."""
    p = t["status_periods"].lazy().filter(pl.col("start_date").is_not_null())
    return p.filter(pl.len().over("study_right_id", "start_date") > 1).collect()[LINE]


def _after_ending_status(t):
    p = t["status_periods"]
    first_end = (
        p.filter(pl.col("status").is_in(sorted(c.ENDING_STATUSES)))
        .group_by("study_right_id")
        .agg(pl.col("start_date").min().alias("ended_on"))
    )
    return p.join(first_end, on="study_right_id").filter(pl.col("start_date") > pl.col("ended_on"))[LINE]


def _without_periods(t):
    return t["study_rights"].join(t["status_periods"].select("study_right_id"), on="study_right_id", how="anti")[LINE]


def _workplace_outside_study_right(t):
    w = t["workplace_periods"].join(
        t["study_rights"].select(
            "study_right_id", pl.col("start_date").alias("sr_start"), pl.col("end_date").alias("sr_end")
        ),
        on="study_right_id",
    )
    outside = (pl.col("start_date") < pl.col("sr_start")) | (
        pl.col("sr_end").is_not_null() & (pl.col("end_date").fill_null(pl.col("start_date")) > pl.col("sr_end"))
    )
    return w.filter(outside)[LINE]


CROSS_FILE_RULES: tuple[CrossFileRule, ...] = (
    CrossFileRule(
        Rule(
            "study_rights.student_exists",
            "Opiskelijanumero must be a student in opiskelijat.csv",
            column="student_number",
            description_fi="Opiskelijanumerolla on oltava opiskelija tiedostossa "
            "opiskelijat.csv (opiskeluoikeus julkaistaan ilman opiskelijaa)",
        ),
        "study_rights",
        missing_parent("study_rights", "student_number", "students", "student_number"),
    ),
    *(
        CrossFileRule(
            Rule(
                f"{child}.study_right_exists",
                "Opiskeluoikeus must be a study right in opiskeluoikeudet.csv",
                column="study_right_id",
                description_fi="Opiskeluoikeuden on oltava tiedostossa opiskeluoikeudet.csv",
            ),
            child,
            missing_parent(child, "study_right_id", "study_rights", "study_right_id"),
        )
        for child in ("status_periods", "additional_periods", "assessed_units", "workplace_periods")
    ),
    # the study right is published; with no status, its student-years are unknown (held back and listed)
    CrossFileRule(
        Rule(
            "study_rights.has_status_periods",
            "A study right must have at least one status period",
            "flag",
            column="study_right_id",
            description_fi="Opiskeluoikeudella on oltava ainakin yksi "
            "opiskeluoikeusjakso (ilman jaksoja sen opiskelijavuodet jäävät laskematta)",
        ),
        "study_rights",
        _without_periods,
        needs=("status_periods",),
    ),
    # two statuses on one date leave the status of that day unknown; a list out of date order is only sorted
    CrossFileRule(
        Rule(
            "status_periods.one_per_date",
            "A study right may have only one status period per date",
            column="start_date",
            description_fi="Opiskeluoikeudella saa olla vain yksi jakso kullekin päivälle",
        ),
        "status_periods",
        _two_on_one_date,
    ),
    CrossFileRule(
        Rule(
            "status_periods.in_date_order",
            "Status periods of a study right should be listed in date order (they are used in date order)",
            "flag",
            column="start_date",
            description_fi="Opiskeluoikeuden jaksojen pitäisi olla päivämääräjärjestyksessä (ne käytetään "
            "päivämääräjärjestyksessä)",
        ),
        "status_periods",
        _periods_in_file_order,
    ),
    CrossFileRule(
        Rule(
            "status_periods.ending_status_last",
            "Nothing may follow an ending status (valmistunut, eronnut, …): it must be the last period",
            column="start_date",
            description_fi="Päättävän tilan (valmistunut, eronnut, …) jälkeen ei saa "
            "olla jaksoja: sen on oltava viimeinen",
        ),
        "status_periods",
        _after_ending_status,
    ),
    CrossFileRule(
        Rule(
            "workplace_periods.within_study_right",
            "A workplace period must lie inside its study right",
            "flag",
            column="start_date",
            description_fi="Työpaikkajakson on oltava opiskeluoikeuden voimassaoloaikana",
        ),
        "workplace_periods",
        _workplace_outside_study_right,
    ),
)

SOURCE = Source(
    system=SYSTEM,
    tables=TABLES,
    cross_file_rules=CROSS_FILE_RULES,
    parent_words="The student or study right this row belongs to is in quarantine",
    parent_words_fi="Opiskelija tai opiskeluoikeus, johon rivi kuuluu, on karanteenissa",
    person_column="student_number",
    # (a provider without an export of its own runs on KOSKI's data: pipelines/conforming/student_records.py)
    optional=True,
)
