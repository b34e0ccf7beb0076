"""Tiny, valid exports (student administration and CRM) written from Python rows, for rule tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.demo_data.people import hetu
from schemas import crm, koski_bulk, student_admin

AS_OF = "2026-11-20"


def valid_rows() -> dict[str, list[dict[str, str]]]:
    """Column name → text, exactly as a clean export would hold them."""
    return {
        "students": [
            {
                "student_number": "1001",
                "hetu": hetu(dt.date(2005, 3, 1), 901),
                "learner_oid": "1.2.246.562.24.10000000001",
                "last_name": "Mäkinen",
                "first_names": "Aapo",
                "birth_date": "1.3.2005",
                "sex": "1",
                "mother_tongue": "fi",
                "home_municipality": "286",
                "email": "aapo@example.fi",
                "mobile_phone": "+358 40 1234567",
            },
            {
                "student_number": "1002",
                "hetu": "",
                "learner_oid": "1.2.246.562.24.10000000002",
                "last_name": "Öberg",
                "first_names": "Åsa",
                "birth_date": "2.4.2006",
                "sex": "2",
                "mother_tongue": "sv",
                "home_municipality": "091",
                "email": "",
                "mobile_phone": "",
            },
        ],
        "study_rights": [
            {
                "study_right_id": "OO-1",
                "study_right_oid": "1.2.246.562.15.10000000001",
                "student_number": "1001",
                "study_right_type": "ammatillinentutkinto",
                "koulutus_code": "351301",
                "osaamisala_code": "1525",
                "campus": "Kouvolan kampus",
                "start_date": "1.8.2023",
                "planned_end_date": "31.5.2026",
                "end_date": "31.5.2026",
            },
            {
                "study_right_id": "OO-2",
                "study_right_oid": "",
                "student_number": "1002",
                "study_right_type": "ammatillinentutkintoosittainen",
                "koulutus_code": "334117",
                "osaamisala_code": "",
                "campus": "Haminan kampus",
                "start_date": "8.1.2025",
                "planned_end_date": "",
                "end_date": "",
            },
        ],
        "status_periods": [
            {"study_right_id": "OO-1", "start_date": "1.8.2023", "status": "lasna", "funding_code": "1"},
            {"study_right_id": "OO-1", "start_date": "1.6.2024", "status": "loma", "funding_code": "1"},
            {"study_right_id": "OO-1", "start_date": "10.8.2024", "status": "lasna", "funding_code": "1"},
            {"study_right_id": "OO-1", "start_date": "31.5.2026", "status": "valmistunut", "funding_code": "1"},
            {"study_right_id": "OO-2", "start_date": "8.1.2025", "status": "lasna", "funding_code": "14"},
        ],
        "additional_periods": [
            {
                "study_right_id": "OO-2",
                "period_type": "osa-aikaisuus",
                "start_date": "1.2.2025",
                "end_date": "",
                "value": "50",
            },
            {
                "study_right_id": "OO-1",
                "period_type": "majoitus",
                "start_date": "1.7.2023",
                "end_date": "",
                "value": "",
            },
        ],
        "assessed_units": [
            {
                "study_right_id": "OO-1",
                "unit_code": "106915",
                "unit_name": "Ajoneuvon huoltotyöt",
                "credits": "30",
                "grade": "4",
                "assessment_date": "15.12.2023",
                "recognised": "E",
            },
            {
                "study_right_id": "OO-2",
                "unit_code": "101053",
                "unit_name": 'Asiakaspalvelu; "myynti"',
                "credits": "2,5",
                "grade": "Hyväksytty",
                "assessment_date": "1.3.2025",
                "recognised": "K",
            },
        ],
        "workplace_periods": [
            {
                "study_right_id": "OO-1",
                "agreement_type": "koulutussopimus",
                "business_id": "0112038-9",
                "workplace_name": "Korjaamo Virtanen Oy",
                "start_date": "1.2.2024",
                "end_date": "30.4.2024",
            },
            {
                "study_right_id": "OO-2",
                "agreement_type": "oppisopimus",
                "business_id": "01120389",
                "workplace_name": "Hamina Logistiikka Ky",
                "start_date": "8.1.2025",
                "end_date": "",
            },
        ],
        "targets": [
            {"year": "2025", "target_student_years": "4500"},
            {"year": "2026", "target_student_years": "4550,5"},
        ],
    }


ACCOUNT = {
    "korjaamo": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c0001",
    "korjaamo_old": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c0002",
    "kaupunki": "6f1c1d52-1b7e-4c55-9a43-0d1f7d0c0003",
}


def valid_crm_rows() -> dict[str, list[dict[str, str]]]:
    """A CRM export in its own conventions; Korjaamo Virtanen is also a workplace in :func:`valid_rows`."""
    account = {
        "industry_code": "45200",
        "city": "Kouvola",
        "postal_code": "45100",
        "employees": "12",
        "customer_type": "Työnantaja",
        "owner_id": "0d0e0f10-1112-4314-9516-171819202122",
        "state": "Active",
        "created_on": "2024-01-15T09:30:00Z",
        "modified_on": "2026-03-04T11:30:00+02:00",
    }
    return {
        "accounts": [
            {**account, "account_id": ACCOUNT["korjaamo"], "name": "Korjaamo Virtanen Oy", "business_id": "FI01120389"},
            {
                **account,
                "account_id": ACCOUNT["korjaamo_old"],
                "name": "KORJAAMO VIRTANEN OY AB",
                "business_id": "",
                "state": "Inactive",
                "modified_on": "2025-01-01T08:00:00Z",
            },
            {
                **account,
                "account_id": ACCOUNT["kaupunki"],
                "name": "Kouvolan kaupunki",
                "business_id": "1234567-1",
                "customer_type": "Julkinen sektori",
                "employees": "5200",
            },
        ],
        "contacts": [
            {
                "contact_id": "a1b2c3d4-0000-4000-8000-000000000001",
                "account_id": ACCOUNT["korjaamo"],
                "first_name": "Ville",
                "last_name": "Korpela",
                "email": "ville.korpela@example.fi",
                "phone": "+358 50 7654321",
                "job_title": "Työnjohtaja",
                "created_on": "2025-05-05T10:00:00Z",
            },
        ],
        "activities": [
            {
                "activity_id": "b1b2c3d4-0000-4000-8000-000000000001",
                "account_id": ACCOUNT["korjaamo"],
                "activity_type": "appointment",
                "subject": "Tapaaminen: Ville Korpela",
                "scheduled_start": "2026-10-01T09:00:00+03:00",
                "actual_end": "2026-10-01T10:00:00+03:00",
                "owner_id": account["owner_id"],
                "state": "Completed",
            },
        ],
        "partnerships": [
            {
                "partnership_id": "c1b2c3d4-0000-4000-8000-000000000001",
                "account_id": ACCOUNT["kaupunki"],
                "level": "Strateginen kumppani",
                "scope": "rekrytointi;kehittäminen",
                "start_date": "2024-01-01",
                "end_date": "",
            },
        ],
        "survey_responses": [
            {
                "response_id": "d1b2c3d4-0000-4000-8000-000000000001",
                "account_id": ACCOUNT["korjaamo"],
                "submitted_on": "2026-06-01T12:00:00Z",
                "nps": "9",
                "satisfaction": "5",
                "comment": "Kiitos! Soittakaa Ville Korpelalle, ville.korpela@example.fi",
            },
        ],
    }


#: a study right's OIDs in the KOSKI rows below (the same study rights as valid_rows' OO-1 and OO-2)
KOSKI_OID = {1: "1.2.246.562.15.10000000001", 2: "1.2.246.562.15.10000000002", 3: "1.2.246.562.15.10000000003"}
_NO_FLAGS = {name: "false" for name in koski_bulk.FLAGS}


def valid_koski_rows() -> dict[str, list[dict[str, str]]]:
    """A clean KOSKI bulk delivery as KOSKI's CSV writer writes its values (``../shared/spec/koski-bulk.md`` A5–A7):
    the study rights of valid_rows, cut into KOSKI's time slices, and one annulled study right."""
    one, two = KOSKI_OID[1], KOSKI_OID[2]
    slice_ = lambda oid, start, end, status, since, funding, part=100, **flags: {  # noqa: E731
        "study_right_oid": oid, "start_date": start, "end_date": end, "status": status, "status_started": since,
        "funding_code": funding, "part_time_percent": str(part), **_NO_FLAGS, **flags,
    }  # fmt: skip
    return {
        "koski_study_rights": [
            {
                "study_right_oid": one,
                "koski_version": "3",
                "koski_modified_at": "2026-06-02T09:14:03.52",
                "learner_oid": "1.2.246.562.24.10000000001",
                "oppilaitos_oid": "1.2.246.562.10.52251087186",
                "education_form": "ammatillinenkoulutus",
                "start_date": "2023-08-01",
                "end_date": "2026-05-31",
                "status": "valmistunut",
                "source_system_id": "OO-1",
                "koski_data": '{"arvioituPäättymispäivä":"2026-05-31","lähdejärjestelmänId":{"id":"OO-1"}}',
            },
            {
                "study_right_oid": two,
                "koski_version": "1",
                "koski_modified_at": "2025-01-08T12:00:00",
                "learner_oid": "1.2.246.562.24.10000000002",
                "oppilaitos_oid": "1.2.246.562.10.52251087186",
                "education_form": "ammatillinenkoulutus",
                "start_date": "2025-01-08",
                "end_date": "",
                "status": "lasna",
                "source_system_id": "OO-2",
                "koski_data": '{"lähdejärjestelmänId":{"id":"OO-2"}}',
            },
        ],
        "koski_time_slices": [
            slice_(one, "2023-08-01", "2024-05-31", "lasna", "2023-08-01", "1", accommodation="true"),
            slice_(one, "2024-06-01", "2024-08-09", "loma", "2024-06-01", "1"),
            slice_(one, "2024-08-10", "2026-05-30", "lasna", "2024-08-10", "1"),
            slice_(one, "2026-05-31", "2026-05-31", "valmistunut", "2026-05-31", "1"),
            slice_(two, "2025-01-08", "2025-01-31", "lasna", "2025-01-08", "14"),
            slice_(two, "2025-02-01", "9999-12-31", "lasna", "2025-01-08", "14", 50),
        ],
        "koski_qualifications": [
            {
                "suoritus_id": f"{one}.1",
                "study_right_oid": one,
                "study_right_type": "ammatillinentutkinto",
                "koulutus_code": "351301",
                "campus_oid": "1.2.246.562.10.11111111111",
                "campus": "Kouvolan kampus",
                "confirmed_on": "2026-05-31",
                "koski_data": '{"osaamisala":[{"osaamisala":{"koodiarvo":"1525"}}]}',
            },
            {
                "suoritus_id": f"{two}.2",
                "study_right_oid": two,
                "study_right_type": "ammatillinentutkintoosittainen",
                "koulutus_code": "334117",
                "campus_oid": "1.2.246.562.10.22222222222",
                "campus": "Haminan kampus",
                "confirmed_on": "",
                "koski_data": "{}",
            },
        ],
        "koski_units": [
            {
                "suoritus_id": f"{one}.1.1",
                "parent_suoritus_id": f"{one}.1",
                "study_right_oid": one,
                "unit_type": "ammatillisentutkinnonosa",
                "unit_code": "106915",
                "credits": "30.0",
                "unit_name": "Ajoneuvon huoltotyöt",
                "grade": "4",
                "assessment_date": "2023-12-15",
                "recognised": "false",
                "koski_data": "{}",
            },
            {
                "suoritus_id": f"{two}.2.2",
                "parent_suoritus_id": f"{two}.2",
                "study_right_oid": two,
                "unit_type": "ammatillisentutkinnonosa",
                "unit_code": "101053",
                "credits": "2.5",
                "unit_name": 'Asiakaspalvelu; "myynti"',
                "grade": "Hyväksytty",
                "assessment_date": "2025-03-01",
                "recognised": "true",
                "koski_data": "{}",
            },
        ],
        "koski_annulled": [
            {
                "study_right_oid": KOSKI_OID[3],
                "koski_version": "2",
                "koski_modified_at": "2026-01-05T10:00:00",
                "learner_oid": "1.2.246.562.24.10000000003",
                "annulled_on": "2026-01-05",
                "education_form": "ammatillinenkoulutus",
                "suoritus_types": "List(ammatillinentutkinto)",
            }
        ],
    }


def _quote(value: str, delimiter: str) -> str:
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(ch in value for ch in delimiter + '"\n') else value


def write_source(
    root: Path, tables, rows: dict[str, list[dict[str, str]]], delimiter: str, encoding: str = "utf-8", day: str = AS_OF
) -> Path:
    """Write ``rows`` as the contract's CSV files under ``root/<source>/<day>/``."""
    folder = root / tables[0].source_system / day
    folder.mkdir(parents=True, exist_ok=True)
    for table in tables:
        lines = [delimiter.join(c.source_header for c in table.columns)]
        lines += [delimiter.join(_quote(r.get(c.name, ""), delimiter) for c in table.columns) for r in rows[table.name]]
        (folder / table.source_file).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return folder


def write_landing(
    root: Path,
    rows: dict[str, list[dict[str, str]]] | None = None,
    encoding: str = "utf-8",
    crm_rows: dict[str, list[dict[str, str]]] | None = None,
) -> Path:
    """Both exports (the CRM one only when ``crm_rows`` are given); returns the student-administration folder."""
    if crm_rows is not None:
        write_source(root, crm.TABLES, crm_rows, ",")
    return write_source(root, student_admin.TABLES, rows or valid_rows(), ";", encoding)
