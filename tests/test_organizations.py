"""The organisation master, the CRM facts and the overlap and segment marts."""

import copy
import datetime as dt
import json
import re

import polars as pl
import pytest

from pipelines.marts.segments import SegmentConfigError, load_segments
from pipelines.matching.decisions import (
    Decision,
    DecisionError,
    add_decision,
    latest,
    pair_id,
    read_decisions,
    record_key,
)
from pipelines.matching.organization_matching import MatchSettings
from pipelines.matching.quality import match_quality
from pipelines.publishing.organization_tables import bridge_organization_source, dim_organization, organization_master
from schemas import published
from tests.conftest import run_cli
from tests.landing import ACCOUNT, valid_crm_rows, valid_rows, write_landing

VALID = {"a": "1234567-1", "b": "2345678-0", "c": "4567890-7"}  # valid Y-tunnus (mod 11)


def _accounts(*rows: tuple) -> pl.DataFrame:
    """(account id, name, Y-tunnus as typed, city[, state[, postcode]]) → validated account rows."""
    return pl.DataFrame(
        [
            {
                "account_id": r[0],
                "name": r[1],
                "business_id": r[2],
                "city": r[3],
                "postal_code": r[5] if len(r) > 5 else None,
                "state": r[4] if len(r) > 4 else "Active",
                "modified_on": None,
                "industry_code": None,
                "employees": None,
                "customer_type": "Työnantaja",
            }
            for r in rows
        ],
        schema_overrides={
            "modified_on": pl.Datetime("us", "UTC"),
            "employees": pl.Int64,
            "industry_code": pl.Utf8,
            "postal_code": pl.Utf8,
            "city": pl.Utf8,
            "business_id": pl.Utf8,
        },
    )


def _workplaces(*rows: tuple) -> pl.DataFrame:
    """(workplace name, Y-tunnus as typed) → validated workplace rows."""
    return pl.DataFrame(
        [{"workplace_name": n, "business_id": b} for n, b in rows],
        schema={"workplace_name": pl.Utf8, "business_id": pl.Utf8},
    )


DEFAULTS = MatchSettings()


def organization_matches(accounts, workplaces, settings=DEFAULTS, decisions=()) -> pl.DataFrame:
    return organization_master(accounts, workplaces, settings, decisions).records


def _organisation(matches: pl.DataFrame, source_id: str) -> int:
    return matches.filter(pl.col("source_id") == source_id)["organization_key"].item()


def test_vat_form_and_missing_hyphen_match_the_standard_form():
    digits = VALID["a"].replace("-", "")
    m = organization_matches(
        _accounts(("A1", "Alfa Kone Oy", f"FI{digits}", "Kotka")),
        _workplaces(("Alfa-Kone", digits), ("Alfa Kone Oy", f" {VALID['a']} ")),
    )
    assert m["organization_key"].n_unique() == 1
    assert set(m["match_method"]) == {"business_id"} and set(m["business_id"]) == {VALID["a"]}
    assert set(m["match_probability"]) == {1.0}


def test_duplicate_accounts_with_other_company_forms_are_one_organisation():
    m = organization_matches(
        _accounts(
            ("A1", "Beeta Rakennus Oy", VALID["b"], "Lahti"),
            ("A2", "BEETA RAKENNUS OY AB", None, "Lahti", "Inactive"),
            ("A3", "Beeta Rakennus Ltd", None, None),
        ),
        _workplaces(("Beeta Rakennus Oy, Lahti", None)),
    )
    assert m["organization_key"].n_unique() == 1
    methods = dict(zip(m["source_id"], m["match_method"]))
    assert methods == {
        "A1": "business_id",
        "A2": "probabilistic",
        "A3": "probabilistic",
        "Beeta Rakennus Oy, Lahti": "probabilistic",
    }
    assert m.filter(pl.col("match_method") == "probabilistic")["match_probability"].is_between(0.2, 1).all()


@pytest.mark.parametrize(
    ("typed", "account"),
    [
        ("Birtanen Rakennus", "Virtanen Rakennus Oy"),  # a typo in the first letter
        ("T:mi Anna Korhonen", "Anna Korhonen Tmi"),  # a sole trader's form before the name
        ("Toiminimi Anna Korhonen", "Anna Korhonen Tmi"),
        ("Kuljetus Lahtinen Oy, Kotka", "Kuljetus Lahtinen Oy"),  # a branch of a head office in another town
        ("NORDIC BAKERY LIMITED", "Nordic Bakery Ltd"),
        ("J & K Sähkö", "J&K Sähkö Oy"),
        ("Kouvolan kaupunki / ruokapalvelut", "Kouvolan kaupunki"),  # a unit of a public body
        ("Tallinna Ehitus", "Tallinna Ehitus OÜ"),
    ],
)
def test_the_hard_spellings_join_their_organisation(typed, account):
    m = organization_matches(_accounts(("A1", account, VALID["a"], "Helsinki")), _workplaces((typed, None)))
    assert m["organization_key"].n_unique() == 1, m
    assert m.filter(pl.col("source_id") == typed)["match_method"].item() == "probabilistic"


def test_a_branch_account_joins_the_head_office_though_its_town_differs():
    m = organization_matches(
        _accounts(
            ("A1", "Kuljetus Lahtinen Oy", VALID["a"], "Helsinki", "Active", "00100"),
            ("A2", "Kuljetus Lahtinen Oy Kotkan toimipiste", None, "Kotka", "Active", "48100"),
        ),
        _workplaces(("Kuljetus Lahtinen Oy, Kotka", None)),
    )
    assert m["organization_key"].n_unique() == 1


def test_a_wrong_check_digit_is_never_a_match_key():
    wrong = VALID["c"][:-1] + str((int(VALID["c"][-1]) + 1) % 10)
    m = organization_matches(
        _accounts(("A1", "Gamma Sähkö Oy", wrong, "Kouvola"), ("A2", "Delta Catering Oy", wrong, "Kouvola")),
        _workplaces(),
    )
    assert m["organization_key"].n_unique() == 2
    assert m["business_id"].is_null().all()


def test_a_wrong_check_digit_is_a_near_match():
    """The same name in another town would stay apart; the Y-tunnus with one digit wrong brings it together."""
    wrong = VALID["c"][:-1] + str((int(VALID["c"][-1]) + 1) % 10)
    accounts = _accounts(("A1", "Gamma Sähkö Oy", VALID["c"], "Kouvola"), ("A2", "Gamma Sähkö Oy", wrong, "Lahti"))
    assert organization_matches(accounts, _workplaces())["organization_key"].n_unique() == 1
    other = _accounts(("A1", "Gamma Sähkö Oy", VALID["c"], "Kouvola"), ("A2", "Gamma Sähkö Oy", None, "Lahti"))
    assert organization_matches(other, _workplaces())["organization_key"].n_unique() == 2


def test_similar_names_in_different_cities_do_not_merge():
    m = organization_matches(
        _accounts(
            ("A1", "Laine Sähkö Oy", None, "Kouvola"),
            ("A2", "Laine Sähkö Oy", None, "Lahti"),
            ("A3", "Laine Sahko Ky", None, "Lahti"),
        ),
        _workplaces(),
    )
    assert _organisation(m, "A1") != _organisation(m, "A2")
    assert _organisation(m, "A2") == _organisation(m, "A3")


def test_different_valid_business_ids_never_merge_and_a_tie_goes_to_review():
    resolution = organization_master(
        _accounts(("A1", "Epsilon Auto Oy", VALID["a"], "Kotka"), ("A2", "Epsilon Auto Oy", VALID["b"], "Hamina")),
        _workplaces(("EPSILON AUTO", None)),
        MatchSettings(),
    )
    m = resolution.records
    assert m["organization_key"].n_unique() == 3
    assert m.filter(pl.col("source_id") == "EPSILON AUTO")["match_method"].item() == "unmatched"
    review = resolution.review
    assert set(review["source_id_a"]) | set(review["source_id_b"]) == {"A1", "A2", "EPSILON AUTO"}
    assert review.height == 2  # (the workplace beside each account; never the two accounts with their own Y-tunnus)


def test_thresholds_come_from_configuration():
    accounts = _accounts(("A1", "Kivelä Puutarha Oy", VALID["a"], "Mikkeli"))
    workplaces = _workplaces(("Kivela Puutarhat", None))  # one typo: between the two thresholds below
    low = MatchSettings.from_config({"match_probability": 0.1, "review_probability": 0.01})
    high = MatchSettings.from_config({"match_probability": 0.99, "review_probability": 0.01})
    assert organization_matches(accounts, workplaces, low)["organization_key"].n_unique() == 1
    held = organization_master(accounts, workplaces, high)
    assert held.records["organization_key"].n_unique() == 2 and held.review.height == 1
    with pytest.raises(ValueError, match="review_probability"):
        MatchSettings.from_config({"match_probability": 0.5, "review_probability": 0.9})
    with pytest.raises(ValueError, match="name_threshold"):
        MatchSettings.from_config({"name_threshold": 90})


def _decision(a, b, same, line=2):
    return Decision(a, b, same, "Data steward M. M.", dt.date(2026, 11, 30), line=line)


def test_a_stewards_decision_settles_a_doubtful_pair_and_names_only_its_records():
    accounts = _accounts(("A1", "Kivelä Puutarha Oy", VALID["a"], "Mikkeli"), ("A2", "Omega Hoiva Oy", None, "Kotka"))
    workplaces = _workplaces(("Kivela Puutarhat", None), ("Omega Hoiva", None))
    settings = MatchSettings.from_config({"match_probability": 0.99, "review_probability": 0.01})
    before = organization_master(accounts, workplaces, settings)
    pair = before.review.filter(pl.col("source_id_b") == "Kivela Puutarhat").row(0, named=True)
    kivela = (record_key("crm", "A1", VALID["a"]), record_key("student_admin", "Kivela Puutarhat", None))
    assert pair["pair_id"] == pair_id(*kivela)

    same = organization_master(accounts, workplaces, settings, [_decision(*kivela, same=True)])
    assert _organisation(same.records, "A1") == _organisation(same.records, "Kivela Puutarhat")
    assert same.records.filter(pl.col("source_id") == "Kivela Puutarhat")["match_method"].item() == "steward"
    assert pair["pair_id"] not in set(same.review["pair_id"])
    # the other doubtful pair is untouched by a decision that does not name it
    omega = before.review.filter(pl.col("source_id_b") == "Omega Hoiva")
    assert omega.height == 1 and omega["pair_id"].item() in set(same.review["pair_id"])

    different = organization_master(accounts, workplaces, MatchSettings(), [_decision(*kivela, same=False)])
    assert _organisation(different.records, "A1") != _organisation(different.records, "Kivela Puutarhat")
    assert pair["pair_id"] not in set(different.review["pair_id"])

    # a new export with more records (every record numbered anew): the decision still names the same two
    grown = organization_master(
        _accounts(
            ("A0", "Aalto Kone Oy", VALID["c"], "Kotka"),
            ("A1", "Kivelä Puutarha Oy", VALID["a"], "Mikkeli"),
            ("A2", "Omega Hoiva Oy", None, "Kotka"),
        ),
        _workplaces(("Aalto Kone", None), ("Kivela Puutarhat", None), ("Omega Hoiva", None)),
        settings,
        [_decision(*kivela, same=True)],
    ).records
    assert _organisation(grown, "A1") == _organisation(grown, "Kivela Puutarhat")

    gone = (record_key("crm", "A9", None), record_key("student_admin", "Kivela Puutarhat", None))
    stale = organization_master(accounts, workplaces, settings, [_decision(*gone, same=True)])
    assert stale.decisions["outcome"].to_list() == ["not_in_export"]
    assert stale.records.equals(before.records)


def test_the_decisions_file_is_appended_to_and_a_bad_line_is_named(tmp_path):
    path = tmp_path / "organization_decisions.csv"
    first = _decision(record_key("crm", "A1", VALID["a"]), record_key("student_admin", "Kivela", None), True)
    add_decision(path, first)
    add_decision(path, _decision(first.a, first.b, False))
    decisions = read_decisions(path)
    assert [d.same for d in decisions] == [True, False] and [d.line for d in decisions] == [2, 3]
    assert not latest(decisions)[first.pair].same  # (the later decision on a pair is the one in force)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # (Excel reads it as UTF-8)
    path.write_text(path.read_text(encoding="utf-8-sig").replace("different", "maybe"), encoding="utf-8")
    with pytest.raises(DecisionError, match=r"line 3: decision 'maybe'"):
        read_decisions(path)


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
    assert bridge.filter(pl.col("source_id") == ACCOUNT["korjaamo_old"])["match_method"].item() == "probabilistic"


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
    assert quality.precision >= 0.995 and quality.recall >= 0.99, quality


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


def _prh_company(business_id: str, names: list[tuple[str, str, str | None]], industry: str, city: str, post: str):
    """One company as PRH's open-data API v3 writes it (opendata-ytj-api/v3 ``companies[]``): names with their
    type (1 company name, 2 parallel name, 3 auxiliary name) and end date, the main business line (TOL 2008), the
    street address (type 1) with its post offices by language (1 Finnish, 2 Swedish)."""
    return {
        "businessId": {"value": business_id, "registrationDate": "2001-05-02", "source": "3"},
        "euId": {"value": "FI" + business_id.replace("-", ""), "source": "1"},
        "names": [
            {"name": n, "type": t, "registrationDate": "2001-05-02", "endDate": end, "version": 1, "source": "1"}
            for n, t, end in names
        ],
        "mainBusinessLine": {
            "type": industry,
            "descriptions": [{"languageCode": "1", "description": "Leipomotuotteiden valmistus"}],
            "typeCodeSet": "TOIMI4",
            "registrationDate": "2001-05-02",
            "source": "2",
        },
        "companyForms": [{"type": "16", "descriptions": [{"languageCode": "1", "description": "Osakeyhtiö"}]}],
        "addresses": [
            {
                "type": 1,
                "street": "Kauppalankatu 5",
                "postCode": post,
                "postOffices": [{"city": city.upper(), "languageCode": "1", "municipalityCode": "286"}],
                "registrationDate": "2001-05-02",
                "source": "0",
            }
        ],
        "status": "2",
        "registrationDate": "2001-05-02",
        "lastModified": "2026-10-01T08:12:44",
    }


@pytest.mark.parametrize("shape", ["array", "api", "zip"])
def test_prhs_company_data_lends_a_y_tunnus_parallel_names_and_a_business_line(tmp_path, shape):
    from pipelines.ingestion.ytj import read_ytj

    companies = [
        _prh_company(
            VALID["a"],
            [
                ("Leipomo Nordic Oy", "1", None),
                ("Nordic Bakery Ltd", "2", None),
                ("Vanha Leipomo Oy", "1", "2019-12-31"),
            ],
            "10710",
            "Kouvola",
            "45100",
        ),
        _prh_company(
            VALID["b"], [("Sähkö-Kaarlo Oy", "1", None), ("Kaarlon Valo", "3", None)], "43210", "Kotka", "48100"
        ),
        _prh_company(VALID["c"], [("Muu Yhtiö Oy", "1", None)], "62010", "Helsinki", "00100"),
    ]
    folder = tmp_path / "ytj" / "2026-11-20"
    folder.mkdir(parents=True)
    text = json.dumps(
        companies if shape == "array" else {"totalResults": 3, "companies": companies}, ensure_ascii=False
    )
    if shape == "zip":
        import zipfile

        with zipfile.ZipFile(folder / "all_companies.zip", "w") as z:
            z.writestr("all_companies.json", text)
    else:
        (folder / "yritykset.json").write_text(text, encoding="utf-8")
    reference = read_ytj(folder)
    assert set(reference["name"]) == {
        "Leipomo Nordic Oy",
        "Nordic Bakery Ltd",
        "Sähkö-Kaarlo Oy",
        "Kaarlon Valo",
        "Muu Yhtiö Oy",
    }  # fmt: skip  (a name no longer in use is not one)

    resolution = organization_master(
        _accounts(("A1", "Leipomo Nordic Oy", VALID["a"], "Kouvola")),
        _workplaces(("NORDIC BAKERY LIMITED", None), ("Kaarlon Valo", None)),
        MatchSettings(),
        reference=reference,
    )
    m = resolution.records
    assert _organisation(m, "NORDIC BAKERY LIMITED") == _organisation(m, "A1")  # by its parallel name
    assert set(m.filter(pl.col("source_system") == "ytj")["business_id"]) == {VALID["a"], VALID["b"]}  # not the third
    dim = dim_organization(m)
    kaarlo = dim.filter(pl.col("organization_key") == _organisation(m, "Kaarlon Valo")).row(0, named=True)
    assert (kaarlo["business_id"], kaarlo["industry_code"], kaarlo["city"]) == (VALID["b"], "43210", "Kotka")
    assert kaarlo["organization_name"] == "Sähkö-Kaarlo Oy" and not kaarlo["in_crm"]
    assert set(bridge_organization_source(m)["source_system"]) == {"crm", "student_admin"}


def test_a_broken_prh_file_is_named(tmp_path):
    from pipelines.ingestion.problems import FileProblem
    from pipelines.ingestion.ytj import read_ytj

    (tmp_path / "yritykset.json").write_text('[{"businessId": {"value": "1234567-1"}, "names": [', encoding="utf-8")
    with pytest.raises(FileProblem, match="yritykset.json: cannot be read as PRH's company JSON"):
        read_ytj(tmp_path)
    (tmp_path / "yritykset.json").write_text("businessId;name\n", encoding="utf-8")
    with pytest.raises(FileProblem, match="is not PRH's JSON"):
        read_ytj(tmp_path)


@pytest.mark.slow
def test_the_generators_truth_holds_the_hard_spellings(medium_run):
    """First-letter typos, sole traders' forms, branches in another town and English parallel names are in the
    truth the quality above is measured on."""
    truth = pl.read_csv(
        next((medium_run / "landing" / "truth" / "crm").iterdir()) / "organizations.csv", infer_schema=False
    )
    names = truth.filter(pl.col("source_system") == "student_admin")["source_id"].to_list()
    assert any(n.startswith(("T:mi ", "Toiminimi ")) for n in names)
    assert any(n.endswith(" toimipiste") for n in names) and any(re.search(r", [A-Z][a-z]+$", n) for n in names)
    assert any(n.upper().endswith((" LTD", " LIMITED")) for n in names)
    per_org = truth.group_by("organization").agg("source_id")["source_id"].to_list()
    typos = [(a, b) for group in per_org for a in group for b in group if a[0] != b[0] and a[1:] == b[1:]]
    assert typos


def test_a_site_model_is_read_and_one_trained_on_other_comparisons_is_refused(tmp_path):
    from pipelines.matching.linkage import MODEL

    model = json.loads(MODEL.read_text(encoding="utf-8"))
    (tmp_path / "ours.json").write_text(json.dumps(model), encoding="utf-8")
    settings = MatchSettings.from_config({"model": "ours.json"}, tmp_path)
    assert settings.model == tmp_path / "ours.json"
    accounts = _accounts(("A1", "Beeta Rakennus Oy", VALID["b"], "Lahti"))
    workplaces = _workplaces(("Beeta Rakennus", None))
    assert organization_matches(accounts, workplaces, settings)["organization_key"].n_unique() == 1
    model["comparisons"][1]["comparison_levels"][1]["sql_condition"] = "core_l = core_r OR true"
    (tmp_path / "ours.json").write_text(json.dumps(model), encoding="utf-8")
    with pytest.raises(ValueError, match="ours.json: the model was trained on other comparisons"):
        organization_matches(accounts, workplaces, settings)


def test_a_decision_against_a_y_tunnus_is_refused_and_said_so():
    """Two records with the same valid Y-tunnus are one organisation whatever a decision says; two with different
    ones are two: the decision is listed as not applied."""
    accounts = _accounts(("A1", "Alfa Kone Oy", VALID["a"], "Kotka"), ("A2", "Beeta Kone Oy", VALID["b"], "Kotka"))
    workplaces = _workplaces(("Alfa Kone", VALID["a"]))
    one = (record_key("crm", "A1", VALID["a"]), record_key("student_admin", "Alfa Kone", VALID["a"]))
    two = (record_key("crm", "A1", VALID["a"]), record_key("crm", "A2", VALID["b"]))
    resolution = organization_master(
        accounts, workplaces, MatchSettings(), [_decision(*one, same=False), _decision(*two, same=True, line=3)]
    )
    assert sorted(resolution.decisions["outcome"]) == ["refused", "refused"]
    assert resolution.records["organization_key"].n_unique() == 2
