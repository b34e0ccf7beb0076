"""Reconciling with KOSKI's own report: the differences the demo generator injected are exactly the ones found,
typed and text cells read alike, and a KOSKI file that cannot be read is named without stopping the run."""

import datetime as dt
import io
import shutil

import duckdb
import polars as pl
import pytest
from openpyxl import Workbook

from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.spreadsheet import read_koski_report
from schemas.koski_report import KOSKI_FILE, RECONCILED
from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset

NAME = "opiskelijavuositiedot_1.2.246.562.10.99999999901_20260101-20261031.xlsx"


def _truth(landing):
    return pl.read_csv(max((landing / "truth" / "koski").iterdir()) / "differences.csv", infer_schema=False)


def test_the_differences_found_are_exactly_the_known_ones(small_landing, small_run):
    result, warehouse = small_run
    assert result.returncode == 0, result.stderr
    found = pl.read_parquet(warehouse / "quarantine" / "koski_report.parquet")
    got = (
        found.filter(pl.col("rule_id") != "koski_report.unreadable_cell")
        .select(
            pl.col("rule_id").str.strip_prefix("koski_report.").alias("kind"),
            pl.col("record_key").alias("study_right_id"),
            "column",
        )
        .sort(pl.all(), nulls_last=True)
    )
    expected = _truth(small_landing).sort(pl.all(), nulls_last=True)
    assert got.equals(expected), (
        got.join(expected, on=got.columns, how="anti", nulls_equal=True),
        expected.join(got, on=got.columns, how="anti", nulls_equal=True),
    )
    assert {"figure_differs", "only_in_koski", "only_ours"} <= set(expected["kind"])
    changed = found.filter(pl.col("rule_id") == "koski_report.figure_differs").row(0, named=True)
    assert "difference -3" in changed["message"] and changed["source_header"] == "Opiskelijavuosikertymä (pv)"


def test_the_mart_has_totals_per_column_and_no_personal_data(small_landing, small_run):
    _, warehouse = small_run
    mart = duckdb.connect().sql(f"select * from '{warehouse}/published/mart_koski_reconciliation.parquet'").pl()
    truth = _truth(small_landing)
    assert mart["column"].to_list() == [c.name for c in RECONCILED]
    assert set(mart["rows_only_in_koski"]) == {int((truth["kind"] == "only_in_koski").sum())}
    assert set(mart["rows_only_ours"]) == {int((truth["kind"] == "only_ours").sum())}
    old = mart.filter(pl.col("column") == "student_year_days_old").row(0, named=True)
    assert old["rows_differing"] == 1 and old["period_first_day"] == dt.date(2026, 1, 1)
    text = " ".join(str(v) for row in mart.rows() for v in row)
    assert "OO-" not in text and "1.2.246.562.15." not in text and "1.2.246.562.24." not in text


def test_the_steward_gets_a_correction_list_per_study_right(small_landing, small_run):
    _, warehouse = small_run
    folder = warehouse / "reports" / "steward"
    for name, words in (
        ("corrections_koski.csv", ("todennäköinen syy", "ero -3")),
        ("corrections_koski.en.csv", ("likely cause", "difference -3")),
    ):
        body = (folder / name).read_text(encoding="utf-8-sig").splitlines()[1:]
        assert len(body) == _truth(small_landing).height, name
        assert any(all(w in line for w in words) for line in body), name
    html = (warehouse / "reports" / "steward" / "index.en.html").read_text(encoding="utf-8")
    assert "Reconciliation with KOSKI" in html and 'data-column="student_year_days_old" data-differing="1"' in html


def _workbook(rows, headers=None, sheet="Opiskelijavuositiedot", first_sheet=None) -> bytes:
    book = Workbook()
    if first_sheet:
        book.active.title = first_sheet
        book.active.append(["Dokumentaatio"])
        data = book.create_sheet(sheet)
    else:
        data = book.active
        data.title = sheet
    data.append(headers or [c.source_header for c in KOSKI_FILE.columns])
    for row in rows:
        data.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row(**values):
    return [values.get(c.name) for c in KOSKI_FILE.columns]


def test_typed_and_text_cells_read_alike():
    typed = _row(
        study_right_oid="1.2.246.562.15.10000000001",
        study_right_id="OO-1",
        ended=True,
        end_date=dt.datetime(2026, 5, 31),
        student_year_days_old=105.5,
        present_or_graduated_days=93,
        part_time_percentages="100,50",
    )
    text = _row(
        study_right_oid="1.2.246.562.15.10000000002",
        study_right_id="OO-2",
        ended="kyllä",
        end_date="31.5.2026",
        student_year_days_old="105,5",
        present_or_graduated_days="93",
        part_time_percentages="100,50",
    )
    report = read_koski_report(NAME, _workbook([typed, text], first_sheet="Dokumentaatio"))
    a, b = report.rows.drop("study_right_oid", "study_right_id", "source_line").rows()
    assert a == b and not report.unreadable
    assert report.rows["student_year_days_old"].to_list() == [105.5, 105.5]
    assert report.rows["end_date"].to_list() == [dt.date(2026, 5, 31)] * 2
    assert (report.first, report.last) == (dt.date(2026, 1, 1), dt.date(2026, 10, 31))


def test_an_unreadable_cell_is_listed_with_its_row_and_header():
    report = read_koski_report(
        NAME, _workbook([_row(study_right_oid="1.2.246.562.15.10000000001", student_year_days_old="paljon")])
    )
    assert report.unreadable == [(2, "Opiskelijavuosikertymä (pv)", "paljon")]


@pytest.mark.parametrize(
    "name, data, words",
    [
        (
            NAME,
            _workbook([], headers=[c.source_header for c in KOSKI_FILE.columns if c.name != "hojks_days"]),
            "sheet 'Opiskelijavuositiedot': the header 'Hojks (pv)' is missing",
        ),
        (
            NAME,
            _workbook([], headers=["Oppijan oid", "Hetu"], sheet="Taulukko1"),
            "no sheet starts with KOSKI's header row (its first header is 'Opiskeluoikeuden oid'); "
            "the workbook's sheets are 'Taulukko1'",
        ),
        (NAME, b"PK\x03\x04 not really a zip file", "not a readable Excel workbook"),
        ("raportti.xlsx", b"", "the name is not KOSKI's opiskelijavuositiedot_"),
    ],
)
def test_a_file_that_cannot_be_read_is_named_with_sheet_and_header(name, data, words):
    with pytest.raises(FileProblem) as problem:
        read_koski_report(name, data)
    assert str(problem.value).startswith(name) and words in str(problem.value), str(problem.value)


def test_a_broken_koski_file_does_not_stop_the_run(small_landing, tmp_path, fast_env):
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    report = next((landing / "koski").glob("*/*.xlsx"))
    whole = report.read_bytes()
    report.write_bytes(whole[: len(whole) // 2])  # the same workbook, cut short
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    assert f"KOSKI report not reconciled: {report.name}: not a readable Excel workbook" in result.stderr
    published = duckdb.connect().sql(
        f"select count(*) from '{tmp_path}/wh/published/mart_koski_reconciliation.parquet'"
    )
    assert published.fetchall() == [(0,)]


def test_a_difference_fixed_in_a_later_report_shows_as_resolved(small_landing, tmp_path, fast_env):
    from openpyxl import load_workbook

    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    shutil.copytree(small_landing, landing)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env).returncode == 0
    changed = _truth(small_landing).filter(pl.col("kind") == "figure_differs")["study_right_id"][0]
    report = next((landing / "koski").glob("*/*.xlsx"))
    book = load_workbook(report)
    sheet = book["Opiskelijavuositiedot"]
    headers = [c.value for c in sheet[1]]
    at, days = (
        headers.index("Opiskeluoikeuden tunniste lähdejärjestelmässä"),
        headers.index("Opiskelijavuosikertymä (pv)"),
    )
    row = next(r for r in sheet.iter_rows(min_row=2) if r[at].value == changed)
    value = row[days].value
    row[days].value = float(str(value).replace(",", ".")) - 3  # KOSKI corrected: now the same as ours
    book.save(report)
    second = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env)
    assert second.returncode == 0, second.stderr
    history = pl.read_parquet(warehouse / "stewardship" / "failure_history.parquet").filter(
        pl.col("source_system") == "koski"
    )
    fixed = history.filter(pl.col("rule_id") == "koski_report.figure_differs")
    assert fixed["status"].to_list() == ["resolved"] and fixed["record_key"].to_list() == [changed]
    assert set(history.filter(pl.col("rule_id") != "koski_report.figure_differs")["status"]) == {"open"}
