"""Tiny, valid exports (student administration and CRM) written from Python rows, for rule tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.demo_data.people import hetu
from schemas import crm, student_admin

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
