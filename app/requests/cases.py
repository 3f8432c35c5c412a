"""A settlement closes the contract's open collection case with the outcome `settled` (the close of
business would otherwise close it the next night): one small function, in this package so that
collections' own files stay theirs."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts.models import Contract
from app.core import audit
from app.core.principal import Principal
from app.requests import repository as repo


async def close_case_settled(session: AsyncSession, actor: Principal | None, contract: Contract, day: date) -> None:
    case = await repo.open_case_for_update(session, contract.id)
    if case is None:
        return
    before = audit.snapshot(case, "state", "outcome", "closed_on")
    case.state, case.outcome, case.closed_on = "closed", "settled", day
    await session.flush()
    audit.record(session, actor, "case.closed", "collection_case", case.id, company_id=case.company_id,
                 before=before, after=audit.snapshot(case, "state", "outcome", "closed_on"))
