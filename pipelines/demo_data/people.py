"""Synthetic people and employers: henkilötunnus only in the temporary range 900–999."""

from __future__ import annotations

import datetime as dt

import numpy as np
from faker import Faker
from stdnum.fi import ytunnus

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGN = {1900: "-", 2000: "A"}
COMPANY_FORMS = ["Oy", "Oy", "Oy", "Oy Ab", "Ky", "Tmi", "Ay", "Oyj"]


def hetu(birth: dt.date, individual: int) -> str:
    """A henkilötunnus for a birth date and an individual number (use 900–999: temporary codes)."""
    digits = birth.strftime("%d%m%y")
    check = HETU_CHECK[int(digits + f"{individual:03d}") % 31]
    return f"{digits}{CENTURY_SIGN[birth.year // 100 * 100]}{individual:03d}{check}"


def name_pools(seed: int, size: int = 400) -> dict[str, list[str]]:
    fake = Faker("fi_FI")
    fake.seed_instance(seed)
    return {
        "last": sorted({fake.last_name() for _ in range(size * 2)}),
        "male": sorted({fake.first_name_male() for _ in range(size)}),
        "female": sorted({fake.first_name_female() for _ in range(size)}),
        "company": sorted({fake.last_name() for _ in range(size * 3)}),
        "word": sorted({fake.word() for _ in range(size)}),
    }


def business_id(rng: np.random.Generator) -> str:
    """A random valid Y-tunnus (the check digit computed by python-stdnum's validator)."""
    while True:
        body = f"{rng.integers(1_000_000, 3_400_000):07d}"
        for check in "0123456789":
            try:
                return ytunnus.format(ytunnus.validate(body + check))
            except Exception:  # noqa: BLE001 - not this check digit
                continue


INDUSTRY_WORDS = [
    "Rakennus",
    "Kone",
    "Sähkö",
    "Auto",
    "Logistiikka",
    "Kuljetus",
    "Catering",
    "Hoiva",
    "Kiinteistöpalvelu",
    "Metalli",
    "Puu",
    "IT-palvelut",
    "Kauppa",
    "Hotelli",
    "Ravintola",
    "Puutarha",
    "Laboratorio",
    "Media",
]
CITIES = [
    "Kouvola",
    "Kotka",
    "Hamina",
    "Mikkeli",
    "Lahti",
    "Helsinki",
    "Lappeenranta",
    "Savonlinna",
    "Kuopio",
    "Tampere",
]


def employers(
    rng: np.random.Generator, pools: dict[str, list[str]], count: int, taken_ids: frozenset[str] = frozenset()
) -> list[dict]:
    """Employers with real-looking Finnish names, a city and a valid Y-tunnus that none of them (nor ``taken_ids``)
    shares."""
    out, seen, ids = [], set(), set(taken_ids)
    while len(out) < count:
        base = f"{rng.choice(pools['company'])} {rng.choice(INDUSTRY_WORDS)}".strip()
        if base in seen:
            base = f"{base} {rng.choice(CITIES)}"
        if base in seen:
            continue
        seen.add(base)
        form = str(rng.choice(COMPANY_FORMS))
        number = business_id(rng)
        while number in ids:  # a Y-tunnus belongs to one company only
            number = business_id(rng)
        ids.add(number)
        out.append({"name": base, "form": form, "business_id": number, "city": str(rng.choice(CITIES))})
    return out
