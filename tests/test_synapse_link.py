"""The CRM as Dynamics 365 delivers it through Azure Synapse Link (issue #31): the same CRM world, written flat and
as a Synapse Link folder by Microsoft's rules (``tests/synapse_link.py``), reads as the same CRM tables; updates,
deletes and an added column are handled as Dataverse means them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingestion.folder import read_folder
from pipelines.ingestion.landing import Landing
from pipelines.validation import validate_export
from schemas import crm
from schemas.codes import option_set
from tests.conftest import FUZZ_EXAMPLES
from tests.landing import AS_OF, valid_crm_rows, write_landing
from tests.synapse_link import Table, sink_time, write_folder
from tests.test_hostile_input import MUTATIONS, _mutate

CUSTOMER_TYPES = {"Työnantaja": (1, "Employer"), "Kumppani": (2, "Partner"), "Julkinen sektori": (3, "Public sector")}
ACCOUNT_STATES = {"Active": (0, "Aktiivinen"), "Inactive": (1, "Passiivinen")}
ACTIVITY_STATES = {"Open": (0, "Avoin"), "Completed": (1, "Valmis"), "Canceled": (2, "Peruutettu")}
LEVELS = {"Strateginen kumppani": (100000000, "Strategic partner"), "Yhteistyökumppani": (100000001, "Partner")}
#: the choice labels as Dataverse's metadata files hold them: Finnish (1035) and English (1033)
LABELS = [
    *[
        r
        for label, (v, en) in CUSTOMER_TYPES.items()
        for r in (["account", "customertypecode", v, 1035, label], ["account", "customertypecode", v, 1033, en])
    ],
    *[
        r
        for en, (v, fi) in ACCOUNT_STATES.items()
        for r in (["state", "account", v, 1035, fi], ["state", "account", v, 1033, en])
    ],
    *[
        r
        for en, (v, fi) in ACTIVITY_STATES.items()
        for r in (["state", "activitypointer", v, 1035, fi], ["state", "activitypointer", v, 1033, en])
    ],
    *[["new_partnership", "new_level", v, 1035, label] for label, (v, _) in LEVELS.items()],
]
#: what the site says of its Dynamics: the Y-tunnus column, the custom tables, and where their columns differ
SITE = {
    "crm": {
        "dataverse_columns": {"accounts": {"business_id": "new_ytunnus"}, "partnerships": {"level": "new_level"}},
        "dataverse_tables": {"partnerships": ["new_partnership"], "survey_responses": ["new_surveyresponse"]},
    }
}
WRITTEN = dt.datetime(2026, 11, 19, 15, 4, 5, tzinfo=dt.UTC)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _row(id_: str, n: int, created: str, **values) -> dict:
    written = WRITTEN + dt.timedelta(minutes=n)
    return {
        "Id": id_,
        "SinkCreatedOn": sink_time(written),
        "SinkModifiedOn": sink_time(written),
        "versionnumber": 1000 + n,
        "createdon": _time(created),
        "IsDelete": None,
        **values,
    }


def crm_world() -> list[Table]:
    """valid_crm_rows' CRM as Dataverse holds it: GUIDs, choices as integers, the Y-tunnus a custom column."""
    flat = valid_crm_rows()
    account = Table(
        "account",
        [
            ("accountid", "guid"),
            ("name", "string"),
            ("industrycode", "string"),
            ("address1_city", "string"),
            ("address1_postalcode", "string"),
            ("numberofemployees", "int64"),
            ("customertypecode", "int64"),
            ("ownerid", "guid"),
            ("statecode", "int64"),
        ],
        added=[("new_ytunnus", "string")],
    )
    for n, r in enumerate(flat["accounts"]):
        account.rows.append(
            _row(
                r["account_id"],
                n,
                r["created_on"],
                accountid=r["account_id"],
                name=r["name"],
                industrycode=r["industry_code"],
                address1_city=r["city"],
                address1_postalcode=r["postal_code"],
                numberofemployees=r["employees"],
                customertypecode=CUSTOMER_TYPES[r["customer_type"]][0],
                ownerid=r["owner_id"],
                statecode=ACCOUNT_STATES[r["state"]][0],
                modifiedon=_time(r["modified_on"]),
                new_ytunnus=r["business_id"],
            )
        )
    contact = Table(
        "contact",
        [
            ("contactid", "guid"),
            ("parentcustomerid", "guid"),
            ("parentcustomeridtype", "string"),
            ("firstname", "string"),
            ("lastname", "string"),
            ("emailaddress1", "string"),
            ("telephone1", "string"),
            ("jobtitle", "string"),
        ],
    )
    for n, r in enumerate(flat["contacts"]):
        contact.rows.append(
            _row(
                r["contact_id"],
                n,
                r["created_on"],
                contactid=r["contact_id"],
                parentcustomerid=r["account_id"],
                parentcustomeridtype="account",
                firstname=r["first_name"],
                lastname=r["last_name"],
                emailaddress1=r["email"],
                telephone1=r["phone"],
                jobtitle=r["job_title"],
            )
        )
    activity = Table(
        "activitypointer",
        [
            ("activityid", "guid"),
            ("regardingobjectid", "guid"),
            ("regardingobjecttypecode", "string"),
            ("activitytypecode", "string"),
            ("subject", "string"),
            ("scheduledstart", "dateTime"),
            ("actualend", "dateTime"),
            ("ownerid", "guid"),
            ("statecode", "int64"),
        ],
    )
    for n, r in enumerate(flat["activities"]):
        activity.rows.append(
            _row(
                r["activity_id"],
                n,
                "2026-09-01T08:00:00Z",
                activityid=r["activity_id"],
                regardingobjectid=r["account_id"],
                regardingobjecttypecode="account",
                activitytypecode=r["activity_type"],
                subject=r["subject"],
                scheduledstart=_time(r["scheduled_start"]),
                actualend=_time(r["actual_end"]),
                ownerid=r["owner_id"],
                statecode=ACTIVITY_STATES[r["state"]][0],
            )
        )
    partnership = Table(
        "new_partnership",
        [
            ("partnershipid", "guid"),
            ("accountid", "guid"),
            ("new_level", "int64"),
            ("scope", "string"),
            ("startdate", "dateTime"),
            ("enddate", "dateTime"),
        ],
    )
    for n, r in enumerate(flat["partnerships"]):
        partnership.rows.append(
            _row(
                r["partnership_id"],
                n,
                "2024-01-01T08:00:00Z",
                partnershipid=r["partnership_id"],
                accountid=r["account_id"],
                new_level=LEVELS[r["level"]][0],
                scope=r["scope"],
                startdate=f"{r['start_date']}T00:00:00Z",
                enddate=f"{r['end_date']}T00:00:00Z" if r["end_date"] else None,
            )
        )
    survey = Table(
        "new_surveyresponse",
        [
            ("responseid", "guid"),
            ("accountid", "guid"),
            ("submittedon", "dateTime"),
            ("nps", "int64"),
            ("satisfaction", "int64"),
            ("comment", "string"),
        ],
    )
    for n, r in enumerate(flat["survey_responses"]):
        survey.rows.append(
            _row(
                r["response_id"],
                n,
                r["submitted_on"],
                responseid=r["response_id"],
                accountid=r["account_id"],
                submittedon=_time(r["submitted_on"]),
                nps=r["nps"],
                satisfaction=r["satisfaction"],
                comment=r["comment"],
            )
        )
    return [account, contact, activity, partnership, survey]


def _site(root: Path) -> Path:
    path = root / "site.yaml"
    path.write_text(yaml.safe_dump(SITE, allow_unicode=True), encoding="utf-8")
    return path


def _crm(root: Path, site: Path | None = None) -> dict:
    landing = Landing.at(root, site)
    raws = read_folder(landing, crm.TABLES, landing.export_folder(crm.SYSTEM))
    return raws, validate_export(crm.SOURCE, raws, "test")


def _coded(frame: pl.DataFrame) -> pl.DataFrame:
    """A choice as its code (a label in Finnish from Dataverse, in English in the flat export: the same code)."""
    sets = {"customer_type": "customertypecode", "level": "level"}
    state = "statecode_account" if "customer_type" in frame.columns else "statecode_activity"
    coded = frame.drop("source_line").with_columns(
        pl.col(c).replace_strict(option_set(s), default=None) for c, s in {**sets, "state": state}.items() if c in frame
    )
    return coded.sort(frame.columns[0])  # (in the key's order: a record's current version stands where it was written)


def _same_tables(flat: dict, synapse: dict) -> None:
    for name, outcome in flat.items():
        theirs = synapse[name]
        assert theirs.problem is None, (name, theirs.problem)
        assert _coded(theirs.valid).equals(_coded(outcome.valid)), name
        assert sorted(theirs.failures["rule_id"]) == sorted(outcome.failures["rule_id"]), name


@pytest.fixture
def flat_crm(tmp_path_factory):
    root = tmp_path_factory.mktemp("flat")
    write_landing(root, crm_rows=valid_crm_rows())
    return _crm(root)[1]


def _synapse_landing(tmp_path: Path) -> tuple[Path, Path]:
    write_landing(tmp_path, crm_rows=valid_crm_rows())
    folder = tmp_path / "crm" / AS_OF
    shutil.rmtree(folder)
    folder.mkdir()
    return folder, _site(tmp_path)


def test_a_table_copy_written_in_place_reads_as_the_flat_export(tmp_path, flat_crm):
    folder, site = _synapse_landing(tmp_path)
    write_folder(folder, crm_world(), LABELS)
    raws, outcomes = _crm(tmp_path, site)
    _same_tables(flat_crm, outcomes)
    assert any("from Synapse Link: account/2024.csv lines 1–3" in n for n in raws["accounts"].notices)


def test_an_append_only_copy_keeps_each_records_last_version_and_drops_the_deleted(tmp_path, flat_crm):
    """Append-only: an update is a new version of the row at the end, a delete a row with IsDelete True, a retried
    write the same row twice; rows written before the Y-tunnus column was added are shorter."""
    folder, site = _synapse_landing(tmp_path)
    tables = crm_world()
    account = tables[0]
    current = list(account.rows)
    first = {
        **current[0],
        "name": "Korjaamo Virtanen",
        "new_ytunnus": None,
        "versionnumber": 900,
        "SinkModifiedOn": sink_time(WRITTEN - dt.timedelta(days=30)),
    }
    gone = {
        **current[2],
        "Id": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c0099",
        "accountid": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c0099",
        "name": "Poistettu Oy",
        "versionnumber": 901,
        "SinkModifiedOn": sink_time(WRITTEN - dt.timedelta(days=20)),
    }
    deleted = {
        **gone,
        "IsDelete": True,
        "versionnumber": 1901,
        "SinkModifiedOn": sink_time(WRITTEN + dt.timedelta(hours=2)),
    }
    account.rows = [first, {**current[1], "new_ytunnus": None}, gone, current[2], current[2], current[0], deleted]
    write_folder(folder, tables, LABELS, short={"account": 2})
    assert (folder / "account" / "2024.csv").read_text().splitlines()[0].count(",") < len(account.columns) - 1
    raws, outcomes = _crm(tmp_path, site)
    _same_tables(flat_crm, outcomes)
    assert any("3 earlier versions" in n and "1 deleted" in n for n in raws["accounts"].notices), raws[
        "accounts"
    ].notices


def test_incremental_folders_apply_in_order_and_the_one_being_written_waits(tmp_path, flat_crm):
    folder, site = _synapse_landing(tmp_path)
    initial = crm_world()
    initial[0].rows[0] = {**initial[0].rows[0], "name": "Korjaamo Virtanen", "versionnumber": 10}
    write_folder(folder / "2026-11-18T10.00.00Z", initial, LABELS)
    changes = crm_world()
    for t in changes:
        t.rows = t.rows[:1] if t.name == "account" else []
    write_folder(folder / "2026-11-19T10.05.00Z", changes, LABELS)
    half = crm_world()
    half[0].rows = [{**half[0].rows[2], "name": "KESKEN", "versionnumber": 99999}]
    write_folder(folder / "2026-11-20T09.55.00Z", half, LABELS)
    (folder / "Changelog").mkdir()
    (folder / "Changelog" / "changelog.info").write_text("2026-11-20T09.55.00Z", encoding="utf-8")
    raws, outcomes = _crm(tmp_path, site)
    _same_tables(flat_crm, outcomes)
    assert any("2026-11-20T09.55.00Z: Synapse Link is still writing it" in n for n in raws["accounts"].notices)


def test_a_table_copy_still_being_written_is_refused_in_one_line(tmp_path):
    folder, site = _synapse_landing(tmp_path)
    write_folder(folder, crm_world(), LABELS)
    later = (folder / "model.json").stat().st_mtime + 60
    os.utime(folder / "account" / "2024.csv", (later, later))
    raws, _ = _crm(tmp_path, site)
    problem = raws["accounts"].problem
    assert problem is not None and problem.file == "account/2024.csv" and "written after model.json" in str(problem)
    assert "\n" not in str(problem)


def test_a_line_with_more_fields_than_model_json_has_columns_is_rejected_with_its_line(tmp_path):
    folder, site = _synapse_landing(tmp_path)
    write_folder(folder, crm_world(), LABELS)
    path = folder / "contact" / "2025.csv"
    path.write_bytes(path.read_bytes().replace(b"\r\n", b',"extra"\r\n', 1))
    raws, outcomes = _crm(tmp_path, site)
    contacts = outcomes["contacts"]
    assert contacts.rows_read == 1 and contacts.rows_rejected == 1
    assert contacts.failures["source_line"].to_list() == [1]
    assert "fields where model.json has" in contacts.failures["message"][0]


def test_the_formats_details_as_microsoft_writes_them(tmp_path, flat_crm):
    """A line break inside a quoted value, the ``cdm:`` prefix on keys, a global choice's labels in their own file, a
    label only in English, two writes in the same second told apart by versionnumber, a trailing comma."""
    folder, site = _synapse_landing(tmp_path)
    tables = crm_world()
    activity = tables[2]
    activity.rows[0] = {**activity.rows[0], "subject": "Tapaaminen:\r\nVille Korpela"}
    account = tables[0]
    same_second = {**account.rows[2], "name": "Kouvolan kaupunki (vanha)", "versionnumber": 5}
    account.rows.insert(2, same_second)
    labels = [r for r in LABELS if not (r[0] == "account" and r[1] == "customertypecode")]
    write_folder(folder, tables, labels)
    # the customer types as a global choice, Public sector labelled in English only
    options = folder / "OptionsetMetadata" / "GlobalOptionsetMetadata.csv"
    rows = [
        f'customertypecode,{v},False,1035,"{fi}",new_asiakastyyppi,account\r\n'
        for fi, (v, _) in CUSTOMER_TYPES.items()
        if v != 3
    ]
    options.write_text(
        "".join(rows) + 'customertypecode,3,False,1033,"Julkinen sektori",new_asiakastyyppi,account,\r\n'
    )
    model = folder / "model.json"
    model.write_text(model.read_text().replace('"annotations"', '"cdm:annotations"', 1))
    path = folder / "contact" / "2025.csv"
    path.write_bytes(path.read_bytes().replace(b"\r\n", b",\r\n"))
    raws, outcomes = _crm(tmp_path, site)
    subject = outcomes["activities"].valid["subject"][0]
    assert subject == "Tapaaminen:\r\nVille Korpela"
    flat_crm["activities"].valid = flat_crm["activities"].valid.with_columns(pl.lit(subject).alias("subject"))
    _same_tables(flat_crm, outcomes)


def test_a_table_whose_first_copy_is_not_done_is_not_read(tmp_path):
    folder, site = _synapse_landing(tmp_path)
    write_folder(folder, crm_world(), LABELS)
    model = folder / "model.json"
    model.write_text(model.read_text().replace('"value": "Completed"', '"value": "InProgress"', 1))
    raws, _ = _crm(tmp_path, site)
    assert "has not finished its first copy" in str(raws["accounts"].problem)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["inplace", "append", "incremental"])
def test_the_same_crm_flat_and_through_synapse_link_publishes_identical_crm_tables(tmp_path, fast_env, layout):
    import hashlib

    from schemas.organizations import TABLES as CRM_TABLES
    from tests.conftest import run_cli

    flat, synapse = tmp_path / "flat", tmp_path / "synapse"
    write_landing(flat, crm_rows=valid_crm_rows())
    folder, site = _synapse_landing(synapse)
    if layout == "inplace":
        write_folder(folder, crm_world(), LABELS)
    elif layout == "append":  # an account's earlier version, and one created and deleted, before the current rows
        tables = crm_world()
        current = tables[0].rows
        earlier = {**current[0], "name": "KORJAAMO V.", "versionnumber": 1, "SinkModifiedOn": sink_time(WRITTEN)}
        gone = {
            **current[2],
            "Id": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c00aa",
            "accountid": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c00aa",
        }
        tables[0].rows = [earlier, gone, *current, {**gone, "IsDelete": True, "versionnumber": 99999}]
        write_folder(folder, tables, LABELS)
    else:  # a first full copy, then a folder with one account renamed back (its newest version)
        first = crm_world()
        first[0].rows[0] = {**first[0].rows[0], "name": "Korjaamo Virtanen", "versionnumber": 10}
        write_folder(folder / "2026-11-18T10.00.00Z", first, LABELS)
        later = crm_world()
        for t in later:
            t.rows = t.rows[:1] if t.name == "account" else []
        write_folder(folder / "2026-11-19T10.05.00Z", later, LABELS)
        (folder / "Changelog").mkdir()
        (folder / "Changelog" / "changelog.info").write_text("", encoding="utf-8")
    for landing, config in ((flat, None), (synapse, site)):
        extra = ("--site-config", str(config)) if config else ()
        result = run_cli("run", "--landing", str(landing), "--warehouse", str(landing / "wh"), *extra, env=fast_env)
        assert result.returncode == 0, result.stderr[-2000:]

    def digest(landing: Path, table: str) -> str:
        return hashlib.sha256((landing / "wh" / "published" / f"{table}.parquet").read_bytes()).hexdigest()

    for table in CRM_TABLES:
        assert digest(synapse, table.name) == digest(flat, table.name), table.name


@pytest.mark.slow
def test_the_demo_writes_its_crm_as_synapse_link_in_every_layout_and_it_reads_as_the_flat_one(tmp_path):
    """The demo's own CRM world (with its defects), flat and in the three Synapse Link layouts: the same records by
    their codes; the planted update, delete, added column and change still being written as its truth says."""
    from pipelines.cli import DEMO_AS_OF
    from pipelines.demo_data.crm_synapse import LAYOUTS
    from pipelines.demo_data.export import generate

    read = {}
    for layout in ("flat", *LAYOUTS):
        generate("small", 4, tmp_path / layout, DEMO_AS_OF, history=False, crm_layout=layout)
        read[layout] = _crm(tmp_path / layout)
    _, flat = read["flat"]
    for layout in LAYOUTS:
        raws, outcomes = read[layout]
        for name, outcome in flat.items():
            assert _coded(outcomes[name].valid).equals(_coded(outcome.valid)), (layout, name)
        events = pl.read_csv(next((tmp_path / layout / "truth" / "crm").glob("*/synapse_events.csv")))
        ids = outcomes["accounts"].valid["account_id"]
        gone = events.filter(pl.col("event") == "created_and_deleted")["id"][0]
        assert gone not in ids
        if layout != "synapse-inplace":
            assert any("deleted records left out" in n for n in raws["accounts"].notices), layout
        if layout == "synapse-incremental":
            assert "KESKEN OY" not in outcomes["accounts"].valid["name"]
            assert any("still writing it" in n for n in raws["accounts"].notices)


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=MUTATIONS, table=st.sampled_from(["account", "contact", "activitypointer"]))
def test_a_fuzzed_partition_never_raises_and_loses_nothing(tmp_path_factory, mutations, table):
    root = tmp_path_factory.mktemp("fuzz_synapse")
    folder, site = _synapse_landing(root)
    write_folder(folder, crm_world(), LABELS)
    mtime = (folder / "model.json").stat().st_mtime
    for path in (folder / table).glob("*.csv"):
        path.write_bytes(_mutate(path.read_bytes(), mutations))
        os.utime(path, (mtime, mtime))  # (written with the copy, not after it)
    raws, outcomes = _crm(root, site)
    for name, outcome in outcomes.items():
        assert outcome.rows_read == outcome.rows_published + outcome.rows_rejected, name
        problem = raws[name].problem
        assert problem is None or (problem.file.startswith(f"{table}/") and problem.line is not None), problem


def test_activities_from_the_activity_tables_of_their_own_take_their_type_from_the_table(tmp_path, flat_crm):
    folder, site = _synapse_landing(tmp_path)
    tables = crm_world()
    pointer = tables[2]
    appointment = Table("appointment", [a for a in pointer.attributes if a[0] != "activitytypecode"])
    appointment.rows = [{k: v for k, v in r.items() if k != "activitytypecode"} for r in pointer.rows]
    assert {r["activitytypecode"] for r in pointer.rows} == {"appointment"}
    labels = LABELS + [["state", "appointment", *r[2:]] for r in LABELS if r[:2] == ["state", "activitypointer"]]
    write_folder(folder, [t for t in tables if t is not pointer] + [appointment, Table("phonecall", [])], labels)
    settings = yaml.safe_load(site.read_text(encoding="utf-8"))
    settings["crm"]["dataverse_tables"]["activities"] = ["task", "appointment", "phonecall"]
    site.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    raws, outcomes = _crm(tmp_path, site)
    assert outcomes["activities"].valid["activity_type"].to_list() == ["appointment"]
    _same_tables({"activities": flat_crm["activities"]}, outcomes)


def test_an_empty_retry_folder_is_passed_over_and_lines_may_end_with_a_line_feed_alone(tmp_path, flat_crm):
    folder, site = _synapse_landing(tmp_path)
    write_folder(folder / "2026-11-18T10.00.00Z", crm_world(), LABELS)
    (folder / "2026-11-18T10.05.00Z").mkdir()  # (a retry left it empty)
    (folder / "Changelog").mkdir()
    (folder / "Changelog" / "changelog.info").write_text("", encoding="utf-8")
    for path in (folder / "2026-11-18T10.00.00Z" / "account").glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
    raws, outcomes = _crm(tmp_path, site)
    _same_tables(flat_crm, outcomes)
    assert any("an empty folder" in n for n in raws["accounts"].notices)


def test_a_model_json_that_is_not_cdm_is_refused(tmp_path):
    folder, site = _synapse_landing(tmp_path)
    write_folder(folder, crm_world(), LABELS)
    model = folder / "model.json"
    model.write_text(model.read_text().replace('"version": "1.0"', '"version": "2.0"', 1))
    raws, _ = _crm(tmp_path, site)
    assert "is not a CDM model.json" in str(raws["contacts"].problem)
