"""PRH's open company data (YTJ) for the demo: the employers of the world and as many other companies, as the
bulk download of PRH's open-data API v3 writes them (``ytj/<date>/yritykset.json``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from pipelines.demo_data.crm import POSTAL_CODES
from pipelines.demo_data.people import employers

FORM_CODES = {"Oy": "16", "Oy Ab": "16", "Oyj": "17", "Ky": "13", "Ay": "12", "Tmi": "26"}


def _company(employer: dict, rng: np.random.Generator) -> dict:
    registered = dt.date(int(rng.integers(1990, 2024)), int(rng.integers(1, 13)), 1).isoformat()
    names = [{"name": f"{employer['name']} {employer['form']}", "type": "1", "registrationDate": registered,
              "endDate": None, "version": 1, "source": "1"}]  # fmt: skip
    if employer.get("parallel"):
        names.append({**names[0], "name": employer["parallel"], "type": "2"})
    if rng.random() < 0.1:  # a name given up: no longer a name of the company
        names.append({**names[0], "name": f"{employer['name']} Yhtiöt {employer['form']}", "version": 2,
                      "endDate": registered})  # fmt: skip
    city = employer["city"]
    return {
        "businessId": {"value": employer["business_id"], "registrationDate": registered, "source": "3"},
        "names": names,
        "mainBusinessLine": {"type": employer["industry_code"], "typeCodeSet": "TOIMI4", "source": "2"},
        "companyForms": [{"type": FORM_CODES.get(employer["form"], "16"), "registrationDate": registered}],
        "addresses": [
            {
                "type": 1,
                "street": f"Teollisuustie {int(rng.integers(1, 60))}",
                "postCode": POSTAL_CODES.get(city, "45100"),
                "postOffices": [{"city": city.upper(), "languageCode": "1"}],
            }
        ],
        "status": "2",
        "registrationDate": registered,
    }


def write_ytj(world_employers: list[dict], pools: dict, seed: int, out: Path, as_of: dt.date) -> Path:
    """The register's companies: every employer of the world, and as many that host no student."""
    rng = np.random.default_rng([seed, 9])
    taken = frozenset(e["business_id"] for e in world_employers)
    names = {e["name"] for e in world_employers}
    others = [e for e in employers(rng, pools, len(world_employers), taken) if e["name"] not in names]
    companies = [_company(e, rng) for e in [*world_employers, *others]]
    order = rng.permutation(len(companies))
    folder = out / "ytj" / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "yritykset.json"
    path.write_text(json.dumps([companies[i] for i in order], ensure_ascii=False), encoding="utf-8")
    return path
