"""Every source system we ingest, in the order the pipeline reads them."""

from __future__ import annotations

from schemas import crm, koski_bulk, koski_report, student_admin
from schemas.metadata import Rule, Source, Table

SOURCES: tuple[Source, ...] = (student_admin.SOURCE, crm.SOURCE, koski_bulk.SOURCE)
BY_SYSTEM = {s.system: s for s in SOURCES}
#: every source table by name (names are unique across sources)
SOURCE_TABLES: dict[str, Table] = {t.name: t for s in SOURCES for t in s.tables}
#: every rule id of every source → its rule (one waiver file and one steward report cover them all), and what
#: reconciling with KOSKI's report finds
RULES: dict[str, Rule] = {rule_id: rule for s in SOURCES for rule_id, rule in s.rule_catalogue().items()} | {
    r.id: r for r in (*koski_report.RECONCILIATION_RULES, *koski_bulk.DIFFERENCE_RULES)
}
