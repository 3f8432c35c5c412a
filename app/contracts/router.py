"""Machines, contracts, investigations and shipments (/api/v1). Thin: parse, call the service,
shape the response."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals.request_routes import RETRIED
from app.contracts import (
    handover,  # noqa: F401 - registers the draft-contract handover hook
    investigations,
    machines,
    service,
    shipments,
    views,
)
from app.contracts import permissions as P
from app.contracts import repository as repo
from app.contracts.errors import ContractNotFound, MachineNotFound, ShipmentNotFound
from app.contracts.models import Contract, Investigation, Machine, ShipmentRequest
from app.contracts.schemas import (
    CloseIn,
    ContractCreate,
    ContractDetail,
    ContractOut,
    ContractUpdate,
    DispatchIn,
    InvestigationOut,
    InvestigationSubmit,
    MachineCategory,
    MachineCreate,
    MachineOut,
    MachineUpdate,
    ScheduleOut,
    ScoringModelIn,
    ScoringModelOut,
    ShipmentOut,
    ShipmentRequestIn,
    State,
    TermsIn,
)
from app.core.etag import check_if_match, declares, matched, set_etag, set_location, tagged
from app.core.idempotency import Idempotent
from app.core.pagination import Page, PageQuery, SortKey, paginate, sort_param
from app.core.principal import Principal, Requires
from app.core.routers import api_router
from app.core.routing import Session
from app.core.scoping import get_readable, get_writable
from app.core.types import BusinessDate, Text
from app.ledger import reads as ledger_reads
from app.ledger.permissions import LEDGER_READ

machines_router = api_router(tags=["machines"])
contracts_router = api_router(tags=["contracts"])
investigations_router = api_router(tags=["investigations"])
shipments_router = api_router(tags=["shipments"])
ROUTERS = (machines_router, contracts_router, investigations_router, shipments_router)
MachineId = Annotated[uuid.UUID, Path()]
ContractId = Annotated[uuid.UUID, Path()]
InvestigationId = Annotated[uuid.UUID, Path()]
ShipmentId = Annotated[uuid.UUID, Path()]
SerialQ = Annotated[Text(60) | None, Query(max_length=60)]

# Each sort is backed by an index ending in (column, id).
MACHINE_SORTS = {"created_at": SortKey("created_at", Machine.created_at),
                 "serial_number": SortKey("serial_number", Machine.serial_number)}
CONTRACT_SORTS = {"created_at": SortKey("created_at", Contract.created_at),
                  "number": SortKey("number", Contract.number)}
INVESTIGATION_SORTS = {"created_at": SortKey("created_at", Investigation.created_at)}
SHIPMENT_SORTS = {"created_at": SortKey("created_at", ShipmentRequest.created_at)}


# --- machines --------------------------------------------------------------------------------------

@machines_router.get("/machines", response_model=Page[MachineOut], operation_id="list_machines",
                     summary="Machines the caller may see")
async def list_machines(
    session: Session, principal: Requires(P.MACHINE_READ), page: PageQuery,
    sort: Annotated[SortKey, Depends(sort_param(MACHINE_SORTS, "-created_at"))],
    company_id: uuid.UUID | None = None, category: MachineCategory | None = None, serial_number: SerialQ = None,
    gps_device_id: SerialQ = None, contract_id: uuid.UUID | None = None,
    unassigned: Annotated[bool | None, Query(description="Only machines on no contract (true) or on one")] = None,
) -> Page[MachineOut]:
    stmt = repo.filtered_machines(principal, repo.MachineFilters(company_id, category, serial_number, gps_device_id,
                                                                 contract_id, unassigned))
    rows, cursor = await paginate(session, stmt, page, sort, Machine.id)
    return Page(items=[MachineOut.model_validate(m) for m in rows], next_cursor=cursor)


@machines_router.post("/machines", response_model=MachineOut, status_code=201, operation_id="create_machine",
                      dependencies=[Idempotent],
                      summary="Register a machine (serial number and GPS id unique in the group)")
@declares(etag=True, location=True)
async def create_machine(session: Session, principal: Requires(P.MACHINE_MANAGE), body: MachineCreate,
                         response: Response) -> MachineOut:
    machine = await machines.create_machine(session, principal, body)
    set_location(response, f"/api/v1/machines/{machine.id}", machine.version)
    return MachineOut.model_validate(machine)


@machines_router.get("/machines/{machine_id}", response_model=MachineOut, operation_id="get_machine",
                     summary="Get a machine")
@declares(etag=True)
async def get_machine(session: Session, principal: Requires(P.MACHINE_READ), machine_id: MachineId,
                      response: Response) -> MachineOut:
    return MachineOut.model_validate(tagged(response, await repo.get_machine(session, principal, machine_id)))


@machines_router.patch("/machines/{machine_id}", response_model=MachineOut, operation_id="update_machine",
                       summary="Edit a machine's identification (If-Match)")
@declares(etag=True, if_match=True)
async def update_machine(session: Session, principal: Requires(P.MACHINE_MANAGE), machine_id: MachineId,
                         body: MachineUpdate, request: Request, response: Response) -> MachineOut:
    machine = matched(request, await get_writable(session, principal, Machine, machine_id, code=MachineNotFound.code))
    return MachineOut.model_validate(tagged(response, await machines.update_machine(session, principal, machine, body)))


# --- contracts: collection-level routes first ------------------------------------------------------

@contracts_router.get("/contracts", response_model=Page[ContractOut], operation_id="list_contracts",
                      summary="Contracts the caller may see (owner, sharers of the customer, data scope)")
async def list_contracts(
    session: Session, principal: Requires(P.CONTRACT_READ), page: PageQuery,
    sort: Annotated[SortKey, Depends(sort_param(CONTRACT_SORTS, "-created_at"))],
    state: State | None = None, company_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None,
    salesperson_id: Annotated[uuid.UUID | None, Query(description="The contract's owner")] = None,
    machine_serial: SerialQ = None,
    signed_from: Annotated[BusinessDate | None, Query()] = None,
    signed_to: Annotated[BusinessDate | None, Query()] = None,
    number: Annotated[Text(40) | None, Query(max_length=40, description="Contract number prefix")] = None,
) -> Page[ContractOut]:
    filters = repo.ContractFilters(state, company_id, customer_id, salesperson_id, machine_serial, signed_from,
                                   signed_to, number)
    rows, cursor = await paginate(session, repo.filtered_contracts(principal, filters), page, sort, Contract.id)
    return Page(items=[views.contract_out(c) for c in rows], next_cursor=cursor)


@contracts_router.post("/contracts", response_model=ContractDetail, status_code=201, operation_id="create_contract",
                       dependencies=[Idempotent], summary="Create a draft contract (销售申请)",
                       responses=RETRIED)
@declares(etag=True, location=True)
async def create_contract(session: Session, principal: Requires(P.CONTRACT_CREATE), body: ContractCreate,
                          response: Response) -> ContractDetail:
    contract, created = await service.create_contract(session, principal, body)
    if not created:
        response.status_code = 200
    set_location(response, f"/api/v1/contracts/{contract.id}", contract.version)
    return await views.contract_detail(session, contract)


@contracts_router.post("/contracts/schedule-preview", response_model=ScheduleOut, operation_id="preview_schedule",
                       summary="Compute a schedule from terms without saving anything (the clerk's calculator)")
async def preview_schedule(principal: Requires(P.CONTRACT_READ), body: TermsIn) -> ScheduleOut:
    rows = service.checked_schedule(body, "/body")
    return views.schedule_out(rows, frozen=False, financed=body.price - body.down_payment)


# --- one contract ----------------------------------------------------------------------------------

async def _for_change(session: AsyncSession, principal: Principal, contract_id: uuid.UUID,
                      request: Request) -> Contract:
    return matched(request, await get_writable(session, principal, Contract, contract_id, code=ContractNotFound.code))


async def _detail(session: AsyncSession, contract: Contract, response: Response) -> ContractDetail:
    await session.refresh(contract)
    return await views.contract_detail(session, tagged(response, contract))


@contracts_router.get("/contracts/{contract_id}", response_model=ContractDetail, operation_id="get_contract",
                      summary="Get a contract with its contacts and machines")
@declares(etag=True)
async def get_contract(session: Session, principal: Requires(P.CONTRACT_READ), contract_id: ContractId,
                       response: Response) -> ContractDetail:
    return await views.contract_detail(session, tagged(response, await repo.get_contract(session, principal,
                                                                                         contract_id)))


@contracts_router.patch("/contracts/{contract_id}", response_model=ContractDetail, operation_id="update_contract",
                        summary="Complete a draft contract (内勤完善合同); refused under approval (If-Match)")
@declares(etag=True, if_match=True)
async def update_contract(session: Session, principal: Requires(P.CONTRACT_UPDATE), contract_id: ContractId,
                          body: ContractUpdate, request: Request, response: Response) -> ContractDetail:
    contract = await _for_change(session, principal, contract_id, request)
    return await _detail(session, await service.update_contract(session, principal, contract, body), response)


@contracts_router.get("/contracts/{contract_id}/schedule", response_model=ScheduleOut,
                      operation_id="get_contract_schedule",
                      summary="The schedule: a preview from the terms before approval, the frozen one after",
                      description="Once the contract is shipped, a caller with `ledger.read` also sees each "
                      "instalment's paid and unpaid components and its status.")
async def get_schedule(session: Session, principal: Requires(P.CONTRACT_READ), contract_id: ContractId) -> ScheduleOut:
    contract = await repo.get_contract(session, principal, contract_id)
    frozen, rows = await service.schedule_of(session, contract)
    # Paid, unpaid and status per instalment once shipped, for those who may read the ledger.
    progress = await ledger_reads.instalment_progress(session, contract) if principal.has(LEDGER_READ) else None
    return views.schedule_out(rows, frozen=frozen, financed=contract.financed, progress=progress)


@contracts_router.post("/contracts/{contract_id}/submit", response_model=ContractDetail, operation_id="submit_contract",
                       dependencies=[Idempotent], summary="Submit the contract to approval (request type `contract`)",
                       description="Starts (after a rejection: restarts) the approval. 409 "
                       "`contract.illegal_transition` unless it is a draft; 422 `contract.machines_required` "
                       "without machines; 409 `approval.no_flow` when no flow is configured.")
@declares(etag=True, if_match=True)
async def submit_contract(session: Session, principal: Requires(P.CONTRACT_UPDATE), contract_id: ContractId,
                          request: Request, response: Response) -> ContractDetail:
    contract = await _for_change(session, principal, contract_id, request)
    return await _detail(session, await service.submit(session, principal, contract), response)


@contracts_router.post("/contracts/{contract_id}/withdraw", response_model=ContractDetail,
                       operation_id="withdraw_contract",
                       dependencies=[Idempotent], summary="Withdraw the contract from approval (its submitter)")
@declares(etag=True, if_match=True)
async def withdraw_contract(session: Session, principal: Requires(P.CONTRACT_UPDATE), contract_id: ContractId,
                            request: Request, response: Response) -> ContractDetail:
    contract = await _for_change(session, principal, contract_id, request)
    return await _detail(session, await service.withdraw(session, principal, contract), response)


@contracts_router.post("/contracts/{contract_id}/cancel", response_model=ContractDetail, operation_id="cancel_contract",
                       dependencies=[Idempotent], summary="Cancel a draft or an approved contract not yet shipped")
@declares(etag=True, if_match=True)
async def cancel_contract(session: Session, principal: Requires(P.CONTRACT_UPDATE), contract_id: ContractId,
                          body: CloseIn, request: Request, response: Response) -> ContractDetail:
    contract = await _for_change(session, principal, contract_id, request)
    return await _detail(session, await service.cancel(session, principal, contract, body.reason), response)


@contracts_router.post("/contracts/{contract_id}/shipment-request", response_model=ShipmentOut, status_code=201,
                       operation_id="request_shipment", dependencies=[Idempotent],
                       summary="Request the shipment (出库发车) of an approved contract (request type `shipment`)",
                       description="409 `contract.illegal_transition` unless approved (an investigation must be "
                       "submitted first); 409 `shipment.after_first_due_date` when the shipment would be after "
                       "the first due date (new terms needed).")
@declares(etag=True, if_match=True, location=True)
async def request_shipment(session: Session, principal: Requires(P.SHIPMENT_REQUEST), contract_id: ContractId,
                           body: ShipmentRequestIn, request: Request, response: Response) -> ShipmentOut:
    contract = await _for_change(session, principal, contract_id, request)
    shipment = await shipments.request_shipment(session, principal, contract, body)
    set_location(response, f"/api/v1/shipments/{shipment.id}", shipment.version)
    return ShipmentOut.model_validate(shipment)


# --- investigations --------------------------------------------------------------------------------

@investigations_router.get("/investigations", response_model=Page[InvestigationOut], operation_id="list_investigations",
                           summary="Investigations the caller may see (an investigator: those assigned to them)")
async def list_investigations(
    session: Session, principal: Requires(P.INVESTIGATION_READ), page: PageQuery,
    sort: Annotated[SortKey, Depends(sort_param(INVESTIGATION_SORTS, "-created_at"))],
    state: Literal["pending_dispatch", "dispatched", "submitted"] | None = None,
    contract_id: uuid.UUID | None = None, mine: bool = False,
) -> Page[InvestigationOut]:
    stmt = repo.filtered_investigations(principal, state=state, contract_id=contract_id, mine=mine)
    rows, cursor = await paginate(session, stmt, page, sort, Investigation.id)
    return Page(items=[InvestigationOut.model_validate(i) for i in rows], next_cursor=cursor)


@investigations_router.get("/investigations/{investigation_id}", response_model=InvestigationOut,
                           operation_id="get_investigation",
                           summary="An investigation with its answers, score, recommendation and factors")
@declares(etag=True)
async def get_investigation(session: Session, principal: Requires(P.INVESTIGATION_READ),
                            investigation_id: InvestigationId, response: Response) -> InvestigationOut:
    investigation = await repo.get_investigation(session, principal, investigation_id)
    return InvestigationOut.model_validate(tagged(response, investigation))


def _investigation_action(action: str, permission: str, body_type: type[Any], act: Any, summary: str) -> None:
    """`POST /investigations/{id}/<action>`: the investigation row-locked once If-Match holds, the
    service's `act(session, principal, investigation, body)`, the new ETag."""

    @investigations_router.post(f"/investigations/{{investigation_id}}/{action}", response_model=InvestigationOut,
                                operation_id=f"{action}_investigation", dependencies=[Idempotent], summary=summary)
    @declares(etag=True, if_match=True)
    async def act_on(session: Session, principal: Requires(permission), investigation_id: InvestigationId,
                     body: body_type, request: Request, response: Response) -> InvestigationOut:  # type: ignore[valid-type]
        investigation = await repo.get_investigation(session, principal, investigation_id, for_update=True)
        investigation = await act(session, principal, matched(request, investigation), body)
        return InvestigationOut.model_validate(tagged(response, investigation))


_investigation_action("dispatch", P.INVESTIGATION_DISPATCH, DispatchIn, investigations.dispatch,
                      "Assign an investigator of the contract's company (调查派工)")
_investigation_action("submit", P.INVESTIGATION_FILL, InvestigationSubmit, investigations.submit,
                      "Submit the questionnaire; the system scores it and recommends (ship / with conditions / not)")


@investigations_router.get("/investigation-scoring", response_model=ScoringModelOut,
                           operation_id="get_investigation_scoring",
                           summary="The group's investigation scoring model (weights, bands, thresholds)")
@declares(etag=True)
async def get_scoring(session: Session, principal: Requires(P.INVESTIGATION_READ),
                      response: Response) -> ScoringModelOut:
    row = await repo.scoring_row(session, principal)
    set_etag(response, row.version if row else 0)
    return investigations.scoring_out(row)


@investigations_router.put("/investigation-scoring", response_model=ScoringModelOut,
                           operation_id="set_investigation_scoring",
                           summary="Set the group's scoring model; later submissions are scored with it (If-Match)")
@declares(etag=True, if_match=True)
async def set_scoring(session: Session, principal: Requires(P.INVESTIGATION_CONFIGURE), body: ScoringModelIn,
                      request: Request, response: Response) -> ScoringModelOut:
    row = await investigations.lock_scoring(session, principal)
    check_if_match(request, row.version if row else 0)
    return investigations.scoring_out(tagged(response, await investigations.set_scoring_model(session, principal,
                                                                                                row, body)))


# --- shipments -------------------------------------------------------------------------------------

@shipments_router.get("/shipments", response_model=Page[ShipmentOut], operation_id="list_shipments",
                      summary="The outbound list: shipment requests of the companies the caller sees")
async def list_shipments(
    session: Session, principal: Requires(P.SHIPMENT_READ), page: PageQuery,
    sort: Annotated[SortKey, Depends(sort_param(SHIPMENT_SORTS, "-created_at"))],
    status: Literal["pending", "approved", "rejected", "withdrawn"] | None = None,
    company_id: uuid.UUID | None = None,
) -> Page[ShipmentOut]:
    stmt = repo.filtered_shipments(principal, status=status, company_id=company_id)
    rows, cursor = await paginate(session, stmt, page, sort, ShipmentRequest.id)
    return Page(items=[ShipmentOut.model_validate(s) for s in rows], next_cursor=cursor)


@shipments_router.get("/shipments/{shipment_id}", response_model=ShipmentOut, operation_id="get_shipment",
                      summary="A shipment request")
@declares(etag=True)
async def get_shipment(session: Session, principal: Requires(P.SHIPMENT_READ), shipment_id: ShipmentId,
                       response: Response) -> ShipmentOut:
    shipment = await get_readable(session, principal, ShipmentRequest, shipment_id, code=ShipmentNotFound.code)
    return ShipmentOut.model_validate(tagged(response, shipment))

