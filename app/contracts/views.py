"""Response shapes of contracts and their schedules (no rules here: those are the service's)."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import repository as repo
from app.contracts.models import Contract
from app.contracts.schemas import (
    ContractContactOut,
    ContractDetail,
    ContractOut,
    InstalmentOut,
    MachineOut,
    ScheduleOut,
    TermsOut,
)
from app.contracts.service import TERM_FIELDS
from app.ledger.reads import InstalmentProgress
from app.ledger.schedule import ZERO, Instalment


def contract_out(contract: Contract) -> ContractOut:
    terms = TermsOut.model_validate({**{f: getattr(contract, f) for f in TERM_FIELDS},
                                     "financed": contract.financed})
    fields = {name: getattr(contract, name) for name in ContractOut.model_fields
              if name not in ("terms", "approval_status")}
    return ContractOut(**fields, terms=terms, approval_status=contract.status)


async def contract_detail(session: AsyncSession, contract: Contract) -> ContractDetail:
    contacts = await repo.contacts_of(session, contract.id)
    machines = (await repo.machines_of(session, [contract.id]))[contract.id]
    return ContractDetail(**contract_out(contract).model_dump(),
                          contacts=[ContractContactOut(contact_id=c.contact_id, relation=c.relation) for c in contacts],
                          machines=[MachineOut.model_validate(m) for m in machines])


def schedule_out(rows: Sequence[Instalment], *, frozen: bool, financed: Decimal,
                 progress: tuple[date, dict[int, InstalmentProgress]] | None = None) -> ScheduleOut:
    """The schedule; with the ledger's `progress` (as_of, by number) once the contract is shipped."""
    principal = sum((r.principal for r in rows), ZERO)
    as_of, by_number = progress if progress is not None else (None, {})
    instalments = []
    for r in rows:
        done = by_number.get(r.number)
        extra = {"paid": done.paid, "unpaid": done.unpaid, "status": done.status} if done else {}
        instalments.append(InstalmentOut(number=r.number, due_date=r.due_date, principal=r.principal,
                                         interest=r.interest, total=r.total, **extra))
    return ScheduleOut(frozen=frozen, financed=financed, total_principal=principal,
                       total_interest=sum((r.interest for r in rows), ZERO), instalments=instalments, as_of=as_of)
