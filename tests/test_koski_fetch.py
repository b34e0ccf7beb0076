"""`tiedolla koski fetch` against KOSKI's bulk-data API as KOSKI documents it (tests/koski_api.py)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli
from tests.koski_api import PASSWORD, USER, Koski, serve

#: files as KOSKI's CSV writer makes them (comma, CRLF, header only in the first part of a split file)
OPISKELUOIKEUS = (
    b"opiskeluoikeus_oid,versionumero,aikaleima,oppija_oid,alkamispaiva\r\n"
    b"1.2.246.562.15.10000000001,3,2026-11-19T14:23:11.12,1.2.246.562.24.10000000001,2023-08-01\r\n"
)
PART_TWO = b"1.2.246.562.15.10000000002,1,2026-11-19T14:23:00,1.2.246.562.24.10000000002,2024-08-01\r\n"


@pytest.fixture
def koski():
    made = []

    def start(**kwargs):
        api = Koski(**kwargs)
        url, stop = serve(api)
        made.append(stop)
        return api, url

    yield start
    for stop in made:
        stop()


def _fetch(url: str, landing, *args: str, password: str = PASSWORD):
    env = {"TIEDOLLA_KOSKI_API_USER": USER, "TIEDOLLA_KOSKI_API_PASSWORD": password}
    return run_cli(
        "koski", "fetch", "--landing", str(landing), "--base-url", url, "--poll-seconds", "0.01", *args, env=env
    )


def test_a_full_delivery_lands_whole_with_what_was_asked(koski, tmp_path):
    api, url = koski(files={"opiskeluoikeus.csv.01": OPISKELUOIKEUS, "opiskeluoikeus.csv.02": PART_TWO})
    result = _fetch(url, tmp_path, "--organisation", "1.2.246.562.10.2013110715495487451", "--date", "2026-11-20")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "koski_bulk" / "2026-11-20"
    assert (folder / "opiskeluoikeus.csv.01").read_bytes() == OPISKELUOIKEUS
    assert (folder / "opiskeluoikeus.csv.02").read_bytes() == PART_TWO
    asked = api.queries[0]
    assert asked == {
        "type": "organisaationOpiskeluoikeudet",
        "format": "text/csv",
        "alkanutAikaisintaan": "2000-01-01",
        "koulutusmuoto": "ammatillinenkoulutus",
        "mitätöidyt": True,
        "organisaatioOid": "1.2.246.562.10.2013110715495487451",
    }
    record = json.loads((folder / "query.json").read_text())
    assert record["query"] == asked and record["source_data_updated_at"] == "2026-11-20T05:59:00+02:00"
    assert api.polls == 5  # pending, running, back to pending (a worker restarted), running, complete
    assert "running, 40 %" in result.stdout and str(folder) in result.stdout
    assert not [p for p in (tmp_path / "koski_bulk").iterdir() if p.name.startswith(".")]  # nothing half-made
    again = _fetch(url, tmp_path, "--date", "2026-11-20")
    assert again.returncode == 1 and "already holds a delivery" in again.stderr


def test_changes_since_a_time_ask_from_an_hour_before_it(koski, tmp_path):
    api, url = koski(files={"opiskeluoikeus.csv": OPISKELUOIKEUS})
    result = _fetch(url, tmp_path, "--since", "2026-11-01T06:00:00", "--partitioned", "--date", "2026-11-20")
    assert result.returncode == 0, result.stderr
    assert api.queries[0]["muuttunutJälkeen"] == "2026-11-01T05:00:00"
    assert api.queries[0]["format"] == "text/x-csv-partition"
    assert "changes only" in result.stdout


@pytest.mark.parametrize(
    ("setup", "password", "said"),
    [
        ({"fail_with": "Tulostiedosto kasvoi liian suureksi"}, PASSWORD, "failed: Tulostiedosto kasvoi liian suureksi"),
        ({}, "wrong-password-entirely", "refused the service user (403"),
        ({"broken_file": "osasuoritus.csv"}, PASSWORD, "answered 500"),
    ],
)
def test_a_failed_refused_or_broken_fetch_says_why_and_leaves_nothing(koski, tmp_path, setup, password, said):
    files = {"opiskeluoikeus.csv": OPISKELUOIKEUS, "osasuoritus.csv": b"osasuoritus_id\r\n"}
    _, url = koski(files=files, **setup)
    result = _fetch(url, tmp_path, "--date", "2026-11-20", password=password)
    assert result.returncode == 1 and said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    folder = tmp_path / "koski_bulk"
    assert not folder.exists() or not list(folder.iterdir())


def test_the_service_user_must_be_given_and_its_password_kept_away_from_the_landing_area(koski, tmp_path):
    _, url = koski(files={})
    missing = run_cli("koski", "fetch", "--landing", str(tmp_path), "--base-url", url)
    assert missing.returncode == 2 and "TIEDOLLA_KOSKI_API_USER" in missing.stderr
    inside = tmp_path / "password.txt"
    inside.write_text(PASSWORD)
    env = {"TIEDOLLA_KOSKI_API_USER": USER}
    beside = run_cli(
        "koski", "fetch", "--landing", str(tmp_path), "--base-url", url, "--password-file", str(inside), env=env
    )
    assert beside.returncode == 2 and "keep the password away from the data" in beside.stderr
    zoned = _fetch(url, tmp_path, "--since", "2026-11-01T06:00:00+02:00")
    assert zoned.returncode == 2 and "Helsinki local time" in zoned.stderr
