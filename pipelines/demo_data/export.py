"""Write a landing folder the way the source systems export it.

``<out>/student_admin/<date>/*.csv`` with the contract's Finnish headers, ``;``, CRLF,
``d.m.yyyy`` dates and decimal commas; ``<out>/crm/<as-of>/*.csv`` in the CRM's
conventions (``,``, ISO timestamps). ``<out>/truth/<source>/<date>/defects.csv`` lists every
injected defect with the file and line where it stands; ``<out>/truth/crm/<as-of>/
organizations.csv`` says which source records are the same organisation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.demo_data.crm import build_crm
from pipelines.demo_data.crm_defects import CRM_DEFECTS, inject_crm
from pipelines.demo_data.crm_synapse import write_crm_synapse
from pipelines.demo_data.defects import DEFECT, DEFECTS, DefectClass, inject
from pipelines.demo_data.koski import write_koski_report
from pipelines.demo_data.koski_bulk import write_koski_bulk
from pipelines.demo_data.people import name_pools
from pipelines.demo_data.planner import plan_year
from pipelines.demo_data.profiles import DEFAULT, Profile
from pipelines.demo_data.snapshots import known_on, month_ends_before, with_recording_dates
from pipelines.demo_data.world import EMPLOYER, World, build_world
from pipelines.demo_data.ytj import write_ytj
from schemas import crm, plans, student_admin
from schemas.identifiers import business_id_normalised
from schemas.metadata import LINE, Source

#: file → how it is encoded, as seen at real providers
ENCODINGS = {"opiskelijat.csv": "utf-8-sig", "tyopaikkajaksot.csv": "cp1252"}
#: how each source system writes its CSV
CSV_OPTIONS = {
    "student_admin": {"separator": ";", "date_format": "%-d.%-m.%Y", "decimal_comma": True},
    "crm": {"separator": ","},
    "plans": {"separator": ";"},
}
#: the file of each source whose last line is cut short (a truncated export)
TRUNCATED = {"student_admin": "tutkinnon_osat.csv", "crm": "activities.csv"}


def _csv_bytes(frame: pl.DataFrame, table) -> bytes:
    out = frame.select(c.name for c in table.columns).rename({c.name: c.source_header for c in table.columns})
    buf = io.BytesIO()
    out.write_csv(
        buf, line_terminator="\r\n", quote_style="necessary", null_value="", **CSV_OPTIONS[table.source_system]
    )
    return buf.getvalue()


def _lines(frame: pl.DataFrame, table) -> pl.Series:
    """Physical line of each row: 1 header line, plus newlines inside earlier quoted fields."""
    inside = pl.sum_horizontal(
        [pl.col(c.name).cast(pl.Utf8).str.count_matches("\n").fill_null(0) for c in table.columns if c.dtype == pl.Utf8]
        + [pl.int_range(pl.len()) * 0]
    )
    return frame.select((pl.int_range(pl.len()) + 2 + inside.cum_sum() - inside).alias(LINE)).to_series()


def _chance_duplicates(frame: pl.DataFrame, table) -> list[dict]:
    """Rows the world made twice by chance (a unit assessed twice on one day with one grade: at the national size a few
    dozen): no defect was injected, but the file holds an exact duplicate of an earlier line all the same, which the
    reader must hold back like an injected one."""
    rule = table.ingest_rules()[1]
    names = [c.name for c in table.columns]
    repeated = frame.filter(pl.col(DEFECT).is_null() & (pl.col(LINE) != pl.col(LINE).min().over(names)))
    return [
        {
            "source_file": table.source_file,
            LINE: line,
            "record_key": key,
            "defect_class": "duplicate_by_chance",
            "rule_id": rule.id,
            "severity": rule.severity,
            "consequence": rule.consequence,
        }
        for line, key in zip(repeated[LINE], repeated[names[0]].cast(pl.Utf8))
    ]


def _quoting_examples(units: pl.DataFrame) -> pl.DataFrame:
    """Legitimate CSV quoting the reader must handle: ';', '"' and a newline inside a field."""
    names = units["unit_name"].to_list()
    for i, text in ((1, 'Ammattitaidon "näyttö"; osa 1'), (3, "Asiakaspalvelu\nja myynti")):
        if i < len(names):
            names[i] = text
    return units.with_columns(pl.Series("unit_name", names))


#: sizes whose landing folder also gets the monthly export history (the backtest needs it)
WITH_HISTORY = {"small", "medium"}
#: sizes whose landing folder also gets KOSKI's student-year report of the year so far (reconciliation)
WITH_KOSKI_REPORT = {"small", "medium"}


def generate(
    size: str,
    seed: int,
    out: Path,
    as_of: dt.date,
    history: bool | None = None,
    clean: bool = False,
    august_surge: float = 0.0,
    profile: Profile = DEFAULT,
    crm_layout: str = "flat",
) -> Path:
    """Generate the exports of ``as_of`` (and, with ``history``, one per earlier month end); returns the newest folder.

    ``clean`` writes the same world without any of its defects (the truth then lists none): what the figures would
    be if every record were right, to measure what the defects cost. ``august_surge`` adds a new August group to
    the previous year (``build_world``); the plan of that year knows it (the provider decided to open it).
    ``profile``: what sets this provider apart in a network (``pipelines/demo_data/network.py``). ``crm_layout``:
    ``flat`` (the CSV export), or the same records as Azure Synapse Link delivers them
    (``pipelines/demo_data/crm_synapse.py``)."""
    world = build_world(size, seed, as_of, august_surge, profile)
    for year in (as_of.year - 2, as_of.year - 1, as_of.year):  # the plan before the backtested year's: how it held
        write_plan(world, np.random.default_rng([seed, 7, year]), out, year)
    world.tables["assessed_units"] = _quoting_examples(world.tables["assessed_units"])
    defective = (lambda seed, tables, day: tables) if clean else inject
    if (size in WITH_HISTORY) if history is None else history:
        tables = {
            **world.tables,
            "status_periods": with_recording_dates(np.random.default_rng(seed + 2), world.tables["status_periods"]),
        }
        for day in month_ends_before(as_of):
            write_export(
                student_admin.SOURCE,
                defective(seed, known_on(tables, day), day),
                DEFECTS,
                out,
                day,
                not clean,
            )
    student_tables = defective(seed, world.tables, as_of)
    folder = write_export(student_admin.SOURCE, student_tables, DEFECTS, out, as_of, not clean)
    _write_crm(world, student_tables["workplace_periods"], seed, out, clean, crm_layout)
    write_ytj(world.employers, name_pools(seed), seed, out, as_of)
    if size in WITH_KOSKI_REPORT and not clean:
        write_koski_report(out, folder, as_of, seed)
        write_koski_bulk(out, folder, as_of, seed)
    return folder


def write_plan(world: World, rng: np.random.Generator, out: Path, year: int) -> Path:
    """``plans/<1 December of the year before>/aloitukset.csv``: per month and study-right type, the intake as a planner
    plans it before the year (``planner.py``); ``truth/plans/<same date>/plan_events.csv`` says how it turns out
    wrong."""
    rows, events = plan_year(world.tables["study_rights"], year, rng, world.new_group)
    frame = rows.with_columns(
        pl.lit(year, pl.Int64).alias("year"),
        pl.lit(None, pl.Utf8).alias("koulutus_code"),
        pl.lit(None, pl.Utf8).alias("campus"),
    )
    made_on = dt.date(year - 1, 12, 1).isoformat()
    folder = out / plans.SYSTEM / made_on
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / plans.INTAKE_PLAN.source_file
    path.write_bytes(_csv_bytes(frame, plans.INTAKE_PLAN))
    truth = out / "truth" / plans.SYSTEM / made_on
    truth.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        events,
        schema={
            "event": pl.Utf8,
            "month": pl.Int64,
            "study_right_type": pl.Utf8,
            "students": pl.Int64,
            "note": pl.Utf8,
        },
    ).write_csv(truth / "plan_events.csv")
    return path


def _read_back(path: Path, table) -> pl.DataFrame:
    """A flat CRM file's records as text by our column names (a line cut short is the flat file's own defect:
    Synapse Link writes whole records)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if None not in r.values()]
    names = {c.source_header: c.name for c in table.columns}
    return pl.DataFrame([{names[k]: v for k, v in r.items() if k in names} for r in rows],
                        schema={c.name: pl.Utf8 for c in table.columns})  # fmt: skip


def _write_crm(world: World, workplaces: pl.DataFrame, seed: int, out: Path, clean: bool, crm_layout: str) -> None:
    """The CRM export of the as-of date, and the truth of which records are one organisation."""
    pools = name_pools(seed)
    tables = build_crm(seed, world.employers, pools, world.as_of, world.profile.unmanaged_share)
    if not clean:
        tables = inject_crm(np.random.default_rng([seed, 5]), tables, pools)
    folder = write_export(crm.SOURCE, tables, CRM_DEFECTS, out, world.as_of, not clean)
    if crm_layout != "flat":  # (the same records, as Dynamics 365 delivers them through Synapse Link)
        written = {t.name: _read_back(folder / t.source_file, t) for t in crm.TABLES}
        for t in crm.TABLES:
            (folder / t.source_file).unlink()
        write_crm_synapse(written, folder, world.as_of, crm_layout, out / "truth" / "crm" / world.as_of.isoformat())
    accounts = tables["accounts"].select(
        pl.lit("crm").alias("source_system"),
        pl.col("account_id").alias("source_id"),
        pl.lit(None, pl.Utf8).alias("business_id"),
        pl.col("__org").alias("organization"),
    )
    places = workplaces.select(
        pl.lit("student_admin").alias("source_system"),
        pl.col("workplace_name").str.replace_all("\u00a0", " ", literal=True).str.strip_chars().alias("source_id"),
        business_id_normalised("business_id").alias("business_id"),
        pl.format("ORG-{}", pl.col(EMPLOYER).cast(pl.Utf8).str.zfill(6)).alias("organization"),
    ).unique()
    truth = out / "truth" / "crm" / world.as_of.isoformat()
    pl.concat([accounts, places]).sort(pl.all(), nulls_last=True).write_csv(truth / "organizations.csv")


def write_export(
    source: Source,
    tables: dict[str, pl.DataFrame],
    defects: dict[str, DefectClass],
    out: Path,
    as_of: dt.date,
    truncate: bool = True,
) -> Path:
    """Write one export folder of ``source`` with its defects, and the truth about them beside it (the row's
    key, its first field, included: a study right's id for every student-administration file but one)."""
    folder = out / source.system / as_of.isoformat()
    truth_folder = out / "truth" / source.system / as_of.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    truth_folder.mkdir(parents=True, exist_ok=True)
    truth = []
    for table in source.tables:
        frame = tables[table.name]
        if DEFECT not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Utf8).alias(DEFECT))
        data = _csv_bytes(frame, table)
        lines = _lines(frame, table)
        marked = frame.with_columns(lines).filter(pl.col(DEFECT).is_not_null())
        truth += [
            {
                "source_file": table.source_file,
                LINE: line,
                "record_key": key,
                "defect_class": d,
                "rule_id": defects[d].rule,
                "severity": defects[d].severity,
                "consequence": defects[d].consequence if defects[d].rule else None,
            }
            for line, key, d in zip(marked[LINE], marked[table.columns[0].name].cast(pl.Utf8), marked[DEFECT])
        ]
        truth += _chance_duplicates(frame.with_columns(lines), table)
        if truncate and table.source_file == TRUNCATED[source.system] and frame.height:  # the last line stops mid-row
            first = [str(v) for v in frame.row(0)[:3]]
            data += CSV_OPTIONS[source.system]["separator"].join(first[:2] + [first[2][:4]]).encode()
            truth.append(
                {
                    "source_file": table.source_file,
                    LINE: int(lines[-1]) + 1,
                    "record_key": first[0],
                    "defect_class": "truncated_last_line",
                    "rule_id": defects["truncated_last_line"].rule,
                    "severity": "error",
                    "consequence": "reject",
                }
            )
        encoding = ENCODINGS.get(table.source_file, "utf-8")
        if encoding != "utf-8":
            data = data.decode("utf-8").encode(encoding)
        (folder / table.source_file).write_bytes(data)
    pl.DataFrame(
        truth,
        schema={
            "source_file": pl.Utf8,
            LINE: pl.Int64,
            "record_key": pl.Utf8,
            "defect_class": pl.Utf8,
            "rule_id": pl.Utf8,
            "severity": pl.Utf8,
            "consequence": pl.Utf8,
        },
    ).sort("source_file", LINE).write_csv(truth_folder / "defects.csv")
    return folder
