"""Late recording: what an export did not know yet on its date, measured against a later export.

Staff record a drop-out weeks after the fact, so on any export date some study rights still show
``lasna`` although they have ended, and the latest months' student-years are too high. The forecast
measures both on an earlier export from the landing folder (one old enough that what it missed has
been recorded since) against the current one:

- the *phantom share*: of the study rights ``lasna`` on the earlier export's date in that export, the
  share the current export shows ended by then;
- the *revision* of each of the months up to the earlier export's date: the month's student-years in the
  current export over the same month in the earlier one, by how many months before that date it lies;
- the study rights one export counts and the other holds back (``lost`` and ``gained``): a study right held back
  for a defect is counted again once the record is corrected, one counted may be annulled or held back since.
  Their student-years of the year before the earlier export's date, as shares of what that export counted. Late
  recording's two measures above are taken on the study rights both exports count, which these would otherwise
  swamp.

The forecast then starts from the current export as if those had been recorded (``forecast.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.ingestion.landing import Landing
from pipelines.ingestion.problems import FileProblem
from pipelines.marts.student_year_history import CannotCalculate, HistoryReader, history_as_of
from pipelines.marts.student_years import NUMBER, PRESENT, RIGHT, Calculation, StudyRightHistory
from schemas.codes import ENDING_STATUSES

#: an earlier export is measured when it is at least this old: eronnut and katsotaaneronneeksi are recorded within
#: three months (``docs/architecture/student_year_forecast.md``)
SETTLED_DAYS = 91
#: how many months before the earlier export's date are revised (older months no longer move)
REVISED_MONTHS = 4


@dataclass(frozen=True)
class LateRecording:
    measured_on: dt.date | None = None  # the earlier export's date; None when no export was old enough
    lasna: int = 0  # study rights lasna on that date in that export
    phantoms: int = 0  # of them, those the current export shows ended by then
    #: months before the measured month (0 = the month of the date itself, up to the date) → current / earlier
    revision: dict[int, float] = field(default_factory=dict)
    #: of the student-years the earlier export counted in the year to its date, the share on study rights the
    #: current one does not count (held back since, or annulled)
    lost: float = 0.0
    #: the student-years of the same days the current export counts on study rights the earlier one did not (held
    #: back then and corrected since, or recorded late), as a share of what the earlier export counted
    gained: float = 0.0

    @property
    def turnover(self) -> float:
        """The share of a year's student-years that may count in one export and not in a later one, either way."""
        return self.lost + self.gained

    @property
    def phantom_share(self) -> float:
        return self.phantoms / self.lasna if self.lasna else 0.0

    def factor(self, months_back: int) -> float:
        """The revision to apply to a month lying ``months_back`` months before the as-of month."""
        return self.revision.get(months_back, 1.0)


NOTHING_MEASURED = LateRecording()


def _status_on(history: StudyRightHistory, day: dt.date) -> pl.DataFrame:
    """study_right_id → its status on ``day`` (its last status period starting on or before it)."""
    return (
        history.status_periods.filter(pl.col("start_date") <= day)
        .sort(RIGHT, "start_date")
        .group_by(RIGHT, maintain_order=True)
        .agg(pl.col("status").last())
    )


def _by_month(history: StudyRightHistory, first: dt.date, last: dt.date) -> dict[dt.date, float]:
    pieces = Calculation.of(history, first, last).pieces
    return dict(
        pieces.group_by(pl.col("piece_start").dt.month_start())
        .agg(pl.col("student_year_days_current").fill_null(0.0).sum())
        .iter_rows()
    )


def _by_right(history: StudyRightHistory, first: dt.date, last: dt.date) -> pl.DataFrame:
    """study_right_id → its student-year days from ``first`` to ``last``."""
    pieces = Calculation.of(history, first, last).pieces
    return (
        pieces.join(history.numbers, on=NUMBER)
        .group_by(RIGHT)
        .agg(pl.col("student_year_days_current").fill_null(0.0).sum().alias("days"))
    )


def _counted_elsewhere(current: StudyRightHistory, earlier: StudyRightHistory, on: dt.date) -> tuple[float, float]:
    """(lost, gained): the year to ``on`` on the study rights only one of the two exports counts (``LateRecording``)."""
    first = (dt.date(on.year - 1, on.month, 1) + dt.timedelta(days=31)).replace(day=1)  # twelve months to ``on``
    then, now = _by_right(earlier, first, on), _by_right(current, first, on)
    base = then["days"].sum()
    if not base:
        return 0.0, 0.0
    lost = then.join(now, on=RIGHT, how="anti")["days"].sum()
    gained = now.join(then, on=RIGHT, how="anti")["days"].sum()
    return lost / base, gained / base


def measure(current: StudyRightHistory, earlier: StudyRightHistory, on: dt.date) -> LateRecording:
    """Late recording of the export dated ``on`` (``earlier``), against ``current``: the phantoms and revisions on
    the study rights both count (one held back in either export would otherwise move the figures by far more than
    late recording does), and apart from them what only one of them counts."""
    lost, gained = _counted_elsewhere(current, earlier, on)
    both = earlier.study_rights.join(current.study_rights, on=RIGHT, how="semi")[RIGHT]
    earlier, current = earlier.only(both), current.only(both)
    was_lasna = _status_on(earlier, on).filter(pl.col("status") == PRESENT).select(RIGHT)
    phantoms = was_lasna.join(
        _status_on(current, on).filter(pl.col("status").is_in(sorted(ENDING_STATUSES))), on=RIGHT, how="semi"
    )
    first = (on.replace(day=1) - dt.timedelta(days=31 * (REVISED_MONTHS - 1))).replace(day=1)
    then, now = _by_month(earlier, first, on), _by_month(current, first, on)
    revision = {}
    for month, figure in then.items():
        back = (on.year - month.year) * 12 + on.month - month.month
        if figure > 0 and back < REVISED_MONTHS:
            revision[back] = now.get(month, 0.0) / figure
    return LateRecording(on, was_lasna.height, phantoms.height, revision, lost, gained)


def from_landing(
    landing: Landing,
    current: StudyRightHistory,
    as_of: dt.date,
    histories: dict[Path, StudyRightHistory] | None = None,
    read: HistoryReader = history_as_of,
) -> LateRecording:
    """Late recording measured on the newest export at least ``SETTLED_DAYS`` older than ``as_of`` in the landing
    folder, as a run on that export's date read it; nothing measured when there is none or it cannot be read.
    ``histories`` caches exports read before."""
    settled = as_of - dt.timedelta(days=SETTLED_DAYS)
    older = [p for p in landing.exports(landing.records_source()) if dt.date.fromisoformat(p.name) <= settled]
    if not older:
        return NOTHING_MEASURED
    folder, cache = older[-1], histories if histories is not None else {}
    try:
        if folder not in cache:
            cache[folder], _ = read(landing.known_on(dt.date.fromisoformat(folder.name)))
    except (FileProblem, CannotCalculate):  # an old export that cannot be read: the forecast goes on without it
        return NOTHING_MEASURED
    return measure(current, cache[folder], dt.date.fromisoformat(folder.name))
