"""Our own export against KOSKI's bulk data of the same day: the differences for stewards (a correction list,
biggest funding effect first) and, summed by kind, for management (``mart_koski_differences``)."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import polars as pl
from dagster import AssetExecutionContext, AssetIn, AssetKey, MetadataValue, Output, asset

from pipelines.assets.published import INTERMEDIATE_INPUTS, published_asset
from pipelines.assets.reconciliation import comparison_summary
from pipelines.assets.student_records import records_key
from pipelines.conforming.student_records import (
    annulled,
    koski_records,
    source_ids,
    started_from,
    with_earlier,
)
from pipelines.files import write_parquet
from pipelines.formats import number
from pipelines.ingestion.reading import RawTable
from pipelines.marts.koski_differences import DIFFERENCES_SCHEMA, KoskiSide, differences
from pipelines.marts.student_year_history import TABLES, complete_history
from pipelines.masking import mask_keys, mask_shapes
from pipelines.quarantine import quarantine_rows
from pipelines.resources import LandingArea, WarehouseResource
from pipelines.validation import FAILURE_SCHEMA, PERSON_ID, TableOutcome
from schemas import koski_bulk, student_admin
from schemas.metadata import LINE
from schemas.published import MART_KOSKI_DIFFERENCES
from schemas.sources import RULES

DIFFERENCES = "koski_differences"
SYSTEM = koski_bulk.DIFFERENCES_SYSTEM
#: the quarantine table the differences are kept in (one per run, like a source table's)
TABLE = DIFFERENCES


@dataclass
class DifferencesOutcome:
    """The differences of one run (nothing when the landing area lacks either side)."""

    koski_delivered: str | None = None
    first: dt.date | None = None
    last: dt.date | None = None
    differences: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DIFFERENCES_SCHEMA))
    #: the comparison as a file of the failure history (its quarantine table is read, its failures resolve)
    files: dict[str, dict] = field(default_factory=dict)


@asset(
    key=INTERMEDIATE_INPUTS[DIFFERENCES],
    group_name="validated",
    ins={
        **{t: AssetIn(key=records_key(t)) for t in TABLES},
        **{t.name: AssetIn(key=AssetKey([koski_bulk.SYSTEM, f"validated_{t.name}"])) for t in koski_bulk.TABLES},
        **{f"raw_{t.name}": AssetIn(key=AssetKey([koski_bulk.SYSTEM, f"raw_{t.name}"])) for t in koski_bulk.TABLES},
    },
    description="Where the student-administration export and KOSKI's bulk data (the newest full delivery and the "
    "incremental ones after it) disagree, study right by study right: only ours, only in KOSKI, annulled in KOSKI, "
    "and differences in start, end, status timeline, funding, part-time and each additional period, each with the "
    "student-year days it moves in the year so far. Kept in <warehouse>/quarantine/koski_differences.parquet for "
    "the steward report and its correction list. Nothing without both.",
)
def koski_differences(context: AssetExecutionContext, landing: LandingArea, warehouse: WarehouseResource, **inputs):
    area = landing.open()
    wh = warehouse.open()
    if not (area.has_export(student_admin.SYSTEM) and area.has_export(koski_bulk.SYSTEM)):
        context.log.info("no export of our own and KOSKI's data both in the landing area: nothing to compare")
        return Output(DifferencesOutcome(), metadata={"differences": 0})
    raws: dict[str, RawTable] = {t.name: inputs.pop(f"raw_{t.name}") for t in koski_bulk.TABLES}
    newest = {t.name: inputs.pop(t.name) for t in koski_bulk.TABLES}
    deliveries = with_earlier(area, newest, raws, context.run.run_id)
    chain = [d.folder for d in deliveries]
    ours: dict[str, TableOutcome] = inputs
    koski_history, _ = complete_history(koski_records(deliveries))
    history, _ = complete_history(ours)
    last = min(area.run_date(), dt.date.fromisoformat(chain[-1].name))
    first = dt.date(last.year, 1, 1)
    found = differences(
        history,
        KoskiSide(koski_history, source_ids(deliveries), annulled(deliveries)),
        first,
        last,
        started_from(chain[0]),
        ours["study_rights"].rows(),
    )
    failures = _failures(found, chain[-1].name, first, last, context.run.run_id)
    key = warehouse.key()
    # (the person of a study right only KOSKI holds is its learner OID, pseudonymised as KOSKI's rows are)
    only_koski = pl.col("kind") == "only_in_koski"
    rows = [
        quarantine_rows(failures.filter(~only_koski).drop("kind"), key, student_admin.SOURCE),
        quarantine_rows(failures.filter(only_koski).drop("kind"), key, koski_bulk.SOURCE),
    ]
    write_parquet(pl.concat(rows), wh.quarantine(TABLE), private=True)
    kinds = dict(found.group_by("kind").len().sort("kind").iter_rows())
    context.log.info(
        f"our export against KOSKI's data ({', '.join(f.name for f in chain)}), {first}–{last}: "
        + (", ".join(f"{n} {k}" for k, n in kinds.items()) or "no differences")
        + f"; {found['student_years'].sum():+.2f} student-years in KOSKI's favour"
    )
    outcome = DifferencesOutcome(
        chain[-1].name, first, last, found, {TABLE: comparison_summary(SYSTEM, TABLE, found.height)}
    )
    return Output(
        outcome,
        metadata={
            "differences": found.height,
            "by_kind": MetadataValue.json(kinds),
            "student_years_moved": float(found["student_years"].sum()),
        },
    )


def _message(row: dict, first: dt.date, last: dt.date, language: str) -> str:
    rule = RULES[f"{SYSTEM}.{row['kind']}"]
    what = []
    if row["period_type"]:
        what.append(row["period_type"])
    if row["ours"] is not None or row["koski"] is not None:
        words = ("omassa", "KOSKIssa") if language == "fi" else ("ours", "KOSKI")
        what.append(f"{words[0]} {row['ours'] or '–'}, {words[1]} {row['koski'] or '–'}")
    days, years = number(row["days"], 0, language), number(row["student_years"], 2, language)
    sign = "+" if row["days"] > 0 else ""
    if language == "fi":
        moved = f"{sign}{days} pv" + (f", {sign}{years} opiskelijavuotta" if row["kind"] != "period" else "")
        what.append(f"KOSKI laskee {moved} jaksolla {first:%-d.%-m.%Y}–{last:%-d.%-m.%Y}")
    else:
        moved = f"{sign}{days} days" + (f", {sign}{years} student-years" if row["kind"] != "period" else "")
        what.append(f"KOSKI counts {moved} in {first}–{last}")
    return f"{rule.description_fi if language == 'fi' else rule.description}. " + "; ".join(what)


def _failures(found: pl.DataFrame, delivered: str, first: dt.date, last: dt.date, run_id: str) -> pl.DataFrame:
    """One flag per difference, numbered by its effect (line 1 moves the most), for the history and the list."""
    rows = [
        {
            "run_id": run_id,
            "source_system": SYSTEM,
            "table": TABLE,
            "source_file": f"koski_bulk/{delivered}",
            LINE: rank,
            "record_key": r["study_right_id"],
            "rule_id": f"{SYSTEM}.{r['kind']}",
            "severity": "warning",
            "consequence": "flag",
            "column": r["period_type"],
            "source_header": None,
            "message": _message(r, first, last, "en"),
            "message_fi": _message(r, first, last, "fi"),
            "masked_value": None,
            "failure_id": hashlib.sha256(
                "\x1f".join((SYSTEM, r["kind"], r["study_right_id"], r["period_type"] or "")).encode()
            ).hexdigest()[:24],
            PERSON_ID: r["student_number"],
            "kind": r["kind"],
        }
        for rank, r in enumerate(found.iter_rows(named=True), 1)
    ]
    frame = pl.DataFrame(rows, schema=FAILURE_SCHEMA | {PERSON_ID: pl.Utf8, "kind": pl.Utf8})
    return frame.with_columns(
        mask_keys(pl.col("record_key")).alias("record_key"),
        mask_shapes(pl.col("message")).alias("message"),
        mask_shapes(pl.col("message_fi")).alias("message_fi"),
    )


def mart_koski_differences(koski_differences: DifferencesOutcome) -> pl.DataFrame:
    """Per kind of difference (and additional-period type): study rights, and the days and student-years moved."""
    table = MART_KOSKI_DIFFERENCES
    found = koski_differences.differences
    if koski_differences.koski_delivered is None:
        return pl.DataFrame(schema=table.schema)
    summed = (
        found.group_by("kind", "period_type")
        .agg(
            pl.col("study_right_id").n_unique().alias("study_rights_differing"),
            pl.col("days").sum().alias("days_moved"),
            pl.col("student_years").sum().alias("student_years_moved"),
        )
        .with_columns(  # (KOSKI counts an additional period in days, not in student-years)
            pl.when(pl.col("kind") != "period").then(pl.col("student_years_moved")).alias("student_years_moved")
        )
        .rename({"kind": "difference_kind", "period_type": "difference_period_type"})
        .with_columns(
            pl.lit(koski_differences.first).alias("period_first_day"),
            pl.lit(koski_differences.last).alias("period_last_day"),
            pl.lit(dt.date.fromisoformat(koski_differences.koski_delivered)).alias("koski_delivered_on"),
        )
    )
    return summed.select(pl.col(c.name).cast(c.dtype) for c in table.columns).sort(
        "difference_kind", "difference_period_type", nulls_last=True
    )


DIFFERENCE_ASSETS = [koski_differences, published_asset(mart_koski_differences)]
