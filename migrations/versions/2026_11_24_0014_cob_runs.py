"""cob_run: the close of business's run records (issue 11)

Revision ID: cob_runs
Revises: ledger_state
Create Date: 2026-11-24 09:50:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'cob_runs'
down_revision: str | Sequence[str] | None = 'ledger_state'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cob_run',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('contracts', sa.Integer(), nullable=False),
    sa.Column('entries_posted', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_cob_run_actor_id_app_user')),
    sa.ForeignKeyConstraint(['group_id'], ['org_group.id'], name=op.f('fk_cob_run_group_id_org_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cob_run'))
    )
    op.create_index('ix_cob_run_group_id_started_at_id', 'cob_run', ['group_id', 'started_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cob_run_group_id_started_at_id', table_name='cob_run')
    op.drop_table('cob_run')
