"""A KOSKI bulk delivery's files as KOSKI's CSV writer makes them (spec A4–A5, from MassaluovutusResultWriter and
CsvFormatter): split parts, absent files and the unquoted List(...) of the annulled file."""

from __future__ import annotations

import csv
import io

import pytest

from pipelines.ingestion.delivered import delivered, joined, with_lists_joined
from pipelines.ingestion.problems import FileProblem

HEADER = b"opiskeluoikeus_oid,versionumero,aikaleima\r\n"
ROW_1 = b"1.2.246.562.15.10000000001,3,2026-11-19T14:23:11.12\r\n"
ROW_2 = b"1.2.246.562.15.10000000002,1,2026-11-19T14:23:00\r\n"


def test_parts_are_taken_in_number_order_and_joined_with_the_header_of_the_first_only(tmp_path):
    for number, data in ((1, HEADER + ROW_1), (2, ROW_2), (10, ROW_1)):
        (tmp_path / f"opiskeluoikeus.csv.{number:02d}").write_bytes(data)
    for number in range(3, 10):
        (tmp_path / f"opiskeluoikeus.csv.{number:02d}").write_bytes(b"")
    found = delivered(tmp_path, "opiskeluoikeus.csv")
    assert [p.name for p in found.parts][:3] == [
        "opiskeluoikeus.csv.01",
        "opiskeluoikeus.csv.02",
        "opiskeluoikeus.csv.03",
    ]
    assert found.parts[-1].name == "opiskeluoikeus.csv.10"  # (10 after 09, not after 01)
    assert joined([p.read_bytes() for p in found.parts]) == HEADER + ROW_1 + ROW_2 + ROW_1


def test_a_file_not_written_is_an_absent_table_and_a_whole_file_is_one_part(tmp_path):
    assert delivered(tmp_path, "osasuoritus.csv").absent
    (tmp_path / "opiskeluoikeus.csv").write_bytes(HEADER + ROW_1)
    assert [p.name for p in delivered(tmp_path, "opiskeluoikeus.csv").parts] == ["opiskeluoikeus.csv"]


@pytest.mark.parametrize(
    ("names", "said"),
    [
        (["opiskeluoikeus.csv.01", "opiskeluoikeus.csv.03"], "missing: .02"),
        (["opiskeluoikeus.csv.02"], "missing: .01"),
        (["opiskeluoikeus.csv", "opiskeluoikeus.csv.01"], "both whole and in parts"),
    ],
)
def test_an_incomplete_or_doubled_delivery_is_a_file_problem(tmp_path, names, said):
    for name in names:
        (tmp_path / name).write_bytes(HEADER)
    with pytest.raises(FileProblem, match=said):
        delivered(tmp_path, "opiskeluoikeus.csv")


def test_a_part_cut_inside_a_line_is_a_file_problem():
    with pytest.raises(FileProblem, match="middle of a line"):
        joined([HEADER + ROW_1[:10], ROW_1[10:]])


def test_the_annulled_files_unquoted_list_of_several_types_is_one_field_again():
    """KOSKI writes Scala's List(...) with toString, unquoted: two suoritus types give the line one field more."""
    header = (
        "opiskeluoikeus_oid,versionumero,aikaleima,oppija_oid,mitatoity,suostumus_peruttu,tyyppi,"
        "paatason_suoritus_tyypit,oppilaitos_oid,oppilaitoksen_nimi,koulutustoimija_oid,koulutustoimijan_nimi"
    )
    one = (
        "1.2.246.562.15.1,2,2026-01-05T10:00:00,1.2.246.562.24.1,2026-01-05,,ammatillinenkoulutus,"
        "List(ammatillinentutkinto),1.2.246.562.10.1,Testiopisto,1.2.246.562.10.2,Testikuntayhtymä"
    )
    two = (
        "1.2.246.562.15.2,4,2026-02-05T10:00:00,1.2.246.562.24.2,2026-02-05,,ammatillinenkoulutus,"
        'List(ammatillinentutkinto, telma),1.2.246.562.10.1,"Opisto, Kotka",1.2.246.562.10.2,Testikuntayhtymä'
    )
    text = with_lists_joined("\r\n".join([header, one, two, ""]), "paatason_suoritus_tyypit")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [len(r) for r in rows] == [12, 12] and None not in rows[1]
    assert [r["paatason_suoritus_tyypit"] for r in rows] == [
        "List(ammatillinentutkinto)",
        "List(ammatillinentutkinto, telma)",
    ]
    assert rows[1]["oppilaitoksen_nimi"] == "Opisto, Kotka" and rows[1]["koulutustoimijan_nimi"] == "Testikuntayhtymä"
