"""authz stamps: what a cached principal is validated against on every request (issue 16)

Each worker caches resolved principals (app/core/principal.py) and checks them on every request
with one primary-key query against `authz_stamp`: the user's own stamp and their group's. The
stamps are bumped by triggers, in the same transaction as the change, so that no code path (the
org service, login lockout, scripts/unlock-user, handover, demo data, a hand-written UPDATE) can
change who somebody is without invalidating every worker's copy:

- per user (`subject_id` = the user): lock, unlock, disable, password, username, company or
  department move; a role granted or taken away; a permission override;
- per group (`subject_id` = the group): a role's permissions, scope, rank or administrator flag;
  a department created, moved or deleted (department-tree scopes change); a company created or
  deleted; a role deleted.

A bump takes a fresh value from one sequence rather than adding one: sequences never go back, so
a bump rolled back can never reappear later as the same stamp under a different state.

Revision ID: authz_stamp
Revises: expense_client_ref
Create Date: 2026-11-24 06:40:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "authz_stamp"
down_revision: str | Sequence[str] | None = "expense_client_ref"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, trigger suffix, events, WHEN condition or None, column naming the subject)
TRIGGERS = (
    ("app_user", "update", "UPDATE OF is_active, locked_at, password_hash, username, group_id, company_id, "
     "department_id",
     "OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.locked_at IS DISTINCT FROM NEW.locked_at "
     "OR OLD.password_hash IS DISTINCT FROM NEW.password_hash OR OLD.username IS DISTINCT FROM NEW.username "
     "OR OLD.group_id IS DISTINCT FROM NEW.group_id OR OLD.company_id IS DISTINCT FROM NEW.company_id "
     "OR OLD.department_id IS DISTINCT FROM NEW.department_id", "id"),
    ("user_role", "change", "INSERT OR UPDATE OR DELETE", None, "user_id"),
    ("user_permission", "change", "INSERT OR UPDATE OR DELETE", None, "user_id"),
    ("role", "update", "UPDATE OF permissions, scope_kind, scope_company_ids, rank, is_system_admin, group_id",
     "OLD.permissions IS DISTINCT FROM NEW.permissions OR OLD.scope_kind IS DISTINCT FROM NEW.scope_kind "
     "OR OLD.scope_company_ids IS DISTINCT FROM NEW.scope_company_ids OR OLD.rank IS DISTINCT FROM NEW.rank "
     "OR OLD.is_system_admin IS DISTINCT FROM NEW.is_system_admin OR OLD.group_id IS DISTINCT FROM NEW.group_id",
     "group_id"),
    ("role", "delete", "DELETE", None, "group_id"),
    ("department", "update", "UPDATE OF parent_id, company_id, group_id",
     "OLD.parent_id IS DISTINCT FROM NEW.parent_id OR OLD.company_id IS DISTINCT FROM NEW.company_id "
     "OR OLD.group_id IS DISTINCT FROM NEW.group_id", "group_id"),
    ("department", "insert_delete", "INSERT OR DELETE", None, "group_id"),
    ("company", "update", "UPDATE OF group_id", "OLD.group_id IS DISTINCT FROM NEW.group_id", "group_id"),
    ("company", "insert_delete", "INSERT OR DELETE", None, "group_id"),
)

FUNCTIONS = ("""
CREATE FUNCTION authz_bump(subject uuid) RETURNS void LANGUAGE sql AS $$
    INSERT INTO authz_stamp (subject_id, stamp) VALUES (subject, nextval('authz_stamp_seq'))
    ON CONFLICT (subject_id) DO UPDATE SET stamp = EXCLUDED.stamp
$$
""", """
-- TG_ARGV[0] names the column holding the subject (the user or the group) of the changed row.
CREATE FUNCTION authz_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_subject uuid;
    new_subject uuid;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_subject := (to_jsonb(OLD) ->> TG_ARGV[0])::uuid;
        PERFORM authz_bump(old_subject);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_subject := (to_jsonb(NEW) ->> TG_ARGV[0])::uuid;
        IF new_subject IS DISTINCT FROM old_subject THEN
            PERFORM authz_bump(new_subject);
        END IF;
    END IF;
    RETURN NULL;
END
$$
""")


def _name(table: str, suffix: str) -> str:
    return f"authz_touch_{table}_{suffix}"


def upgrade() -> None:
    op.execute("CREATE SEQUENCE authz_stamp_seq")
    op.create_table('authz_stamp',
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('stamp', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_authz_stamp'))
    )
    for function in FUNCTIONS:
        op.execute(function)
    for table, suffix, events, when, column in TRIGGERS:
        condition = f" WHEN ({when})" if when else ""
        op.execute(f"CREATE TRIGGER {_name(table, suffix)} AFTER {events} ON {table} FOR EACH ROW{condition} "
                   f"EXECUTE FUNCTION authz_touch('{column}')")


def downgrade() -> None:
    for table, suffix, _, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {_name(table, suffix)} ON {table}")
    op.execute("DROP FUNCTION authz_touch()")
    op.execute("DROP FUNCTION authz_bump(uuid)")
    op.drop_table('authz_stamp')
    op.execute("DROP SEQUENCE authz_stamp_seq")
