"""ledger_entry: the append-only facts of every contract's receivable (issue 11, ledger.md "The ledger")

Nothing is updated or deleted: a mistake is reversed by a new entry pointing at the old one. As for
the audit trail (migration audit_keyed_chain), the app's role loses UPDATE, DELETE and TRUNCATE on
the table (default privileges gave it them), and the generic `append_only()` trigger refuses them
even to the owner.

Revision ID: ledger_entries
Revises: customer_owner_department
Create Date: 2026-11-24 08:10:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.config import get_settings

revision: str = "ledger_entries"
down_revision: str | Sequence[str] | None = "customer_owner_department"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = (
    """
    CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
        FOR EACH ROW EXECUTE FUNCTION append_only()
    """,
    """
    CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
        FOR EACH STATEMENT EXECUTE FUNCTION append_only()
    """,
)


def upgrade() -> None:
    op.create_table('ledger_entry',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('component', sa.String(length=20), nullable=True),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('instalment_number', sa.Integer(), nullable=True),
    sa.Column('charge_kind', sa.String(length=20), nullable=True),
    sa.Column('reverses_id', sa.Uuid(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("(kind = 'charge') = (charge_kind IS NOT NULL)", name=op.f('ck_ledger_entry_charge_kind_for_charges')),
    sa.CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name=op.f('ck_ledger_entry_reversal_points_at_entry')),
    sa.CheckConstraint("charge_kind IS NULL OR charge_kind IN ('gps_fee', 'tow', 'freight', 'rent', 'other')", name=op.f('ck_ledger_entry_charge_kind_valid')),
    sa.CheckConstraint("component IS NULL OR component IN ('penalty', 'fee', 'interest', 'principal')", name=op.f('ck_ledger_entry_component_valid')),
    sa.CheckConstraint("kind = 'penalty' OR amount >= 0", name=op.f('ck_ledger_entry_amount_non_negative')),
    sa.CheckConstraint("kind IN ('instalment_due', 'charge', 'penalty', 'payment', 'waiver', 'settlement', 'reversal')", name=op.f('ck_ledger_entry_kind_valid')),
    sa.CheckConstraint("kind NOT IN ('instalment_due', 'penalty') OR instalment_number IS NOT NULL", name=op.f('ck_ledger_entry_instalment_named')),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_ledger_entry_actor_id_app_user')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_ledger_entry_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_ledger_entry_contract_id_contract')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_ledger_entry_group_id_org_group')),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_entry.id'], name=op.f('fk_ledger_entry_reverses_id_ledger_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('seq', name=op.f('uq_ledger_entry_seq'))
    )
    op.create_index('ix_ledger_entry_contract_id_seq', 'ledger_entry', ['contract_id', 'seq'], unique=False)
    op.create_index('ix_ledger_entry_contract_id_value_date', 'ledger_entry', ['contract_id', 'value_date'], unique=False)
    op.create_index('ux_ledger_entry_reverses_id', 'ledger_entry', ['reverses_id'], unique=True,
                    postgresql_where='reverses_id IS NOT NULL')
    for statement in APPEND_ONLY:
        op.execute(statement)
    role = get_settings().database_app_role  # validated as a plain lower-case identifier
    conn = op.get_bind()
    if conn.scalar(sa.text("SELECT current_user")) != role and conn.scalar(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entry FROM "{role}"')


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry")
    op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry")
    op.drop_index('ux_ledger_entry_reverses_id', table_name='ledger_entry',
                  postgresql_where='reverses_id IS NOT NULL')
    op.drop_index('ix_ledger_entry_contract_id_value_date', table_name='ledger_entry')
    op.drop_index('ix_ledger_entry_contract_id_seq', table_name='ledger_entry')
    op.drop_table('ledger_entry')
