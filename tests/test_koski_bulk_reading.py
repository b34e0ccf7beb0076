"""KOSKI's bulk delivery read as the source ``koski_bulk``: files written by KOSKI's rules (tests/koski_csv.py), every
oddity of the format in ``../shared/spec/koski-bulk.md`` A4–A8."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.ingestion.folder import read_table
from pipelines.ingestion.landing import Landing
from pipelines.validation import validate_export
from schemas import koski_bulk
from tests.koski_csv import HEADERS, write

DAY = "2026-11-20"
ONE, TWO, GONE = "1.2.246.562.15.10000000001", "1.2.246.562.15.10000000002", "1.2.246.562.15.10000000003"
STUDY_RIGHT = {
    "opiskeluoikeus_oid": ONE,
    "versionumero": "3",
    "aikaleima": "2026-06-02T09:14:03.52",
    "oppija_oid": "1.2.246.562.24.10000000009",
    "oppija_master_oid": "1.2.246.562.24.10000000001",
    "oppilaitos_oid": "1.2.246.562.10.52251087186",
    "oppilaitos_nimi": "Testiopisto, Kouvola",
    "koulutustoimija_oid": "1.2.246.562.10.53642770753",
    "koulutusmuoto": "ammatillinenkoulutus",
    "alkamispaiva": "2023-08-01",
    "paattymispaiva": "2026-05-31",
    "viimeisin_tila": "valmistunut",
    "lisatiedot_henkilostokoulutus": "false",
    "lisatiedot_koulutusvienti": "false",
    "lahdejarjestelma_koodiarvo": "primus",
    "lahdejarjestelma_id": "OO-1",
    "oppivelvollisuuden_suorittamiseen_kelpaava": "true",
    "data": '{"arvioituPäättymispäivä":"2026-05-31","lisätiedot":{"majoitus":[{"alku":"2023-08-01"}]}}',
}
FLAGS_OFF = {h: "false" for h in HEADERS["opiskeluoikeus_aikajakso.csv"] if h not in ("opiskeluoikeus_oid", "alku")}


def _slice(oid: str, start: str, end: str, tila: str, since: str, funding: str = "1", part: str = "100", **on) -> dict:
    return {
        **FLAGS_OFF,
        "opiskeluoikeus_oid": oid,
        "alku": start,
        "loppu": end,
        "tila": tila,
        "tila_alkanut": since,
        "opiskeluoikeus_paattynyt": "true" if tila == "valmistunut" else "false",
        "opintojen_rahoitus": funding,
        "osa_aikaisuus": part,
        "maksuton": "",
        "maksullinen": "",
        "id": "0",
        **{k: "true" for k in on},
    }


def _delivery(root, parts: int = 1, twice: bool = False) -> None:
    folder = root / "koski_bulk" / DAY
    second = {
        **STUDY_RIGHT,
        **{"opiskeluoikeus_oid": TWO, "versionumero": "1", "oppija_master_oid": "1.2.246.562.24.2", "data": "{}"},
        **{
            "alkamispaiva": "2025-01-08",
            "paattymispaiva": "",
            "viimeisin_tila": "lasna",
            "lahdejarjestelma_id": "OO-2",
        },
    }
    rights = [STUDY_RIGHT, second] + ([{**STUDY_RIGHT, "versionumero": "2", "oppija_oid": "1.2.246.562.24.3"}] * twice)
    write(folder, "opiskeluoikeus.csv", rights, parts)
    slices = [
        _slice(ONE, "2023-08-01", "2024-05-31", "lasna", "2023-08-01", majoitus=True),
        _slice(ONE, "2024-06-01", "2026-05-30", "lasna", "2023-08-01"),
        _slice(ONE, "2026-05-31", "2026-05-31", "valmistunut", "2026-05-31"),
        _slice(TWO, "2025-01-08", "9999-12-31", "lasna", "2025-01-08", "14", "50"),
    ]
    write(folder, "opiskeluoikeus_aikajakso.csv", slices + slices[:3] * twice, parts)
    suoritus = {
        "paatason_suoritus_id": f"{ONE}.1",
        "opiskeluoikeus_oid": ONE,
        "suorituksen_tyyppi": "ammatillinentutkinto",
        "koulutusmoduuli_koodisto": "koulutus",
        "koulutusmoduuli_koodiarvo": "351301",
        "toimipiste_oid": "1.2.246.562.10.11111111111",
        "toimipiste_nimi": "Kouvolan kampus",
        "vahvistus_paiva": "2026-05-31",
        "data": '{"osaamisala":[{"osaamisala":{"koodiarvo":"1525"}}]}',
    }
    write(folder, "paatason_suoritus.csv", [suoritus] + [{**suoritus, "paatason_suoritus_id": f"{ONE}.9"}] * twice)
    # no osasuoritus.csv: KOSKI writes no file for a table without rows
    annulled = {
        "opiskeluoikeus_oid": GONE,
        "versionumero": "2",
        "aikaleima": "2026-01-05T10:00:00",
        "oppija_oid": "1.2.246.562.24.10000000003",
        "mitatoity": "2026-01-05",
        "tyyppi": "ammatillinenkoulutus",
        "paatason_suoritus_tyypit": "List(ammatillinentutkinto, telma)",
        "oppilaitos_oid": "1.2.246.562.10.52251087186",
        "oppilaitoksen_nimi": "Testiopisto, Kouvola",
    }
    write(folder, "mitatoity_opiskeluoikeus.csv", [annulled])


def _read(root) -> dict:
    landing = Landing.at(root)
    return {t.name: read_table(landing, t, optional=True) for t in koski_bulk.SOURCE.tables}


@pytest.mark.parametrize("parts", [1, 2])
def test_a_delivery_as_koski_writes_it_is_read_by_header_whole_or_in_parts(tmp_path, parts):
    _delivery(tmp_path, parts)
    raws = _read(tmp_path)
    assert not [r.problem for r in raws.values() if r.problem]
    rights = raws["koski_study_rights"].frame
    assert rights["study_right_oid"].to_list() == [ONE, TWO] and rights["source_line"].to_list() == [2, 3]
    assert rights["learner_oid"][0] == "1.2.246.562.24.10000000001"  # the master OID, not the one on the right
    assert rights["koski_data"][0] == STUDY_RIGHT["data"]  # quoted by KOSKI, read whole
    assert any("column(s) not read here" in n and "oppilaitos_nimi_sv" in n for n in raws["koski_study_rights"].notices)
    if parts > 1:
        assert any("came in 2 parts" in n for n in raws["koski_time_slices"].notices)
    assert raws["koski_units"].frame.height == 0 and raws["koski_units"].problem is None
    assert any("not in the delivery" in n for n in raws["koski_units"].notices)
    assert raws["koski_annulled"].frame["suoritus_types"].to_list() == ["List(ammatillinentutkinto, telma)"]
    outcomes = validate_export(koski_bulk.SOURCE, raws, "test")
    assert {name: o.failures.height for name, o in outcomes.items()} == dict.fromkeys(raws, 0)
    slices = outcomes["koski_time_slices"].valid
    assert slices.filter(pl.col("end_date") == pl.date(9999, 12, 31)).height == 1  # open
    assert slices["accommodation"].to_list() == [True, False, False, False]
    assert slices["part_time_percent"].to_list() == [100, 100, 100, 50]
    modified = outcomes["koski_study_rights"].valid["koski_modified_at"][0]
    assert modified.isoformat() == "2026-06-02T06:14:03.520000+00:00"  # Helsinki summer time, kept as UTC


def test_the_columns_are_found_by_name_in_any_order(tmp_path):
    """KOSKI moved oppija_master_oid from column 24 to 6 within four days (2026-02): the order is never relied on."""
    import tests.koski_csv as koski_csv

    shuffled = {name: list(reversed(header)) for name, header in HEADERS.items()}
    original, koski_csv.HEADERS = dict(HEADERS), shuffled
    try:
        _delivery(tmp_path)
    finally:
        koski_csv.HEADERS = original
    raws = _read(tmp_path)
    assert raws["koski_study_rights"].frame["study_right_oid"].to_list() == [ONE, TWO]
    assert raws["koski_annulled"].frame["suoritus_types"].to_list() == ["List(ammatillinentutkinto, telma)"]


def test_a_study_right_delivered_twice_is_kept_once_at_its_newest_version(tmp_path):
    """A person with linked learner OIDs gets the same study right twice, its child rows too (the suoritukset under
    other ids): the copy with the highest version is kept, the other held back with a reason."""
    _delivery(tmp_path, twice=True)
    outcomes = validate_export(koski_bulk.SOURCE, _read(tmp_path), "test")
    rights = outcomes["koski_study_rights"]
    assert rights.valid.filter(pl.col("study_right_oid") == ONE)["koski_version"].to_list() == [3]
    assert set(rights.failures["rule_id"]) == {"koski_study_rights.delivered_twice"}
    assert set(outcomes["koski_time_slices"].failures["rule_id"]) == {"koski_time_slices.duplicate_line"}
    assert outcomes["koski_time_slices"].valid.height == 4
    assert set(outcomes["koski_qualifications"].failures["rule_id"]) == {"koski_qualifications.delivered_twice"}
    assert outcomes["koski_qualifications"].valid.height == 1


def test_no_delivery_at_all_is_no_rows_and_no_error(tmp_path):
    (tmp_path / "student_admin").mkdir()
    raws = _read(tmp_path)
    assert all(r.problem is None and r.frame.height == 0 and not r.notices for r in raws.values())


def test_a_number_reads_as_javas_double_writes_it(tmp_path):
    """CsvFormatter writes a laajuus with Java's Double.toString: 5.0, 37.5, and 1.0E7 from ten million up."""
    _delivery(tmp_path)
    unit = {
        "paatason_suoritus_id": f"{ONE}.1",
        "opiskeluoikeus_oid": ONE,
        "suorituksen_tyyppi": "ammatillisentutkinnonosa",
        "koulutusmoduuli_koodiarvo": "106915",
        "koulutusmoduuli_paikallinen": "false",
        "korotettu_eri_vuonna": "false",
        "tunnustettu": "false",
        "tunnustettu_rahoituksen_piirissa": "false",
        "data": "{}",
    }
    laajuudet = ["5.0", "37.5", "1.0E7"]
    write(
        tmp_path / "koski_bulk" / DAY,
        "osasuoritus.csv",
        [
            {**unit, "osasuoritus_id": f"{ONE}.1.{n}", "koulutusmoduuli_laajuus_arvo": v}
            for n, v in enumerate(laajuudet)
        ],
    )
    outcomes = validate_export(koski_bulk.SOURCE, _read(tmp_path), "test")
    assert outcomes["koski_units"].failures.is_empty()
    assert outcomes["koski_units"].valid["credits"].to_list() == [5.0, 37.5, 1.0e7]


def test_a_study_right_delivered_twice_counts_once_and_holds_nothing_back(tmp_path):
    from pipelines.marts.student_year_history import history_as_of

    _delivery(tmp_path, twice=True)
    history, held = history_as_of(Landing.at(tmp_path))
    assert held.is_empty(), held
    assert sorted(history.study_rights["study_right_id"]) == [ONE, TWO]
    statuses = history.status_periods.filter(pl.col("study_right_id") == ONE).sort("start_date")
    assert statuses["status"].to_list() == ["lasna", "valmistunut"]
