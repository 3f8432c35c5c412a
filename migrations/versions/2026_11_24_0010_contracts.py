"""sales: machines, contracts (contacts, machines, frozen schedule, number counter), investigations,
shipment requests

Revision ID: contracts
Revises: customer_scope_indexes
Create Date: 2026-11-24 06:35:12.867161+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'contracts'
down_revision: str | Sequence[str] | None = 'customer_scope_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contract_counter',
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_contract_counter_company_id_company')),
    sa.PrimaryKeyConstraint('company_id', 'year', name=op.f('pk_contract_counter'))
    )
    op.create_table('contract',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('clerk_id', sa.Uuid(), nullable=True),
    sa.Column('submitted_by_id', sa.Uuid(), nullable=True),
    sa.Column('sale_kind', sa.String(length=20), nullable=False),
    sa.Column('signed_date', sa.Date(), nullable=True),
    sa.Column('price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('down_payment', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('annual_rate', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('first_due_date', sa.Date(), nullable=False),
    sa.Column('schedule_kind', sa.String(length=20), nullable=False),
    sa.Column('monthly_rent', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('custom_rows', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('penalty_daily_rate', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('allocation_order', postgresql.ARRAY(sa.String(length=20)), nullable=False),
    sa.Column('needs_investigation', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('terms_frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('shipment_date', sa.Date(), nullable=True),
    sa.Column('closed_reason', sa.Text(), nullable=True),
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
    sa.CheckConstraint("sale_kind IN ('instalment_sale', 'lease', 'full_payment')", name=op.f('ck_contract_sale_kind_valid')),
    sa.CheckConstraint("schedule_kind IN ('annuity', 'equal_principal', 'interest_only', 'lease', 'custom')", name=op.f('ck_contract_schedule_kind_valid')),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'approved', 'investigating', 'shipping', 'active', 'settled', 'repossessed', 'cancelled')", name=op.f('ck_contract_state_valid')),
    sa.CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_contract_status_valid')),
    sa.CheckConstraint('grace_days >= 0', name=op.f('ck_contract_grace_days_valid')),
    sa.CheckConstraint('price >= 0 AND down_payment >= 0 AND down_payment <= price', name=op.f('ck_contract_amounts_valid')),
    sa.CheckConstraint('term_months BETWEEN 1 AND 120', name=op.f('ck_contract_term_valid')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_instance.id'], name=op.f('fk_contract_approval_id_approval_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['clerk_id'], ['app_user.id'], name=op.f('fk_contract_clerk_id_app_user')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_contract_company_id_company')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_contract_customer_id_customer')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_contract_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_contract_group_id_org_group')),
    sa.ForeignKeyConstraint(['owner_id'], ['app_user.id'], name=op.f('fk_contract_owner_id_app_user')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_contract_requester_id_app_user')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['app_user.id'], name=op.f('fk_contract_submitted_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract')),
    sa.UniqueConstraint('group_id', 'number', name=op.f('uq_contract_group_id_number')),
    sa.UniqueConstraint('requester_id', 'client_ref', name=op.f('uq_contract_requester_id_client_ref'))
    )
    op.create_index(op.f('ix_contract_company_id'), 'contract', ['company_id'], unique=False)
    op.create_index('ix_contract_company_id_created_at_id', 'contract', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_contract_customer_id_created_at', 'contract', ['customer_id', 'created_at'], unique=False)
    op.create_index('ix_contract_group_id_created_at', 'contract', ['group_id', 'created_at'], unique=False)
    op.create_index('ix_contract_group_id_number_id', 'contract', ['group_id', 'number', 'id'], unique=False)
    op.create_index('ix_contract_group_id_signed_date_id', 'contract', ['group_id', 'signed_date', 'id'], unique=False)
    op.create_index('ix_contract_group_id_state_created_at', 'contract', ['group_id', 'state', 'created_at'], unique=False)
    op.create_index('ix_contract_owner_id_created_at', 'contract', ['owner_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_contract_requester_id'), 'contract', ['requester_id'], unique=False)
    op.create_table('contract_contact',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('relation', sa.String(length=30), nullable=False),
    sa.CheckConstraint("relation IN ('legal_representative', 'guarantor', 'purchaser', 'other')", name=op.f('ck_contract_contact_relation_valid')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contract_contact_contact_id_contact')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_contact_contract_id_contract'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contract_id', 'contact_id', name=op.f('pk_contract_contact'))
    )
    op.create_index(op.f('ix_contract_contact_contact_id'), 'contract_contact', ['contact_id'], unique=False)
    op.create_table('contract_instalment',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('principal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('interest', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.CheckConstraint('principal >= 0 AND interest >= 0', name=op.f('ck_contract_instalment_amounts_non_negative')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_instalment_contract_id_contract'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contract_id', 'number', name=op.f('pk_contract_instalment'))
    )
    op.create_table('investigation',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('investigator_id', sa.Uuid(), nullable=True),
    sa.Column('dispatched_by_id', sa.Uuid(), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answers', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('investigator_recommendation', sa.String(length=30), nullable=True),
    sa.Column('investigator_comment', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('recommendation', sa.String(length=30), nullable=True),
    sa.Column('factors', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("investigator_recommendation IS NULL OR investigator_recommendation IN ('ship', 'ship_with_conditions', 'do_not_ship')", name=op.f('ck_investigation_investigator_recommendation_valid')),
    sa.CheckConstraint("recommendation IS NULL OR recommendation IN ('ship', 'ship_with_conditions', 'do_not_ship')", name=op.f('ck_investigation_recommendation_valid')),
    sa.CheckConstraint("state IN ('pending_dispatch', 'dispatched', 'submitted')", name=op.f('ck_investigation_state_valid')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_investigation_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_investigation_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dispatched_by_id'], ['app_user.id'], name=op.f('fk_investigation_dispatched_by_id_app_user')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_investigation_group_id_org_group')),
    sa.ForeignKeyConstraint(['investigator_id'], ['app_user.id'], name=op.f('fk_investigation_investigator_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_investigation')),
    sa.UniqueConstraint('contract_id', name=op.f('uq_investigation_contract_id'))
    )
    op.create_index('ix_investigation_company_id_created_at_id', 'investigation', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_investigation_group_id_created_at_id', 'investigation', ['group_id', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_investigation_investigator_id'), 'investigation', ['investigator_id'], unique=False)
    op.create_table('machine',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('serial_number', sa.String(length=60), nullable=False),
    sa.Column('engine_number', sa.String(length=60), nullable=True),
    sa.Column('certificate_number', sa.String(length=60), nullable=True),
    sa.Column('gps_device_id', sa.String(length=60), nullable=True),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('lock_state', sa.String(length=10), nullable=False),
    sa.Column('last_latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('last_longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('last_speed_kmh', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('last_position_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_date', sa.Date(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("category IN ('excavator', 'loader', 'crane', 'other')", name=op.f('ck_machine_category_valid')),
    sa.CheckConstraint("lock_state IN ('unlocked', 'locked')", name=op.f('ck_machine_lock_state_valid')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_machine_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_machine_contract_id_contract'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_machine_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_machine_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine')),
    sa.UniqueConstraint('group_id', 'gps_device_id', name=op.f('uq_machine_group_id_gps_device_id')),
    sa.UniqueConstraint('group_id', 'serial_number', name=op.f('uq_machine_group_id_serial_number'))
    )
    op.create_index('ix_machine_company_id_created_at_id', 'machine', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_machine_contract_id'), 'machine', ['contract_id'], unique=False)
    op.create_index('ix_machine_group_id_created_at_id', 'machine', ['group_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_machine_group_id_serial_number_id', 'machine', ['group_id', 'serial_number', 'id'], unique=False)
    op.create_table('shipment_request',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('contract_number', sa.String(length=40), nullable=False),
    sa.Column('financed', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('planned_date', sa.Date(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('investigation', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
    sa.CheckConstraint("status IN ('draft', 'pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_shipment_request_status_valid')),
    sa.ForeignKeyConstraint(['approval_id'], ['approval_instance.id'], name=op.f('fk_shipment_request_approval_id_approval_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_shipment_request_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_shipment_request_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_shipment_request_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_shipment_request_group_id_org_group')),
    sa.ForeignKeyConstraint(['requester_id'], ['app_user.id'], name=op.f('fk_shipment_request_requester_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_request')),
    sa.UniqueConstraint('requester_id', 'client_ref', name=op.f('uq_shipment_request_requester_id_client_ref'))
    )
    op.create_index(op.f('ix_shipment_request_company_id'), 'shipment_request', ['company_id'], unique=False)
    op.create_index('ix_shipment_request_company_id_created_at_id', 'shipment_request', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_shipment_request_contract_id'), 'shipment_request', ['contract_id'], unique=False)
    op.create_index('ix_shipment_request_group_id_created_at', 'shipment_request', ['group_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_shipment_request_requester_id'), 'shipment_request', ['requester_id'], unique=False)
    op.create_table('investigation_scoring',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('model', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_investigation_scoring_group_id_org_group')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_investigation_scoring_updated_by_id_app_user')),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_investigation_scoring'))
    )
    op.create_table('contract_machine',
    sa.Column('contract_id', sa.Uuid(), nullable=False),
    sa.Column('machine_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_machine_contract_id_contract'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_contract_machine_machine_id_machine')),
    sa.PrimaryKeyConstraint('contract_id', 'machine_id', name=op.f('pk_contract_machine'))
    )
    op.create_index(op.f('ix_contract_machine_machine_id'), 'contract_machine', ['machine_id'], unique=False)


def downgrade() -> None:
    op.drop_table('investigation_scoring')
    op.drop_index(op.f('ix_contract_machine_machine_id'), table_name='contract_machine')
    op.drop_table('contract_machine')
    op.drop_index(op.f('ix_shipment_request_requester_id'), table_name='shipment_request')
    op.drop_index('ix_shipment_request_group_id_created_at', table_name='shipment_request')
    op.drop_index(op.f('ix_shipment_request_contract_id'), table_name='shipment_request')
    op.drop_index('ix_shipment_request_company_id_created_at_id', table_name='shipment_request')
    op.drop_index(op.f('ix_shipment_request_company_id'), table_name='shipment_request')
    op.drop_table('shipment_request')
    op.drop_index('ix_machine_group_id_serial_number_id', table_name='machine')
    op.drop_index('ix_machine_group_id_created_at_id', table_name='machine')
    op.drop_index(op.f('ix_machine_contract_id'), table_name='machine')
    op.drop_index('ix_machine_company_id_created_at_id', table_name='machine')
    op.drop_table('machine')
    op.drop_index(op.f('ix_investigation_investigator_id'), table_name='investigation')
    op.drop_index('ix_investigation_group_id_created_at_id', table_name='investigation')
    op.drop_index('ix_investigation_company_id_created_at_id', table_name='investigation')
    op.drop_table('investigation')
    op.drop_table('contract_instalment')
    op.drop_index(op.f('ix_contract_contact_contact_id'), table_name='contract_contact')
    op.drop_table('contract_contact')
    op.drop_index(op.f('ix_contract_requester_id'), table_name='contract')
    op.drop_index('ix_contract_owner_id_created_at', table_name='contract')
    op.drop_index('ix_contract_group_id_state_created_at', table_name='contract')
    op.drop_index('ix_contract_group_id_signed_date_id', table_name='contract')
    op.drop_index('ix_contract_group_id_number_id', table_name='contract')
    op.drop_index('ix_contract_group_id_created_at', table_name='contract')
    op.drop_index('ix_contract_customer_id_created_at', table_name='contract')
    op.drop_index('ix_contract_company_id_created_at_id', table_name='contract')
    op.drop_index(op.f('ix_contract_company_id'), table_name='contract')
    op.drop_table('contract')
    op.drop_table('contract_counter')
