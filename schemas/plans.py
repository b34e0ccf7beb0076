"""Planning input: the provider's planned intakes (``source-exports.md`` section 4).

The plan arrives beside the exports as ``landing/plans/<date>/aloitukset.csv``; the newest plan on or
before the as-of date is the one in force. It is optional: without it the forecast's new starts follow
history. A row that fails a rule is left out of the plan and named in the forecast's log.
"""

from __future__ import annotations

from schemas import codes as c
from schemas.fields import column
from schemas.metadata import Source, Table, code_rule, range_rule

SYSTEM = "plans"

INTAKE_PLAN = Table(
    name="intake_plan",
    source_file="aloitukset.csv",
    source_system=SYSTEM,
    description="Planned new students (aloittajat) per month and kind of training; a koulutus or campus left "
    "empty means any.",
    grain="One row per year, month, study-right type, koulutus (or any) and campus (or any).",
    key=("year", "month", "study_right_type", "koulutus_code", "campus"),
    columns=(
        column(
            "year",
            "Vuosi",
            meaning="Calendar year of the intake.",
            nullable=False,
            rules=(
                range_rule(
                    "intake_plan.year.range",
                    "Vuosi must be a year between 2000 and 2100",
                    "year",
                    2000,
                    2100,
                    description_fi="Vuoden on oltava välillä 2000–2100",
                ),
            ),
        ),
        column(
            "month",
            "Kuukausi",
            meaning="Calendar month of the intake (1–12).",
            nullable=False,
            rules=(
                range_rule(
                    "intake_plan.month.range",
                    "Kuukausi must be a month 1–12",
                    "month",
                    1,
                    12,
                    description_fi="Kuukauden on oltava 1–12",
                ),
            ),
        ),
        column(
            "study_right_type",
            "Suorituksen tyyppi",
            meaning="KOSKI suorituksen tyyppi of the planned study rights.",
            nullable=False,
            rules=(
                code_rule(
                    "intake_plan",
                    "study_right_type",
                    "Suorituksen tyyppi",
                    c.codes("study_right_types"),
                    "suorituksen tyypit (KOSKI)",
                ),
            ),
        ),
        column(
            "koulutus_code",
            "Koulutus",
            meaning="Koulutus code (6 digits); empty = any.",
            rules=(
                code_rule(
                    "intake_plan",
                    "koulutus_code",
                    "Koulutus",
                    c.codes("qualifications", "koulutus_code"),
                    "koulutukset (qualifications.csv)",
                ),
            ),
        ),
        column("campus", "Toimipiste", meaning="Campus (toimipiste) as in the study-right export; empty = any."),
        column(
            "planned_starters",
            "Aloittajat",
            nullable=False,
            rules=(
                range_rule(
                    "intake_plan.planned_starters.range",
                    "Aloittajat must be zero or more",
                    "planned_starters",
                    0,
                    None,
                    description_fi="Aloittajia on oltava nolla tai enemmän",
                ),
            ),
        ),
    ),
)

TABLES: tuple[Table, ...] = (INTAKE_PLAN,)

SOURCE = Source(
    system=SYSTEM,
    tables=TABLES,
    cross_file_rules=(),
    parent_words="The plan this row belongs to is in quarantine",
    parent_words_fi="Suunnitelma, johon rivi kuuluu, on karanteenissa",
)
