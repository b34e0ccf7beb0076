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
        out.append(
            {
                "name": base,
                "form": form,
                "business_id": number,
                "city": str(rng.choice(CITIES)),
                **_registered(base, number),
            }
        )
    return out


#: the English parallel name's business words, and the business line (TOL 2008) PRH registers, of each industry word
ENGLISH = {
    "Rakennus": ("Construction", "41200"), "Kone": ("Machinery", "28990"), "Sähkö": ("Electric", "43210"),
    "Auto": ("Motors", "45200"), "Logistiikka": ("Logistics", "52290"), "Kuljetus": ("Transport", "49410"),
    "Catering": ("Catering", "56290"), "Hoiva": ("Care", "87300"), "Kiinteistöpalvelu": ("Property Services", "81100"),
    "Metalli": ("Metalworks", "25620"), "Puu": ("Timber", "16230"), "IT-palvelut": ("IT Services", "62010"),
    "Kauppa": ("Trading", "47190"), "Hotelli": ("Hotels", "55101"), "Ravintola": ("Restaurants", "56101"),
    "Puutarha": ("Gardens", "81300"), "Laboratorio": ("Laboratories", "71200"), "Media": ("Media", "58190"),
}  # fmt: skip
#: one employer in this many has an English parallel name in PRH's register (chosen by its Y-tunnus)
PARALLEL_EVERY = 8


def _registered(base: str, business_id: str) -> dict:
    """What PRH's register holds beside the name (from the name and Y-tunnus: the world's random draws stay as
    they were): a business line, and for some an English parallel name (``Nordic Bakery Ltd``)."""
    surname, word, *place = base.split(" ")
    english, industry = ENGLISH.get(word, ("Services", "82990"))
    # (a register holds a name once: the English words differ from the Finnish, and a place in the name stays)
    differs = english.lower() != word.lower() and int(business_id[:7]) % PARALLEL_EVERY == 0
    parallel = " ".join([surname, english, *place, "Ltd"]) if differs else None
    return {"industry_code": industry, "parallel": parallel}


#: Finnish keyboard neighbours: the letter typed instead of the first one (``Birtanen`` for ``Virtanen``)
_NEIGHBOURS = dict(zip("abcdefghijklmnoprstuvyäö", "svvsrghjohlknmpotarybuöä", strict=True))
#: the genitive a branch's name uses (``Kotkan toimipiste``)
GENITIVE = {
    "Kouvola": "Kouvolan", "Kotka": "Kotkan", "Hamina": "Haminan", "Mikkeli": "Mikkelin", "Lahti": "Lahden",
    "Helsinki": "Helsingin", "Lappeenranta": "Lappeenrannan", "Savonlinna": "Savonlinnan", "Kuopio": "Kuopion",
    "Tampere": "Tampereen",
}  # fmt: skip


def first_letter_typo(name: str) -> str:
    first = name[0].lower()
    typo = _NEIGHBOURS.get(first, first)
    return (typo.upper() if name[0].isupper() else typo) + name[1:]


def hard_spelling(emp: dict, r: float) -> str:
    """A spelling a name matcher finds hard, chosen by ``r`` (0.52–0.6) and the employer: a typo in the first
    letter; a sole trader's form as ``T:mi`` or ``Toiminimi`` before the name; a branch in another town (``…, Kotka``
    or ``… Kotkan toimipiste``); its English parallel name, where it has one (``NORDIC BAKERY LIMITED``). Its own
    random numbers, so the world's other draws stay as they were."""
    rng = np.random.default_rng(int(r * 2**40))
    other = str(rng.choice([c for c in CITIES if c != emp["city"]]))
    if r < 0.54 or (r < 0.56 and emp["form"] != "Tmi"):
        return f"{first_letter_typo(emp['name'])} {emp['form']}"
    if r < 0.56:
        return f"{rng.choice(['T:mi', 'Toiminimi'])} {emp['name']}"
    if r < 0.575:
        return f"{emp['name']} {emp['form']}, {other}"
    if r >= 0.59 and emp.get("parallel"):
        return emp["parallel"] if rng.random() < 0.5 else emp["parallel"].upper().replace(" LTD", " LIMITED")
    return f"{emp['name']} {emp['form']} {GENITIVE[other]} toimipiste"
