"""Appending: in the caller's transaction, gap-free, chained, in order, in both sequencing modes."""

from __future__ import annotations

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit import ledger
from audit.canonical import GENESIS_HASH, entry_hash
from audit.choices import EventType
from audit.models import AuditEvent, PendingEvent
from audit.verification import verify_ledger
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
    stored = PendingEvent.objects.get(pk=queued.pk)
    for field in ("occurred_at", "event_type", "actor_id", "actor_kind", "payload"):
        assert getattr(queued, field) == getattr(stored, field), field
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
    ledger.append(event_type=EventType.ADMIN_ACTION, payload={"ratio": 1e-05, "big": 2**70})
    report = verify_ledger()
    assert report.ok, report.summary()


# --- buffered(): many events, one INSERT, still inside the caller's transaction ----------------


@pytest.fixture(params=[ledger.INLINE, ledger.BATCHED])
def any_mode(request, settings):
    settings.AUDIT_SEQUENCING = request.param
    return request.param


def _admin_events() -> list:
    ledger.flush()
    return list(AuditEvent.objects.filter(event_type="admin.action").order_by("seq"))


def test_buffered_events_are_written_in_order_with_one_insert(db, any_mode):
    ledger.flush()
    with CaptureQueriesContext(connection) as captured, ledger.buffered():
        for n in range(25):
            assert ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": n}) is None
    # Django logs an executemany (SQLite) as one query, "25 times: INSERT ...".
    statements = [re.sub(r"^\d+ times: ", "", q["sql"]) for q in captured.captured_queries]
    assert len([sql for sql in statements if sql.startswith("INSERT INTO audit_pendingevent")]) == 1
    events = _admin_events()
    assert [e.payload["n"] for e in events] == list(range(25))
    assert chain_is_intact()


def test_buffered_events_vanish_with_a_failed_block_and_its_change(
    db, any_mode, committee, organisation
):
    ledger.flush()
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), ledger.buffered():
        factories.dataset(committee=committee, controller=organisation, publish=False)
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"lost": True})
        raise RuntimeError("the block fails after its appends")
    ledger.flush()
    assert AuditEvent.objects.count() == before
    assert not PendingEvent.objects.exists()
    # The buffer is gone with the block: later appends are written at once again.
    queued = ledger.append(event_type=EventType.ADMIN_ACTION, payload={"after": True})
    assert queued is not None
    assert [e.payload for e in _admin_events()] == [{"after": True}]


def test_buffered_events_are_written_before_the_enclosing_transaction_commits(db, any_mode):
    with transaction.atomic():
        with ledger.buffered():
            ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 1})
            assert not PendingEvent.objects.exists()
            assert not AuditEvent.objects.filter(event_type="admin.action").exists()
        # Written when the block ends, inside the still-open transaction.
        in_queue = PendingEvent.objects.count()
        in_ledger = AuditEvent.objects.filter(event_type="admin.action").count()
        assert in_queue + in_ledger == 1
    assert [e.payload for e in _admin_events()] == [{"n": 1}]


def test_nested_buffered_blocks_join_the_outermost(db, any_mode):
    ledger.flush()
    with ledger.buffered():
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 0})
        with ledger.buffered():
            ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 1})
        # The inner block wrote nothing: its event waits for the outer block.
        assert not AuditEvent.objects.filter(event_type="admin.action").exists()
        assert not PendingEvent.objects.exists()
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 2})
    assert [e.payload["n"] for e in _admin_events()] == [0, 1, 2]
    assert chain_is_intact()


def test_a_bad_payload_fails_inside_a_buffered_block_at_its_append(db):
    with pytest.raises(ValueError), ledger.buffered():
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"ok": 1})
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"x": float("nan")})
    assert not AuditEvent.objects.filter(event_type="admin.action").exists()


def test_buffered_rows_keep_unicode_quotes_and_backslashes_byte_for_byte(db, any_mode):
    odd = {"s": 'quote " backslash \\ comma , brace { NUL-free ünïcödé 🙂', "n": None}
    with ledger.buffered():
        ledger.append(
            event_type=EventType.ADMIN_ACTION, target_type="t,{x}", target_id='a"b', payload=odd
        )
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"second": [1, 2]})
    events = _admin_events()
    assert events[0].payload == odd
    assert (events[0].target_type, events[0].target_id) == ("t,{x}", 'a"b')
    report = verify_ledger()
    assert report.ok, report.summary()


@pytest.mark.parametrize("prepared", [True, False])
def test_appends_work_with_and_without_prepared_statements(db, settings, any_mode, prepared):
    settings.TESSERA_PREPARED_STATEMENTS = prepared
    for n in range(6):  # past psycopg's own preparation threshold
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": n})
    with ledger.buffered():
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 6})
    assert [e.payload["n"] for e in _admin_events()] == list(range(7))
    assert chain_is_intact()


# --- append(change=...): a hot path's change and its event in one statement --------------------
_CHANGE = "INSERT INTO django_content_type (app_label, model) VALUES (%s, %s)"


def _content_types(app_label: str) -> int:
    return ContentType.objects.filter(app_label=app_label).count()


def test_a_change_and_its_event_are_written_in_one_statement(db, any_mode):
    ledger.flush()
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        ledger.append(
            event_type=EventType.ADMIN_ACTION,
            payload={"n": 1},
            change=(_CHANGE, ["bench_change", "one"]),
        )
    writes = [q["sql"] for q in captured.captured_queries if "django_content_type" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(writes) == 1 and writes[0].startswith("WITH change AS (INSERT")
    assert _content_types("bench_change") == 1
    assert [e.payload for e in _admin_events()] == [{"n": 1}]
    assert chain_is_intact()


def test_a_failing_change_takes_its_event_and_transaction_with_it(db, any_mode):
    ledger.flush()
    with transaction.atomic():
        ledger.append(event_type=EventType.ADMIN_ACTION, change=(_CHANGE, ["dup", "x"]))
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.append(
            event_type=EventType.ADMIN_ACTION,
            payload={"lost": True},
            change=(_CHANGE, ["dup", "x"]),  # the same row again: unique violation
        )
    assert _content_types("dup") == 1
    assert [e.payload for e in _admin_events()] == [{}]


def test_a_change_inside_a_buffered_block_runs_at_once_and_its_event_at_the_end(db, any_mode):
    with ledger.buffered():
        ledger.append(event_type=EventType.ADMIN_ACTION, change=(_CHANGE, ["buf", "a"]))
        assert _content_types("buf") == 1
        assert not PendingEvent.objects.exists()
    assert len(_admin_events()) == 1
