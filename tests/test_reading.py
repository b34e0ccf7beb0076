"""Reading files: encodings, delimiters, headers and line numbers, with steward-readable errors."""

import hashlib
import os
import random
import sys
from pathlib import Path

import pytest

from pipelines.ingestion.reading import read_export_file
from schemas.student_admin import ASSESSED_UNITS, STUDENTS, TARGETS
from tests.landing import write_landing


def _students(tmp_path, **kwargs):
    folder = write_landing(tmp_path, **kwargs)
    return folder / STUDENTS.source_file


def test_windows_1252_is_detected_and_characters_survive(tmp_path):
    raw = read_export_file(_students(tmp_path, encoding="cp1252"), STUDENTS)
    assert raw.problem is None and raw.encoding == "cp1252"
    assert "Öberg" in raw.frame["last_name"].to_list() and "Åsa" in raw.frame["first_names"].to_list()


def test_utf8_bom_is_detected(tmp_path):
    path = _students(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    raw = read_export_file(path, STUDENTS)
    assert raw.encoding == "utf-8-sig" and raw.frame["student_number"].to_list() == ["1001", "1002"]


def test_mixed_encodings_name_line_and_character(tmp_path):
    path = _students(tmp_path)
    path.write_bytes(path.read_bytes() + "1003;;;Kivelä;Ä;;;;;;\r\n".encode("cp1252"))
    raw = read_export_file(path, STUDENTS)
    assert raw.problem is not None and raw.problem.line == 4
    assert "opiskelijat.csv, line 4" in str(raw.problem) and "mixes encodings" in str(raw.problem)


def test_wrong_delimiter_is_named(tmp_path):
    path = _students(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(";", ","), encoding="utf-8")
    problem = read_export_file(path, STUDENTS).problem
    assert problem.line == 1 and "','" in problem.message


def test_missing_required_column_names_file_line_and_column(tmp_path):
    path = _students(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("Kotikunta", "Asuinkunta"), encoding="utf-8")
    raw = read_export_file(path, STUDENTS)
    assert str(raw.problem).startswith("opiskelijat.csv, line 1, column Kotikunta:")
    assert raw.rows_read == 0


def test_site_header_mapping(tmp_path):
    path = _students(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("Opiskelijanumero", "Opisk.nro"), encoding="utf-8")
    raw = read_export_file(path, STUDENTS, headers={"student_number": "Opisk.nro"})
    assert raw.problem is None and raw.frame["student_number"].to_list() == ["1001", "1002"]


def test_quoted_newline_keeps_physical_line_numbers_and_ragged_rows_are_kept(tmp_path):
    folder = write_landing(tmp_path)
    path = folder / TARGETS.source_file
    path.write_bytes(b'Vuosi;Opiskelijavuodet\r\n"20\r\n24";1\r\n2025;2;3\r\n2026;4\r\n2027')
    raw = read_export_file(path, TARGETS)
    assert raw.frame["source_line"].to_list() == [2, 5]
    assert raw.rejects["source_line"].to_list() == [4, 6]
    assert raw.rows_read == 4


def test_rejected_lines_keep_their_lines_whatever_the_line_ends(tmp_path):
    """A line the CSV reader rejects is named by the line it is on with LF, CRLF, a BOM, blank lines before it, a
    quoted newline in it and a CR alone (DuckDB reports where it starts one byte late in an LF file)."""
    path = write_landing(tmp_path) / TARGETS.source_file
    for data, rows, rejects in (
        (b'Vuosi;Opiskelijavuodet\n"20\n24";1\n2025\n2026;4\n', [2, 5], [4]),
        (b"\xef\xbb\xbfVuosi;Opiskelijavuodet\r\n2024;1\r\n2025\r\n2026;4\r\n", [2, 4], [3]),
        (b"Vuosi;Opiskelijavuodet\n\n2024;1\n\n2025;2;3\n2026;4\n2\n", [3, 6], [5, 7]),
        (b'Vuosi;Opiskelijavuodet\r\n2024;1\r\n"20\r\n25";2;3\r\n2026;4', [2, 5], [3]),
        (b"Vuosi;Opiskelijavuodet\r2024;1\r2025\r2026;4\r", [2, 4], [3]),
    ):
        path.write_bytes(data)
        raw = read_export_file(path, TARGETS)
        assert raw.problem is None, data
        assert (raw.frame["source_line"].to_list(), raw.rejects["source_line"].to_list()) == (rows, rejects), data


def _assessed_units(count: int, cut_short: set[int]) -> tuple[bytes, list[int], list[int]]:
    """``tutkinnon_osat.csv`` as ``source-exports.md`` has it (``;``, ``"``, CRLF, d.m.yyyy, decimal comma, Finnish
    unit names), a quoted name with a line break in it as its first record and the records in ``cut_short`` ending
    after their name; returns the bytes and the physical lines of the whole and of the cut-short records."""
    rng = random.Random(1)
    names = (
        "Viestintä- ja vuorovaikutusosaaminen",
        "Työturvallisuus",
        "Yhteiskunta- ja työelämäosaaminen",
        "Asiakaspalvelu ja myynti",
        "Matemaattis-luonnontieteellinen osaaminen",
    )
    out = ["Opiskeluoikeus;Tutkinnon osa;Nimi;Laajuus;Arvosana;Arviointipäivä;Tunnustettu\r\n"]
    out.append('OO-100000-1;101113;"Asiakaspalvelu\nja myynti";20,0;4;4.10.2022;E\r\n')
    whole, short = [2], []
    for i in range(count):
        record = f"OO-{100001 + i // 13}-1;{rng.randint(100000, 110000)};{rng.choice(names)}"
        if i in cut_short:
            out.append(record + "\r\n")
            short.append(i + 4)
            continue
        size, grade = rng.choice(("5,0", "10,0", "15,0", "2,5")), rng.randint(1, 5)
        out.append(f"{record};{size};{grade};{rng.randint(1, 28)}.{rng.randint(1, 12)}.2024;E\r\n")
        whole.append(i + 4)
    return "".join(out).encode(), whole, short


@pytest.mark.slow
def test_line_numbers_hold_in_a_large_file_with_a_quoted_newline(tmp_path):
    """Past a quoted newline, DuckDB's parallel reader (2.0.1) counts one line too many from some point of a large
    file: this export's last record, cut short, was named by the line after it (and a national export whose cut-short
    record was its last line was refused whole). Every row and every rejected record keeps the line a text editor
    shows it on."""
    count = 1_200_000
    data, whole, short = _assessed_units(count, {count // 2, count - 1})
    path = write_landing(tmp_path) / ASSESSED_UNITS.source_file
    path.write_bytes(data)
    raw = read_export_file(path, ASSESSED_UNITS)
    assert raw.problem is None
    assert raw.rejects["source_line"].to_list() == short
    assert raw.frame["source_line"].to_list() == whole


def test_empty_file(tmp_path):
    path = _students(tmp_path)
    path.write_bytes(b"")
    assert "empty" in str(read_export_file(path, STUDENTS).problem)


#: the path a test swaps for a link to a file outside the landing folder, at the moment the reader has read the file
#: once and prepares to parse it (Python's audit event of the reader's temporary folder); None = no swap
_SWAP: dict[str, Path | None] = {"path": None, "outside": None}


def _swap_on_parse(event: str, args) -> None:
    if event == "tempfile.mkdtemp" and _SWAP["path"] is not None and "tiedolla-read-" in str(args):
        path, outside, _SWAP["path"] = _SWAP["path"], _SWAP["outside"], None
        path.unlink()
        path.symlink_to(outside)


sys.addaudithook(_swap_on_parse)


def test_a_file_swapped_for_a_link_after_it_was_read_is_never_parsed(tmp_path):
    """The reader checks and hashes the bytes it read; the parse must read those bytes, not open the path again
    (where a link to a file outside the landing folder may now be)."""
    path = _students(tmp_path)
    original = path.read_bytes()
    outside = tmp_path / "outside.csv"
    outside.write_bytes(original.replace(b"Aapo", b"SECRET"))
    _SWAP.update(path=path, outside=outside)
    raw = read_export_file(path, STUDENTS)
    assert _SWAP["path"] is None and path.is_symlink()  # the swap happened
    assert raw.problem is None and raw.sha256 == hashlib.sha256(original).hexdigest()
    assert "SECRET" not in raw.frame.write_csv() and "Aapo" in raw.frame.write_csv()


def test_a_hard_linked_or_linked_export_is_refused(tmp_path):
    path = _students(tmp_path)
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    os.link(outside, path)
    raw = read_export_file(path, STUDENTS)
    assert raw.frame is None and "hard link" in str(raw.problem)
    path.unlink()
    path.symlink_to(outside)
    assert "symbolic link" in str(read_export_file(path, STUDENTS).problem)


def test_a_header_only_file_reads_as_no_rows_and_says_so(tmp_path):
    path = tmp_path / "tavoitteet.csv"
    path.write_text("Vuosi;Opiskelijavuodet\r\n", encoding="utf-8")
    raw = read_export_file(path, TARGETS)
    assert raw.problem is None and raw.frame.height == 0
    assert raw.notices == ["tavoitteet.csv: the file has its header row but no rows: is the export complete?"]


def test_a_pipe_named_like_an_export_is_refused_at_once_not_waited_on(tmp_path):
    """A FIFO in place of opiskelijat.csv: opening it for reading would wait for a writer forever (holding the run's
    lock); it is refused as not a regular file, in a second."""
    import threading

    path = _students(tmp_path)
    path.unlink()
    os.mkfifo(path)
    outcome = {}
    reader = threading.Thread(target=lambda: outcome.update(raw=read_export_file(path, STUDENTS)), daemon=True)
    reader.start()
    reader.join(timeout=30)  # (a guard against the hang itself: the refusal takes milliseconds)
    assert not reader.is_alive(), "the reader waits on the pipe"
    assert outcome["raw"].frame is None and "not a regular file" in str(outcome["raw"].problem)


def _lines_one_byte_at_a_time(data: bytes) -> tuple[list[int], list[bool], list[int]]:
    """The rule of ``logical_line_map`` walked byte by byte: a line ends at LF, at CRLF or at a CR alone; a record ends
    at a line end outside quotes; a record is blank when a line end (or the end of the file) is where it starts."""
    physical, blank, line, inside, start, starts = [1], [], 1, False, 0, [0]
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == ord('"'):
            inside = not inside
        end = byte == 10 or byte == 13
        if end:
            blank_here = start == i
            if byte == 13 and i + 1 < len(data) and data[i + 1] == 10:
                i += 1
            line += 1
            if not inside:
                blank.append(blank_here)
                physical.append(line)
                start = i + 1
                starts.append(start)
        i += 1
    blank.append(start >= len(data) or data[start] in (10, 13))
    return physical, blank, starts


def test_line_numbers_follow_every_kind_of_line_end_and_quoted_newlines():
    """The vectorised scan against the rule walked byte by byte, on every short text of line ends, quotes and
    fields (LF, CRLF, a CR alone, a newline inside quotes, blank lines)."""
    import itertools

    import numpy as np

    from pipelines.ingestion.lines import logical_line_map

    pieces = (b"a", b'"', b"\n", b"\r", b"\r\n", b";")
    for size in range(6):
        for parts in itertools.product(pieces, repeat=size):
            data = b"".join(parts)
            physical, blank, starts = logical_line_map(data)
            expected_physical, expected_blank, expected_starts = _lines_one_byte_at_a_time(data)
            assert physical.tolist() == expected_physical and np.asarray(blank).tolist() == expected_blank, data
            assert starts.tolist() == expected_starts, data


def test_a_line_ending_otherwise_than_the_rest_loses_no_row(tmp_path):
    """A CR LF export with one line ending in LF alone (a line edited in a text editor): DuckDB's strict reader stops
    at it with no line named, so the whole file would be lost; every row is read, on its line, and the steward is
    told. A line feed inside quotes is no such line: that file is read as it always was, with no notice."""
    path = write_landing(tmp_path) / TARGETS.source_file
    path.write_bytes(b"Vuosi;Opiskelijavuodet\r\n2024;1\n2025;2\r\n2026\r\n2027;4\r\n")
    raw = read_export_file(path, TARGETS)
    assert raw.problem is None
    assert raw.frame["source_line"].to_list() == [2, 3, 5] and raw.rejects["source_line"].to_list() == [4]
    assert any("LF alone" in notice for notice in raw.notices)
    path.write_bytes(b'Vuosi;Opiskelijavuodet\r\n"20\n24";1\r\n2025;2\r\n')
    raw = read_export_file(path, TARGETS)
    assert raw.frame["source_line"].to_list() == [2, 4] and not raw.notices
