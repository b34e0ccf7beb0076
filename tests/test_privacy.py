"""No personal data out: published files, quarantine, manifest and the run's log lines; and forgetting a person."""
import copy
import html
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
    for frame, columns in ((students, ["Henkilötunnus", "Oppijanumero", "Sähköposti", "Matkapuhelin"]),
                           (contacts, ["emailaddress1", "telephone1"])):
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
    for path in [*(warehouse / "published").glob("*.parquet"), *(warehouse / "quarantine").glob("*.parquet"),
                 *(warehouse / "stewardship").glob("*.parquet")]:
        frame = pl.read_parquet(path)
        texts[f"{path.parent.name}/{path.name}"] = "\n".join(
            str(v) for column in frame.select(pl.col(pl.Utf8)).iter_columns() for v in column)
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
    assert not (warehouse / ".dagster" / "storage").exists()  # unpublished values do not stay at rest


def test_quarantine_masks_what_a_steward_needs_to_find_the_row(small_run):
    _, warehouse = small_run
    students = pl.read_parquet(warehouse / "quarantine" / "students.parquet")
    hetu = students.filter(pl.col("column") == "hetu")["masked_value"]
    assert hetu.len() > 0 and hetu.str.contains(r"^\d{6}[-+A-FU-Y]\d\*\*\*$").all()
    assert students["person_key"].drop_nulls().str.contains(r"^[0-9a-f]{32}$").all()


@pytest.fixture
def run_with_a_quarantined_student(tmp_path, fast_env):
    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["sex"] = "2"  # disagrees with the henkilötunnus: a failure about student 1001
    rows["study_rights"][0]["koulutus_code"] = "999999"  # and on 1001's study right OO-1
    rows["assessed_units"][0]["grade"] = "6"  # and on a unit of OO-1
    rows["students"][1]["birth_date"] = "31.2.2006"  # a failure about 1002
    landing = tmp_path / "landing"
    write_landing(landing, rows, crm_rows=valid_crm_rows())
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    return landing, tmp_path / "wh", rows


def _quarantined_lines(warehouse: Path) -> set[tuple[str, int]]:
    frames = [pl.read_parquet(p) for p in (warehouse / "quarantine").glob("*.parquet")]
    return {(r["table"], r["source_line"]) for f in frames for r in f.iter_rows(named=True)}


def test_forget_removes_a_person_from_the_quarantine(run_with_a_quarantined_student):
    landing, warehouse, rows = run_with_a_quarantined_student
    before = _quarantined_lines(warehouse)
    assert {("students", 2), ("study_rights", 2), ("assessed_units", 2), ("students", 3)} <= before
    result = run_cli("forget", "--warehouse", str(warehouse), "--hetu", rows["students"][0]["hetu"],
                     "--landing", str(landing))
    assert result.returncode == 0, result.stderr
    after = _quarantined_lines(warehouse)
    assert ("students", 2) not in after and ("study_rights", 2) not in after and ("assessed_units", 2) not in after
    assert ("students", 3) in after  # someone else's rows stay
    assert run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1002").returncode == 0
    assert ("students", 3) not in _quarantined_lines(warehouse)
    assert run_cli("forget", "--warehouse", str(warehouse), "--hetu", "010305A901D").returncode == 2  # no --landing


def test_forget_needs_the_key_that_made_the_pseudonyms(run_with_a_quarantined_student):
    _, warehouse, _ = run_with_a_quarantined_student
    wrong = run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1001",
                    key="a-different-key-0123456789abcdef")
    assert wrong.returncode == 0 and "removed 0 quarantine row(s)" in wrong.stdout
    assert ("students", 2) in _quarantined_lines(warehouse)


def test_forget_waits_for_a_run_that_holds_the_warehouse(run_with_a_quarantined_student):
    import threading

    from pipelines.publishing.warehouse import Warehouse

    _, warehouse, _ = run_with_a_quarantined_student
    held, release = threading.Event(), threading.Event()

    def hold():
        with Warehouse(warehouse).lock("run"):
            held.set()
            release.wait(30)
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    busy = run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1002")
    assert busy.returncode == 1 and "in use" in busy.stderr
    assert ("students", 3) in _quarantined_lines(warehouse)
    threading.Timer(2, release.set).start()
    waited = run_cli("forget", "--warehouse", str(warehouse), "--student-number", "1002", "--wait", "30")
    holder.join()
    assert waited.returncode == 0, waited.stderr
    assert ("students", 3) not in _quarantined_lines(warehouse)
