"""money requests: interest waivers, settlement requests, GPS service fees (request types on the engine)

Revision ID: money_requests
Revises: attachments
Create Date: 2026-11-24 11:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'money_requests'
down_revision: str | Sequence[str] | None = 'attachments'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('interest_waiver', 'settlement_request', 'gps_fee_request')


def _request_table(name: str, *columns: sa.Column | sa.Constraint) -> None:
    """A request table: the request kit's columns, the contract, and the table's own columns."""
    op.create_table(name,
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=True),
    sa.Column('requester_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approval_id', sa.Uuid(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_ref', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    *columns,
    sa.CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')", name=op.f(f'ck_{name}_status_valid')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_instance.id'], name=op.f(f'fk_{name}_approval_id_approval_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f(f'fk_{name}_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f(f'fk_{name}_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f(f'fk_{name}_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f(f'fk_{name}_group_id_org_group')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f(f'fk_{name}_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
    sa.UniqueConstraint('requester_id', 'client_ref', name=op.f(f'uq_{name}_requester_id_client_ref'))
    )
    op.create_index(op.f(f'ix_{name}_company_id'), name, ['company_id'], unique=False)
    op.create_index(op.f(f'ix_{name}_contract_id'), name, ['contract_id'], unique=False)
    op.create_index(f'ix_{name}_group_id_created_at', name, ['group_id', 'created_at'], unique=False)
    op.create_index(op.f(f'ix_{name}_requester_id'), name, ['requester_id'], unique=False)


def upgrade() -> None:
    _request_table('interest_waiver',
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attachment_ids', postgresql.ARRAY(sa.Uuid()), nullable=False),
    sa.Column('unpaid_penalty', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('dpd', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=10), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_interest_waiver_amount_positive')))
    _request_table('settlement_request',
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('payoff_at_submission', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('released_documents', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('released_to', sa.String(length=200), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('released_by_id', sa.Uuid(), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['released_by_id'], ['app_user.id'], name=op.f('fk_settlement_request_released_by_id_app_user')))
    _request_table('gps_fee_request',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('charge_entry_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("kind IN ('purchase', 'renewal')", name=op.f('ck_gps_fee_request_kind_valid')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_gps_fee_request_amount_positive')),
    sa.CheckConstraint('period_to >= period_from', name=op.f('ck_gps_fee_request_period_ordered')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_gps_fee_request_machine_id_machine')))
    op.create_index('ix_gps_fee_request_machine_id', 'gps_fee_request', ['machine_id'], unique=False)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
