"""attachment: files from the field, content-addressed by SHA-256, attached later to a record (issue 12)

Chained after `collection` (the head on main when written); the lead rechains it at merge.

Revision ID: attachments
Revises: collection
Create Date: 2026-11-24 10:20:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'attachments'
down_revision: str | Sequence[str] | None = 'collection'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('attachment',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=True),
    sa.Column('uploaded_by_id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('attached_kind', sa.String(length=40), nullable=True),
    sa.Column('attached_id', sa.Uuid(), nullable=True),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("(attached_kind IS NULL) = (attached_id IS NULL) AND (attached_kind IS NULL) = (attached_at IS NULL)", name=op.f('ck_attachment_attached_together')),
    sa.CheckConstraint("content_type IN ('image/jpeg', 'image/png', 'image/heic', 'application/pdf')", name=op.f('ck_attachment_content_type_valid')),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f('ck_attachment_sha256_hex')),
    sa.CheckConstraint('size > 0', name=op.f('ck_attachment_size_positive')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_attachment_company_id_company')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_attachment_group_id_org_group')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'], name=op.f('fk_attachment_uploaded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    op.create_index('ix_attachment_attached', 'attachment', ['attached_kind', 'attached_id'], unique=False)
    op.create_index('ix_attachment_sha256', 'attachment', ['sha256'], unique=False)
    op.create_index('ix_attachment_unattached_created_at', 'attachment', ['created_at'], unique=False, postgresql_where=sa.text('attached_kind IS NULL'))
    op.create_index('ix_attachment_uploaded_by_id', 'attachment', ['uploaded_by_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attachment_uploaded_by_id', table_name='attachment')
    op.drop_index('ix_attachment_unattached_created_at', table_name='attachment', postgresql_where=sa.text('attached_kind IS NULL'))
    op.drop_index('ix_attachment_sha256', table_name='attachment')
    op.drop_index('ix_attachment_attached', table_name='attachment')
    op.drop_table('attachment')
