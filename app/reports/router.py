"""Reports (/api/v1/reports/...): JSON for the PC front end's charts; aging and roll rates also as
.xlsx with a native chart (`?format=xlsx` or `Accept: <xlsx>`). Each needs `report.read` and is
limited to the caller's data scope. Thin: parse, call one service function, shape."""

from typing import Annotated

from fastapi import Query, Request, Response

from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.spreadsheet import XLSX_MEDIA_TYPE
from app.core.types import BusinessDate
from app.reports import service, xlsx
from app.reports.permissions import REPORT_READ
from app.reports.schemas import (
    AgingBy,
    AgingOut,
    CollectorPerformanceOut,
    PromisesOut,
    ReportFormat,
    RollRatesOut,
    SalesOut,
)

router = api_router(tags=["reports"])
Reader = Requires(REPORT_READ)
From = Annotated[BusinessDate | None, Query(alias="from", description="First day, YYYY-MM-DD")]
To = Annotated[BusinessDate | None, Query(alias="to", description="Last day, YYYY-MM-DD")]
Format = Annotated[ReportFormat | None, Query(
    alias="format", description="xlsx for a workbook with a chart; default: by the Accept header, else JSON")]
XLSX_RESPONSE = {200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The report (JSON, or .xlsx with a chart)"}}
XLSX_NOTE = " JSON, or an .xlsx workbook with a native chart with `?format=xlsx` or `Accept: " + XLSX_MEDIA_TYPE + "`."


def _wants_xlsx(request: Request, fmt: ReportFormat | None) -> bool:
    return fmt == ReportFormat.XLSX or (fmt is None and XLSX_MEDIA_TYPE in request.headers.get("accept", ""))


def _file(content: bytes, filename: str) -> Response:
    return Response(content, media_type=XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/reports/aging", response_model=AgingOut, operation_id="get_aging_report", responses=XLSX_RESPONSE,
            summary="账龄分析: open receivables by company × bucket, drill-down by collector or salesperson",
            description="Contracts, outstanding principal and overdue amount per company and bucket (current, M1 "
            "1–30, M2 31–60, M3 61–90, M4+ over 90 days past due), as of the business date (the ledger's accounts) "
            "or a past month end (its snapshot); another day answers 422 `report.date_unavailable`. `by=collector` "
            "splits by who holds the case open on the day, `by=salesperson` by the contract's salesperson." + XLSX_NOTE)
async def get_aging(
    session: Session, principal: Reader, request: Request,
    as_of: Annotated[BusinessDate | None, Query(description="The business date (default) or a past month end")] = None,
    by: Annotated[AgingBy, Query(description="Split each company's buckets by collector or salesperson")] = "company",
    fmt: Format = None,
) -> AgingOut | Response:
    report = await service.aging(session, principal, as_of, by)
    return _file(*xlsx.aging_xlsx(report)) if _wants_xlsx(request, fmt) else report


@router.get("/reports/roll-rates", response_model=RollRatesOut, operation_id="get_roll_rates_report",
            responses=XLSX_RESPONSE,
            summary="迁徙率: how each bucket's contracts moved between two month ends, and the month-end trend",
            description="From the month-end bucket snapshots the close of business writes on each month's last "
            "day. `from` and `to` are month ends (default: the last two up to the business date); otherwise 422 "
            "`report.period_invalid`. `series`: contracts and amounts per bucket at the `months` month ends ending "
            "at `to`." + XLSX_NOTE)
async def get_roll_rates(
    session: Session, principal: Reader, request: Request, start: From = None, end: To = None,
    months: Annotated[int, Query(ge=2, le=24, description="Month ends in the trend series")] = 6,
    fmt: Format = None,
) -> RollRatesOut | Response:
    report = await service.roll_rates(session, principal, start, end, months)
    return _file(*xlsx.roll_rates_xlsx(report)) if _wants_xlsx(request, fmt) else report


@router.get("/reports/collector-performance", response_model=CollectorPerformanceOut,
            operation_id="get_collector_performance_report",
            summary="催收员绩效: cases held and contacted, calls, visits, promises, collected, recovery rate",
            description="Per collector over [`from`, `to`] (default: the month to the business date; at most 366 "
            "days, else 422 `report.period_invalid`), counting only the cases they hold that were open in the "
            "period and their own logs and promises on them. The base is what was overdue at the moment of each "
            "case's assignment; collected: payments (not reversed) after the assignment while the case was held; "
            "recovered: the same, capped by the base; recovery rate: recovered ÷ base, within 0–1 (README, "
            "\"Collector KPIs\").")
async def get_collector_performance(session: Session, principal: Reader, start: From = None,
                                    end: To = None) -> CollectorPerformanceOut:
    return await service.collector_performance(session, principal, start, end)


@router.get("/reports/promises", response_model=PromisesOut, operation_id="get_promises_report",
            summary="承诺还款晨报: promises due today and broken yesterday, by collector",
            description="The dispatcher's morning list for `date` (default: the business date).")
async def get_promises(
    session: Session, principal: Reader,
    day: Annotated[BusinessDate | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PROMISE_ITEMS, description="Most items listed")] = 200,
) -> PromisesOut:
    return await service.promises(session, principal, day, limit)


@router.get("/reports/sales", response_model=SalesOut, operation_id="get_sales_report",
            summary="业务员评定: contracts signed, financed amount, customers claimed and secured",
            description="By month, company and salesperson over [`from`, `to`] (default: the year to the business "
            "date; at most three years, else 422 `report.period_invalid`).")
async def get_sales(session: Session, principal: Reader, start: From = None, end: To = None) -> SalesOut:
    return await service.sales(session, principal, start, end)
