"""The review queue of the organisation master end to end: a doubtful pair reaches the steward report and its review
list, a steward settles it once with ``tiedolla decide-match``, and every later run applies and keeps the decision."""

import copy
import csv
import re

import polars as pl
import pytest

from tests.conftest import run_cli
from tests.landing import valid_crm_rows, valid_rows, write_landing

UNIT = "Kouvolan kaupunki / ruokapalvelut"
SITE = """crm:
  delimiter: ","
organization_matching:
  match_probability: 0.99
  review_probability: 0.01
  decisions: decisions.csv
"""


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, fast_env):
    """A landing whose workplace rows name a unit of the city that is a CRM account, under a site configuration
    strict enough to leave the pair to a steward; the first run."""
    root = tmp_path_factory.mktemp("review")
    rows = copy.deepcopy(valid_rows())
    rows["workplace_periods"].append({**rows["workplace_periods"][0], "business_id": "", "workplace_name": UNIT})
    write_landing(root / "landing", rows, crm_rows=valid_crm_rows())
    (root / "site.yaml").write_text(SITE, encoding="utf-8")
    args = (
        "--landing",
        str(root / "landing"),
        "--warehouse",
        str(root / "wh"),
        "--site-config",
        str(root / "site.yaml"),
    )
    first = run_cli("run", *args, env=fast_env)
    assert first.returncode == 0, first.stderr
    return root, args


def _bridge(root) -> pl.DataFrame:
    return pl.read_parquet(root / "wh" / "published" / "bridge_organization_source.parquet")


def _key(bridge: pl.DataFrame, source_id: str) -> int:
    return bridge.filter(pl.col("source_id") == source_id)["organization_key"].item()


@pytest.mark.slow
def test_a_doubtful_pair_is_reviewed_once_and_the_decision_is_kept(reviewed, fast_env):
    root, args = reviewed
    city = _bridge(root).filter(pl.col("source_name") == "Kouvolan kaupunki")["source_id"].item()
    assert _key(_bridge(root), UNIT) != _key(_bridge(root), city)  # neither merged nor hidden: in the queue

    steward = root / "wh" / "reports" / "steward"
    for page, listed in (
        ("index.html", "review_organization_matches.csv"),
        ("index.en.html", "review_organization_matches.en.csv"),
    ):
        html = (steward / page).read_text(encoding="utf-8")
        assert 'id="organization-review"' in html and f'href="{listed}"' in html
    pairs = re.findall(r'<tr class="review-pair" data-pair="(\w+)"', (steward / "index.html").read_text("utf-8"))
    rows = list(
        csv.reader((steward / "review_organization_matches.csv").read_text("utf-8-sig").splitlines(), delimiter=";")
    )
    assert rows[0][:3] == ["Pari", "Todennäköisyys", "Miksi"]
    ours = [r for r in rows[1:] if UNIT in r]
    assert len(ours) == 1 and ours[0][0] in pairs
    assert "nimi: sama" in ours[0][2] and "Kouvolan kaupunki" in ours[0]
    pair = ours[0][0]

    unknown = run_cli("decide-match", "0000nothere0", "same", "--by", "M. M.", "--warehouse", str(root / "wh"),
                      "--site-config", str(root / "site.yaml"))  # fmt: skip
    assert unknown.returncode == 2 and "no pair '0000nothere0'" in unknown.stderr and "Traceback" not in unknown.stderr
    decided = run_cli("decide-match", pair, "same", "--by", "Data steward M. M.", "--note", "the city's catering",
                      "--warehouse", str(root / "wh"), "--site-config", str(root / "site.yaml"))  # fmt: skip
    assert decided.returncode == 0, decided.stderr
    decisions = (root / "decisions.csv").read_text(encoding="utf-8-sig")
    assert pair in decisions and "Data steward M. M." in decisions

    for _ in range(2):  # the next run applies it, and so does every one after it; the file is kept as it was
        again = run_cli("run", *args, env=fast_env)
        assert again.returncode == 0, again.stderr
        bridge = _bridge(root)
        assert _key(bridge, UNIT) == _key(bridge, city)
        assert bridge.filter(pl.col("source_id") == UNIT)["match_method"].item() == "steward"
        assert pair not in (steward / "review_organization_matches.csv").read_text("utf-8-sig")
        assert (root / "decisions.csv").read_text(encoding="utf-8-sig") == decisions


@pytest.mark.slow
def test_a_broken_decisions_file_refuses_the_run_with_its_line(tmp_path, fast_env):
    write_landing(tmp_path / "landing", copy.deepcopy(valid_rows()), crm_rows=valid_crm_rows())
    (tmp_path / "site.yaml").write_text(SITE, encoding="utf-8")
    (tmp_path / "decisions.csv").write_text(
        "pair_id,decision,decided_by,decided_on,system_a,record_a,business_id_a,system_b,record_b,business_id_b,note\n"
        "x,perhaps,M. M.,2026-11-30,crm,A1,,student_admin,Kivela,,\n",
        encoding="utf-8",
    )
    result = run_cli("run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh"),
                     "--site-config", str(tmp_path / "site.yaml"), env=fast_env)  # fmt: skip
    assert result.returncode != 0
    assert "decisions.csv, line 2: decision 'perhaps' is not 'same' or 'different'" in result.stderr + result.stdout
    assert not (tmp_path / "wh" / "published").exists()
