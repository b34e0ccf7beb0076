"""Publishing never leaves a half state: crashes, concurrent runs, rollback, keys and landing safety."""

import copy
import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.publishing.warehouse import Warehouse
from schemas import published
from tests.conftest import TEST_KEY, HeldWarehouse, run_cli, site_config
from tests.landing import valid_crm_rows, valid_rows, write_landing

pytestmark = pytest.mark.slow  # runs the pipeline (or a browser): not in the quick subset


FAST_ENV: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _fast(fast_env):
    FAST_ENV.update(fast_env)


def _run(*args: str, env: dict | None = None, **kwargs):
    """``tiedolla`` without the Data Docs step: these tests are about publishing, not reports."""
    return run_cli(*args, env={**FAST_ENV, **(env or {})}, **kwargs)


def _content(warehouse: Path) -> dict[str, str]:
    """Per published table, a hash of its content read from the database of the version the release names (what BI
    sees: on object storage by following release.json; locally the links put after it)."""
    con = duckdb.connect(str(Warehouse(warehouse).published / "tiedolla.duckdb"), read_only=True)
    try:
        return {
            t.name: hashlib.sha256(con.sql(f"SELECT * FROM {t.name}").pl().write_csv().encode()).hexdigest()
            for t in published.TABLES
        }
    finally:
        con.close()


def _shown_version(warehouse: Path) -> str:
    """The version the dashboard at <warehouse>/reports/dashboard/ says it shows."""
    html = (warehouse / "reports" / "dashboard" / "index.html").read_text(encoding="utf-8")
    return html.split('<header data-version="', 1)[1].split('"', 1)[0]


@pytest.fixture(scope="module")
def tiny_landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny") / "landing"
    write_landing(root, crm_rows=valid_crm_rows())
    return root


@pytest.fixture(scope="module")
def good_warehouse(tiny_landing, tmp_path_factory) -> Path:
    warehouse = tmp_path_factory.mktemp("good") / "wh"
    result = _run("run", "--landing", str(tiny_landing), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    return warehouse


#: one step of each kind: reading, validating, matching, the student-year history, building a published table,
#: and inside the switch (after gathering the version, after replacing the link)
CRASH_POINTS = [
    "student_admin__raw_students",
    "validate_student_admin",
    "organization_master",
    "student_admin__student_year_history",
    "mart_customer_segments",
    "release:gathered",
    "release:switched",
]


@pytest.fixture(scope="module")
def changed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """An export that publishes a different set (one more target year), and that set's content."""
    root = tmp_path_factory.mktemp("changed")
    rows = copy.deepcopy(valid_rows())
    rows["targets"].append({"year": "2027", "target_student_years": "4600"})
    write_landing(root / "landing", rows, crm_rows=valid_crm_rows())
    result = _run("run", "--landing", str(root / "landing"), "--warehouse", str(root / "wh"))
    assert result.returncode == 0, result.stderr
    return root / "landing", _content(root / "wh")


@pytest.mark.parametrize("how", ["exception", "kill"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_leaves_the_published_set_wholly_old_or_wholly_new(good_warehouse, changed, tmp_path, point, how):
    """A run of a *different* export crashes: BI sees the old set whole, or (once the link was switched) the new set
    whole, never a mix. After a kill nothing was cleaned up: the next run clears what the crash left."""
    landing, new = changed
    warehouse = tmp_path / "wh"
    shutil.copytree(good_warehouse, warehouse, symlinks=True)
    before_version, before = Warehouse(warehouse).current_version(), _content(warehouse)
    offered = {v["version"] for v in Warehouse(warehouse).versions()}
    assert new != before

    crashed = _run(
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        env={"TIEDOLLA_FAILPOINT": point + (":kill" if how == "kill" else "")},
    )
    assert crashed.returncode == (-9 if how == "kill" else 1), crashed.stderr
    after = _content(warehouse)
    if point == "release:switched":  # the pointer's replace is atomic: the old set or the new one, never a mix
        assert after == new and Warehouse(warehouse).current_version() != before_version
    else:
        assert after == before and Warehouse(warehouse).current_version() == before_version
        # a version gathered but never switched in is not offered for rollback
        assert {v["version"] for v in Warehouse(warehouse).versions()} == offered
    if how == "exception":
        return  # (the process cleaned up after itself; a kill is the harder case for the next run)
    healthy = _run("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert healthy.returncode == 0, healthy.stderr
    assert _content(warehouse) == new
    # the local links follow the release again (a kill between the pointer and them left them on the old version)
    assert (warehouse / "published").resolve() == Warehouse(warehouse).published.resolve()
    assert (warehouse / "tiedolla.duckdb").resolve() == (Warehouse(warehouse).published / "tiedolla.duckdb").resolve()
    assert not any((warehouse / ".staging").iterdir())
    assert not list((warehouse / "versions").glob("*/.gathering"))
    assert {p.name for p in (warehouse / "versions").iterdir()} == {
        v["version"] for v in Warehouse(warehouse).versions()
    }


def test_a_second_run_on_a_busy_warehouse_refuses_and_changes_nothing(tiny_landing, good_warehouse, tmp_path):
    warehouse = tmp_path / "wh"
    shutil.copytree(good_warehouse, warehouse, symlinks=True)
    version = Warehouse(warehouse).current_version()
    with Warehouse(warehouse).lock("run"):
        refused = _run("run", "--landing", str(tiny_landing), "--warehouse", str(warehouse))
    assert refused.returncode == 4  # busy: not "refused" (1), so a scheduler can tell them apart
    assert "is in use by pid" in refused.stderr and "nothing was changed" in refused.stderr
    assert Warehouse(warehouse).current_version() == version


def test_a_run_told_to_wait_runs_when_the_warehouse_is_free(tiny_landing, good_warehouse, tmp_path):
    warehouse = tmp_path / "wh"
    shutil.copytree(good_warehouse, warehouse, symlinks=True)
    version = Warehouse(warehouse).current_version()
    with HeldWarehouse(warehouse) as held:
        held.release_after(3)
        waited = _run("run", "--landing", str(tiny_landing), "--warehouse", str(warehouse), "--wait", "60", "--full")
    assert waited.returncode == 0, waited.stderr
    assert Warehouse(warehouse).current_version() != version


def test_rollback_restores_an_earlier_version(tiny_landing, good_warehouse, tmp_path):
    warehouse = tmp_path / "wh"
    shutil.copytree(good_warehouse, warehouse, symlinks=True)
    first = Warehouse(warehouse).current_version()
    rows = copy.deepcopy(valid_rows())
    rows["targets"].append({"year": "2027", "target_student_years": "4600"})
    write_landing(tiny_landing.parent / "second", rows, crm_rows=valid_crm_rows())
    assert _run("run", "--landing", str(tiny_landing.parent / "second"), "--warehouse", str(warehouse)).returncode == 0
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM fact_student_year_target").fetchone()[0] == 3
    con.close()

    second = Warehouse(warehouse).current_version()
    assert _shown_version(warehouse) == second

    listing = _run("rollback", "--warehouse", str(warehouse), "--list")
    assert listing.returncode == 0 and first in listing.stdout
    rolled = _run("rollback", "--warehouse", str(warehouse))
    assert rolled.returncode == 0 and "the steward report (of the latest run) is marked" in rolled.stdout
    assert Warehouse(warehouse).current_version() == first
    con = duckdb.connect(str(warehouse / "tiedolla.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM fact_student_year_target").fetchone()[0] == 2
    con.close()
    assert json.loads((warehouse / "manifest.json").read_text())["run_id"] == first
    # the dashboard is the one made from the restored version; the steward report (the latest run's) says it is not
    assert _shown_version(warehouse) == first
    for page, words in (("index.html", "palautettiin"), ("index.en.html", "rolled back")):
        html = (warehouse / "reports" / "steward" / page).read_text(encoding="utf-8")
        banner = html.split('<p class="stale" id="stale" role="alert">', 1)[1].split("</p>", 1)[0]
        assert words in banner and first in banner and second in banner
    assert _run("rollback", "--warehouse", str(warehouse), "--to", second).returncode == 0
    assert _shown_version(warehouse) == second
    assert (warehouse / "reports" / "steward" / "index.html").read_text(encoding="utf-8").count('id="stale"') == 1
    assert _run("rollback", "--warehouse", str(warehouse), "--to", "no-such-run").returncode == 2


def test_run_without_a_key_refuses_and_says_how(tiny_landing, tmp_path):
    result = _run("run", "--landing", str(tiny_landing), "--warehouse", str(tmp_path / "wh"), key=None)
    assert result.returncode == 2 and "TIEDOLLA_PSEUDONYM_KEY" in result.stderr and "tiedolla key new" in result.stderr
    assert not (tmp_path / "wh" / "published").exists()
    short = _run("run", "--landing", str(tiny_landing), "--warehouse", str(tmp_path / "wh"), key="short")
    assert short.returncode == 2 and "too short" in short.stderr


def test_key_file_works_but_never_inside_the_warehouse(tiny_landing, good_warehouse, tmp_path):
    key_file = tmp_path / "secret.key"
    key_file.write_text(TEST_KEY + "\n")
    ok = _run(
        "run",
        "--landing",
        str(tiny_landing),
        "--warehouse",
        str(tmp_path / "wh"),
        "--pseudonym-key-file",
        str(key_file),
        key=None,
    )
    assert ok.returncode == 0, ok.stderr
    same = pl.read_parquet(tmp_path / "wh" / "published" / "dim_student.parquet")["student_key"]
    assert same.sort().equals(
        pl.read_parquet(good_warehouse / "published" / "dim_student.parquet")["student_key"].sort()
    )
    inside = tmp_path / "wh" / "key.txt"
    inside.write_text(TEST_KEY)
    refused = _run(
        "run",
        "--landing",
        str(tiny_landing),
        "--warehouse",
        str(tmp_path / "wh"),
        "--pseudonym-key-file",
        str(inside),
        key=None,
    )
    assert refused.returncode == 2 and "keep the key away from the data" in refused.stderr


def test_another_key_gives_unlinkable_pseudonyms(tiny_landing, good_warehouse, tmp_path):
    other = _run(
        "run",
        "--landing",
        str(tiny_landing),
        "--warehouse",
        str(tmp_path / "wh"),
        key="another-key-entirely-0123456789abcdef",
    )
    assert other.returncode == 0, other.stderr
    keys = [
        set(pl.read_parquet(w / "published" / "dim_student.parquet")["student_key"])
        for w in (good_warehouse, tmp_path / "wh")
    ]
    assert keys[0] and not keys[0] & keys[1]


def _manifest_file(warehouse: Path, name: str) -> dict:
    return json.loads((warehouse / "manifest.json").read_text())["files"][name]


def test_symlinked_export_files_are_refused(tmp_path):
    landing = tmp_path / "landing"
    folder = write_landing(landing, crm_rows=valid_crm_rows())
    outside = tmp_path / "elsewhere.csv"
    shutil.move(folder / "opiskelijat.csv", outside)
    os.symlink(outside, folder / "opiskelijat.csv")
    result = _run("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"))
    assert result.returncode == 0, result.stderr  # the other files go on
    assert "symbolic link" in _manifest_file(tmp_path / "wh", "opiskelijat.csv")["problem"]


def test_files_over_the_size_limit_are_refused(tmp_path):
    landing = tmp_path / "landing"
    write_landing(landing, crm_rows=valid_crm_rows())
    # 350 bytes: opiskeluoikeudet.csv (359) and accounts.csv are over
    config = site_config(tmp_path / "site", limits={"max_file_mb": 0.00035}, reports={"data_docs": False})
    result = _run("run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh"), "--site-config", str(config))
    assert result.returncode == 0, result.stderr
    problem = _manifest_file(tmp_path / "wh", "opiskeluoikeudet.csv")["problem"]
    assert "more than the limit" in problem and "limits.max_file_mb" in problem
    assert _manifest_file(tmp_path / "wh", "opiskelijat.csv")["problem"] is None


def test_a_run_from_dagster_takes_the_lock_too(tiny_landing, tmp_path):
    from pipelines.definitions import make_definitions

    defs = make_definitions(tiny_landing, tmp_path / "wh", pseudonym_key=TEST_KEY)
    with Warehouse(tmp_path / "wh").lock("run"):
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)
    assert not result.success
    errors = [str(e.event_specific_data) for e in result.all_events if e.is_failure]
    assert any("is in use by pid" in text for text in errors), errors[:2]
    assert not (tmp_path / "wh" / "published").exists()
