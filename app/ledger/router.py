"""Payments, charges and their reversals (/api/v1). Thin: find in scope, call the service, shape."""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Response

from app.contracts import permissions as contract_permissions
from app.core.etag import declares, set_etag, set_location
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, sort_param
from app.core.principal import Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import readable
from app.ledger import facts, service
from app.ledger import permissions as P
from app.ledger import repository as repo
from app.ledger.models import EntryKind, LedgerEntry
from app.ledger.schemas import (
    ChargeIn,
    ChargeKind,
    ChargeOut,
    PaymentIn,
    PaymentOut,
    RefundIn,
    RefundOut,
    ReverseIn,
)

payments_router = api_router(tags=["payments"])
charges_router = api_router(tags=["charges"])
ROUTERS = (payments_router, charges_router)
ContractId = Annotated[uuid.UUID, Path()]
EntryId = Annotated[uuid.UUID, Path()]
# Recorded order; backed by ix_ledger_entry_contract_id_seq (one contract) and the seq key.
SORTS = {"recorded": SortKey("recorded", LedgerEntry.seq)}
Sort = Annotated[SortKey, Depends(sort_param(SORTS, "-recorded"))]
ReadContract = Requires(P.LEDGER_READ, contract_permissions.CONTRACT_READ)


# --- payments ------------------------------------------------------------------------------------

@payments_router.post("/contracts/{contract_id}/payments", response_model=PaymentOut, status_code=201,
                      operation_id="record_payment", dependencies=[Idempotent],
                      summary="Record a payment (allocated by the contract's order; penalty brought up to date)")
@declares(etag=True, location=True)
async def record_payment(session: Session, principal: Requires(P.PAYMENT_RECORD), contract_id: ContractId,
                         body: PaymentIn, response: Response) -> PaymentOut:
    contract = await facts.contract_in_scope(session, principal, contract_id, write=True)
    recorded = await service.record_payment(session, principal, contract, amount=body.amount,
                                            value_date=body.value_date, method=body.method,
                                            reference=body.reference, payer=body.payer, notes=body.notes)
    set_location(response, f"/api/v1/payments/{recorded.entry.id}", await repo.ledger_version(session, contract.id))
    return facts.ContractLedger(contract, [recorded.entry], recorded.state).payment(recorded.entry)


@payments_router.get("/contracts/{contract_id}/payments", response_model=Page[PaymentOut],
                     operation_id="list_contract_payments", summary="A contract's payments, newest first")
async def list_contract_payments(session: Session, principal: ReadContract, contract_id: ContractId, page: PageQuery,
                                 sort: Sort) -> Page[PaymentOut]:
    contract = await facts.contract_in_scope(session, principal, contract_id)
    rows, cursor = await paginate(session, repo.entries_statement(contract.id, EntryKind.PAYMENT), page, sort,
                                  LedgerEntry.id)
    ledger = await facts.ContractLedger.load(session, contract)
    return Page(items=[ledger.payment(e) for e in rows], next_cursor=cursor)


@payments_router.get("/payments/{payment_id}", response_model=PaymentOut, operation_id="get_payment",
                     summary="A payment and its allocation as the ledger stands now")
@declares(etag=True)
async def get_payment(session: Session, principal: ReadContract, payment_id: EntryId,
                      response: Response) -> PaymentOut:
    entry, contract = await facts.entry_in_scope(session, principal, payment_id, EntryKind.PAYMENT)
    ledger = await facts.ContractLedger.load(session, contract)
    set_etag(response, ledger.version)
    return ledger.payment(entry)


@payments_router.post("/payments/{payment_id}/reverse", response_model=PaymentOut, operation_id="reverse_payment",
                      dependencies=[Idempotent],
                      summary="Reverse a payment recorded in error (allocation and penalty recomputed)")
async def reverse_payment(session: Session, principal: Requires(P.PAYMENT_REVERSE), payment_id: EntryId,
                          body: ReverseIn) -> PaymentOut:
    entry, contract = await facts.entry_in_scope(session, principal, payment_id, EntryKind.PAYMENT, write=True)
    await service.reverse_entry(session, principal, contract, entry, reason=body.reason)
    return (await facts.ContractLedger.load(session, contract)).payment(entry)


# --- refunds of unapplied credit ------------------------------------------------------------------

@payments_router.post("/contracts/{contract_id}/refunds", response_model=RefundOut, status_code=201,
                      operation_id="record_refund", dependencies=[Idempotent],
                      summary="Refund unapplied credit to the customer (the only way it leaves the account)")
@declares(etag=True, location=True)
async def record_refund(session: Session, principal: Requires(P.PAYMENT_REFUND), contract_id: ContractId,
                        body: RefundIn, response: Response) -> RefundOut:
    contract = await facts.contract_in_scope(session, principal, contract_id, write=True)
    recorded = await service.refund(session, principal, contract, amount=body.amount, method=body.method,
                                    reason=body.reason, reference=body.reference)
    set_location(response, f"/api/v1/refunds/{recorded.entry.id}", await repo.ledger_version(session, contract.id))
    return facts.ContractLedger(contract, [recorded.entry], recorded.state).refund(recorded.entry)


@payments_router.get("/refunds/{refund_id}", response_model=RefundOut, operation_id="get_refund",
                     summary="A refund of unapplied credit")
@declares(etag=True)
async def get_refund(session: Session, principal: ReadContract, refund_id: EntryId, response: Response) -> RefundOut:
    entry, contract = await facts.entry_in_scope(session, principal, refund_id, EntryKind.REFUND)
    ledger = await facts.ContractLedger.load(session, contract)
    set_etag(response, ledger.version)
    return ledger.refund(entry)


@payments_router.post("/refunds/{refund_id}/reverse", response_model=RefundOut, operation_id="reverse_refund",
                      dependencies=[Idempotent], summary="Reverse a refund recorded in error (the credit returns)")
async def reverse_refund(session: Session, principal: Requires(P.PAYMENT_REFUND), refund_id: EntryId,
                         body: ReverseIn) -> RefundOut:
    entry, contract = await facts.entry_in_scope(session, principal, refund_id, EntryKind.REFUND, write=True)
    await service.reverse_entry(session, principal, contract, entry, reason=body.reason)
    return (await facts.ContractLedger.load(session, contract)).refund(entry)


# --- charges -------------------------------------------------------------------------------------

@charges_router.post("/charges", response_model=ChargeOut, status_code=201, operation_id="post_charge",
                     dependencies=[Idempotent],
                     summary="Post a charge to a contract (GPS service fee, tow cost, freight, rent, other)")
@declares(etag=True, location=True)
async def post_charge(session: Session, principal: Requires(P.CHARGE_POST), body: ChargeIn,
                      response: Response) -> ChargeOut:
    contract = await facts.contract_in_scope(session, principal, body.contract_id, write=True)
    recorded = await service.post_charge(session, principal, contract, kind=body.kind, amount=body.amount,
                                         due_date=body.due_date, description=body.description)
    set_location(response, f"/api/v1/charges/{recorded.entry.id}", await repo.ledger_version(session, contract.id))
    return (await facts.charges_out(session, [recorded.entry]))[0]


@charges_router.get("/charges", response_model=Page[ChargeOut], operation_id="list_charges",
                    summary="Charges the caller may see, newest first")
async def list_charges(session: Session, principal: ReadContract, page: PageQuery, sort: Sort,
                       contract_id: uuid.UUID | None = None, kind: ChargeKind | None = None) -> Page[ChargeOut]:
    stmt = repo.scoped_entries_of_kind(readable(principal, LedgerEntry), EntryKind.CHARGE, contract_id)
    if kind is not None:
        stmt = stmt.where(LedgerEntry.charge_kind == kind)
    rows, cursor = await paginate(session, stmt, page, sort, LedgerEntry.id)
    return Page(items=await facts.charges_out(session, rows), next_cursor=cursor)


@charges_router.get("/charges/{charge_id}", response_model=ChargeOut, operation_id="get_charge",
                    summary="A charge and what is paid of it")
@declares(etag=True)
async def get_charge(session: Session, principal: ReadContract, charge_id: EntryId, response: Response) -> ChargeOut:
    entry, contract = await facts.entry_in_scope(session, principal, charge_id, EntryKind.CHARGE)
    set_etag(response, await repo.ledger_version(session, contract.id))
    return (await facts.charges_out(session, [entry]))[0]


@charges_router.post("/charges/{charge_id}/reverse", response_model=ChargeOut, operation_id="reverse_charge",
                     dependencies=[Idempotent], summary="Reverse a charge posted in error")
async def reverse_charge(session: Session, principal: Requires(P.CHARGE_REVERSE), charge_id: EntryId,
                         body: ReverseIn) -> ChargeOut:
    entry, contract = await facts.entry_in_scope(session, principal, charge_id, EntryKind.CHARGE, write=True)
    await service.reverse_entry(session, principal, contract, entry, reason=body.reason)
    return (await facts.charges_out(session, [entry]))[0]
