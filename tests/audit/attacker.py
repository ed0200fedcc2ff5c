"""What someone who owns the tables (or a superuser) can do: run statements with the ledger's
append-only triggers lifted. Used by the tamper tests, and by tests/conftest.py so that
pytest-django's flush between transactional tests may empty the ledger of the test database."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection as default_connection

from audit import triggers


@contextmanager
def triggers_lifted(connection=None):
    connection = connection or default_connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Needs superuser (the test database's user is postgres); the application role of
            # a real deployment cannot do this, nor drop the triggers of a table it does not own.
            cursor.execute("SET session_replication_role = replica")
            try:
                yield
            finally:
                cursor.execute("SET session_replication_role = DEFAULT")
        else:
            for statement in triggers.SQLITE_REMOVE:
                cursor.execute(statement)
            try:
                yield
            finally:
                for statement in triggers.SQLITE_INSTALL:
                    cursor.execute(statement)


def raw(sql: str, params=None) -> int:
    """Run one statement as the attacker would, with the triggers lifted; return its row count."""
    with triggers_lifted(), default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
