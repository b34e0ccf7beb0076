"""Our system against KOSKI's data, study right by study right (issue #30): the reconciliation finds exactly the
planted differences, and what each moves adds up to the difference in the figures.

KOSKI's side is written by KOSKI's rules (``tests/koski_csv.py``, through ``tests/test_koski_records.py``'s delivery)
from a world that differs from the small demo's export in known ways.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.conforming.student_records import koski_chain, read_delivery
from pipelines.demo_data.koski_bulk import candidates
from pipelines.ingestion.landing import Landing
from pipelines.marts.koski_differences import KoskiSide, differences
from pipelines.marts.student_year_history import history_as_of
from pipelines.marts.student_years import StudyRightHistory, per_study_right
from tests.test_koski_records import koski_delivery, write_delivery

RIGHT = "study_right_id"


@pytest.fixture(scope="module")
def planted(small_landing, tmp_path_factory):
    """The small demo's export, and KOSKI's delivery of the same day with one difference of each kind planted."""
    landing = Landing.at(small_landing)
    as_of = landing.run_date()
    ours, _ = history_as_of(landing)
    picks, _, _ = candidates(ours, as_of)  # (open, present, no additional periods: what a plant moves is clear)
    assert len(picks) >= 12
    (gone, extra_of, annulled, start, end, status, funding, part_time, period, by_oid, by_oid_changed) = picks[:11]
    day = dt.date(as_of.year, 3, 2)
    # (a planted status period is funded as the study right is then)
    funded = dict(ours.status_periods.filter(pl.col("start_date") <= day).sort("start_date")
                  .group_by(RIGHT, maintain_order=True).last().select(RIGHT, "funding_code").iter_rows())  # fmt: skip
    statuses = ours.status_periods.filter(pl.col(RIGHT) != gone)
    first_start = statuses.filter(pl.col(RIGHT) == start)["start_date"].min()
    statuses = pl.concat(
        [
            statuses.with_columns(
                pl.when((pl.col(RIGHT) == start) & (pl.col("start_date") == first_start))
                .then(pl.col("start_date") + dt.timedelta(days=14))
                .otherwise(pl.col("start_date"))
                .alias("start_date"),
                pl.when(pl.col(RIGHT) == funding)
                .then(pl.lit("4"))
                .otherwise(pl.col("funding_code"))
                .alias("funding_code"),
            ),
            pl.DataFrame(
                [
                    (end, dt.date(as_of.year, 5, 29), "valmistunut", "1"),
                    (status, day, "loma", funded[status]),
                    (status, day + dt.timedelta(days=20), "lasna", funded[status]),
                    (by_oid_changed, day, "valiaikaisestikeskeytynyt", None),
                    (by_oid_changed, day + dt.timedelta(days=30), "lasna", funded[by_oid_changed]),
                ],
                schema={RIGHT: pl.Utf8, "start_date": pl.Date, "status": pl.Utf8, "funding_code": pl.Utf8},
                orient="row",
            ),
        ],
        how="diagonal_relaxed",
    ).select(ours.status_periods.columns)
    extras = pl.concat(
        [
            ours.additional_periods,
            pl.DataFrame(
                [
                    (part_time, "osa-aikaisuus", day, None, 50.0),
                    (period, "majoitus", day, dt.date(as_of.year, 4, 30), None),
                ],
                schema={RIGHT: pl.Utf8, "period_type": pl.Utf8, "start_date": pl.Date, "end_date": pl.Date,
                        "value": pl.Float64},
                orient="row",
            ),
        ],
        how="diagonal_relaxed",
    ).select(ours.additional_periods.columns)  # fmt: skip
    world = StudyRightHistory(ours.study_rights.filter(pl.col(RIGHT) != gone), statuses, extras, ours.workplace_periods)
    files = koski_delivery(world)
    oid = dict(zip(ours.study_rights[RIGHT], ours.study_rights["study_right_oid"], strict=True))
    rows = {r["opiskeluoikeus_oid"]: r for r in files["opiskeluoikeus.csv"]}
    for right in (by_oid, by_oid_changed):
        rows[oid[right]]["lahdejarjestelma_id"] = ""  # (KOSKI has no source-system id for it: matched on the OID)
    # one study right KOSKI holds that we do not (another school's record of ours, under an OID of its own)
    extra_oid = "1.2.246.562.15.99999999999"
    extra = {k: [dict(r) for r in v if r["opiskeluoikeus_oid"] == oid[extra_of]] for k, v in files.items()}
    for name, copies in extra.items():
        for r in copies:
            r["opiskeluoikeus_oid"] = extra_oid
            if "paatason_suoritus_id" in r:
                r["paatason_suoritus_id"] = f"{extra_oid}.1"
            if "lahdejarjestelma_id" in r:
                r["lahdejarjestelma_id"] = ""
        files[name] += copies
    # one annulled in KOSKI: out of its study rights, into mitatoity_opiskeluoikeus.csv
    files = {k: [r for r in v if r["opiskeluoikeus_oid"] != oid[annulled]] for k, v in files.items()}
    files["mitatoity_opiskeluoikeus.csv"] = [
        {"opiskeluoikeus_oid": oid[annulled], "versionumero": "5", "aikaleima": "2026-10-01T12:00:00",
         "oppija_oid": "1.2.246.562.24.90000000777", "mitatoity": "2026-10-01", "tyyppi": "ammatillinenkoulutus",
         "paatason_suoritus_tyypit": "List(ammatillinentutkinto)"}
    ]  # fmt: skip
    koski_landing = tmp_path_factory.mktemp("koski-planted")
    write_delivery(koski_landing, as_of, files, alkanutAikaisintaan="2000-01-01")
    koski_area = Landing.at(koski_landing)
    delivery = read_delivery(koski_area, koski_chain(koski_area)[-1], "test")
    theirs, _ = history_as_of(koski_area)
    side = KoskiSide(
        theirs,
        delivery.outcomes["koski_study_rights"].rows().select("study_right_oid", "source_system_id"),
        delivery.outcomes["koski_annulled"].rows()["study_right_oid"],
    )
    truth = {
        (gone, "only_ours"), (extra_oid, "only_in_koski"), (annulled, "annulled_in_koski"), (start, "start"),
        (end, "end"), (status, "status"), (funding, "funding"), (part_time, "part_time"), (period, "period"),
        (by_oid_changed, "status"),
    }  # fmt: skip
    names = {"by_oid": by_oid, "by_oid_changed": by_oid_changed, "extra": extra_oid, "files": files}
    return ours, side, truth, as_of, names


def test_the_reconciliation_finds_exactly_the_planted_differences(planted):
    ours, side, truth, as_of, names = planted
    found = differences(ours, side, dt.date(as_of.year, 1, 1), as_of)
    sent = set(ours.study_rights.filter(pl.col("study_right_oid").is_not_null())[RIGHT]) | {names["extra"]}
    assert {(r, k) for r, k in found.select(RIGHT, "kind").iter_rows() if r in sent} == truth
    # a study right never transferred to KOSKI (no OID) is only ours as well
    unsent = found.filter(~pl.col(RIGHT).is_in(sorted(sent)))
    assert unsent.height > 0 and (unsent["kind"] == "only_ours").all()
    matched = dict(found.filter(pl.col("matched_by").is_not_null()).select(RIGHT, "matched_by").iter_rows())
    assert matched[names["by_oid_changed"]] == "opiskeluoikeus_oid" and names["by_oid"] not in matched
    period = found.filter(pl.col("kind") == "period").row(0, named=True)
    assert period["period_type"] == "majoitus" and period["days"] == 60 and period["student_years"] == 0
    # biggest effect first
    assert found["student_years"].abs().is_sorted(descending=True)


def test_what_each_difference_moves_adds_up_to_the_difference_in_the_figures(planted):
    ours, side, _, as_of, _ = planted
    first = dt.date(as_of.year, 1, 1)
    found = differences(ours, side, first, as_of)

    def year_days(history):
        report = per_study_right(history, first, as_of)
        return report.select(
            "study_right_oid", pl.coalesce("student_year_days_current", "student_year_days_old").alias("days")
        )

    both = year_days(ours).join(year_days(side.history), on="study_right_oid", suffix="_koski")
    oid = dict(zip(ours.study_rights[RIGHT], ours.study_rights["study_right_oid"], strict=True))
    moved = found.filter(pl.col("kind").is_in(["start", "end", "status", "part_time"]))
    assert moved.height >= 5
    for right, days in moved.group_by(RIGHT).agg(pl.col("days").sum()).iter_rows():
        row = both.filter(pl.col("study_right_oid") == oid[right]).row(0, named=True)
        assert days == pytest.approx(row["days_koski"] - row["days"]), right
    assert (moved.filter(pl.col("kind") != "start")["days"] != 0).all()
    funding = found.filter(pl.col("kind") == "funding").row(0, named=True)
    assert funding["days"] > 100 and funding["ours"] != funding["koski"]
    lone = found.filter(pl.col("kind") == "only_in_koski").row(0, named=True)
    assert lone["days"] > 0 and lone["student_number"].startswith("1.2.246.562.24.")


@pytest.mark.slow
def test_a_run_with_both_lists_the_differences_for_stewards_and_sums_them_for_management(
    planted, small_landing, tmp_path
):
    import csv
    import shutil

    import duckdb

    from tests.conftest import run_cli

    ours, _, truth, as_of, names = planted
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    shutil.rmtree(landing / "koski_bulk")  # (the demo's own KOSKI delivery: this test's stands in its place)
    write_delivery(landing, as_of, names["files"], alkanutAikaisintaan="2000-01-01")
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"))
    assert result.returncode == 0, result.stderr[-3000:]
    con = duckdb.connect(str(tmp_path / "wh" / "tiedolla.duckdb"), read_only=True)
    mart = con.execute("SELECT difference_kind, study_rights_differing FROM mart_koski_differences").fetchall()
    planted_kinds = {k for _, k in truth}
    assert {k for k, _ in mart} == planted_kinds
    by_kind = dict(mart)
    assert by_kind["status"] == 2 and by_kind["only_ours"] > 1  # (and the ones never transferred)
    folder = tmp_path / "wh" / "reports" / "steward"
    with open(folder / "corrections_koski_differences.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert {r["Sääntö"].split(".")[1] for r in rows} == planted_kinds
    assert [int(r["Rivi"]) for r in rows] == sorted(int(r["Rivi"]) for r in rows)  # biggest effect first
    assert rows[0]["Kuvaus"].startswith(("Oma opiskeluoikeus puuttuu", "KOSKI on mitätöinyt", "Päättyminen"))
    assert "KOSKI laskee" in rows[0]["Kuvaus"] and "opiskelijavuotta" in rows[0]["Kuvaus"]
    report = (folder / "index.html").read_text(encoding="utf-8")
    assert "KOSKI ja oma järjestelmä eroavat" in report and 'data-kind="funding"' in report
    # a learner's OID is personal data: masked where a steward looks; the study right's OID is how a steward finds it
    # in KOSKI (shown, as in the reconciliation with KOSKI's report), but nothing published holds either
    listed = (folder / "corrections_koski_differences.csv").read_text(encoding="utf-8-sig")
    assert names["extra"] in listed
    for learner in {r["oppija_oid"] for r in names["files"]["opiskeluoikeus.csv"]}:
        assert learner not in listed and learner not in report
    for path in (tmp_path / "wh" / "published").glob("*.parquet"):
        text = pl.read_parquet(path).select(pl.col(pl.Utf8)).to_pandas().to_csv()
        assert names["extra"] not in text and "1.2.246.562.24." not in text, path.name


def test_the_demo_run_finds_exactly_the_differences_the_demo_planted(small_run, small_landing):
    """The demo's KOSKI delivery is a world of its own beside its export; the run's reconciliation finds what it
    planted and nothing else (its truth: truth/koski_bulk/<date>/differences.csv)."""
    _, warehouse = small_run
    (truth_file,) = (small_landing / "truth" / "koski_bulk").glob("*/differences.csv")
    truth = set(pl.read_csv(truth_file).iter_rows())
    found = pl.read_parquet(warehouse / "quarantine" / "koski_differences.parquet")
    kinds = {k.split(".", 1)[1] for k in found["rule_id"]}
    assert kinds == {"only_ours", "only_in_koski", "annulled_in_koski", "start", "end", "status", "funding",
                     "part_time", "period"}  # fmt: skip
    assert set(found.select("record_key", pl.col("rule_id").str.split(".").list.last()).iter_rows()) == truth
