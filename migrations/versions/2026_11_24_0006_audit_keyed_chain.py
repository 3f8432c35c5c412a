"""audit chain keyed (HMAC) and anchored by checkpoints; the app's role may not rewrite append-only tables

Existing events are re-chained here: the old plain-SHA-256 chain is verified first (the upgrade
stops if it is already broken, so tampering is never laundered), then every row gets its HMAC.
One rule for every row means no "old scheme" an attacker could downgrade rows to. Each group's
new head is checkpointed. The downgrade does the reverse (verify the HMACs, re-chain plainly).

The app's role (DATABASE_APP_ROLE) gets SELECT/INSERT/UPDATE/DELETE on every table and sequence,
now and, through default privileges, on tables later migrations create as this owner; the
append-only tables then lose UPDATE, DELETE and TRUNCATE. A later append-only table (the ledger)
must REVOKE those itself in its migration.

Revision ID: audit_keyed_chain
Revises: 0003
Create Date: 2026-11-24 04:00:00+00:00
"""
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.core.config import get_settings

revision: str = "audit_keyed_chain"
down_revision: str | Sequence[str] | None = "approval_round"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("audit_event", "audit_checkpoint")
GENESIS = "0" * 64

CHECKPOINT_APPEND_ONLY = (
    """
    CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
        FOR EACH ROW EXECUTE FUNCTION append_only()
    """,
    """
    CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
        FOR EACH STATEMENT EXECUTE FUNCTION append_only()
    """,
)

# Frozen copies of the hashing rules (a migration must not change when app code does later).
_events = sa.table(
    "audit_event",
    sa.column("seq", sa.BigInteger), sa.column("id", sa.UUID), sa.column("group_id", sa.UUID),
    sa.column("company_id", sa.UUID), sa.column("actor_id", sa.UUID), sa.column("action", sa.String),
    sa.column("entity_type", sa.String), sa.column("entity_id", sa.String),
    sa.column("before", postgresql.JSONB), sa.column("after", postgresql.JSONB),
    sa.column("request_id", sa.String), sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)


def _canonical(prev_hash: str, event: Any) -> bytes:
    return json.dumps(
        {
            "prev": prev_hash,
            "id": str(event["id"]),
            "group_id": str(event["group_id"]),
            "company_id": None if event["company_id"] is None else str(event["company_id"]),
            "actor_id": None if event["actor_id"] is None else str(event["actor_id"]),
            "action": event["action"],
            "entity_type": event["entity_type"],
            "entity_id": event["entity_id"],
            "before": event["before"],
            "after": event["after"],
            "request_id": event["request_id"],
            "occurred_at": event["occurred_at"].isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def plain_hash(prev_hash: str, event: Any) -> str:
    return hashlib.sha256(_canonical(prev_hash, event)).hexdigest()


def keyed_hash(key: bytes) -> Callable[[str, Any], str]:
    return lambda prev_hash, event: hmac.new(key, _canonical(prev_hash, event), hashlib.sha256).hexdigest()


def _rechain(old: Callable[[str, Any], str], new: Callable[[str, Any], str], batch: int = 2000) -> dict:
    """Verify each group's chain under `old`, rewrite it under `new`; return the new heads."""
    conn = op.get_bind()
    heads = {}
    groups = conn.execute(sa.select(_events.c.group_id).distinct()).scalars().all()
    if not groups:
        return heads
    conn.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    for group_id in groups:
        old_prev, new_prev, last_seq = GENESIS, GENESIS, 0
        while True:
            rows = conn.execute(
                sa.select(_events).where(_events.c.group_id == group_id, _events.c.seq > last_seq)
                .order_by(_events.c.seq).limit(batch)
            ).mappings().all()
            if not rows:
                break
            updates = []
            for row in rows:
                if row["prev_hash"] != old_prev or old(old_prev, row) != row["hash"]:
                    raise RuntimeError(
                        f"audit chain of group {group_id} is broken at seq {row['seq']} before re-chaining; "
                        "investigate (scripts/verify-audit on the previous release) before migrating")
                digest = new(new_prev, row)
                updates.append({"s": row["seq"], "p": new_prev, "h": digest})
                old_prev, new_prev, last_seq = row["hash"], digest, row["seq"]
            conn.execute(sa.text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"), updates)
        heads[group_id] = (last_seq, new_prev)
    conn.execute(sa.text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    return heads


def _app_role() -> str | None:
    """The app's role, created (without LOGIN) if missing; None when it is this owner itself."""
    conn = op.get_bind()
    role = get_settings().database_app_role  # validated as a plain lower-case identifier
    if conn.scalar(sa.text("SELECT current_user")) == role:
        return None
    if not conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        if not conn.scalar(sa.text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")):
            raise RuntimeError(f"role {role} does not exist: CREATE ROLE {role} LOGIN PASSWORD '...' "
                               "(or set DATABASE_APP_ROLE), then migrate again")
        # The DBA gives it LOGIN and a password (the embedded server creates it with LOGIN).
        op.execute(f'CREATE ROLE "{role}" NOLOGIN')
    return role


def upgrade() -> None:
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )
    op.create_index('ix_audit_checkpoint_group_id_seq', 'audit_checkpoint', ['group_id', 'seq'], unique=False)
    for statement in CHECKPOINT_APPEND_ONLY:
        op.execute(statement)

    heads = _rechain(plain_hash, keyed_hash(get_settings().audit_key()))
    if heads:
        op.get_bind().execute(
            sa.text("INSERT INTO audit_checkpoint (group_id, seq, hash) VALUES (:g, :s, :h)"),
            [{"g": g, "s": s, "h": h} for g, (s, h) in heads.items()])

    role = _app_role()
    if role is not None:
        op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"')
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}"')
        op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON {", ".join(APPEND_ONLY_TABLES)} FROM "{role}"')
        op.execute(f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM "{role}"')


def downgrade() -> None:
    role = get_settings().database_app_role
    conn = op.get_bind()
    if conn.scalar(sa.text("SELECT current_user")) != role and conn.scalar(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        # The role itself stays: roles are cluster-wide and other databases may use it.
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM "{role}"')
        op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM "{role}"')
        op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
        op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"')
        op.execute(f'REVOKE USAGE ON SCHEMA public FROM "{role}"')

    _rechain(keyed_hash(get_settings().audit_key()), plain_hash)
    op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint")
    op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint")
    op.execute("DROP FUNCTION IF EXISTS append_only()")
    op.drop_index('ix_audit_checkpoint_group_id_seq', table_name='audit_checkpoint')
    op.drop_table('audit_checkpoint')
