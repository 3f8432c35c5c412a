"""A contract's ledger, read (/api/v1): entries, balance, payoff, statement. Thin: parse, call one
function of `reads`, shape the response. Each needs `contract.read` (the contract is looked up in
the caller's scope: out of scope answers 404 like missing) and `ledger.read`."""

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request, Response

from app.contracts.permissions import CONTRACT_READ
from app.core.pagination import Page, PageParams, SortKey, page_params, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.spreadsheet import XLSX_MEDIA_TYPE
from app.core.types import BusinessDate
from app.ledger import reads
from app.ledger.models import LedgerEntry
from app.ledger.permissions import LEDGER_READ
from app.ledger.read_schemas import BalanceOut, EntryKindName, EntryOut, PayoffOut, StatementOut

router = api_router(tags=["ledger"])
Reader = Requires(CONTRACT_READ, LEDGER_READ)
ContractId = Annotated[uuid.UUID, Path()]
# `seq` is unique and indexed with the contract: the keyset is (seq) alone.
ENTRY_SORTS = {"seq": SortKey("seq", LedgerEntry.seq)}
NOT_SHIPPED = "409 `ledger.contract_not_active` when the contract is not shipped (it has no receivable yet)."


@router.get("/contracts/{contract_id}/ledger", response_model=Page[EntryOut], operation_id="list_contract_ledger",
            summary="The contract's ledger entries, newest first (cursor-paginated)",
            description="Every fact as recorded: instalments falling due, charges, penalty accruals and adjustments, "
            "payments, waivers, settlements, reversals. `reversed_by` names the reversal of a reversed entry. "
            "Empty before the shipment.")
async def list_ledger(
    session: Session, principal: Reader, contract_id: ContractId,
    page: Annotated[PageParams, Depends(page_params)],
    sort: Annotated[SortKey, Depends(sort_param(ENTRY_SORTS, "-seq"))],
    kind: Annotated[EntryKindName | None, Query(description="Only entries of this kind")] = None,
) -> Page[EntryOut]:
    items, cursor = await reads.entries_page(session, principal, contract_id, kind=kind, page=page, sort=sort)
    return Page(items=items, next_cursor=cursor)


@router.get("/contracts/{contract_id}/balance", response_model=BalanceOut, operation_id="get_contract_balance",
            summary="The contract's receivable: outstanding principal, overdue by component, DPD, bucket, payoff",
            description=NOT_SHIPPED)
async def get_balance(session: Session, principal: Reader, contract_id: ContractId) -> BalanceOut:
    return await reads.balance(session, principal, contract_id)


@router.get("/contracts/{contract_id}/payoff", response_model=PayoffOut, operation_id="get_contract_payoff",
            summary="结清金额 on a date (default: the business date) and its parts",
            description="ledger.md \"Payoff\": all unpaid principal, unpaid interest and fees due on or before the "
            "date, all unpaid penalty through it. A later date projects the penalty of the days in between; an "
            "earlier date than the business date answers 422 `ledger.payoff_date_in_past`. " + NOT_SHIPPED)
async def get_payoff(
    session: Session, principal: Reader, contract_id: ContractId,
    on: Annotated[BusinessDate | None, Query(alias="date", description="YYYY-MM-DD, not before the business date")]
    = None,
) -> PayoffOut:
    return await reads.payoff(session, principal, contract_id, on)


@router.get("/contracts/{contract_id}/statement", response_model=StatementOut, operation_id="get_contract_statement",
            summary="A statement: opening balance, the entries of the period with a running balance, closing balance",
            description="JSON, or an .xlsx workbook with `?format=xlsx` or `Accept: " + XLSX_MEDIA_TYPE + "`. "
            "`from` defaults to the shipment (an earlier one starts there), `to` to the day the ledger is posted "
            "through (`as_of` of the balance); `to` after it or before `from` answers 422 "
            "`ledger.statement_period_invalid`. " + NOT_SHIPPED,
            responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The statement (JSON or .xlsx)"}})
async def get_statement(
    session: Session, principal: Reader, contract_id: ContractId, request: Request,
    start: Annotated[BusinessDate | None, Query(alias="from", description="First value date, YYYY-MM-DD")] = None,
    end: Annotated[BusinessDate | None, Query(alias="to", description="Last value date, YYYY-MM-DD")] = None,
    format: Annotated[Literal["json", "xlsx"] | None, Query(  # noqa: A002 - the query parameter's name
        description="xlsx for a workbook; default: by the Accept header, else JSON")] = None,
) -> StatementOut | Response:
    if format == "xlsx" or (format is None and XLSX_MEDIA_TYPE in request.headers.get("accept", "")):
        content, filename = await reads.statement_xlsx(session, principal, contract_id, start, end)
        return Response(content, media_type=XLSX_MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return await reads.statement(session, principal, contract_id, start, end)
