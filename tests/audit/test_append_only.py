"""The database itself refuses to rewrite the ledger, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction

from audit import ledger
from audit.checkpoints import checkpoint_sign
from audit.choices import EventType
from audit.models import AuditEvent, Checkpoint, PendingEvent

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="TRUNCATE triggers exist on PostgreSQL only"
)


@pytest.fixture
def event(db):
    return ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 1})


def refused(sql: str, params=None) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        assert "append-only" in str(exc) or "only be deleted" in str(exc), exc
        return True
    return False


def test_updating_a_ledger_row_is_refused(event):
    assert refused("UPDATE audit_auditevent SET payload = '{}' WHERE seq = %s", [event.seq])
    event.refresh_from_db()
    assert event.payload == {"n": 1}


def test_deleting_a_ledger_row_is_refused(event):
    assert refused("DELETE FROM audit_auditevent WHERE seq = %s", [event.seq])
    assert AuditEvent.objects.filter(seq=event.seq).exists()


def test_orm_update_and_delete_are_refused_too(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=event.seq).update(actor_id="someone-else")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=event.seq).delete()
    assert AuditEvent.objects.get(seq=event.seq).actor_id == event.actor_id


@postgres_only
def test_truncating_the_ledger_is_refused(event):
    assert refused("TRUNCATE audit_auditevent")
    assert refused("TRUNCATE audit_checkpoint")
    assert refused("TRUNCATE audit_pendingevent")
    assert AuditEvent.objects.exists()


def test_checkpoints_cannot_be_changed_or_deleted(event):
    checkpoint = checkpoint_sign()
    assert refused("UPDATE audit_checkpoint SET root_hash = 'x' WHERE id = %s", [checkpoint.pk])
    assert refused("DELETE FROM audit_checkpoint WHERE id = %s", [checkpoint.pk])
    assert Checkpoint.objects.get(pk=checkpoint.pk).root_hash == checkpoint.root_hash


def test_a_queued_event_cannot_be_edited_or_dropped_before_it_is_chained(db, settings):
    settings.AUDIT_SEQUENCING = ledger.BATCHED
    queued = ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 2})
    assert refused("UPDATE audit_pendingevent SET payload = '{}' WHERE id = %s", [queued.pk])
    assert refused("DELETE FROM audit_pendingevent WHERE id = %s", [queued.pk])
    assert ledger.flush() == 1
    assert AuditEvent.objects.get(pending_id=queued.pk).payload == {"n": 2}


def test_no_ledger_model_has_a_foreign_key_that_could_cascade_or_set_null():
    for model in (AuditEvent, Checkpoint, PendingEvent):
        relations = [f.name for f in model._meta.get_fields() if f.is_relation]
        assert relations == [], f"{model.__name__} has relations {relations}"


def test_the_auditors_group_may_view_the_ledger(db):
    group = Group.objects.get(name="auditors")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_auditevent", "view_checkpoint"} <= codenames
    assert not any(c.startswith(("add_", "change_", "delete_")) for c in codenames)
