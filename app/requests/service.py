"""The money requests' rules: who may file one (the contract in their scope, or a collector's open
case), the figures they are judged on, and their effects on approval, each applied once in the
approving transaction (the engine runs `on_approved` once; a raised error rolls everything back).

- interest waiver: never above the contract's unpaid penalty, checked when it is filed, when it is
  submitted and at every approving step (409 `waiver.amount_exceeds_penalty`: a payment lowers the
  penalty at any time); posted with `ledger.post_waiver`, whose own rule refuses it the same way;
- settlement: the payoff must be 0.00 at the approving moment (409 `settlement.balance_not_zero`);
  then `ledger.settle`, the contract `settled`, its open case closed `settled`; the release of the
  invoice and the certificate of conformity is recorded afterwards, once;
- GPS service fee: posted once as a `gps_fee` charge."""

import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import registry
from app.approvals import requests as kit
from app.collection import cases as collection_cases
from app.collection import repository as collection_repo
from app.contracts import repository as contracts_repo
from app.contracts.errors import ContractNotFound
from app.contracts.models import Contract, ContractState
from app.contracts.service import transition
from app.core import audit
from app.core.db import utcnow
from app.core.principal import Principal
from app.ledger import repository as ledger_repo
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.ledger.errors import WaiverExceedsPenalty
from app.ledger.models import LedgerAccount
from app.requests.errors import (
    GpsFeeMachineNotOfContract,
    RequestContractNotActive,
    SettlementAlreadyReleased,
    SettlementBalanceNotZero,
    SettlementNotApproved,
)
from app.requests.models import ContractRequest, GpsFeeRequest, InterestWaiver, SettlementRequest
from app.requests.schemas import SettlementReleaseIn
from app.towing import service as towing

ZERO = Decimal("0.00")


# --- the contract a request is about ------------------------------------------------------------

async def contract_of(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    """The contract if the caller's scope covers it, or they hold its open case; 404 otherwise."""
    contract = await collection_repo.contract_in_reach(session, principal, contract_id)
    if contract is None:
        raise ContractNotFound("The contract does not exist or is not in your scope.")
    return contract


async def account_of(session: AsyncSession, contract: Contract, *, resync: bool = True) -> LedgerAccount:
    """The contract's ledger account, brought to its business date when `resync` (a writing caller)."""
    if contract.state != ContractState.ACTIVE:
        raise RequestContractNotActive(f"The contract {contract.number} is {contract.state}.")
    if resync:
        await ledger.resync(session, contract)
    account = await ledger_repo.account(session, contract.id)
    if account is None:
        raise RequestContractNotActive(f"The contract {contract.number} has no receivable.")
    return account


async def waiver_form(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> dict[str, Any]:
    contract = await contract_of(session, principal, contract_id)
    account = await account_of(session, contract, resync=False)  # a GET: the stored figures
    return {"contract_id": contract.id, "unpaid_penalty": account.unpaid_penalty, "dpd": account.dpd,
            "bucket": account.bucket, "payoff": account.payoff}


# --- creating and submitting --------------------------------------------------------------------

async def _figures(session: AsyncSession, request: ContractRequest, contract: Contract) -> None:
    """What the request is judged on, as of now: the waiver's penalty, DPD and bucket."""
    account = await account_of(session, contract)
    if isinstance(request, InterestWaiver):
        request.unpaid_penalty, request.dpd, request.bucket = account.unpaid_penalty, account.dpd, account.bucket


async def _checked(session: AsyncSession, contract: Contract, fields: dict[str, Any], model: type) -> None:
    if model is GpsFeeRequest:
        machines = (await contracts_repo.machines_of(session, [contract.id])).get(contract.id, [])
        if fields["machine_id"] not in {m.id for m in machines}:
            raise GpsFeeMachineNotOfContract("The machine is not one of the contract's.",
                                             errors=[{"pointer": "/machine_id", "message": "not of the contract"}])


async def create(session: AsyncSession, actor: Principal, kind: kit.RequestKind[Any],
                 data: BaseModel) -> tuple[ContractRequest, bool]:
    """A draft (or, with `submit`, a submitted request) of the caller's about a contract they may
    file for, in the contract's company. The caller's repeated `client_ref` returns their first record."""
    fields = data.model_dump(exclude={"client_ref", "submit"})
    contract = await contract_of(session, actor, fields["contract_id"])
    account = await account_of(session, contract)
    await _checked(session, contract, fields, kind.model)
    if kind.model is InterestWaiver:
        fields.update(unpaid_penalty=account.unpaid_penalty, dpd=account.dpd, bucket=account.bucket)
    request, created = await kit.create(
        session, actor, kind, fields, body=data,
        company_id=contract.company_id, and_submit=data.submit)  # type: ignore[attr-defined]
    if created and isinstance(request, InterestWaiver):  # a retry answers its stored request, as filed
        _within_penalty(request, account.unpaid_penalty)
    return request, created


async def submit(session: AsyncSession, actor: Principal, kind: kit.RequestKind[Any],
                 request: ContractRequest) -> ContractRequest:
    """Refresh the figures the flows judge (DPD, bucket, penalty), then hand over to the engine."""
    if (request.status, "submit") in kit.TRANSITIONS:
        contract = await contract_of(session, actor, request.contract_id)
        await _figures(session, request, contract)
        await session.flush()
    return await kit.submit(session, actor, kind, request)


# --- a waiver stands while the penalty covers it -------------------------------------------------

def _within_penalty(waiver: InterestWaiver, unpaid_penalty: Decimal) -> None:
    if waiver.amount > unpaid_penalty:
        raise WaiverExceedsPenalty(
            f"The waiver of {waiver.amount:.2f} exceeds the contract's unpaid penalty of {unpaid_penalty:.2f}.",
            status=409, extra={"unpaid_penalty": f"{unpaid_penalty:.2f}"})


async def waiver_submitted(ctx: registry.EffectContext, waiver: InterestWaiver) -> None:
    # The penalty was read for this submission (`create`, `submit` refresh the figures).
    _within_penalty(waiver, waiver.unpaid_penalty)


async def waiver_approving(ctx: registry.EffectContext, waiver: InterestWaiver) -> None:
    """Before each approval: the penalty now, brought to the business date (payments lower it)."""
    contract = await _locked_contract(ctx, waiver)
    _within_penalty(waiver, (await account_of(ctx.session, contract)).unpaid_penalty)


# --- effects on approval ------------------------------------------------------------------------

async def _locked_contract(ctx: registry.EffectContext, request: ContractRequest) -> Contract:
    contract = await contracts_repo.lock_contract(ctx.session, request.contract_id)
    assert contract is not None  # the request cascades with its contract
    return contract


async def waiver_approved(ctx: registry.EffectContext, waiver: InterestWaiver) -> None:
    contract = await _locked_contract(ctx, waiver)
    try:
        await ledger.post_waiver(ctx.session, ctx.actor, contract, amount=waiver.amount,
                                 reason=f"利息减免 {waiver.id}: {waiver.reason}")
    except WaiverExceedsPenalty as error:
        # The penalty fell since submission (a payment came in): the approval is refused as a
        # conflict with the current state, and the transaction rolls back.
        raise WaiverExceedsPenalty(error.detail, status=409) from error


async def settlement_submitted(ctx: registry.EffectContext, request: SettlementRequest) -> None:
    contract = await _locked_contract(ctx, request)
    request.payoff_at_submission = (await account_of(ctx.session, contract)).payoff


async def settlement_approved(ctx: registry.EffectContext, request: SettlementRequest) -> None:
    contract = await _locked_contract(ctx, request)
    account = await account_of(ctx.session, contract)
    if account.payoff != ZERO:
        raise SettlementBalanceNotZero(f"The payoff of {contract.number} is {account.payoff:.2f}, not 0.00.")
    await ledger.settle(ctx.session, ctx.actor, contract, reason=f"结清申请 {request.id}")
    before = audit.snapshot(contract, "state")
    transition(contract, "settle")
    await ctx.session.flush()
    audit.record(ctx.session, ctx.actor, "contract.settle", "contract", contract.id, company_id=contract.company_id,
                 before=before, after=audit.snapshot(contract, "state"))
    await collection_cases.close_settled(ctx.session, ctx.actor, contract.id,
                                         await business_today(ctx.session, contract.company_id))
    await towing.cancel_tasks_of_contract(ctx.session, contract.id, reason=f"结清申请 {request.id} 已批准")


async def gps_fee_approved(ctx: registry.EffectContext, request: GpsFeeRequest) -> None:
    if request.charge_entry_id is not None:  # posted once
        return
    contract = await _locked_contract(ctx, request)
    recorded = await ledger.post_charge(
        ctx.session, ctx.actor, contract, kind="gps_fee", amount=request.amount,
        due_date=await business_today(ctx.session, contract.company_id),
        description=f"GPS服务费 ({request.kind}) {request.period_from}–{request.period_to}")
    request.charge_entry_id = recorded.entry.id
    await ctx.session.flush()


# --- the release of the documents after a settlement --------------------------------------------

async def release(session: AsyncSession, actor: Principal, request: SettlementRequest,
                  data: SettlementReleaseIn) -> SettlementRequest:
    if request.status != kit.RequestStatus.APPROVED:
        raise SettlementNotApproved("The documents are released only after the settlement is approved.")
    if request.released_at is not None:
        raise SettlementAlreadyReleased("The documents were already released.")
    request.released_documents = list(data.documents)
    request.released_to, request.released_on = data.recipient, data.released_on
    request.released_by_id, request.released_at = actor.user_id, utcnow()
    await session.flush()
    audit.record(session, actor, "settlement_request.released", "settlement_request", request.id,
                 company_id=request.company_id,
                 after=audit.snapshot(request, "released_documents", "released_to", "released_on", "released_by_id"))
    return request
