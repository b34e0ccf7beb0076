"""KOSKI's bulk files written by KOSKI's own rules (``../shared/spec/koski-bulk.md`` A4–A6, from ``CsvFormatter`` and
``MassaluovutusResultWriter`` in Opetushallitus/koski), not by anything of ours: every column of KOSKI's row classes in
their declaration order, a value quoted only when it holds ``"``, ``\\``, ``,`` or a line break, CRLF after every
record, an empty table not written at all, a partitioned file split between records with the header in part .01 only.
"""

from __future__ import annotations

from pathlib import Path

#: KOSKI's headers (snakecasified Scala field names) in the order of the current row classes
HEADERS = {
    "opiskeluoikeus.csv": (
        "opiskeluoikeus_oid versionumero aikaleima sisaltyy_opiskeluoikeuteen_oid oppija_oid oppija_master_oid "
        "oppilaitos_oid oppilaitos_nimi oppilaitos_nimi_sv oppilaitos_kotipaikka oppilaitosnumero koulutustoimija_oid "
        "koulutustoimija_nimi koulutustoimija_nimi_sv koulutusmuoto alkamispaiva paattymispaiva viimeisin_tila "
        "lisatiedot_henkilostokoulutus lisatiedot_koulutusvienti tuva_jarjestamislupa lahdejarjestelma_koodiarvo "
        "lahdejarjestelma_id oppivelvollisuuden_suorittamiseen_kelpaava data"
    ).split(),
    "opiskeluoikeus_aikajakso.csv": (
        "opiskeluoikeus_oid alku loppu tila tila_alkanut opiskeluoikeus_paattynyt opintojen_rahoitus "
        "erityisen_koulutus_tehtavan_jakso_tehtava_koodiarvo ulkomainen_vaihtoopiskelija majoitus majoitusetu "
        "kuljetusetu sisaoppilaitosmainen_majoitus vaativan_erityisen_tuen_yhteydessa_jarjestettava_majoitus "
        "erityinen_tuki vaativan_erityisen_tuen_erityinen_tehtava hojks vammainen vaikeasti_vammainen "
        "vammainen_ja_avustaja osa_aikaisuus opiskeluvalmiuksia_tukevat_opinnot vankilaopetuksessa "
        "oppisopimus_jossain_paatason_suorituksessa pidennetty_oppivelvollisuus joustava_perusopetus koulukoti "
        "oppimaaran_suorittaja maksuton maksullinen oikeutta_maksuttomuuteen_pidennetty kotiopetus ulkomaanjakso "
        "tuen_paatoksen_jakso opetuksen_jarjestaminen_vamman_sairauden_tai_rajoitteen_perusteella "
        "toiminta_alueittain_opiskelu tavoitekokonaisuuksittain_opiskelu valmistavan_lisaopetus id"
    ).split(),
    "paatason_suoritus.csv": (
        "paatason_suoritus_id opiskeluoikeus_oid suorituksen_tyyppi koulutusmoduuli_koodisto "
        "koulutusmoduuli_koodiarvo koulutusmoduuli_koulutustyyppi koulutusmoduuli_laajuus_arvo "
        "koulutusmoduuli_laajuus_yksikko koulutusmoduuli_nimi tutkinnon_nimi_perusteessa suorituskieli_koodiarvo "
        "oppimaara_koodiarvo alkamispaiva vahvistus_paiva arviointi_arvosana_koodiarvo arviointi_arvosana_koodisto "
        "arviointi_hyvaksytty arviointi_paiva toimipiste_oid toimipiste_nimi toimipiste_nimi_sv "
        "sisaltyy_opiskeluoikeuteen_oid tutkintonimike luokka_tai_ryhma perusteen_diaarinumero jaa_luokalle data"
    ).split(),
    "osasuoritus.csv": (
        "osasuoritus_id ylempi_osasuoritus_id paatason_suoritus_id opiskeluoikeus_oid suorituksen_tyyppi "
        "koulutusmoduuli_koodisto koulutusmoduuli_koodiarvo koulutusmoduuli_laajuus_arvo "
        "koulutusmoduuli_laajuus_yksikko koulutusmoduuli_paikallinen koulutusmoduuli_pakollinen koulutusmoduuli_nimi "
        "koulutusmoduuli_oppimaara_nimi koulutusmoduuli_kieliaine_nimi koulutusmoduuli_kurssin_tyyppi vahvistus_paiva "
        "arviointi_arvosana_koodiarvo arviointi_arvosana_koodisto arviointi_hyvaksytty arviointi_paiva "
        "ensimmainen_arviointi_paiva korotettu_eri_vuonna nayton_arviointi_paiva tunnustettu "
        "tunnustettu_rahoituksen_piirissa luokka_aste data sisaltyy_opiskeluoikeuteen_oid"
    ).split(),
    "mitatoity_opiskeluoikeus.csv": (
        "opiskeluoikeus_oid versionumero aikaleima oppija_oid mitatoity suostumus_peruttu tyyppi "
        "paatason_suoritus_tyypit oppilaitos_oid oppilaitoksen_nimi koulutustoimija_oid koulutustoimijan_nimi"
    ).split(),
}


def formatted(value: str) -> str:
    """``CsvFormatter.formatString``: quoted (``"`` doubled) only when it holds ``"``, ``\\``, ``,`` or ``\\n``."""
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(ch in value for ch in '"\\,\n') else value


def record(values: list[str], unquoted: frozenset[int] = frozenset()) -> str:
    """One record and its CRLF; ``unquoted``: positions written with Scala's ``toString``, never quoted (a List)."""
    return ",".join(v if i in unquoted else formatted(v) for i, v in enumerate(values)) + "\r\n"


def write(folder: Path, name: str, rows: list[dict[str, str]], parts: int = 1) -> list[Path]:
    """``name`` with ``rows`` (KOSKI's header → text; a column not given is empty) as KOSKI writes it: nothing for no
    rows, else one file or ``parts`` parts (``.01``, ``.02`` …), the header in the first only."""
    if not rows:
        return []
    header = HEADERS[name]
    unquoted = (
        frozenset({header.index("paatason_suoritus_tyypit")}) if "paatason_suoritus_tyypit" in header else frozenset()
    )
    lines = [record(header)] + [record([r.get(h, "") for h in header], unquoted) for r in rows]
    folder.mkdir(parents=True, exist_ok=True)
    if parts == 1:
        (folder / name).write_bytes("".join(lines).encode("utf-8"))
        return [folder / name]
    size = -(-len(lines) // parts)
    written = []
    for number in range(parts):
        path = folder / f"{name}.{number + 1:02d}"
        path.write_bytes("".join(lines[number * size : (number + 1) * size]).encode("utf-8"))
        written.append(path)
    return written


# ---- KOSKI's time slices (AikajaksoRowBuilder, koski-bulk.md A7) ----------------------------------------------------

OPEN = "9999-12-31"
#: KOSKI's terminal statuses (Opiskeluoikeus.scala, OpiskeluoikeudenPäättymistila)
TERMINAL = {"eronnut", "hyvaksytystisuoritettu", "katsotaaneronneeksi", "keskeytynyt", "mitatoity", "peruutettu",
            "paattynyt", "valmistunut"}  # fmt: skip


def time_slices(
    oid: str,
    jaksot: list[tuple[str, str, str]],
    lisatiedot: dict[str, list[tuple[str, str | None]]],
    osa_aikaisuus: list[tuple[str, str | None, int]],
) -> list[dict[str, str]]:
    """``opiskeluoikeus_aikajakso.csv``'s rows of one study right, cut as KOSKI's ``AikajaksoRowBuilder`` cuts them.

    ``jaksot``: the opiskeluoikeusjaksot (alku, tila, opintojenRahoitus); ``lisatiedot``: per flag header (majoitus,
    erityinen_tuki, …, oppisopimus_jossain_paatason_suorituksessa) its jaksot (alku, loppu or None); ``osa_aikaisuus``:
    the osaAikaisuusjaksot (alku, loppu, %) in the order listed. ISO dates.
    """
    import datetime as dt

    day = dt.date.fromisoformat
    jaksot = sorted(jaksot)
    start = day(jaksot[0][0])
    end = day(jaksot[-1][0]) if jaksot[-1][1] in TERMINAL else day(OPEN)
    candidates = {day(a) for a, _, _ in jaksot}
    for periods in [*lisatiedot.values(), [(a, b) for a, b, _ in osa_aikaisuus]]:
        for a, b in periods:
            candidates.add(day(a))
            if b is not None and day(b) < day(OPEN):
                candidates.add(day(b) + dt.timedelta(days=1))
    starts = sorted(d for d in candidates if start <= d <= end)
    rows: list[dict[str, str]] = []
    for i, first in enumerate(starts):
        last = starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(starts) else end
        _, tila, rahoitus = [j for j in jaksot if day(j[0]) <= first][-1]
        covering = lambda a, b, on=first: day(a) <= on and (b is None or on <= day(b))  # noqa: E731
        osa = next((p for a, b, p in osa_aikaisuus if covering(a, b)), 100)
        alkanut = rows[-1]["tila_alkanut"] if rows and rows[-1]["tila"] == tila else first.isoformat()
        rows.append(
            {
                "opiskeluoikeus_oid": oid,
                "alku": first.isoformat(),
                "loppu": last.isoformat(),
                "tila": tila,
                "tila_alkanut": alkanut,
                "opiskeluoikeus_paattynyt": str(tila in TERMINAL).lower(),
                "opintojen_rahoitus": rahoitus,
                "osa_aikaisuus": str(osa),
                "id": "0",
                **{flag: str(any(covering(a, b) for a, b in periods)).lower() for flag, periods in lisatiedot.items()},
            }
        )
    # KOSKI writes every boolean of its row class (false where nothing set it); maksuton/maksullinen are empty
    # without maksuttomuus jaksot, and the lukio task code is empty for vocational study rights
    others = {"erityisen_koulutus_tehtavan_jakso_tehtava_koodiarvo", "maksuton", "maksullinen"}
    return [{h: "" if h in others else "false" for h in HEADERS["opiskeluoikeus_aikajakso.csv"]} | r for r in rows]


# ---- KOSKI's student-year report from the time slices (AmmatillinenOpiskalijavuositiedotRaportti, A9) --------------

JULY_EXCLUDED = {"ammatillinentutkinto", "telma", "tuvakoulutuksensuoritus"}
JULY_INCLUDED = {"ammatillinentutkintoosittainen", "tutkinnonosaapienemmistäkokonaisuuksistakoostuvasuoritus",
                 "muuammatillinenkoulutus"}  # fmt: skip


def report_days(slices: list[dict[str, str]], types: set[str], first, last) -> tuple[float, float | None]:
    """One study right's (old formula, current formula) day columns of KOSKI's report for ``first``…``last``, from its
    ``opiskeluoikeus_aikajakso.csv`` rows and its main suoritus types, as ``AmmatillinenRaporttiUtils`` counts them."""
    import datetime as dt

    day = dt.date.fromisoformat
    rows = sorted(
        (max(day(s["alku"]), first), min(day(s["loppu"]), last), s["tila"], day(s["tila_alkanut"]),
         int(s["osa_aikaisuus"]) / 100)
        for s in slices
        if day(s["alku"]) <= last and day(s["loppu"]) >= first
    )  # fmt: skip
    old = 0.0
    for alku, loppu, tila, alkanut, osa in rows:
        days = (loppu - alku).days + 1
        if tila == "lasna":
            old += days * osa
        elif tila == "valmistunut":
            old += days
        elif tila == "loma":
            old += max(min(days, 28 - (alku - alkanut).days), 0) * osa
    excluded = bool(types & JULY_EXCLUDED)
    if not excluded and not types & JULY_INCLUDED:
        return old, None
    new, start = 0.0, dt.date(2023, 7, 1)

    def counted(a, b) -> int:
        a = max(a, start)
        if b < a:
            return 0
        july = sum(
            max((min(b, dt.date(y, 7, 31)) - max(a, dt.date(y, 7, 1))).days + 1, 0) for y in range(a.year, b.year + 1)
        )
        return (b - a).days + 1 - (july if excluded else 0)

    for alku, loppu, tila, _, osa in rows:
        if alku < start and loppu < start:
            continue
        if tila == "lasna":
            new += counted(alku, loppu) * osa
        elif tila == "valmistunut":
            new += counted(alku, loppu)
        elif tila == "katsotaaneronneeksi":
            new += max(counted(alku, loppu) - 1, 0) * osa
        elif tila == "loma" and alku <= dt.date(2025, 12, 31):
            new += counted(alku, min(loppu, dt.date(2025, 12, 31))) * osa
    return old, new
