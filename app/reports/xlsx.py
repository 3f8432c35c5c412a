"""Reports as .xlsx workbooks with a native Excel chart (openpyxl): the figures on one sheet, the
chart drawn from those cells, so a manager can re-style or extend it in Excel."""

from decimal import Decimal

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from app.core.spreadsheet import append_rows, workbook_bytes
from app.reports.schemas import AgingOut, RollRatesOut
from app.reports.service import BUCKETS

SHARE_FORMAT = "0.0%"
BUCKET_LABELS = {"current": "正常", "M1": "M1 (1-30天)", "M2": "M2 (31-60天)", "M3": "M3 (61-90天)",
                 "M4+": "M4+ (90天以上)", "closed": "已结清/关闭"}


def _chart(ws: Worksheet, chart: BarChart | LineChart, *, header_row: int, rows: int, series: int, anchor: str) -> None:
    """Draw `chart` from a table on `ws`: series titles in `header_row` (columns 2…), categories in
    column 1 of the `rows` rows below it."""
    if not rows:
        return
    chart.add_data(Reference(ws, min_col=2, max_col=1 + series, min_row=header_row, max_row=header_row + rows),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + rows))
    chart.width, chart.height = 22, 12
    ws.add_chart(chart, anchor)


def aging_xlsx(report: AgingOut) -> tuple[bytes, str]:
    """Sheet 账龄: by company (rows) × bucket (columns) the outstanding principal of current
    accounts and the overdue amount of the others, and a stacked bar chart of it; sheet 明细: every
    row of the report (the drill-down)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "账龄"
    companies = sorted({r.company_code for r in report.rows})
    amounts: dict[tuple[str, str], Decimal] = {}
    for r in report.rows:
        amounts[(r.company_code, r.bucket)] = amounts.get((r.company_code, r.bucket), Decimal(0)) + (
            r.outstanding_principal if r.bucket == "current" else r.overdue_amount)
    append_rows(ws, [["账龄分析", report.as_of], ["正常: 未到期本金; 其他: 逾期金额"],
                     ["公司", *(BUCKET_LABELS[b] for b in BUCKETS)],
                     *([c, *(amounts.get((c, b), Decimal("0.00")) for b in BUCKETS)] for c in companies)])
    bars = BarChart()
    bars.type, bars.grouping, bars.overlap = "col", "stacked", 100
    bars.title, bars.y_axis.title = f"账龄分布 {report.as_of}", "金额"
    _chart(ws, bars, header_row=3, rows=len(companies), series=len(BUCKETS), anchor="H3")
    detail = wb.create_sheet("明细")
    append_rows(detail, [["公司", "催收员/业务员", "账龄", "合同数", "未还本金", "逾期金额", "未分配款项"],
                         *([r.company_code, r.key_name or "", BUCKET_LABELS[r.bucket], r.contracts,
                            r.outstanding_principal, r.overdue_amount, r.unapplied_credit] for r in report.rows)])
    return workbook_bytes(wb), f"aging-{report.as_of}.xlsx"


def roll_rates_xlsx(report: RollRatesOut) -> tuple[bytes, str]:
    """Sheet 迁徙率: the matrix of shares (bucket at `from` × bucket at `to`) with a clustered bar
    chart; sheet 月末账龄: contracts per bucket at each month end with a line chart."""
    wb = Workbook()
    ws = wb.active
    ws.title = "迁徙率"
    targets = [*BUCKETS, "closed"]
    shares = {(c.from_bucket, c.to_bucket): c.share for c in report.matrix}
    append_rows(ws, [["迁徙率", report.from_, report.to],
                     ["月初账龄 \\ 月末账龄", *(BUCKET_LABELS[b] for b in targets)],
                     *([BUCKET_LABELS[f], *(shares.get((f, t), 0.0) for t in targets)] for f in BUCKETS)])
    for row in ws.iter_rows(min_row=3, min_col=2):
        for cell in row:
            cell.number_format = SHARE_FORMAT
    bars = BarChart()
    bars.type, bars.title, bars.y_axis.title = "col", f"迁徙率 {report.from_} → {report.to}", "占比"
    _chart(ws, bars, header_row=2, rows=len(BUCKETS), series=len(targets), anchor="A10")
    trend = wb.create_sheet("月末账龄")
    months = sorted({p.month_end for p in report.series})
    counts = {(p.month_end, p.bucket): p.contracts for p in report.series}
    append_rows(trend, [["月末", *(BUCKET_LABELS[b] for b in BUCKETS)],
                        *([m, *(counts.get((m, b), 0) for b in BUCKETS)] for m in months)])
    line = LineChart()
    line.title, line.y_axis.title = "月末各账龄合同数", "合同数"
    _chart(trend, line, header_row=1, rows=len(months), series=len(BUCKETS), anchor="H2")
    return workbook_bytes(wb), f"roll-rates-{report.from_}-{report.to}.xlsx"
