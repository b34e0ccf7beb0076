"""The provider's CRM as it would export it: accounts for most employers, some twice, and their activity.

Built from the same employers the workplace-learning rows name, so the CRM and the
student-administration export overlap the way they do at real providers: most hosting
employers are accounts (some as two accounts, some with a Y-tunnus typed another way),
some host students without any account, and the CRM also holds partners, schools,
public bodies and prospects that host nobody.
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import polars as pl

from pipelines.demo_data.people import GENITIVE, employers
from pipelines.demo_data.profiles import UNMANAGED_SHARE
from schemas.codes import option_set

#: CRM-only organisations (partners, schools, public bodies, prospects) per hosting employer
CRM_ONLY_SHARE = 0.3
POSTAL_CODES = {
    "Kouvola": "45100",
    "Kotka": "48100",
    "Hamina": "49400",
    "Mikkeli": "50100",
    "Lahti": "15100",
    "Helsinki": "00100",
    "Lappeenranta": "53100",
    "Savonlinna": "57100",
    "Kuopio": "70100",
    "Tampere": "33100",
}
INDUSTRIES = [
    "41200",
    "43210",
    "45200",
    "49410",
    "56101",
    "86900",
    "87300",
    "81210",
    "25620",
    "16230",
    "62010",
    "47111",
    "55101",
    "81300",
    "71200",
    "58190",
]
JOB_TITLES = [
    "Toimitusjohtaja",
    "Henkilöstöpäällikkö",
    "Työnjohtaja",
    "Työpaikkaohjaaja",
    "Tuotantopäällikkö",
    "Myyntipäällikkö",
    "Esimies",
    "HR-asiantuntija",
]
SUBJECTS = [
    "Työpaikkaohjaajan tapaaminen",
    "Oppisopimusneuvottelu",
    "Koulutussopimuksen aloitus",
    "Rekrytointitarpeiden kartoitus",
    "Työelämäfoorumi",
    "Palautekeskustelu",
    "Yhteistyösopimuksen päivitys",
]
COMMENTS = [
    "Yhteistyö sujui hyvin.",
    "Opiskelijat olivat motivoituneita.",
    "Toivomme parempaa tiedottamista.",
    "Ohjaus oli asiantuntevaa.",
    "Aikataulut muuttuivat liian usein.",
]


def guid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _timestamp(rng: np.random.Generator, day: dt.date) -> str:
    """An ISO timestamp as Dynamics writes it: in UTC with Z, or in Finnish time with its offset."""
    moment = dt.datetime.combine(day, dt.time(int(rng.integers(7, 17)), int(rng.choice([0, 15, 30, 45]))))
    if rng.random() < 0.5:
        return (moment - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    summer = 4 <= day.month <= 10
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ("+03:00" if summer else "+02:00")


def _day(rng: np.random.Generator, first: dt.date, last: dt.date) -> dt.date:
    return dt.date.fromordinal(int(rng.integers(first.toordinal(), last.toordinal() + 1)))


def build_crm(
    seed: int, hosting: list[dict], pools: dict, as_of: dt.date, unmanaged_share: float = UNMANAGED_SHARE
) -> dict[str, pl.DataFrame]:
    """CRM tables; ``accounts.__org`` is the truth of which organisation (``ORG-…``) an account is."""
    rng = np.random.default_rng([seed, 4])
    taken = {e["name"] for e in hosting}
    taken_ids = frozenset(e["business_id"] for e in hosting)
    extra = [
        e for e in employers(rng, pools, int(len(hosting) * CRM_ONLY_SHARE) + 5, taken_ids) if e["name"] not in taken
    ]
    organisations = [{**e, "org": f"ORG-{i:06d}", "hosting": True} for i, e in enumerate(hosting)]
    organisations += [{**e, "org": f"ORG-X{i:05d}", "hosting": False} for i, e in enumerate(extra)]
    customer_types = list(option_set("customertypecode"))
    first_day = dt.date(as_of.year - 5, 1, 1)

    accounts = []
    for org in organisations:
        if org["hosting"] and rng.random() < unmanaged_share:
            continue
        created = _day(rng, first_day, as_of - dt.timedelta(days=30))
        accounts.append(
            {
                "account_id": guid(rng),
                "name": f"{org['name']} {org['form']}",
                "business_id": org["business_id"] if rng.random() < 0.85 else None,
                "industry_code": str(rng.choice(INDUSTRIES)),
                "city": org["city"],
                "postal_code": POSTAL_CODES.get(org["city"], "45100"),
                "employees": int(rng.lognormal(3, 1.4)),
                "customer_type": "Työnantaja" if org["hosting"] else str(rng.choice(customer_types)),
                "owner_id": guid(rng),
                "state": "Active",
                "created_on": _timestamp(rng, created),
                "modified_on": _timestamp(rng, _day(rng, created, as_of)),
                "__org": org["org"],
            }
        )
    tables = {"accounts": pl.DataFrame(accounts)}
    tables.update(_activity(rng, tables["accounts"], pools, as_of))
    tables["accounts"] = pl.concat([tables["accounts"], _branch_accounts(seed, accounts, first_day, as_of)])
    return tables


#: the share of employers' accounts with a second account for a branch in another town
BRANCH_SHARE = 0.04


def _branch_accounts(seed: int, accounts: list[dict], first_day: dt.date, as_of: dt.date) -> pl.DataFrame:
    """Accounts of branches (``Kuljetus Lahtinen Oy Kotkan toimipiste``, in Kotka) beside their head office's
    account, some with its Y-tunnus; no activity of their own (own random numbers: the rest stays as it was)."""
    rng = np.random.default_rng([seed, 4, 1])
    out = []
    for account in accounts:
        if account["customer_type"] != "Työnantaja" or rng.random() >= BRANCH_SHARE:
            continue
        town = str(rng.choice([c for c in GENITIVE if c != account["city"]]))
        created = _day(rng, first_day, as_of - dt.timedelta(days=30))
        out.append(
            account
            | {
                "account_id": guid(rng),
                "name": f"{account['name']} {GENITIVE[town]} toimipiste",
                "business_id": account["business_id"] if rng.random() < 0.4 else None,
                "city": town,
                "postal_code": POSTAL_CODES[town],
                "employees": int(rng.lognormal(2, 1)),
                "created_on": _timestamp(rng, created),
                "modified_on": _timestamp(rng, _day(rng, created, as_of)),
            }
        )
    return pl.DataFrame(out, schema=pl.DataFrame(accounts).schema) if out else pl.DataFrame(accounts).clear()


def _activity(rng: np.random.Generator, accounts: pl.DataFrame, pools: dict, as_of: dt.date) -> dict[str, pl.DataFrame]:
    """Contacts, activities, partnerships and survey responses of the accounts."""
    contacts, activities, partnerships, responses = [], [], [], []
    types = list(option_set("activitytypecode"))
    levels = list(option_set("level"))
    scopes = list(option_set("scope"))
    recent = as_of - dt.timedelta(days=3 * 365)
    for account in accounts.iter_rows(named=True):
        people = []
        for _ in range(int(rng.integers(0, 4))):
            first, last = str(rng.choice(pools["male"] + pools["female"])), str(rng.choice(pools["last"]))
            people.append(f"{first} {last}")
            contacts.append(
                {
                    "contact_id": guid(rng),
                    "account_id": account["account_id"],
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}@example.fi".lower().replace("ä", "a").replace("ö", "o").replace(" ", ""),
                    "phone": f"+358 50 {rng.integers(1000000, 9999999)}",
                    "job_title": str(rng.choice(JOB_TITLES)),
                    "created_on": _timestamp(rng, _day(rng, recent, as_of)),
                }
            )
        for _ in range(int(rng.poisson(4 if rng.random() < 0.7 else 0.3))):
            day = _day(rng, recent, as_of + dt.timedelta(days=60))
            state = "Open" if day > as_of else str(rng.choice(["Completed"] * 9 + ["Canceled"]))
            subject = str(rng.choice(SUBJECTS)) + (f": {rng.choice(people)}" if people and rng.random() < 0.3 else "")
            activities.append(
                {
                    "activity_id": guid(rng),
                    "account_id": account["account_id"],
                    "activity_type": str(rng.choice(types)),
                    "subject": subject,
                    "scheduled_start": _timestamp(rng, day),
                    "actual_end": _timestamp(rng, day) if state == "Completed" else None,
                    "owner_id": account["owner_id"],
                    "state": state,
                }
            )
        if rng.random() < 0.2:
            start = _day(rng, dt.date(as_of.year - 5, 1, 1), as_of)
            end = start + dt.timedelta(days=int(rng.integers(365, 3 * 365))) if rng.random() < 0.5 else None
            chosen = sorted(set(rng.choice(scopes, size=int(rng.integers(1, 4)))), key=scopes.index)
            partnerships.append(
                {
                    "partnership_id": guid(rng),
                    "account_id": account["account_id"],
                    "level": levels[0] if rng.random() < 0.3 else levels[1],
                    "scope": ";".join(chosen),
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat() if end else None,
                }
            )
        if rng.random() < 0.4:
            for _ in range(int(rng.integers(1, 4))):
                comment = str(rng.choice(COMMENTS)) if rng.random() < 0.5 else None
                if comment and people and rng.random() < 0.3:  # what respondents write: names and addresses
                    comment += f" Yhteyshenkilö {people[0]}, {people[0].split()[0].lower()}@example.fi"
                responses.append(
                    {
                        "response_id": guid(rng),
                        "account_id": account["account_id"],
                        "submitted_on": _timestamp(rng, _day(rng, recent, as_of)),
                        "nps": int(min(10, max(0, round(rng.normal(7.5, 2))))),
                        "satisfaction": int(rng.integers(2, 6)),
                        "comment": comment,
                    }
                )

    def frame(rows: list[dict], cols: list[str]) -> pl.DataFrame:
        numbers = {"nps": pl.Int64, "satisfaction": pl.Int64} if "nps" in cols else {}
        return pl.DataFrame(rows, schema={c: pl.Utf8 for c in cols} | numbers)

    return {
        "contacts": frame(
            contacts,
            ["contact_id", "account_id", "first_name", "last_name", "email", "phone", "job_title", "created_on"],
        ),
        "activities": frame(
            activities,
            [
                "activity_id",
                "account_id",
                "activity_type",
                "subject",
                "scheduled_start",
                "actual_end",
                "owner_id",
                "state",
            ],
        ),
        "partnerships": frame(
            partnerships, ["partnership_id", "account_id", "level", "scope", "start_date", "end_date"]
        ),
        "survey_responses": frame(
            responses, ["response_id", "account_id", "submitted_on", "nps", "satisfaction", "comment"]
        ),
    }
