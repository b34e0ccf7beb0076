"""Student-years as KOSKI counts them: the spec's worked examples through the command, and properties."""

import csv
import datetime as dt

import duckdb
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingestion.landing import Landing
from pipelines.marts.student_year_history import history_from_folder
from pipelines.marts.student_year_report import write_report
from pipelines.marts.student_years import (
    ADDITIONAL_PERIODS,
    MEASURES,
    NUMBER,
    Calculation,
    StudyRightHistory,
    per_study_right,
)
from schemas.koski_report import STUDENT_YEAR_REPORT
from tests.conftest import pseudonym, run_cli, site_config
from tests.koski_workbook import KOSKI_TODAY
from tests.landing import valid_rows, write_landing
from tests.student_year_cases import KOSKI_CASE, KOSKI_EXPECTED, WORKED_EXAMPLES

D = dt.date


def _landing(tmp_path, periods, study_right_type="ammatillinentutkinto", extras=(), workplaces=()):
    """One study right (OO-1) with ``periods`` = [(d.m.yyyy, status, funding)], in an otherwise valid export."""
    rows = valid_rows()
    ending = [p[0] for p in periods if p[1] in ("valmistunut", "eronnut")]
    right = {
        **rows["study_rights"][0],
        "study_right_type": study_right_type,
        "start_date": periods[0][0],
        "planned_end_date": "",
        "end_date": ending[0] if ending else "",
    }
    rows.update(
        study_rights=[right],
        status_periods=[
            {"study_right_id": "OO-1", "start_date": d, "status": s, "funding_code": f} for d, s, f in periods
        ],
        additional_periods=[
            {"study_right_id": "OO-1", "period_type": t, "start_date": a, "end_date": b, "value": v}
            for t, a, b, v in extras
        ],
        assessed_units=[],
        workplace_periods=[
            {**rows["workplace_periods"][0], "agreement_type": kind, "start_date": a, "end_date": b}
            for kind, a, b in workplaces
        ],
    )
    write_landing(tmp_path / "landing", rows)
    return tmp_path / "landing"


def _report(tmp_path, landing, first, last, form="ours"):
    out = tmp_path / "report.csv"
    result = run_cli(
        "student-years", "--landing", str(landing), "--from", first, "--to", last, "--out", str(out), "--format", form
    )
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";" if form == "koski" else ",")), result.stderr


@pytest.mark.parametrize("periods, kind, extras, first, last, expected", WORKED_EXAMPLES)
def test_worked_examples_through_the_command(tmp_path, periods, kind, extras, first, last, expected):
    rows, _ = _report(tmp_path, _landing(tmp_path, periods, kind, extras), first, last)
    assert len(rows) == 1 and rows[0]["study_right_id"] == "OO-1"
    assert {k: rows[0][k] for k in expected} == expected


def test_every_koski_column_in_koskis_order(tmp_path):
    """Each additional-period type is its own column; apprenticeship days also come from workplace periods."""
    rows, _ = _report(tmp_path, _landing(tmp_path, **KOSKI_CASE), "2024-08-01", "2024-12-31")
    assert list(rows[0]) == [c.name for c in STUDENT_YEAR_REPORT.columns]
    assert rows[0] == KOSKI_EXPECTED


def test_koski_format_writes_todays_headers_in_todays_order(tmp_path):
    """KOSKI's columns as its report has them today (KOSKI's columnSettings and texts, copied here from KOSKI's
    code, not from our schema): the old formula renamed, the current formula beside it, the two funding flags
    (removed in 2025) gone, ``Vaativa`` (2023); the columns we write stand in KOSKI's order."""
    rows, _ = _report(tmp_path, _landing(tmp_path, **KOSKI_CASE), "2024-08-01", "2024-12-31", form="koski")
    written = list(rows[0])
    assert written == [h for h in KOSKI_TODAY if h in written] and len(written) >= 20
    row = rows[0]
    assert row["Opiskelijavuosikertymä (pv) - vanha laskentakaava (ennen v. 2026)"] == "105,5"
    assert row["Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (1.7.2023 alkaen)"] == "121,5"
    assert row["Päättymispäivä"] == "15.12.2024" and row["Päättynyt"] == "kyllä"
    assert row["Oppisopimus (pv)"] == "15" and row["Vaativa erityisen tuen tehtävä (pv)"] == "106"
    assert not {"Läsnä rahoitus syötetty", "Loma/valmistunut rahoitus syötetty", "Opiskelijavuosikertymä (pv)"} & set(
        written
    )


def test_a_failure_outside_the_timeline_holds_nothing_back(tmp_path):
    rows = valid_rows()
    rows["study_rights"][1]["koulutus_code"] = "999999"  # OO-2: not a known qualification: cleared, still counted
    rows["students"][0]["hetu"] = rows["students"][0]["hetu"][:-1] + "X"  # OO-1's student: wrong check character
    write_landing(tmp_path / "landing", rows)
    report, stderr = _report(tmp_path, tmp_path / "landing", "2025-01-01", "2025-12-31")
    assert [r["study_right_id"] for r in report] == ["OO-1", "OO-2"]
    assert "0 study rights held back or annulled" in stderr


def test_a_broken_timeline_holds_its_study_right_back_and_lists_it(tmp_path):
    rows = valid_rows()
    rows["status_periods"][4]["status"] = "opiskelee"  # OO-2's only status: not a KOSKI code
    rows["additional_periods"][1]["end_date"] = "1.1.2020"  # OO-1's majoitus ends before it starts
    write_landing(tmp_path / "landing", rows)
    report, stderr = _report(tmp_path, tmp_path / "landing", "2025-01-01", "2025-12-31")
    assert report == []
    assert "2 study rights held back or annulled" in stderr
    with open(tmp_path / "report_held_back.csv", encoding="utf-8") as f:
        held = {r["study_right_id"]: r["rule_id"] for r in csv.DictReader(f)}
    assert held == {"OO-1": "additional_periods.end_date_not_before_start_date", "OO-2": "status_periods.status.code"}


def test_an_annulled_study_right_counts_nowhere_and_is_listed(tmp_path):
    """KOSKI moves an annulled study right out of its reporting tables: it has no day in any report, whatever its
    statuses said before the annulment (OO-2: lasna from 8.1.2025, annulled 1.3.2025, was counted 52 days)."""
    rows = valid_rows()
    rows["status_periods"].append(
        {"study_right_id": "OO-2", "start_date": "1.3.2025", "status": "mitatoity", "funding_code": ""}
    )
    write_landing(tmp_path / "landing", rows)
    report, stderr = _report(tmp_path, tmp_path / "landing", "2025-01-01", "2025-12-31")
    assert [r["study_right_id"] for r in report] == ["OO-1"]
    assert "1 study rights held back or annulled" in stderr
    with open(tmp_path / "report_held_back.csv", encoding="utf-8") as f:
        assert {r["study_right_id"]: r["rule_id"] for r in csv.DictReader(f)} == {"OO-2": "status_periods.annulled"}
    area = Landing.at(tmp_path / "landing")
    history, _ = history_from_folder(area, area.export_folder("student_admin"))
    assert history.study_rights["study_right_id"].to_list() == ["OO-1"]  # so no monthly fact, forecast or page


def test_a_waiver_in_force_counts_for_the_command_as_it_does_for_the_run(tmp_path):
    """A waived failure in a study right's own timeline holds it back in neither the pipeline nor ``student-years``:
    both validate an export with the waivers in force (``pipelines/waivers.py``)."""
    rows = valid_rows()
    rows["status_periods"][4]["status"] = "opiskelee"  # OO-2's only status: not a KOSKI code
    write_landing(tmp_path / "landing", rows)
    plain = Landing.at(tmp_path / "landing")
    _, held = history_from_folder(plain, plain.export_folder("student_admin"))
    assert held["study_right_id"].to_list() == ["OO-2"]
    (tmp_path / "site").mkdir()
    waiver = {
        "rule": "status_periods.status.code",
        "source_key": "OO-2",
        "reason": "a local status, agreed",
        "approved_by": "Data steward",
        "expires": "2099-12-31",
    }
    (tmp_path / "site" / "waivers.yaml").write_text(yaml.safe_dump({"waivers": [waiver]}), encoding="utf-8")
    waived = Landing.at(tmp_path / "landing", site_config(tmp_path / "site", waivers="waivers.yaml"))
    history, held = history_from_folder(waived, waived.export_folder("student_admin"))
    assert held.is_empty() and "OO-2" in history.study_rights["study_right_id"].to_list()


def _one_right(periods, kind="ammatillinentutkinto"):
    return StudyRightHistory(
        pl.DataFrame(
            {"study_right_id": ["A"], "study_right_oid": [None], "study_right_type": [kind]},
            schema_overrides={"study_right_oid": pl.Utf8},
        ),
        pl.DataFrame([{"study_right_id": "A", "start_date": d, "status": s, "funding_code": f} for d, s, f in periods]),
        pl.DataFrame(schema=ADDITIONAL_PERIODS),
    )


days_2024_2026 = st.dates(min_value=D(2023, 7, 1), max_value=D(2026, 12, 31))


@given(
    start=days_2024_2026,
    length=st.integers(0, 500),
    kind=st.sampled_from(
        [
            "ammatillinentutkinto",
            "telma",
            "tuvakoulutuksensuoritus",
            "ammatillinentutkintoosittainen",
            "muuammatillinenkoulutus",
            "tutkinnonosaapienemmistäkokonaisuuksistakoostuvasuoritus",
        ]
    ),
)
def test_july_days_count_only_for_the_right_types(start, length, kind):
    end = start + dt.timedelta(days=length)
    # (totals per study right: a TUVA study right is in no KOSKI opiskelijavuositiedot, but its figures count)
    row = (
        Calculation.of(_one_right([(start, "lasna", "1")], kind), start, end)
        .totals_per_study_right()
        .row(0, named=True)
    )
    july = sum(1 for i in range(length + 1) if (start + dt.timedelta(days=i)).month == 7)
    counted = kind in (
        "ammatillinentutkintoosittainen",
        "muuammatillinenkoulutus",
        "tutkinnonosaapienemmistäkokonaisuuksistakoostuvasuoritus",
    )
    assert row["present_or_graduated_days"] == length + 1
    assert row["student_year_days_current"] == length + 1 - (0 if counted else july)


@given(
    began=st.dates(min_value=D(2015, 1, 1), max_value=D(2022, 12, 31)),
    length=st.integers(1, 120),
    cuts=st.lists(st.integers(1, 119), max_size=4, unique=True),
)
def test_a_holidays_28_days_are_counted_once_across_period_boundaries(began, length, cuts):
    history = _one_right([(began, "loma", "1"), (began + dt.timedelta(days=length), "lasna", "1")])
    bounds = (
        [began]
        + [began + dt.timedelta(days=c) for c in sorted(cuts) if c < length]
        + [began + dt.timedelta(days=length)]
    )
    counted = sum(
        per_study_right(history, a, b - dt.timedelta(days=1))["holiday_days_counted"].sum()
        for a, b in zip(bounds, bounds[1:])
    )
    assert counted == min(28, length)
    whole = per_study_right(history, began, began + dt.timedelta(days=length - 1)).row(0, named=True)
    assert whole["holiday_days_counted"] + whole["holiday_days_other"] == length


@settings(max_examples=60)
@given(
    began=st.dates(min_value=D(2015, 1, 1), max_value=D(2022, 12, 31)),
    length=st.integers(2, 120),
    split=st.integers(1, 119),
    codes=st.sampled_from([("1", "2"), ("1", "1"), ("14", "1")]),
)
def test_back_to_back_holiday_periods_are_one_unbroken_holiday(began, length, split, codes):
    """A funding-code change in the middle of a holiday starts a second loma period, not a second allowance: the
    spec's "first 28 days of an unbroken holiday" are counted once over both."""
    split = min(split, length - 1)
    history = _one_right(
        [
            (began, "loma", codes[0]),
            (began + dt.timedelta(days=split), "loma", codes[1]),
            (began + dt.timedelta(days=length), "lasna", "1"),
        ]
    )
    whole = per_study_right(history, began, began + dt.timedelta(days=length - 1))
    assert whole["holiday_days_counted"].sum() == min(28, length)
    assert whole["holiday_days_counted"].sum() + whole["holiday_days_other"].sum() == length


@pytest.fixture(scope="module")
def small_history(small_landing):
    landing = Landing.at(small_landing)
    return history_from_folder(landing, landing.export_folder("student_admin"))[0]


def test_pieces_come_in_study_right_and_day_order(small_history):
    """``Calculation.by_study_right`` tells polars the pieces are sorted by study right: they must be."""
    pieces = Calculation.up_to(small_history, D(2026, 11, 20)).pieces
    assert pieces[NUMBER].n_unique() > 200
    assert pieces.equals(pieces.sort(NUMBER, "piece_start", maintain_order=True))
    ends = pieces.select((pl.col("piece_end") < pl.col("piece_start").shift(-1)).over(NUMBER).drop_nulls().all())
    assert ends.item()  # and they do not overlap


def _month_start(year, month):
    return D(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(0, 70), span=st.integers(0, 30))
def test_whole_month_sums_of_the_published_fact_equal_the_command(small_run, small_history, tmp_path, first, span):
    _, warehouse = small_run
    start = _month_start(2020, 1 + first)
    end = _month_start(2020, 2 + first + span) - dt.timedelta(days=1)
    end = min(end, D(2026, 11, 20))  # the as-of date: the fact knows nothing later
    out = tmp_path / f"report-{first}-{span}.csv"
    write_report(small_history, start, end, out)
    con = duckdb.connect()
    # (a TUVA study right counts in the facts but is in KOSKI's TUVA report, not its opiskelijavuositiedot)
    fact = con.sql(f"""
        SELECT study_right_key, {", ".join(f"sum({m}) fact_{m}" for m in MEASURES)},
               string_agg(DISTINCT funding_code, ',' ORDER BY funding_code) f
        FROM '{warehouse}/published/fact_student_year_month.parquet'
        WHERE month_date_key BETWEEN {start:%Y%m%d} AND {end:%Y%m%d}
          AND study_right_key IN (SELECT study_right_key FROM '{warehouse}/published/fact_study_right.parquet'
                                  WHERE study_right_type <> 'tuvakoulutuksensuoritus')
        GROUP BY ALL""").pl()
    report = con.sql(f"SELECT * FROM read_csv('{out}', all_varchar=true)").pl()
    report = report.with_columns(
        pl.col("study_right_id")
        .map_elements(lambda i: pseudonym(i, "study_right"), return_dtype=pl.Utf8)
        .alias("study_right_key")
    )
    joined = report.join(fact, on="study_right_key", how="full", coalesce=True)
    assert joined.height == report.height == fact.height
    for column, summed in [(m, f"fact_{m}") for m in MEASURES]:
        mine = joined[column].cast(pl.Float64)
        assert ((mine - joined[summed]).abs().fill_null(0) < 1e-9).all(), column
        assert (mine.is_null() == joined[summed].is_null()).all(), column
    assert (joined["funding_codes"].fill_null("") == joined["f"].fill_null("")).all()


#: the defects of the demo generator that break a study right's own timeline (student-years.md, "What a defect may
#: hold back"): every other defect must leave every study right's figures as the clean export has them
TIMELINE_DEFECTS = {"unknown_tila", "period_after_ending", "study_right_without_periods"}
#: and the annulment, which is no defect but takes a study right out of every figure as KOSKI does
LEFT_OUT = TIMELINE_DEFECTS | {"annulled_study_right"}


def _figures(tmp_path, landing, name):
    out = tmp_path / f"{name}.csv"
    result = run_cli(
        "student-years", "--landing", str(landing), "--from", "2026-01-01", "--to", "2026-11-20", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    held = pl.read_csv(tmp_path / f"{name}_held_back.csv", infer_schema=False)
    return pl.read_csv(out, infer_schema=False), held


@pytest.mark.slow
def test_defects_cost_exactly_the_study_rights_whose_own_timeline_is_broken(small_landing, tmp_path):
    clean_landing = tmp_path / "clean"
    generated = run_cli("generate", "--size", "small", "--seed", "3", "--out", str(clean_landing), "--clean")
    assert generated.returncode == 0, generated.stderr
    assert pl.read_csv(max((clean_landing / "truth" / "student_admin").iterdir()) / "defects.csv").height == 0
    clean, nothing_held = _figures(tmp_path, clean_landing, "clean")
    defective, held = _figures(tmp_path, small_landing, "defective")
    assert nothing_held.height == 0

    truth = pl.read_csv(max((small_landing / "truth" / "student_admin").iterdir()) / "defects.csv", infer_schema=False)
    broken = set(truth.filter(pl.col("defect_class").is_in(LEFT_OUT))["record_key"])
    assert len(broken) >= 5 and set(held["study_right_id"]) == broken
    year = "student_year_days_current"
    total = {name: frame[year].cast(pl.Float64).sum() for name, frame in (("clean", clean), ("defective", defective))}
    cost = clean.filter(pl.col("study_right_id").is_in(broken))[year].cast(pl.Float64).sum()
    assert cost > 0 and abs(total["defective"] - (total["clean"] - cost)) < 1e-6
    # and right by right: every other study right has its clean figures (funding codes aside: a missing code is
    # reported as missing, apprenticeship days aside: a rejected workplace row is not counted)
    same = [
        c
        for c in clean.columns
        if c
        not in (
            "funding_codes",
            "apprenticeship_days",
        )
    ]
    kept = clean.filter(~pl.col("study_right_id").is_in(broken)).select(same)
    assert kept.sort("study_right_id").equals(defective.select(same).sort("study_right_id"))


def test_the_monthly_fact_in_parts_is_the_fact_whole_and_its_parts_tell_nothing_of_the_ids(small_history):
    """The fact is written in parts of whole study rights (memory at national size): the parts must be the whole,
    and, taken in the published key's order, which part a study right is in must not follow its id (in id order,
    the part told which fifth of the ids a row's study right was in)."""
    import numpy as np

    from pipelines.publishing.star import study_right_keys

    whole = Calculation.up_to(small_history, D(2026, 11, 20))
    ids = small_history.study_rights["study_right_id"]
    order = pl.DataFrame({"id": ids, "key": study_right_keys(ids, b"k" * 32)}).sort("key")["id"]
    parts = list(whole.parts(order, pieces_per_part=500))
    assert len(parts) > 5 and sum(p.pieces.height for p in parts) == whole.pieces.height
    numbers = [set(p.pieces[NUMBER]) for p in parts]
    assert sum(map(len, numbers)) == len(set().union(*numbers))  # no study right is split

    def per_month(calculation: Calculation) -> pl.DataFrame:
        return calculation.history.with_ids(calculation.month_sums().collect())

    assert pl.concat([per_month(p) for p in parts]).sort(pl.all()).equals(per_month(whole).sort(pl.all()))
    rank = {v: i for i, v in enumerate(ids.sort())}
    part_of = [(i, rank[v]) for i, p in enumerate(parts) for v in per_month(p)["study_right_id"].unique()]
    assert abs(np.corrcoef(*zip(*part_of))[0, 1]) < 0.25


@pytest.mark.slow
def test_annulled_study_rights_are_in_no_published_figure(small_landing, small_run):
    """The demo annuls a few study rights: flagged in fact_study_right for BI, and in no monthly fact (so in no
    forecast or dashboard figure)."""
    _, warehouse = small_run
    truth = pl.read_csv(max((small_landing / "truth" / "student_admin").iterdir()) / "defects.csv", infer_schema=False)
    annulled = {
        pseudonym(r, "study_right")
        for r in truth.filter(pl.col("defect_class") == "annulled_study_right")["record_key"]
    }
    con = duckdb.connect()
    flagged = con.sql(f"SELECT study_right_key FROM '{warehouse}/published/fact_study_right.parquet' WHERE is_annulled")
    assert len(annulled) >= 2 and {k for (k,) in flagged.fetchall()} == annulled
    months = con.sql(f"SELECT DISTINCT study_right_key FROM '{warehouse}/published/fact_student_year_month.parquet'")
    assert not {k for (k,) in months.fetchall()} & annulled
