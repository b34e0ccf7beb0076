"""The review queue of the organisation master as a list a steward works through in Excel.

One row per doubtful pair, most probable first: both records side by side (system, name,
Y-tunnus, place, organisation key), the match probability and why (each comparison's level,
in the steward's language), and the ``tiedolla decide-match`` command that settles it. The
same CSV conventions as the correction lists (UTF-8 with a BOM, every field quoted, formula
starts neutralised).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from pipelines.files import atomic_write_bytes
from pipelines.formats import neutralised, number
from pipelines.matching.linkage import COMPARISONS, LABELS_FI

FILES = {"fi": "review_organization_matches.csv", "en": "review_organization_matches.en.csv"}
HEADERS = {
    "fi": ["Pari", "Todennäköisyys", "Miksi", "Järjestelmä A", "Nimi A", "Y-tunnus A", "Paikkakunta A",
           "Organisaatio A", "Järjestelmä B", "Nimi B", "Y-tunnus B", "Paikkakunta B", "Organisaatio B", "Päätös"],
    "en": ["Pair", "Probability", "Why", "System A", "Name A", "Y-tunnus A", "Place A", "Organisation A",
           "System B", "Name B", "Y-tunnus B", "Place B", "Organisation B", "Decision"],
}  # fmt: skip


def why(row: dict, language: str) -> str:
    """Each comparison's level in words: ``nimi: kirjoitusvirhe; Y-tunnus: ei tiedossa; …``."""
    if language == "fi":
        return "; ".join(f"{LABELS_FI[name]}: {LABELS_FI[row[name]]}" for name in COMPARISONS)
    return "; ".join(f"{name.replace('_', ' ')}: {row[name]}" for name in COMPARISONS)


def review_list(review: pl.DataFrame, language: str, systems: dict[str, str]) -> bytes:
    """``systems``: each source system's name in ``language`` (the steward report's)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(HEADERS[language])
    for r in review.sort("match_probability", "pair_id", descending=[True, False]).iter_rows(named=True):
        command = f"tiedolla decide-match {r['pair_id']} same|different --by …"
        writer.writerow(
            [
                neutralised(v)
                for v in (
                    r["pair_id"],
                    number(r["match_probability"], 3, language),
                    why(r, language),
                    systems[r["source_system_a"]],
                    r["source_name_a"],
                    r["business_id_a"],
                    r["city_name_a"],
                    r["organization_key_a"],
                    systems[r["source_system_b"]],
                    r["source_name_b"],
                    r["business_id_b"],
                    r["city_name_b"],
                    r["organization_key_b"],
                    command,
                )
            ]  # fmt: skip
        )
    return buf.getvalue().encode("utf-8-sig")


def write_review_lists(review: pl.DataFrame, folder: Path, systems: dict[str, dict[str, str]]) -> dict[str, str]:
    """The review list in Finnish and English (``systems``: language → system → its name); returns language → file
    name."""
    folder.mkdir(parents=True, exist_ok=True)
    for language, name in FILES.items():
        atomic_write_bytes(folder / name, review_list(review, language, systems[language]), private=True)
    return dict(FILES)
