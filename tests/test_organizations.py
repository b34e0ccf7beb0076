"""The organisation master, the CRM facts and the overlap and segment marts."""

import copy
import json

import polars as pl
import pytest

from pipelines.marts.segments import SegmentConfigError, load_segments
from pipelines.matching.organization_matching import MatchSettings
from pipelines.matching.quality import match_quality
from pipelines.publishing.organization_tables import organization_matches
from schemas import published
from tests.conftest import run_cli
from tests.landing import ACCOUNT, valid_crm_rows, valid_rows, write_landing

VALID = {"a": "1234567-1", "b": "2345678-0", "c": "4567890-7"}  # valid Y-tunnus (mod 11)


def _accounts(*rows: tuple) -> pl.DataFrame:
    """(account id, name, Y-tunnus as typed, city[, state]) → validated account rows."""
    return pl.DataFrame(
        [
            {
                "account_id": r[0],
                "name": r[1],
                "business_id": r[2],
                "city": r[3],
                "state": r[4] if len(r) > 4 else "Active",
                "modified_on": None,
                "industry_code": None,
                "employees": None,
                "customer_type": "Työnantaja",
            }
            for r in rows
        ],
        schema_overrides={"modified_on": pl.Datetime("us", "UTC"), "employees": pl.Int64, "industry_code": pl.Utf8},
    )


def _workplaces(*rows: tuple) -> pl.DataFrame:
    """(workplace name, Y-tunnus as typed) → validated workplace rows."""
    return pl.DataFrame(
        [{"workplace_name": n, "business_id": b} for n, b in rows],
        schema={"workplace_name": pl.Utf8, "business_id": pl.Utf8},
    )


def _organisation(matches: pl.DataFrame, source_id: str) -> int:
    return matches.filter(pl.col("source_id") == source_id)["organization_key"].item()


def test_vat_form_and_missing_hyphen_match_the_standard_form():
    digits = VALID["a"].replace("-", "")
    m = organization_matches(
        _accounts(("A1", "Alfa Kone Oy", f"FI{digits}", "Kotka")),
        _workplaces(("Alfa-Kone", digits), ("Alfa Kone Oy", f" {VALID['a']} ")),
        MatchSettings(),
    )
    assert m["organization_key"].n_unique() == 1
    assert set(m["match_method"]) == {"business_id"} and set(m["business_id"]) == {VALID["a"]}


def test_duplicate_accounts_with_other_company_forms_are_one_organisation():
    m = organization_matches(
        _accounts(
            ("A1", "Beeta Rakennus Oy", VALID["b"], "Lahti"),
            ("A2", "BEETA RAKENNUS OY AB", None, "Lahti", "Inactive"),
            ("A3", "Beeta Rakennus Ltd", None, None),
        ),
        _workplaces(("Beeta Rakennus Oy, Lahti", None)),
        MatchSettings(),
    )
    assert m["organization_key"].n_unique() == 1
    methods = dict(zip(m["source_id"], m["match_method"]))
    assert methods == {
        "A1": "business_id",
        "A2": "name_and_city",
        "A3": "name",
        "Beeta Rakennus Oy, Lahti": "name_and_city",
    }


def test_a_wrong_check_digit_is_never_a_match_key():
    wrong = VALID["c"][:-1] + str((int(VALID["c"][-1]) + 1) % 10)
    m = organization_matches(
        _accounts(("A1", "Gamma Sähkö Oy", wrong, "Kouvola"), ("A2", "Delta Catering Oy", wrong, "Kouvola")),
        _workplaces(),
        MatchSettings(),
    )
    assert m["organization_key"].n_unique() == 2
    assert m["business_id"].is_null().all()


def test_similar_names_in_different_cities_do_not_merge():
    m = organization_matches(
        _accounts(
            ("A1", "Laine Sähkö Oy", None, "Kouvola"),
            ("A2", "Laine Sähkö Oy", None, "Lahti"),
            ("A3", "Laine Sahko Ky", None, "Lahti"),
        ),
        _workplaces(),
        MatchSettings(),
    )
    assert _organisation(m, "A1") != _organisation(m, "A2")
    assert _organisation(m, "A2") == _organisation(m, "A3")


def test_different_valid_business_ids_never_merge_and_a_tie_is_not_guessed():
    m = organization_matches(
        _accounts(("A1", "Epsilon Auto Oy", VALID["a"], "Kotka"), ("A2", "Epsilon Auto Oy", VALID["b"], "Hamina")),
        _workplaces(("EPSILON AUTO", None)),
        MatchSettings(),
    )
    assert m["organization_key"].n_unique() == 3
    assert m.filter(pl.col("source_id") == "EPSILON AUTO")["match_method"].item() == "unmatched"


def test_threshold_comes_from_configuration():
    accounts = _accounts(("A1", "Kivelä Puutarha Oy", VALID["a"], "Mikkeli"))
    workplaces = _workplaces(("Kivela Puutarhat", None))
    assert (
        organization_matches(accounts, workplaces, MatchSettings.from_config({"name_threshold": 85}))[
            "organization_key"
        ].n_unique()
        == 1
    )
    assert (
        organization_matches(accounts, workplaces, MatchSettings.from_config({"name_threshold": 99}))[
            "organization_key"
        ].n_unique()
        == 2
    )
    with pytest.raises(ValueError, match="name_threshold"):
        MatchSettings.from_config({"name_threshold": 10})


@pytest.fixture(scope="module")
def crafted_run(tmp_path_factory, fast_env):
    """Both exports; the second workplace has no Y-tunnus and an inactive CRM account, a third has no account."""
    root = tmp_path_factory.mktemp("crafted")
    rows = copy.deepcopy(valid_rows())
    rows["workplace_periods"][1].update(business_id="", workplace_name="Hamina Logistiikka Ky")
    rows["workplace_periods"].append(
        {
            "study_right_id": "OO-2",
            "agreement_type": "koulutussopimus",
            "business_id": "",
            "workplace_name": "Tmi Lahtinen",
            "start_date": "1.3.2026",
            "end_date": "30.4.2026",
        }
    )
    crm_rows = valid_crm_rows()
    crm_rows["accounts"].append(
        {
            **crm_rows["accounts"][1],
            "account_id": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c0004",
            "name": "Hamina Logistiikka Oy",
            "city": "Hamina",
        }
    )
    write_landing(root / "landing", rows, crm_rows=crm_rows)
    result = run_cli("run", "--landing", str(root / "landing"), "--warehouse", str(root / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    return root / "wh"


def _published(warehouse, table) -> pl.DataFrame:
    return pl.read_parquet(warehouse / "published" / f"{table}.parquet")


@pytest.mark.slow
def test_overlap_categories_and_conflict_flags(crafted_run):
    overlap = _published(crafted_run, "mart_crm_student_admin_overlap")
    by_name = {r["organization_name"]: r for r in overlap.iter_rows(named=True)}
    assert set(by_name) == {"Korjaamo Virtanen Oy", "Hamina Logistiikka Oy", "Tmi Lahtinen", "Kouvolan kaupunki"}
    korjaamo, hamina = by_name["Korjaamo Virtanen Oy"], by_name["Hamina Logistiikka Oy"]
    assert (korjaamo["overlap_category"], korjaamo["crm_account_count"], korjaamo["has_duplicate_crm_accounts"]) == (
        "both",
        2,
        True,
    )
    assert korjaamo["students_hosted_12m"] == 0 and korjaamo["crm_activities_12m"] == 1  # its period was in 2024
    assert hamina["overlap_category"] == "both" and hamina["inactive_account_hosting_students"]
    assert hamina["students_hosted_12m"] == 1 and hamina["workplace_periods_12m"] == 1
    assert by_name["Tmi Lahtinen"]["overlap_category"] == "student_admin_only"
    assert (
        by_name["Kouvolan kaupunki"]["overlap_category"] == "crm_only"
        and by_name["Kouvolan kaupunki"]["active_partnership"]
    )
    assert not any(r["name_conflict"] for r in by_name.values())


@pytest.mark.slow
def test_segments_and_kpis(crafted_run):
    segments = _published(crafted_run, "mart_customer_segments")
    by_name = {r["organization_name"]: r for r in segments.iter_rows(named=True)}
    assert by_name["Kouvolan kaupunki"]["segment"] == "strategic_partner"
    assert by_name["Hamina Logistiikka Oy"]["segment"] == "hosting_but_unmanaged"
    assert by_name["Korjaamo Virtanen Oy"]["segment"] == "prospect"
    korjaamo = by_name["Korjaamo Virtanen Oy"]
    assert (korjaamo["contacts"], korjaamo["survey_responses"], korjaamo["nps_score"]) == (1, 1, 100.0)
    assert str(korjaamo["last_contact_date"]) == "2026-10-01" and korjaamo["activities_12m_appointment"] == 1
    assert by_name["Hamina Logistiikka Oy"]["students_oppisopimus_12m"] == 1


@pytest.mark.slow
def test_workplace_facts_point_at_the_organisation(crafted_run):
    places = _published(crafted_run, "fact_workplace_period")
    dim = _published(crafted_run, "dim_organization")
    named = places.join(dim, on="organization_key").select("workplace_name", "organization_name")
    assert named.height == places.height == 3
    bridge = _published(crafted_run, "bridge_organization_source")
    assert bridge.filter(pl.col("source_id") == ACCOUNT["korjaamo_old"])["match_method"].item() == "name_and_city"


@pytest.mark.slow
def test_no_contact_subject_or_comment_text_is_published(crafted_run):
    crm = valid_crm_rows()
    secrets = {v for c in crm["contacts"] for k, v in c.items() if k in ("first_name", "last_name", "email", "phone")}
    secrets |= {a["subject"] for a in crm["activities"]} | {r["comment"] for r in crm["survey_responses"]}
    for path in (crafted_run / "published").glob("*.parquet"):
        frame = pl.read_parquet(path)
        text = "\n".join(str(v) for column in frame.iter_columns() for v in column)
        assert not [s for s in secrets if s in text], path.name


@pytest.mark.slow
def test_crm_rows_add_up_in_the_manifest(crafted_run):
    files = json.loads((crafted_run / "manifest.json").read_text())["files"]
    for name in ("accounts.csv", "contacts.csv", "activities.csv", "partnerships.csv", "survey_responses.csv"):
        assert files[name]["source_system"] == "crm" and files[name]["rows_read"] == files[name]["rows_published"] > 0


def test_segment_configuration_mistakes_are_named():
    columns = {c.name for c in published.BY_NAME["mart_customer_segments"].columns}
    with pytest.raises(SegmentConfigError, match="unknown column 'studnets'"):
        load_segments(
            {
                "segments": [
                    {"segment": "x", "when": [{"column": "studnets", "op": ">", "value": 1}]},
                    {"segment": "rest"},
                ]
            },
            columns,
        )
    with pytest.raises(SegmentConfigError, match="last segment"):
        load_segments(
            {"segments": [{"segment": "x", "when": [{"column": "in_crm", "op": "==", "value": True}]}]}, columns
        )


@pytest.fixture(scope="module")
def medium_run(tmp_path_factory, fast_env):
    from pipelines.cli import DEMO_AS_OF
    from pipelines.demo_data.export import generate

    root = tmp_path_factory.mktemp("medium")
    generate("medium", 5, root / "landing", DEMO_AS_OF, history=False)
    result = run_cli("run", "--landing", str(root / "landing"), "--warehouse", str(root / "wh"), env=fast_env)
    assert result.returncode == 0, result.stderr
    return root


@pytest.mark.slow
def test_match_quality_on_the_medium_demo(medium_run):
    truth = pl.read_csv(
        next((medium_run / "landing" / "truth" / "crm").iterdir()) / "organizations.csv", infer_schema=False
    )
    quality = match_quality(_published(medium_run / "wh", "bridge_organization_source"), truth)
    assert quality.records > 500
    assert quality.precision >= 0.98 and quality.recall >= 0.95, quality


@pytest.mark.slow
def test_crm_quarantine_equals_the_generators_truth(medium_run):
    truth = pl.read_csv(next((medium_run / "landing" / "truth" / "crm").iterdir()) / "defects.csv")
    expected = truth.filter(pl.col("rule_id").is_not_null()).select("source_file", "source_line", "rule_id", "severity")
    tables = ("accounts", "contacts", "activities", "partnerships", "survey_responses")
    failures = pl.concat([pl.read_parquet(medium_run / "wh" / "quarantine" / f"{t}.parquet") for t in tables])
    got = failures.filter(~pl.col("rule_id").str.ends_with("parent_in_quarantine")).select(expected.columns)
    assert got.unique().sort(pl.all()).equals(expected.unique().sort(pl.all()))
    assert set(truth["defect_class"]) >= {
        "duplicate_account",
        "business_id_other_format",
        "truncated_last_line",
        "account_business_id_wrong_check_digit",
        "partnership_end_before_start",
    }
    overlap = _published(medium_run / "wh", "mart_crm_student_admin_overlap")
    assert set(overlap["overlap_category"]) == {"both", "crm_only", "student_admin_only"}
    assert overlap["has_duplicate_crm_accounts"].sum() > 0 and overlap["name_conflict"].sum() > 0


def test_every_segment_has_its_finnish_name_beside_its_code(small_run):
    """A BI user sees segment_label (label_fi of customer_segments.yaml) beside the code in the mart."""
    import yaml

    from pipelines.site import DEFAULT_SEGMENTS, DEFAULT_SITE_CONFIG

    _, warehouse = small_run
    mart = pl.read_parquet(warehouse / "published" / "mart_customer_segments.parquet")
    config = yaml.safe_load((DEFAULT_SITE_CONFIG.parent / DEFAULT_SEGMENTS).read_text(encoding="utf-8"))
    names = {s["segment"]: s["label_fi"] for s in config["segments"]}
    assert mart.height and all(names[code] == label for code, label in mart.select("segment", "segment_label").rows())
