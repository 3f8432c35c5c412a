"""field_sync: the field sync's change log (`sync_change`) and the triggers that write it (issue 14)

Every table whose rows a collector's phone keeps gets an AFTER trigger that records, per user the
row belongs to before or after the write, (user, kind, id, the writing transaction's xid8). Triggers
rather than service hooks: no write path (set-based close of business, handovers, the engine's
effects) can forget one. Each costs one small insert per affected user.

`sync_track_owner(kind, owner column, id column)` is generic (for the low-volume tables and for
areas that come later), e.g.:

    CREATE TRIGGER sync_track AFTER INSERT OR UPDATE OR DELETE ON lock_request
        FOR EACH ROW EXECUTE FUNCTION sync_track_owner('lock_request', 'requester_id', 'id');

Chained after `reports` at merge.

Revision ID: field_sync
Revises: reports
Create Date: 2026-11-24 12:40:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'field_sync'
down_revision: str | Sequence[str] | None = 'reports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

XID = "pg_current_xact_id()::text::bigint"


def _to_collectors(what: str, where: str, *, source: str = "collection_case c", declare: str = "",
                   prelude: str = "") -> str:
    """A trigger body recording `what` (kind, id) for the collector of each open case `where` picks."""
    return f"""
{declare}
BEGIN
    {prelude}
    INSERT INTO sync_change (user_id, kind, entity_id, xid)
    SELECT DISTINCT c.collector_id, {what}, {XID} FROM {source}
    WHERE {where} AND c.state = 'open' AND c.collector_id IS NOT NULL;
    RETURN NULL;
END"""


FUNCTIONS = {
    # A generic owner-tracking trigger: the row's owner before and after the write.
    "sync_track_owner": f"""
DECLARE old_owner uuid; new_owner uuid; entity uuid;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_owner := (to_jsonb(OLD) ->> TG_ARGV[1])::uuid; entity := (to_jsonb(OLD) ->> TG_ARGV[2])::uuid;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_owner := (to_jsonb(NEW) ->> TG_ARGV[1])::uuid; entity := (to_jsonb(NEW) ->> TG_ARGV[2])::uuid;
    END IF;
    INSERT INTO sync_change (user_id, kind, entity_id, xid)
    SELECT DISTINCT u, TG_ARGV[0], entity, {XID} FROM unnest(ARRAY[old_owner, new_owner]) AS u WHERE u IS NOT NULL;
    RETURN NULL;
END""",
    # A case: its collector before and after; when it moves or opens/closes, its customer too.
    "sync_track_case": f"""
DECLARE previous uuid; moved boolean := true;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        previous := OLD.collector_id;
        moved := OLD.collector_id IS DISTINCT FROM NEW.collector_id OR OLD.state IS DISTINCT FROM NEW.state;
    END IF;
    INSERT INTO sync_change (user_id, kind, entity_id, xid)
    SELECT DISTINCT u, k.kind, CASE k.kind WHEN 'case' THEN NEW.id ELSE NEW.customer_id END, {XID}
    FROM unnest(ARRAY[previous, NEW.collector_id]) AS u,
         unnest(CASE WHEN moved THEN ARRAY['case', 'customer'] ELSE ARRAY['case'] END) AS k(kind)
    WHERE u IS NOT NULL;
    RETURN NULL;
END""",
    # A log: its author's.
    "sync_track_log": f"""
BEGIN
    INSERT INTO sync_change (user_id, kind, entity_id, xid) VALUES (NEW.author_id, 'log', NEW.id, {XID});
    RETURN NULL;
END""",
    # The money figures a case shows (DPD, bucket, overdue) live on the contract's account.
    "sync_track_account": _to_collectors("'case', c.id", "c.contract_id = NEW.contract_id"),
    # The case shows its active promise's state.
    "sync_track_promise": _to_collectors("'case', c.id", "c.id = NEW.case_id"),
    # A customer (and its contacts, shown with it) belongs to the collectors of its open cases.
    "sync_track_customer": _to_collectors(
        "'customer', c.customer_id", "c.customer_id = linked", declare="DECLARE linked uuid;",
        prelude="IF TG_OP = 'DELETE' THEN linked := OLD.customer_id; ELSE linked := NEW.customer_id; END IF;"),
    "sync_track_customer_self": _to_collectors("'customer', c.customer_id", "c.customer_id = NEW.id"),
    "sync_track_contact": _to_collectors(
        "'customer', c.customer_id", "l.contact_id = NEW.id",
        source="customer_contact l JOIN collection_case c ON c.customer_id = l.customer_id"),
}

# (table, trigger events, function, arguments)
TRIGGERS = (
    ("collection_case", "INSERT OR UPDATE", "sync_track_case", ""),
    ("collection_log", "INSERT OR UPDATE", "sync_track_log", ""),
    ("ledger_account", "UPDATE OF dpd, bucket, overdue_amount", "sync_track_account", ""),  # WHEN below
    ("promise_to_pay", "INSERT OR UPDATE", "sync_track_promise", ""),
    ("customer", "UPDATE", "sync_track_customer_self", ""),
    ("contact", "UPDATE", "sync_track_contact", ""),
    ("customer_contact", "INSERT OR UPDATE OR DELETE", "sync_track_customer", ""),
    ("interest_waiver", "INSERT OR UPDATE OR DELETE", "sync_track_owner", "'interest_waiver', 'requester_id', 'id'"),
    ("settlement_request", "INSERT OR UPDATE OR DELETE", "sync_track_owner",
     "'settlement_request', 'requester_id', 'id'"),
    ("tow_request", "INSERT OR UPDATE OR DELETE", "sync_track_owner", "'tow_request', 'requester_id', 'id'"),
    ("lock_request", "INSERT OR UPDATE OR DELETE", "sync_track_owner", "'lock_request', 'requester_id', 'id'"),
    ("unlock_request", "INSERT OR UPDATE OR DELETE", "sync_track_owner", "'unlock_request', 'requester_id', 'id'"),
    ("tow_task", "INSERT OR UPDATE", "sync_track_owner", "'tow_task', 'assignee_id', 'id'"),
    ("approval_assignment", "INSERT OR UPDATE OR DELETE", "sync_track_owner",
     "'approval', 'user_id', 'instance_id'"),
    ("notification", "INSERT OR UPDATE", "sync_track_owner", "'notification', 'user_id', 'id'"),
)

# The close of business rewrites every account: record a change only when what a case shows moved.
WHEN = {"ledger_account": "WHEN (OLD.dpd IS DISTINCT FROM NEW.dpd OR OLD.bucket IS DISTINCT FROM NEW.bucket "
                          "OR OLD.overdue_amount IS DISTINCT FROM NEW.overdue_amount) "}


def upgrade() -> None:
    op.create_table('sync_change',
    sa.Column('seq', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('xid', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_sync_change'))
    )
    op.create_index('ix_sync_change_changed_at', 'sync_change', ['changed_at'], unique=False)
    op.create_index('ix_sync_change_user_id_seq', 'sync_change', ['user_id', 'seq'], unique=False)
    op.create_index('ix_sync_change_user_id_xid', 'sync_change', ['user_id', 'xid'], unique=False)
    op.create_index('ix_collection_case_customer_id_open', 'collection_case', ['customer_id'], unique=False,
                    postgresql_where=sa.text("state = 'open'"))
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
    for table, events, function, args in TRIGGERS:
        when = WHEN.get(table, "")
        op.execute(f"CREATE TRIGGER sync_track AFTER {events} ON {table} FOR EACH ROW {when}"
                   f"EXECUTE FUNCTION {function}({args})")


def downgrade() -> None:
    for table, _, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER sync_track ON {table}")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_index('ix_collection_case_customer_id_open', table_name='collection_case')
    op.drop_index('ix_sync_change_user_id_xid', table_name='sync_change')
    op.drop_index('ix_sync_change_user_id_seq', table_name='sync_change')
    op.drop_index('ix_sync_change_changed_at', table_name='sync_change')
    op.drop_table('sync_change')
