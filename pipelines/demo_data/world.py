"""A provider's clean history: students, study rights, status histories, units, workplaces, targets.

Each study right is lived through day by day in coarse steps (start → summer holidays,
interruptions, part-time → graduation, drop-out, or still open at the as-of date); the
volume tables (assessed units) are then drawn vectorised from the study rights.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.demo_data.people import employers, hard_spelling, hetu, name_pools
from pipelines.demo_data.profiles import DEFAULT, Profile
from pipelines.marts.student_years import ADDITIONAL_PERIODS
from schemas.codes import reference

SIZES = {"small": 300, "medium": 3_000, "large": 30_000, "national": 350_000}
CAMPUSES = ["Kouvolan kampus", "Kuusankosken toimipiste", "Haminan kampus", "Mikkelin kampus", "Verkko-opetus"]
LANGUAGE_MIX = (["fi"] * 86) + ["sv", "sv", "ru", "et", "ar", "so", "en", "fa", "uk", "se"]
MUNICIPALITY_MIX = ["286", "286", "286", "286", "075", "285", "491", "398", "091", "624", "405", "199"]
UNIT_NAMES = [
    "Asiakaspalvelu",
    "Huoltotyöt",
    "Korjaustyöt",
    "Projektityö",
    "Työturvallisuus",
    "Viestintä- ja vuorovaikutusosaaminen",
    "Matemaattis-luonnontieteellinen osaaminen",
    "Yhteiskunta- ja työelämäosaaminen",
    "Tuotannon tehtävät",
    "Suunnittelu ja toteutus",
    "Laadunvarmistus",
    "Myynti ja markkinointi",
    "Hoito- ja huolenpito",
    "Kasvun tukeminen",
    "Asennustyöt",
    "Kunnossapito",
    "Varastotoiminnot",
    "Ruoanvalmistus",
]
#: the true employer (index into ``World.employers``) of a workplace row: truth for matching, never exported
EMPLOYER = "__employer"
FUNDING_MIX = ["1"] * 90 + ["2", "4", "6", "14", "3", "17", "10", "16", "9", "7"]
#: of an adult's changes of pace, the share that are holidays (with youth summer holidays and interruptions: ≈ 4.3
#: status periods per student, as in the national figures of the issue: 350,000 students, ≈ 1.5M periods)
ADULT_HOLIDAY_SHARE = 0.45
#: days of study per assessed unit (≈ 14 units per student: 350,000 students, ≈ 5M assessed units)
DAYS_PER_UNIT = 58.0


@dataclass
class World:
    as_of: dt.date
    tables: dict[str, pl.DataFrame]
    employers: list[dict]
    profile: Profile = DEFAULT
    #: the study rights of a new group the provider decided to open (``august_surge``): its plan knows them
    new_group: pl.DataFrame | None = None


def _day(d: dt.date) -> int:
    return d.toordinal()


def _date(n: int) -> dt.date:
    return dt.date.fromordinal(int(n))


def _start_date(rng, first: dt.date, as_of: dt.date) -> dt.date:
    kind = rng.random()
    years = list(range(first.year, as_of.year + 1))
    if kind < 0.45:
        d = dt.date(int(rng.choice(years)), 8, int(rng.integers(5, 16)))
    elif kind < 0.65:
        d = dt.date(int(rng.choice(years)), 1, int(rng.integers(7, 15)))
    else:
        d = _date(rng.integers(_day(first), _day(as_of)))
    return d if first <= d <= as_of else _date(rng.integers(_day(first), _day(as_of)))


def _history(rng, start: dt.date, months: float, youth: bool, as_of: dt.date, profile: Profile = DEFAULT):
    """Status periods and part-time periods of one study right, cut at the as-of date."""
    funding = str(rng.choice(FUNDING_MIX)) if not youth else "1"
    fate = rng.random()
    graduates, drops_out, considered_out = profile.fates()
    planned_end = _date(_day(start) + int(months * 30.4))
    if fate < graduates:  # graduates after 1–3 years (earlier or later than planned)
        end, ending = _date(_day(planned_end) + int(rng.integers(-60, 240))), "valmistunut"
    elif fate < drops_out:
        end, ending = _date(_day(start) + int(rng.integers(20, max(21, _day(planned_end) - _day(start))))), "eronnut"
    elif fate < considered_out:
        end, ending = _date(_day(start) + int(rng.integers(60, 500))), "katsotaaneronneeksi"
    else:  # continues past planned end
        end, ending = _date(_day(planned_end) + int(rng.integers(200, 500))), "eronnut"
    periods = [(start, "lasna", funding)]
    cursor = start
    while True:
        if youth:  # summer holiday for young students
            summer = dt.date(cursor.year if cursor < dt.date(cursor.year, 6, 1) else cursor.year + 1, 6, 1)
            event, length = summer, (dt.date(summer.year, 8, 10) - summer).days
            kind = "loma" if rng.random() < 0.55 else None
        else:  # adults: a change of pace every few months, some of them a holiday of a few weeks
            event, length, kind = _date(_day(cursor) + int(rng.integers(120, 400))), 0, None
            if rng.random() < ADULT_HOLIDAY_SHARE:
                kind, length = "loma", int(rng.integers(14, 46))
        if rng.random() < 0.07:
            event = _date(_day(cursor) + int(rng.integers(30, 300)))
            kind, length = "valiaikaisestikeskeytynyt", int(rng.integers(30, 200))
        if event >= end or event > as_of:
            break
        if kind:
            periods.append((event, kind, funding if kind == "loma" else None))
            back = _date(_day(event) + length)
            if back >= end or back > as_of:
                break
            periods.append((back, "lasna", funding))
            cursor = back
        else:
            cursor = event
    if end <= as_of:
        periods.append((end, ending, funding if ending == "valmistunut" else None))
        return periods, planned_end, end
    return periods, planned_end, None


def build_world(size: str, seed: int, as_of: dt.date, august_surge: float = 0.0, profile: Profile = DEFAULT) -> World:
    """The world of ``size`` students (scaled by the provider's ``profile``); ``august_surge`` adds that share of the
    previous year's August intake as new students starting then (a new group the history of earlier years does not
    show)."""
    rng = np.random.default_rng(seed)
    pools = name_pools(seed)
    n_students = round(SIZES[size] * profile.scale)
    first = dt.date(as_of.year - 6, 1, 1)  # students already studying when the history we report begins
    quals = [q for q in reference("qualifications")]
    weights = np.array(
        [
            (
                6.0
                if q["qualification_type"] == "perustutkinto"
                else 2.0
                if "tutkinto" in q["qualification_type"]
                else 1.0
            )
            * (4.0 if profile.fields and q["koulutus_code"].startswith(profile.fields) else 1.0)
            for q in quals
        ]
    )
    weights /= weights.sum()
    work = employers(rng, pools, max(40, n_students // 8))

    students, rights, periods, extras, places = [], [], [], [], []
    new_group: list[dict] = []
    individual_numbers = rng.integers(900, 1000, size=n_students)

    def add_student(i: int, individual_number: int, start_on: dt.date | None = None) -> None:
        number = f"{100000 + i}"
        youth = rng.random() < 0.6
        age = int(rng.integers(16, 19)) if youth else int(rng.integers(19, 58))
        birth = _date(_day(dt.date(as_of.year - age, 1, 1)) + int(rng.integers(0, 365)))
        male = bool(individual_number % 2)
        first_name = rng.choice(pools["male" if male else "female"])
        last_name = rng.choice(pools["last"])
        has_hetu = rng.random() > 0.03
        students.append(
            {
                "student_number": number,
                "hetu": hetu(birth, int(individual_number)) if has_hetu else None,
                "learner_oid": f"1.2.246.562.24.{rng.integers(10**10, 10**11 - 1):011d}"
                if (rng.random() < 0.9 or not has_hetu)
                else None,
                "last_name": last_name,
                "first_names": first_name,
                "birth_date": birth,
                "sex": "1" if male else "2",
                "mother_tongue": str(rng.choice(LANGUAGE_MIX)),
                "home_municipality": str(rng.choice(MUNICIPALITY_MIX)),
                "email": f"{first_name}.{last_name}{i}@example.fi".lower().replace("ä", "a").replace("ö", "o"),
                "mobile_phone": f"+358 40 {rng.integers(1000000, 9999999)}",
            }
        )
        for k in range(1 + int(rng.random() < 0.1)):
            q = quals[int(rng.choice(len(quals), p=weights))]
            start = start_on if start_on and k == 0 else _start_date(rng, first, as_of)
            kind = q["qualification_type"]
            months = 36 if kind == "perustutkinto" else 12 if kind == "valmentava koulutus" else 18
            study_type = q["study_right_type"]
            if study_type == "ammatillinentutkinto" and kind != "perustutkinto" and rng.random() < 0.25:
                study_type = "ammatillinentutkintoosittainen"
            history, planned_end, end = _history(rng, start, months, youth and kind == "perustutkinto", as_of, profile)
            sr = f"OO-{number}-{k + 1}"
            rights.append(
                {
                    "study_right_id": sr,
                    "study_right_oid": f"1.2.246.562.15.{rng.integers(10**10, 10**11 - 1):011d}"
                    if rng.random() < 0.8
                    else None,
                    "student_number": number,
                    "study_right_type": study_type,
                    "koulutus_code": q["koulutus_code"],
                    "osaamisala_code": f"{rng.integers(1500, 3000)}"
                    if kind == "perustutkinto" and rng.random() < 0.7
                    else None,
                    "campus": str(rng.choice(CAMPUSES)),
                    "start_date": start,
                    "planned_end_date": planned_end,
                    "end_date": end,
                }
            )
            periods.extend(
                {"study_right_id": sr, "start_date": d, "status": s, "funding_code": f} for d, s, f in history
            )
            last_day = end or as_of
            if rng.random() < 0.1:
                ps = _date(rng.integers(_day(start), _day(last_day) + 1))
                pe = _date(min(_day(ps) + int(rng.integers(30, 300)), _day(last_day))) if rng.random() < 0.8 else None
                extras.append(
                    {
                        "study_right_id": sr,
                        "period_type": "osa-aikaisuus",
                        "start_date": ps,
                        "end_date": pe,
                        "value": float(rng.choice([50, 60, 75, 80])),
                    }
                )
            for ptype, p in (("majoitus", 0.05), ("erityinen tuki", 0.1), ("vaativa erityinen tuki", 0.01)):
                if rng.random() < p:  # may reach outside the study right: normal, only the overlap counts
                    extras.append(
                        {
                            "study_right_id": sr,
                            "period_type": ptype,
                            "start_date": _date(_day(start) - int(rng.integers(0, 20))),
                            "end_date": end,
                            "value": None,
                        }
                    )
            span = _day(last_day) - _day(start)
            if span > 60 and rng.random() < 0.65:
                for _ in range(int(rng.integers(1, 4))):
                    ws = _day(start) + int(rng.integers(0, span - 30))
                    we = min(ws + int(rng.integers(20, 150)), _day(last_day))
                    employer = int(rng.zipf(1.6) - 1) % len(work)
                    emp = work[employer]
                    apprenticeship = rng.random() < 0.15
                    places.append(
                        {
                            "study_right_id": sr,
                            "agreement_type": "oppisopimus" if apprenticeship else "koulutussopimus",
                            "business_id": _typed_business_id(rng, emp["business_id"]),
                            "workplace_name": _typed_name(rng, emp),
                            "start_date": _date(ws),
                            "end_date": _date(we),
                            EMPLOYER: employer,
                        }
                    )
                    if apprenticeship:
                        extras.append(
                            {
                                "study_right_id": sr,
                                "period_type": "oppisopimus",
                                "start_date": _date(ws),
                                "end_date": _date(we),
                                "value": None,
                            }
                        )

    for i in range(n_students):
        add_student(i, int(individual_numbers[i]))
    if august_surge:
        surge_year = as_of.year - 1
        august = sum(
            r["start_date"].year == surge_year and r["start_date"].month == 8 and r["study_right_id"].endswith("-1")
            for r in rights
        )
        first_new = len(rights)
        for j in range(round(august_surge * august)):
            add_student(n_students + j, int(rng.integers(900, 1000)), dt.date(surge_year, 8, int(rng.integers(5, 16))))
        new_group = [r for r in rights[first_new:] if r["study_right_id"].endswith("-1")]  # (each one's first right)
    tables = {
        "students": pl.DataFrame(students),
        "study_rights": pl.DataFrame(rights),
        "status_periods": pl.DataFrame(periods),
        "additional_periods": pl.DataFrame(
            extras,
            schema=ADDITIONAL_PERIODS,
        ),
        "workplace_periods": pl.DataFrame(places),
    }
    tables["assessed_units"] = _assessed_units(rng, tables["study_rights"], as_of)
    tables["targets"] = _targets(tables, as_of)
    decided = pl.DataFrame(new_group).select("start_date", "study_right_type") if august_surge and new_group else None
    return World(as_of, tables, work, profile, decided)


def _typed_business_id(rng, business_id: str) -> str | None:
    """Staff type Y-tunnus in several ways, or leave it out."""
    r = rng.random()
    if r < 0.1:
        return None
    if r < 0.2:
        return business_id.replace("-", "")
    return business_id


def _typed_name(rng, emp: dict) -> str:
    """The same workplace under several spellings (the overlap problem of #4), the hard kinds among them
    (:func:`pipelines.demo_data.people.hard_spelling`: a first-letter typo, a sole trader's form, a branch)."""
    r = rng.random()
    if r < 0.52:
        return f"{emp['name']} {emp['form']}"
    if r < 0.6:
        return hard_spelling(emp, r)
    if r < 0.75:
        return emp["name"]
    if r < 0.85:
        return f"{emp['name']} {emp['form']}".upper()
    if r < 0.95:
        return f"{emp['name']} {emp['form']}, {emp['city']}"
    return f"{emp['name']} {'Oy Ab' if emp['form'] == 'Oy' else 'Oy'}"


def _assessed_units(rng, rights: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """About one unit per two months of study (``DAYS_PER_UNIT``), assessed on days inside the study right."""
    start = rights["start_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    end = rights["end_date"].fill_null(as_of).to_numpy().astype("datetime64[D]").astype(np.int64)
    span = np.maximum(end - start, 1)
    counts = rng.poisson(span / DAYS_PER_UNIT)
    idx = np.repeat(np.arange(rights.height), counts)
    n = len(idx)
    day = start[idx] + (rng.random(n) * span[idx]).astype(np.int64)
    names = np.array(UNIT_NAMES)
    unit = rng.integers(0, len(UNIT_NAMES) * 40, n)
    grades = np.array(["1", "2", "3", "4", "5", "Hyväksytty", "Hylätty"])
    return pl.DataFrame(
        {
            "study_right_id": rights["study_right_id"].gather(idx),
            "unit_code": (100000 + unit * 7).astype(str),
            "unit_name": names[unit % len(UNIT_NAMES)],
            "credits": rng.choice([5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 45.0, 2.5], n),
            "grade": grades[rng.choice(7, n, p=[0.05, 0.1, 0.3, 0.25, 0.2, 0.08, 0.02])],
            "assessment_date": pl.Series(day.astype("datetime64[D]")).cast(pl.Date),
            "recognised": np.where(rng.random(n) < 0.08, "K", "E"),
        }
    )


def _targets(tables: dict[str, pl.DataFrame], as_of: dt.date) -> pl.DataFrame:
    """Targets near what the provider actually achieves (rough present-days / 365), rounded."""
    p = (
        tables["status_periods"]
        .sort("study_right_id", "start_date")
        .with_columns(pl.col("start_date").shift(-1).over("study_right_id").alias("next"))
    )
    years = range(as_of.year - 3, as_of.year + 1)
    rows = []
    for year in years:
        lo, hi = dt.date(year, 1, 1), dt.date(year, 12, 31)
        present = (
            p.filter(pl.col("status") == "lasna")
            .select(
                (
                    pl.min_horizontal(pl.col("next").fill_null(hi), pl.lit(hi))
                    - pl.max_horizontal(pl.col("start_date"), pl.lit(lo))
                )
                .dt.total_days()
                .clip(0)
                .sum()
            )
            .item()
        )
        rows.append({"year": year, "target_student_years": float(round(present / 365 * 1.05, -1) or 10)})
    return pl.DataFrame(rows)
