"""devices: lock and unlock requests on the approval engine, device commands with their transitions,
the gateway callbacks seen (issue 13); the machine's `lock_state_at`.

Chained after `job_queue` (the head on main when written); the lead rechains it at merge.

Revision ID: devices
Revises: job_queue
Create Date: 2026-11-24 12:26:19.048307+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'devices'
down_revision: str | Sequence[str] | None = 'job_queue'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('device_gateway_event',
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('command_result', 'position')", name=op.f('ck_device_gateway_event_kind_valid')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_device_gateway_event')),
    sa.UniqueConstraint('signature', name=op.f('uq_device_gateway_event_signature'))
    )
    op.create_table('device_command',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('requester_id', sa.Uuid(), nullable=False),
    sa.Column('request_kind', sa.String(length=20), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('device_id', sa.String(length=60), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_answer', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("action IN ('lock', 'unlock')", name=op.f('ck_device_command_action_valid')),
    sa.CheckConstraint("request_kind IN ('lock_request', 'unlock_request')", name=op.f('ck_device_command_request_kind_valid')),
    sa.CheckConstraint("state IN ('queued', 'waiting_safe', 'sent', 'acknowledged', 'failed', 'expired', 'cancelled')", name=op.f('ck_device_command_state_valid')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_device_command_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_device_command_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_device_command_group_id_org_group')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_device_command_machine_id_machine')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_device_command_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_command')),
    sa.UniqueConstraint('request_id', name=op.f('uq_device_command_request_id'))
    )
    op.create_index('ix_device_command_company_id_created_at_id', 'device_command', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_device_command_contract_id', 'device_command', ['contract_id'], unique=False)
    op.create_index('ix_device_command_expires_at_open', 'device_command', ['expires_at'], unique=False, postgresql_where=sa.text("state IN ('queued', 'waiting_safe', 'sent')"))
    op.create_index('ix_device_command_group_id_created_at_id', 'device_command', ['group_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_device_command_requester_id_created_at_id', 'device_command', ['requester_id', 'created_at', 'id'], unique=False)
    op.create_index('ux_device_command_machine_id_unsent', 'device_command', ['machine_id'], unique=True, postgresql_where=sa.text("state IN ('queued', 'waiting_safe')"))
    op.create_table('lock_request',
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
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
    sa.CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_lock_request_status_valid')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_instance.id'], name=op.f('fk_lock_request_approval_id_approval_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_lock_request_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_lock_request_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_lock_request_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_lock_request_group_id_org_group')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_lock_request_machine_id_machine')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_lock_request_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lock_request')),
    sa.UniqueConstraint('requester_id', 'client_ref', name=op.f('uq_lock_request_requester_id_client_ref'))
    )
    op.create_index(op.f('ix_lock_request_company_id'), 'lock_request', ['company_id'], unique=False)
    op.create_index('ix_lock_request_company_id_created_at_id', 'lock_request', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_lock_request_contract_id', 'lock_request', ['contract_id'], unique=False)
    op.create_index('ix_lock_request_group_id_created_at', 'lock_request', ['group_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_lock_request_requester_id'), 'lock_request', ['requester_id'], unique=False)
    op.create_table('unlock_request',
    sa.Column('payment_entry_id', sa.Uuid(), nullable=True),
    sa.Column('payment_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('payment_date', sa.Date(), nullable=True),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
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
    sa.CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_unlock_request_status_valid')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_instance.id'], name=op.f('fk_unlock_request_approval_id_approval_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_unlock_request_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_unlock_request_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_unlock_request_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_unlock_request_group_id_org_group')),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_unlock_request_machine_id_machine')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_unlock_request_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unlock_request')),
    sa.UniqueConstraint('requester_id', 'client_ref', name=op.f('uq_unlock_request_requester_id_client_ref'))
    )
    op.create_index(op.f('ix_unlock_request_company_id'), 'unlock_request', ['company_id'], unique=False)
    op.create_index('ix_unlock_request_company_id_created_at_id', 'unlock_request', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_unlock_request_contract_id', 'unlock_request', ['contract_id'], unique=False)
    op.create_index('ix_unlock_request_group_id_created_at', 'unlock_request', ['group_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_unlock_request_requester_id'), 'unlock_request', ['requester_id'], unique=False)
    op.create_table('device_command_transition',
    sa.Column('command_id', sa.Uuid(), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('answer', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['command_id'], ['device_command.id'], name=op.f('fk_device_command_transition_command_id_device_command'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_command_transition'))
    )
    op.create_index('ix_device_command_transition_command_id_at', 'device_command_transition', ['command_id', 'at'], unique=False)
    op.add_column('machine', sa.Column('lock_state_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('machine', 'lock_state_at')
    op.drop_index('ix_device_command_transition_command_id_at', table_name='device_command_transition')
    op.drop_table('device_command_transition')
    op.drop_index(op.f('ix_unlock_request_requester_id'), table_name='unlock_request')
    op.drop_index('ix_unlock_request_group_id_created_at', table_name='unlock_request')
    op.drop_index('ix_unlock_request_contract_id', table_name='unlock_request')
    op.drop_index('ix_unlock_request_company_id_created_at_id', table_name='unlock_request')
    op.drop_index(op.f('ix_unlock_request_company_id'), table_name='unlock_request')
    op.drop_table('unlock_request')
    op.drop_index(op.f('ix_lock_request_requester_id'), table_name='lock_request')
    op.drop_index('ix_lock_request_group_id_created_at', table_name='lock_request')
    op.drop_index('ix_lock_request_contract_id', table_name='lock_request')
    op.drop_index('ix_lock_request_company_id_created_at_id', table_name='lock_request')
    op.drop_index(op.f('ix_lock_request_company_id'), table_name='lock_request')
    op.drop_table('lock_request')
    op.drop_index('ux_device_command_machine_id_unsent', table_name='device_command', postgresql_where=sa.text("state IN ('queued', 'waiting_safe')"))
    op.drop_index('ix_device_command_requester_id_created_at_id', table_name='device_command')
    op.drop_index('ix_device_command_group_id_created_at_id', table_name='device_command')
    op.drop_index('ix_device_command_expires_at_open', table_name='device_command', postgresql_where=sa.text("state IN ('queued', 'waiting_safe', 'sent')"))
    op.drop_index('ix_device_command_contract_id', table_name='device_command')
    op.drop_index('ix_device_command_company_id_created_at_id', table_name='device_command')
    op.drop_table('device_command')
    op.drop_table('device_gateway_event')
