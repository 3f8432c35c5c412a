"""reports: month-end bucket snapshots for the roll rates; promises by date for the morning list (issue 15)

Chained after `events` at merge.

Revision ID: reports
Revises: events
Create Date: 2026-11-24 12:45:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'reports'
down_revision: str | Sequence[str] | None = 'events'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bucket_snapshot',
    sa.Column('snapshot_date', sa.Date(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('dpd', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=8), nullable=False),
    sa.Column('outstanding_principal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('overdue_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint("bucket IN ('current', 'M1', 'M2', 'M3', 'M4+')", name=op.f('ck_bucket_snapshot_bucket_valid')),
    sa.CheckConstraint('dpd >= 0', name=op.f('ck_bucket_snapshot_dpd_non_negative')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_bucket_snapshot_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_bucket_snapshot_contract_id_contract')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_bucket_snapshot_group_id_org_group')),
    sa.PrimaryKeyConstraint('snapshot_date', 'contract_id', name=op.f('pk_bucket_snapshot'))
    )
    op.create_index('ix_bucket_snapshot_company_id_snapshot_date', 'bucket_snapshot', ['company_id', 'snapshot_date'],
                    unique=False)
    op.create_index('ix_bucket_snapshot_contract_id', 'bucket_snapshot', ['contract_id'], unique=False)
    op.create_index('ix_promise_to_pay_promised_date', 'promise_to_pay', ['promised_date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_promise_to_pay_promised_date', table_name='promise_to_pay')
    op.drop_index('ix_bucket_snapshot_contract_id', table_name='bucket_snapshot')
    op.drop_index('ix_bucket_snapshot_company_id_snapshot_date', table_name='bucket_snapshot')
    op.drop_table('bucket_snapshot')
