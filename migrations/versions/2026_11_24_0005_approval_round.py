"""approval rounds: every submission's snapshot and outcome, kept across resubmissions

Backfill: each round an instance went through, from its submit action (which recorded the
snapshot and flow version number); the current round from the instance itself. A past round
ended by its last reject or withdraw action. An instance without any submit action gets its
current round only.

Revision ID: approval_round
Revises: 0003
Create Date: 2026-11-24 04:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "approval_round"
down_revision: str | Sequence[str] | None = "login_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('approval_round',
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('flow_version_id', sa.Uuid(), nullable=True),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("outcome IN ('pending', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_approval_round_outcome_valid')),
    sa.ForeignKeyConstraint(['flow_version_id'], ['approval_flow_version.id'], name=op.f('fk_approval_round_flow_version_id_approval_flow_version')),
    sa.ForeignKeyConstraint(['instance_id'], ['approval_instance.id'], name=op.f('fk_approval_round_instance_id_approval_instance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_round')),
    sa.UniqueConstraint('instance_id', 'round', name=op.f('uq_approval_round_instance_id_round'))
    )
    op.execute("""
        WITH submits AS (
            SELECT DISTINCT ON (instance_id, round) instance_id, round, data, created_at
            FROM approval_action WHERE action = 'submit'
            ORDER BY instance_id, round, created_at
        ), ends AS (
            SELECT DISTINCT ON (instance_id, round) instance_id, round, action, created_at
            FROM approval_action WHERE action IN ('reject', 'withdraw')
            ORDER BY instance_id, round, created_at DESC
        )
        INSERT INTO approval_round (id, instance_id, round, flow_version_id, snapshot, submitted_at, outcome,
                                    decided_at)
        SELECT gen_random_uuid(), s.instance_id, s.round,
               CASE WHEN s.round = i.round THEN i.flow_version_id ELSE v.id END,
               CASE WHEN s.round = i.round THEN i.snapshot
                    ELSE COALESCE(s.data -> 'snapshot', '{}'::jsonb) END,
               CASE WHEN s.round = i.round THEN i.submitted_at ELSE s.created_at END,
               CASE WHEN s.round = i.round THEN i.status
                    WHEN e.action = 'withdraw' THEN 'withdrawn' ELSE 'rejected' END,
               CASE WHEN s.round = i.round THEN i.decided_at ELSE e.created_at END
        FROM submits s
        JOIN approval_instance i ON i.id = s.instance_id AND s.round <= i.round
        LEFT JOIN ends e ON e.instance_id = s.instance_id AND e.round = s.round
        LEFT JOIN approval_flow_version v
               ON v.flow_id = i.flow_id AND v.number::text = s.data ->> 'flow_version'
    """)
    op.execute("""
        INSERT INTO approval_round (id, instance_id, round, flow_version_id, snapshot, submitted_at, outcome,
                                    decided_at)
        SELECT gen_random_uuid(), i.id, i.round, i.flow_version_id, i.snapshot, i.submitted_at, i.status,
               i.decided_at
        FROM approval_instance i
        WHERE NOT EXISTS (SELECT 1 FROM approval_round r WHERE r.instance_id = i.id AND r.round = i.round)
    """)


def downgrade() -> None:
    op.drop_table('approval_round')
