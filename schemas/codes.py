"""Code lists the rules refer to. The facts live in ``schemas/reference/*.csv``."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

REFERENCE = Path(__file__).parent / "reference"


@cache
def reference(name: str) -> tuple[dict[str, str], ...]:
    """Rows of ``schemas/reference/<name>.csv`` as dicts (all values text)."""
    with open(REFERENCE / f"{name}.csv", encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def codes(name: str, column: str = "code") -> frozenset[str]:
    return frozenset(row[column] for row in reference(name))


QUALIFICATIONS = "qualifications"
STATUSES = "statuses"

ENDING_STATUSES = frozenset(r["code"] for r in reference(STATUSES) if r["is_ending"] == "true")
#: statuses that must carry a funding code (opintojen rahoitus)
FUNDED_STATUSES = frozenset({"lasna", "loma", "valmistunut"})
SEX_CODES = {"1": "male", "2": "female"}
RECOGNISED_CODES = {"K": True, "E": False}
AGREEMENT_TYPES = frozenset({"koulutussopimus", "oppisopimus"})
#: the ending statuses a network counts as dropping out (keskeyttäminen), and the one that is no ending at all (an
#: annulled study right never existed)
DROPOUT_STATUSES = ("eronnut", "katsotaaneronneeksi")
ANNULLED_STATUS = "mitatoity"
#: the study-right types KOSKI's opiskelijavuositiedot report selects: its query takes the oppilaitos's study rights
#: of koulutusmuoto ``ammatillinenkoulutus`` only (a TUVA study right, koulutusmuoto ``tuva``, is in KOSKI's TUVA
#: report instead)
KOSKI_REPORT_TYPES = frozenset(
    r["code"] for r in reference("study_right_types") if r["koulutusmuoto"] == "ammatillinenkoulutus"
)

#: ISO 639-1 language codes (mother tongue, äidinkieli)
LANGUAGES = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv
    kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr
    nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu""".split()
)


CRM_OPTION_SETS = "crm_option_sets"


def option_set(name: str) -> dict[str, str]:
    """A CRM option set: the Finnish label the export writes → our code value."""
    return {r["label"]: r["code"] for r in reference(CRM_OPTION_SETS) if r["option_set"] == name}


#: the additional-period types behind each of KOSKI's day columns (``schemas/reference/additional_period_types.csv``)
PERIOD_MEASURES: dict[str, tuple[str, ...]] = {}
for _row in reference("additional_period_types"):
    PERIOD_MEASURES.setdefault(_row["measure"], ())
    PERIOD_MEASURES[_row["measure"]] += (_row["code"],)


#: the indicators a network compares its providers by (``schemas/reference/network_indicators.csv``): code → row
NETWORK_INDICATORS: dict[str, dict[str, str]] = {r["code"]: r for r in reference("network_indicators")}
#: a network's figure describing fewer persons than this is not shown (nor counted in the network's distribution)
SUPPRESS_BELOW_PERSONS = 5
