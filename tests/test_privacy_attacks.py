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
