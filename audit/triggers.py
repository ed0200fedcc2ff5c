"""Database triggers that make the ledger append-only, per vendor (installed by migrations).

- `audit_auditevent` and `audit_checkpoint`: every UPDATE, DELETE and (PostgreSQL) TRUNCATE
  statement is rejected.
- `audit_pendingevent`: UPDATE and TRUNCATE are rejected; a DELETE is accepted only for rows
  that are already in the ledger with the same content (`pending_id` and every copied field),
  so a queued event can leave the queue only by being chained, never by being dropped.

Only the tables' owner (or a superuser) can drop or disable a trigger; `audit_db_roles` sets
up an application role that owns nothing. Migrations import these statements; if they ever
change, add a new migration that drops and recreates them.
"""

from __future__ import annotations

# ruff: noqa: S608  (fixed table and column names, no input)

APPEND_ONLY_TABLES = ("audit_auditevent", "audit_checkpoint")
PENDING_TABLE = "audit_pendingevent"
# The event columns a pending row carries into the ledger (all but seq, prev_hash, hash).
EVENT_COLUMNS = (
    "occurred_at",
    "event_type",
    "actor_id",
    "actor_kind",
    "target_type",
    "target_id",
    "payload",
    "request_id",
    "client_addr",
)

POSTGRESQL_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    *[
        statement
        for table in APPEND_ONLY_TABLES
        for statement in (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()",
        )
    ],
    f"CREATE TRIGGER {PENDING_TABLE}_no_update BEFORE UPDATE ON {PENDING_TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()",
    f"CREATE TRIGGER {PENDING_TABLE}_no_truncate BEFORE TRUNCATE ON {PENDING_TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()",
    f"""
    CREATE OR REPLACE FUNCTION audit_pending_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM gone g LEFT JOIN audit_auditevent e ON e.pending_id = g.id
            WHERE e.seq IS NULL
               OR ({", ".join(f"e.{c}" for c in EVENT_COLUMNS)})
                  IS DISTINCT FROM ({", ".join(f"g.{c}" for c in EVENT_COLUMNS)})
        ) THEN
            RAISE EXCEPTION 'audit: a pending event may only be deleted once it is in the ledger'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"CREATE TRIGGER {PENDING_TABLE}_delete_guard AFTER DELETE ON {PENDING_TABLE} "
    f"REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
    f"EXECUTE FUNCTION audit_pending_delete_guard()",
]

POSTGRESQL_REMOVE = [
    *[
        f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}"
        for table in APPEND_ONLY_TABLES
        for name in ("append_only", "no_truncate")
    ],
    *[
        f"DROP TRIGGER IF EXISTS {PENDING_TABLE}_{name} ON {PENDING_TABLE}"
        for name in ("no_update", "no_truncate", "delete_guard")
    ],
    "DROP FUNCTION IF EXISTS audit_pending_delete_guard()",
    "DROP FUNCTION IF EXISTS audit_reject_change()",
]

SQLITE_INSTALL = [
    *[
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit ledger is append-only: {op} on {table} "
        f"is not allowed'); END"
        for table in APPEND_ONLY_TABLES
        for op in ("UPDATE", "DELETE")
    ],
    f"CREATE TRIGGER {PENDING_TABLE}_no_update BEFORE UPDATE ON {PENDING_TABLE} "
    f"BEGIN SELECT RAISE(ABORT, 'audit ledger is append-only: UPDATE on {PENDING_TABLE} "
    f"is not allowed'); END",
    f"CREATE TRIGGER {PENDING_TABLE}_delete_guard BEFORE DELETE ON {PENDING_TABLE} "
    f"WHEN NOT EXISTS (SELECT 1 FROM audit_auditevent e WHERE e.pending_id = OLD.id AND "
    + " AND ".join(f"e.{c} IS OLD.{c}" for c in EVENT_COLUMNS)
    + ") BEGIN SELECT RAISE(ABORT, 'audit: a pending event may only be deleted once it is in "
    "the ledger'); END",
]

SQLITE_TRIGGER_NAMES = [
    *[f"{table}_no_{op}" for table in APPEND_ONLY_TABLES for op in ("update", "delete")],
    f"{PENDING_TABLE}_no_update",
    f"{PENDING_TABLE}_delete_guard",
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES]


def install(schema_editor) -> None:
    for statement in _statements(schema_editor.connection.vendor, install=True):
        schema_editor.execute(statement, params=None)


def remove(schema_editor) -> None:
    for statement in _statements(schema_editor.connection.vendor, install=False):
        schema_editor.execute(statement, params=None)


def _statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL_INSTALL if install else POSTGRESQL_REMOVE
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
    raise NotImplementedError(f"audit ledger triggers are not written for {vendor}")
