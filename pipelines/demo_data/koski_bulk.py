"""KOSKI's bulk data of the demo provider (massaluovutus, ``organisaationOpiskeluoikeudet``, CSV), written the way
KOSKI's CSV writer writes it, with known disagreements with the demo's own export.

KOSKI holds what was transferred to it: the complete study rights of the export of the same day that have an OID,
each cut into KOSKI's time slices as ``AikajaksoRowBuilder`` cuts them (a slice wherever a status, a part-time period
or an additional period starts, or the day after one ends; an ended study right's last slice is its one ending day).
The files come as the partitioned format writes them (``<name>.csv.01``, the time slices in two parts with the header
only in the first), comma, CRLF, a value quoted only when it holds ``"``, ``\\``, ``,`` or a line break, every column
of today's row classes; the query asked for no units (``eiOsasuorituksia``), so there is no ``osasuoritus.csv``.

Planted, and written to ``truth/koski_bulk/<date>/differences.csv``: a study right whose transfer failed (only ours),
one only KOSKI holds, one KOSKI has annulled, and one each whose start, end, status timeline, funding, part-time and
an additional period KOSKI holds otherwise. The study rights never transferred (no OID) are only ours as well.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.files import atomic_write_bytes
from pipelines.ingestion.landing import Landing
from pipelines.marts.student_year_history import history_from_folder
from pipelines.marts.student_years import StudyRightHistory
from schemas.codes import ENDING_STATUSES, KOSKI_REPORT_TYPES, PERIOD_MEASURES, reference
from schemas.koski_bulk import FLAGS, KOSKI_HEADERS, SYSTEM
from schemas.koski_report import MEASURE_OF_TYPE

RIGHT = "study_right_id"
OPEN = dt.date(9999, 12, 31)
OPPILAITOS = "1.2.246.562.10.99999999901"
#: an additional-period type → the time-slice flag KOSKI sets for it
FLAG_OF_TYPE = {t: FLAGS[m.removesuffix("_days")] for t, m in MEASURE_OF_TYPE.items()}
PART_TIME = PERIOD_MEASURES["part_time"][0]
KOULUTUSMUOTO = {r["code"]: r["koulutusmuoto"] for r in reference("study_right_types")}
#: the time-slice columns that are not booleans (KOSKI writes false in every boolean one nothing set)
NOT_BOOLEAN = {"opiskeluoikeus_oid", "alku", "loppu", "tila", "tila_alkanut", "opintojen_rahoitus", "osa_aikaisuus",
               "erityisen_koulutus_tehtavan_jakso_tehtava_koodiarvo", "maksuton", "maksullinen", "id"}  # fmt: skip
#: the kinds planted on a study right of ours begun before the year, in the order they are given one (besides the
#: ones never transferred, and a different start on one begun in the year)
ON_OURS = ("only_ours", "only_in_koski", "annulled_in_koski", "end", "status", "funding", "part_time", "period")


def write_koski_bulk(landing: Path, folder: Path, as_of: dt.date, seed: int) -> Path:
    """Write ``landing/koski_bulk/<as-of>/`` for the export in ``folder``, and the truth of its differences."""
    history, _ = history_from_folder(Landing.at(landing), folder)
    since = dt.date(as_of.year - 10, 1, 1)
    world, truth, extra = _planted(history, np.random.default_rng([seed, 30]), as_of)
    out = landing / SYSTEM / as_of.isoformat()
    files = _files(world, extra)
    written = []
    for name, rows in files.items():
        parts = 2 if name == "opiskeluoikeus_aikajakso.csv" else 1
        written += _write(out, name, rows, parts)
    query = {
        "type": "organisaationOpiskeluoikeudet",
        "format": "text/x-csv-partition",
        "organisaatioOid": OPPILAITOS,
        "alkanutAikaisintaan": since.isoformat(),
        "koulutusmuoto": "ammatillinenkoulutus",
        "mitätöidyt": True,
        "eiOsasuorituksia": True,
    }
    record = {"query": query, "query_id": f"demo-{seed}", "files": written}
    atomic_write_bytes(out / "query.json", json.dumps(record, ensure_ascii=False, indent=2).encode())
    unsent = history.study_rights.filter(
        pl.col("study_right_oid").is_null()
        & pl.col("study_right_type").is_in(sorted(KOSKI_REPORT_TYPES))
        & (pl.col("start_date").is_null() | (pl.col("start_date") >= since))
    )
    truth = pl.concat([truth, unsent.select(RIGHT, pl.lit("only_ours").alias("kind"))]).sort(RIGHT, "kind")
    truth_folder = landing / "truth" / SYSTEM / as_of.isoformat()
    truth_folder.mkdir(parents=True, exist_ok=True)
    truth.write_csv(truth_folder / "differences.csv")
    return out


def candidates(history: StudyRightHistory, as_of: dt.date) -> tuple[list[str], list[str], list[str]]:
    """Study rights a planted difference moves this year's figures of, open and present, with an OID: of a type
    that excludes July and without additional or workplace periods (what a plant moves is then clear), begun before
    the year; then any other such study right of a type KOSKI's report counts (a small world has few of the first);
    and the first kind begun in the year (for a different start)."""
    last = history.status_periods.sort("start_date").group_by(RIGHT, maintain_order=True).last()
    began = history.status_periods.group_by(RIGHT).agg(pl.col("start_date").min().alias("began"))
    open_rights = (
        history.study_rights.filter(
            pl.col("study_right_oid").is_not_null() & pl.col("study_right_type").is_in(sorted(KOSKI_REPORT_TYPES))
        )
        .join(last.filter(pl.col("status") == "lasna"), on=RIGHT)
        .join(began, on=RIGHT)
        .sort(RIGHT)
    )
    plain = (
        open_rights.filter(pl.col("study_right_type") == "ammatillinentutkinto")
        .join(history.additional_periods, on=RIGHT, how="anti")
        .join(history.workplace_periods, on=RIGHT, how="anti")
    )
    year = dt.date(as_of.year, 1, 1)
    before = pl.col("began") < year - dt.timedelta(days=31)
    older = plain.filter(before)[RIGHT].to_list()
    others = [r for r in open_rights.filter(before)[RIGHT] if r not in set(older)]
    newer = plain.filter(pl.col("began").is_between(year + dt.timedelta(days=14), as_of - dt.timedelta(days=60)))
    return older, others, newer[RIGHT].to_list()


def _planted(history: StudyRightHistory, rng: np.random.Generator, as_of: dt.date):
    """KOSKI's world: ``history`` with a difference of each kind (as many kinds as the world has study rights to
    plant them on); its truth; the study right only KOSKI holds."""
    older, others, newer = candidates(history, as_of)
    pool = [older[i] for i in rng.permutation(len(older))] + others
    on = dict(zip(ON_OURS, pool))
    if newer:
        on["start"] = newer[int(rng.integers(len(newer)))]
    day = as_of - dt.timedelta(days=int(rng.integers(60, 120)))
    statuses = history.status_periods.select(RIGHT, "start_date", "status", "funding_code")
    funded = dict(
        statuses.filter(pl.col("start_date") <= day)
        .sort("start_date")
        .group_by(RIGHT, maintain_order=True)
        .last()
        .select(RIGHT, "funding_code")
        .iter_rows()
    )
    began = statuses.filter(pl.col(RIGHT) == on.get("start"))["start_date"].min()
    moved_start = (pl.col(RIGHT) == on["start"]) & (pl.col("start_date") == began) if "start" in on else pl.lit(False)
    added = [(on["end"], day, "eronnut", None)] if "end" in on else []
    if "status" in on:
        added += [(on["status"], day, "loma", funded[on["status"]]),
                  (on["status"], day + dt.timedelta(days=21), "lasna", funded[on["status"]])]  # fmt: skip
    statuses = pl.concat(
        [
            statuses.with_columns(
                pl.when(moved_start)
                .then(pl.col("start_date") + dt.timedelta(days=10))
                .otherwise(pl.col("start_date"))
                .alias("start_date"),
                pl.when(pl.col(RIGHT) == on.get("funding"))
                .then(pl.lit("6"))
                .otherwise(pl.col("funding_code"))
                .alias("funding_code"),
            ),
            pl.DataFrame(added, schema=statuses.schema, orient="row"),
        ]
    )
    periods = [(on["part_time"], PART_TIME, day, None, 60.0)] if "part_time" in on else []
    periods += [(on["period"], "erityinen tuki", day, day + dt.timedelta(days=40), None)] if "period" in on else []
    extras = pl.concat(
        [
            history.additional_periods.select(RIGHT, "period_type", "start_date", "end_date", "value"),
            pl.DataFrame(
                periods,
                schema={RIGHT: pl.Utf8, "period_type": pl.Utf8, "start_date": pl.Date, "end_date": pl.Date,
                        "value": pl.Float64},
                orient="row",
            ),
        ]
    )  # fmt: skip
    rights = history.study_rights.filter(
        pl.col("study_right_oid").is_not_null() & (pl.col(RIGHT) != on.get("only_ours"))
    )
    world = StudyRightHistory(rights, statuses, extras, history.workplace_periods)
    oid = dict(zip(history.study_rights[RIGHT], history.study_rights["study_right_oid"], strict=True))
    extra_oid = "1.2.246.562.15.99999999990"
    kinds = [(k, r) for k, r in on.items() if k != "only_in_koski"]
    kinds += [("only_in_koski", extra_oid)] if "only_in_koski" in on else []
    truth = pl.DataFrame([(r, k) for k, r in kinds], schema={RIGHT: pl.Utf8, "kind": pl.Utf8}, orient="row")
    return world, truth, {"copy_of": on.get("only_in_koski"), "oid": extra_oid,
                          "annulled": oid.get(on.get("annulled_in_koski"))}  # fmt: skip


def _slices(jaksot: list, flagged: dict[str, list], part_time: list) -> list[dict]:
    """One study right's time slices (``koski-bulk.md`` A7): each candidate day within the study right starts one."""
    begin = jaksot[0][0]
    end = jaksot[-1][0] if jaksot[-1][1] in ENDING_STATUSES else OPEN
    days = {j[0] for j in jaksot}
    for a, b, *_ in [p for ps in flagged.values() for p in ps] + part_time:
        days |= {a} | ({b + dt.timedelta(days=1)} if b and b < OPEN else set())
    starts = sorted(d for d in days if begin <= d <= end)
    out, began = [], None
    for first, after in zip(starts, [*starts[1:], None], strict=True):
        _, tila, rahoitus = [j for j in jaksot if j[0] <= first][-1]
        began = began if out and out[-1]["tila"] == tila else first
        covers = [p for p in part_time if p[0] <= first <= (p[1] or OPEN)]
        out.append(
            {
                "alku": first,
                "loppu": after - dt.timedelta(days=1) if after else end,
                "tila": tila,
                "tila_alkanut": began,
                "opiskeluoikeus_paattynyt": tila in ENDING_STATUSES,
                "opintojen_rahoitus": rahoitus,
                "osa_aikaisuus": int(covers[0][2]) if covers else 100,
                **{flag: any(a <= first <= (b or OPEN) for a, b in ps) for flag, ps in flagged.items()},
            }
        )
    # (KOSKI writes every boolean of its row class, false where nothing set it; maksuton and maksullinen stay empty
    # without maksuttomuus periods, and the lukio task code is not a vocational one's)
    unset = {h: False for h in KOSKI_HEADERS["opiskeluoikeus_aikajakso.csv"] if h not in NOT_BOOLEAN}
    return [unset | s for s in out]


def _files(world: StudyRightHistory, extra: dict) -> dict[str, list[dict]]:
    """KOSKI's rows of every study right of ``world`` (and the extra one, and the annulled one)."""
    statuses = world.status_periods.sort(RIGHT, "start_date").partition_by(RIGHT, as_dict=True)
    extras = world.extras().partition_by(RIGHT, as_dict=True)
    files: dict[str, list[dict]] = {"opiskeluoikeus.csv": [], "opiskeluoikeus_aikajakso.csv": [],
                                    "paatason_suoritus.csv": [], "mitatoity_opiskeluoikeus.csv": []}  # fmt: skip
    rows = list(world.study_rights.iter_rows(named=True))
    rows += [r | {"copy": True} for r in rows if r[RIGHT] == extra["copy_of"]]
    for n, right in enumerate(rows, 1):
        copy = right.get("copy", False)
        oid = extra["oid"] if copy else right["study_right_oid"]
        learner = f"1.2.246.562.24.{(99000000000 if copy else 90000000000) + int(right['student_number'] or n)}"
        jaksot = [
            (r["start_date"], r["status"], r["funding_code"]) for r in statuses[(right[RIGHT],)].iter_rows(named=True)
        ]
        periods = extras[(right[RIGHT],)].iter_rows(named=True) if (right[RIGHT],) in extras else []
        flagged: dict[str, list] = {}
        part_time = []
        for p in periods:
            if p["period_type"] == PART_TIME:
                part_time.append((p["start_date"], p["end_date"], p["value"]))
            else:
                flagged.setdefault(FLAG_OF_TYPE[p["period_type"]], []).append((p["start_date"], p["end_date"]))
        if oid == extra["annulled"]:
            files["mitatoity_opiskeluoikeus.csv"].append(
                {"opiskeluoikeus_oid": oid, "versionumero": 4, "aikaleima": dt.datetime(2026, 10, 1, 9, 30, 12, 340000),
                 "oppija_oid": learner, "mitatoity": jaksot[-1][0], "tyyppi": KOULUTUSMUOTO[right["study_right_type"]],
                 "paatason_suoritus_tyypit": f"List({right['study_right_type']})", "oppilaitos_oid": OPPILAITOS,
                 "oppilaitoksen_nimi": "Demo-opisto, Kouvola"}
            )  # fmt: skip
            continue
        last = jaksot[-1]
        files["opiskeluoikeus.csv"].append(
            {
                "opiskeluoikeus_oid": oid,
                "versionumero": 3,
                "aikaleima": dt.datetime(2026, 11, 2, 14, 23, 11, 120000),
                "oppija_oid": learner,
                "oppija_master_oid": learner,
                "oppilaitos_oid": OPPILAITOS,
                "oppilaitos_nimi": "Demo-opisto, Kouvola",
                "oppilaitos_nimi_sv": "Demo-institutet, Kouvola",
                "koulutustoimija_oid": "1.2.246.562.10.99999999900",
                "koulutustoimija_nimi": "Demo-koulutuskuntayhtymä",
                "koulutusmuoto": KOULUTUSMUOTO[right["study_right_type"]],
                "alkamispaiva": jaksot[0][0],
                "paattymispaiva": last[0] if last[1] in ENDING_STATUSES else None,
                "viimeisin_tila": last[1],
                "lisatiedot_henkilostokoulutus": False,
                "lisatiedot_koulutusvienti": False,
                "lahdejarjestelma_koodiarvo": None if copy else "primus",
                "lahdejarjestelma_id": None if copy else right[RIGHT],
                "oppivelvollisuuden_suorittamiseen_kelpaava": False,
                "data": _data(jaksot, None if copy else right[RIGHT]),
            }
        )  # fmt: skip
        files["opiskeluoikeus_aikajakso.csv"] += [
            {"opiskeluoikeus_oid": oid, **s, "id": 0} for s in _slices(jaksot, flagged, part_time)
        ]
        files["paatason_suoritus.csv"].append(
            {
                "paatason_suoritus_id": f"{oid}.{n}",
                "opiskeluoikeus_oid": oid,
                "suorituksen_tyyppi": right["study_right_type"],
                "koulutusmoduuli_koodisto": "koulutus",
                "koulutusmoduuli_koodiarvo": right["koulutus_code"],
                "toimipiste_oid": "1.2.246.562.10.99999999911",
                "toimipiste_nimi": right["campus"],
                "data": "{}",
            }
        )
    return files


def _data(jaksot: list, source_id: str | None) -> str:
    """The ``data`` column: the study right's JSON without what has columns of its own (compact, as KOSKI's)."""
    data = {"tila": {"opiskeluoikeusjaksot": [{"alku": str(a), "tila": {"koodiarvo": t}} for a, t, _ in jaksot]}}
    if source_id:
        data["lähdejärjestelmänId"] = {"id": source_id, "lähdejärjestelmä": {"koodiarvo": "primus"}}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _text(value) -> str:
    """A value as ``CsvFormatter`` writes it: true/false, ISO dates, timestamps without a zone (trailing zeros of the
    fraction dropped), numbers as Java prints them, a string quoted only when it must be."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.datetime):
        text = value.isoformat(timespec="microseconds").rstrip("0").rstrip(".")
        return text if value.microsecond else value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in '"\\,\n') else text


def _write(folder: Path, name: str, rows: list[dict], parts: int) -> list[str]:
    """``name`` as the partitioned format writes it (``.01``, ``.02`` …, the header in the first part only); nothing
    at all for no rows. Returns the file names."""
    if not rows:
        return []
    header = KOSKI_HEADERS[name]
    unquoted = "paatason_suoritus_tyypit"  # (Scala's List toString: never quoted)
    lines = [",".join(header) + "\r\n"] + [
        ",".join(str(r.get(h) or "") if h == unquoted else _text(r.get(h)) for h in header) + "\r\n" for r in rows
    ]
    size = -(-len(lines) // parts)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for number in range(parts):
        names.append(f"{name}.{number + 1:02d}")
        atomic_write_bytes(folder / names[-1], "".join(lines[number * size : (number + 1) * size]).encode("utf-8"))
    return names
