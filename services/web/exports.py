"""One export mechanism: a `Table` of figures to CSV and to an Excel workbook.

Every list and statistic the web front offers for download goes through here, so a CSV and an
xlsx of the same table hold the same cells. The workbook is deterministic: the same tables give
the same bytes (fixed document properties and fixed timestamps inside the zip), so a month's
figures can be compared file to file.
"""

import csv
import io
import re
import zipfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

Cell = str | int | float | None
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
SHEET_NAME_LIMIT = 31  # Excel's longest sheet name
FIXED_TIME = datetime(2000, 1, 1)  # the workbook's created/modified: the figures, not the clock
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
WIDEST_COLUMN = 60


@dataclass(frozen=True)
class Table:
    """A titled table: the caption on a page, the sheet of a workbook, the rows of a CSV."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def csv_bytes(table: Table) -> bytes:
    """The table as CSV: a header row, then the rows; UTF-8 with a BOM so Excel reads it right."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(tables: Sequence[Table], title: str) -> bytes:
    """The tables as one workbook, one sheet each (header row in bold, frozen), deterministic."""
    book = Workbook()
    book.remove(book.worksheets[0])
    names: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(sheet_name(table.title, names))
        names.add(sheet.title.lower())
        sheet.append(list(table.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
        for index, width in enumerate(_widths(table), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
    if not tables:
        book.create_sheet("Empty")
    book.properties.title = title
    book.properties.creator = "Quality assurance"
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    return _fixed_times(raw.getvalue())


def sheet_name(title: str, taken: Collection[str] = ()) -> str:
    """A sheet name Excel accepts: no []:*?/\\, no edge apostrophes, at most 31 characters, and
    unlike the (lower-cased) names already `taken` — a clash gets a numbered ending."""
    clean = NOT_IN_SHEET_NAMES.sub("-", " ".join(title.split())).strip("'").strip() or "Sheet"
    name = clean[:SHEET_NAME_LIMIT].rstrip()
    number = 1
    while name.lower() in taken:
        number += 1
        ending = f" ({number})"
        name = clean[: SHEET_NAME_LIMIT - len(ending)].rstrip() + ending
    return name


def csv_response(table: Table, filename: str) -> Response:
    return Response(csv_bytes(table), media_type=CSV_TYPE, headers=_attachment(filename))


def xlsx_response(tables: Sequence[Table], title: str, filename: str) -> Response:
    return Response(xlsx_bytes(tables, title), media_type=XLSX_TYPE, headers=_attachment(filename))


def _attachment(filename: str) -> dict[str, str]:
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", filename)
    return {"Content-Disposition": f'attachment; filename="{safe}"'}


def _widths(table: Table) -> list[int]:
    widths = []
    for index, column in enumerate(table.columns):
        cells = [column, *(row[index] for row in table.rows if index < len(row))]
        longest = max(len("" if cell is None else str(cell)) for cell in cells)
        widths.append(min(WIDEST_COLUMN, longest + 2))
    return widths


def _fixed_times(data: bytes) -> bytes:
    """The same zip with every entry dated alike, so equal contents give equal bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, source.read(entry.filename))
    return out.getvalue()
