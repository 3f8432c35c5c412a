"""What every .xlsx (or CSV) the app writes needs: the media type, and cells safe in any spreadsheet."""

import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"


def inert(cell: Any) -> Any:
    """A cell that is safe in any spreadsheet, whatever was stored (rows older than today's
    validation, or written by other means): characters XML 1.0 cannot carry are dropped (openpyxl
    refuses them and the whole file would fail), and a text cell starting like a formula
    (= + - @, tab, line break) is prefixed with ' so it stays text (formula injection)."""
    if not isinstance(cell, str):
        return cell
    cell = ILLEGAL_CHARACTERS_RE.sub("", cell.encode("utf-8", "replace").decode("utf-8"))
    return ("'" + cell) if cell.startswith(FORMULA_TRIGGERS) else cell


def append_rows(ws: Worksheet, rows: Iterable[Sequence[Any]]) -> None:
    """Append the rows, every cell made `inert`, amounts shown as money and dates as dates."""
    for row in rows:
        ws.append([inert(c) for c in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = MONEY_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT


def workbook_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
