"""ledger_credit: unapplied credit is a figure of the account, a payment of the payoff writes off the
interest not yet due, and a refund is an entry (issue 25, items 3 and 3b; ledger.md "Unapplied
credit" and "Payoff").

- `ledger_account.unapplied_credit`: payments' money nothing is left to reduce (0 for every account
  stored before: the replay then kept it out of every figure, which is the bug); the month-end
  snapshot keeps it too, for aging.
- `ledger_entry.kind` gains `write_off` (derived, per instalment, may be negative like a penalty
  adjustment; names its instalment) and `refund` (carries a method, like a payment).

Revision ID: ledger_credit
Revises: client_body
Create Date: 2026-12-07 23:30:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'ledger_credit'
down_revision: str | Sequence[str] | None = 'client_body'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "'instalment_due', 'charge', 'penalty', 'payment', 'waiver', 'settlement', 'reversal'"
KINDS_AFTER = KINDS_BEFORE + ", 'write_off', 'refund'"
CHECKS = {  # name: (before, after)
    'kind_valid': (f"kind IN ({KINDS_BEFORE})", f"kind IN ({KINDS_AFTER})"),
    'amount_non_negative': ("kind = 'penalty' OR amount >= 0", "kind IN ('penalty', 'write_off') OR amount >= 0"),
    'instalment_named': ("kind NOT IN ('instalment_due', 'penalty') OR instalment_number IS NOT NULL",
                         "kind NOT IN ('instalment_due', 'penalty', 'write_off') OR instalment_number IS NOT NULL"),
    'method_for_payments': ("(kind = 'payment') = (method IS NOT NULL)",
                            "(kind IN ('payment', 'refund')) = (method IS NOT NULL)"),
}


def _checks(which: int) -> None:
    for name, conditions in CHECKS.items():
        op.drop_constraint(op.f(f'ck_ledger_entry_{name}'), 'ledger_entry', type_='check')
        op.create_check_constraint(op.f(f'ck_ledger_entry_{name}'), 'ledger_entry', conditions[which])


def upgrade() -> None:
    for table in ('ledger_account', 'bucket_snapshot'):  # aging lists it as a credit, also at month ends
        op.add_column(table, sa.Column('unapplied_credit', sa.Numeric(precision=18, scale=2), server_default='0',
                                       nullable=False))
    _checks(1)


def downgrade() -> None:
    # Refunds (with their reversals) and write-offs recorded since have no place in the older ledger:
    # the one deliberate exception to the append-only trigger, as the table's owner.
    op.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_append_only")
    op.execute("DELETE FROM ledger_entry WHERE reverses_id IN (SELECT id FROM ledger_entry WHERE kind = 'refund')")
    op.execute("DELETE FROM ledger_entry WHERE kind IN ('write_off', 'refund')")
    op.execute("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_append_only")
    _checks(0)
    for table in ('ledger_account', 'bucket_snapshot'):
        op.drop_column(table, 'unapplied_credit')
