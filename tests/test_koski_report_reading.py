"""Reading KOSKI's report as a provider downloads it: encrypted, in every version of its headers, in any column
order, with a totals row a person added; and refusing a workbook built to exhaust memory. The workbooks are built
by ``tests/koski_workbook.py`` from KOSKI's own definition, never by the demo's writer."""

import datetime as dt
import io
import zipfile

import polars as pl
import pytest

from pipelines.ingestion.problems import FileProblem
from pipelines.ingestion.spreadsheet import WrongPassword, read_koski_report
from pipelines.marts.reconciliation import place_in_oppilaitos
from tests.koski_workbook import (
    CURRENT_FORMULA_TODAY,
    KOSKI_TODAY,
    OLD_FORMULA_TODAY,
    VERSIONS,
    encrypted,
    file_name,
    koski_report,
    workbook,
)

OPPILAITOS = "1.2.246.562.10.12345678901"
FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 10, 31)
NAME = file_name(OPPILAITOS, FIRST, LAST)
PASSWORD = "Salasana-123"


def _row(oid: str, right: str | None, old: float, current: float | None = None, **more) -> dict:
    row = {
        "Opiskeluoikeuden oid": oid,
        "Lähdejärjestelmä": "primus",
        "Opiskeluoikeuden tunniste lähdejärjestelmässä": right,
        "Ostettu": False,
        "Päivitetty": dt.date(2026, 11, 2),
        "Yksilöity": True,
        "Oppijan oid": "1.2.246.562.24.10000000001",
        "Hetu": "010106A901X",
        "Sukunimi": "Testinen",
        "Etunimet": "Testi",
        "Suorituksen tyyppi": "ammatillinentutkinto",
        "Opiskeluoikeuden alkamispäivä": dt.date(2025, 8, 1),
        "Rahoitukset": "1",
        "Läsnä rahoitus syötetty": True,
        "Loma/valmistunut rahoitus syötetty": False,
        "Päättynyt": False,
        "Opiskelijavuosikertymä (pv)": old,
        OLD_FORMULA_TODAY: old,
        "Läsnä tai valmistunut (pv)": old,
        CURRENT_FORMULA_TODAY: current,
        "Opiskelijavuosikertymä 2026 (pv)": current,
        "Opiskelijavuosikertymä (pv) - nykyinen laskentakaava (v. 2026 eteenpäin)": current,
        "Vaativa erityisen tuen tehtävä (pv)": 12,
        "Vaativat erityisen tuen tehtävä (pv)": 12,
        "Osa-aikaisuus keskimäärin (%)": 100.0,
        "Henkilöstökoulutus": False,
        "Koulutusvienti": False,
    }
    return row | more


ROWS = [
    _row("1.2.246.562.15.10000000001", "OO-1", 304.0, 273.0),
    _row("1.2.246.562.15.10000000002", None, 150.5, 120.5),  # no source id: matched on the OID
] + [_row(f"1.2.246.562.15.2{n:010d}", f"OO-{n + 10}", float(n), float(n)) for n in range(40)]


def _report(headers=KOSKI_TODAY, rows=ROWS, **read) -> bytes:
    return koski_report(headers, rows, OPPILAITOS, FIRST, LAST)


def test_an_encrypted_report_reads_with_the_password_and_as_a_plain_copy_alike():
    plain = _report()
    locked = encrypted(plain, PASSWORD)
    assert locked.startswith(b"\xd0\xcf\x11\xe0") and not locked.startswith(b"PK")  # an OLE2 file, not a zip
    a, b = read_koski_report(NAME, locked, PASSWORD), read_koski_report(NAME, plain)
    assert a.encrypted and not b.encrypted and a.sheet == "Opiskeluoikeudet"
    assert a.rows.equals(b.rows) and a.rows.height == len(ROWS) and not a.unreadable and not a.skipped
    row = a.rows.row(0, named=True)
    assert row["study_right_id"] == "OO-1" and row["student_year_days_old"] == 304.0
    assert row["student_year_days_current"] == 273.0 and row["demanding_special_support_days"] == 12.0
    assert row["ended"] is False  # KOSKI's Boolean is the number 0 shown as "ei"
    assert a.compared == tuple(c for c in a.compared) and "student_year_days_current" in a.compared


@pytest.mark.parametrize(
    "password, words",
    [
        (
            None,
            "is encrypted (KOSKI encrypts its report with the password typed when downloading it), and no KOSKI "
            "password was given: set TIEDOLLA_KOSKI_PASSWORD",
        ),
        ("väärä", "the KOSKI password does not open it"),
    ],
)
def test_a_missing_or_wrong_password_is_one_clear_line(password, words):
    with pytest.raises(WrongPassword) as problem:
        read_koski_report(NAME, encrypted(_report(), PASSWORD), password)
    message = str(problem.value)
    assert message.startswith(NAME) and words in message and "\n" not in message and PASSWORD not in message


@pytest.mark.parametrize("version", list(VERSIONS))
def test_every_version_of_koskis_headers_reads_and_says_what_it_compares(version):
    headers = VERSIONS[version]
    report = read_koski_report(NAME, encrypted(_report(headers), PASSWORD), PASSWORD)
    first_two = report.rows.head(2)
    assert first_two["student_year_days_old"].to_list() == [304.0, 150.5]
    assert first_two["demanding_special_support_days"].to_list() == [12.0, 12.0]
    assert first_two["study_right_id"].to_list() == ["OO-1", None] and report.rows.height == len(ROWS)
    assert "student_year_days_old" in report.compared and "demanding_special_support_days" in report.compared
    if version == "2026-06 (today)":
        assert "student_year_days_current" in report.compared and not report.not_compared
    else:  # no current formula, or KOSKI's earlier count of it (from 1.1.2026, fewer types): never compared
        assert "student_year_days_current" not in report.compared
        assert list(report.not_compared) == ["student_year_days_current"]
    if version in ("2026-03", "2026-02-19"):
        assert "earlier count of the new formula" in report.not_compared["student_year_days_current"]


def test_columns_in_another_order_with_a_totals_row_and_a_note_read_and_the_extra_rows_are_named():
    shuffled = tuple(reversed(KOSKI_TODAY))
    rows = [list(shuffled)] + [[r.get(h) for h in shuffled] for r in ROWS[:2]]
    total = [None] * len(shuffled)
    total[shuffled.index("Opiskeluoikeuden oid")] = "Yhteensä"
    total[shuffled.index(OLD_FORMULA_TODAY)] = 454.5
    note = [None] * len(shuffled)
    note[-1] = "Tarkistettu 3.11. / MV"
    data = workbook(
        [("Ohjeet", [["Opiskelijavuositiedot"]]), ("Taulukko1", [["KOSKI-raportti"], [], *rows, total, [], note])]
    )
    report = read_koski_report(NAME, data)
    assert report.sheet == "Taulukko1" and report.rows.height == 2
    assert report.rows["student_year_days_old"].to_list() == [304.0, 150.5]
    assert report.rows["source_line"].to_list() == [4, 5]
    assert [line for line, _ in report.skipped] == [6, 8] and report.skipped[0][1] == "Yhteensä"


def test_a_workbook_without_koskis_header_row_is_named():
    with pytest.raises(FileProblem) as problem:
        read_koski_report(NAME, workbook([("Taulukko1", [["Oppijan oid", "Hetu"]])]))
    assert "no sheet has KOSKI's header row" in str(problem.value) and "'Taulukko1'" in str(problem.value)


def _bomb(rows: int) -> bytes:
    """A valid workbook whose one sheet repeats an empty-ish row: a small file that unpacks to far more."""
    plain = _report()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                filler = b"".join(b'<row r="%d"><c r="A%d"><v>0</v></c></row>' % (i, i) for i in range(10, 10 + rows))
                data = data.replace(b"</sheetData>", filler + b"</sheetData>")
            bomb.writestr(info.filename, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "limits, words",
    [
        ({"max_unpacked_bytes": 2_000_000}, "unpacks to more than 2 MB (limits.max_workbook_unpacked_mb)"),
        ({"max_cells": 10_000}, "holds more than 10 000 cells (limits.max_workbook_cells)"),
    ],
)
def test_a_workbook_that_unpacks_too_far_is_refused_before_it_is_read(limits, words):
    bomb = _bomb(100_000)
    assert len(bomb) < 1_000_000
    with pytest.raises(FileProblem) as problem:
        read_koski_report(NAME, encrypted(bomb, PASSWORD), PASSWORD, **limits)
    assert words in str(problem.value)


def _placed(reports, campus_map=None):
    rights = pl.DataFrame(
        {
            "study_right_id": ["A1", "A2", "A3", "B1", "B2", "C1", "D1"],
            "study_right_oid": ["1.2.246.562.15.1", None, None, "1.2.246.562.15.4", None, None, None],
            "campus": ["Kouvola", "Kouvola ", "kouvola", "Hamina", "Hamina", "Mikkeli", "1.2.246.562.10.2"],
        }
    )
    placed = place_in_oppilaitos(rights, reports, campus_map or {})
    return dict(placed.select("study_right_id", "oppilaitos_oid").rows()), dict(
        placed.select("study_right_id", "placed_by").rows()
    )


class _Report:
    def __init__(self, oid, rights=(), oids=()):
        self.oppilaitos_oid = oid
        self.rows = pl.DataFrame(
            {"study_right_id": [*rights, *([None] * len(oids))], "study_right_oid": [*([None] * len(rights)), *oids]},
            schema={"study_right_id": pl.Utf8, "study_right_oid": pl.Utf8},
        )


def test_each_study_right_is_placed_in_the_oppilaitos_whose_file_it_is_compared_with():
    reports = [_Report("1.2.246.562.10.1", rights=["A1"]), _Report("1.2.246.562.10.2", oids=["1.2.246.562.15.4"])]
    oid, how = _placed(reports)
    # found in KOSKI's file; most of its toimipiste's found study rights are there; its Toimipiste is the OID
    assert (oid["A1"], how["A1"]) == ("1.2.246.562.10.1", "koski")
    assert (oid["A2"], oid["A3"], how["A2"]) == ("1.2.246.562.10.1", "1.2.246.562.10.1", "campus")
    assert (oid["B1"], oid["B2"]) == ("1.2.246.562.10.2", "1.2.246.562.10.2")
    assert (oid["D1"], how["D1"]) == ("1.2.246.562.10.2", "export")
    assert oid["C1"] is None  # Mikkeli is in no file and not mapped: compared with none, listed
    oid, how = _placed(reports, {"Mikkeli": "1.2.246.562.10.2", "Kouvola": "1.2.246.562.10.2"})
    assert (oid["C1"], how["C1"]) == ("1.2.246.562.10.2", "site") and oid["A1"] == "1.2.246.562.10.2"
    oid, how = _placed(reports[:1])  # one oppilaitos: everything is its
    assert set(oid.values()) == {"1.2.246.562.10.1"} and how["C1"] == "only_oppilaitos"
