"""The field catalogue: every column of every table, defined once.

A field is a name with its type, description, personal-data class and code list; a table (a source file, a
stewardship table, KOSKI's report or a published table) places fields with :func:`column`, adding only what
belongs to the table: the source header, whether the value may be empty or must be unique, its rules, and, where
the table's use is more particular than the field's description, its ``meaning`` there. So ``study_right_key``
has one type and one description in every table that carries it, and ``docs/architecture/fields.md`` lists each
field with the tables it is in.

A source that writes a field differently from us (the CRM's Finnish option-set labels for our codes, the
student-administration's ``1``/``2`` for sex) or a table where the name means something else (a failure's
``status``) declares a variant of the field, named for that table (``variant=``), as PUDL does per resource.
"""

from __future__ import annotations

import polars as pl

from schemas.code_labels import LABELS, label_column
from schemas.codes import NETWORK_INDICATORS, PERIOD_MEASURES, SUPPRESS_BELOW_PERSONS, option_set
from schemas.metadata import TIMESTAMP, Column, Field


def _option_set(name: str) -> str:
    """A CRM option set's code list as the export writes it: its Finnish labels."""
    return f"{name}: " + ", ".join(option_set(name))


def _period_days(name: str) -> str:
    types = " or ".join(f"`{t}`" for t in PERIOD_MEASURES[name])
    return f"Days with a {types} additional period, whatever the status."


def _catalogue(*fields: Field) -> dict[tuple[str, str | None], Field]:
    catalogue: dict[tuple[str, str | None], Field] = {}
    for f in fields:
        assert (f.name, f.variant) not in catalogue, f"{f.name} ({f.variant}) is in the catalogue twice"
        catalogue[(f.name, f.variant)] = f
    return catalogue


#: (name, variant) → field
FIELDS = _catalogue(
    # ---- Student administration (the source export) ----------------------------------------------------------
    Field("student_number", pl.Utf8, "Local student number."),
    Field("hetu", pl.Utf8, "Finnish personal identity code (henkilötunnus).", personal="hetu"),
    Field("learner_oid", pl.Utf8, "National learner OID (oppijanumero).", personal="oid"),
    Field("last_name", pl.Utf8, "Surname.", personal="name"),
    Field("first_names", pl.Utf8, "First names.", personal="name"),
    Field("birth_date", pl.Date, "Date of birth.", personal="birth_date"),
    Field("sex", pl.Utf8, "1 = male, 2 = female.", code_list="1 male, 2 female", variant="students"),
    Field("mother_tongue", pl.Utf8, "Mother tongue, ISO 639-1.", code_list="ISO 639-1"),
    Field(
        "home_municipality",
        pl.Utf8,
        "Home municipality code (Statistics Finland).",
        code_list="kunta (Statistics Finland)",
    ),
    Field("email", pl.Utf8, "Email address.", personal="email"),
    Field("mobile_phone", pl.Utf8, "Mobile phone number.", personal="phone"),
    Field("study_right_id", pl.Utf8, "The study right this row belongs to (local id)."),
    Field("study_right_oid", pl.Utf8, "National study-right OID.", personal="oid"),
    Field(
        "study_right_type",
        pl.Utf8,
        "KOSKI suoritustyyppi (suorituksen tyyppi): the kind of training.",
        code_list="suorituksen tyyppi",
    ),
    Field("koulutus_code", pl.Utf8, "6-digit koulutus code.", code_list="koulutus (qualifications)"),
    Field("osaamisala_code", pl.Utf8, "Osaamisala code."),
    Field("campus", pl.Utf8, "Campus / office name as the provider uses it."),
    Field("start_date", pl.Date, "First day."),
    Field("planned_end_date", pl.Date, "Planned end date."),
    Field("end_date", pl.Date, "Last day."),
    Field(
        "status",
        pl.Utf8,
        "KOSKI opiskeluoikeudentila (lasna, loma, valmistunut, …).",
        code_list="koskiopiskeluoikeudentila",
    ),
    Field("funding_code", pl.Utf8, "KOSKI opintojenrahoitus code.", code_list="opintojenrahoitus"),
    Field("period_type", pl.Utf8, "Kind of period (Finnish code value).", code_list="lisätieto types"),
    Field("value", pl.Float64, "For osa-aikaisuus the study load in percent (1–100)."),
    Field("unit_code", pl.Utf8, "Unit code (ePerusteet)."),
    Field("unit_name", pl.Utf8, "Unit name."),
    Field("credits", pl.Float64, "Osaamispisteet; null where unreadable."),
    Field(
        "grade", pl.Utf8, "1–5, Hyväksytty, Hylätty; null where not one of these.", code_list="1–5, Hyväksytty, Hylätty"
    ),
    Field("assessment_date", pl.Date, "Assessment date."),
    Field(
        "recognised", pl.Utf8, "K = recognised prior learning, E = not.", code_list="K / E", variant="assessed_units"
    ),
    Field(
        "agreement_type",
        pl.Utf8,
        "koulutussopimus or oppisopimus; null where it was neither.",
        code_list="koulutussopimus / oppisopimus",
    ),
    Field("business_id", pl.Utf8, "Y-tunnus as 1234567-8; null where missing or invalid."),
    Field("workplace_name", pl.Utf8, "Workplace name as typed; null where missing."),
    Field("year", pl.Int64, "Calendar year."),
    Field("target_student_years", pl.Float64, "Target student-years."),
    # ---- KOSKI's bulk data (massaluovutus) -------------------------------------------------------------------
    Field("koski_version", pl.Int64, "KOSKI's version number of the study right (versionumero): higher is newer."),
    Field("koski_modified_at", TIMESTAMP, "When the study right last changed in KOSKI (aikaleima; UTC here)."),
    Field(
        "education_form",
        pl.Utf8,
        "KOSKI koulutusmuoto of the study right (ammatillinenkoulutus, tuva, …).",
        code_list="koulutusmuoto",
    ),
    Field(
        "source_system_id",
        pl.Utf8,
        "The study right's id in the student-administration system that sent it to KOSKI "
        "(lähdejärjestelmänId.id): our study_right_id where the provider's system sends one.",
    ),
    Field(
        "koski_data",
        pl.Utf8,
        "KOSKI's JSON of the row (what its columns do not carry: lisätiedot, osaamisala, planned end, …); it may "
        "hold names of persons, so it is never published.",
        personal="free_text",
    ),
    Field("status_started", pl.Date, "First day of the uninterrupted run of the same status (tila_alkanut)."),
    *(
        Field(name, pl.Boolean, f"The day's study right has {words} (KOSKI's time slice).")
        for name, words in (
            ("accommodation", "a majoitus period"),
            ("boarding_accommodation", "a sisäoppilaitosmainen majoitus period"),
            ("special_support_accommodation", "a vaativan erityisen tuen yhteydessä järjestettävä majoitus period"),
            ("special_support", "an erityinen tuki period"),
            ("demanding_special_support", "a vaativan erityisen tuen erityinen tehtävä period"),
            ("hojks", "a hojks"),
            ("severely_disabled", "a vaikeasti vammainen period"),
            ("disabled_with_assistant", "a vammainen ja avustaja period"),
            ("study_readiness", "opiskeluvalmiuksia tukevat opinnot"),
            ("prison_education", "a vankilaopetuksessa period"),
            ("apprenticeship", "an apprenticeship (oppisopimus) in some of its suoritukset"),
        )
    ),
    Field(
        "suoritus_id",
        pl.Utf8,
        "KOSKI's id of a suoritus row within one delivery (``<study-right OID>.<n>``): not the same in the next one.",
    ),
    Field("parent_suoritus_id", pl.Utf8, "The suoritus this one is part of (empty for a top-level unit)."),
    Field(
        "upper_unit_id",
        pl.Utf8,
        "KOSKI's id of the unit this one is a part of (empty for a unit directly under its main suoritus).",
    ),
    Field("campus_oid", pl.Utf8, "The toimipiste's organisation OID."),
    Field("confirmed_on", pl.Date, "The day the suoritus was confirmed (vahvistus): the qualification completed."),
    Field("unit_type", pl.Utf8, "KOSKI suorituksen tyyppi of a unit (ammatillisentutkinnonosa, …)."),
    Field("annulled_on", pl.Date, "The day KOSKI annulled (mitätöi) the study right."),
    Field("suoritus_types", pl.Utf8, "The annulled study right's suoritus types as KOSKI lists them."),
    # ---- CRM (the source export) -----------------------------------------------------------------------------
    Field("account_id", pl.Utf8, "The account this row belongs to (foreign key to accounts.csv)."),
    Field("name", pl.Utf8, "Account name as the customer manager typed it."),
    Field("industry_code", pl.Utf8, "Industry, TOL 2008 code (from the CRM).", code_list="TOL 2008"),
    Field("city", pl.Utf8, "City (from the CRM, else from a place written after the workplace name)."),
    Field("postal_code", pl.Utf8, "Postal code of the main address."),
    Field("employees", pl.Int64, "Number of employees (from the CRM)."),
    Field("customer_type", pl.Utf8, "Kind of customer.", code_list=_option_set("customertypecode"), variant="accounts"),
    Field("owner_id", pl.Utf8, "The customer manager owning the account (CRM user GUID)."),
    Field("state", pl.Utf8, "Active or Inactive.", code_list=_option_set("statecode_account"), variant="accounts"),
    Field("created_on", TIMESTAMP, "When the account was created."),
    Field("modified_on", TIMESTAMP, "When the account was last modified."),
    Field("contact_id", pl.Utf8, "CRM contact id."),
    Field("first_name", pl.Utf8, "First name.", personal="name"),
    Field("phone", pl.Utf8, "Phone number.", personal="phone"),
    Field("job_title", pl.Utf8, "Job title."),
    Field("activity_id", pl.Utf8, "CRM activity id."),
    Field(
        "activity_type", pl.Utf8, "Kind of activity.", code_list=_option_set("activitytypecode"), variant="activities"
    ),
    Field("subject", pl.Utf8, "Subject line (free text: may name people; never published).", personal="free_text"),
    Field("scheduled_start", TIMESTAMP, "Scheduled start (UTC)."),
    Field("actual_end", TIMESTAMP, "When it was completed (UTC)."),
    Field(
        "state",
        pl.Utf8,
        "Completed, Open or Canceled.",
        code_list=_option_set("statecode_activity"),
        variant="activities",
    ),
    Field("partnership_id", pl.Utf8, "Partnership id."),
    Field("level", pl.Utf8, "Partnership level.", code_list=_option_set("level"), variant="partnerships"),
    Field(
        "scope",
        pl.Utf8,
        "What the partnership covers: ';'-separated labels.",
        code_list=_option_set("scope"),
        variant="partnerships",
    ),
    Field("response_id", pl.Utf8, "Survey response id."),
    Field("submitted_on", TIMESTAMP, "When it was submitted (UTC)."),
    Field("nps", pl.Int64, "Net Promoter Score answer 0–10."),
    Field("satisfaction", pl.Int64, "Satisfaction 1–5."),
    Field("comment", pl.Utf8, "Free-text comment (may contain personal data; never published).", personal="free_text"),
    # ---- Planning input --------------------------------------------------------------------------------------
    Field("month", pl.Int64, "Month 1–12."),
    Field(
        "planned_starters",
        pl.Int64,
        "Planned new students.",
    ),
    # ---- KOSKI's student-year report -------------------------------------------------------------------------
    Field("funding_codes", pl.Utf8, "The distinct funding codes of the period's days, in order, comma-separated."),
    Field("ended", pl.Boolean, "The study right ended (an ending status) within the period."),
    Field(
        "student_year_days_old",
        pl.Float64,
        "(Present or graduated + counted holiday days) × each day's part-time %: KOSKI's old formula (before 2026), "
        "still reported.",
    ),
    Field("present_or_graduated_days", pl.Float64, "lasna days + the graduation day (not adjusted for part-time)."),
    Field(
        "holiday_days_counted",
        pl.Float64,
        "loma days within the first 28 of an unbroken holiday (which may have begun before the period).",
    ),
    Field("holiday_days_other", pl.Float64, "loma days beyond the first 28."),
    Field("accommodation_days", pl.Float64, _period_days("accommodation_days")),
    Field("boarding_accommodation_days", pl.Float64, _period_days("boarding_accommodation_days")),
    Field("special_support_accommodation_days", pl.Float64, _period_days("special_support_accommodation_days")),
    Field("special_support_days", pl.Float64, _period_days("special_support_days")),
    Field("demanding_special_support_days", pl.Float64, _period_days("demanding_special_support_days")),
    Field("hojks_days", pl.Float64, _period_days("hojks_days")),
    Field("severely_disabled_days", pl.Float64, _period_days("severely_disabled_days")),
    Field("disabled_with_assistant_days", pl.Float64, _period_days("disabled_with_assistant_days")),
    Field(
        "part_time_percentages",
        pl.Utf8,
        "The part-time percentages of the period in order, comma-separated (a change back and forth is listed "
        "each time); empty when every day is 100 %.",
    ),
    Field("part_time_average_percent", pl.Float64, "Part-time % weighted by days (100 on days without part-time)."),
    Field("study_readiness_days", pl.Float64, _period_days("study_readiness_days")),
    Field("prison_education_days", pl.Float64, _period_days("prison_education_days")),
    Field(
        "apprenticeship_days",
        pl.Float64,
        "Days in apprenticeship: an `oppisopimus` additional period or a workplace-learning period whose Muoto "
        "is `oppisopimus`.",
    ),
    Field(
        "student_year_days_current",
        pl.Float64,
        "Student-year days by the current formula (from 1.7.2023); null for types it gives no value (e.g. "
        "valma). KOSKI reports it beside the old formula (since 2026), and it is reconciled like every figure.",
    ),
    Field("source_system_code", pl.Utf8, "The system the study right was transferred from."),
    # ---- A network of providers ------------------------------------------------------------------------------
    Field(
        "provider_id",
        pl.Utf8,
        "The provider's organisation id: its OPH organisation OID (1.2.246.562.10.…) or its Y-tunnus; the name of its "
        "folder in a network landing area.",
    ),
    Field(
        "provider",
        pl.Utf8,
        "The provider's organisation id (as provider_id): its folder provider=<id> in a network's warehouse, and "
        "the first column of every table in a network provider's DuckDB database, so tables join on it.",
    ),
    Field("provider_name", pl.Utf8, "The provider's name (koulutuksen järjestäjä)."),
    Field("provider_group", pl.Utf8, "The provider's group in the network, e.g. its region."),
    Field(
        "is_stale",
        pl.Boolean,
        "The provider's latest run was refused: its figures are from its last good release.",
    ),
    Field(
        "indicator",
        pl.Utf8,
        "What is compared (schemas/reference/network_indicators.csv).",
        code_list=", ".join(NETWORK_INDICATORS),
    ),
    Field(
        "funding_breakdown",
        pl.Utf8,
        "For student_years: the KOSKI opintojenrahoitus code of the days, or 'all'; 'all' for every other indicator.",
    ),
    Field("indicator_value", pl.Float64, "The provider's figure (its unit is the indicator's); null where suppressed."),
    Field(
        "persons",
        pl.Int64,
        "Persons the figure describes (students, or survey respondents); null where suppressed.",
    ),
    Field(
        "is_suppressed",
        pl.Boolean,
        f"The figure describes fewer than {SUPPRESS_BELOW_PERSONS} persons: it is not shown and is left out of the "
        "network's distribution.",
    ),
    Field("higher_is_better", pl.Boolean, "A higher figure is the better one (false: dropout share)."),
    Field("network_providers", pl.Int64, "Providers whose figure is shown: the size of the network's distribution."),
    Field("network_q1", pl.Float64, "The network's lower quartile (linear interpolation between providers)."),
    Field("network_median", pl.Float64, "The network's median."),
    Field("network_q3", pl.Float64, "The network's upper quartile (linear interpolation between providers)."),
    Field(
        "network_rank",
        pl.Int64,
        "The provider's rank in the network: 1 is the best (the highest, or the lowest where lower is better); ties "
        "share a rank. Null where suppressed.",
    ),
    # ---- The published star ----------------------------------------------------------------------------------
    Field(
        "student_key",
        pl.Utf8,
        "Keyed pseudonym of the student (HMAC-SHA256 of the student number).",
    ),
    Field(
        "age_band",
        pl.Utf8,
        "Age at the as-of date in bands (alle 18, 18–19, 20–24, 25–29, 30–39, 40–49, 50+); muu where the "
        "student's combination of age, sex, mother tongue and municipality would be held by fewer than 5 students.",
    ),
    Field(
        "sex",
        pl.Utf8,
        "male / female; empty where even without a municipality, a mother tongue and an age band fewer than 5 "
        "students would share it.",
        code_list="male, female",
    ),
    Field(
        "mother_tongue",
        pl.Utf8,
        "Mother tongue, ISO 639-1; muu where fewer than 5 students would share the combination with it.",
        code_list="ISO 639-1",
        variant="dim_student",
    ),
    Field(
        "home_municipality",
        pl.Utf8,
        "Home municipality code (Statistics Finland); muu where fewer than 5 students would share the combination "
        "with it (the first value given up).",
        code_list="kunta (Statistics Finland)",
        variant="dim_student",
    ),
    Field("has_warnings", pl.Boolean, "The source row had a warning (see quarantine)."),
    Field("qualification_key", pl.Int64, "Key to dim_qualification."),
    Field("qualification_name", pl.Utf8, "Name in Finnish."),
    Field("qualification_type", pl.Utf8, "perustutkinto, ammattitutkinto, erikoisammattitutkinto, …"),
    Field("campus_key", pl.Int64, "Key to dim_campus."),
    Field("campus_name", pl.Utf8, "Campus name."),
    Field("date_key", pl.Int64, "yyyymmdd."),
    Field("date", pl.Date, "The day."),
    Field("day", pl.Int64, "Day of month."),
    Field("iso_week", pl.Int64, "ISO week."),
    Field("weekday", pl.Int64, "ISO weekday, 1 = Monday."),
    Field("year_month", pl.Utf8, "yyyy-mm."),
    Field("is_july", pl.Boolean, "July (not counted for some study right types)."),
    Field(
        "study_right_key",
        pl.Utf8,
        "Keyed pseudonym of the study right (HMAC-SHA256 of its local id, keyed like student_key): the local id"
        " names its student, so it is never published.",
    ),
    Field("start_date_key", pl.Int64, "First day as a dim_date key (yyyymmdd)."),
    Field("end_date_key", pl.Int64, "End date as a dim_date key (yyyymmdd)."),
    Field(
        "is_annulled",
        pl.Boolean,
        "The study right is annulled (a mitatoity status): KOSKI counts it nowhere, and no student-year figure "
        "includes it.",
    ),
    Field("in_koski", pl.Boolean, "The study right has a KOSKI OID."),
    Field("period_number", pl.Int64, "1 for the first status of the study right, in date order."),
    Field("part_time_percent", pl.Float64, "Study load % for osa-aikaisuus."),
    Field("assessment_date_key", pl.Int64, "Assessment date as a dim_date key (yyyymmdd)."),
    Field("recognised", pl.Boolean, "Recognised prior learning (tunnustettu)."),
    Field("organization_key", pl.Int64, "Key to dim_organization."),
    Field("month_date_key", pl.Int64, "First day of the month as a dim_date key (yyyymmdd)."),
    Field("student_years_current", pl.Float64, "student_year_days_current / 365."),
    Field("cost_group", pl.Utf8, "Cost group of the qualification (kustannusryhmä)."),
    Field("weight", pl.Float64, "Weight of the cost group."),
    Field("weighted_student_years_current", pl.Float64, "student_years_current × weight."),
    Field(
        "funding_scope",
        pl.Utf8,
        "'1' = funding code 1 (valtionosuusrahoitteinen) only; 'all' = every code.",
        code_list="1, all",
    ),
    Field("breakdown", pl.Utf8, "total, campus or qualification_type.", code_list="total, campus, qualification_type"),
    Field("breakdown_value", pl.Utf8, "The campus or qualification type; 'total' for the total."),
    Field(
        "actual_cumulative_student_years",
        pl.Float64,
        "Student-years from 1 January to the month's end; null for months after the as-of date.",
    ),
    Field("forecast_cumulative_student_years", pl.Float64, "Expected student-years from 1 January to the month's end."),
    Field("forecast_cumulative_low_80", pl.Float64, "Lower end of the 80 % interval of the cumulative forecast."),
    Field("forecast_cumulative_high_80", pl.Float64, "Upper end of the 80 % interval of the cumulative forecast."),
    Field("forecast_year_total", pl.Float64, "Forecast of the whole year's student-years."),
    Field("forecast_year_low_80", pl.Float64, "Lower end of the 80 % interval of the year's total."),
    Field("forecast_year_high_80", pl.Float64, "Upper end of the 80 % interval of the year's total."),
    Field("forecast_year_low_50", pl.Float64, "Lower end of the 50 % interval of the year's total."),
    Field("forecast_year_high_50", pl.Float64, "Upper end of the 50 % interval of the year's total."),
    Field(
        "actual_starters",
        pl.Int64,
        "Study rights whose first status falls in the month, up to the as-of date (total rows of all funding).",
    ),
    Field(
        "student_years_per_starter",
        pl.Float64,
        "Expected student-years by 31 December of one more full-time qualification student starting on the "
        "month's first day (months still ahead, total rows).",
    ),
    Field(
        "additional_starters_in_month_50",
        pl.Int64,
        "Additional new students starting in this month that bring the year to the target with 50 % probability"
        " (0: already reached; total rows of months ahead, with a target).",
    ),
    Field("additional_starters_in_month_80", pl.Int64, "The same with 80 % probability."),
    Field(
        "additional_starters_spread_50",
        pl.Int64,
        "Additional new students, spread evenly over the months after the as-of month, that bring the year to "
        "the target with 50 % probability (total rows, with a target).",
    ),
    Field("additional_starters_spread_80", pl.Int64, "The same with 80 % probability."),
    Field(
        "target_reachable_this_year",
        pl.Boolean,
        "Whether the additional starters that reach the target (50 %) can still start this year: at most as many "
        "again as the months ahead already expect (total rows, with a target).",
    ),
    Field(
        "shortfall_student_years_50",
        pl.Float64,
        "The target less the median forecast of the year, 0 when reached (total rows, with a target).",
    ),
    Field(
        "next_year_starters_50",
        pl.Int64,
        "When the target cannot be reached this year: additional full-time qualification students starting on 1 "
        "January next year that make up the shortfall by next 31 December (total rows).",
    ),
    Field("forecast_made_on", pl.Date, "The as-of date the forecast was made on."),
    Field("oppilaitos_oid", pl.Utf8, "The oppilaitos the report is for (organisation OID)."),
    Field("period_first_day", pl.Date, "First day of the reporting period."),
    Field("period_last_day", pl.Date, "Last day of the reporting period."),
    Field("column", pl.Utf8, "Our name of the column that failed (empty for a rule of the whole row)."),
    Field("koski_header", pl.Utf8, "KOSKI's header of the column (today's)."),
    Field(
        "is_compared",
        pl.Boolean,
        "KOSKI's file has the column, under a header of a version that counts it as today: the figures were compared.",
    ),
    Field(
        "not_compared_because",
        pl.Utf8,
        "Why the column was not compared: the file (of an earlier version, or edited) lacks it, or its version "
        "counted it by a rule KOSKI has since corrected.",
    ),
    Field(
        "our_total", pl.Float64, "Sum of our figure over our study rights with a day in the period (day columns only)."
    ),
    Field("koski_total", pl.Float64, "Sum of KOSKI's figure over its rows (day columns compared only)."),
    Field("rows_differing", pl.Int64, "Study rights in both whose figure differs."),
    Field("rows_matched", pl.Int64, "Study rights in both."),
    Field("rows_only_in_koski", pl.Int64, "Rows of KOSKI's report with no figures of ours."),
    Field("rows_only_ours", pl.Int64, "Our study rights with a day in the period that KOSKI's report lacks."),
    Field("downloaded_on", pl.Date, "The date of the landing folder the report came in."),
    Field(
        "difference_kind",
        pl.Utf8,
        "What differs between our system and KOSKI's data: only_ours, only_in_koski, annulled_in_koski, start, end, "
        "status, funding, part_time or period (an additional period of period_type).",
    ),
    Field("difference_period_type", pl.Utf8, "The additional-period type that differs (kind period only)."),
    Field("study_rights_differing", pl.Int64, "Study rights with this difference."),
    Field(
        "days_moved",
        pl.Float64,
        "What the differences move in the period, KOSKI's count minus ours: student-year days (the formula in "
        "force), for funding the days counted under another funding code, for an additional period its days.",
    ),
    Field(
        "student_years_moved",
        pl.Float64,
        "The same in student-years (days / 365); none for an additional period, which KOSKI counts in days.",
    ),
    Field("koski_delivered_on", pl.Date, "The date of the newest KOSKI delivery compared."),
    # ---- The published organisation area ---------------------------------------------------------------------
    Field("organization_name", pl.Utf8, "Name from dim_organization."),
    Field(
        "size_class",
        pl.Utf8,
        "micro (< 10 employees), small (10–49), medium (50–249), large (250+); null if unknown.",
        code_list="micro, small, medium, large",
    ),
    Field("customer_type", pl.Utf8, "CRM customer type (employer, partner, educational_institution, public_sector)."),
    Field("in_crm", pl.Boolean, "At least one CRM account is this organisation."),
    Field("in_student_admin", pl.Boolean, "At least one workplace-learning row names this organisation."),
    Field("crm_account_count", pl.Int64, "Number of CRM accounts resolved to this organisation."),
    Field(
        "source_system",
        pl.Utf8,
        "crm or student_admin.",
        code_list="crm, student_admin",
        variant="bridge_organization_source",
    ),
    Field("source_id", pl.Utf8, "accountid for the CRM; the workplace name as typed for student administration."),
    Field("source_name", pl.Utf8, "The name the source record carries."),
    Field(
        "match_method",
        pl.Utf8,
        "business_id (the same valid Y-tunnus), steward (a steward decided the pair is the same), probabilistic "
        "(Splink scored a pair at the site's match_probability or more), or unmatched (an organisation of its own).",
        code_list="business_id, steward, probabilistic, unmatched",
    ),
    Field(
        "match_probability",
        pl.Float64,
        "How certain the record's organisation is: 1 for a Y-tunnus or a steward's decision, else the Splink match "
        "probability of its best pair inside the organisation; null when unmatched.",
    ),
    Field(
        "activity_type",
        pl.Utf8,
        "appointment, phonecall, email, task or tyoelamafoorumi.",
        code_list="appointment, phonecall, email, task, tyoelamafoorumi",
    ),
    Field("state", pl.Utf8, "completed, open or canceled.", code_list="completed, open, canceled"),
    Field("scheduled_date_key", pl.Int64, "Scheduled day in Finnish time as a dim_date key (yyyymmdd)."),
    Field("actual_end_date_key", pl.Int64, "Completion day in Finnish time as a dim_date key (yyyymmdd)."),
    Field("level", pl.Utf8, "strategic_partner or partner.", code_list="strategic_partner, partner"),
    Field("scope", pl.Utf8, "What it covers, our codes separated by ';'."),
    Field("covers_koulutussopimus", pl.Boolean, "The scope includes koulutussopimus."),
    Field("covers_oppisopimus", pl.Boolean, "The scope includes oppisopimus."),
    Field("covers_staff_training", pl.Boolean, "The scope includes staff_training."),
    Field("covers_recruitment", pl.Boolean, "The scope includes recruitment."),
    Field("covers_development", pl.Boolean, "The scope includes development."),
    Field("is_active", pl.Boolean, "Started on or before the as-of date and not ended before it."),
    Field("submitted_date_key", pl.Int64, "Submission day in Finnish time as a dim_date key (yyyymmdd)."),
    Field(
        "nps_group",
        pl.Utf8,
        "detractor (0–6), passive (7–8) or promoter (9–10).",
        code_list="detractor, passive, promoter",
    ),
    Field("has_comment", pl.Boolean, "The respondent wrote a comment (its text is not published)."),
    Field(
        "overlap_category",
        pl.Utf8,
        "both (a CRM account and workplace-learning rows), crm_only or student_admin_only.",
        code_list="both, crm_only, student_admin_only",
    ),
    Field("active_crm_account_count", pl.Int64, "Active CRM accounts of the organisation."),
    Field("has_duplicate_crm_accounts", pl.Boolean, "More than one CRM account."),
    Field(
        "inactive_account_hosting_students",
        pl.Boolean,
        "Hosted students in the last 12 months, but every CRM account of it is inactive.",
    ),
    Field(
        "name_conflict",
        pl.Boolean,
        "Its source records carry names that differ beyond case, punctuation and company form.",
    ),
    Field("students_hosted_12m", pl.Int64, "Distinct students with a workplace period in the last 12 months."),
    Field("workplace_periods_12m", pl.Int64, "Workplace periods overlapping the last 12 months."),
    Field("crm_activities_12m", pl.Int64, "CRM activities scheduled in the last 12 months (not cancelled)."),
    Field("active_partnership", pl.Boolean, "A partnership active on the as-of date."),
    Field("as_of_date", pl.Date, "The as-of date the 12-month windows end on."),
    Field("segment_label", pl.Utf8, "The segment's Finnish name (label_fi in customer_segments.yaml), for BI."),
    Field("segment", pl.Utf8, "The first segment rule that holds."),
    Field("students_koulutussopimus_12m", pl.Int64, "… of them on a training agreement (koulutussopimus)."),
    Field("students_oppisopimus_12m", pl.Int64, "… of them on an apprenticeship (oppisopimus)."),
    Field("students_hosted_total", pl.Int64, "Distinct students hosted in the whole export."),
    Field("activities_12m_appointment", pl.Int64, "CRM activities of type appointment in the last 12 months."),
    Field("activities_12m_phonecall", pl.Int64, "CRM activities of type phonecall in the last 12 months."),
    Field("activities_12m_email", pl.Int64, "CRM activities of type email in the last 12 months."),
    Field("activities_12m_task", pl.Int64, "CRM activities of type task in the last 12 months."),
    Field("activities_12m_tyoelamafoorumi", pl.Int64, "CRM activities of type tyoelamafoorumi in the last 12 months."),
    Field("last_contact_date", pl.Date, "Day of the latest completed CRM activity (Finnish time)."),
    Field(
        "active_partnership_level",
        pl.Utf8,
        "Highest level of a partnership active on the as-of date.",
        code_list="strategic_partner, partner",
    ),
    Field("contacts", pl.Int64, "CRM contact persons (a count: contacts are personal data)."),
    Field("survey_responses", pl.Int64, "Survey responses."),
    Field("nps_average", pl.Float64, "Average NPS answer 0–10."),
    Field("nps_score", pl.Float64, "Net Promoter Score: % promoters − % detractors (−100…100)."),
    Field("satisfaction_average", pl.Float64, "Average satisfaction 1–5."),
    # ---- Stewardship -----------------------------------------------------------------------------------------
    Field("run_id", pl.Utf8, "The Dagster run that found the failure (or that the counts are of)."),
    Field("source_system", pl.Utf8, "The source system of the file: `student_admin`, `crm` or `koski`."),
    Field("table", pl.Utf8, "Our name of the source table (`docs/architecture/source_<table>.md`)."),
    Field("source_file", pl.Utf8, "The export file the row came from."),
    Field(
        "source_line", pl.Int64, "The row's line in the file (the header is line 1); empty for a whole-file problem."
    ),
    Field(
        "record_key",
        pl.Utf8,
        "The row's own key in the source (a student number, study-right id, …), so a steward can find it there.",
    ),
    Field("rule_id", pl.Utf8, "The rule that failed (every rule is listed on its table's page)."),
    Field("severity", pl.Utf8, "`error`, `warning`, or `waived` for an error a steward has waived."),
    Field("consequence", pl.Utf8, "What the failure does: `reject` the row, `clear` the value or `flag` the row."),
    Field("source_header", pl.Utf8, "The column's header in the source file."),
    Field("message", pl.Utf8, "What is wrong, in English."),
    Field("message_fi", pl.Utf8, "What is wrong, in Finnish."),
    Field("masked_value", pl.Utf8, "The failing value with anything shaped like personal data masked by its shape."),
    Field("failure_id", pl.Utf8, "The failure's identity across runs: the same rule on the same record and column."),
    Field(
        "person_key",
        pl.Utf8,
        "The person the row is about (student or contact), as a keyed pseudonym; empty when none.",
    ),
    Field("occurrences", pl.Int64, "How many rows of the latest run it was seen on."),
    Field(
        "status",
        pl.Utf8,
        "`new` (first seen in the latest run), `open`, `waived` or `resolved`.",
        variant="failure_history",
    ),
    Field("first_seen_run", pl.Utf8, "The run that first found it."),
    Field("first_seen_on", pl.Date, "That run's as-of date."),
    Field("last_seen_run", pl.Utf8, "The latest run that found it."),
    Field("last_seen_on", pl.Date, "That run's as-of date."),
    Field("resolved_run", pl.Utf8, "The first run that no longer found it (empty while it is open)."),
    Field("resolved_on", pl.Date, "That run's as-of date."),
    Field("as_of", pl.Date, "The run's as-of date."),
    Field("recorded_at", TIMESTAMP, "When the run recorded its counts."),
    Field("failing", pl.Int64, "Rows failing the rule in the run (waived ones not counted)."),
    Field("new", pl.Int64, "Of them, rows failing for the first time."),
    Field("resolved", pl.Int64, "Rows that failed in an earlier run and no longer do."),
)


#: the Finnish label beside each labelled code column of a published table (schemas/code_labels.py)
FIELDS.update(
    {
        (label_column(name), None): Field(
            label_column(name),
            pl.Utf8,
            f"The Finnish name of the {name} code beside it, for BI (schemas/code_labels.py); empty where the code "
            "list names no such code.",
        )
        for name in LABELS
    }
)


def column(name: str, source_header: str | None = None, *, variant: str | None = None, **role) -> Column:
    """The catalogue's field ``name`` (or its ``variant``) placed in a table; ``role``: the rest of :class:`Column`."""
    try:
        field = FIELDS[(name, variant)]
    except KeyError:
        raise KeyError(f"{name!r} (variant {variant!r}) is not in the field catalogue, schemas/fields.py") from None
    return Column(field, source_header, **role)
