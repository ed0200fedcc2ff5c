"""Appending: in the caller's transaction, gap-free, chained, in order, in both sequencing modes."""

from __future__ import annotations

import pytest
from django.db import transaction

from audit import ledger
from audit.canonical import GENESIS_HASH, entry_hash
from audit.choices import EventType
from audit.models import AuditEvent, PendingEvent
from governance import services
from tests import factories


def chain_is_intact() -> bool:
    prev = GENESIS_HASH
    for expected_seq, event in enumerate(AuditEvent.objects.order_by("seq").values()):
        if event["seq"] != expected_seq or event["prev_hash"] != prev:
            return False
        if entry_hash(event) != event["hash"]:
            return False
        prev = event["hash"]
    return True


@pytest.fixture
def batched(settings):
    settings.AUDIT_SEQUENCING = ledger.BATCHED


def test_inline_append_chains_the_event_before_the_caller_commits(db):
    with transaction.atomic():
        event = ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 1})
        assert AuditEvent.objects.filter(seq=event.seq).exists()
    assert not PendingEvent.objects.exists()
    assert chain_is_intact()


def test_event_rolls_back_with_the_change_it_records(db, committee, organisation):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.dataset(committee=committee, controller=organisation, publish=False)
        raise RuntimeError("the service's caller fails after the change")
    assert AuditEvent.objects.count() == before
    assert chain_is_intact()


def test_a_change_fails_when_its_event_cannot_be_written(db, committee, organisation):
    dataset = factories.dataset(committee=committee, controller=organisation, publish=False)
    dataset.title = "New title"
    with pytest.raises(ValueError, match="unknown audit event type"), transaction.atomic():
        services.dataset_update(dataset=dataset, actor=None)
        ledger.append(event_type="governance.no_such_event")
    dataset.refresh_from_db()
    assert dataset.title != "New title"


def test_payload_that_json_cannot_hold_fails_in_the_callers_transaction(db):
    with pytest.raises(ValueError):
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"x": float("nan")})
    assert not PendingEvent.objects.exists()


def test_service_events_are_gap_free_and_chained(db, committee, organisation, steward):
    factories.dataset(committee=committee, controller=organisation)
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(len(seqs)))
    assert len(seqs) >= 5
    assert chain_is_intact()


def test_unknown_event_types_are_refused(db):
    with pytest.raises(ValueError):
        ledger.append(event_type="made.up")


def test_batched_append_queues_until_the_sequencer_runs(db, batched):
    queued = ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 1})
    assert isinstance(queued, PendingEvent)
    assert not AuditEvent.objects.filter(pending_id=queued.pk).exists()
    assert ledger.flush() == 1
    assert AuditEvent.objects.get(pending_id=queued.pk).payload == {"n": 1}
    assert not PendingEvent.objects.exists()


def test_batched_events_are_chained_in_the_order_they_were_appended(db, batched):
    for n in range(12):
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": n})
    ledger.sequence(limit=5)
    ledger.flush()
    order = [e.payload["n"] for e in AuditEvent.objects.filter(event_type="admin.action")]
    assert order == list(range(12))
    assert chain_is_intact()


def test_sequencing_in_small_batches_equals_one_big_batch(db, batched):
    before = AuditEvent.objects.count()
    for n in range(7):
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": n})
    while ledger.sequence(limit=2):
        pass
    assert AuditEvent.objects.count() == before + 7
    assert chain_is_intact()


def test_float_payload_round_trips_through_the_database_and_verifies(db):
    from audit.verification import verify_ledger

    ledger.append(event_type=EventType.ADMIN_ACTION, payload={"ratio": 1e-05, "big": 2**70})
    report = verify_ledger()
    assert report.ok, report.summary()
