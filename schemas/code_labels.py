"""The Finnish label of every code value a BI user sees, per field: one place for the published label columns
(``<column>_label`` beside each labelled code column, added by :func:`schemas.published_base.published_table`).

National code lists take their names from ``schemas/reference/`` (statuses, funding codes, study-right types,
additional periods, grades, municipalities, languages); the CRM's from its option sets; the network's indicators
from their list; the small enumerations of our own model from ``schemas/reference/code_labels.csv``.
"""

from __future__ import annotations

from schemas.codes import CRM_OPTION_SETS, NETWORK_INDICATORS, reference


def _named(name: str, label: str = "name") -> dict[str, str]:
    return {r["code"]: r[label] for r in reference(name)}


def _option_set(name: str) -> dict[str, str]:
    return {r["code"]: r["label"] for r in reference(CRM_OPTION_SETS) if r["option_set"] == name}


def _own() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for r in reference("code_labels"):
        out.setdefault(r["field"], {})[r["code"]] = r["label_fi"]
    return out


#: each field's national or CRM code list (our own labels are added to them: ``muu`` where a value was suppressed)
_LISTS: dict[str, dict[str, str]] = {
    "mother_tongue": _named("languages"),
    "home_municipality": _named("municipalities"),
    "study_right_type": _named("study_right_types"),
    "status": _named("statuses"),
    "funding_code": _named("funding_codes"),
    "period_type": _named("additional_period_types"),
    "grade": _named("grades"),
    "customer_type": _option_set("customertypecode"),
    "level": _option_set("level"),
    "active_partnership_level": _option_set("level"),
    "indicator": {code: row["label_fi"] for code, row in NETWORK_INDICATORS.items()},
}
#: field name → code → Finnish label
_OWN = _own()
LABELS: dict[str, dict[str, str]] = {
    name: {**_LISTS.get(name, {}), **_OWN.get(name, {})} for name in sorted({*_LISTS, *_OWN})
}


def label_column(name: str) -> str:
    return f"{name}_label"
