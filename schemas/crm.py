"""CRM export (Dynamics-style): accounts, contacts, activities, partnerships, survey responses.

Conventions differ from the student-administration export (``source-exports.md`` section 2):
UTF-8, ``,`` as the delimiter, ISO-8601 dates and timestamps with an offset, GUIDs as
ids, English logical names as headers and option sets written as their Finnish labels.
Option-set labels map to our code values in ``schemas/reference/crm_option_sets.csv``.
"""

from __future__ import annotations

import polars as pl

from schemas.codes import option_set
from schemas.fields import column
from schemas.identifiers import business_id_normalised
from schemas.metadata import (
    ISO_TEXT,
    Column,
    CrossFileRule,
    Rule,
    Source,
    Table,
    code_rule,
    missing_parent,
    not_before,
    pattern_rule,
    range_rule,
)

SYSTEM = "crm"
GUID = r"^\{?[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?$"
STANDARD_BUSINESS_ID = r"^\d{7}-\d$"


def _crm_table(**kwargs) -> Table:
    return Table(source_system=SYSTEM, text_format=ISO_TEXT, **kwargs)


def _guid(table: str, name: str, header: str, unique: bool = False, meaning: str | None = None) -> Column:
    return column(
        name,
        header,
        meaning=meaning,
        nullable=False,
        unique=unique,
        rules=(
            pattern_rule(
                f"{table}.{name}.format",
                f"{header} must be a GUID (8-4-4-4-12 hex digits)",
                name,
                GUID,
                description_fi=f"Sarake {header}: oltava GUID (8-4-4-4-12 heksadesimaalimerkkiä)",
            ),
        ),
    )


def _account(table: str, header: str) -> Column:
    return _guid(table, "account_id", header)


def _option(table: str, name: str, header: str, set_name: str, nullable: bool = True) -> Column:
    """An option set: a required one defines the row (rejected when unreadable), an optional one describes it.

    The export writes an option set's Finnish labels where we write codes, so the column is the table's variant of
    the field (its code list the labels)."""
    labels = option_set(set_name)
    return column(
        name,
        header,
        variant=table,
        nullable=nullable,
        on_failure="reject" if not nullable else "clear",
        rules=(code_rule(table, name, header, labels, f"option set {set_name} ({', '.join(labels)})"),),
    )


ACCOUNTS = _crm_table(
    name="accounts",
    source_file="accounts.csv",
    description="CRM accounts: organisations the provider manages as customers, partners or prospects.",
    grain="One row per CRM account (accountid); one organisation may have several accounts.",
    key=("account_id",),
    columns=(
        _guid("accounts", "account_id", "accountid", unique=True, meaning="CRM account id."),
        column("name", "name", nullable=False),
        column(
            "business_id",
            "businessid",
            meaning="Y-tunnus as typed (1234567-8, 12345678, FI12345678, …).",
            rules=(
                Rule(
                    "accounts.business_id.valid",
                    "businessid must be a valid Y-tunnus (check digit mod 11); the "
                    "account is published but never matched by it",
                    consequence="flag",
                    description_fi="Sarake businessid: oltava kelvollinen Y-tunnus (tarkistusnumero mod 11); asiakas "
                    "julkaistaan, mutta sitä ei yhdistetä Y-tunnuksella",
                    passes=lambda: (
                        pl.col("business_id").is_null() | business_id_normalised("business_id").is_not_null()
                    ),
                    column="business_id",
                ),
                Rule(
                    "accounts.business_id.standard_form",
                    "businessid should be written 1234567-8 (it was read "
                    "from another form, e.g. FI12345678 or 12345678)",
                    consequence="flag",
                    description_fi="Sarakkeen businessid Y-tunnus pitäisi kirjoittaa muodossa 1234567-8 (se luettiin "
                    "toisesta muodosta, esim. FI12345678 tai 12345678)",
                    passes=lambda: (
                        pl.col("business_id").is_null()
                        | pl.col("business_id").str.contains(STANDARD_BUSINESS_ID)
                        | business_id_normalised("business_id").is_null()
                    ),
                    column="business_id",
                ),
            ),
        ),
        column(
            "industry_code",
            "industrycode",
            meaning="Industry, TOL 2008 code (2–5 digits).",
            on_failure="clear",
            rules=(
                pattern_rule(
                    "accounts.industry_code.format",
                    "industrycode must be a TOL 2008 code of 2–5 digits",
                    "industry_code",
                    r"^\d{2,5}$",
                    description_fi="Sarake industrycode: oltava 2–5-numeroinen TOL 2008 -koodi",
                ),
            ),
        ),
        column("city", "address1_city", meaning="City of the main address."),
        column(
            "postal_code",
            "address1_postalcode",
            rules=(
                pattern_rule(
                    "accounts.postal_code.format",
                    "address1_postalcode must be a 5-digit Finnish postal code",
                    "postal_code",
                    r"^\d{5}$",
                    consequence="flag",
                    description_fi="Sarake address1_postalcode: oltava viisinumeroinen postinumero",
                ),
            ),
        ),
        column(
            "employees",
            "numberofemployees",
            meaning="Number of employees.",
            on_failure="clear",
            rules=(
                range_rule(
                    "accounts.employees.range",
                    "numberofemployees must be 0–1 000 000",
                    "employees",
                    0,
                    1_000_000,
                    description_fi="Sarake numberofemployees: oltava 0–1 000 000",
                ),
            ),
        ),
        _option("accounts", "customer_type", "customertypecode", "customertypecode"),
        column("owner_id", "ownerid"),
        _option("accounts", "state", "statecode", "statecode_account", nullable=False),
        column("created_on", "createdon", on_failure="clear"),
        column("modified_on", "modifiedon", on_failure="clear"),
    ),
    row_rules=(
        not_before(
            "accounts",
            "created_on",
            "modified_on",
            "modifiedon must not be before createdon",
            "Sarakkeen modifiedon aika ei saa olla ennen sarakkeen createdon aikaa",
        ),
    ),
)

CONTACTS = _crm_table(
    name="contacts",
    source_file="contacts.csv",
    description="Contact persons of accounts. Personal data: only counts per organisation are published.",
    grain="One row per contact (contactid).",
    key=("contact_id",),
    foreign_keys=(("account_id", "accounts", "account_id"),),
    columns=(
        _guid("contacts", "contact_id", "contactid", unique=True),
        _account("contacts", "parentcustomerid"),
        column("first_name", "firstname"),
        column("last_name", "lastname"),
        column("email", "emailaddress1"),
        column("phone", "telephone1"),
        column("job_title", "jobtitle"),
        column("created_on", "createdon", meaning="When the contact was created.", on_failure="clear"),
    ),
)

ACTIVITIES = _crm_table(
    name="activities",
    source_file="activities.csv",
    description="Activities with accounts: meetings, calls, emails, tasks and working-life forums.",
    grain="One row per activity (activityid).",
    key=("activity_id",),
    foreign_keys=(("account_id", "accounts", "account_id"),),
    columns=(
        _guid("activities", "activity_id", "activityid", unique=True),
        _account("activities", "regardingobjectid"),
        _option("activities", "activity_type", "activitytypecode", "activitytypecode", nullable=False),
        column("subject", "subject"),
        column("scheduled_start", "scheduledstart", meaning="Scheduled start.", on_failure="clear"),
        column("actual_end", "actualend", meaning="When the activity was actually completed.", on_failure="clear"),
        column("owner_id", "ownerid", meaning="The staff member who owns the activity (CRM user GUID)."),
        _option("activities", "state", "statecode", "statecode_activity", nullable=False),
    ),
)

SCOPES = option_set("scope")
PARTNERSHIPS = _crm_table(
    name="partnerships",
    source_file="partnerships.csv",
    description="Partnership agreements with accounts: their level and scope.",
    grain="One row per partnership (partnershipid).",
    key=("partnership_id",),
    foreign_keys=(("account_id", "accounts", "account_id"),),
    columns=(
        _guid("partnerships", "partnership_id", "partnershipid", unique=True),
        _account("partnerships", "accountid"),
        _option("partnerships", "level", "level", "level", nullable=False),
        column(
            "scope",
            "scope",
            variant="partnerships",
            on_failure="clear",
            rules=(
                Rule(
                    "partnerships.scope.code",
                    f"Every part of scope must be one of {', '.join(SCOPES)} (separated by ';')",
                    description_fi=f"Sarake scope: jokaisen osan on oltava jokin näistä: {', '.join(SCOPES)} "
                    "(erottimena ';')",
                    passes=lambda: (
                        pl.col("scope").is_null()
                        | pl.col("scope")
                        .str.split(";")
                        .list.eval(pl.element().str.strip_chars().is_in(sorted(SCOPES)))
                        .list.all()
                    ),
                    column="scope",
                ),
            ),
        ),
        column("start_date", "startdate", meaning="First day of the partnership.", nullable=False),
        column("end_date", "enddate", meaning="Last day; empty while it goes on."),
    ),
    row_rules=(
        not_before(
            "partnerships",
            "start_date",
            "end_date",
            "enddate must not be before startdate",
            "Sarakkeen enddate päivä ei saa olla ennen sarakkeen startdate päivää",
        ),
    ),
)

SURVEY_RESPONSES = _crm_table(
    name="survey_responses",
    source_file="survey_responses.csv",
    description="Employer and partner satisfaction survey responses. Comments are free text and never published.",
    grain="One row per survey response (responseid).",
    key=("response_id",),
    foreign_keys=(("account_id", "accounts", "account_id"),),
    columns=(
        _guid("survey_responses", "response_id", "responseid", unique=True),
        _account("survey_responses", "accountid"),
        column("submitted_on", "submittedon", meaning="When the response was submitted.", nullable=False),
        column(
            "nps",
            "nps",
            on_failure="clear",
            rules=(
                range_rule(
                    "survey_responses.nps.range",
                    "nps must be a whole number 0–10",
                    "nps",
                    0,
                    10,
                    description_fi="Sarake nps: oltava kokonaisluku 0–10",
                ),
            ),
        ),
        column(
            "satisfaction",
            "satisfaction",
            on_failure="clear",
            rules=(
                range_rule(
                    "survey_responses.satisfaction.range",
                    "satisfaction must be a whole number 1–5",
                    "satisfaction",
                    1,
                    5,
                    description_fi="Sarake satisfaction: oltava kokonaisluku 1–5",
                ),
            ),
        ),
        column("comment", "comment"),
    ),
)

TABLES: tuple[Table, ...] = (ACCOUNTS, CONTACTS, ACTIVITIES, PARTNERSHIPS, SURVEY_RESPONSES)


def is_active(state: pl.Expr) -> pl.Expr:
    """An account whose state is the code ``active``, in whichever language the CRM writes its label (the flat export
    ``Active``, Dataverse's Finnish metadata ``Aktiivinen``)."""
    return state.replace_strict(option_set("statecode_account"), default=None) == "active"


#: a CRM delivered by Azure Synapse Link: the Dataverse tables (logical names) each of ours is read from, as a
#: standard Dynamics 365 has them (``dataverse-export.md`` B9); partnerships and survey responses are custom tables
#: whose names a site gives (``crm.dataverse_tables``), and a site may read activities from ``task``,
#: ``appointment`` and ``phonecall`` instead of ``activitypointer``
DATAVERSE_TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("account",),
    "contacts": ("contact",),
    "activities": ("activitypointer",),
    "partnerships": (),
    "survey_responses": (),
}
BY_NAME = {t.name: t for t in TABLES}

CROSS_FILE_RULES: tuple[CrossFileRule, ...] = tuple(
    CrossFileRule(
        Rule(
            f"{t.name}.account_exists",
            f"{t.column('account_id').source_header} must be an account in accounts.csv",
            column="account_id",
            description_fi=f"Sarake {t.column('account_id').source_header}: asiakkaan on oltava tiedostossa "
            "accounts.csv",
        ),
        t.name,
        missing_parent(t.name, "account_id", "accounts", "account_id"),
    )
    for t in TABLES[1:]
)

SOURCE = Source(
    system=SYSTEM,
    tables=TABLES,
    cross_file_rules=CROSS_FILE_RULES,
    parent_words="The account this row belongs to is in quarantine",
    parent_words_fi="Asiakas, johon rivi kuuluu, on karanteenissa",
    person_column="contact_id",
)
