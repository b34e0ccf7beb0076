"""The CRM defects of source-exports.md section 3, injected at documented rates.

``CRM_DEFECTS`` is the documentation (class → table, rate, rule). Classes without a rule
are the ones only the organisation master can see: a duplicate account, a name that
disagrees with the Y-tunnus' other records, an employer with no account (``UNMANAGED_SHARE``
in :mod:`pipelines.demo_data.crm`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.demo_data.crm import guid
from pipelines.demo_data.defects import DEFECT, DefectClass, Injector, count_for

CRM_DEFECTS: dict[str, DefectClass] = {
    "duplicate_account": DefectClass(
        "accounts",
        0.05,
        None,
        description="the same employer twice (Oy / Oy Ab / Ltd, other case), the copy usually Inactive",
    ),
    "account_name_conflict": DefectClass(
        "accounts",
        0.02,
        None,
        description="an account name that differs from the name the Y-tunnus has elsewhere (an old or trade name)",
    ),
    "business_id_other_format": DefectClass(
        "accounts", 0.10, "accounts.business_id.standard_form", "flag", "Y-tunnus typed as 12345678 or FI12345678"
    ),
    "business_id_spaces": DefectClass("accounts", 0.02, "accounts.whitespace", "flag", "Y-tunnus typed with spaces"),
    "account_business_id_wrong_check_digit": DefectClass(
        "accounts", 0.02, "accounts.business_id.valid", "flag", "Y-tunnus with a wrong check digit"
    ),
    "account_name_nbsp": DefectClass(
        "accounts", 0.02, "accounts.whitespace", "flag", "non-breaking or trailing spaces in a name"
    ),
    "contact_unknown_account": DefectClass(
        "contacts", 0.01, "contacts.account_exists", description="a contact pointing at an account that does not exist"
    ),
    "activity_unknown_account": DefectClass(
        "activities",
        0.005,
        "activities.account_exists",
        description="an activity pointing at an account that does not exist",
    ),
    "activity_unknown_type": DefectClass(
        "activities", 0.003, "activities.activity_type.code", description="an activity type outside the option set"
    ),
    "duplicate_activity_line": DefectClass(
        "activities", 0.003, "activities.duplicate_line", description="exact duplicate row"
    ),
    "truncated_last_line": DefectClass(
        "activities", 0.0, "activities.malformed_row", description="the file's last line is cut short"
    ),
    "partnership_end_before_start": DefectClass(
        "partnerships", 0.02, "partnerships.end_date_not_before_start_date", description="end date before start date"
    ),
    "survey_unknown_account": DefectClass(
        "survey_responses",
        0.01,
        "survey_responses.account_exists",
        description="a response pointing at an account that does not exist",
    ),
}
DUPLICATE_FORMS = {"Oy": "Oy Ab", "Oy Ab": "Ltd", "Ltd": "Oy"}


def _other_form(name: str, rng: np.random.Generator) -> str:
    """The same name as a second account would carry it: another company form, or another case."""
    for form, other in DUPLICATE_FORMS.items():
        if name.endswith(f" {form}"):
            return name[: -len(form)] + other if rng.random() < 0.7 else name.upper()
    return name.upper()


def inject_crm(rng: np.random.Generator, tables: dict[str, pl.DataFrame], pools: dict) -> dict[str, pl.DataFrame]:
    """Return the CRM tables with defects; each defective row carries its class in ``__defect``."""
    inj = Injector(rng, tables)

    def count(name: str) -> int:
        return count_for(CRM_DEFECTS[name], inj.tables[CRM_DEFECTS[name].table].height)

    accounts = inj.tables["accounts"]
    originals = accounts[inj.pick("accounts", count("duplicate_account"))]
    copies = originals.with_columns(
        pl.Series("account_id", [guid(rng) for _ in range(originals.height)]),
        pl.Series("name", [_other_form(n, rng) for n in originals["name"]]),
        pl.Series("state", ["Inactive" if rng.random() < 0.8 else "Active" for _ in range(originals.height)]),
        pl.Series("business_id", [b if rng.random() < 0.6 else None for b in originals["business_id"]], dtype=pl.Utf8),
        pl.lit("duplicate_account").alias(DEFECT),
    )
    inj.tables["accounts"] = pl.concat([accounts, copies])
    inj.reshuffle("accounts")

    has_id = pl.col("business_id").is_not_null()
    rows = inj.pick("accounts", count("account_name_conflict"), has_id)
    old_names = [
        f"{rng.choice(pools['company'])} {rng.choice(['Palvelut', 'Group', 'Yhtiöt', 'Tekniikka'])} Oy" for _ in rows
    ]
    inj.mark("accounts", rows, "account_name_conflict")
    _rename(inj, rows, old_names)
    rows = inj.pick("accounts", count("business_id_other_format"), has_id)
    digits = pl.col("business_id").str.replace("-", "", literal=True)
    inj.mark(
        "accounts",
        rows,
        "business_id_other_format",
        business_id=pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("FI") + digits).otherwise(digits),
    )
    rows = inj.pick("accounts", count("business_id_spaces"), has_id)
    inj.mark("accounts", rows, "business_id_spaces", business_id=pl.lit(" ") + pl.col("business_id") + pl.lit(" "))
    rows = inj.pick("accounts", count("account_business_id_wrong_check_digit"), has_id)
    inj.mark(
        "accounts",
        rows,
        "account_business_id_wrong_check_digit",
        business_id=pl.col("business_id").str.slice(0, 8)
        + ((pl.col("business_id").str.slice(8, 1).cast(pl.Int32) + 1) % 10).cast(pl.Utf8),
    )
    rows = inj.pick("accounts", count("account_name_nbsp"))
    inj.mark("accounts", rows, "account_name_nbsp", name=pl.col("name").str.replace(" ", "\u00a0") + pl.lit(" "))

    for name, table in (
        ("contact_unknown_account", "contacts"),
        ("activity_unknown_account", "activities"),
        ("survey_unknown_account", "survey_responses"),
    ):
        rows = inj.pick(table, count(name))
        inj.mark(table, rows, name, account_id=pl.lit(guid(rng)))
    rows = inj.pick("activities", count("activity_unknown_type"))
    inj.mark("activities", rows, "activity_unknown_type", activity_type=pl.lit("kokous"))
    rows = inj.pick("partnerships", count("partnership_end_before_start"), pl.col("end_date").is_not_null())
    inj.mark(
        "partnerships",
        rows,
        "partnership_end_before_start",
        start_date=pl.col("end_date"),
        end_date=pl.col("start_date"),
    )
    rows = inj.pick("activities", count("duplicate_activity_line"))
    frame = inj.tables["activities"]
    inj.tables["activities"] = pl.concat(
        [frame, frame[rows].with_columns(pl.lit("duplicate_activity_line").alias(DEFECT))]
    )
    return inj.tables


def _rename(inj: Injector, rows: list[int], names: list[str]) -> None:
    frame = inj.tables["accounts"]
    new = frame["name"].to_list()
    for row, name in zip(rows, names):
        new[row] = name
    inj.tables["accounts"] = frame.with_columns(pl.Series("name", new))
