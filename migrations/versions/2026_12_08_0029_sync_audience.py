"""sync_audience: the field sync records what changed, and who receives it is one definition that the
sync also applies when it reads (issue 26).

The triggers of `field_sync` decided at write time whose phones a change went to, each in its own
way: a payment racing a reassignment went to the previous holder only, a superseded promise never
marked its log, a log with the time of the case's last one did not mark the case. Now:

- `sync_audience(kind, ids)` is the one definition of who keeps a record of a kind whose owner is
  not a column of its own row: a case, its open case's collector; a customer, the collectors of
  its open cases; a log, its author.
- `sync_changed(kind, ids)` is the one way to say those records changed, derived fields included
  (an account's figures change the case, a promise changes its case and its log, a log its case,
  a contact its customers): a row per current receiver (user_id set: what a sync reads for its
  user) and a row for the record itself (user_id NULL). A sync also reads the record rows of the
  transactions its cursor's snapshot saw running, and gives them to whoever receives those
  records now (app/field/sync.py): a change committed after a reassignment that it did not see
  still reaches the new holder.
- A change of a case's holder (or state) is an audience change: the previous holder is told of the
  case and its customer too, to get a tombstone.

Records whose owner is a column of their own row keep `sync_track_owner` (a write and a change of
owner are one row's write: the audience written is exact).

Revision ID: sync_audience
Revises: tow_conditions
Create Date: 2026-12-08 00:00:00.000000+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'sync_audience'
down_revision: str | Sequence[str] | None = 'tow_conditions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

XID = "pg_current_xact_id()::text::bigint"

HELPERS = {
    "sync_audience(p_kind text, p_ids uuid[])": """
RETURNS TABLE (user_id uuid, entity_id uuid) LANGUAGE sql STABLE AS $$
    SELECT c.collector_id, c.id FROM collection_case c
    WHERE p_kind = 'case' AND c.id = ANY(p_ids) AND c.state = 'open' AND c.collector_id IS NOT NULL
    UNION
    SELECT c.collector_id, c.customer_id FROM collection_case c
    WHERE p_kind = 'customer' AND c.customer_id = ANY(p_ids) AND c.state = 'open' AND c.collector_id IS NOT NULL
    UNION
    SELECT l.author_id, l.id FROM collection_log l WHERE p_kind = 'log' AND l.id = ANY(p_ids)
$$""",
    "sync_changed(p_kind text, p_ids uuid[])": f"""
RETURNS void LANGUAGE sql AS $$
    INSERT INTO sync_change (user_id, kind, entity_id, xid)
    SELECT a.user_id, p_kind, a.entity_id, {XID} FROM sync_audience(p_kind, p_ids) a
    UNION ALL
    SELECT NULL, p_kind, i, {XID} FROM (SELECT DISTINCT unnest(p_ids) AS i) r WHERE i IS NOT NULL
$$""",
}

FUNCTIONS = {
    "sync_track_case": f"""
BEGIN
    PERFORM sync_changed('case', ARRAY[NEW.id]);
    IF TG_OP = 'INSERT' OR OLD.collector_id IS DISTINCT FROM NEW.collector_id OR OLD.state IS DISTINCT FROM NEW.state
       OR OLD.customer_id IS DISTINCT FROM NEW.customer_id THEN
        PERFORM sync_changed('customer', ARRAY[NEW.customer_id]);
        IF TG_OP = 'UPDATE' AND OLD.collector_id IS NOT NULL THEN
            -- Who held it: told of the case and its customer (a tombstone, unless still theirs).
            INSERT INTO sync_change (user_id, kind, entity_id, xid)
            VALUES (OLD.collector_id, 'case', NEW.id, {XID}), (OLD.collector_id, 'customer', OLD.customer_id, {XID});
        END IF;
    END IF;
    RETURN NULL;
END""",
    # A log, and its case (which shows its last log).
    "sync_track_log": """
BEGIN
    PERFORM sync_changed('log', ARRAY[NEW.id]);
    PERFORM sync_changed('case', ARRAY[NEW.case_id]);
    RETURN NULL;
END""",
    # The money figures a case shows (DPD, bucket, overdue) live on the contract's account.
    "sync_track_account": """
BEGIN
    PERFORM sync_changed('case', ARRAY(SELECT c.id FROM collection_case c
                                       WHERE c.contract_id = NEW.contract_id AND c.state = 'open'));
    RETURN NULL;
END""",
    # A promise's state is shown by its case (the active promise) and by its log.
    "sync_track_promise": """
BEGIN
    PERFORM sync_changed('case', ARRAY[NEW.case_id]);
    PERFORM sync_changed('log', ARRAY[NEW.log_id]);
    RETURN NULL;
END""",
    # A customer shows its contacts.
    "sync_track_customer": """
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM sync_changed('customer', ARRAY[OLD.customer_id]);
    ELSE
        PERFORM sync_changed('customer', ARRAY[NEW.customer_id]);
    END IF;
    RETURN NULL;
END""",
    # A customer, and its open cases (which show its name).
    "sync_track_customer_self": """
BEGIN
    PERFORM sync_changed('customer', ARRAY[NEW.id]);
    IF OLD.name IS DISTINCT FROM NEW.name THEN
        PERFORM sync_changed('case', ARRAY(SELECT c.id FROM collection_case c
                                           WHERE c.customer_id = NEW.id AND c.state = 'open'));
    END IF;
    RETURN NULL;
END""",
    "sync_track_contact": """
BEGIN
    PERFORM sync_changed('customer', ARRAY(SELECT l.customer_id FROM customer_contact l WHERE l.contact_id = NEW.id));
    RETURN NULL;
END""",
}

# The bodies of migration `field_sync`, for the downgrade.
_TO_COLLECTORS = f"""
BEGIN
    {{prelude}}
    INSERT INTO sync_change (user_id, kind, entity_id, xid)
    SELECT DISTINCT c.collector_id, {{what}}, {XID} FROM {{source}}
    WHERE {{where}} AND c.state = 'open' AND c.collector_id IS NOT NULL;
    RETURN NULL;
END"""


def _to_collectors(what: str, where: str, *, source: str = "collection_case c", declare: str = "",
                   prelude: str = "") -> str:
    return declare + _TO_COLLECTORS.format(what=what, where=where, source=source, prelude=prelude)


PREVIOUS = {
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
    "sync_track_log": f"""
BEGIN
    INSERT INTO sync_change (user_id, kind, entity_id, xid) VALUES (NEW.author_id, 'log', NEW.id, {XID});
    RETURN NULL;
END""",
    "sync_track_account": _to_collectors("'case', c.id", "c.contract_id = NEW.contract_id"),
    "sync_track_promise": _to_collectors("'case', c.id", "c.id = NEW.case_id"),
    "sync_track_customer": _to_collectors(
        "'customer', c.customer_id", "c.customer_id = linked", declare="DECLARE linked uuid;",
        prelude="IF TG_OP = 'DELETE' THEN linked := OLD.customer_id; ELSE linked := NEW.customer_id; END IF;"),
    "sync_track_customer_self": _to_collectors("'customer', c.customer_id", "c.customer_id = NEW.id"),
    "sync_track_contact": _to_collectors(
        "'customer', c.customer_id", "l.contact_id = NEW.id",
        source="customer_contact l JOIN collection_case c ON c.customer_id = l.customer_id"),
}


def _replace(bodies: dict[str, str]) -> None:
    for name, body in bodies.items():
        op.execute(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")


def upgrade() -> None:
    # A record's own row (user_id NULL) says what changed; a receiver's row says it is for them.
    op.alter_column('sync_change', 'user_id', existing_type=sa.Uuid(), nullable=True)
    op.create_index('ix_sync_change_xid_record', 'sync_change', ['xid'], unique=False,
                    postgresql_where=sa.text('user_id IS NULL'))
    for signature, body in HELPERS.items():
        op.execute(f"CREATE FUNCTION {signature} {body}")
    _replace(FUNCTIONS)


def downgrade() -> None:
    _replace(PREVIOUS)
    for signature in reversed(HELPERS):
        op.execute(f"DROP FUNCTION {signature.replace('p_kind ', '').replace('p_ids ', '')}")
    op.drop_index('ix_sync_change_xid_record', table_name='sync_change', postgresql_where=sa.text('user_id IS NULL'))
    op.execute("DELETE FROM sync_change WHERE user_id IS NULL")
    op.alter_column('sync_change', 'user_id', existing_type=sa.Uuid(), nullable=False)
