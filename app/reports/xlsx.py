"""Reports as .xlsx workbooks with a native Excel chart (openpyxl): the figures on one sheet, the
chart drawn from those cells, so a manager can re-style or extend it in Excel."""

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from app.core.spreadsheet import inert
from app.reports.schemas import AgingOut, RollRatesOut
from app.reports.service import BUCKETS

MONEY_FORMAT = "#,##0.00"
SHARE_FORMAT = "0.0%"
BUCKET_LABELS = {"current": "正常", "M1": "M1 (1-30天)", "M2": "M2 (31-60天)", "M3": "M3 (61-90天)",
                 "M4+": "M4+ (90天以上)", "closed": "已结清/关闭"}


def _write(ws: Worksheet, rows: Sequence[Sequence[Any]]) -> None:
    for row in rows:
        ws.append([inert(c) for c in row])
    for cells in ws.iter_rows():
        for cell in cells:
            if isinstance(cell.value, Decimal):
                cell.number_format = MONEY_FORMAT
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def aging_xlsx(report: AgingOut) -> tuple[bytes, str]:
    """Sheet 账龄: overdue amount by company (rows) × bucket (columns) and a stacked bar chart of
    it; sheet 明细: every row of the report (the drill-down)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "账龄"
    companies = sorted({r.company_code for r in report.rows})
    amounts: dict[tuple[str, str], Decimal] = {}
    for r in report.rows:
        amounts[(r.company_code, r.bucket)] = amounts.get((r.company_code, r.bucket), Decimal(0)) + (
            r.outstanding_principal if r.bucket == "current" else r.overdue_amount)
    _write(ws, [["账龄分析", report.as_of], ["正常: 未到期本金; 其他: 逾期金额"],
                ["公司", *(BUCKET_LABELS[b] for b in BUCKETS)],
                *([c, *(amounts.get((c, b), Decimal("0.00")) for b in BUCKETS)] for c in companies)])
    if companies:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
        chart.title, chart.y_axis.title = f"账龄分布 {report.as_of}", "金额"
        chart.add_data(Reference(ws, min_col=2, max_col=1 + len(BUCKETS), min_row=3, max_row=3 + len(companies)),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=4, max_row=3 + len(companies)))
        chart.width, chart.height = 22, 12
        ws.add_chart(chart, "H3")
    detail = wb.create_sheet("明细")
    _write(detail, [["公司", "催收员/业务员", "账龄", "合同数", "未还本金", "逾期金额"],
                    *([r.company_code, r.key_name or "", BUCKET_LABELS[r.bucket], r.contracts,
                       r.outstanding_principal, r.overdue_amount] for r in report.rows)])
    return _save(wb), f"aging-{report.as_of}.xlsx"


def roll_rates_xlsx(report: RollRatesOut) -> tuple[bytes, str]:
    """Sheet 迁徙率: the matrix of shares (from bucket × to bucket) with a clustered bar chart;
    sheet 月末账龄: contracts per bucket at each month end with a line chart."""
    wb = Workbook()
    ws = wb.active
    ws.title = "迁徙率"
    targets = [*BUCKETS, "closed"]
    shares = {(c.from_bucket, c.to_bucket): c.share for c in report.matrix}
    _write(ws, [["迁徙率", report.from_, report.to],
                ["月初账龄 \\ 月末账龄", *(BUCKET_LABELS[b] for b in targets)],
                *([BUCKET_LABELS[f], *(shares.get((f, t), 0.0) for t in targets)] for f in BUCKETS)])
    for row in ws.iter_rows(min_row=3, min_col=2):
        for cell in row:
            cell.number_format = SHARE_FORMAT
    chart = BarChart()
    chart.type, chart.title, chart.y_axis.title = "col", f"迁徙率 {report.from_} → {report.to}", "占比"
    chart.add_data(Reference(ws, min_col=2, max_col=1 + len(targets), min_row=2, max_row=2 + len(BUCKETS)),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=2 + len(BUCKETS)))
    chart.width, chart.height = 22, 12
    ws.add_chart(chart, "A10")
    trend = wb.create_sheet("月末账龄")
    months = sorted({p.month_end for p in report.series})
    counts = {(p.month_end, p.bucket): p.contracts for p in report.series}
    _write(trend, [["月末", *(BUCKET_LABELS[b] for b in BUCKETS)],
                   *([m, *(counts.get((m, b), 0) for b in BUCKETS)] for m in months)])
    if months:
        line = LineChart()
        line.title, line.y_axis.title = "月末各账龄合同数", "合同数"
        line.add_data(Reference(trend, min_col=2, max_col=1 + len(BUCKETS), min_row=1, max_row=1 + len(months)),
                      titles_from_data=True)
        line.set_categories(Reference(trend, min_col=1, min_row=2, max_row=1 + len(months)))
        trend.add_chart(line, "H2")
    return _save(wb), f"roll-rates-{report.from_}-{report.to}.xlsx"
