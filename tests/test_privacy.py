"""No personal data out: published files, quarantine, manifest and the run's log lines; and forgetting a person."""

import copy
import csv
import html
import io
import re
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli
from tests.landing import valid_crm_rows, valid_rows, write_landing

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset

HETU = re.compile(r"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b")
LEARNER_OID = re.compile(r"1\.2\.246\.562\.24\.\d{11}")


def _export(landing: Path, file_name: str, separator: str) -> pl.DataFrame:
    path = next(landing.glob(f"*/2026-11-20/{file_name}"))
    data = path.read_bytes()
    text = data.decode("cp1252") if file_name == "tyopaikkajaksot.csv" else data.decode("utf-8-sig")
    return pl.read_csv(text.encode(), separator=separator, infer_schema=False, truncate_ragged_lines=True)


def _personal_values(landing: Path) -> set[str]:
    students = _export(landing, "opiskelijat.csv", ";")
    contacts = _export(landing, "contacts.csv", ",")
    values = set()
    for frame, columns in (
        (students, ["Henkilötunnus", "Oppijanumero", "Sähköposti", "Matkapuhelin"]),
        (contacts, ["emailaddress1", "telephone1"]),
    ):
        for column in columns:
            values |= set(frame[column].drop_nulls().to_list())
    values |= set(students.select(pl.concat_str("Etunimet", "Sukunimi", separator=" ")).to_series().drop_nulls())
    values |= set(contacts.select(pl.concat_str("firstname", "lastname", separator=" ")).to_series().drop_nulls())
    values |= set(_export(landing, "survey_responses.csv", ",")["comment"].drop_nulls())
    return {v for v in values if len(v) > 4}


def _texts(warehouse: Path, run) -> dict[str, str]:
    """Everything a run leaves to be read: published, quarantine and history Parquet, the manifest, every
    report it writes, and its output lines."""
    texts = {"stdout": run.stdout, "stderr": run.stderr, "manifest.json": (warehouse / "manifest.json").read_text()}
    for path in [
        *(warehouse / "published").glob("*.parquet"),
        *(warehouse / "quarantine").glob("*.parquet"),
        *(warehouse / "stewardship").glob("*.parquet"),
    ]:
        frame = pl.read_parquet(path)
        texts[f"{path.parent.name}/{path.name}"] = "\n".join(
            str(v) for column in frame.select(pl.col(pl.Utf8)).iter_columns() for v in column
        )
    reports = [p for p in (warehouse / "reports").rglob("*") if p.suffix in (".html", ".csv", ".json")]
    assert {"index.html", "index.en.html", "corrections_student_admin.csv"} <= {p.name for p in reports}
    for path in reports:  # the steward report, correction lists, Data Docs, the dashboard
        texts[str(path.relative_to(warehouse))] = html.unescape(path.read_text(encoding="utf-8-sig"))
    return texts


def test_no_personal_data_in_anything_a_run_leaves(small_landing, small_run):
    run, warehouse = small_run
    assert run.returncode == 0, run.stderr
    personal = _personal_values(small_landing)
    assert len(personal) > 500
    for name, text in _texts(warehouse, run).items():
        assert not HETU.search(text), name
        assert not LEARNER_OID.search(text), name
        leaked = [v for v in personal if v in text]
        assert not leaked, (name, leaked[:3])
    storage = warehouse / ".dagster" / "storage"  # a published run's values stay for the next run: the owner's only
    assert storage.is_dir() and {p.stat().st_mode & 0o777 for p in [storage, *storage.rglob("*")]} <= {0o700, 0o600}


#: the columns of the exports that identify a person or a study right (by their source headers)
IDENTIFIERS = {
    "opiskelijat.csv": ["Opiskelijanumero", "Henkilötunnus", "Oppijanumero"],
    "opiskeluoikeudet.csv": ["Opiskeluoikeus", "Opiskeluoikeuden OID", "Opiskelijanumero"],
    "contacts.csv": ["contactid"],
}


def test_no_published_value_is_an_identifier_of_a_person_or_study_right(small_landing, small_run):
    """Every string value of every published table, read back with DuckDB, against every input identifier: equal to
    none, and (for identifiers that a hex pseudonym cannot contain by chance) containing none."""
    import duckdb

    _, warehouse = small_run
    identifiers, other = set(), set()  # (a value some export also has in a column that is no identifier, such as a
    for path in sorted(small_landing.glob("*/2026-11-20/*.csv")):  # unit code equal to a student number, is no clue)
        frame = _export(small_landing, path.name, "," if path.parent.parent.name == "crm" else ";")
        for header in frame.columns:
            values = set(frame[header].drop_nulls().to_list())
            if header in IDENTIFIERS.get(path.name, []):
                identifiers |= values
            elif header not in {h for headers in IDENTIFIERS.values() for h in headers}:
                other |= values
    identifiers -= other
    assert len(identifiers) > 1000 and any(v.startswith("OO-") for v in identifiers)
    inside = [v for v in identifiers if not re.fullmatch(r"[0-9a-f]+", v)]
    con = duckdb.connect()
    scanned = 0
    for path in sorted((warehouse / "published").glob("*.parquet")):
        columns = [
            row[0]
            for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
            if row[1] == "VARCHAR"
        ]
        for column in columns:
            values = {
                v
                for (v,) in con.execute(
                    f'SELECT DISTINCT "{column}" FROM read_parquet(\'{path}\') WHERE "{column}" IS NOT NULL'
                ).fetchall()
            }
            scanned += len(values)
            assert not values & identifiers, (path.name, column, sorted(values & identifiers)[:3])
            text = "\n".join(values)
            assert not [v for v in inside if v in text], (path.name, column)
    assert scanned > 1000
    rights = con.sql(
        f"SELECT study_right_key FROM read_parquet('{warehouse / 'published' / 'fact_study_right.parquet'}')"
    ).pl()
    assert (
        rights["study_right_key"].str.contains(r"^[0-9a-f]{32}$").all() and rights["study_right_key"].is_unique().all()
    )


def test_quarantine_masks_what_a_steward_needs_to_find_the_row(small_run):
    _, warehouse = small_run
    students = pl.read_parquet(warehouse / "quarantine" / "students.parquet")
    hetu = students.filter(pl.col("column") == "hetu")["masked_value"]
    assert hetu.len() > 0 and hetu.str.contains(r"^\*{7}\d{3}[0-9A-Y]$").all()  # no birth date: the last four only
    assert students["person_key"].drop_nulls().str.contains(r"^[0-9a-f]{32}$").all()


def test_personal_data_in_the_wrong_column_is_masked_by_its_shape_everywhere(tmp_path, fast_env):
    """A henkilötunnus typed into Kotikunta (full-width, as pasted from a web form), an email in Äidinkieli and a
    phone number in Kotikunta: masked in the quarantine, the failure history, the steward report and the
    correction lists, though their columns hold no personal data."""
    rows = copy.deepcopy(valid_rows())
    typed = "１２０３０５Ａ９１２Ｘ"  # 120305A912X in full-width forms
    rows["students"][0]["home_municipality"] = typed
    rows["students"][1]["mother_tongue"] = "asa.oberg@example.fi"
    landing = tmp_path / "landing"
    write_landing(landing, rows, crm_rows=valid_crm_rows())
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    quarantine = pl.read_parquet(tmp_path / "wh" / "quarantine" / "students.parquet")
    shown = dict(zip(quarantine["column"], quarantine["masked_value"]))
    assert shown["home_municipality"] == "*******912X" and shown["mother_tongue"] == "***@example.fi"
    texts = _texts(tmp_path / "wh", result)
    for name, text in texts.items():
        for secret in (typed, "120305A912X", "120305", "asa.oberg"):
            assert secret not in text, (name, secret)
    assert "*******912X" in texts["reports/steward/corrections_student_admin.csv"]
    assert "***@example.fi" in texts["reports/steward/index.html"]


def test_files_with_personal_data_are_the_owners_only_whatever_the_umask(tmp_path, fast_env):
    """Under umask 000 (every new file world-writable): quarantine, failure history, steward report, correction
    lists and waivers are 0600 in 0700 folders; the dashboard, outside the steward folder, can be shared."""
    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["sex"] = "2"
    write_landing(tmp_path / "landing", rows, crm_rows=valid_crm_rows())
    warehouse = tmp_path / "wh"
    result = run_cli(
        "run", "--landing", str(tmp_path / "landing"), "--warehouse", str(warehouse), env=fast_env, umask=0
    )
    assert result.returncode == 0, result.stderr
    waived = run_cli(
        "waive",
        "--warehouse",
        str(warehouse),
        "--rule",
        "students.hetu_matches_sex",
        "--key",
        "1001",
        "--reason",
        "checked",
        "--approved-by",
        "test",
        "--expires",
        "2030-01-01",
        umask=0,
    )
    assert waived.returncode == 0, waived.stderr
    private = [
        *(warehouse / "quarantine").iterdir(),
        *(warehouse / "stewardship").iterdir(),
        *(warehouse / "reports" / "steward").iterdir(),
        warehouse / "waivers.yaml",
    ]
    assert len(private) > 10 and any(p.name.startswith("corrections_") for p in private)
    for path in private:
        assert path.stat().st_mode & 0o777 == 0o600, (path, oct(path.stat().st_mode))
    for folder in ("quarantine", "stewardship", "reports/steward"):
        assert (warehouse / folder).stat().st_mode & 0o777 == 0o700, folder
    dashboard = (warehouse / "reports" / "dashboard" / "index.html").resolve()
    assert dashboard.stat().st_mode & 0o777 == 0o644
    assert not dashboard.is_relative_to((warehouse / "reports" / "steward").resolve())
    # nothing in the warehouse is writable by others; the lock and the staging area are the owner's only
    writable = [p for p in [warehouse, *warehouse.rglob("*")] if not p.is_symlink() and p.stat().st_mode & 0o022]
    assert writable == []
    assert (warehouse / ".run.lock").stat().st_mode & 0o777 == 0o600
    assert (warehouse / ".staging").stat().st_mode & 0o777 == 0o700


@pytest.fixture
def run_with_a_quarantined_student(tmp_path, fast_env):
    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["sex"] = "2"  # disagrees with the henkilötunnus: a failure about student 1001
    rows["study_rights"][0]["koulutus_code"] = "999999"  # and on 1001's study right OO-1
    rows["assessed_units"][0]["grade"] = "6"  # and on a unit of OO-1
    rows["students"][1]["birth_date"] = "31.2.2006"  # a failure about 1002
    rows["students"].append(dict(rows["students"][0]))  # an exact duplicate of 1001's line (line 4)
    landing = tmp_path / "landing"
    folder = write_landing(landing, rows, crm_rows=valid_crm_rows())
    with open(folder / "opiskeluoikeudet.csv", "a", encoding="utf-8") as f:  # a malformed line of 1001's OO-1
        f.write("OO-1;;1001;ammatillinentutkinto;351301;;Kouvolan kampus;1.8.2023;;;one field too many\r\n")
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    return landing, tmp_path / "wh", rows


def _quarantined_lines(warehouse: Path) -> set[tuple[str, int]]:
    frames = [pl.read_parquet(p) for p in (warehouse / "quarantine").glob("*.parquet")]
    return {(r["table"], r["source_line"]) for f in frames for r in f.iter_rows(named=True)}


def test_forget_removes_every_trace_of_a_person(run_with_a_quarantined_student):
    from tests.conftest import pseudonym

    landing, warehouse, rows = run_with_a_quarantined_student
    before = _quarantined_lines(warehouse)
    assert {
        ("students", 2),
        ("students", 4),
        ("study_rights", 2),
        ("study_rights", 4),
        ("assessed_units", 2),
        ("students", 3),
    } <= before  # 1001's rows, their duplicate and malformed lines; and 1002's
    student = pseudonym("1001", "student")
    versions = sorted((warehouse / "versions").iterdir())
    assert student in set(pl.read_parquet(versions[0] / "dim_student.parquet")["student_key"])
    (warehouse / ".dagster" / "storage").mkdir(parents=True, exist_ok=True)  # as a run leaves it
    steward = warehouse / "reports" / "steward"
    assert "1001" in (steward / "corrections_student_admin.csv").read_text(encoding="utf-8-sig")

    result = run_cli(
        "forget", "--warehouse", str(warehouse), "--hetu", rows["students"][0]["hetu"], "--landing", str(landing)
    )
    assert result.returncode == 0, result.stderr
    after = _quarantined_lines(warehouse)
    assert (
        not {("students", 2), ("students", 4), ("study_rights", 2), ("study_rights", 4), ("assessed_units", 2)} & after
    )
    assert ("students", 3) in after  # someone else's rows stay
    history = pl.read_parquet(warehouse / "stewardship" / "failure_history.parquet")
    assert not history.filter(pl.col("record_key").is_in(["1001", "OO-1"])).height
    assert history.filter(pl.col("record_key") == "1002").height
    for version in versions:  # every kept version, and the database BI reads
        for table in ("dim_student", "fact_study_right", "fact_status_period", "fact_student_year_month"):
            frame = pl.read_parquet(version / f"{table}.parquet")
            assert student not in set(frame["student_key"]), (version.name, table)
    import duckdb

    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM fact_study_right WHERE student_key = ?", [student]).fetchone()[0] == 0
    con.close()
    assert not (warehouse / ".dagster" / "storage").exists()
    for name in ("corrections_student_admin.csv", "corrections_student_admin.en.csv"):
        listed = list(csv.reader(io.StringIO((steward / name).read_text(encoding="utf-8-sig")), delimiter=";"))
        assert not [r for r in listed if r[2] in ("1001", "OO-1")] and [r for r in listed if r[2] == "1002"], name
    for page in ("index.html", "index.en.html"):
        assert "<td>1001</td>" not in (steward / page).read_text() and "<td>1002</td>" in (steward / page).read_text()
    for place in ("quarantine/students", "stewardship/failure_history", "dim_student", "run storage", "example rows"):
        assert place in result.stdout, place

    nothing = run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1001")
    assert nothing.returncode == 1 and "nothing about this person was found" in nothing.stderr
    assert run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1002").returncode == 0
    assert ("students", 3) not in _quarantined_lines(warehouse)
    assert run_cli("forget", "--warehouse", str(warehouse), "--hetu", "010305A901D").returncode == 2  # no --landing


def test_forget_removes_the_persons_waivers_from_the_file_the_site_configuration_names(
    run_with_a_quarantined_student, tmp_path
):
    from tests.conftest import site_config

    _, warehouse, _ = run_with_a_quarantined_student
    site = site_config(tmp_path / "site", waivers="steward_waivers.yaml")
    for key in ("1001", "1002"):
        waived = run_cli(
            "waive", "--site-config", str(site), "--rule", "students.hetu_matches_sex", "--key", key,
            "--reason", "checked", "--approved-by", "MM", "--expires", "2030-01-01",
        )  # fmt: skip
        assert waived.returncode == 0, waived.stderr
    result = run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1001", "--site-config", str(site))
    assert result.returncode == 0, result.stderr
    kept = (tmp_path / "site" / "steward_waivers.yaml").read_text(encoding="utf-8")
    assert "1001" not in kept and "'1002'" in kept
    assert "steward_waivers.yaml: 1" in result.stdout


def test_forget_a_crm_contact_by_contact_id(tmp_path, fast_env):
    crm_rows = copy.deepcopy(valid_crm_rows())
    contact = crm_rows["contacts"][0]["contact_id"]
    crm_rows["contacts"][0]["created_on"] = "5.5.2025"  # a failure about this contact
    write_landing(tmp_path / "landing", crm_rows=crm_rows)
    warehouse = tmp_path / "wh"
    assert (
        run_cli("run", "--landing", str(tmp_path / "landing"), "--warehouse", str(warehouse), env=fast_env).returncode
        == 0
    )
    assert ("contacts", 2) in _quarantined_lines(warehouse)
    result = run_cli("forget", "--warehouse", str(warehouse), "--contact-id", contact)
    assert result.returncode == 0 and "quarantine/contacts: 1" in result.stdout, result.stdout + result.stderr
    assert ("contacts", 2) not in _quarantined_lines(warehouse)
    history = pl.read_parquet(warehouse / "stewardship" / "failure_history.parquet")
    assert not history.filter(pl.col("record_key") == contact).height


def test_forget_needs_the_key_that_made_the_pseudonyms(run_with_a_quarantined_student):
    _, warehouse, _ = run_with_a_quarantined_student
    wrong = run_cli(
        "forget",
        "--warehouse",
        str(warehouse),
        "--student-number",
        "1001",
        key="f3b1c2d4e5a6978812ab34cd56ef7890a1b2c3d4",
    )
    assert wrong.returncode == 2 and "not the one that made the pseudonyms" in wrong.stderr
    assert ("students", 2) in _quarantined_lines(warehouse)


def test_a_weak_demo_or_different_key_is_refused_and_a_rotation_is_explicit(tmp_path, fast_env):
    from pipelines.publishing.pseudonyms import DEMO_KEY
    from pipelines.publishing.warehouse import Warehouse

    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["sex"] = "2"  # a failure about 1001, kept in the failure history
    write_landing(tmp_path / "landing", rows, crm_rows=valid_crm_rows())
    warehouse = tmp_path / "wh"
    args = ("run", "--landing", str(tmp_path / "landing"), "--warehouse", str(warehouse))
    history = warehouse / "stewardship" / "failure_history.parquet"
    for weak in ("aaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababababab", "tiedolla-avain-2026!!"):
        refused = run_cli(*args, key=weak, env=fast_env)
        assert refused.returncode == 2 and "too easy to guess" in refused.stderr, weak
    demo = run_cli(*args, key=DEMO_KEY, env=fast_env)
    assert demo.returncode == 2 and "demo key is public" in demo.stderr
    assert not (warehouse / "published").exists()
    assert run_cli(*args, env=fast_env).returncode == 0
    assert run_cli(*args, "--full", env=fast_env).returncode == 0
    before = Warehouse(warehouse).current_version()
    students = set(pl.read_parquet(warehouse / "published" / "dim_student.parquet")["student_key"])
    old_keys = set(pl.read_parquet(history)["person_key"].drop_nulls())
    other = "another-key-entirely-0123456789abcdef"
    refused = run_cli(*args, key=other, env=fast_env)
    assert refused.returncode == 2 and "fingerprint" in refused.stderr and "--rotate-key" in refused.stderr
    assert Warehouse(warehouse).current_version() == before and len(Warehouse(warehouse).versions()) == 2
    rotated = run_cli(*args, "--rotate-key", key=other, env=fast_env)
    assert rotated.returncode == 0, rotated.stderr
    assert [v["version"] for v in Warehouse(warehouse).versions()] == [Warehouse(warehouse).current_version()]
    assert not students & set(pl.read_parquet(warehouse / "published" / "dim_student.parquet")["student_key"])
    # the failure history starts afresh: nothing in it is keyed with the old key, which forget no longer has
    assert old_keys and not old_keys & set(pl.read_parquet(history)["person_key"].drop_nulls())
    assert set(pl.read_parquet(history)["status"]) == {"new"}
    assert run_cli(*args, key=other, env=fast_env).returncode == 0
    assert run_cli(*args, env=fast_env).returncode == 2  # the old key is now the other one


def test_forget_waits_for_a_run_that_holds_the_warehouse(run_with_a_quarantined_student):
    from tests.conftest import HeldWarehouse

    _, warehouse, _ = run_with_a_quarantined_student
    with HeldWarehouse(warehouse) as held:
        busy = run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1002")
        assert busy.returncode == 4 and "in use" in busy.stderr
        assert ("students", 3) in _quarantined_lines(warehouse)
        held.release_after(2)
        waited = run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1002", "--wait", "30")
    assert waited.returncode == 0, waited.stderr
    assert ("students", 3) not in _quarantined_lines(warehouse)
