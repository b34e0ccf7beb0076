"""The data stewards' workflow, seen through a real browser: history, report, waivers, correction lists, Data Docs."""

import copy
import csv
import io
import json
import re
import shutil
import unicodedata
from pathlib import Path

import polars as pl
import pytest
import yaml

from schemas import crm, student_admin
from tests.browser import console_errors, png_pixels, rendered_dom, screenshot, share_of_colour
from tests.conftest import run_cli, site_config
from tests.landing import valid_crm_rows, valid_rows, write_landing, write_source

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset

SCRIPT = "<script>document.title='PWNED'</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def _site(folder: Path, waivers: list[dict]) -> Path:
    """The shipped site configuration with its own waiver file."""
    (folder / "waivers.yaml").write_text(yaml.safe_dump({"waivers": waivers}), encoding="utf-8")
    return site_config(folder, waivers="waivers.yaml")


def _export(landing: Path, day: str, fixed: bool) -> None:
    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["sex"] = "2"  # disagrees with the henkilötunnus: waived until 2026-11-25
    if not fixed:
        rows["students"][1]["birth_date"] = "31.2.2006"  # fixed in the next export
    rows["study_rights"][0]["campus"] = SCRIPT + " "
    rows["study_rights"][1]["campus"] = FORMULA + " "
    write_source(landing, crm.TABLES, valid_crm_rows(), ",", day=day)
    write_source(landing, student_admin.TABLES, rows, ";", day=day)


WAIVERS = [
    {
        "rule": "students.hetu_matches_sex",
        "source_key": "1001",
        "reason": "corrected in the register",
        "approved_by": "steward",
        "expires": "2026-11-25",
    },
    {
        "rule": "students.hetu.valid",
        "source_key": "9999",
        "reason": "a student who is not in the export",
        "approved_by": "steward",
        "expires": "2027-12-31",
    },
]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("steward")
    site = _site(root, WAIVERS)
    landing, warehouse = root / "landing", root / "wh"
    _export(landing, "2026-11-20", fixed=False)
    first = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--site-config", str(site))
    assert first.returncode == 0, first.stderr
    shutil.copytree(warehouse / "reports", root / "first_reports")
    quarantine_first = {p.stem: pl.read_parquet(p) for p in (warehouse / "quarantine").glob("*.parquet")}
    _export(landing, "2026-11-30", fixed=True)
    second = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--site-config", str(site))
    assert second.returncode == 0, second.stderr
    return root, warehouse, quarantine_first


def _rules_on_page(dom: str) -> dict[str, dict[str, int]]:
    out = {}
    for m in re.finditer(
        r'<tr class="rule" data-rule="([^"]+)" data-failing="(\d+)" data-new="(\d+)" '
        r'data-resolved="(\d+)" data-waived="(\d+)"',
        dom,
    ):
        out[m.group(1)] = dict(zip(("failing", "new", "resolved", "waived"), map(int, m.groups()[1:])))
    return out


def test_the_report_counts_equal_the_quarantine(two_runs):
    root, _, quarantine = two_runs
    page = root / "first_reports" / "steward" / "index.html"
    dom = rendered_dom(page)
    on_page = _rules_on_page(dom)
    rows = pl.concat(list(quarantine.values()), how="diagonal_relaxed")
    expected = rows.filter(pl.col("severity") != "waived").group_by("rule_id").len()
    assert {r: c["failing"] for r, c in on_page.items() if c["failing"]} == dict(expected.iter_rows())
    assert on_page["students.hetu_matches_sex"]["waived"] == 1 and on_page["students.birth_date.format"]["new"] == 1
    _, _, rows = png_pixels(screenshot(page, root / "steward.png"))  # rendered: dark text, the blue section rules
    assert 0.005 < share_of_colour(rows[::6], (0x1B, 0x1B, 0x1B), 60) < 0.3
    assert share_of_colour(rows, (0x2A, 0x5D, 0x8F), 20) > 0.0005


def test_data_from_the_export_is_shown_as_text_never_run(two_runs):
    root, _, _ = two_runs
    dom = rendered_dom(root / "first_reports" / "steward" / "index.html")
    assert "<title>Tietojen laatu: tarkistettavat rivit</title>" in dom and "PWNED</title>" not in dom
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom


def test_english_is_available(two_runs):
    root, _, _ = two_runs
    dom = rendered_dom(root / "first_reports" / "steward" / "index.en.html")
    assert "Data quality: rows to review" in dom and 'href="index.html"' in dom


def test_a_fixed_failure_shows_as_resolved_and_an_expired_waiver_resurfaces(two_runs):
    _, warehouse, _ = two_runs
    on_page = _rules_on_page(rendered_dom(warehouse / "reports" / "steward" / "index.html"))
    assert on_page["students.birth_date.format"] == {"failing": 0, "new": 0, "resolved": 1, "waived": 0}
    assert on_page["students.hetu_matches_sex"]["failing"] == 1 and on_page["students.hetu_matches_sex"]["waived"] == 0
    history = pl.read_parquet(warehouse / "stewardship" / "failure_history.parquet")
    status = dict(zip(history["rule_id"], history["status"]))
    assert status["students.birth_date.format"] == "resolved" and status["students.hetu_matches_sex"] == "open"


def test_a_waiver_publishes_the_row_and_an_unmatched_one_is_reported(two_runs):
    root, _, _ = two_runs
    dom = rendered_dom(root / "first_reports" / "steward" / "index.html")
    active = dom.split('class="waivers-active"')[1].split("</table>")[0]
    unmatched = dom.split('class="waivers-unmatched"')[1].split("</table>")[0]
    assert 'data-key="1001"' in active and 'data-key="9999"' in unmatched
    later = rendered_dom(two_runs[1] / "reports" / "steward" / "index.html")
    assert 'data-key="1001"' in later.split('class="waivers-expired"')[1].split("</table>")[0]
    # and the data say the same: published as it came, flagged, while the waiver held; cleared once it expired (the
    # value itself is not seen in dim_student, whose quasi-identifiers are k-anonymous: two students share none)
    import duckdb

    from tests.conftest import pseudonym

    _, warehouse, quarantine_first = two_runs
    rule = pl.col("rule_id") == "students.hetu_matches_sex"
    assert quarantine_first["students"].filter(rule)["severity"].to_list() == ["waived"]
    later = pl.read_parquet(warehouse / "quarantine" / "students.parquet").filter(rule)
    assert later.select("severity", "consequence").rows() == [("error", "clear")]
    first, second = sorted(
        (warehouse / "versions").iterdir(), key=lambda v: json.loads((v / "manifest.json").read_text())["as_of"]
    )
    con = duckdb.connect()
    flagged = {
        folder.name: con.execute(
            f"SELECT has_warnings FROM read_parquet('{folder}/dim_student.parquet') WHERE student_key = ?",
            [pseudonym("1001", "student")],
        ).fetchall()
        for folder in (first, second)
    }
    assert flagged == {first.name: [(True,)], second.name: [(True,)]}


def test_correction_lists_open_in_excel_and_neutralise_formulas(two_runs):
    root, _, _ = two_runs
    data = (root / "first_reports" / "steward" / "corrections_student_admin.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    values = [r[6] for r in rows[1:]]
    assert "'" + FORMULA in values and FORMULA not in values
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


#: every way a cell can start a formula: the characters, after spaces, in full-width forms, and after a comma for a
#: spreadsheet whose list separator is a comma
FORMULAS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\u3000=1+1",
    "＝1+1",
    "＋1",
    "＠SUM(A1)",
    "x,=1+1,",
    "x;=1+1",
]


@pytest.mark.parametrize("separator", [";", ","])
def test_no_correction_list_cell_can_start_a_formula(separator):
    from pipelines.stewardship.corrections import correction_list
    from pipelines.stewardship.failure_history import HISTORY_SCHEMA

    history = pl.DataFrame(
        [
            {
                **{c: None for c in HISTORY_SCHEMA},
                "source_system": "student_admin",
                "source_file": "f.csv",
                "source_line": i + 2,
                "record_key": value,
                "rule_id": "r",
                "message": value,
                "message_fi": value,
                "masked_value": value,
                "status": "open",
                "last_seen_run": "run",
            }
            for i, value in enumerate(FORMULAS)
        ],
        schema=HISTORY_SCHEMA,
    )
    text = correction_list(history, "student_admin", "run").decode("utf-8-sig")
    # a CSV parser, and the bluntest reading a spreadsheet may do: split every line at the separator
    cells = [c for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) for c in row]
    cells += [piece.lstrip('" ') for line in text.splitlines() for piece in line.split(separator)]
    assert len(cells) > 2 * len(FORMULAS)
    for cell in cells:
        start = unicodedata.normalize("NFKC", cell).lstrip(" ")
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not start.startswith(("=", "+", "-", "@")), (
            cell
        )
    if separator == ";":
        values = [row[6] for row in csv.reader(io.StringIO(text, newline=""), delimiter=";")][1:]
        assert values[:-2] == ["'" + v.replace("\r=", "\r'=").replace("\t=", "\t'=") for v in FORMULAS[:-2]]
        assert values[-2:] == ["x,'=1+1,", "x;'=1+1"]


def test_data_docs_are_written_and_linked(two_runs):
    _, warehouse, _ = two_runs
    report = rendered_dom(warehouse / "reports" / "steward" / "index.html")
    assert 'href="../data_docs/index.html"' in report
    docs = rendered_dom(warehouse / "reports" / "data_docs" / "index.html")
    assert "dim_student" in docs and "mart_customer_segments" in docs


def test_data_docs_work_offline_and_name_what_they_checked(two_runs):
    """The test machine has no internet, like a steward's locked-down browser: every page's scripts and styles are
    files beside it, its scripts run without an error, and the index lists every table's validation as rows of a
    table (not as data for a script from a CDN). Each validation names its table and the version it checked: this
    one, or the one before for a table this version kept from it (the same file)."""
    from schemas import published

    _, warehouse, _ = two_runs
    site = warehouse / "reports" / "data_docs"
    version = (warehouse / "published").resolve().name
    index = site / "index.html"
    pages = [index, site / "expectations" / "dim_student.html", *(site / "validations" / "dim_student").rglob("*.html")]
    assert len(pages) == 3
    for page in pages:
        html = page.read_text(encoding="utf-8")
        loaded = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', html)
        assert loaded and not [u for u in loaded if "//" in u], (page, loaded)
        assert all((page.parent / u).resolve().is_file() for u in loaded), (page, loaded)
        assert console_errors(page) == [], page
    dom = rendered_dom(index)
    linked = re.findall(r'<a href="validations/([a-z_]+)/([0-9a-f-]+)/', dom)
    assert sorted(table for table, _ in linked) == sorted(t.name for t in published.TABLES)
    for table, checked in linked:  # (a table kept from the version before keeps the validation that version made)
        published_file = warehouse / "published" / f"{table}.parquet"
        assert (warehouse / "versions" / checked / f"{table}.parquet").samefile(published_file), (table, checked)
    assert version in {checked for _, checked in linked}  # (the tables the second export changed)
    validation = re.sub(r"<[^>]+>", " ", pages[2].read_text(encoding="utf-8"))
    assert re.search(r"Data asset:\s+dim_student\b", validation) and "__none__" not in validation
    assert "Julkaistun taulun" in pages[1].read_text(encoding="utf-8")


def test_data_docs_show_every_expectation_run_and_results_that_match_the_published_data(two_runs):
    """Each published table's validation page: every expectation the model makes was evaluated, and the verdict is
    the one DuckDB reaches on the published Parquet (no nulls where the model forbids them, unique keys unique)."""
    import html as html_module

    import duckdb

    from pipelines.stewardship.data_docs import expectations
    from schemas import published

    _, warehouse, _ = two_runs
    con = duckdb.connect()
    for table in published.TABLES:
        page = next((warehouse / "reports" / "data_docs" / "validations" / table.name).rglob("*.html"))
        text = re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))))
        evaluated = int(re.search(r"Evaluated Expectations (\d+)", text).group(1))
        failed = int(re.search(r"Unsuccessful Expectations (\d+)", text).group(1))
        assert evaluated == len(expectations(table)), table.name
        parquet = (warehouse / "published" / f"{table.name}.parquet").as_posix()
        broken = sum(
            con.execute(f"SELECT count(*) FROM read_parquet('{parquet}') WHERE \"{c.name}\" IS NULL").fetchone()[0] > 0
            for c in table.columns
            if not c.nullable
        )
        broken += sum(
            con.execute(
                f'SELECT count("{c.name}") - count(DISTINCT "{c.name}") FROM read_parquet(\'{parquet}\')'
            ).fetchone()[0]
            > 0
            for c in table.columns
            if c.unique
        )
        assert (failed == 0) == (broken == 0) and ("Status: Succeeded" in text) == (failed == 0), table.name


def test_waive_command_checks_and_adds(tmp_path):
    site = _site(tmp_path, [])
    ok = run_cli(
        "waive",
        "--rule",
        "students.hetu_matches_sex",
        "--key",
        "1001",
        "--reason",
        "fixed at source",
        "--approved-by",
        "steward",
        "--expires",
        "2099-01-31",
        "--site-config",
        str(site),
    )
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load((tmp_path / "waivers.yaml").read_text())["waivers"][0]["source_key"] == "1001"
    for bad in (
        ["--rule", "no.such.rule", "--expires", "2099-01-31"],
        ["--rule", "students.hetu.valid", "--expires", "2001-01-01"],
        ["--rule", "students.hetu_matches_sex", "--expires", "2099-01-31"],
    ):  # unknown, past, already waived
        result = run_cli(
            "waive", *bad, "--key", "1001", "--reason", "r", "--approved-by", "s", "--site-config", str(site)
        )
        assert result.returncode == 2, result.stdout


def test_a_too_high_quarantine_share_stops_the_release_but_not_the_report(tmp_path):
    rows = copy.deepcopy(valid_rows())
    unit = rows["assessed_units"][0]
    rows["assessed_units"] = [{**unit, "unit_code": f"X{i}" if i < 10 else str(200000 + i)} for i in range(25)]
    landing = tmp_path / "landing"
    write_source(landing, crm.TABLES, valid_crm_rows(), ",")
    write_source(landing, student_admin.TABLES, rows, ";")
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"))
    assert result.returncode == 1 and "quarantine_share_under_threshold" in result.stderr
    assert not (tmp_path / "wh" / "published").exists()
    on_page = _rules_on_page(rendered_dom(tmp_path / "wh" / "reports" / "steward" / "index.html"))
    assert on_page["assessed_units.unit_code.format"]["failing"] == 10


def test_waive_without_a_site_configuration_writes_beside_the_warehouse_and_the_run_reads_it(tmp_path):
    from pipelines.site import DEFAULT_SITE_CONFIG

    shipped = (DEFAULT_SITE_CONFIG.parent / "waivers.yaml").read_bytes()
    assert (
        run_cli(
            "waive",
            "--rule",
            "students.hetu_matches_sex",
            "--key",
            "1001",
            "--reason",
            "r",
            "--approved-by",
            "s",
            "--expires",
            "2099-01-31",
        ).returncode
        == 2
    )  # whose runs? say so
    ok = run_cli(
        "waive",
        "--rule",
        "students.hetu_matches_sex",
        "--key",
        "1001",
        "--reason",
        "fixed at source",
        "--approved-by",
        "steward",
        "--expires",
        "2099-01-31",
        "--warehouse",
        str(tmp_path / "wh"),
    )
    assert ok.returncode == 0, ok.stderr
    assert (DEFAULT_SITE_CONFIG.parent / "waivers.yaml").read_bytes() == shipped  # never into the installed package
    rows = copy.deepcopy(valid_rows())
    rows["students"][0]["sex"] = "2"  # disagrees with the henkilötunnus: the waiver lets it through unchanged
    write_source(tmp_path / "landing", student_admin.TABLES, rows, ";")
    run = run_cli("run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh"))
    assert run.returncode == 0, run.stderr
    failures = pl.read_parquet(tmp_path / "wh" / "quarantine" / "students.parquet")
    assert failures.filter(pl.col("rule_id") == "students.hetu_matches_sex")["severity"].to_list() == ["waived"]


@pytest.mark.slow
def test_an_unreadable_file_is_a_failure_of_the_file_for_the_steward(tmp_path, fast_env):
    """A file saved again with ',' is named on the report's first screen (Finnish and English), with what to do; the
    run's last line names it, not the quality gate; a dependent table's earlier failure stays open (its rows were
    not checked)."""
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    rows = valid_rows()
    rows["status_periods"][4]["funding_code"] = ""  # OO-2's lasna without a funding code: a flag, open
    folder = write_landing(landing, rows)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env).returncode == 0
    text = (folder / "opiskeluoikeudet.csv").read_text(encoding="utf-8")
    (folder / "opiskeluoikeudet.csv").write_text(text.replace(";", ","), encoding="utf-8")
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "a file could not be read: opiskeluoikeudet.csv, line 1" in last
    for name, words in (
        ("index.html", "Tiedostoja ei voitu lukea: niiden rivejä ei tarkistettu eikä julkaistu"),
        ("index.en.html", "Files that could not be read: none of their rows was checked or published"),
    ):
        html = (warehouse / "reports" / "steward" / name).read_text(encoding="utf-8")
        banner = html[html.index('id="unreadable"') : html.index("</section>", html.index('id="unreadable"'))]
        assert words in banner and 'data-file="opiskeluoikeudet.csv"' in banner and "line 1" in banner
        assert html.index('id="unreadable"') < html.index('class="system"')  # the first screen
    history = pl.read_parquet(warehouse / "stewardship" / "failure_history.parquet")
    flag = history.filter(pl.col("rule_id") == "status_periods.funding_required")
    assert flag["status"].to_list() == ["open"]  # not "resolved": its rows could not be checked
    # the status periods waiting for the study rights are one failure of that file, not one per period
    periods = len(rows["status_periods"])
    waiting = pl.read_parquet(warehouse / "quarantine" / "status_periods.parquet").filter(
        pl.col("rule_id") == "status_periods.parent_file_unreadable"
    )
    assert periods > 1 and waiting.height == 1 and waiting["record_key"].to_list() == [None]
    assert waiting["message_fi"][0] == (
        "Tiedostoa opiskeluoikeudet.csv ei voitu lukea, joten siihen viittaavia rivejä ei voi tarkistaa: korjaa "
        f"ensin opiskeluoikeudet.csv: {periods} riviä (rivit 2–{periods + 1})"
    )
    summary = json.loads((warehouse / "run.json").read_text(encoding="utf-8"))
    assert summary["outcome"] == "refused"


def test_the_finnish_report_is_finnish_throughout(small_run):
    """System and file headings in Finnish (not student_admin, students), dates as 20.11.2026 and decimals with a
    comma on the Finnish page; the English page keeps ISO dates and decimal points."""
    _, warehouse = small_run
    fi = (warehouse / "reports" / "steward" / "index.html").read_text(encoding="utf-8")
    en = (warehouse / "reports" / "steward" / "index.en.html").read_text(encoding="utf-8")
    assert "Lähdejärjestelmä: opiskelijahallinto" in fi and "Lähdejärjestelmä: student_admin" not in fi
    assert "Tiedosto: opiskelijat.csv" in fi and "Taulu: students" not in fi
    assert 'data-date="2026-11-20">20.11.2026</span>' in fi and 'data-date="2026-11-20">2026-11-20</span>' in en
    held = re.findall(r'class="at-risk-group".*?<td class="n">([^<]*)</td><td class="n">([^<]*)</td></tr>', fi)
    assert held and all("," in a and "." not in a for a, _ in held)
    assert "Source system: student administration" in en
