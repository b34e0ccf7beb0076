"""Benchlearning: mart_network_benchmark equals an aggregate recomputed, here with polars and numpy, from each
provider's own published release; suppression, stale providers and the network pages."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipelines.marts.network import Member, mart_network_benchmark
from schemas.codes import NETWORK_INDICATORS
from schemas.network import BENCHMARK
from tests.browser import png_pixels, rendered_dom, screenshot, share_of_colour
from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # runs a network (three providers) and a browser: not in the quick subset

AS_OF = dt.date(2026, 11, 20)
ENDING = {"valmistunut", "eronnut", "katsotaaneronneeksi", "peruutettu", "keskeytynyt", "paattynyt"}
ENDING |= {"hyvaksytystisuoritettu"}


def _mart(warehouse: Path) -> pl.DataFrame:
    return pl.read_parquet(warehouse / "network" / "published" / f"{BENCHMARK.name}.parquet")


def _person(frame: pl.DataFrame) -> pl.Series:
    return frame.select(pl.coalesce("student_key", "study_right_key"))[:, 0]


def _figures(release: Path, as_of: dt.date) -> dict[tuple[int, str, str], tuple[float | None, int]]:
    """(year, indicator, funding breakdown) → (value, persons) of one provider, recomputed from its release."""
    read = lambda name: pl.read_parquet(release / f"{name}.parquet")  # noqa: E731
    months = read("fact_student_year_month").filter(pl.date(pl.col("year"), pl.col("month"), 1) <= as_of)
    years = range(months["year"].min(), as_of.year + 1)
    out: dict[tuple[int, str, str], tuple[float | None, int]] = {}

    def put(year, indicator, value, persons, funding="all"):
        out[(year, indicator, funding)] = (value, persons)

    for (year, funding), part in months.group_by("year", "funding_code"):
        if funding is not None:
            counted = part.filter(pl.col("student_years_current") > 0)
            put(year, "student_years", float(part["student_years_current"].sum()), _person(counted).n_unique(), funding)
    student_years = {}
    for (year,), part in months.group_by("year"):
        counted = part.filter(pl.col("student_years_current") > 0)
        student_years[year] = (float(part["student_years_current"].sum()), _person(counted).n_unique())
        put(year, "student_years", *student_years[year])

    statuses = read("fact_status_period").filter(pl.col("start_date") <= as_of)
    graduated = statuses.filter(status="valmistunut")
    for (year,), part in graduated.group_by(pl.col("start_date").dt.year()):
        put(year, "completed_qualifications", float(part["study_right_key"].n_unique()), _person(part).n_unique())

    units = read("fact_assessed_unit").filter(pl.col("assessment_date") <= as_of)
    units = units.filter(pl.col("grade").is_null() | (pl.col("grade") != "Hylätty"))
    credits = {y: float(p["credits"].sum()) for (y,), p in units.group_by(pl.col("assessment_date").dt.year())}
    for year, (total, persons) in student_years.items():
        put(year, "credits_per_student_year", credits.get(year, 0.0) / total if total else None, persons)

    annulled = set(read("fact_status_period").filter(status="mitatoity")["study_right_key"])
    endings = (
        statuses.filter(pl.col("status").is_in(ENDING) & ~pl.col("study_right_key").is_in(annulled))
        .sort("start_date")
        .group_by("study_right_key")
        .first()
    )
    for (year,), part in endings.group_by(pl.col("start_date").dt.year()):
        dropped = part.filter(pl.col("status").is_in(["eronnut", "katsotaaneronneeksi"])).height
        put(year, "dropout_share", 100.0 * dropped / part.height, _person(part).n_unique())

    lasna = statuses.filter(status="lasna").with_columns(
        last=pl.min_horizontal(pl.col("end_date").fill_null(as_of), pl.lit(as_of))
    )
    workplaces = read("fact_workplace_period")
    periods = workplaces.group_by("study_right_key").agg("start_date", "end_date")
    by_right = {r["study_right_key"]: list(zip(r["start_date"], r["end_date"])) for r in periods.iter_rows(named=True)}
    days: dict[int, int] = {}
    in_workplace: dict[int, set] = {}
    persons: dict[int, set] = {}
    for r in lasna.with_columns(person=_person(lasna)).iter_rows(named=True):
        day = r["start_date"]
        while day <= r["last"]:
            days[day.year] = days.get(day.year, 0) + 1
            persons.setdefault(day.year, set()).add(r["person"])
            for start, end in by_right.get(r["study_right_key"], []):
                if start <= day <= (end or r["last"]):
                    in_workplace.setdefault(day.year, set()).add((r["study_right_key"], day))
            day += dt.timedelta(days=1)
    for year in days:
        put(
            year,
            "workplace_learning_day_share",
            100.0 * len(in_workplace.get(year, ())) / days[year],
            len(persons[year]),
        )

    crm = set(read("mart_crm_student_admin_overlap").filter(pl.col("crm_account_count") > 0)["organization_key"])
    hosting = workplaces.filter(pl.col("organization_key").is_not_null() & (pl.col("start_date") <= as_of))
    hosting = hosting.with_columns(person=_person(hosting))
    for year in years:
        part = hosting.filter(
            (pl.col("start_date") <= dt.date(year, 12, 31))
            & (pl.col("end_date").fill_null(as_of) >= dt.date(year, 1, 1))
        )
        if part.height:
            employers = set(part["organization_key"])
            put(year, "employers_hosting", float(len(employers)), part["person"].n_unique())
            put(
                year,
                "employers_crm_managed_share",
                100.0 * len(employers & crm) / len(employers),
                part["person"].n_unique(),
            )

    answers = read("fact_survey_response").filter(
        pl.col("nps").is_not_null() & (pl.col("submitted_date_key") <= int(as_of.strftime("%Y%m%d")))
    )
    for (year,), part in answers.group_by(pl.col("submitted_date_key") // 10000):
        score = 100.0 * ((part["nps"] >= 9).sum() - (part["nps"] <= 6).sum()) / part.height
        put(year, "nps", score, part.height)
    return {k: v for k, v in out.items() if k[0] in years}


def _complementary(figures: dict, funding: set[str]) -> set[tuple]:
    """The funding-code cells suppressed beside the ones under 5 persons: while the suppressed codes of a provider's
    year describe between 1 and 4 persons, its smallest published code goes too (else ``all`` minus the published
    codes gives them back)."""
    out = set()
    for pid, f in figures.items():
        for year, indicator in {(y, i) for (y, i, b) in f if b != "all"}:
            persons = {b: f.get((year, indicator, b), (None, 0))[1] for b in funding}
            hidden = sum(n for n in persons.values() if n < 5)
            for code in sorted((b for b, n in persons.items() if n >= 5), key=lambda b: (persons[b], b)):
                if not 0 < hidden < 5:
                    break
                out.add((pid, year, indicator, code))
                hidden += persons[code]
    return out


def test_the_network_mart_equals_an_aggregate_recomputed_from_each_providers_release(network):
    _, ids, warehouse, _ = network
    mart = _mart(warehouse)
    figures = {}
    for pid in ids:
        release = warehouse / f"provider={pid}" / "published"
        as_of = dt.date.fromisoformat(json.loads((release / "manifest.json").read_text())["as_of"])
        figures[pid] = _figures(release, as_of)
    funding = {k[2] for f in figures.values() for k in f if k[2] != "all"}
    hidden = _complementary(figures, funding)
    checked = 0
    for row in mart.iter_rows(named=True):
        cell = (row["year"], row["indicator"], row["funding_breakdown"])
        value, persons = figures[row["provider"]].get(cell, (None, 0))
        assert row["is_suppressed"] == (persons < 5 or (row["provider"], *cell) in hidden), row
        if not row["is_suppressed"]:
            assert row["persons"] == persons and row["indicator_value"] == pytest.approx(value, abs=1e-5), row
            checked += 1
        shown = {
            pid: f[cell][0]
            for pid, f in figures.items()
            if f.get(cell, (None, 0))[1] >= 5 and (pid, *cell) not in hidden
        }
        assert row["network_providers"] == len(shown)
        if shown:
            q1, median, q3 = np.percentile(list(shown.values()), [25, 50, 75])
            assert (row["network_q1"], row["network_median"], row["network_q3"]) == pytest.approx(
                (q1, median, q3), abs=1e-5
            )
        if not row["is_suppressed"]:
            sign = -1 if row["higher_is_better"] else 1
            better = sum(sign * v < sign * shown[row["provider"]] - 1e-9 for v in shown.values())
            assert row["network_rank"] == better + 1, row
    assert checked > 100 and mart["is_suppressed"].any()  # (small providers: some cells describe too few)
    years = {y for f in figures.values() for (y, _, _) in f}
    assert set(mart["year"]) == years and set(mart["indicator"]) == set(NETWORK_INDICATORS)
    assert set(mart["funding_breakdown"]) == funding | {"all"}
    assert mart.select("provider", "year", "indicator", "funding_breakdown").is_unique().all()


def test_only_aggregates_cross_provider_lines(network):
    _, _, warehouse, _ = network
    mart = _mart(warehouse)
    assert not {"student_key", "study_right_key", "person_key"} & set(mart.columns)
    assert mart.filter(pl.col("is_suppressed"))["indicator_value"].null_count() == mart["is_suppressed"].sum()
    assert mart.filter(pl.col("is_suppressed"))["persons"].null_count() == mart["is_suppressed"].sum()
    assert mart.filter(~pl.col("is_suppressed") & pl.col("persons").is_not_null())["persons"].min() >= 5


def test_a_provider_of_fewer_than_five_persons_is_suppressed_and_left_out_of_the_distribution(network, tmp_path):
    _, ids, warehouse, _ = network
    release = (warehouse / f"provider={ids[0]}" / "published").resolve()
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    rights = pl.read_parquet(release / "fact_study_right.parquet")["study_right_key"].head(3).to_list()
    for table in release.glob("*.parquet"):
        frame = pl.read_parquet(table)
        if "study_right_key" in frame.columns:
            frame = frame.filter(pl.col("study_right_key").is_in(rights))
        elif "response_id" in frame.columns:
            frame = frame.head(3)
        frame.write_parquet(tiny / table.name)
    members = [Member(ids[0], "Iso", None, release, AS_OF), Member("tiny", "Pieni", None, tiny, AS_OF)]
    mart = mart_network_benchmark(members)
    small = mart.filter(provider="tiny")
    assert small["is_suppressed"].all() and small["indicator_value"].null_count() == small.height
    big = mart.filter(provider=ids[0], is_suppressed=False)
    assert big.height and (big["network_providers"] == 1).all()
    assert (big["network_median"] - big["indicator_value"]).abs().max() < 1e-6 and (big["network_rank"] == 1).all()


def test_a_refused_provider_is_compared_by_its_last_good_release_marked_stale(network, tmp_path, fast_env):
    landing, ids, warehouse, _ = network
    broken, copy = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(landing, broken)
    shutil.copytree(warehouse, copy, symlinks=True)
    shutil.rmtree(broken / ids[2] / "student_admin")
    shutil.rmtree(broken / ids[2] / "koski_bulk")  # (no student records at all: neither export nor KOSKI's data)
    result = run_cli("run", "--landing", str(broken), "--warehouse", str(copy), "--jobs", "2", env=fast_env)
    assert result.returncode == 1
    assert "marked stale" in result.stdout
    stale = json.loads((copy / f"provider={ids[2]}" / "stale.json").read_text())
    assert "holds no student-administration export" in stale["reason"]
    mart = _mart(copy)
    assert mart.filter(provider=ids[2])["is_stale"].all() and not mart.filter(provider=ids[0])["is_stale"].any()
    assert mart.drop("is_stale").equals(_mart(warehouse).drop("is_stale"))  # the same figures, from the same release
    page = rendered_dom(copy / f"provider={ids[2]}" / "reports" / "network" / "index.html")
    assert 'id="stale-note"' in page
    # the export is back: the next run publishes it, and the mark goes
    shutil.rmtree(broken / ids[2])
    shutil.copytree(landing / ids[2], broken / ids[2])
    result = run_cli("run", "--landing", str(broken), "--warehouse", str(copy), env=fast_env)
    assert result.returncode == 0, result.stderr
    assert not (copy / f"provider={ids[2]}" / "stale.json").exists() and not _mart(copy)["is_stale"].any()


def test_the_network_mart_is_a_release_of_its_own_that_duckdb_reads(network):
    _, ids, warehouse, result = network
    assert "benchlearning" in result.stdout and "published" in result.stdout
    with duckdb.connect(str(warehouse / "network" / "tiedolla.duckdb"), read_only=True) as con:
        providers = con.sql(f"SELECT count(DISTINCT provider) FROM {BENCHMARK.name}").fetchall()[0][0]
    assert providers == len(ids)
    manifest = json.loads((warehouse / "network" / "manifest.json").read_text())
    assert set(manifest["providers"]) == set(ids)


def test_the_network_page_shows_every_indicator_and_provider_and_a_providers_page_where_it_stands(network, tmp_path):
    _, ids, warehouse, _ = network
    mart = _mart(warehouse)
    year = mart["year"].max()
    dom = rendered_dom(warehouse / "network" / "reports" / "dashboard" / "index.html")
    assert "Verkoston vertailu" in dom and 'id="standing"' not in dom
    for code in NETWORK_INDICATORS:
        assert f'id="indicator-{code}"' in dom
    assert dom.count('class="provider-row"') == mart.filter(year=year, funding_breakdown="all").height
    own = tmp_path / "own.png"
    page = warehouse / f"provider={ids[1]}" / "reports" / "network" / "index.html"
    dom = rendered_dom(page)
    rows = mart.filter(provider=ids[1], year=year, funding_breakdown="all")
    assert dom.count('class="standing-row"') == rows.height
    ranked = rows.filter(pl.col("network_rank").is_not_null())
    for r in ranked.iter_rows(named=True):
        assert f'data-indicator="{r["indicator"]}"' in dom and f"{r['network_rank']}/{r['network_providers']}" in dom
    _, _, pixels = png_pixels(screenshot(page, own))
    assert share_of_colour(pixels, (0xC2, 0x57, 0x1A)) > 0.001  # the provider's own bars stand out in orange
    # its own dashboard shows the same standing, and links to the page
    dashboard = rendered_dom(warehouse / f"provider={ids[1]}" / "reports" / "dashboard" / "index.html")
    assert dashboard.count('class="standing-row"') == rows.height and 'href="../network/index.html"' in dashboard
    assert 'id="student-years-to-date"' in dashboard  # (still the provider's own dashboard)
    name = rows["provider_name"][0]
    assert f'<span id="provider">{name}</span>' in dashboard  # (its title names the provider)


def test_a_sensor_requests_the_networks_run_when_a_providers_release_changes(network):
    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, build_sensor_context

    from pipelines.definitions import NETWORK_JOB, PIPELINE_JOB, make_definitions

    landing, ids, warehouse, _ = network
    defs = make_definitions(landing, warehouse)
    sensor = defs.resolve_sensor_def("network_refresh")
    assert sensor.job_name == NETWORK_JOB

    def evaluate(cursor):
        with DagsterInstance.ephemeral() as instance:
            return sensor(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))

    first = evaluate(None)
    assert len(first.run_requests) == 1 and first.run_requests[0].partition_key is None
    assert evaluate(first.cursor).run_requests == []  # nothing changed: no second run
    marker = warehouse / f"provider={ids[0]}" / "stale.json"
    marker.write_text("{}")
    try:  # a provider's refused run marks its release stale: the network's figures say so after a run
        again = evaluate(first.cursor)
        assert len(again.run_requests) == 1 and again.run_requests[0].run_key != first.run_requests[0].run_key
    finally:
        marker.unlink()
    with DagsterInstance.ephemeral() as instance:  # a provider's run still running (the schedule's, say): it waits
        instance.add_run(DagsterRun(job_name=PIPELINE_JOB, run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED))
        waiting = sensor(build_sensor_context(instance=instance, cursor=None, definitions=defs))
        assert waiting.run_requests == [] and "not finished yet" in waiting.skip_reason.skip_message
    empty = make_definitions(landing, warehouse / "none").resolve_sensor_def("network_refresh")
    with DagsterInstance.ephemeral() as instance:
        assert empty(build_sensor_context(instance=instance, definitions=defs)).run_requests == []


def test_every_table_read_across_the_network_has_the_provider_column_and_its_keys_are_unique_per_provider(network):
    from schemas.published import TABLES

    _, ids, warehouse, _ = network
    with duckdb.connect() as con:
        for table in TABLES:
            glob = (warehouse / "provider=*" / "published" / f"{table.name}.parquet").as_posix()
            source = f"read_parquet('{glob}', hive_partitioning = true)"
            assert {row[0] for row in con.sql(f"SELECT DISTINCT provider FROM {source}").fetchall()} <= set(ids)
            if table.key:
                key = ", ".join(f'"{c}"' for c in table.key)
                doubled = con.sql(f"SELECT provider, {key} FROM {source} GROUP BY ALL HAVING count(*) > 1").fetchall()
                assert doubled == [], table.name
    for pid in ids:  # a provider's own DuckDB database: the provider column first in every table
        with duckdb.connect(str(warehouse / f"provider={pid}" / "tiedolla.duckdb"), read_only=True) as con:
            for table in TABLES:
                columns = [row[0] for row in con.sql(f"DESCRIBE {table.name}").fetchall()]
                assert columns == ["provider", *(c.name for c in table.columns)], table.name
                values = con.sql(f"SELECT DISTINCT provider FROM {table.name}").fetchall()
                assert values in ([(pid,)], []), table.name


def test_data_docs_of_a_provider_in_a_network_check_the_files_own_columns(network, tmp_path):
    """A provider's tables sit in a ``provider=<id>`` folder, which DuckDB would otherwise read as a column: Great
    Expectations then found a column too many in every table."""
    from pipelines.stewardship.data_docs import build_data_docs
    from schemas.published import BY_NAME

    _, ids, warehouse, _ = network
    tables = [BY_NAME["dim_student"], BY_NAME["fact_study_right"]]
    outcome = build_data_docs(warehouse / f"provider={ids[0]}" / "published", tables, tmp_path / "reports")
    assert {name: o["failed"] for name, o in outcome.items()} == {"dim_student": 0, "fact_study_right": 0}
    assert all(o["evaluated"] > 3 for o in outcome.values())


def test_counting_the_same_releases_again_gives_the_same_mart(network):
    landing, ids, warehouse, _ = network
    names = dict(row.split(";")[:2] for row in (landing / "providers.csv").read_text("utf-8").splitlines()[1:])
    groups = dict(row.split(";")[::2] for row in (landing / "providers.csv").read_text("utf-8").splitlines()[1:])
    members = []
    for pid in ids:
        release = (warehouse / f"provider={pid}" / "published").resolve()
        as_of = dt.date.fromisoformat(json.loads((release / "manifest.json").read_text())["as_of"])
        members.append(Member(pid, names[pid], groups[pid], release, as_of))
    assert mart_network_benchmark(members).equals(_mart(warehouse))
    assert mart_network_benchmark(list(reversed(members))).equals(_mart(warehouse))  # whatever the providers' order


def test_a_provider_whose_run_is_refused_by_a_guard_is_marked_stale_with_where_to_look(network, tmp_path, fast_env):
    landing, ids, warehouse, _ = network
    broken, copy = tmp_path / "landing", tmp_path / "warehouse"
    shutil.copytree(landing, broken)
    shutil.copytree(warehouse, copy, symlinks=True)
    rights = broken / ids[1] / "student_admin" / AS_OF.isoformat() / "opiskeluoikeudet.csv"
    rights.write_bytes(b"".join(rights.read_bytes().splitlines(keepends=True)[:6]))  # a cut-off export
    result = run_cli("run", "--landing", str(broken), "--warehouse", str(copy), env=fast_env)
    assert result.returncode == 1
    stale = json.loads((copy / f"provider={ids[1]}" / "stale.json").read_text())
    assert stale["reason"].startswith("NOT PUBLISHED: what failed is in the run's log and ")
    assert stale["reason"].endswith(str(copy / f"provider={ids[1]}" / "reports" / "steward" / "index.html"))
    assert stale["version"] == (warehouse / f"provider={ids[1]}" / "published").resolve().name
    assert _mart(copy).filter(provider=ids[1])["is_stale"].all()


def test_forget_in_a_providers_folder_takes_the_networks_key_and_touches_no_other_provider(network, tmp_path):
    from pipelines.publishing.pseudonyms import provider_key
    from pipelines.publishing.star import student_keys
    from tests.conftest import TEST_KEY

    _, ids, warehouse, _ = network
    copy = tmp_path / "warehouse"
    shutil.copytree(warehouse, copy, symlinks=True)
    number = "100000"  # (every generated provider numbers its students from 100000)
    keys = {pid: student_keys(pl.Series([number]), provider_key(TEST_KEY.encode(), pid))[0] for pid in ids}

    def students(pid: str) -> set[str]:
        return set(pl.read_parquet(copy / f"provider={pid}" / "published" / "dim_student.parquet")["student_key"])

    assert all(keys[pid] in students(pid) for pid in ids)
    storage = copy / ".dagster" / "storage"  # as runs the Dagster UI started leave it: each provider's values apart
    for pid in ids[:2]:
        (storage / f"partition={pid}" / "student_admin_typed").mkdir(parents=True)
    result = run_cli("forget", "--warehouse", str(copy / f"provider={ids[0]}"), "--student-number", number)
    assert result.returncode == 0, result.stderr
    assert keys[ids[0]] not in students(ids[0])
    assert not (storage / f"partition={ids[0]}").exists() and (storage / f"partition={ids[1]}").exists()
    assert f"run storage .dagster/storage/partition={ids[0]}: 1" in result.stdout
    assert keys[ids[1]] in students(ids[1]) and keys[ids[2]] in students(ids[2])  # another controller's student
    wrong = run_cli(
        "forget", "--warehouse", str(copy / f"provider={ids[1]}"), "--student-number", number, key=TEST_KEY[::-1]
    )
    assert wrong.returncode == 2 and "not the one that made the pseudonyms" in wrong.stderr
