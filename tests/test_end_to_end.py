"""The small demo through the command line, checked against the generator's truth."""

import json
import re

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from pipelines.demo_data.truth import defects_found, truth
from schemas import published, stewardship
from tests.conftest import pseudonym, run_cli

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset


def _quarantine(warehouse):
    return pl.concat([pl.read_parquet(p) for p in sorted((warehouse / "quarantine").glob("*.parquet"))])


def test_run_publishes_with_exit_code_zero(small_run):
    result, warehouse = small_run
    assert result.returncode == 0, result.stderr
    assert "published run" in result.stdout
    assert "[validate_student_admin" in result.stderr  # progress per stage


def test_the_stewardship_files_have_the_declared_columns_and_types(small_run):
    """quarantine/*.parquet, the failure history and the run counts are what ``schemas/stewardship.py`` (and so the
    data dictionary) says, column for column."""
    _, warehouse = small_run
    files = {p: stewardship.QUARANTINE for p in sorted((warehouse / "quarantine").glob("*.parquet"))}
    files[warehouse / "stewardship" / "failure_history.parquet"] = stewardship.FAILURE_HISTORY
    files[warehouse / "stewardship" / "runs.parquet"] = stewardship.FAILURE_RUNS
    assert len(files) > 3
    for path, table in files.items():
        assert list(pl.read_parquet_schema(path).items()) == list(table.schema.items()), path.name


def test_every_manifest_row_adds_up(small_run):
    _, warehouse = small_run
    manifest = json.loads((warehouse / "manifest.json").read_text())
    # (the demo's KOSKI delivery has all five of KOSKI's files, osasuoritus.csv as no rows: KOSKI wrote none)
    assert len(manifest["files"]) == 7 + 5 + 5
    assert {f["source_system"] for f in manifest["files"].values()} == {"student_admin", "crm", "koski_bulk"}
    for name, f in manifest["files"].items():
        assert f["rows_read"] == f["rows_published"] + f["rows_rejected"], name
        if name == "osasuoritus.csv":  # (not in the delivery: no rows, no checksum)
            assert f["rows_read"] == 0 and f["sha256"] is None
            continue
        assert f["rows_read"] > 0 and len(f["sha256"]) == 64
    assert manifest["files"]["tyopaikkajaksot.csv"]["encoding"] == "cp1252"
    assert manifest["files"]["opiskelijat.csv"]["encoding"] == "utf-8-sig"
    published_rows = {
        t: pq.read_metadata(warehouse / "published" / f"{t}.parquet").num_rows
        for t in ("dim_student", "fact_study_right", "fact_status_period", "fact_assessed_unit")
    }
    assert published_rows["dim_student"] == manifest["files"]["opiskelijat.csv"]["rows_published"]
    assert published_rows["fact_assessed_unit"] == manifest["files"]["tutkinnon_osat.csv"]["rows_published"]


def test_quarantine_equals_the_generators_truth(small_landing, small_run):
    _, warehouse = small_run
    found = defects_found(small_landing, warehouse)
    assert found.all_found and found.injected, (found.missed, found.unexpected)
    assert set(truth(small_landing)["defect_class"]) >= {
        "hetu_wrong_check_character",
        "status_out_of_order",
        "truncated_last_line",
        "duplicate_unit_line",
        "study_right_without_periods",
    }


def _export_csv(landing, name):
    """A file of the newest export (the one the run read)."""
    newest = sorted((landing / "student_admin").iterdir())[-1]
    return pl.read_csv(newest / name, separator=";", infer_schema=False, encoding="utf8-lossy")


def test_a_students_own_defect_holds_back_none_of_their_rows(small_landing, small_run):
    """A wrong henkilötunnus check character, birth date or sex clears that value: the student's study rights,
    status periods, units and workplace periods are all published, and their employer still hosts a student."""
    _, warehouse = small_run
    failures = _quarantine(warehouse)
    students = set(failures.filter((pl.col("table") == "students") & (pl.col("consequence") == "clear"))["record_key"])
    assert len(students) >= 5
    rights = _export_csv(small_landing, "opiskeluoikeudet.csv").filter(pl.col("Opiskelijanumero").is_in(students))
    ids = set(rights["Opiskeluoikeus"])
    assert (
        ids
        and not failures.filter(
            pl.col("rule_id").str.ends_with("parent_in_quarantine") & pl.col("record_key").is_in(ids)
        ).height
    )
    published = warehouse / "published"
    keys = {pseudonym(i, "study_right") for i in ids}
    assert keys <= set(pl.read_parquet(published / "fact_study_right.parquet")["study_right_key"])
    for name, fact in (
        ("tyopaikkajaksot.csv", "fact_workplace_period"),
        ("opiskeluoikeusjaksot.csv", "fact_status_period"),
    ):
        rows = _export_csv(small_landing, name).filter(pl.col("Opiskeluoikeus").is_in(ids)).unique()
        facts = pl.read_parquet(published / f"{fact}.parquet").filter(pl.col("study_right_key").is_in(keys))
        assert facts.height == rows.height > 0, name


def test_published_parquet_reads_back_in_duckdb(small_run):
    _, warehouse = small_run
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    views = {r[0] for r in con.execute("show tables").fetchall()}
    assert views == {t.name for t in published.TABLES}
    for table in published.TABLES:
        direct = duckdb.execute(f"select count(*) from '{warehouse}/published/{table.name}.parquet'").fetchone()[0]
        assert con.execute(f"select count(*) from {table.name}").fetchone()[0] == direct
        assert [c[0] for c in con.execute(f"describe {table.name}").fetchall()] == table.names
    orphans = con.execute("""select count(*) from fact_study_right f anti join dim_student d using (student_key)
                             where student_key is not null""").fetchone()[0]
    assert orphans == 0
    # a study right whose student is unknown is published without the student, not held back
    unknown = con.execute("select count(*) from fact_study_right where student_key is null").fetchone()[0]
    cleared = (
        pl.read_parquet(warehouse / "quarantine" / "study_rights.parquet")
        .filter((pl.col("column") == "student_number") & (pl.col("consequence") == "clear"))["record_key"]
        .n_unique()
    )
    assert unknown == cleared > 0
    gaps = con.execute("select max(date) - min(date) + 1 - count(*) from dim_date").fetchone()[0]
    assert gaps == 0


def test_no_identity_code_or_email_in_published_files(small_landing, small_run):
    _, warehouse = small_run
    students = _export_csv(small_landing, "opiskelijat.csv")
    full_names = students.select(pl.concat_str("Etunimet", "Sukunimi", separator=" ")).to_series().drop_nulls()
    secrets = (
        set(students["Henkilötunnus"].drop_nulls())
        | set(students["Sähköposti"].drop_nulls())
        | set(students["Matkapuhelin"].drop_nulls())
        | set(full_names)
    )
    hetu = re.compile(rb"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b")  # (a GUID's '…12345678-1234-…' is not one)
    for path in (warehouse / "published").glob("*.parquet"):
        frame = pl.read_parquet(path)
        text = b"\n".join(str(v).encode() for col in frame.select(pl.col(pl.Utf8)).iter_columns() for v in col)
        assert not hetu.search(text), path.name
        assert b"@" not in text, path.name
        assert not any(s.encode() in text for s in secrets), path.name


def test_quarantine_masks_personal_values(small_landing, small_run):
    _, warehouse = small_run
    students = pl.read_parquet(warehouse / "quarantine" / "students.parquet")
    hetu_rows = students.filter(pl.col("column") == "hetu")
    assert hetu_rows.height > 0
    assert hetu_rows["masked_value"].str.contains(r"^\*{7}\d{3}[0-9A-Y]$").all()  # no birth date


def test_missing_key_and_bad_usage_exit_2(small_landing, tmp_path):
    assert run_cli("run", "--landing", str(small_landing), "--warehouse", str(tmp_path), key=None).returncode == 2
    assert run_cli("run", "--landing", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path)).returncode == 2
    assert run_cli("run", "--landing", str(small_landing)).returncode == 2


def test_rerun_gives_the_same_published_content(small_landing, small_run, tmp_path):
    _, first = small_run
    assert run_cli("run", "--landing", str(small_landing), "--warehouse", str(tmp_path)).returncode == 0
    for table in published.TABLES:
        a = pl.read_parquet(first / "published" / f"{table.name}.parquet")
        b = pl.read_parquet(tmp_path / "published" / f"{table.name}.parquet")
        assert a.equals(b), table.name


def test_an_as_of_before_every_export_is_a_usage_error_that_changes_nothing(small_landing, small_run):
    _, warehouse = small_run
    before = (warehouse / "manifest.json").read_bytes()
    result = run_cli("run", "--landing", str(small_landing), "--warehouse", str(warehouse), "--as-of", "2019-01-01")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "tiedolla: --as-of 2019-01-01 is before every student_admin export (the earliest is 2024-07-31); nothing was "
        "run or changed"
    ]
    assert (warehouse / "manifest.json").read_bytes() == before


def test_a_landing_folder_without_an_export_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "landing" / "crm").mkdir(parents=True)
    result = run_cli("run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh"))
    assert result.returncode == 2 and not (tmp_path / "wh").exists()
    assert len(result.stderr.strip().splitlines()) == 1 and "holds no student-administration export" in result.stderr


def test_keys_and_relationships_of_the_model_hold_and_a_break_is_named(small_run, tmp_path):
    from pipelines.publishing.relationships import violations

    _, warehouse = small_run
    tables = {p.stem: p for p in (warehouse / "published").glob("*.parquet")}
    assert violations(tables) == []
    dates = pl.read_parquet(tables["dim_date"])
    assert dates["date"].min().strftime("%m-%d") == "01-01" and dates["date"].max().strftime("%m-%d") == "12-31"
    broken = dict(tables)
    broken["dim_date"] = tmp_path / "dim_date.parquet"
    dates.filter(pl.col("date").dt.year() > dates["date"].min().year).write_parquet(broken["dim_date"])
    students = pl.read_parquet(tables["dim_student"])
    broken["dim_student"] = tmp_path / "dim_student.parquet"
    pl.concat([students, students.head(1)]).write_parquet(broken["dim_student"])
    found = violations(broken)
    assert "dim_student: 1 value(s) of its key (student_key) stand on more than one row" in found
    assert any(
        v.startswith("fact_student_year_month.month_date_key: ") and "name no dim_date.date_key" in v for v in found
    )
    assert any(v.startswith("fact_status_period.start_date_key: ") for v in found)


def test_a_source_missing_from_the_landing_area_stops_the_release_unless_named(tmp_path, fast_env):
    import shutil

    from tests.landing import valid_crm_rows, write_landing

    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing)  # a first run without a CRM export still publishes
    args = ("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert run_cli(*args, env=fast_env).returncode == 0
    write_landing(landing, crm_rows=valid_crm_rows())
    assert run_cli(*args, env=fast_env).returncode == 0
    published = json.loads((warehouse / "manifest.json").read_text())
    assert published["sources"]["crm"]
    shutil.rmtree(landing / "crm")
    refused = run_cli(*args, env=fast_env)
    assert refused.returncode == 1 and "NOT PUBLISHED" in refused.stderr
    assert "the current release has a crm export (2026-11-20) but the landing area has none" in refused.stderr
    assert "--allow-missing-source" in refused.stderr
    assert json.loads((warehouse / "manifest.json").read_text()) == published
    allowed = run_cli(*args, "--allow-missing-source", "crm", env=fast_env)
    assert allowed.returncode == 0, allowed.stderr
    assert pl.read_parquet(warehouse / "published" / "fact_crm_activity.parquet").height == 0


def test_a_table_that_would_lose_most_of_its_rows_stops_the_release_unless_allowed(tmp_path):
    from tests.conftest import site_config
    from tests.landing import valid_crm_rows, valid_rows, write_landing

    site = site_config(
        tmp_path / "site",
        reports={"data_docs": False},
        release={"allow_missing_sources": [], "max_shrink_share": 0.4, "min_rows": 2},
    )
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing, crm_rows=valid_crm_rows())
    args = ("run", "--landing", str(landing), "--warehouse", str(warehouse), "--site-config", str(site))
    assert run_cli(*args).returncode == 0
    rows = valid_rows()
    rows["assessed_units"] = rows["assessed_units"][:1]  # 2 -> 1: half of them gone
    write_landing(landing, rows, crm_rows=valid_crm_rows())
    refused = run_cli(*args)
    reason = next(line for line in refused.stderr.splitlines() if line.startswith("step published_release failed"))
    assert refused.returncode == 1 and "NOT PUBLISHED" in refused.stderr
    assert reason.count("would fall from") == 1 and "fact_assessed_unit would fall from 2 to 1 rows" in reason
    assert "--allow-shrink" in reason
    assert pl.read_parquet(warehouse / "published" / "fact_assessed_unit.parquet").height == 2
    allowed = run_cli(*args, "--allow-shrink")
    assert allowed.returncode == 0, allowed.stderr
    assert pl.read_parquet(warehouse / "published" / "fact_assessed_unit.parquet").height == 1


def test_relative_folders_work_and_the_duckdb_database_opens_from_anywhere_after_a_move(tmp_path):
    from tests.landing import valid_crm_rows, write_landing

    write_landing(tmp_path / "landing", crm_rows=valid_crm_rows())
    result = run_cli("run", "--landing", "landing", "--warehouse", "wh", cwd=tmp_path)  # Data Docs included
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "wh" / "reports" / "data_docs" / "index.html").exists()
    elsewhere = duckdb.connect(str(tmp_path / "wh" / "tiedolla.duckdb"), read_only=True)
    assert elsewhere.execute("select count(*) from dim_student").fetchone()[0] == 2
    elsewhere.close()
    (tmp_path / "shared").mkdir()
    moved = (tmp_path / "wh").rename(tmp_path / "shared" / "warehouse")
    con = duckdb.connect(str(moved / "tiedolla.duckdb"), read_only=True)
    counts = {t.name: con.execute(f"select count(*) from {t.name}").fetchone()[0] for t in published.TABLES}
    assert counts == {
        t.name: pl.read_parquet(moved / "published" / f"{t.name}.parquet").height for t in published.TABLES
    }
    con.close()
    for page in ("steward", "dashboard", "data_docs"):
        assert (moved / "reports" / page / "index.html").exists(), page


def test_a_failed_report_step_after_a_release_exits_3_and_names_it(tmp_path, fast_env):
    from tests.landing import valid_crm_rows, write_landing

    write_landing(tmp_path / "landing", crm_rows=valid_crm_rows())
    (tmp_path / "wh" / "reports").mkdir(parents=True)
    (tmp_path / "wh" / "reports" / "steward").write_text("a file where the report's folder belongs")
    result = run_cli("run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 3, result.stderr
    assert "published run" in result.stdout and "PUBLISHED, but these steps failed: steward_report" in result.stderr


def test_every_code_a_bi_user_sees_has_its_finnish_label_beside_it(small_run):
    """Each published code column with a code list (status, funding code, sex, segment level, …) is followed by its
    ``_label`` column, and every code the run published has a Finnish name there."""
    from schemas.code_labels import LABELS
    from schemas.published import BY_NAME

    _, warehouse = small_run
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    seen = set()
    for name, table in BY_NAME.items():
        for code in (c for c in table.names if c in LABELS):
            assert table.names[table.names.index(code) + 1] == f"{code}_label", (name, code)
            unnamed = con.sql(
                f'SELECT DISTINCT "{code}" FROM "{name}" WHERE "{code}" IS NOT NULL AND "{code}_label" IS NULL'
            ).fetchall()
            assert unnamed == [], (name, code, unnamed)
            seen.add(code)
    assert {"status", "funding_code", "sex", "home_municipality", "study_right_type", "nps_group"} <= seen
    status = dict(con.sql("SELECT DISTINCT status, status_label FROM fact_status_period").fetchall())
    assert status["lasna"] == "läsnä" and status["katsotaaneronneeksi"] == "katsotaan eronneeksi"


def test_bi_tools_see_each_tables_and_columns_description(small_run):
    """The declarations' descriptions reach BI: as DuckDB comments on every table and column of tiedolla.duckdb, and
    in every published Parquet file's schema metadata; its keys and required columns as DuckDB constraints; the
    published database is a read-only file."""
    import os

    import pyarrow.parquet as pq

    from schemas.published import BY_NAME

    _, warehouse = small_run
    database = (warehouse / "tiedolla.duckdb").resolve()
    assert os.stat(database).st_mode & 0o222 == 0
    con = duckdb.connect(str(database), read_only=True)
    tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
    columns = {
        (t, c): d for t, c, d in con.execute("SELECT table_name, column_name, comment FROM duckdb_columns()").fetchall()
    }
    constraints = con.execute(
        "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'NOT NULL')"
    ).fetchall()
    con.close()
    assert set(tables) == set(BY_NAME)
    for name, table in BY_NAME.items():
        assert tables[name].startswith(table.description), name
        keys = [tuple(c) for t, kind, c in constraints if t == name and kind == "PRIMARY KEY"]
        primary = table.key and all(not table.column(k).nullable for k in table.key)
        assert keys == ([table.key] if primary else []), name
        required = {c[0] for t, kind, c in constraints if t == name and kind == "NOT NULL"}
        assert required == {c.name for c in table.columns if not c.nullable} | set(table.key if primary else ()), name
        schema = pq.read_schema(warehouse / "published" / f"{name}.parquet")
        assert schema.metadata[b"grain"].decode() == table.grain
        for column in table.columns:
            assert columns[(name, column.name)] == column.description, (name, column.name)
            assert schema.field(column.name).metadata[b"description"].decode() == column.description
