"""The application's PostgreSQL role can append to the ledger and nothing more."""

from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="roles and privileges are PostgreSQL's"
)


@pytest.fixture
def app_role(db):
    # CREATE ROLE and GRANT are transactional: the test's rollback removes them again.
    role = f"tessera_app_test_{os.getpid()}"
    call_command("audit_db_roles", app_role=role, create=True)
    return role


def denied(sql: str) -> str:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError as exc:
        return str(exc)
    return ""


@pytest.fixture
def as_app(app_role):
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{app_role}"')
    yield app_role
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def test_the_app_role_appends_events(as_app):
    event = ledger.append(event_type=EventType.ADMIN_ACTION, payload={"as": "app"})
    assert AuditEvent.objects.get(seq=event.seq).payload == {"as": "app"}


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET actor_id = 'x'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
        "UPDATE audit_checkpoint SET root_hash = 'x'",
        "DELETE FROM audit_checkpoint",
        "UPDATE audit_pendingevent SET payload = '{}'",
        "TRUNCATE audit_pendingevent",
    ],
)
def test_the_app_role_lacks_the_privilege_to_rewrite(as_app, sql):
    assert "permission denied" in denied(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
        "DROP TRIGGER audit_auditevent_append_only ON audit_auditevent",
        "ALTER TABLE audit_auditevent OWNER TO CURRENT_USER",
        "SET session_replication_role = replica",
    ],
)
def test_the_app_role_cannot_lift_the_triggers(as_app, sql):
    message = denied(sql)
    assert "must be owner" in message or "permission denied" in message, message


def test_check_reports_a_role_that_may_update_the_ledger(app_role):
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT UPDATE ON audit_auditevent TO "{app_role}"')
    with pytest.raises(CommandError, match="has UPDATE on audit_auditevent"):
        call_command("audit_db_roles", app_role=app_role, check=True)


def test_check_passes_after_set_up(app_role, capsys):
    call_command("audit_db_roles", app_role=app_role, check=True)
    assert "may not update, delete, truncate or own it" in capsys.readouterr().out


def test_sql_can_be_printed_for_a_dba(db, capsys):
    call_command("audit_db_roles", app_role="tessera_app", sql=True)
    out = capsys.readouterr().out
    assert 'REVOKE UPDATE, DELETE ON audit_auditevent, audit_checkpoint FROM "tessera_app"' in out
