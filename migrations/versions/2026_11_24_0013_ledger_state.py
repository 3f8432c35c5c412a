"""ledger_item, ledger_account, business_date_override; payments' particulars on ledger_entry (issue 11)

The stored state of every contract's receivable (per instalment or charge, and per contract),
rewritten with each fact so lists and the close of business never replay; the account row is also
the contract's ledger lock. A group's business date may be set by hand outside production.

Revision ID: ledger_state
Revises: ledger_entries
Create Date: 2026-11-24 09:19:13.470703+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'ledger_state'
down_revision: str | Sequence[str] | None = 'ledger_entries'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('business_date_override',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('set_by_id', sa.Uuid(), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_business_date_override_group_id_org_group')),
    sa.ForeignKeyConstraint(['set_by_id'], ['app_user.id'], name=op.f('fk_business_date_override_set_by_id_app_user')),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_business_date_override'))
    )
    op.create_table('ledger_account',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('penalty_daily_rate', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('outstanding_principal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('overdue_principal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('overdue_interest', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('overdue_fee', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('unpaid_penalty', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('overdue_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('overdue_since', sa.Date(), nullable=True),
    sa.Column('dpd', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=8), nullable=False),
    sa.Column('payoff', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('settled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("bucket IN ('current', 'M1', 'M2', 'M3', 'M4+')", name=op.f('ck_ledger_account_bucket_valid')),
    sa.CheckConstraint('dpd >= 0', name=op.f('ck_ledger_account_dpd_non_negative')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_ledger_account_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_ledger_account_contract_id_contract')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_ledger_account_group_id_org_group')),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_ledger_account'))
    )
    op.create_index('ix_ledger_account_as_of_open', 'ledger_account', ['as_of'], unique=False, postgresql_where='NOT settled')
    op.create_index('ix_ledger_account_company_id_bucket', 'ledger_account', ['company_id', 'bucket'], unique=False)
    op.create_table('ledger_item',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('instalment_number', sa.Integer(), nullable=True),
    sa.Column('charge_id', sa.Uuid(), nullable=True),
    sa.Column('charge_kind', sa.String(length=20), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('principal_due', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('principal_paid', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('interest_due', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('interest_paid', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('interest_waived', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('fee_due', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('fee_paid', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('penalty_due', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('penalty_paid', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('penalty_waived', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint("(kind = 'charge') = (charge_id IS NOT NULL)", name=op.f('ck_ledger_item_charge_named')),
    sa.CheckConstraint("(kind = 'instalment') = (instalment_number IS NOT NULL)", name=op.f('ck_ledger_item_instalment_numbered')),
    sa.CheckConstraint("kind IN ('instalment', 'charge')", name=op.f('ck_ledger_item_kind_valid')),
    sa.ForeignKeyConstraint(['charge_id'], ['ledger_entry.id'], name=op.f('fk_ledger_item_charge_id_ledger_entry')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_ledger_item_contract_id_contract')),
    sa.PrimaryKeyConstraint('contract_id', 'key', name=op.f('pk_ledger_item'))
    )
    op.create_index('ix_ledger_item_contract_id_due_date', 'ledger_item', ['contract_id', 'due_date'], unique=False)
    op.add_column('ledger_entry', sa.Column('method', sa.String(length=20), nullable=True))
    op.add_column('ledger_entry', sa.Column('reference', sa.String(length=64), nullable=True))
    op.add_column('ledger_entry', sa.Column('payer', sa.String(length=100), nullable=True))
    op.create_check_constraint(op.f('ck_ledger_entry_method_valid'), 'ledger_entry',
                               "method IS NULL OR method IN ('bank_transfer', 'cash', 'cheque', 'offset')")
    op.create_check_constraint(op.f('ck_ledger_entry_method_for_payments'), 'ledger_entry',
                               "(kind = 'payment') = (method IS NOT NULL)")
    op.create_index('ux_ledger_entry_contract_id_reference', 'ledger_entry', ['contract_id', 'reference'], unique=True, postgresql_where='reference IS NOT NULL')


def downgrade() -> None:
    op.drop_index('ux_ledger_entry_contract_id_reference', table_name='ledger_entry', postgresql_where='reference IS NOT NULL')
    op.drop_constraint(op.f('ck_ledger_entry_method_for_payments'), 'ledger_entry', type_='check')
    op.drop_constraint(op.f('ck_ledger_entry_method_valid'), 'ledger_entry', type_='check')
    op.drop_column('ledger_entry', 'payer')
    op.drop_column('ledger_entry', 'reference')
    op.drop_column('ledger_entry', 'method')
    op.drop_index('ix_ledger_item_contract_id_due_date', table_name='ledger_item')
    op.drop_table('ledger_item')
    op.drop_index('ix_ledger_account_company_id_bucket', table_name='ledger_account')
    op.drop_index('ix_ledger_account_as_of_open', table_name='ledger_account', postgresql_where='NOT settled')
    op.drop_table('ledger_account')
    op.drop_table('business_date_override')
