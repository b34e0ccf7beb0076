"""The organisation master's quality and speed at a size, against the generator's truth; and its model's training.

    .venv/bin/python benchmarks/organization_matching.py --size national          # precision, recall, seconds
    .venv/bin/python benchmarks/organization_matching.py --size large --seed 2 \\
        --train pipelines/matching/organization_model.json                        # re-estimate the model

The records are read straight from the generated CRM accounts and workplace-learning files
(the matching step's own input, without the rest of the pipeline), so the time printed is the
matching's: features, Splink's blocking and scoring, and the clustering. The shipped model is
trained on another seed than the one the quality is measured on (the default seed 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import polars as pl

import pipelines  # noqa: F401  (first: it sets polars' allocator up before polars loads)
from pipelines.demo_data.export import generate
from pipelines.ingestion.ytj import read_ytj
from pipelines.matching.linkage import train
from pipelines.matching.organization_matching import MatchSettings, resolve, source_records
from pipelines.matching.quality import match_quality
from schemas import crm, student_admin

AS_OF = dt.date(2026, 11, 20)


def _read(path: Path, table, separator: str, encoding: str) -> pl.DataFrame:
    frame = pl.read_csv(path, separator=separator, encoding=encoding, infer_schema=False)
    names = {c.source_header: c.name for c in table.columns if c.source_header in frame.columns}
    return frame.rename(names).select(names.values())


def records(landing: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """The accounts and workplace rows of the landing's CRM and student-administration exports (text columns), and
    PRH's companies where the landing has them."""
    accounts = _read(landing / "crm" / AS_OF.isoformat() / "accounts.csv", crm.ACCOUNTS, ",", "utf8")
    accounts = accounts.with_columns(
        pl.lit(None, pl.Datetime("us", "UTC")).alias("modified_on"), pl.col("employees").cast(pl.Int64, strict=False)
    )
    workplaces = _read(
        landing / "student_admin" / AS_OF.isoformat() / "tyopaikkajaksot.csv",
        student_admin.WORKPLACE_PERIODS,
        ";",
        "windows-1252",
    )
    ytj = landing / "ytj" / AS_OF.isoformat()
    reference = read_ytj(ytj) if ytj.is_dir() else None
    return accounts, workplaces.with_columns(pl.col("workplace_name").str.strip_chars()), reference


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="large", choices=["small", "medium", "large", "national"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--landing", type=Path, help="a landing folder generated earlier (--size and --seed ignored)")
    parser.add_argument("--train", type=Path, help="train the model on this landing and write it here")
    parser.add_argument("--without-ytj", action="store_true", help="leave PRH's company data out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        landing = args.landing or Path(tmp) / "landing"
        if args.landing is None:
            t = time.perf_counter()
            generate(args.size, args.seed, landing, AS_OF, history=False)
            print(f"generate {args.size} (seed {args.seed}): {time.perf_counter() - t:.1f} s")
        accounts, workplaces, reference = records(landing)
        reference = None if args.without_ytj or args.train else reference  # (the model is trained on ours alone)
        settings = MatchSettings()
        t = time.perf_counter()
        found = source_records(accounts, workplaces, settings, reference)
        if args.train:
            train(found, args.train)
            print(f"trained on {found.height:,} records in {time.perf_counter() - t:.1f} s: {args.train}")
            return
        resolution = resolve(found, settings)
        seconds = time.perf_counter() - t
        matches = resolution.records.filter(pl.col("source_system") != "ytj").rename(
            {"organization": "organization_key"}
        )
        truth = pl.read_csv(landing / "truth" / "crm" / AS_OF.isoformat() / "organizations.csv", infer_schema=False)
        quality = match_quality(matches, truth)
        print(
            f"organisation matching: {matches.height:,} source records "
            f"({f'with PRH {reference.height:,} company names' if reference is not None else 'without PRH'}) "
            f"in {seconds:.1f} s; "
            f"precision {quality.precision:.4f}, recall {quality.recall:.4f} "
            f"({quality.true_pairs:,} true same-organisation pairs, {quality.predicted_pairs:,} found, "
            f"{quality.correct_pairs:,} right); review queue {resolution.review.height:,} pairs"
        )


if __name__ == "__main__":
    main()
