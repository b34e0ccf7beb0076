"""Student-years: the history the calculation may use, its pieces, the monthly fact, weighting and the forecast mart."""

from collections.abc import Callable

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, MetadataValue, Output, asset

from pipelines.assets.published import INTERMEDIATE_INPUTS, SYSTEM, published_asset
from pipelines.assets.student_records import records_key
from pipelines.ingestion.landing import Landing
from pipelines.marts import late_recording
from pipelines.marts.forecast import forecast_year
from pipelines.marts.intake_plan import IntakePlan, plan_in_force
from pipelines.marts.monthly import fact_student_year_month
from pipelines.marts.student_year_history import TABLES, complete_history, unreadable
from pipelines.marts.student_years import RIGHT, Calculation, StudyRightHistory
from pipelines.marts.weighting import fact_weighted_student_year_month
from pipelines.publishing.star import conform
from pipelines.resources import LandingArea
from pipelines.validation import TableOutcome
from schemas import plans

HISTORY = "student_year_history"
CALCULATION = "student_year_calculation"


@asset(
    name=HISTORY,
    key_prefix=[SYSTEM],
    group_name="validated",
    ins={t: AssetIn(key=records_key(t)) for t in TABLES},
    description="The study rights whose student-years can be calculated: nothing their figures depend on (status "
    "timeline, additional periods, type) failed a rule. The others are held back and listed with the "
    "rule; any other failure (a henkilötunnus, a koulutus code, a unit) holds nothing back.",
)
def student_year_history(context: AssetExecutionContext, **outcomes: TableOutcome):
    for problem in unreadable(outcomes):
        context.log.error(f"student-years: {problem}; its study rights are left out")
    history, held = complete_history(outcomes)
    held_rights = held[RIGHT].n_unique()
    context.log.info(
        f"student-years: {history.study_rights.height} study rights to count, {held_rights} held back "
        "(a failure in their own status timeline, additional periods or type)"
    )
    return Output(
        history,
        metadata={
            "study_rights": history.study_rights.height,
            "held_back": held_rights,
            "held_back_by_rule": MetadataValue.json(dict(held.group_by("rule_id").len().sort("rule_id").iter_rows())),
        },
    )


@asset(
    key=INTERMEDIATE_INPUTS[CALCULATION],
    group_name="validated",
    ins={"history": AssetIn(key=AssetKey([SYSTEM, HISTORY]))},
    description="The complete study rights' days from the first status in the export to the as-of date, cut "
    "into pieces on which nothing that counts changes, each with its day measures. Cut once: the "
    "monthly fact, its adds-up check and the forecast all sum these pieces.",
)
def student_year_calculation(context: AssetExecutionContext, landing: LandingArea, history: StudyRightHistory):
    calculation = Calculation.up_to(history, landing.open().run_date())
    context.log.info(
        f"student-years: {calculation.pieces.height} pieces from {calculation.first} to {calculation.last}"
    )
    return Output(
        calculation,
        metadata={
            "pieces": calculation.pieces.height,
            "first_day": str(calculation.first),
            "last_day": str(calculation.last),
        },
    )


@asset(
    key=INTERMEDIATE_INPUTS[plans.INTAKE_PLAN.name],
    group_name="validated",
    description="The intake plan in force on the as-of date (landing/plans/<date>/aloitukset.csv, optional), "
    "validated by schemas/plans.py: a row that fails a rule is left out and named in the log.",
)
def intake_plan(context: AssetExecutionContext, landing: LandingArea) -> Output:
    plan = plan_in_force(landing.open(), landing.open().run_date())
    if plan.folder is None:
        context.log.info("no intake plan (landing/plans/<date>/aloitukset.csv): new starts follow history")
    for problem in plan.problems:
        context.log.warning(f"intake plan {plan.folder}: {problem}")
    return Output(
        plan,
        metadata={
            "plan": plan.folder or "none",
            "rows": 0 if plan.rows is None else plan.rows.height,
            "problems": MetadataValue.json(plan.problems),
        },
    )


def mart_student_year_forecast(
    student_year_calculation: Calculation,
    targets: pl.DataFrame,
    intake_plan: IntakePlan,
    landing: Landing,
    progress: Callable[[str], None],
) -> pl.DataFrame:
    calculation = student_year_calculation
    late = late_recording.from_landing(landing, calculation.history, calculation.last)
    return conform(
        forecast_year(calculation, targets, late, intake_plan.rows, progress).frame,
        "mart_student_year_forecast",
    )


STUDENT_YEAR_ASSETS = [
    published_asset(fact_student_year_month),
    published_asset(
        fact_weighted_student_year_month,
        reads={
            "fact_student_year_month": [
                "study_right_key",
                "qualification_key",
                "month_date_key",
                "funding_code",
                "student_years_current",
                "has_warnings",
            ]
        },
    ),
    published_asset(mart_student_year_forecast),
]
