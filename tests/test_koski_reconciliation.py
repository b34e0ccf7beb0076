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
from tests.conftest import run_cli, site_config

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset

NAME = "opiskelijavuositiedot_1.2.246.562.10.99999999901_20260101-20261031.xlsx"


def _truth(landing):
    return pl.read_csv(max((landing / "truth" / "koski").iterdir()) / "differences.csv", infer_schema=False)


def _found(warehouse, kinds=("figure_differs", "only_in_koski", "only_ours")) -> pl.DataFrame:
    found = pl.read_parquet(warehouse / "quarantine" / "koski_report.parquet")
    return (
        found.filter(pl.col("rule_id").is_in([f"koski_report.{k}" for k in kinds]))
        .select(
            pl.col("rule_id").str.strip_prefix("koski_report.").alias("kind"),
            pl.col("record_key").alias("study_right_id"),
            "column",
            pl.col("source_file").alias("file"),
        )
        .sort(pl.all(), nulls_last=True)
    )


def _same(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    expected = expected.select(got.columns).sort(pl.all(), nulls_last=True)
    assert got.equals(expected), (
        got.join(expected, on=got.columns, how="anti", nulls_equal=True),
        expected.join(got, on=got.columns, how="anti", nulls_equal=True),
    )


def test_the_differences_found_are_exactly_the_known_ones(small_landing, small_run):
    """The demo's reports: one per oppilaitos, encrypted as KOSKI does, and an earlier period's in the layout of
    2025 saved again by a person (text cells, a totals row): exactly the planted differences, none from the other
    oppilaitos, the totals row or an annulled study right."""
    result, warehouse = small_run
    assert result.returncode == 0, result.stderr
    _same(_found(warehouse), _truth(small_landing))
    assert {"figure_differs", "only_in_koski", "only_ours"} <= set(_truth(small_landing)["kind"])
    assert len(set(_truth(small_landing)["file"])) == 3
    found = pl.read_parquet(warehouse / "quarantine" / "koski_report.parquet")
    changed = found.filter(pl.col("rule_id") == "koski_report.figure_differs").row(0, named=True)
    assert "difference -3" in changed["message"]
    assert changed["source_header"] == "Opiskelijavuosikertymä (pv) - vanha laskentakaava (ennen v. 2026)"
    annulled = _annulled(small_landing)
    assert annulled and not set(found["record_key"].drop_nulls()) & annulled


def _annulled(landing) -> set[str]:
    truth = pl.read_csv(max((landing / "truth" / "student_admin").iterdir()) / "defects.csv", infer_schema=False)
    return set(truth.filter(pl.col("defect_class") == "annulled_study_right")["record_key"])


def test_the_mart_has_totals_per_report_and_column_and_no_personal_data(small_landing, small_run):
    _, warehouse = small_run
    mart = duckdb.connect().sql(f"select * from '{warehouse}/published/mart_koski_reconciliation.parquet'").pl()
    truth = _truth(small_landing)
    reports = mart.partition_by("oppilaitos_oid", "period_first_day", as_dict=True)
    assert len(reports) == 3
    for (oid, first), rows in reports.items():
        assert rows["column"].to_list() == [c.name for c in RECONCILED]
        file = f"opiskelijavuositiedot_{oid}_{first:%Y%m%d}-{rows['period_last_day'][0]:%Y%m%d}.xlsx"
        mine = truth.filter(pl.col("file") == file)
        assert set(rows["rows_only_in_koski"]) == {int((mine["kind"] == "only_in_koski").sum())}
        assert set(rows["rows_only_ours"]) == {int((mine["kind"] == "only_ours").sum())}
        old = rows.filter(pl.col("column") == "student_year_days_old").row(0, named=True)
        assert old["rows_differing"] == 1 and old["is_compared"]
        current = rows.filter(pl.col("column") == "student_year_days_current").row(0, named=True)
        if first.year == 2026:  # today's file: the current formula is compared, and agrees
            assert current["is_compared"] and current["rows_differing"] == 0 and current["koski_total"] > 0
        else:  # the 2025 layout has no current formula: not compared, and the mart says why
            assert not current["is_compared"] and "has no column" in current["not_compared_because"]
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
    assert 'data-column="student_year_days_current" data-differing="0" data-compared="no"' in html


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
    assert report.unreadable == [(2, "Opiskelijavuosikertymä (pv) - vanha laskentakaava (ennen v. 2026)", "paljon")]


def test_a_figure_column_deleted_by_a_person_is_not_compared_and_that_is_said():
    headers = [c.source_header for c in KOSKI_FILE.columns if c.name != "hojks_days"]
    report = read_koski_report(NAME, _workbook([], headers=headers))
    assert "hojks_days" not in report.compared and report.not_compared == {
        "hojks_days": "the file has no column 'Hojks (pv)'"
    }


@pytest.mark.parametrize(
    "name, data, words",
    [
        (
            NAME,
            _workbook([], headers=["Oppijan oid", "Hetu"], sheet="Taulukko1"),
            "no sheet has KOSKI's header row (with 'Opiskeluoikeuden oid' and 'Opiskeluoikeuden tunniste "
            "lähdejärjestelmässä'); the workbook's sheets are 'Taulukko1'",
        ),
        (NAME, b"PK\x03\x04 not really a zip file", "not a readable Excel workbook"),
        ("raportti.xlsx", b"", "the name is not KOSKI's opiskelijavuositiedot_"),
    ],
)
def test_a_file_that_cannot_be_read_is_named_with_sheet_and_header(name, data, words):
    with pytest.raises(FileProblem) as problem:
        read_koski_report(name, data)
    assert str(problem.value).startswith(name) and words in str(problem.value), str(problem.value)


def _reports(landing):
    return sorted((landing / "koski").glob("*/*.xlsx"))


def test_a_broken_koski_file_does_not_stop_the_run(small_landing, tmp_path, fast_env):
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    report = next(r for r in _reports(landing) if r.read_bytes().startswith(b"\xd0\xcf"))  # an encrypted one
    whole = report.read_bytes()
    report.write_bytes(whole[: len(whole) // 2])  # the same workbook, cut short
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    assert f"KOSKI report not reconciled: {report.name}: " in result.stderr
    published = duckdb.connect().sql(
        f"select count(distinct period_first_day || oppilaitos_oid) from "
        f"'{tmp_path}/wh/published/mart_koski_reconciliation.parquet'"
    )
    assert published.fetchall() == [(2,)]  # the other two reports are reconciled


def test_without_the_koski_password_each_encrypted_report_is_one_clear_line_and_the_run_goes_on(
    small_landing, tmp_path, fast_env
):
    result = run_cli(
        "run", "--landing", str(small_landing), "--warehouse", str(tmp_path / "wh"), env=fast_env, koski_password=None
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "KOSKI report not reconciled" in line]
    assert len(lines) == 2 and all("no KOSKI password was given: set TIEDOLLA_KOSKI_PASSWORD" in x for x in lines)
    mart = pl.read_parquet(tmp_path / "wh" / "published" / "mart_koski_reconciliation.parquet")
    assert mart["period_first_day"].unique().to_list() == [dt.date(2025, 1, 1)]  # the plain copy still reconciles
    wrong = tmp_path / "password.txt"
    wrong.write_text("väärä salasana\n", encoding="utf-8")
    result = run_cli(
        "run",
        "--landing",
        str(small_landing),
        "--warehouse",
        str(tmp_path / "wh"),
        "--koski-password-file",
        str(wrong),
        env=fast_env,
        koski_password=None,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("the KOSKI password does not open it") == 2 and "väärä" not in result.stderr


def test_a_difference_fixed_in_a_later_report_shows_as_resolved(small_landing, tmp_path, fast_env):
    from openpyxl import load_workbook

    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    shutil.copytree(small_landing, landing)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env).returncode == 0
    report = next(r for r in _reports(landing) if r.read_bytes().startswith(b"PK"))  # the copy a person saved
    changed = _truth(small_landing).filter((pl.col("kind") == "figure_differs") & (pl.col("file") == report.name))
    changed = changed["study_right_id"][0]
    book = load_workbook(report)
    sheet = book["Opiskeluoikeudet"]
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
    fixed = history.filter((pl.col("rule_id") == "koski_report.figure_differs") & (pl.col("record_key") == changed))
    assert fixed["status"].to_list() == ["resolved"]
    assert set(history.filter(pl.col("record_key") != changed)["status"]) == {"open"}


#: the test's own provider of two oppilaitokset, its toimipisteet mapped in the site configuration
SPLIT = {
    "1.2.246.562.10.55555555501": ["Kouvolan kampus", "Kuusankosken toimipiste", "Verkko-opetus"],
    "1.2.246.562.10.55555555502": ["Haminan kampus", "Mikkelin kampus"],
}
#: what KOSKI's headers of earlier versions name (read off KOSKI's texts), beside today's (our schema's)
OLDER_NAMES = {
    "Opiskelijavuosikertymä (pv)": "student_year_days_old",
    "Vaativat erityisen tuen tehtävä (pv)": ("demanding_special_support_days"),
}
SUPERSEDED = (
    "Opiskelijavuosikertymä 2026 (pv)",
    "Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (v. 2026 eteenpäin)",
)


def _koski_files(landing, tmp_path) -> pl.DataFrame:
    """Replace the demo's reports with KOSKI-built ones: a report of each version of KOSKI's headers for the first
    oppilaitos (a month each), and today's for the second; each with one figure changed, one row only in KOSKI and
    one of ours left out; the 2023 one with a totals row. Returns the truth (kind, study_right_id, column, file)."""
    from pipelines.ingestion.landing import Landing
    from pipelines.marts.student_year_history import history_from_folder
    from pipelines.marts.student_years import month_end, per_study_right
    from tests.koski_workbook import VERSIONS, encrypted, file_name, koski_report

    shutil.rmtree(landing / "koski")
    area = Landing.at(landing)
    history, _ = history_from_folder(area, area.export_folder("student_admin"))
    campus = dict(history.study_rights.select("study_right_id", pl.col("campus").str.strip_chars()).rows())
    oppilaitos_of = {c: oid for oid, campuses in SPLIT.items() for c in campuses}
    by_name = {c.source_header: c.name for c in KOSKI_FILE.columns} | OLDER_NAMES
    plan = [(v, next(iter(SPLIT)), dt.date(2026, m, 1)) for m, v in enumerate(VERSIONS, start=1)]
    plan.append(("2026-06 (today)", list(SPLIT)[1], dt.date(2026, 1, 1)))
    truth = []
    for n, (version, oid, first) in enumerate(plan):
        last = month_end(first) if oid == next(iter(SPLIT)) else dt.date(2026, 10, 31)
        ours = per_study_right(history, first, last).filter(
            pl.col("study_right_id").replace_strict(campus, default=None).replace_strict(oppilaitos_of, default=None)
            == oid
        )
        sent = ours.filter(pl.col("study_right_oid").is_not_null())
        name = file_name(oid, first, last)
        changed, dropped = sent["study_right_id"][0], sent["study_right_id"][1]
        rows = []
        for r in sent.filter(pl.col("study_right_id") != dropped).iter_rows(named=True):
            row = {h: r.get(col) for h, col in by_name.items()}
            row |= {h: (r["student_year_days_current"] or 0) + 7 for h in SUPERSEDED}  # (never compared)
            if r["study_right_id"] == changed:
                row[next(h for h in VERSIONS[version] if by_name.get(h) == "student_year_days_old")] += 2
            rows.append(row)
        rows.append(
            rows[0]
            | {
                "Opiskeluoikeuden oid": f"1.2.246.562.15.777777777{n:02d}",
                "Opiskeluoikeuden tunniste lähdejärjestelmässä": f"OO-KOSKI-{n}",
            }
        )
        if version == "2023-03":
            rows.append({"Opiskeluoikeuden oid": "Yhteensä", "Opiskelijavuosikertymä (pv)": 9999.0})
        data = encrypted(koski_report(VERSIONS[version], rows, oid, first, last), "KOSKIn-salasana")
        (landing / "koski" / "2026-11-20").mkdir(parents=True, exist_ok=True)
        (landing / "koski" / "2026-11-20" / name).write_bytes(data)
        truth += [
            ("figure_differs", changed, "student_year_days_old", name),
            ("only_in_koski", f"OO-KOSKI-{n}", None, name),
            ("only_ours", dropped, None, name),
            *(("only_ours", r, None, name) for r in ours.filter(pl.col("study_right_oid").is_null())["study_right_id"]),
        ]
    return pl.DataFrame(truth, schema=["kind", "study_right_id", "column", "file"], orient="row")


def test_every_version_of_koskis_report_reconciles_with_exactly_its_planted_differences(small_landing, tmp_path):
    """Workbooks laid out and encrypted as KOSKI writes them, of every version of its headers, one oppilaitos's
    beside another's: exactly the planted differences; the other oppilaitos, the totals row, the earlier count of the
    new formula and the annulled study rights add none."""
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    truth = _koski_files(landing, tmp_path)
    password = tmp_path / "secret" / "koski.txt"
    password.parent.mkdir()
    password.write_text("KOSKIn-salasana\n", encoding="utf-8")
    site = site_config(tmp_path / "site", reports={"data_docs": False}, koski={"oppilaitokset": SPLIT})
    result = run_cli(
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(tmp_path / "wh"),
        "--site-config",
        str(site),
        "--koski-password-file",
        str(password),
        koski_password=None,
    )
    assert result.returncode == 0, result.stderr
    _same(_found(tmp_path / "wh"), truth)
    quarantine = pl.read_parquet(tmp_path / "wh" / "quarantine" / "koski_report.parquet")
    assert quarantine.filter(pl.col("rule_id") == "koski_report.oppilaitos_unknown").height == 0
    assert not set(quarantine["record_key"].drop_nulls()) & _annulled(small_landing)
    mart = pl.read_parquet(tmp_path / "wh" / "published" / "mart_koski_reconciliation.parquet")
    current = mart.filter(pl.col("column") == "student_year_days_current")
    assert current.filter(pl.col("is_compared")).height == 2 and current["rows_differing"].sum() == 0
    html = (tmp_path / "wh" / "reports" / "steward" / "index.en.html").read_text(encoding="utf-8")
    assert "not a study right (no Opiskeluoikeuden oid or tunniste; it reads &#39;Yhteensä&#39;)" in html
    assert html.count("KOSKI&#39;s earlier count of the new formula") == 2  # the two files of those versions
