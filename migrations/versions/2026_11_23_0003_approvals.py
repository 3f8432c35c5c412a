"""the approval engine: flows (versioned), instances, steps, assignments, actions; expense requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('approval_flow',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=True),
    sa.Column('request_type', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_approval_flow_company_id_company')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_approval_flow_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_flow'))
    )
    op.create_index(op.f('ix_approval_flow_group_id'), 'approval_flow', ['group_id'], unique=False)
    op.create_index('ux_approval_flow_group_company', 'approval_flow', ['group_id', 'request_type', 'company_id'], unique=True, postgresql_where=sa.text('company_id IS NOT NULL AND is_active'))
    op.create_index('ux_approval_flow_group_default', 'approval_flow', ['group_id', 'request_type'], unique=True, postgresql_where=sa.text('company_id IS NULL AND is_active'))
    op.create_table('approval_flow_version',
    sa.Column('flow_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('steps', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_approval_flow_version_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['flow_id'], ['approval_flow.id'], name=op.f('fk_approval_flow_version_flow_id_approval_flow'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_flow_version')),
    sa.UniqueConstraint('flow_id', 'number', name=op.f('uq_approval_flow_version_flow_id_number'))
    )
    op.create_table('approval_instance',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('request_type', sa.String(length=60), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('submitter_id', sa.Uuid(), nullable=False),
    sa.Column('flow_id', sa.Uuid(), nullable=False),
    sa.Column('flow_version_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('current_step_id', sa.Uuid(), nullable=True),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_urged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('effect_applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_approval_instance_status_valid')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_approval_instance_company_id_company')),
    sa.ForeignKeyConstraint(['flow_id'], ['approval_flow.id'], name=op.f('fk_approval_instance_flow_id_approval_flow')),
    sa.ForeignKeyConstraint(['flow_version_id'], ['approval_flow_version.id'], name=op.f('fk_approval_instance_flow_version_id_approval_flow_version')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_approval_instance_group_id_org_group')),
    sa.ForeignKeyConstraint(['submitter_id'], ['app_user.id'], name=op.f('fk_approval_instance_submitter_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_instance')),
    sa.UniqueConstraint('request_type', 'request_id', name=op.f('uq_approval_instance_request_type_request_id'))
    )
    op.create_index(op.f('ix_approval_instance_company_id'), 'approval_instance', ['company_id'], unique=False)
    op.create_index('ix_approval_instance_group_id_submitted_at', 'approval_instance', ['group_id', 'submitted_at'], unique=False)
    op.create_index('ix_approval_instance_overdue', 'approval_instance', ['group_id', 'waiting_since'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index(op.f('ix_approval_instance_submitter_id'), 'approval_instance', ['submitter_id'], unique=False)
    op.create_table('approval_step',
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('condition', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("mode IN ('any', 'all')", name=op.f('ck_approval_step_mode_valid')),
    sa.CheckConstraint("status IN ('waiting', 'active', 'approved', 'rejected', 'skipped', 'cancelled')", name=op.f('ck_approval_step_status_valid')),
    sa.ForeignKeyConstraint(['instance_id'], ['approval_instance.id'], name=op.f('fk_approval_step_instance_id_approval_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_step')),
    sa.UniqueConstraint('instance_id', 'round', 'position', name=op.f('uq_approval_step_instance_id_round_position'))
    )
    op.create_table('expense_request',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=True),
    sa.Column('requester_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approval_id', sa.Uuid(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_expense_request_status_valid')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_expense_request_amount_positive')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_instance.id'], name=op.f('fk_expense_request_approval_id_approval_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_expense_request_company_id_company')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_expense_request_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_expense_request_group_id_org_group')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_expense_request_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_request'))
    )
    op.create_index(op.f('ix_expense_request_company_id'), 'expense_request', ['company_id'], unique=False)
    op.create_index('ix_expense_request_group_id_created_at', 'expense_request', ['group_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_expense_request_requester_id'), 'expense_request', ['requester_id'], unique=False)
    op.create_table('approval_action',
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('target_user_id', sa.Uuid(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("action IN ('submit', 'approve', 'reject', 'withdraw', 'urge', 'transfer')", name=op.f('ck_approval_action_action_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_approval_action_actor_id_app_user')),
    sa.ForeignKeyConstraint(['instance_id'], ['approval_instance.id'], name=op.f('fk_approval_action_instance_id_approval_instance'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['approval_step.id'], name=op.f('fk_approval_action_step_id_approval_step'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_user_id'], ['app_user.id'], name=op.f('fk_approval_action_target_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_action'))
    )
    op.create_index('ix_approval_action_instance_id_created_at', 'approval_action', ['instance_id', 'created_at'], unique=False)
    op.create_table('approval_assignment',
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('step_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('transferred_from_id', sa.Uuid(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("origin IN ('rule', 'manager', 'administrators', 'transfer')", name=op.f('ck_approval_assignment_origin_valid')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'transferred', 'cancelled')", name=op.f('ck_approval_assignment_status_valid')),
    sa.ForeignKeyConstraint(['instance_id'], ['approval_instance.id'], name=op.f('fk_approval_assignment_instance_id_approval_instance'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['approval_step.id'], name=op.f('fk_approval_assignment_step_id_approval_step'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transferred_from_id'], ['app_user.id'], name=op.f('fk_approval_assignment_transferred_from_id_app_user')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_approval_assignment_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_assignment'))
    )
    op.create_index('ix_approval_assignment_inbox', 'approval_assignment', ['user_id', 'instance_id'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_approval_assignment_instance_id_user_id', 'approval_assignment', ['instance_id', 'user_id'], unique=False)
    op.create_index('ix_approval_assignment_step_id', 'approval_assignment', ['step_id'], unique=False)
    op.create_index('ux_approval_assignment_pending_step_user', 'approval_assignment', ['step_id', 'user_id'], unique=True, postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index('ux_approval_assignment_pending_step_user', table_name='approval_assignment', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_approval_assignment_step_id', table_name='approval_assignment')
    op.drop_index('ix_approval_assignment_instance_id_user_id', table_name='approval_assignment')
    op.drop_index('ix_approval_assignment_inbox', table_name='approval_assignment', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('approval_assignment')
    op.drop_index('ix_approval_action_instance_id_created_at', table_name='approval_action')
    op.drop_table('approval_action')
    op.drop_index(op.f('ix_expense_request_requester_id'), table_name='expense_request')
    op.drop_index('ix_expense_request_group_id_created_at', table_name='expense_request')
    op.drop_index(op.f('ix_expense_request_company_id'), table_name='expense_request')
    op.drop_table('expense_request')
    op.drop_table('approval_step')
    op.drop_index(op.f('ix_approval_instance_submitter_id'), table_name='approval_instance')
    op.drop_index('ix_approval_instance_overdue', table_name='approval_instance', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_approval_instance_group_id_submitted_at', table_name='approval_instance')
    op.drop_index(op.f('ix_approval_instance_company_id'), table_name='approval_instance')
    op.drop_table('approval_instance')
    op.drop_table('approval_flow_version')
    op.drop_index('ux_approval_flow_group_default', table_name='approval_flow', postgresql_where=sa.text('company_id IS NULL AND is_active'))
    op.drop_index('ux_approval_flow_group_company', table_name='approval_flow', postgresql_where=sa.text('company_id IS NOT NULL AND is_active'))
    op.drop_index(op.f('ix_approval_flow_group_id'), table_name='approval_flow')
    op.drop_table('approval_flow')
