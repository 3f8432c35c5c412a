"""login throttle: failed-login counters per address / username, shared by every worker

Revision ID: login_throttle
Revises: 0003
Create Date: 2026-11-24 04:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "login_throttle"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_index('ix_login_throttle_window_start', 'login_throttle', ['window_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_throttle_window_start', table_name='login_throttle')
    op.drop_table('login_throttle')
