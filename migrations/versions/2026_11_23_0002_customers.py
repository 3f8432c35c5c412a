"""customers, contacts and the public pool

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Fuzzy company-name duplicate check (gin_trgm_ops index on customer.name_norm).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('pool_rule',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('protection_days', sa.Integer(), nullable=False),
    sa.Column('reminder_days', sa.Integer(), nullable=False),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('max_extensions_per_month', sa.Integer(), nullable=False),
    sa.Column('daily_claim_cap', sa.Integer(), nullable=False),
    sa.Column('daily_reminder_floor', sa.Integer(), nullable=False),
    sa.Column('count_weekends', sa.Boolean(), nullable=False),
    sa.Column('reclaim_cooldown_days', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint('daily_claim_cap > 0 AND daily_reminder_floor >= 0', name=op.f('ck_pool_rule_caps_positive')),
    sa.CheckConstraint('max_extensions_per_month BETWEEN 5 AND 10', name=op.f('ck_pool_rule_extensions_range')),
    sa.CheckConstraint('protection_days > 0 AND reminder_days >= 0 AND extension_days > 0', name=op.f('ck_pool_rule_days_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_pool_rule_company_id_company')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_pool_rule_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_rule')),
    sa.UniqueConstraint('company_id', name=op.f('uq_pool_rule_company_id'))
    )
    op.create_table('contact',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('mobile', sa.String(length=32), nullable=True),
    sa.Column('office_phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('position', sa.String(length=100), nullable=True),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_contact_company_id_company')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_contact_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_contact_group_id_org_group')),
    sa.ForeignKeyConstraint(['owner_id'], ['app_user.id'], name=op.f('fk_contact_owner_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact'))
    )
    op.create_index('ix_contact_group_id_created_at_id', 'contact', ['group_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_contact_group_id_email', 'contact', ['group_id', 'email'], unique=False)
    op.create_index('ix_contact_group_id_id_number', 'contact', ['group_id', 'id_number'], unique=False)
    op.create_index('ix_contact_group_id_mobile', 'contact', ['group_id', 'mobile'], unique=False)
    op.create_index('ix_contact_group_id_name', 'contact', ['group_id', 'name'], unique=False)
    op.create_index('ix_contact_group_id_office_phone', 'contact', ['group_id', 'office_phone'], unique=False)
    op.create_index('ix_contact_owner_id', 'contact', ['owner_id'], unique=False)
    op.create_table('customer',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_norm', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('addresses', postgresql.ARRAY(sa.String(length=300)), server_default='{}', nullable=False),
    sa.Column('phones', postgresql.ARRAY(sa.String(length=32)), server_default='{}', nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('grade', sa.String(length=1), nullable=True),
    sa.Column('credit_score', sa.Integer(), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('protected_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('secured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('secured_reason', sa.String(length=40), nullable=True),
    sa.Column('pooled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('former_owner_id', sa.Uuid(), nullable=True),
    sa.Column('last_follow_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("(status = 'pool') = (owner_id IS NULL)", name=op.f('ck_customer_owner_matches_status')),
    sa.CheckConstraint("category IN ('intended', 'signed', 'partner', 'supplier', 'media', 'personal_network')", name=op.f('ck_customer_category_valid')),
    sa.CheckConstraint("grade IS NULL OR grade IN ('A', 'B', 'C')", name=op.f('ck_customer_grade_valid')),
    sa.CheckConstraint("kind IN ('company', 'individual')", name=op.f('ck_customer_kind_valid')),
    sa.CheckConstraint("status IN ('private', 'pool')", name=op.f('ck_customer_status_valid')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_customer_company_id_company')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_customer_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['former_owner_id'], ['app_user.id'], name=op.f('fk_customer_former_owner_id_app_user')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_customer_group_id_org_group')),
    sa.ForeignKeyConstraint(['owner_id'], ['app_user.id'], name=op.f('fk_customer_owner_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer'))
    )
    op.create_index('ix_customer_company_id_created_at_id', 'customer', ['company_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_customer_company_id_pooled_at_id', 'customer', ['company_id', 'pooled_at', 'id'], unique=False, postgresql_where=sa.text("status = 'pool'"))
    op.create_index('ix_customer_group_id_created_at_id', 'customer', ['group_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_customer_group_id_credit_code', 'customer', ['group_id', 'credit_code'], unique=False)
    op.create_index('ix_customer_group_id_email', 'customer', ['group_id', 'email'], unique=False)
    op.create_index('ix_customer_group_id_id_number', 'customer', ['group_id', 'id_number'], unique=False)
    op.create_index('ix_customer_group_id_name_id', 'customer', ['group_id', 'name', 'id'], unique=False)
    op.create_index('ix_customer_name_norm_trgm', 'customer', ['name_norm'], unique=False, postgresql_using='gin', postgresql_ops={'name_norm': 'gin_trgm_ops'}, postgresql_with={'fastupdate': 'off'})
    op.create_index('ix_customer_owner_id', 'customer', ['owner_id'], unique=False)
    op.create_index('ix_customer_phones', 'customer', ['phones'], unique=False, postgresql_using='gin')
    op.create_index('ix_customer_protected_until', 'customer', ['protected_until'], unique=False, postgresql_where=sa.text("status = 'private' AND secured_at IS NULL AND deleted_at IS NULL"))
    op.create_table('customer_activity',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('created', 'claimed', 'released', 'extended', 'expired', 'secured', 'assigned', 'handed_over', 'imported')", name=op.f('ck_customer_activity_kind_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_customer_activity_actor_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_customer_activity_company_id_company')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_activity_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_customer_activity_group_id_org_group')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_customer_activity_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_activity'))
    )
    op.create_index('ix_customer_activity_customer_id_occurred_at', 'customer_activity', ['customer_id', 'occurred_at'], unique=False)
    op.create_index('ix_customer_activity_user_id_kind_business_date', 'customer_activity', ['user_id', 'kind', 'business_date'], unique=False)
    op.create_table('customer_contact',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('relation', sa.String(length=30), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("relation IN ('legal_representative', 'guarantor', 'purchaser', 'other', 'self')", name=op.f('ck_customer_contact_relation_valid')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_customer_contact_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_customer_contact_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_contact_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'contact_id', name=op.f('pk_customer_contact'))
    )
    op.create_index(op.f('ix_customer_contact_contact_id'), 'customer_contact', ['contact_id'], unique=False)
    op.create_table('customer_share',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('can_edit', sa.Boolean(), nullable=False),
    sa.Column('granted_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_share_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by_id'], ['app_user.id'], name=op.f('fk_customer_share_granted_by_id_app_user')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_customer_share_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'user_id', name=op.f('pk_customer_share'))
    )
    op.create_index(op.f('ix_customer_share_user_id'), 'customer_share', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_customer_share_user_id'), table_name='customer_share')
    op.drop_table('customer_share')
    op.drop_index(op.f('ix_customer_contact_contact_id'), table_name='customer_contact')
    op.drop_table('customer_contact')
    op.drop_index('ix_customer_activity_user_id_kind_business_date', table_name='customer_activity')
    op.drop_index('ix_customer_activity_customer_id_occurred_at', table_name='customer_activity')
    op.drop_table('customer_activity')
    op.drop_index('ix_customer_protected_until', table_name='customer', postgresql_where=sa.text("status = 'private' AND secured_at IS NULL AND deleted_at IS NULL"))
    op.drop_index('ix_customer_phones', table_name='customer', postgresql_using='gin')
    op.drop_index('ix_customer_owner_id', table_name='customer')
    op.drop_index('ix_customer_name_norm_trgm', table_name='customer', postgresql_using='gin', postgresql_ops={'name_norm': 'gin_trgm_ops'})
    op.drop_index('ix_customer_group_id_name_id', table_name='customer')
    op.drop_index('ix_customer_group_id_id_number', table_name='customer')
    op.drop_index('ix_customer_group_id_email', table_name='customer')
    op.drop_index('ix_customer_group_id_credit_code', table_name='customer')
    op.drop_index('ix_customer_group_id_created_at_id', table_name='customer')
    op.drop_index('ix_customer_company_id_pooled_at_id', table_name='customer', postgresql_where=sa.text("status = 'pool'"))
    op.drop_index('ix_customer_company_id_created_at_id', table_name='customer')
    op.drop_table('customer')
    op.drop_index('ix_contact_owner_id', table_name='contact')
    op.drop_index('ix_contact_group_id_office_phone', table_name='contact')
    op.drop_index('ix_contact_group_id_name', table_name='contact')
    op.drop_index('ix_contact_group_id_mobile', table_name='contact')
    op.drop_index('ix_contact_group_id_id_number', table_name='contact')
    op.drop_index('ix_contact_group_id_email', table_name='contact')
    op.drop_index('ix_contact_group_id_created_at_id', table_name='contact')
    op.drop_table('contact')
    op.drop_table('pool_rule')
    # Other schemas may use pg_trgm too; only drop it when nothing depends on it any more.
    op.execute("""
        DO $$
        BEGIN
            DROP EXTENSION IF EXISTS pg_trgm;
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'pg_trgm kept: other objects use it';
        END $$
    """)
