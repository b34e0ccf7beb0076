"""A standing attack suite: what an attacker who holds the published set (and perhaps a class list) tries, and what
must come of it (docs/architecture/privacy.md). Each test is an attack; each assertion what the attack must not get.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipelines.publishing.star import student_keys, study_right_keys
from tests.conftest import TEST_KEY

pytestmark = pytest.mark.slow  # the attacks are on a real run's published set

#: a rank correlation this far from zero would give an attacker the order of the source ids
MAX_RANK_CORRELATION = 0.25


def _newest_export(landing, name: str) -> pl.DataFrame:
    folder = max((landing / "student_admin").iterdir())
    return pl.read_csv(folder / name, separator=";", infer_schema=False)


def _rank_correlation(order: list[str], truth: dict[str, str]) -> float:
    """Spearman's rho between the published rows' positions and their source ids' ranks."""
    ids = [truth[k] for k in order]
    ranks = {v: i for i, v in enumerate(sorted(set(ids)))}
    return float(np.corrcoef(np.arange(len(ids)), [ranks[v] for v in ids])[0, 1])


def test_the_row_order_of_a_published_table_does_not_give_back_a_source_id(small_run, small_landing):
    """Sort the source ids, rank the published rows: the ranks must not line up (ordered by the study-right id,
    which holds the student number, they matched for every row)."""
    _, warehouse = small_run
    key = TEST_KEY.encode()
    rights = _newest_export(small_landing, "opiskeluoikeudet.csv")["Opiskeluoikeus"]
    numbers = _newest_export(small_landing, "opiskelijat.csv")["Opiskelijanumero"]
    by_right = dict(zip(study_right_keys(rights, key), rights))
    by_student = dict(zip(student_keys(numbers, key), numbers))
    published = warehouse / "published"
    checked = 0
    for path in sorted(published.glob("*.parquet")):
        frame = pl.read_parquet(path)
        for column, truth in (("study_right_key", by_right), ("student_key", by_student)):
            if column not in frame.columns:
                continue
            order = [k for k in frame[column].to_list() if k in truth]
            if len(order) < 50:
                continue
            rho = _rank_correlation(order, truth)
            assert abs(rho) < MAX_RANK_CORRELATION, (path.stem, column, rho)
            checked += 1
    assert checked >= 6


def test_a_failure_id_cannot_be_traced_back_by_hashing_candidate_student_numbers(small_run, small_landing):
    """The attacker hashes system, rule and every student number of a class list, as an unkeyed id was made: no
    failure id of the quarantine or the failure history may come out (9 of 9 student numbers came back)."""
    import hashlib

    from schemas import student_admin

    _, warehouse = small_run
    numbers = _newest_export(small_landing, "opiskelijat.csv")["Opiskelijanumero"].to_list()
    rules = student_admin.SOURCE.rule_catalogue()
    guesses = {
        hashlib.sha256(f"student_admin|{rule}\x1f{number}".encode()).hexdigest()[:24]
        for rule in rules
        for number in numbers
    }
    ids = set(pl.read_parquet(warehouse / "quarantine" / "students.parquet")["failure_id"].drop_nulls())
    ids |= set(pl.read_parquet(warehouse / "stewardship" / "failure_history.parquet")["failure_id"].drop_nulls())
    assert ids and not {i for i in ids for g in guesses if i.startswith(g)}
    # the attack itself works: an unkeyed id of a failing student is among the guesses
    assert hashlib.sha256(f"student_admin|students.hetu.valid\x1f{numbers[0]}".encode()).hexdigest()[:24] in guesses


#: personal data typed into free text as people type it (the forms the release guard let through)
PLANTED = {
    "hetu": "131052–9085",
    "glued": "kampus131052-9085",
    "email": "henrik.kari(at)example.fi",
    "phone": "puh.0409254404",
    "oid": "1.2.246.562.24.10000000001",
    "name": "Virtanen Matti",
}


def _texts_of_every_file(folder, everything: bool = False):
    """(path, text) of every file a person may read in ``folder``: Parquet and DuckDB by their string values (they
    are compressed on disk), the rest as they are; ``everything``: any other file too, as its bytes."""
    import duckdb

    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            yield path, " ".join(str(v) for c in frame.columns if frame[c].dtype == pl.Utf8 for v in frame[c])
        elif path.suffix == ".duckdb":
            con = duckdb.connect(str(path), read_only=True)
            tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
            yield path, " ".join(str(r) for t in tables for r in con.execute(f'SELECT * FROM "{t}"').fetchall())
            con.close()
        elif path.suffix in (".html", ".csv", ".json", ".log", ".yaml") or everything:
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def test_personal_data_planted_in_every_free_text_column_reaches_no_published_table_nor_a_steward_page(
    tmp_path, fast_env
):
    """Plant a henkilötunnus (lower case, an en dash, glued to a word), a (at) email, a phone number, a learner OID and
    a person's name in every free-text column of both exports: the run publishes, each value is cleared (its row
    flows on), and no published table, database, page, correction list or log holds any of them."""
    import copy

    from schemas import crm, student_admin
    from tests.conftest import run_cli
    from tests.landing import valid_crm_rows, valid_rows, write_landing

    rows, crm_rows = copy.deepcopy(valid_rows()), copy.deepcopy(valid_crm_rows())
    planted = list(PLANTED.values())
    placed = 0
    for source, data in ((student_admin.SOURCE, rows), (crm.SOURCE, crm_rows)):
        for table in source.tables:
            for column in table.free_text_columns():
                if column.nullable:  # (a required one rejects its row: test_rule_catalogue shows it)
                    data[table.name][0][column.name] = planted[placed % len(planted)]
                    placed += 1
    assert placed >= 6
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing, rows, crm_rows=crm_rows)
    result = run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse), env=fast_env)
    assert result.returncode == 0, result.stderr
    quarantined = pl.concat(
        [pl.read_parquet(p) for p in (warehouse / "quarantine").glob("*.parquet")], how="diagonal_relaxed"
    ).filter(pl.col("rule_id").str.ends_with(".no_personal_data"))
    assert quarantined.height == placed
    needles = [
        "131052",
        "henrik.kari",
        "9254404",
        "10000000001",
        "Virtanen Matti",
    ]  # (a mask keeps a few characters, not these)
    read = 0
    for path, text in _texts_of_every_file(warehouse):
        assert not [n for n in needles if n in text], path
        read += 1
    assert read > 20


def test_a_warehouse_path_with_a_quote_breaks_no_sql(tmp_path):
    """Every SQL we write takes a path as a quoted literal: a run (Data Docs, the dashboard and the database
    included) and a diff into a folder named O'Brien work."""
    from tests.conftest import run_cli
    from tests.landing import valid_crm_rows, valid_rows, write_landing

    root = tmp_path / "O'Brien"
    write_landing(root / "landing", valid_rows(), crm_rows=valid_crm_rows())
    for full in ([], ["--full"]):  # (a second run with nothing new would publish nothing to compare)
        result = run_cli("run", "--landing", str(root / "landing"), "--warehouse", str(root / "wh"), *full)
        assert result.returncode == 0, result.stderr
    assert run_cli("diff", "--warehouse", str(root / "wh")).returncode == 0


def test_no_combination_of_a_students_published_traits_singles_anyone_out(small_run):
    """Age, sex, mother tongue and municipality in dim_student: every combination is held by 5 students or more
    (birth year, sex, mother tongue and municipality singled out 137 of 300; 83 % were in groups under 5)."""
    from pipelines.publishing.star import QUASI_IDENTIFIERS
    from schemas.codes import SUPPRESS_BELOW_PERSONS

    _, warehouse = small_run
    students = pl.read_parquet(warehouse / "published" / "dim_student.parquet")
    assert "birth_year" not in students.columns and set(QUASI_IDENTIFIERS) <= set(students.columns)
    groups = students.group_by(QUASI_IDENTIFIERS).len()
    assert students.height >= 100 and groups["len"].min() >= SUPPRESS_BELOW_PERSONS
    assert groups.height > 5  # (not everything suppressed: the table still says something)


def test_after_forget_no_file_of_the_warehouse_holds_anything_of_the_person(tmp_path, fast_env):
    """A person with a failure, a waiver, a study right whose student number was mistyped (published linked to no
    one), a unit of a mistyped study right, failure history from before a key rotation, and a run killed half way
    (its staging and step storage left behind) is forgotten by henkilötunnus; then every file of the warehouse, read
    by value, holds none of their ids, contact data or pseudonyms under either key, and the other student stays."""
    import copy
    import re

    from schemas import koski_bulk
    from tests.conftest import TEST_KEY, pseudonym, run_cli
    from tests.landing import valid_crm_rows, valid_koski_rows, valid_rows, write_landing, write_source

    number, mistyped_right = "734519", "OO-734519-9"
    rows = copy.deepcopy(valid_rows())
    person = rows["students"][0]
    person["student_number"] = rows["study_rights"][0]["student_number"] = number
    person["sex"] = "2"  # disagrees with the henkilötunnus: a failure about them, waived below
    rows["study_rights"].append(
        {
            **rows["study_rights"][0],
            "study_right_id": mistyped_right,
            "study_right_oid": "",
            "student_number": "9" + number,
        }
    )
    rows["status_periods"].append(
        {"study_right_id": mistyped_right, "start_date": "1.8.2023", "status": "lasna", "funding_code": "1"}
    )
    rows["assessed_units"].append({**rows["assessed_units"][0], "study_right_id": mistyped_right + "-X"})
    landing, warehouse = tmp_path / "landing", tmp_path / "wh"
    write_landing(landing, rows, crm_rows=valid_crm_rows())
    koski = valid_koski_rows()  # KOSKI's data of the same study rights, one of the person's slices failing
    koski["koski_time_slices"][1]["status"] = "poissa"
    write_source(landing, koski_bulk.TABLES, koski, ",")
    run = ("run", "--landing", str(landing), "--warehouse", str(warehouse))
    old_key, new_key = TEST_KEY, TEST_KEY[::-1]
    assert run_cli(*run, env=fast_env, key=old_key).returncode == 0
    waived = ("--rule", "students.hetu_matches_sex", "--key", number, "--reason", "checked", "--approved-by", "MM")
    assert run_cli("waive", "--warehouse", str(warehouse), *waived, "--expires", "2030-01-01").returncode == 0
    rotated = run_cli(*run, "--rotate-key", key=new_key)  # (with Data Docs: they read the published set)
    assert rotated.returncode == 0, rotated.stderr
    killed = run_cli(*run, env={**fast_env, "TIEDOLLA_FAILPOINT": "dim_student:kill"}, key=new_key)
    assert killed.returncode != 0 and any((warehouse / ".staging").iterdir())
    published = pl.read_parquet(warehouse / "published" / "fact_study_right.parquet")
    right_key = pseudonym(mistyped_right, "study_right", new_key)
    assert published.filter(pl.col("study_right_key") == right_key)["student_key"].is_null().all()  # linked to no one
    in_koski = pl.read_parquet(warehouse / "quarantine" / "koski_time_slices.parquet")["record_key"].to_list()
    assert in_koski == [rows["study_rights"][0]["study_right_oid"]]

    result = run_cli(
        "forget", "--warehouse", str(warehouse), "--hetu", person["hetu"], "--landing", str(landing), key=new_key
    )
    assert result.returncode == 0, result.stderr
    tokens = [
        number,
        person["hetu"],
        "OO-1",
        mistyped_right,
        person["learner_oid"],
        rows["study_rights"][0]["study_right_oid"],
    ]
    texts = [person["email"], person["mobile_phone"].replace(" ", ""), person["last_name"]]
    texts += [
        pseudonym(value, domain, key)
        for key in (old_key, new_key)
        for value, domain in (
            (number, "student"),
            ("OO-1", "study_right"),
            (mistyped_right, "study_right"),
            (number, "quarantine:student_admin:student_number"),
            (person["learner_oid"], "quarantine:koski_bulk:learner_oid"),
        )
    ]
    token = re.compile("(?i)(?<![0-9a-z])(?:" + "|".join(map(re.escape, tokens)) + ")(?![0-9a-z])")
    read = 0
    for path, text in _texts_of_every_file(warehouse, everything=True):
        assert not token.search(text) and not [t for t in texts if t in text], (path, token.search(text))
        read += 1
    assert read > 20
    others = pl.read_parquet(warehouse / "published" / "dim_student.parquet")["student_key"]
    assert pseudonym("1002", "student", new_key) in set(others)


def test_no_subtraction_of_published_network_cells_describes_one_to_four_persons(network):
    """The attacker subtracts published cells of the network's benchlearning: in each provider's year of
    student-years, ``all`` minus every published funding code, and ``all`` minus each one, leaves the codes not
    subtracted; the persons those codes describe, counted here from the provider's release, are none or at least 5
    (a provider's ``all`` minus its one published code gave 1.04 student-years of three persons)."""
    from schemas.codes import SUPPRESS_BELOW_PERSONS

    _, ids, warehouse, _ = network
    mart = pl.read_parquet(warehouse / "network" / "published" / "mart_network_benchmark.parquet")
    mart = mart.filter(indicator="student_years")
    attacked = 0
    for pid in ids:
        months = pl.read_parquet(warehouse / f"provider={pid}" / "published" / "fact_student_year_month.parquet")
        counted = months.filter(pl.col("student_years_current") > 0)
        counted = counted.with_columns(person=pl.coalesce("student_key", "study_right_key"))
        for (year,), cells in mart.filter(provider=pid).group_by("year"):
            if cells.filter(funding_breakdown="all", is_suppressed=True).height:
                continue  # (nothing to subtract from)
            codes = cells.filter(pl.col("funding_breakdown") != "all")
            published = codes.filter(~pl.col("is_suppressed"))["funding_breakdown"].to_list()
            everything = set(codes["funding_breakdown"])
            for subtracted in [published, *([code] for code in published)]:
                left = everything - set(subtracted)
                persons = counted.filter(
                    (pl.col("year") == year) & pl.col("funding_code").cast(pl.Utf8).is_in(sorted(left))
                )["person"].n_unique()
                assert persons == 0 or persons >= SUPPRESS_BELOW_PERSONS, (pid, year, sorted(left), persons)
                attacked += 1
    assert attacked > 20 and mart["is_suppressed"].any()


def _dashboard_table(page: str, heading: str) -> dict[str, str]:
    """label → shown value of the table view under ``heading`` on the dashboard."""
    import html
    import re

    section = page[page.index(heading) :]
    section = section[: section.index("</section>")]
    cells = re.findall(r'<tr><td>(.*?)</td><td class="n">(.*?)</td></tr>', section)
    return {html.unescape(a): html.unescape(b).replace("\u00a0", "") for a, b in cells}


def test_no_dashboard_figure_describes_one_to_four_persons_nor_is_worked_back_from_the_total(small_run):
    """The dashboard is shown to anyone (aggregates only): a month's graduations, a qualification type's forecast and
    a month's starters counted from 1–4 persons show "alle 5 hlö", and the year's total minus the shown months
    leaves no one or at least 5 persons (the small demo's months had 1, 2, 3 and 4 graduates)."""
    import duckdb

    from schemas.codes import SUPPRESS_BELOW_PERSONS

    _, warehouse = small_run
    page = (warehouse / "reports" / "dashboard" / "index.html").read_text(encoding="utf-8")
    published = warehouse / "published"
    con = duckdb.connect()  # (its own: the module's default connection is shared with other tests in the process)
    made_on = f"SELECT max(forecast_made_on) FROM '{published}/mart_student_year_forecast.parquet'"
    as_of = con.sql(made_on).fetchall()[0][0]
    persons = dict(
        con.sql(f"""
            SELECT 'kk ' || month(start_date), count(DISTINCT coalesce(student_key, study_right_key))
            FROM '{published}/fact_status_period.parquet'
            WHERE status = 'valmistunut' AND year(start_date) = {as_of.year} AND start_date <= DATE '{as_of}'
            GROUP BY 1""").fetchall()
    )
    months = _dashboard_table(page, "Valmistuneet kuukausittain")
    assert "alle 5 hlö" in months.values() and set(persons) <= set(months)
    for month, shown in months.items():
        assert shown == "alle 5 hlö" or persons.get(month, 0) == 0 or persons[month] >= SUPPRESS_BELOW_PERSONS
    hidden = sum(n for month, n in persons.items() if months[month] == "alle 5 hlö")
    assert hidden == 0 or hidden >= SUPPRESS_BELOW_PERSONS
    types = _dashboard_table(page, "Ennuste tutkintotyypeittäin")
    assert "alle 5 hlö" in types.values() and [v for v in types.values() if v != "alle 5 hlö"]
