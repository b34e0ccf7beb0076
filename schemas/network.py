"""A network of providers (``source-exports.md`` section 5): the providers file at the top of a network landing area.

A network's landing area holds one folder per provider (``landing/<provider>/student_admin/<date>/…``), named by the
provider's organisation id; ``providers.csv`` beside them names each provider and its group (e.g. its region). A
landing area with ``student_admin/`` at its top is a single provider.
"""

from __future__ import annotations

import polars as pl

from schemas.codes import NETWORK_INDICATORS, SUPPRESS_BELOW_PERSONS
from schemas.fields import column
from schemas.identifiers import business_id_normalised
from schemas.metadata import Rule, Source, Table, allowed_rule
from schemas.published_base import published_table

#: an OPH organisation OID (organisaatio-oid)
ORGANIZATION_OID = r"^1\.2\.246\.562\.10\.\d{11}$"

PROVIDERS = Table(
    name="providers",
    source_file="providers.csv",
    source_system="network",
    description="The providers of a network landing area: each one's organisation id (its folder's name), name and "
    "group. UTF-8, `;` as the delimiter.",
    grain="One row per provider (koulutuksen järjestäjä).",
    key=("provider_id",),
    columns=(
        column(
            "provider_id",
            "Organisaatio",
            nullable=False,
            unique=True,
            rules=(
                Rule(
                    "providers.provider_id.format",
                    "Organisaatio must be an organisation OID (1.2.246.562.10. and 11 digits) or a valid Y-tunnus "
                    "written 1234567-8",
                    description_fi="Organisaation on oltava organisaatio-oid (1.2.246.562.10. ja 11 numeroa) tai "
                    "kelvollinen Y-tunnus muodossa 1234567-8",
                    passes=lambda: (
                        pl.col("provider_id").is_null()
                        | pl.col("provider_id").str.contains(ORGANIZATION_OID)
                        | (business_id_normalised("provider_id") == pl.col("provider_id")).fill_null(False)
                    ),
                    column="provider_id",
                ),
            ),
        ),
        column("provider_name", "Nimi", nullable=False),
        column("provider_group", "Ryhmä"),
    ),
)

SOURCE = Source(
    system="network",
    tables=(PROVIDERS,),
    cross_file_rules=(),
    parent_words="",
    parent_words_fi="",
)

#: what a network's benchlearning publishes: only aggregates cross provider lines
BENCHMARK = published_table(
    "mart_network_benchmark",
    "Benchlearning: each provider's figures beside the network's distribution (median, quartiles, rank), from each "
    "provider's published release. Indicators: schemas/reference/network_indicators.csv. A figure describing fewer "
    f"than {SUPPRESS_BELOW_PERSONS} persons is suppressed. Published into <warehouse>/network/, never into a "
    "provider's own folder.",
    "One row per provider, calendar year, indicator and funding breakdown.",
    ("provider", "year", "indicator", "funding_breakdown"),
    (
        column("provider", nullable=False),
        column("provider_name", nullable=False),
        column("provider_group"),
        column("as_of", meaning="The as-of date of the provider's release the figures come from.", nullable=False),
        column("is_stale", nullable=False),
        column("year", nullable=False),
        column(
            "indicator",
            nullable=False,
            rules=(
                allowed_rule(
                    "mart_network_benchmark.indicator.code",
                    "indicator is one of the network's indicators",
                    "indicator",
                    NETWORK_INDICATORS,
                ),
            ),
        ),
        column("funding_breakdown", nullable=False),
        column("higher_is_better", nullable=False),
        column("indicator_value"),
        column("persons"),
        column("is_suppressed", nullable=False),
        column("network_providers", nullable=False),
        column("network_q1"),
        column("network_median"),
        column("network_q3"),
        column("network_rank"),
    ),
)
#: the network's own published tables
PUBLISHED = (BENCHMARK,)
