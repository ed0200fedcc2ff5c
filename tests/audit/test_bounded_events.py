"""Events anyone can repeat are written N times per key and window, then summarised once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit import bounded, events, tasks
from audit.choices import EventType
from audit.models import AuditEvent, BoundedWindow

KIND = EventType.LOGIN_FAILED


@pytest.fixture(autouse=True)
def _small_bound(settings):
    settings.AUDIT_BOUNDED_LIMIT = 3
    settings.AUDIT_BOUNDED_WINDOW_SECONDS = 900


def record(key="address:203.0.113.9") -> bool:
    return bounded.bounded_record(kind=KIND, key=key, write=lambda: events.login_failed(user=None))


def written(event_type=KIND) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=event_type))


def in_the_next_window(monkeypatch):
    future = timezone.now() + timedelta(minutes=16)
    monkeypatch.setattr(timezone, "now", lambda: future)


def test_the_first_n_events_of_a_window_are_written_and_the_rest_only_counted(db):
    results = [record() for _ in range(7)]
    assert results == [True, True, True, False, False, False, False]
    assert len(written()) == 3
    window = BoundedWindow.objects.get(kind=KIND, key="address:203.0.113.9")
    assert (window.count, window.suppressed) == (7, 4)
    assert written(EventType.EVENTS_SUPPRESSED) == []  # the window is still open


def test_the_flush_task_summarises_a_closed_window_with_its_count(db, monkeypatch):
    for _ in range(5):
        record()
    in_the_next_window(monkeypatch)
    assert tasks.bounded_flush() == 1
    (summary,) = written(EventType.EVENTS_SUPPRESSED)
    assert summary.payload["kind"] == KIND
    assert summary.payload["key"] == "address:203.0.113.9"
    assert (summary.payload["seen"], summary.payload["suppressed"]) == (5, 2)
    assert summary.actor_id == "system"
    assert not BoundedWindow.objects.exists()
    assert tasks.bounded_flush() == 0  # summarised once only


def test_a_closed_window_without_suppressed_events_needs_no_summary(db, monkeypatch):
    record()
    in_the_next_window(monkeypatch)
    assert bounded.bounded_flush() == 0
    assert not BoundedWindow.objects.exists()


def test_the_next_window_summarises_the_previous_one_and_counts_afresh(db, monkeypatch):
    for _ in range(4):
        record()
    in_the_next_window(monkeypatch)
    assert record() is True
    (summary,) = written(EventType.EVENTS_SUPPRESSED)
    assert summary.payload["suppressed"] == 1
    assert len(written()) == 4
    assert BoundedWindow.objects.get().count == 1


def test_each_key_has_its_own_bound(db):
    for _ in range(4):
        record("address:203.0.113.9")
    assert record("address:198.51.100.7") is True


def test_an_event_is_written_only_while_every_one_of_its_keys_is_within_the_bound(db):
    for _ in range(3):
        record(["actor:a", "address:203.0.113.9"])
    # The same actor from a new address, and a new actor from the same address: both bounded.
    assert record(["actor:a", "address:198.51.100.7"]) is False
    assert record(["actor:b", "address:203.0.113.9"]) is False
    assert len(written()) == 3


def test_if_the_event_cannot_be_written_nothing_is_counted(db):
    def refuse():
        raise RuntimeError("ledger unavailable")

    with pytest.raises(RuntimeError):
        bounded.bounded_record(kind=KIND, key="address:203.0.113.9", write=refuse)
    assert not BoundedWindow.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_callers_write_exactly_the_limit():
    if connection.vendor != "postgresql":
        pytest.skip("row locks under real concurrent transactions are tested on PostgreSQL")
    callers = 12
    barrier = threading.Barrier(callers)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def call():
        try:
            barrier.wait(timeout=10)
            result = record()
            with lock:
                outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == [False] * 9 + [True] * 3
    assert len(written()) == 3
    window = BoundedWindow.objects.get()
    assert (window.count, window.suppressed) == (12, 9)
