"""Student records: the one model every student-year figure, fact and check reads, from the Primus-style export or
from KOSKI's deliveries (``pipelines/conforming/``)."""

from dagster import AssetExecutionContext, AssetIn, AssetKey, AssetOut, Failure, Output, multi_asset

from pipelines.conforming.student_records import koski_records, with_earlier
from pipelines.ingestion.reading import RawTable
from pipelines.resources import LandingArea
from pipelines.validation import TableOutcome
from schemas import koski_bulk, student_admin

RECORDS = "student_records"


def records_key(table: str) -> AssetKey:
    """The asset of one student-record table (named as the Primus-style export's)."""
    return AssetKey([RECORDS, table])


@multi_asset(
    name=f"conform_{RECORDS}",
    ins={
        **{
            f"admin_{t.name}": AssetIn(key=AssetKey([student_admin.SYSTEM, f"validated_{t.name}"]))
            for t in student_admin.TABLES
        },
        **{t.name: AssetIn(key=AssetKey([koski_bulk.SYSTEM, f"validated_{t.name}"])) for t in koski_bulk.TABLES},
        **{f"raw_{t.name}": AssetIn(key=AssetKey([koski_bulk.SYSTEM, f"raw_{t.name}"])) for t in koski_bulk.TABLES},
    },  # fmt: skip
    outs={
        t.name: AssetOut(
            key=records_key(t.name),
            group_name="validated",
            description=f"{t.description} From the student-administration export when the landing area has one, "
            "else from KOSKI's deliveries (the newest full one and the incremental ones after it).",
        )
        for t in student_admin.TABLES
    },
)
def conform_student_records(context: AssetExecutionContext, landing: LandingArea, **inputs):
    area = landing.open()
    if area.has_export(student_admin.SYSTEM):
        records: dict[str, TableOutcome] = {t.name: inputs[f"admin_{t.name}"] for t in student_admin.TABLES}
        origin = f"the student-administration export {area.export_folder(student_admin.SYSTEM).name}"
    elif area.has_export(koski_bulk.SYSTEM):
        raws: dict[str, RawTable] = {t.name: inputs[f"raw_{t.name}"] for t in koski_bulk.TABLES}
        newest = {t.name: inputs[t.name] for t in koski_bulk.TABLES}
        deliveries = with_earlier(area, newest, raws, context.run.run_id)
        records = koski_records(deliveries)
        origin = "KOSKI's deliveries " + ", ".join(d.folder.name for d in deliveries)
    else:
        raise Failure(
            description=f"{area.path} holds no student records: neither a student-administration export "
            f"({student_admin.SYSTEM}/<date>/) nor a KOSKI delivery ({koski_bulk.SYSTEM}/<date>/)"
        )
    context.log.info(
        f"student records from {origin}: {records['study_rights'].rows_published} study rights, "
        f"{records['students'].rows_published} students"
    )
    for name, outcome in records.items():
        yield Output(outcome, output_name=name, metadata={"rows": outcome.rows_published, "from": origin})


RECORD_ASSETS = [conform_student_records]
