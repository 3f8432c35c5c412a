"""tow_conditions: a tow request keeps the contract's DPD, bucket and overdue amount (the flows'
condition fields) and the minimum DPD that applied when it was filed or submitted; a company may set
its own minimum (`company.tow_min_dpd`, else the TOW_MIN_DPD setting) (issue 25, item 23).

Requests stored before take their contract's figures as they stand now, and a minimum of 0: none
applied when they were filed.

Revision ID: tow_conditions
Revises: ledger_credit
Create Date: 2026-12-07 23:40:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'tow_conditions'
down_revision: str | Sequence[str] | None = 'ledger_credit'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('company', sa.Column('tow_min_dpd', sa.Integer(), nullable=True))
    op.create_check_constraint(op.f('ck_company_tow_min_dpd_range'), 'company', 'tow_min_dpd BETWEEN 0 AND 3650')
    op.add_column('tow_request', sa.Column('dpd', sa.Integer(), nullable=True))
    op.add_column('tow_request', sa.Column('bucket', sa.String(length=10), nullable=True))
    op.add_column('tow_request', sa.Column('overdue_amount', sa.Numeric(precision=18, scale=2), nullable=True))
    op.add_column('tow_request', sa.Column('min_dpd', sa.Integer(), nullable=True))
    op.execute("""
        UPDATE tow_request t SET dpd = a.dpd, bucket = a.bucket, overdue_amount = a.overdue_amount
        FROM ledger_account a WHERE a.contract_id = t.contract_id
    """)
    op.execute("""
        UPDATE tow_request SET dpd = coalesce(dpd, 0), bucket = coalesce(bucket, 'current'),
               overdue_amount = coalesce(overdue_amount, 0), min_dpd = 0
    """)
    for column in ('dpd', 'bucket', 'overdue_amount', 'min_dpd'):
        op.alter_column('tow_request', column, nullable=False)
    op.create_check_constraint(op.f('ck_tow_request_dpd_non_negative'), 'tow_request', 'dpd >= 0')


def downgrade() -> None:
    op.drop_constraint(op.f('ck_tow_request_dpd_non_negative'), 'tow_request', type_='check')
    for column in ('min_dpd', 'overdue_amount', 'bucket', 'dpd'):
        op.drop_column('tow_request', column)
    op.drop_constraint(op.f('ck_company_tow_min_dpd_range'), 'company', type_='check')
    op.drop_column('company', 'tow_min_dpd')
