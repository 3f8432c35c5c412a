"""What every .xlsx (or CSV) the app writes needs: the media type, and cells safe in any spreadsheet."""

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def inert(cell: Any) -> Any:
    """A cell that is safe in any spreadsheet, whatever was stored (rows older than today's
    validation, or written by other means): characters XML 1.0 cannot carry are dropped (openpyxl
    refuses them and the whole file would fail), and a text cell starting like a formula
    (= + - @, tab, line break) is prefixed with ' so it stays text (formula injection)."""
    if not isinstance(cell, str):
        return cell
    cell = ILLEGAL_CHARACTERS_RE.sub("", cell.encode("utf-8", "replace").decode("utf-8"))
    return ("'" + cell) if cell.startswith(FORMULA_TRIGGERS) else cell
