"""The export mechanism: a Table read back from its CSV and from its workbook, cell for cell."""

import csv
import io
import zipfile

import openpyxl
import pytest

from services.web.exports import (
    SHEET_NAME_LIMIT,
    Table,
    csv_bytes,
    csv_response,
    sheet_name,
    xlsx_bytes,
    xlsx_response,
)

pytestmark = pytest.mark.unit

GRADES = Table(
    "Overall grades by month, county",
    ("Month", "Outstanding", "Good", "Share good"),
    (("2026-10", 3, 7, 0.7), ("2026-11", None, 0, 0.0), ("2026-12", 1, 2, None)),
)
WORDS = Table("Themes, “quoted” — and commas", ("Theme", "Note"), (("voice, of child", 'a "b"'),))


def _read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_a_csv_starts_with_a_bom_and_reads_back_with_empty_cells_for_hidden_numbers() -> None:
    data = csv_bytes(GRADES)
    assert data.startswith(b"\xef\xbb\xbf")
    assert _read_csv(data) == [
        ["Month", "Outstanding", "Good", "Share good"],
        ["2026-10", "3", "7", "0.7"],
        ["2026-11", "", "0", "0.0"],
        ["2026-12", "1", "2", ""],
    ]


def test_a_csv_quotes_commas_quotes_and_keeps_non_ascii_text() -> None:
    assert _read_csv(csv_bytes(WORDS)) == [["Theme", "Note"], ["voice, of child", 'a "b"']]


def test_a_workbook_has_one_sheet_per_table_with_the_same_cells() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([GRADES, WORDS], "Pack")))
    assert len(book.sheetnames) == 2
    grades = book[book.sheetnames[0]]
    assert [list(row) for row in grades.iter_rows(values_only=True)] == [
        ["Month", "Outstanding", "Good", "Share good"],
        ["2026-10", 3, 7, 0.7],
        ["2026-11", None, 0, 0],
        ["2026-12", 1, 2, None],
    ]
    assert grades["A1"].font.bold
    assert grades.freeze_panes == "A2"
    words = book[book.sheetnames[1]]
    assert words["A2"].value == "voice, of child"
    assert book.properties.title == "Pack"


def test_sheet_names_are_cut_to_excels_limit_cleaned_and_kept_apart() -> None:
    long = Table("A" * 40, ("x",), ((1,),))
    other = Table("A" * 40, ("x",), ((2,),))
    odd = Table("Grades: [county] / area?", ("x",), ())
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([long, other, odd], "t")))
    assert book.sheetnames == ["A" * 31, "A" * 27 + " (2)", "Grades- -county- - area-"]
    assert all(len(name) <= SHEET_NAME_LIMIT for name in book.sheetnames)
    assert book[book.sheetnames[1]]["A2"].value == 2
    assert sheet_name("'quoted'") == "quoted"
    assert sheet_name("   ") == "Sheet"
    assert sheet_name("Grades", {"grades"}) == "Grades (2)"


def test_the_same_tables_give_the_same_workbook_bytes_and_different_tables_do_not() -> None:
    first = xlsx_bytes([GRADES, WORDS], "Pack")
    assert first == xlsx_bytes([GRADES, WORDS], "Pack")
    changed = Table(GRADES.title, GRADES.columns, (("2026-10", 4, 7, 0.7),))
    assert first != xlsx_bytes([changed, WORDS], "Pack")
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_an_empty_workbook_still_opens() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([], "Nothing")))
    assert book.sheetnames == ["Empty"]


def test_responses_are_attachments_of_the_right_type() -> None:
    sent = csv_response(GRADES, "grades 2026-10.csv")
    assert sent.media_type == "text/csv; charset=utf-8"
    assert sent.headers["content-disposition"] == 'attachment; filename="grades-2026-10.csv"'
    assert _read_csv(bytes(sent.body))[1] == ["2026-10", "3", "7", "0.7"]
    book = xlsx_response([GRADES], "Grades", "grades.xlsx")
    assert str(book.media_type).endswith("spreadsheetml.sheet")
    assert book.headers["content-disposition"] == 'attachment; filename="grades.xlsx"'
    assert openpyxl.load_workbook(io.BytesIO(bytes(book.body))).sheetnames == [GRADES.title[:31]]
