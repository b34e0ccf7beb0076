"""The spec's worked examples and a hand-worked case with every KOSKI column, as the report's text: the command-line
tests (``test_student_years.py``) and the in-process ones (``test_student_year_units.py``) check the same figures."""

WORKED_EXAMPLES = [
    # (status periods, type, additional periods, from, to, expected columns)
    (
        [("1.1.2022", "lasna", "1")],
        "ammatillinentutkinto",
        (),
        "2022-01-01",
        "2022-01-31",
        {"student_year_days_old": "31", "present_or_graduated_days": "31"},
    ),
    (
        [("1.1.2022", "lasna", "1")],
        "ammatillinentutkinto",
        (("osa-aikaisuus", "1.1.2021", "", "50"),),
        "2022-01-01",
        "2022-01-31",
        {"student_year_days_old": "15.5", "present_or_graduated_days": "31"},
    ),
    (
        [("1.1.2022", "lasna", "1"), ("1.2.2022", "valmistunut", "1")],
        "ammatillinentutkinto",
        (),
        "2022-01-01",
        "2022-12-31",
        {"student_year_days_old": "32"},
    ),
    (
        [("1.1.2022", "lasna", "1"), ("1.2.2022", "eronnut", "")],
        "ammatillinentutkinto",
        (),
        "2022-01-01",
        "2022-12-31",
        {"student_year_days_old": "31"},
    ),
    (
        [("1.1.2016", "loma", "1")],
        "ammatillinentutkinto",
        (),
        "2016-01-01",
        "2016-12-31",
        {"holiday_days_counted": "28", "holiday_days_other": "338", "student_year_days_old": "28"},
    ),
    (
        [("1.6.2026", "lasna", "1")],
        "ammatillinentutkinto",
        (),
        "2026-06-01",
        "2026-08-31",
        {"student_year_days_current": "61"},
    ),
    (
        [("1.6.2026", "lasna", "1")],
        "ammatillinentutkintoosittainen",
        (),
        "2026-06-01",
        "2026-08-31",
        {"student_year_days_current": "92"},
    ),
    (
        [("1.6.2026", "lasna", "1")],
        "valma",
        (),
        "2026-06-01",
        "2026-08-31",
        {"student_year_days_current": "", "present_or_graduated_days": "92"},
    ),
]


KOSKI_CASE = dict(
    periods=[
        ("1.8.2024", "lasna", "1"),
        ("1.10.2024", "lasna", "14"),
        ("1.11.2024", "loma", ""),
        ("15.12.2024", "valmistunut", "1"),
    ],
    extras=(
        ("majoitus", "1.7.2024", "15.8.2024", ""),
        ("sisäoppilaitosmainen majoitus", "1.9.2024", "30.9.2024", ""),
        ("vaativa erityinen tuki", "1.9.2024", "", ""),
        ("hojks", "1.12.2024", "", ""),
        ("osa-aikaisuus", "1.10.2024", "31.10.2024", "50"),
    ),
    workplaces=(("oppisopimus", "1.12.2024", "31.12.2024"), ("koulutussopimus", "1.8.2024", "31.8.2024")),
)
#: worked out by hand for 1.8.–31.12.2024 (the study right runs 1.8.–15.12.: 137 days)
KOSKI_EXPECTED = {
    "study_right_oid": "1.2.246.562.15.10000000001",
    "study_right_id": "OO-1",
    "funding_codes": "1,14",
    "ended": "true",
    "end_date": "2024-12-15",
    # lasna 61 days at 100 % + 31 at 50 %, the first 28 holiday days, the graduation day
    "student_year_days_old": "105.5",
    "present_or_graduated_days": "93",
    "holiday_days_counted": "28",
    "holiday_days_other": "16",
    "accommodation_days": "15",
    "boarding_accommodation_days": "30",
    "special_support_accommodation_days": "0",
    "special_support_days": "0",
    "demanding_special_support_days": "106",
    "hojks_days": "15",
    "severely_disabled_days": "0",
    "disabled_with_assistant_days": "0",
    "part_time_percentages": "100,50,100",
    "part_time_average_percent": str(round(12150 / 137, 6)),
    "study_readiness_days": "0",
    "prison_education_days": "0",
    "apprenticeship_days": "15",  # the oppisopimus workplace period, within the study right only
    "student_year_days_current": "121.5",  # the current formula counts all 44 holiday days until 31.12.2025
}
