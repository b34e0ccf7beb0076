"""KOSKI's bulk data as the student records: a provider with KOSKI's files alone gets the same figures as from the
equivalent Primus-style export (issue #30).

The KOSKI files are written by KOSKI's rules (``tests/koski_csv.py``: the row classes' headers, CsvFormatter's
quoting, AikajaksoRowBuilder's slicing, ``koski-bulk.md`` A4–A7) from a world: the study rights of the small demo's
export that our calculation counts. Nothing of the reader or of the demo generator writes them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingestion.landing import Landing
from pipelines.marts.student_year_history import history_as_of
from pipelines.marts.student_years import StudyRightHistory, per_study_right
from tests import koski_csv
from tests.koski_csv import TERMINAL, report_days, time_slices

#: the Primus-style additional-period types → KOSKI's time-slice flag (koski-bulk.md A6.2)
FLAG_OF_TYPE = {
    "majoitus": "majoitus",
    "sisäoppilaitosmainen majoitus": "sisaoppilaitosmainen_majoitus",
    "vaativan erityisen tuen yhteydessä järjestettävä majoitus": "vaativan_erityisen_tuen_yhteydessa_jarjestettava_majoitus",  # noqa: E501
    "erityinen tuki": "erityinen_tuki",
    "vaativan erityisen tuen erityinen tehtävä": "vaativan_erityisen_tuen_erityinen_tehtava",
    "vaativa erityinen tuki": "vaativan_erityisen_tuen_erityinen_tehtava",
    "hojks": "hojks",
    "vaikeasti vammainen": "vaikeasti_vammainen",
    "vammainen ja avustaja": "vammainen_ja_avustaja",
    "opiskeluvalmiuksia tukevat opinnot": "opiskeluvalmiuksia_tukevat_opinnot",
    "vankilaopetuksessa": "vankilaopetuksessa",
    "oppisopimus": "oppisopimus_jossain_paatason_suorituksessa",
}
KOULUTUSMUOTO = {"tuvakoulutuksensuoritus": "tuva"}
OPPILAITOS = "1.2.246.562.10.99999999901"


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def koski_delivery(history: StudyRightHistory) -> dict[str, list[dict[str, str]]]:
    """The rows KOSKI would deliver for the study rights of ``history`` that were transferred to KOSKI (have an OID),
    by KOSKI's header names."""
    rights = history.study_rights.filter(pl.col("study_right_oid").is_not_null())
    statuses = history.status_periods.partition_by("study_right_id", as_dict=True)
    extras = history.additional_periods.partition_by("study_right_id", as_dict=True)
    places = history.workplace_periods.partition_by("study_right_id", as_dict=True)
    files: dict[str, list[dict[str, str]]] = {"opiskeluoikeus.csv": [], "opiskeluoikeus_aikajakso.csv": []}
    files["paatason_suoritus.csv"] = []
    for n, right in enumerate(rights.iter_rows(named=True), 1):
        key = (right["study_right_id"],)
        jaksot = [
            (p["start_date"].isoformat(), p["status"], p["funding_code"] or "")
            for p in statuses[key].sort("start_date").iter_rows(named=True)
        ]
        lisatiedot: dict[str, list[tuple[str, str | None]]] = {}
        osa: list[tuple[str, str | None, int]] = []
        for p in extras[key].iter_rows(named=True) if key in extras else []:
            if p["period_type"] == "osa-aikaisuus":
                osa.append((p["start_date"].isoformat(), _iso(p["end_date"]), int(p["value"])))
            else:
                lisatiedot.setdefault(FLAG_OF_TYPE[p["period_type"]], []).append(
                    (p["start_date"].isoformat(), _iso(p["end_date"]))
                )
        for p in places[key].iter_rows(named=True) if key in places else []:
            if p["agreement_type"] == "oppisopimus":
                lisatiedot.setdefault(FLAG_OF_TYPE["oppisopimus"], []).append(
                    (p["start_date"].isoformat(), _iso(p["end_date"]))
                )
        oid, learner = right["study_right_oid"], f"1.2.246.562.24.{90000000000 + n}"
        last = sorted(jaksot)[-1]
        files["opiskeluoikeus.csv"].append(
            {
                "opiskeluoikeus_oid": oid,
                "versionumero": "1",
                "aikaleima": "2026-11-01T10:00:00",
                "oppija_oid": learner,
                "oppija_master_oid": learner,
                "oppilaitos_oid": OPPILAITOS,
                "oppilaitos_nimi": "Demo-opisto",
                "koulutustoimija_oid": "1.2.246.562.10.99999999900",
                "koulutusmuoto": KOULUTUSMUOTO.get(right["study_right_type"], "ammatillinenkoulutus"),
                "alkamispaiva": sorted(jaksot)[0][0],
                "paattymispaiva": last[0] if last[1] in TERMINAL else "",
                "viimeisin_tila": last[1],
                "lisatiedot_henkilostokoulutus": "false",
                "lisatiedot_koulutusvienti": "false",
                "lahdejarjestelma_koodiarvo": "primus",
                "lahdejarjestelma_id": right["study_right_id"],
                "oppivelvollisuuden_suorittamiseen_kelpaava": "false",
                "data": json.dumps({"lähdejärjestelmänId": {"id": right["study_right_id"]}}, ensure_ascii=False),
            }
        )
        files["opiskeluoikeus_aikajakso.csv"] += time_slices(oid, jaksot, lisatiedot, osa)
        files["paatason_suoritus.csv"].append(
            {
                "paatason_suoritus_id": f"{oid}.{n}",
                "opiskeluoikeus_oid": oid,
                "suorituksen_tyyppi": right["study_right_type"],
                "koulutusmoduuli_koodiarvo": right["koulutus_code"] or "999999",
                "toimipiste_oid": "1.2.246.562.10.99999999911",
                "toimipiste_nimi": right["campus"] or "",
                "data": "{}",
            }
        )
    return files


def write_delivery(landing: Path, day: dt.date, files: dict[str, list[dict[str, str]]], **query) -> Path:
    folder = landing / "koski_bulk" / day.isoformat()
    for name, rows in files.items():
        koski_csv.write(folder, name, rows, parts=2 if name == "opiskeluoikeus_aikajakso.csv" else 1)
    if query:
        (folder / "query.json").write_text(json.dumps({"query": query}, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def primus(small_landing):
    return history_as_of(Landing.at(small_landing))


@pytest.fixture(scope="module")
def koski_landing(primus, small_landing, tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("koski-only")
    write_delivery(landing, Landing.at(small_landing).run_date(), koski_delivery(primus[0]))
    return landing


def _by_oid(report: pl.DataFrame) -> pl.DataFrame:
    return report.drop("study_right_id").sort("study_right_oid")


def test_koski_files_alone_give_the_figures_of_the_equivalent_export(primus, koski_landing, small_landing):
    history, _ = primus
    as_of = Landing.at(small_landing).run_date()
    koski, held = history_as_of(Landing.at(koski_landing))
    assert Landing.at(koski_landing).run_date() == as_of and held.is_empty()
    for first, last in ((dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 12, 31)), (dt.date(2023, 1, 1), as_of)):
        ours = per_study_right(history, first, last).filter(pl.col("study_right_oid").is_not_null())
        theirs = per_study_right(koski, first, last)
        assert ours.height > 100
        assert _by_oid(theirs).equals(_by_oid(ours)), (first, last)


def test_the_study_rights_come_with_their_qualification_campus_and_person(primus, koski_landing):
    history, _ = primus
    koski, _ = history_as_of(Landing.at(koski_landing))
    ours = history.study_rights.filter(pl.col("study_right_oid").is_not_null())
    vocational = ours.filter(~pl.col("study_right_type").is_in(list(KOULUTUSMUOTO)))
    assert vocational.height < ours.height  # (a TUVA study right is in KOSKI as koulutusmuoto tuva: not ours to count)
    joined = koski.study_rights.join(ours, on="study_right_oid", suffix="_ours")
    assert joined.height == vocational.height == koski.study_rights.height
    for column in ("study_right_type", "campus", "start_date", "end_date"):
        assert joined[column].equals(joined[f"{column}_ours"], null_equal=True), column
    # the person is the learner OID (KOSKI has no student number), one per study right here
    assert koski.study_rights["student_number"].str.starts_with("1.2.246.562.24.").all()


@pytest.mark.slow
def test_a_run_on_koski_files_alone_publishes_every_figure_the_forecast_and_the_dashboard(
    primus, koski_landing, small_landing, tmp_path
):
    import duckdb

    from tests.conftest import run_cli

    result = run_cli("run", "--landing", str(koski_landing), "--warehouse", str(tmp_path / "wh"))
    assert result.returncode == 0, result.stderr[-3000:]
    as_of = Landing.at(small_landing).run_date()
    year_so_far = per_study_right(primus[0], dt.date(as_of.year, 1, 1), as_of).filter(
        pl.col("study_right_oid").is_not_null()
    )
    con = duckdb.connect(str(tmp_path / "wh" / "tiedolla.duckdb"), read_only=True)
    published = con.execute(
        f"SELECT sum(student_year_days_old), sum(present_or_graduated_days), sum(accommodation_days), "
        f"sum(student_year_days_current) FROM fact_student_year_month WHERE year = {as_of.year}"
    ).fetchone()
    expected = [year_so_far[c].sum() for c in ("student_year_days_old", "present_or_graduated_days",
                                               "accommodation_days", "student_year_days_current")]  # fmt: skip
    assert published == pytest.approx(expected)
    assert con.execute("SELECT count(*) FROM mart_student_year_forecast").fetchone()[0] > 0
    vocational = primus[0].study_rights.filter(
        pl.col("study_right_oid").is_not_null() & ~pl.col("study_right_type").is_in(list(KOULUTUSMUOTO))
    )
    assert con.execute("SELECT count(*) FROM fact_study_right").fetchone()[0] == vocational.height
    manifest = json.loads((tmp_path / "wh" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"]["student_admin"] is None and manifest["sources"]["koski_bulk"].endswith(
        as_of.isoformat()
    )
    delivered = {name for name, f in manifest["files"].items() if f["source_system"] == "koski_bulk"}
    assert delivered >= {"opiskeluoikeus.csv", "opiskeluoikeus_aikajakso.csv", "paatason_suoritus.csv"}
    assert not any(f["source_system"] == "student_admin" for f in manifest["files"].values())
    assert (tmp_path / "wh" / "reports" / "dashboard" / "index.html").exists()


def test_an_incremental_delivery_replaces_the_study_rights_it_names_and_a_full_one_replaces_all(
    primus, small_landing, tmp_path
):
    history, as_of = primus[0], Landing.at(small_landing).run_date()
    full = koski_delivery(history)
    write_delivery(tmp_path, as_of - dt.timedelta(days=20), full)
    ids = dict(zip(history.study_rights["study_right_oid"], history.study_rights["study_right_id"], strict=True))
    open_rights = [r["opiskeluoikeus_oid"] for r in full["opiskeluoikeus.csv"] if not r["paattymispaiva"]]
    changed, annulled = open_rights[0], open_rights[1]
    # a week later KOSKI holds: one study right ended (eronnut), one annulled (fetched with muuttunutJälkeen)
    one = history.only(pl.Series([ids[changed]]))
    ended_on = as_of - dt.timedelta(days=15)
    ended = StudyRightHistory(
        one.study_rights,
        pl.concat(
            [
                one.status_periods,
                one.status_periods.tail(1).with_columns(
                    pl.lit(ended_on).alias("start_date"), pl.lit("eronnut").alias("status")
                ),
            ]
        ),  # fmt: skip
        one.additional_periods,
        one.workplace_periods,
    )
    increment = koski_delivery(ended)
    increment["mitatoity_opiskeluoikeus.csv"] = [
        {"opiskeluoikeus_oid": annulled, "versionumero": "4", "aikaleima": "2026-11-01T08:00:00",
         "oppija_oid": "1.2.246.562.24.90000000002", "mitatoity": "2026-11-01", "tyyppi": "ammatillinenkoulutus",
         "paatason_suoritus_tyypit": "List(ammatillinentutkinto)"}
    ]  # fmt: skip
    write_delivery(tmp_path, as_of - dt.timedelta(days=13), increment, muuttunutJälkeen="2026-10-31T09:00:00")

    before, _ = history_as_of(Landing.at(tmp_path, as_of=as_of - dt.timedelta(days=14)))
    after, _ = history_as_of(Landing.at(tmp_path))
    assert before.study_rights.height == after.study_rights.height + 1 == len(full["opiskeluoikeus.csv"]) - 1
    assert annulled in before.study_rights["study_right_id"] and annulled not in after.study_rights["study_right_id"]
    last = after.status_periods.filter(pl.col("study_right_id") == changed).sort("start_date").tail(1)
    assert last.select("start_date", "status").row(0) == (ended_on, "eronnut")
    period = (dt.date(as_of.year, 1, 1), as_of)
    unchanged = pl.col("study_right_oid").is_in([changed, annulled]).not_()
    assert _by_oid(per_study_right(after, *period).filter(unchanged)).equals(
        _by_oid(per_study_right(before, *period).filter(unchanged))
    )
    # a full delivery replaces everything before it, incremental ones included
    some = history.only(history.study_rights["study_right_id"].head(12))
    write_delivery(tmp_path, as_of, koski_delivery(some), muuttunutJälkeen="")
    latest, _ = history_as_of(Landing.at(tmp_path))
    assert sorted(latest.study_rights["study_right_oid"]) == sorted(
        r["opiskeluoikeus_oid"] for r in koski_delivery(some)["opiskeluoikeus.csv"]
        if r["koulutusmuoto"] == "ammatillinenkoulutus"
    )  # fmt: skip


def test_a_study_right_whose_koski_timeline_failed_a_rule_is_held_back_under_that_rule(primus, tmp_path):
    files = koski_delivery(primus[0])
    slices = files["opiskeluoikeus_aikajakso.csv"]
    first, other = (
        slices[0]["opiskeluoikeus_oid"],
        next(s["opiskeluoikeus_oid"] for s in slices if s["opiskeluoikeus_oid"] != slices[0]["opiskeluoikeus_oid"]),
    )
    slices[0] = slices[0] | {"tila": "läsnä"}  # (a label where KOSKI writes the code: the row is rejected)
    next(s for s in slices if s["opiskeluoikeus_oid"] == other)["osa_aikaisuus"] = "150"  # (cleared: unknown)
    write_delivery(tmp_path, dt.date(2026, 11, 20), files)
    history, held = history_as_of(Landing.at(tmp_path))
    rules = dict(held.group_by("study_right_id").agg(pl.col("rule_id")).iter_rows())
    assert set(rules) == {first, other}
    assert rules[first] == ["koski_time_slices.status.code"]
    assert rules[other] == ["koski_time_slices.part_time_percent.range"]
    assert first not in history.study_rights["study_right_id"] and other not in history.study_rights["study_right_id"]
    assert history.study_rights.height == len(files["opiskeluoikeus.csv"]) - 3  # (and the TUVA one is not ours)


def test_the_figures_from_koski_files_alone_are_koskis_own_report_counted_from_its_time_slices(koski_landing):
    """KOSKI's report counts its time slices (``koski-bulk.md`` A9, from AmmatillinenRaporttiUtils); counted here
    straight from the delivered CSV, row by row, the figures must be ours to the day."""
    import csv

    folder = next((koski_landing / "koski_bulk").iterdir())

    def read(name: str) -> list[dict[str, str]]:  # (the parts joined: only the first has the header)
        text = "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob(f"{name}*")))
        return list(csv.DictReader(text.splitlines()))

    slices = read("opiskeluoikeus_aikajakso.csv")
    types: dict[str, set[str]] = {}
    for row in read("paatason_suoritus.csv"):
        types.setdefault(row["opiskeluoikeus_oid"], set()).add(row["suorituksen_tyyppi"])
    vocational = {
        r["opiskeluoikeus_oid"] for r in read("opiskeluoikeus.csv") if r["koulutusmuoto"] == "ammatillinenkoulutus"
    }
    by_right: dict[str, list[dict[str, str]]] = {}
    for s in slices:
        by_right.setdefault(s["opiskeluoikeus_oid"], []).append(s)
    history, _ = history_as_of(Landing.at(koski_landing))
    for first, last in ((dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2026, 1, 1), dt.date(2026, 11, 20))):
        ours = per_study_right(history, first, last)
        expected = {
            oid: report_days(rows, types.get(oid, set()), first, last)
            for oid, rows in by_right.items()
            if oid in vocational and any(dt.date.fromisoformat(r["alku"]) <= last for r in rows)
            and any(dt.date.fromisoformat(r["loppu"]) >= first for r in rows)
        }  # fmt: skip
        got = {
            r["study_right_oid"]: (r["student_year_days_old"], r["student_year_days_current"])
            for r in ours.iter_rows(named=True)
        }
        assert set(got) == set(expected)
        for oid, (old, new) in expected.items():
            assert got[oid][0] == pytest.approx(old), oid
            assert (got[oid][1] is None) == (new is None) and (new is None or got[oid][1] == pytest.approx(new)), oid
