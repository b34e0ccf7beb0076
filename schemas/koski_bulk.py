"""KOSKI's bulk data (massaluovutus, ``organisaationOpiskeluoikeudet``, CSV): the provider's study rights as KOSKI holds
them, fetched by ``tiedolla koski fetch`` into ``<landing>/koski_bulk/<date>/``.

Read from KOSKI's own code (``../shared/spec/koski-bulk.md``, Opetushallitus/koski ``RaportointiDatabaseSchema``,
``OpiskeluoikeusLoaderRowBuilder``, ``CsvFormatter``): comma, CRLF, a header of KOSKI's snake-cased field names in an
order that changes between KOSKI releases (so read by name, and the many columns not used here are passed over),
``true``/``false``, ISO dates, ``9999-12-31`` for an open end, timestamps in Helsinki time. A file KOSKI would have
written empty is absent; a split file comes in parts. Henkilötunnus is not in these files; learner OIDs are, and
names of persons may be inside the JSON ``data`` columns: none of it is published.

One study right can come twice (a person with linked learner OIDs): the copy with the highest version is kept, and
the other copy's rows are held back as delivered twice.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from schemas import codes as c
from schemas.fields import column
from schemas.metadata import (
    KOSKI_TEXT,
    Column,
    CrossFileRule,
    FileConvention,
    Rule,
    Source,
    Table,
    code_rule,
    missing_parent,
    not_before,
    pattern_rule,
    range_rule,
)

SYSTEM = "koski_bulk"
#: OPH's OIDs: a study right (.15.), a learner (.24.), an organisation (.10.)
STUDY_RIGHT_OID, LEARNER_OID, ORGANISATION_OID = (rf"^1\.2\.246\.562\.{n}\.\d+$" for n in (15, 24, 10))
#: KOSKI's koulutusmuodot (MassaluovutusQueryOrganisaationOpiskeluoikeudet)
EDUCATION_FORMS = frozenset(
    {
        "aikuistenperusopetus",
        "ammatillinenkoulutus",
        "diatutkinto",
        "ebtutkinto",
        "esiopetus",
        "europeanschoolofhelsinki",
        "ibtutkinto",
        "internationalschool",
        "korkeakoulutus",
        "lukiokoulutus",
        "luva",
        "muukuinsaanneltykoulutus",
        "perusopetukseenvalmistavaopetus",
        "perusopetuksenlisaopetus",
        "perusopetus",
        "taiteenperusopetus",
        "tuva",
        "vapaansivistystyonkoulutus",
    }
)
#: the time slice's flags: our name → KOSKI's header (AikajaksoRowBuilder's lisätieto jaksot)
FLAGS = {
    "accommodation": "majoitus",
    "boarding_accommodation": "sisaoppilaitosmainen_majoitus",
    "special_support_accommodation": "vaativan_erityisen_tuen_yhteydessa_jarjestettava_majoitus",
    "special_support": "erityinen_tuki",
    "demanding_special_support": "vaativan_erityisen_tuen_erityinen_tehtava",
    "hojks": "hojks",
    "severely_disabled": "vaikeasti_vammainen",
    "disabled_with_assistant": "vammainen_ja_avustaja",
    "study_readiness": "opiskeluvalmiuksia_tukevat_opinnot",
    "prison_education": "vankilaopetuksessa",
    "apprenticeship": "oppisopimus_jossain_paatason_suorituksessa",
}


#: every column KOSKI writes today, file by file, in its row classes' order (RaportointiDatabaseSchema, snake-cased by
#: CsvFormatter): what the demo writes; the reader goes by name and passes over the columns it does not use
KOSKI_HEADERS: dict[str, tuple[str, ...]] = {
    "opiskeluoikeus.csv": tuple(
        "opiskeluoikeus_oid versionumero aikaleima sisaltyy_opiskeluoikeuteen_oid oppija_oid oppija_master_oid "
        "oppilaitos_oid oppilaitos_nimi oppilaitos_nimi_sv oppilaitos_kotipaikka oppilaitosnumero koulutustoimija_oid "
        "koulutustoimija_nimi koulutustoimija_nimi_sv koulutusmuoto alkamispaiva paattymispaiva viimeisin_tila "
        "lisatiedot_henkilostokoulutus lisatiedot_koulutusvienti tuva_jarjestamislupa lahdejarjestelma_koodiarvo "
        "lahdejarjestelma_id oppivelvollisuuden_suorittamiseen_kelpaava data".split()
    ),
    "opiskeluoikeus_aikajakso.csv": tuple(
        "opiskeluoikeus_oid alku loppu tila tila_alkanut opiskeluoikeus_paattynyt opintojen_rahoitus "
        "erityisen_koulutus_tehtavan_jakso_tehtava_koodiarvo ulkomainen_vaihtoopiskelija majoitus majoitusetu "
        "kuljetusetu sisaoppilaitosmainen_majoitus vaativan_erityisen_tuen_yhteydessa_jarjestettava_majoitus "
        "erityinen_tuki vaativan_erityisen_tuen_erityinen_tehtava hojks vammainen vaikeasti_vammainen "
        "vammainen_ja_avustaja osa_aikaisuus opiskeluvalmiuksia_tukevat_opinnot vankilaopetuksessa "
        "oppisopimus_jossain_paatason_suorituksessa pidennetty_oppivelvollisuus joustava_perusopetus koulukoti "
        "oppimaaran_suorittaja maksuton maksullinen oikeutta_maksuttomuuteen_pidennetty kotiopetus ulkomaanjakso "
        "tuen_paatoksen_jakso opetuksen_jarjestaminen_vamman_sairauden_tai_rajoitteen_perusteella "
        "toiminta_alueittain_opiskelu tavoitekokonaisuuksittain_opiskelu valmistavan_lisaopetus id".split()
    ),
    "paatason_suoritus.csv": tuple(
        "paatason_suoritus_id opiskeluoikeus_oid suorituksen_tyyppi koulutusmoduuli_koodisto "
        "koulutusmoduuli_koodiarvo koulutusmoduuli_koulutustyyppi koulutusmoduuli_laajuus_arvo "
        "koulutusmoduuli_laajuus_yksikko koulutusmoduuli_nimi tutkinnon_nimi_perusteessa suorituskieli_koodiarvo "
        "oppimaara_koodiarvo alkamispaiva vahvistus_paiva arviointi_arvosana_koodiarvo arviointi_arvosana_koodisto "
        "arviointi_hyvaksytty arviointi_paiva toimipiste_oid toimipiste_nimi toimipiste_nimi_sv "
        "sisaltyy_opiskeluoikeuteen_oid tutkintonimike luokka_tai_ryhma perusteen_diaarinumero jaa_luokalle "
        "data".split()
    ),
    "osasuoritus.csv": tuple(
        "osasuoritus_id ylempi_osasuoritus_id paatason_suoritus_id opiskeluoikeus_oid suorituksen_tyyppi "
        "koulutusmoduuli_koodisto koulutusmoduuli_koodiarvo koulutusmoduuli_laajuus_arvo "
        "koulutusmoduuli_laajuus_yksikko koulutusmoduuli_paikallinen koulutusmoduuli_pakollinen koulutusmoduuli_nimi "
        "koulutusmoduuli_oppimaara_nimi koulutusmoduuli_kieliaine_nimi koulutusmoduuli_kurssin_tyyppi vahvistus_paiva "
        "arviointi_arvosana_koodiarvo arviointi_arvosana_koodisto arviointi_hyvaksytty arviointi_paiva "
        "ensimmainen_arviointi_paiva korotettu_eri_vuonna nayton_arviointi_paiva tunnustettu "
        "tunnustettu_rahoituksen_piirissa luokka_aste data sisaltyy_opiskeluoikeuteen_oid".split()
    ),
    "mitatoity_opiskeluoikeus.csv": tuple(
        "opiskeluoikeus_oid versionumero aikaleima oppija_oid mitatoity suostumus_peruttu tyyppi "
        "paatason_suoritus_tyypit oppilaitos_oid oppilaitoksen_nimi koulutustoimija_oid koulutustoimijan_nimi".split()
    ),
}

#: KOSKI's CSV writer (MassaluovutusResultWriter): no file for an empty table, parts for a large one, every column of
#: its reporting tables (more than are read here, and new ones appear)
KOSKI_FILES = FileConvention(
    empty_file_absent=True, split_in_parts=True, other_columns=True, delimiter=",", bare_returns_in_values=True
)


def _table(files: FileConvention = KOSKI_FILES, **kwargs) -> Table:
    return Table(source_system=SYSTEM, text_format=KOSKI_TEXT, files=files, **kwargs)


def _oid(table: str, name: str, header: str, regex: str, what: str, what_fi: str, **role) -> Column:
    return column(
        name,
        header,
        rules=(
            pattern_rule(
                f"{table}.{name}.format",
                f"{header} must be {what}",
                name,
                regex,
                description_fi=f"Sarake {header}: oltava {what_fi}",
            ),
        ),
        **role,
    )


def _study_right(table: str) -> Column:
    return _oid(
        table,
        "study_right_oid",
        "opiskeluoikeus_oid",
        STUDY_RIGHT_OID,
        "a study right's OID (1.2.246.562.15.…)",
        "opiskeluoikeuden OID (1.2.246.562.15.…)",
        nullable=False,
    )


def _first_copy(columns: tuple[Column, ...], *ids: str) -> pl.Expr:
    """The first of rows alike in everything but KOSKI's ids, which differ between the copies of a study right."""
    return pl.struct([c.name for c in columns if c.name not in ids]).is_first_distinct()


def _versioned(table: str) -> tuple[Column, ...]:
    """A study right's OID with KOSKI's version of it and when that was made."""
    return (
        _study_right(table),
        column("koski_version", "versionumero", nullable=False),
        column("koski_modified_at", "aikaleima", on_failure="clear"),
    )


def _learner(table: str, header: str, **role) -> Column:
    learner = ("a learner's OID (1.2.246.562.24.…)", "oppijanumero (1.2.246.562.24.…)")
    return _oid(table, "learner_oid", header, LEARNER_OID, *learner, nullable=False, **role)


def _organisation(table: str, name: str, header: str, **role) -> Column:
    organisation = ("an organisation's OID (1.2.246.562.10.…)", "organisaation OID (1.2.246.562.10.…)")
    return _oid(table, name, header, ORGANISATION_OID, *organisation, **role)


def _delivered_twice(table: str, what: str, what_fi: str, passes) -> Rule:
    return Rule(
        f"{table}.delivered_twice",
        f"{what} came twice in the delivery (a person with linked learner OIDs): one copy is kept",
        description_fi=f"{what_fi} tuli toimitukseen kahdesti (henkilöllä on linkitettyjä oppijanumeroita): "
        "yksi kopio otetaan",
        passes=passes,
    )


STUDY_RIGHTS = _table(
    name="koski_study_rights",
    source_file="opiskeluoikeus.csv",
    description="The provider's study rights as KOSKI holds them (r_opiskeluoikeus): one row per study right that "
    "is not annulled.",
    grain="One row per study right (one more where KOSKI delivered it twice).",
    key=("study_right_oid",),
    columns=(
        *_versioned("koski_study_rights"),
        _learner(
            "koski_study_rights",
            "oppija_master_oid",
            meaning="The person's master OID (KOSKI falls back to the OID on the study right).",
        ),
        _organisation(
            "koski_study_rights",
            "oppilaitos_oid",
            "oppilaitos_oid",
            nullable=False,
            meaning="The oppilaitos the study right is at (KOSKI's student-year report is per oppilaitos).",
        ),
        column(
            "education_form",
            "koulutusmuoto",
            nullable=False,
            rules=(
                code_rule(
                    "koski_study_rights", "education_form", "koulutusmuoto", EDUCATION_FORMS, "KOSKI koulutusmuoto"
                ),
            ),
        ),
        column("start_date", "alkamispaiva", meaning="Start: the first status period's start.", on_failure="clear"),
        column("end_date", "paattymispaiva", meaning="The last status's start where it ends the study right."),
        column(
            "status",
            "viimeisin_tila",
            meaning="The status of the last status period (perhaps a planned one in the future).",
            on_failure="clear",
            rules=(
                code_rule(
                    "koski_study_rights", "status", "viimeisin_tila", c.codes(c.STATUSES), "KOSKI opiskeluoikeudentila"
                ),
            ),
        ),
        column("source_system_id", "lahdejarjestelma_id"),
        column("koski_data", "data", on_failure="clear"),
    ),
    row_rules=(
        _delivered_twice(
            "koski_study_rights",
            "The study right",
            "Opiskeluoikeus",
            # the newest version, the first line of it (a row without a version fails its own rule)
            lambda: (
                (pl.col("koski_version").rank("ordinal", descending=True).over("study_right_oid") == 1)
                | pl.col("koski_version").is_null()
            ),
        ),
        not_before(
            "koski_study_rights",
            "start_date",
            "end_date",
            "paattymispaiva must not be before alkamispaiva",
            "Päättymispäivä ei saa olla ennen alkamispäivää",
        ),
    ),
)

TIME_SLICES = _table(
    name="koski_time_slices",
    source_file="opiskeluoikeus_aikajakso.csv",
    description="KOSKI's time slices of each study right (r_opiskeluoikeus_aikajakso): its status, funding, "
    "part-time and additional periods from a day to a day, cut wherever one of them changes; KOSKI's own "
    "student-year report counts from these.",
    grain="One row per study right and slice (a slice starts wherever a status or an additional period does).",
    key=("study_right_oid", "start_date"),
    foreign_keys=(("study_right_oid", "koski_study_rights", "study_right_oid"),),
    columns=(
        _study_right("koski_time_slices"),
        column("start_date", "alku", meaning="First day of the slice.", nullable=False),
        column("end_date", "loppu", meaning="Last day of the slice (9999-12-31: open).", nullable=False),
        column(
            "status",
            "tila",
            nullable=False,
            rules=(
                code_rule("koski_time_slices", "status", "tila", c.codes(c.STATUSES), "KOSKI opiskeluoikeudentila"),
            ),
        ),
        column("status_started", "tila_alkanut", on_failure="clear"),
        column(
            "funding_code",
            "opintojen_rahoitus",
            on_failure="clear",
            rules=(
                code_rule(
                    "koski_time_slices",
                    "funding_code",
                    "opintojen_rahoitus",
                    c.codes("funding_codes"),
                    "KOSKI opintojenrahoitus",
                ),
            ),
        ),  # fmt: skip
        column(
            "part_time_percent",
            "osa_aikaisuus",
            meaning="Study load % of the slice (100 when there is no part-time period).",
            on_failure="clear",
            rules=(
                range_rule(
                    "koski_time_slices.part_time_percent.range",
                    "osa_aikaisuus must be a percentage from 0 to 100",
                    "part_time_percent",
                    0,
                    100,
                    description_fi="Sarake osa_aikaisuus: oltava prosentti 0–100",
                ),
            ),
        ),
        *(column(name, header, on_failure="clear") for name, header in FLAGS.items()),
    ),
    row_rules=(
        not_before(
            "koski_time_slices",
            "start_date",
            "end_date",
            "loppu must not be before alku",
            "Loppu ei saa olla ennen alkua",
        ),
    ),
)

QUALIFICATIONS = _table(
    name="koski_qualifications",
    source_file="paatason_suoritus.csv",
    description="Each study right's main suoritukset (r_paatason_suoritus): the qualification or training it is "
    "for, and its campus (toimipiste).",
    grain="One row per päätason suoritus.",
    key=("suoritus_id",),
    foreign_keys=(("study_right_oid", "koski_study_rights", "study_right_oid"),),
    columns=(
        column("suoritus_id", "paatason_suoritus_id", nullable=False),
        _study_right("koski_qualifications"),
        column(
            "study_right_type",
            "suorituksen_tyyppi",
            nullable=False,
            meaning="KOSKI suorituksen tyyppi of the main suoritus.",
        ),
        column("koulutus_code", "koulutusmoduuli_koodiarvo", nullable=False, meaning="Koulutus (or local) code."),
        _organisation("koski_qualifications", "campus_oid", "toimipiste_oid", on_failure="clear"),
        column("campus", "toimipiste_nimi", meaning="The toimipiste's Finnish name."),
        column("confirmed_on", "vahvistus_paiva", on_failure="clear"),
        column("koski_data", "data", on_failure="clear"),
    ),
    row_rules=(
        _delivered_twice(
            "koski_qualifications",
            "The suoritus",
            "Suoritus",
            lambda: _first_copy(QUALIFICATIONS.columns, "suoritus_id"),
        ),
    ),
)

UNITS = _table(
    name="koski_units",
    source_file="osasuoritus.csv",
    description="The units (osasuoritukset) of each main suoritus, every level flattened (r_osasuoritus).",
    grain="One row per osasuoritus.",
    key=("suoritus_id",),
    foreign_keys=(
        ("study_right_oid", "koski_study_rights", "study_right_oid"),
        ("parent_suoritus_id", "koski_qualifications", "suoritus_id"),
    ),
    columns=(
        column("suoritus_id", "osasuoritus_id", nullable=False),
        column("parent_suoritus_id", "paatason_suoritus_id", nullable=False, meaning="Its main suoritus."),
        column("upper_unit_id", "ylempi_osasuoritus_id"),
        _study_right("koski_units"),
        column("unit_type", "suorituksen_tyyppi", nullable=False),
        column("unit_code", "koulutusmoduuli_koodiarvo", nullable=False),
        column("credits", "koulutusmoduuli_laajuus_arvo", on_failure="clear"),
        column("unit_name", "koulutusmoduuli_nimi"),
        column("grade", "arviointi_arvosana_koodiarvo", meaning="The best grade's code.", on_failure="clear"),
        column("assessment_date", "arviointi_paiva", on_failure="clear"),
        column("recognised", "tunnustettu", on_failure="clear"),
        column("koski_data", "data", on_failure="clear"),
    ),
    row_rules=(
        _delivered_twice(
            "koski_units",
            "The unit",
            "Osasuoritus",
            lambda: _first_copy(UNITS.columns, "suoritus_id", "parent_suoritus_id", "upper_unit_id"),
        ),
    ),
)

ANNULLED = _table(
    # its list of suoritus types is Scala's List(a, b), written unquoted (CsvFormatter's toString)
    files=replace(KOSKI_FILES, unquoted_list="paatason_suoritus_tyypit"),
    name="koski_annulled",
    source_file="mitatoity_opiskeluoikeus.csv",
    description="Study rights KOSKI has annulled (r_mitatoitu_opiskeluoikeus): counted nowhere; an incremental "
    "delivery removes them.",
    grain="One row per annulled study right.",
    key=("study_right_oid",),
    columns=(
        *_versioned("koski_annulled"),
        _learner("koski_annulled", "oppija_oid"),
        column("annulled_on", "mitatoity", on_failure="clear"),
        column("education_form", "tyyppi", nullable=False),
        column("suoritus_types", "paatason_suoritus_tyypit"),
    ),
)

TABLES = (STUDY_RIGHTS, TIME_SLICES, QUALIFICATIONS, UNITS, ANNULLED)

CROSS_FILE_RULES = (
    *(
        CrossFileRule(
            Rule(
                f"{child}.study_right_exists",
                "opiskeluoikeus_oid must be a study right in opiskeluoikeus.csv",
                column="study_right_oid",
                description_fi="Opiskeluoikeuden on oltava tiedostossa opiskeluoikeus.csv",
            ),
            child,
            missing_parent(child, "study_right_oid", "koski_study_rights", "study_right_oid"),
        )
        for child in ("koski_time_slices", "koski_qualifications", "koski_units")
    ),
    CrossFileRule(
        Rule(
            "koski_units.suoritus_exists",
            "paatason_suoritus_id must be a suoritus in paatason_suoritus.csv",
            column="parent_suoritus_id",
            description_fi="Päätason suorituksen on oltava tiedostossa paatason_suoritus.csv",
        ),
        "koski_units",
        missing_parent("koski_units", "parent_suoritus_id", "koski_qualifications", "suoritus_id"),
    ),
)

SOURCE = Source(
    system=SYSTEM,
    tables=TABLES,
    cross_file_rules=CROSS_FILE_RULES,
    parent_words="The study right or suoritus this row belongs to is in quarantine",
    parent_words_fi="Opiskeluoikeus tai suoritus, johon rivi kuuluu, on karanteenissa",
    person_column="learner_oid",
    optional=True,
)

#: the steward's view of our own export against KOSKI's data (``pipelines/marts/koski_differences.py``): the failure
#: rows' source system, and a flag per kind of difference saying what to fix where (nothing is held back by one)
DIFFERENCES_SYSTEM = "koski_differences"
_FIX = "correct it in our system and transfer it to KOSKI again (KOSKI's report, and funding, count KOSKI's copy)"
_FIX_FI = (
    "korjaa se omaan järjestelmään ja siirrä KOSKIin uudelleen (KOSKIn raportti ja rahoitus laskevat KOSKIn tiedoista)"
)
DIFFERENCE_RULES = tuple(
    Rule(f"{DIFFERENCES_SYSTEM}.{kind}", description, "flag", description_fi=description_fi)
    for kind, description, description_fi in (
        (
            "only_ours",
            "A study right of ours is not in KOSKI's data (never transferred, or the transfer failed): transfer it; "
            "until then KOSKI counts none of its student-years",
            "Oma opiskeluoikeus puuttuu KOSKIn tiedoista (ei siirretty, tai siirto epäonnistui): siirrä se KOSKIin; "
            "siihen asti KOSKI ei laske sen opiskelijavuosia",
        ),
        (
            "only_in_koski",
            "KOSKI holds a study right our system does not have: record it in our system, or have it annulled in "
            "KOSKI if it is wrong",
            "KOSKIssa on opiskeluoikeus, jota omassa järjestelmässä ei ole: kirjaa se omaan järjestelmään tai "
            "mitätöi se KOSKIssa, jos se on virheellinen",
        ),
        (
            "annulled_in_koski",
            "KOSKI has annulled a study right that is in force in our system: if it is in force, transfer it again; "
            "if the annulment is right, annul it in our system too",
            "KOSKI on mitätöinyt opiskeluoikeuden, joka omassa järjestelmässä on voimassa: jos se on voimassa, siirrä "
            "se uudelleen; jos mitätöinti on oikein, mitätöi se myös omaan järjestelmään",
        ),
        ("start", f"The start date differs from KOSKI's: {_FIX}", f"Alkamispäivä eroaa KOSKIn tiedosta: {_FIX_FI}"),
        ("end", f"The end differs from KOSKI's: {_FIX}", f"Päättyminen eroaa KOSKIn tiedosta: {_FIX_FI}"),
        (
            "status",
            f"The status timeline differs from KOSKI's: {_FIX}",
            f"Tilahistoria (läsnä, loma, keskeytynyt …) eroaa KOSKIn tiedosta: {_FIX_FI}",
        ),
        (
            "funding",
            f"The funding codes differ from KOSKI's: {_FIX}",
            f"Rahoitusmuoto eroaa KOSKIn tiedosta: {_FIX_FI}",
        ),
        (
            "part_time",
            f"The part-time periods differ from KOSKI's: {_FIX}",
            f"Osa-aikaisuusjaksot eroavat KOSKIn tiedoista: {_FIX_FI}",
        ),
        (
            "period",
            f"An additional period (majoitus, erityinen tuki, …) differs from KOSKI's: {_FIX}",
            f"Lisätietojakso (majoitus, erityinen tuki …) eroaa KOSKIn tiedoista: {_FIX_FI}",
        ),
    )
)
