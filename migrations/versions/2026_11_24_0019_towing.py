"""towing: tow requests on the approval engine, tow tasks, tow registrations (issue 13)

Chained after `attachments` (the head on main when written); the lead rechains it at merge.

Revision ID: towing
Revises: money_requests
Create Date: 2026-11-24 10:50:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'towing'
down_revision: str | Sequence[str] | None = 'money_requests'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tow_request',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=False),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
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
    sa.CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_tow_request_status_valid')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_instance.id'], name=op.f('fk_tow_request_approval_id_approval_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_tow_request_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_tow_request_contract_id_contract')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_tow_request_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_tow_request_group_id_org_group')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_tow_request_machine_id_machine')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_tow_request_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tow_request')),
    sa.UniqueConstraint('requester_id', 'client_ref', name=op.f('uq_tow_request_requester_id_client_ref'))
    )
    op.create_index(op.f('ix_tow_request_company_id'), 'tow_request', ['company_id'], unique=False)
    op.create_index('ix_tow_request_company_id_created_at_id', 'tow_request', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_tow_request_contract_id', 'tow_request', ['contract_id'], unique=False)
    op.create_index('ix_tow_request_group_id_created_at', 'tow_request', ['group_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_tow_request_requester_id'), 'tow_request', ['requester_id'], unique=False)
    op.create_table('tow_task',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('towing_company', sa.String(length=200), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("state IN ('open', 'assigned', 'registered', 'cancelled')", name=op.f('ck_tow_task_state_valid')),
    sa.CheckConstraint('assignee_id IS NULL OR towing_company IS NULL', name=op.f('ck_tow_task_one_assignee')),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_tow_task_assignee_id_app_user')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_tow_task_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_tow_task_contract_id_contract')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_tow_task_group_id_org_group')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_tow_task_machine_id_machine')),
    sa.ForeignKeyConstraint(['request_id'], ['tow_request.id'], name=op.f('fk_tow_task_request_id_tow_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tow_task')),
    sa.UniqueConstraint('request_id', name=op.f('uq_tow_task_request_id'))
    )
    op.create_index('ix_tow_task_assignee_id_created_at', 'tow_task', ['assignee_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_tow_task_company_id_created_at', 'tow_task', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_tow_task_contract_id', 'tow_task', ['contract_id'], unique=False)
    op.create_index('ix_tow_task_group_id_created_at', 'tow_task', ['group_id', 'created_at', 'id'], unique=False)
    op.create_table('tow_registration',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('registered_by_id', sa.Uuid(), nullable=False),
    sa.Column('towed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=500), nullable=False),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('yard', sa.String(length=200), nullable=False),
    sa.Column('yard_latitude', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('yard_longitude', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('hour_meter', sa.Numeric(precision=10, scale=1), nullable=False),
    sa.Column('condition', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('cost', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('charge_entry_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('cost > 0', name=op.f('ck_tow_registration_cost_positive')),
    sa.CheckConstraint('hour_meter >= 0', name=op.f('ck_tow_registration_hour_meter_non_negative')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_tow_registration_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_tow_registration_contract_id_contract')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_tow_registration_group_id_org_group')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_tow_registration_machine_id_machine')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['app_user.id'], name=op.f('fk_tow_registration_registered_by_id_app_user')),
    sa.ForeignKeyConstraint(['task_id'], ['tow_task.id'], name=op.f('fk_tow_registration_task_id_tow_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tow_registration')),
    sa.UniqueConstraint('task_id', name=op.f('uq_tow_registration_task_id'))
    )
    op.create_index(op.f('ix_tow_registration_contract_id'), 'tow_registration', ['contract_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_tow_registration_contract_id'), table_name='tow_registration')
    op.drop_table('tow_registration')
    op.drop_index('ix_tow_task_group_id_created_at', table_name='tow_task')
    op.drop_index('ix_tow_task_contract_id', table_name='tow_task')
    op.drop_index('ix_tow_task_company_id_created_at', table_name='tow_task')
    op.drop_index('ix_tow_task_assignee_id_created_at', table_name='tow_task')
    op.drop_table('tow_task')
    op.drop_index(op.f('ix_tow_request_requester_id'), table_name='tow_request')
    op.drop_index('ix_tow_request_group_id_created_at', table_name='tow_request')
    op.drop_index('ix_tow_request_contract_id', table_name='tow_request')
    op.drop_index('ix_tow_request_company_id_created_at_id', table_name='tow_request')
    op.drop_index(op.f('ix_tow_request_company_id'), table_name='tow_request')
    op.drop_table('tow_request')
