"""Set up (or check) the PostgreSQL role the application runs as, so that not even the
application's own database role can rewrite the ledger.

The role set-up, with the database and its tables owned by a separate owner role that runs the
migrations (and nothing else):

    tessera_owner  owns every table, runs `manage.py migrate`; never used by the running app
    tessera_app    LOGIN; SELECT/INSERT/UPDATE/DELETE on ordinary tables; on the ledger
                   (audit_auditevent, audit_checkpoint) only SELECT and INSERT; on the queue
                   (audit_pendingevent) SELECT, INSERT and DELETE (the delete trigger admits
                   only rows already chained); no TRUNCATE, REFERENCES or TRIGGER anywhere;
                   owns nothing, so it cannot drop or disable a trigger; not a superuser and
                   not a member of the owner role.

Run as the owner (or a superuser):  manage.py audit_db_roles --app-role tessera_app
Print the SQL instead:               manage.py audit_db_roles --app-role tessera_app --sql
Check an existing set-up:            manage.py audit_db_roles --app-role tessera_app --check
The app role's password is not handled here: set it with ALTER ROLE out of band.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.models import AuditEvent, Checkpoint, PendingEvent

LEDGER_TABLES = (AuditEvent._meta.db_table, Checkpoint._meta.db_table)
QUEUE_TABLE = PendingEvent._meta.db_table


def _ident(name: str) -> str:
    return connection.ops.quote_name(name)


def setup_sql(app_role: str) -> list[str]:
    role = _ident(app_role)
    ledger = ", ".join(LEDGER_TABLES)
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE UPDATE, DELETE ON {ledger} FROM {role}",
        f"REVOKE UPDATE ON {QUEUE_TABLE} FROM {role}",
        # Tables created by later migrations (run by the owner) get the ordinary grants.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]


def problems(app_role: str) -> list[str]:
    """What is wrong with the app role's set-up (empty when it is right)."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [app_role])
        row = cursor.fetchone()
        if row is None:
            return [f"role {app_role} does not exist"]
        if row[0] or row[1]:
            found.append(f"{app_role} is a superuser or bypasses row security")
        for table in (*LEDGER_TABLES, QUEUE_TABLE):
            cursor.execute(
                "SELECT tableowner, pg_has_role(%s, tableowner, 'MEMBER') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename = %s",
                [app_role, table],
            )
            owner = cursor.fetchone()
            if owner is None:
                found.append(f"table {table} is missing (run migrate first)")
                continue
            if owner[1]:
                found.append(f"{app_role} owns {table} (or is a member of its owner {owner[0]})")
            forbidden = ["TRUNCATE", "REFERENCES", "TRIGGER", "UPDATE"]
            if table in LEDGER_TABLES:
                forbidden.append("DELETE")
            for privilege in forbidden:
                cursor.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", [app_role, table, privilege]
                )
                if cursor.fetchone()[0]:
                    found.append(f"{app_role} has {privilege} on {table}")
            for privilege in ("SELECT", "INSERT"):
                cursor.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", [app_role, table, privilege]
                )
                if not cursor.fetchone()[0]:
                    found.append(f"{app_role} lacks {privilege} on {table}")
    return found


class Command(BaseCommand):
    help = "Grant the application's PostgreSQL role everything but rewriting the audit ledger."

    def add_arguments(self, parser):
        parser.add_argument("--app-role", required=True)
        parser.add_argument("--create", action="store_true", help="CREATE ROLE ... LOGIN first")
        parser.add_argument("--sql", action="store_true", help="print the SQL, change nothing")
        parser.add_argument("--check", action="store_true", help="only check the set-up")

    def handle(self, *args, app_role: str, create: bool, sql: bool, check: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("audit_db_roles is for PostgreSQL (SQLite has no roles).")
        statements = setup_sql(app_role)
        if create:
            statements.insert(0, f"CREATE ROLE {_ident(app_role)} LOGIN")
        if sql:
            self.stdout.write(";\n".join(statements) + ";")
            return
        if not check:
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        found = problems(app_role)
        if found:
            raise CommandError("; ".join(found))
        self.stdout.write(
            f"{app_role}: may read and append to the ledger, may not update, delete, truncate "
            f"or own it"
        )
