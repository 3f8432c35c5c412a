"""events: integration events (the outbox), webhook subscriptions and deliveries, message
templates, customers' opt-out and the message log (issue 15)

Chained after `devices` at merge.

Revision ID: events
Revises: devices
Create Date: 2026-11-24 12:28:45.336619+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'events'
down_revision: str | Sequence[str] | None = 'devices'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('integration_event',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=True),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('ordering_key', sa.String(length=100), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_integration_event')),
    sa.UniqueConstraint('id', name=op.f('uq_integration_event_id'))
    )
    op.create_index('ix_integration_event_group_id_seq', 'integration_event', ['group_id', 'seq'], unique=False)
    op.create_table('message_template',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_message_template_channel_valid')),
    sa.CheckConstraint("kind IN ('payment_reminder', 'overdue_notice', 'promise_broken', 'settlement_confirmation')", name=op.f('ck_message_template_kind_valid')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_message_template_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_template')),
    sa.UniqueConstraint('group_id', 'kind', 'channel', name=op.f('uq_message_template_group_id_kind_channel'))
    )
    op.create_index('ix_message_template_group_id_created_at', 'message_template', ['group_id', 'created_at', 'id'], unique=False)
    op.create_table('webhook_subscription',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('event_types', sa.ARRAY(sa.String(length=60)), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('previous_secret', sa.String(length=100), nullable=True),
    sa.Column('previous_secret_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_webhook_subscription_group_id_org_group')),
    sa.ForeignKeyConstraint(['owner_id'], ['app_user.id'], name=op.f('fk_webhook_subscription_owner_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscription'))
    )
    op.create_index('ix_webhook_subscription_group_id_created_at', 'webhook_subscription', ['group_id', 'created_at', 'id'], unique=False)
    op.create_table('message_opt_out',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('by_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['app_user.id'], name=op.f('fk_message_opt_out_by_id_app_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_message_opt_out_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_message_opt_out_group_id_org_group')),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_message_opt_out'))
    )
    op.create_table('webhook_delivery',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.UUID(), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('ordering_key', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redelivery_of_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_delivery_state_valid')),
    sa.ForeignKeyConstraint(['event_id'], ['integration_event.id'], name=op.f('fk_webhook_delivery_event_id_integration_event')),
    sa.ForeignKeyConstraint(['redelivery_of_id'], ['webhook_delivery.id'], name=op.f('fk_webhook_delivery_redelivery_of_id_webhook_delivery'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscription.id'], name=op.f('fk_webhook_delivery_subscription_id_webhook_subscription'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('seq', name=op.f('uq_webhook_delivery_seq'))
    )
    op.create_index(op.f('ix_webhook_delivery_event_id'), 'webhook_delivery', ['event_id'], unique=False)
    op.create_index('ix_webhook_delivery_pending_lane', 'webhook_delivery', ['subscription_id', 'ordering_key', 'seq'], unique=False, postgresql_where=sa.text("state = 'pending'"))
    op.create_index('ix_webhook_delivery_subscription_id_seq', 'webhook_delivery', ['subscription_id', 'seq'], unique=False)
    op.create_table('message',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('contract_id', sa.Uuid(), nullable=True),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='queued', nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_message_channel_valid')),
    sa.CheckConstraint("kind IN ('payment_reminder', 'overdue_notice', 'promise_broken', 'settlement_confirmation', 'manual')", name=op.f('ck_message_kind_valid')),
    sa.CheckConstraint("state IN ('queued', 'sent', 'failed', 'suppressed')", name=op.f('ck_message_state_valid')),
    sa.ForeignKeyConstraint(['case_id'], ['collection_case.id'], name=op.f('fk_message_case_id_collection_case')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_message_company_id_company')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_message_contract_id_contract')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_message_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_message_customer_id_customer')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_message_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_message_dedupe_key'))
    )
    op.create_index('ix_message_case_id_created_at', 'message', ['case_id', 'created_at'], unique=False)
    op.create_index('ix_message_company_id_created_at', 'message', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_message_created_by_id_created_at', 'message', ['created_by_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_message_customer_id_created_at', 'message', ['customer_id', 'created_at'], unique=False)
    op.create_index('ix_message_group_id_created_at', 'message', ['group_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_message_group_id_created_at', table_name='message')
    op.drop_index('ix_message_customer_id_created_at', table_name='message')
    op.drop_index('ix_message_created_by_id_created_at', table_name='message')
    op.drop_index('ix_message_company_id_created_at', table_name='message')
    op.drop_index('ix_message_case_id_created_at', table_name='message')
    op.drop_table('message')
    op.drop_index('ix_webhook_delivery_subscription_id_seq', table_name='webhook_delivery')
    op.drop_index('ix_webhook_delivery_pending_lane', table_name='webhook_delivery', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index(op.f('ix_webhook_delivery_event_id'), table_name='webhook_delivery')
    op.drop_table('webhook_delivery')
    op.drop_table('message_opt_out')
    op.drop_index('ix_webhook_subscription_group_id_created_at', table_name='webhook_subscription')
    op.drop_table('webhook_subscription')
    op.drop_index('ix_message_template_group_id_created_at', table_name='message_template')
    op.drop_table('message_template')
    op.drop_index('ix_integration_event_group_id_seq', table_name='integration_event')
    op.drop_table('integration_event')
