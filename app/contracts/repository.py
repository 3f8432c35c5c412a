"""Every query of the sales area. Reads start from `readable()`/`writable()`; the group-wide
uniqueness checks (serial numbers, GPS ids) are narrow existence queries on purpose."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.errors import ContractNotFound, InvestigationNotFound, MachineNotFound
from app.contracts.models import (
    Contract,
    ContractContact,
    ContractCounter,
    ContractInstalment,
    ContractMachine,
    Investigation,
    InvestigationScoring,
    Machine,
    ShipmentRequest,
)
from app.core.db import utcnow
from app.core.principal import Principal
from app.core.scoping import get_readable, readable
from app.core.types import BusinessDate

# --- machines --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MachineFilters:
    company_id: uuid.UUID | None = None
    category: str | None = None
    serial_number: str | None = None
    gps_device_id: str | None = None
    contract_id: uuid.UUID | None = None
    unassigned: bool | None = None


def filtered_machines(principal: Principal, filters: MachineFilters) -> Select[Any]:
    stmt = readable(principal, Machine)
    for column, value in ((Machine.company_id, filters.company_id), (Machine.category, filters.category),
                          (Machine.serial_number, filters.serial_number),
                          (Machine.gps_device_id, filters.gps_device_id), (Machine.contract_id, filters.contract_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.unassigned is not None:
        stmt = stmt.where(Machine.contract_id.is_(None) if filters.unassigned else Machine.contract_id.isnot(None))
    return stmt


async def get_machine(session: AsyncSession, principal: Principal, machine_id: uuid.UUID, *,
                      for_update: bool = False) -> Machine:
    return await get_readable(session, principal, Machine, machine_id, for_update=for_update, code=MachineNotFound.code)


async def lock_machine(session: AsyncSession, machine_id: uuid.UUID) -> Machine | None:
    """Unscoped, row-locked: for a device command already authorised (its request was approved)."""
    stmt = select(Machine).where(Machine.id == machine_id).with_for_update().execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def machine_with_device(session: AsyncSession, device_id: str) -> Machine | None:
    """Unscoped: the one machine a GPS device is bound to (the gateway's callbacks)."""
    return await session.scalar(select(Machine).where(Machine.gps_device_id == device_id))


async def lock_machine_with_device(session: AsyncSession, device_id: str) -> Machine | None:
    """Unscoped, row-locked: the one machine carrying a GPS device (the gateway's callbacks)."""
    stmt = (select(Machine).where(Machine.gps_device_id == device_id).with_for_update()
            .execution_options(populate_existing=True))
    return await session.scalar(stmt)


async def machine_value_taken(session: AsyncSession, column: Any, value: str, exclude_id: uuid.UUID | None,
                              *, group_id: uuid.UUID | None = None) -> bool:
    """Whether another machine holds `value` in `column`: within the group, or (no group) anywhere."""
    cond = [column == value] if group_id is None else [Machine.group_id == group_id, column == value]
    if exclude_id is not None:
        cond.append(Machine.id != exclude_id)
    return bool(await session.scalar(select(exists().where(*cond))))


async def lock_readable_machines(session: AsyncSession, principal: Principal,
                                 machine_ids: Iterable[uuid.UUID]) -> list[Machine]:
    ids = list(dict.fromkeys(machine_ids))
    if not ids:
        return []
    return list((await session.scalars(readable(principal, Machine).where(Machine.id.in_(ids))
                                       .order_by(Machine.id).with_for_update()
                                       .execution_options(populate_existing=True))).all())


async def machines_of(session: AsyncSession, contract_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Machine]]:
    ids = list(contract_ids)
    out: dict[uuid.UUID, list[Machine]] = {i: [] for i in ids}
    if ids:
        rows = (await session.execute(
            select(ContractMachine.contract_id, Machine).join(Machine, Machine.id == ContractMachine.machine_id)
            .where(ContractMachine.contract_id.in_(ids)).order_by(Machine.serial_number))).all()
        for contract_id, machine in rows:
            out[contract_id].append(machine)
    return out


async def replace_contract_machines(session: AsyncSession, contract_id: uuid.UUID,
                                    machine_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Set the contract's machines; answers the ids released (no longer on it)."""
    old = set((await session.scalars(select(ContractMachine.machine_id)
                                     .where(ContractMachine.contract_id == contract_id))).all())
    released = old - set(machine_ids)
    if released:
        await session.execute(delete(ContractMachine).where(ContractMachine.contract_id == contract_id,
                                                            ContractMachine.machine_id.in_(released)))
        await set_machines_contract(session, released, None, current=contract_id)
    added = [m for m in machine_ids if m not in old]
    if added:
        await session.execute(insert(ContractMachine), [{"contract_id": contract_id, "machine_id": m} for m in added])
        await set_machines_contract(session, added, contract_id)
    return list(released)


async def set_machines_contract(session: AsyncSession, machine_ids: Iterable[uuid.UUID],
                                contract_id: uuid.UUID | None, *, current: uuid.UUID | None = None) -> None:
    stmt = update(Machine).where(Machine.id.in_(list(machine_ids)))
    if current is not None:
        stmt = stmt.where(Machine.contract_id == current)
    await session.execute(stmt.values(contract_id=contract_id, version=Machine.version + 1)
                          .execution_options(synchronize_session="fetch"))


async def release_machines(session: AsyncSession, contract_id: uuid.UUID) -> None:
    await session.execute(update(Machine).where(Machine.contract_id == contract_id)
                          .values(contract_id=None, version=Machine.version + 1)
                          .execution_options(synchronize_session="fetch"))


async def deliver_machines(session: AsyncSession, contract_id: uuid.UUID, delivered: date) -> None:
    await session.execute(update(Machine).where(Machine.contract_id == contract_id)
                          .values(delivered_date=delivered, version=Machine.version + 1)
                          .execution_options(synchronize_session="fetch"))


# --- contracts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ContractFilters:
    state: str | None = None
    company_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    machine_serial: str | None = None
    signed_from: BusinessDate | None = None
    signed_to: BusinessDate | None = None
    number: str | None = None


def filtered_contracts(principal: Principal, filters: ContractFilters) -> Select[Any]:
    stmt = readable(principal, Contract)
    for column, value in ((Contract.state, filters.state), (Contract.company_id, filters.company_id),
                          (Contract.customer_id, filters.customer_id), (Contract.owner_id, filters.owner_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.signed_from is not None:
        stmt = stmt.where(Contract.signed_date >= filters.signed_from)
    if filters.signed_to is not None:
        stmt = stmt.where(Contract.signed_date <= filters.signed_to)
    if filters.number:
        # Numbers are upper-case ASCII; a prefix search is served by (group_id, number, id).
        stmt = stmt.where(Contract.number.startswith(filters.number.upper(), autoescape=True))
    if filters.machine_serial:
        stmt = stmt.where(Contract.id.in_(
            select(ContractMachine.contract_id).join(Machine, Machine.id == ContractMachine.machine_id)
            .where(Machine.group_id == principal.group_id, Machine.serial_number == filters.machine_serial)))
    return stmt


def readable_contract_ids(principal: Principal) -> Select[Any]:
    """The ids of the contracts the principal may read: for other areas' scope conditions (a device
    command is seen by whoever sees its contract)."""
    return readable(principal, Contract, Contract.id)


async def get_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, *,
                       for_update: bool = False) -> Contract:
    return await get_readable(session, principal, Contract, contract_id, for_update=for_update,
                              code=ContractNotFound.code)


async def lock_contract(session: AsyncSession, contract_id: uuid.UUID) -> Contract | None:
    """The contract row locked, unscoped: for the engine's effects (the instance was scoped)."""
    return await session.scalar(select(Contract).where(Contract.id == contract_id).with_for_update()
                                .execution_options(populate_existing=True))


async def next_number(session: AsyncSession, company_id: uuid.UUID, year: int) -> int:
    """The next number of the company's year: one upsert, so two creating clerks never share one
    (the second waits on the counter row until the first commits)."""
    stmt = insert(ContractCounter).values(company_id=company_id, year=year, last_number=1)
    stmt = stmt.on_conflict_do_update(index_elements=[ContractCounter.company_id, ContractCounter.year],
                                      set_={"last_number": ContractCounter.last_number + 1})
    return int(await session.scalar(stmt.returning(ContractCounter.last_number)))


async def contacts_of(session: AsyncSession, contract_id: uuid.UUID) -> list[ContractContact]:
    return list((await session.scalars(select(ContractContact).where(ContractContact.contract_id == contract_id)
                                       .order_by(ContractContact.relation, ContractContact.contact_id))).all())


async def replace_contacts(session: AsyncSession, contract_id: uuid.UUID, links: list[tuple[uuid.UUID, str]]) -> None:
    await session.execute(delete(ContractContact).where(ContractContact.contract_id == contract_id))
    if links:
        await session.execute(insert(ContractContact), [
            {"contract_id": contract_id, "contact_id": c, "relation": r} for c, r in links])


async def frozen_schedule(session: AsyncSession, contract_id: uuid.UUID) -> list[ContractInstalment]:
    return list((await session.scalars(select(ContractInstalment).where(ContractInstalment.contract_id == contract_id)
                                       .order_by(ContractInstalment.number))).all())


async def freeze_schedule(session: AsyncSession, contract_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    await session.execute(insert(ContractInstalment), [{"contract_id": contract_id, **row} for row in rows])


async def draft_ids_owned_by(session: AsyncSession, group_id: uuid.UUID, owner_id: uuid.UUID) -> list[Any]:
    """(id, company_id) of the user's contracts not yet submitted, for a handover."""
    return list((await session.execute(
        select(Contract.id, Contract.company_id).where(Contract.group_id == group_id, Contract.owner_id == owner_id,
                                                       Contract.state == "draft"))).all())


async def reassign_drafts(session: AsyncSession, ids: list[uuid.UUID], to_user_id: uuid.UUID) -> None:
    await session.execute(update(Contract).where(Contract.id.in_(ids))
                          .values(owner_id=to_user_id, version=Contract.version + 1)
                          .execution_options(synchronize_session="fetch"))


async def reassign_live_contracts(session: AsyncSession, group_id: uuid.UUID, from_user_id: uuid.UUID,
                                  to_user_id: uuid.UUID, closed: tuple[str, ...]) -> int:
    """The user's place as salesperson (owner) and as clerk on every contract past its draft and
    not `closed`, to another; answers how many contracts changed."""
    moved: set[uuid.UUID] = set()
    live = (Contract.group_id == group_id, Contract.state != "draft", Contract.state.not_in(closed))
    for column in (Contract.owner_id, Contract.clerk_id):
        moved.update((await session.execute(
            update(Contract).where(*live, column == from_user_id)
            .values({column.key: to_user_id, "version": Contract.version + 1, "updated_at": utcnow()})
            .returning(Contract.id).execution_options(synchronize_session="fetch"))).scalars())
    return len(moved)


async def reassign_open_investigations(session: AsyncSession, group_id: uuid.UUID, from_user_id: uuid.UUID,
                                       to_user_id: uuid.UUID) -> int:
    """The user's investigations not yet submitted, to another investigator."""
    result = await session.execute(
        update(Investigation).where(Investigation.group_id == group_id, Investigation.investigator_id == from_user_id,
                                    Investigation.state != "submitted")
        .values(investigator_id=to_user_id, version=Investigation.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0  # type: ignore[attr-defined]


# --- investigations and shipments ------------------------------------------------------------------

async def investigation_of(session: AsyncSession, contract_id: uuid.UUID) -> Investigation | None:
    return await session.scalar(select(Investigation).where(Investigation.contract_id == contract_id))


async def get_investigation(session: AsyncSession, principal: Principal, investigation_id: uuid.UUID, *,
                            for_update: bool = False) -> Investigation:
    return await get_readable(session, principal, Investigation, investigation_id, for_update=for_update,
                              code=InvestigationNotFound.code)


def filtered_investigations(principal: Principal, *, state: str | None, contract_id: uuid.UUID | None,
                            mine: bool) -> Select[Any]:
    stmt = readable(principal, Investigation)
    if state is not None:
        stmt = stmt.where(Investigation.state == state)
    if contract_id is not None:
        stmt = stmt.where(Investigation.contract_id == contract_id)
    if mine:
        stmt = stmt.where(Investigation.investigator_id == principal.user_id)
    return stmt


async def lock_shipment(session: AsyncSession, request_id: uuid.UUID) -> ShipmentRequest | None:
    return await session.scalar(select(ShipmentRequest).where(ShipmentRequest.id == request_id).with_for_update()
                                .execution_options(populate_existing=True))


async def open_shipment_of(session: AsyncSession, contract_id: uuid.UUID) -> ShipmentRequest | None:
    return await session.scalar(select(ShipmentRequest).where(ShipmentRequest.contract_id == contract_id,
                                                              ShipmentRequest.status == "pending"))


def filtered_shipments(principal: Principal, *, status: str | None, company_id: uuid.UUID | None) -> Select[Any]:
    stmt = readable(principal, ShipmentRequest)
    if status is not None:
        stmt = stmt.where(ShipmentRequest.status == status)
    if company_id is not None:
        stmt = stmt.where(ShipmentRequest.company_id == company_id)
    return stmt


# --- the scoring model -----------------------------------------------------------------------------

async def scoring_row(session: AsyncSession, principal: Principal, *, for_update: bool = False
                      ) -> InvestigationScoring | None:
    stmt = readable(principal, InvestigationScoring)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def scoring_model_of(session: AsyncSession, group_id: uuid.UUID) -> dict[str, Any] | None:
    return await session.scalar(select(InvestigationScoring.model).where(InvestigationScoring.group_id == group_id))
