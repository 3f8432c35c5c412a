"""foundation: organisation, auth, audit trail, idempotency, notifications

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 09:07:25.469967+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


AUDIT_APPEND_ONLY = (
    """
    CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
        FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """,
)


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=True),
    sa.Column('actor_id', sa.UUID(), nullable=True),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('entity_type', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=100), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('id', name=op.f('uq_audit_event_id'))
    )
    op.create_index('ix_audit_event_entity', 'audit_event', ['entity_type', 'entity_id'], unique=False)
    op.create_index('ix_audit_event_group_id_seq', 'audit_event', ['group_id', 'seq'], unique=False)
    op.create_table('org_group',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=60), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_group')),
    sa.UniqueConstraint('code', name=op.f('uq_org_group_code'))
    )
    op.create_table('company',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=60), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_company_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company')),
    sa.UniqueConstraint('group_id', 'code', name=op.f('uq_company_group_id_code'))
    )
    op.create_index(op.f('ix_company_group_id'), 'company', ['group_id'], unique=False)
    op.create_table('role',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('permissions', postgresql.ARRAY(sa.String(length=80)), nullable=False),
    sa.Column('scope_kind', sa.String(length=20), nullable=False),
    sa.Column('scope_company_ids', postgresql.ARRAY(sa.UUID()), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('is_system_admin', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("scope_kind IN ('all', 'companies', 'company', 'department_tree', 'department', 'self')", name=op.f('ck_role_scope_kind_valid')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_role_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role')),
    sa.UniqueConstraint('group_id', 'code', name=op.f('uq_role_group_id_code'))
    )
    op.create_index(op.f('ix_role_group_id'), 'role', ['group_id'], unique=False)
    op.create_table('department',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('head_user_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_department_company_id_company')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_department_group_id_org_group')),
    sa.ForeignKeyConstraint(['parent_id'], ['department.id'], name=op.f('fk_department_parent_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('company_id', 'parent_id', 'name', name=op.f('uq_department_company_id_parent_id_name'))
    )
    op.create_index(op.f('ix_department_company_id'), 'department', ['company_id'], unique=False)
    op.create_index(op.f('ix_department_group_id'), 'department', ['group_id'], unique=False)
    op.create_index(op.f('ix_department_parent_id'), 'department', ['parent_id'], unique=False)
    op.create_table('app_user',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=True),
    sa.Column('manager_id', sa.Uuid(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lock_reason', sa.String(length=200), nullable=True),
    sa.Column('failed_login_count', sa.Integer(), nullable=False),
    sa.Column('failed_login_date', sa.Date(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_app_user_company_id_company')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_app_user_department_id_department')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_app_user_group_id_org_group')),
    sa.ForeignKeyConstraint(['manager_id'], ['app_user.id'], name=op.f('fk_app_user_manager_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_index(op.f('ix_app_user_company_id'), 'app_user', ['company_id'], unique=False)
    op.create_index(op.f('ix_app_user_department_id'), 'app_user', ['department_id'], unique=False)
    op.create_index(op.f('ix_app_user_group_id'), 'app_user', ['group_id'], unique=False)
    op.create_index('ix_app_user_group_id_username', 'app_user', ['group_id', 'username'], unique=False)
    op.create_table('idempotency_record',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=2048), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_headers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('response_body', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_idempotency_record_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'key', name=op.f('pk_idempotency_record'))
    )
    op.create_index(op.f('ix_idempotency_record_expires_at'), 'idempotency_record', ['expires_at'], unique=False)
    op.create_table('notification',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('entity_type', sa.String(length=60), nullable=True),
    sa.Column('entity_id', sa.String(length=100), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_notification_group_id_org_group')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notification_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_dedupe_key'))
    )
    op.create_index('ix_notification_user_id_created_at', 'notification', ['user_id', 'created_at'], unique=False)
    op.create_table('refresh_token',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('client', sa.String(length=20), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_refresh_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_token_token_hash'))
    )
    op.create_index('ix_refresh_token_family_id', 'refresh_token', ['family_id'], unique=False)
    op.create_index(op.f('ix_refresh_token_user_id'), 'refresh_token', ['user_id'], unique=False)
    op.create_table('user_permission',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('permission', sa.String(length=80), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_permission_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'permission', name=op.f('pk_user_permission'))
    )
    op.create_table('user_role',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_user_role_role_id_role'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_role_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_role'))
    )
    op.create_index(op.f('ix_user_role_role_id'), 'user_role', ['role_id'], unique=False)
    # department ↔ app_user reference each other: this key is added once both exist.
    op.create_foreign_key("fk_department_head_user_id_app_user", "department", "app_user", ["head_user_id"], ["id"])
    for statement in AUDIT_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    op.drop_constraint("fk_department_head_user_id_app_user", "department", type_="foreignkey")
    op.drop_index(op.f('ix_user_role_role_id'), table_name='user_role')
    op.drop_table('user_role')
    op.drop_table('user_permission')
    op.drop_index(op.f('ix_refresh_token_user_id'), table_name='refresh_token')
    op.drop_index('ix_refresh_token_family_id', table_name='refresh_token')
    op.drop_table('refresh_token')
    op.drop_index('ix_notification_user_id_created_at', table_name='notification')
    op.drop_table('notification')
    op.drop_index(op.f('ix_idempotency_record_expires_at'), table_name='idempotency_record')
    op.drop_table('idempotency_record')
    op.drop_index('ix_app_user_group_id_username', table_name='app_user')
    op.drop_index(op.f('ix_app_user_group_id'), table_name='app_user')
    op.drop_index(op.f('ix_app_user_department_id'), table_name='app_user')
    op.drop_index(op.f('ix_app_user_company_id'), table_name='app_user')
    op.drop_table('app_user')
    op.drop_index(op.f('ix_department_parent_id'), table_name='department')
    op.drop_index(op.f('ix_department_group_id'), table_name='department')
    op.drop_index(op.f('ix_department_company_id'), table_name='department')
    op.drop_table('department')
    op.drop_index(op.f('ix_role_group_id'), table_name='role')
    op.drop_table('role')
    op.drop_index(op.f('ix_company_group_id'), table_name='company')
    op.drop_table('company')
    op.drop_table('org_group')
    op.drop_index('ix_audit_event_group_id_seq', table_name='audit_event')
    op.drop_index('ix_audit_event_entity', table_name='audit_event')
    op.drop_table('audit_event')
