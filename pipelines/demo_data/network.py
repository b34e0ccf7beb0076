"""A network of fictional providers (``tiedolla generate --providers N``): ``<out>/<provider>/…`` and providers.csv.

Each provider is a whole single-provider landing area of its own, generated with its own seed and a profile of its
own (size, fields, dropout, CRM use), so that comparing them shows something. The first provider has the default
profile: its folder holds what ``tiedolla generate`` writes for a single provider with the same seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from pipelines.demo_data.export import generate
from pipelines.demo_data.profiles import DEFAULT, Profile
from pipelines.files import atomic_write_bytes
from pipelines.ingestion.providers import FILE, HEADERS

#: fictional providers: name, group (region) and profile; koulutus-code prefixes 35 technology, 37 business and
#: services, 374 social and health care, 34 ICT
ARCHETYPES: tuple[tuple[str, str, Profile], ...] = (
    ("Aallokon ammattiopisto", "Etelä", DEFAULT),
    ("Harjuvaaran koulutuskuntayhtymä", "Itä", Profile(scale=0.6, fields=("37",), dropout=1.4, unmanaged_share=0.5)),
    ("Kivikosken ammattiopisto", "Länsi", Profile(scale=1.5, fields=("35",), dropout=0.8, unmanaged_share=0.1)),
    ("Lehtolan aikuisopisto", "Pohjoinen", Profile(scale=0.4, fields=("374",), dropout=1.7, unmanaged_share=0.7)),
    ("Myllyjärven ammattiopisto", "Itä", Profile(scale=1.2, fields=("34",), unmanaged_share=0.2)),
    ("Purolan koulutuskeskus", "Etelä", Profile(scale=2.0, fields=("37", "34"), dropout=1.2, unmanaged_share=0.3)),
    ("Rantalan ammattiopisto", "Länsi", Profile(scale=0.8, fields=("374", "35"), dropout=0.9, unmanaged_share=0.4)),
)


def provider_id(index: int) -> str:
    """A fictional OPH organisation OID (the 9… range no real organisation has)."""
    return f"1.2.246.562.10.{90000000000 + index + 1:011d}"


def generate_network(
    providers: int, size: str, seed: int, out: Path, as_of: dt.date, clean: bool = False, history: bool | None = None
) -> list[str]:
    """Write ``providers`` fictional providers of about ``size`` each; returns their ids in order."""
    if providers < 1:
        raise ValueError("a network has at least one provider")
    rows, ids = [HEADERS], []
    for index in range(providers):
        name, group, profile = ARCHETYPES[index % len(ARCHETYPES)]
        if index >= len(ARCHETYPES):
            name = f"{name} {index // len(ARCHETYPES) + 1}"
        pid = provider_id(index)
        generate(size, seed + 1000 * index, out / pid, as_of, history=history, clean=clean, profile=profile)
        rows.append([pid, name, group])
        ids.append(pid)
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\n").writerows(rows)
    atomic_write_bytes(out / FILE, text.getvalue().encode("utf-8"))
    return ids
