"""Demo reports: the month-end bucket snapshots of the last few months, so the roll rates have
something to show. The demo's ledger histories are recorded in one go (not by a close of business
running every day), so no month end was closed on its day: each past month end's snapshot is
computed here from a replay of each contract's entries through that day (what the account stood at
then), open accounts only, as the close of business would have written it."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import entries as ledger_entries
from app.ledger import repository as ledger_repo
from app.ledger import rules
from app.ledger import service as ledger
from app.ledger.calendar import business_today
from app.reports import repository as repo
from app.reports.service import is_month_end, month_end_before, month_ends

MONTHS = 4


async def seed_reports(session: AsyncSession, org: Any, months: int = MONTHS) -> dict[str, int]:
    """Snapshots of the `months` month ends up to the business date (itself, when it is one, as its
    close of business would write it); {month end: accounts}."""
    accounts = await ledger_repo.accounts_batch(session, org.group.id, None, 100_000)
    if not accounts:
        return {}
    today = await business_today(session, accounts[0].company_id)
    days = month_ends(today if is_month_end(today) else month_end_before(today), months)
    ids = [a.contract_id for a in accounts]
    contracts = await ledger_repo.contracts_by_id(session, ids)
    by_contract: dict[Any, list[Any]] = {cid: [] for cid in ids}
    for entry in await ledger_repo.entries_of_contracts(session, ids):
        by_contract[entry.contract_id].append(entry)
    written: dict[str, int] = {}
    for day in days:
        rows = [_row(day, account, contracts[account.contract_id], by_contract[account.contract_id])
                for account in accounts]
        rows = [r for r in rows if r is not None]
        await repo.add_snapshots(session, rows)
        written[day.isoformat()] = len(rows)
    return written


def _row(day: date, account: Any, contract: Any, entries: list[Any]) -> dict[str, Any] | None:
    if contract.shipment_date is None or contract.shipment_date > day:
        return None
    mine = [e for e in entries if e.value_date <= day]
    if any(isinstance(f, rules.Settlement) for f in rules.effective_facts(ledger_entries.facts_of(mine))):
        return None
    figures = ledger.account_figures(ledger_entries.replay(entries, through=day, policy=ledger.policy_of(contract)))
    return {"snapshot_date": day, "contract_id": account.contract_id, "group_id": account.group_id,
            "company_id": account.company_id, "as_of": day, "dpd": figures["dpd"], "bucket": figures["bucket"],
            "outstanding_principal": figures["outstanding_principal"], "overdue_amount": figures["overdue_amount"],
            "unapplied_credit": figures["unapplied_credit"]}
