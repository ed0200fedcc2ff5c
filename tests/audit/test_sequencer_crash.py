"""Batched sequencing loses and reorders nothing across crashes (PostgreSQL, real processes).

Writers commit into the queue without any global lock; a sequencer chains committed rows in
batches. These tests kill sequencers with SIGKILL in the middle of a batch, roll writers back
while a batch runs, and race several writer processes against a sequencer that keeps dying.
"""

from __future__ import annotations

# ruff: noqa: S603  (the tests start this project's own Python code)
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent, PendingEvent
from audit.verification import verify_ledger

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (several real connections)"
    ),
]

ROOT = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "AUDIT_SEQUENCING": "batched",
        "PYTHONPATH": str(ROOT),
    }


PRELUDE = (
    "import django, os\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')\n"
    "django.setup()\n"
)


def python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args],
        cwd=ROOT,
        env=child_env(),
        stderr=subprocess.PIPE,
        text=True,
        **{"stdout": subprocess.PIPE, **kwargs},
    )


def appended(payload: dict) -> None:
    with transaction.atomic():
        ledger.append(event_type=EventType.ADMIN_ACTION, payload=payload)


def admin_payloads() -> list[dict]:
    return [e.payload for e in AuditEvent.objects.filter(event_type="admin.action").order_by("seq")]


@pytest.fixture
def batched(settings, transactional_db):
    settings.AUDIT_SEQUENCING = ledger.BATCHED


def test_sequencer_killed_mid_batch_loses_nothing_and_blocks_no_writer(batched):
    for n in range(20):
        appended({"n": n})
    chained_before = AuditEvent.objects.count()
    sequencer = python(
        """
        import time
        from django.db import transaction
        from audit import ledger
        with transaction.atomic():
            print(ledger._sequence_locked(limit=10), flush=True)  # moved, not committed
            time.sleep(120)
        """
    )
    try:
        assert sequencer.stdout.readline().strip() == "10"
        # While the dying sequencer holds the ledger lock, writers still commit at once.
        started = time.monotonic()
        for n in range(20, 25):
            appended({"n": n})
        assert time.monotonic() - started < 5
        assert AuditEvent.objects.count() == chained_before  # its batch is not visible
    finally:
        sequencer.send_signal(signal.SIGKILL)
        sequencer.wait(timeout=30)
    assert PendingEvent.objects.count() == 25
    assert ledger.flush() == 25
    assert admin_payloads() == [{"n": n} for n in range(25)]
    assert verify_ledger().ok


def test_writer_rolled_back_or_committed_during_a_batch(batched):
    ready, proceed, done = threading.Event(), threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow_writer(name: str, commit: bool):
        try:
            with transaction.atomic():
                ledger.append(event_type=EventType.ADMIN_ACTION, payload={"w": name})
                ready.set()
                proceed.wait(30)
                if not commit:
                    raise RuntimeError("rolled back")
        except RuntimeError:
            outcome[name] = "rolled back"
        finally:
            connections.close_all()
            done.set()

    for name, commit in (("late", True), ("aborted", False)):
        ready.clear()
        proceed.clear()
        done.clear()
        thread = threading.Thread(target=slow_writer, args=(name, commit))
        thread.start()
        assert ready.wait(30)
        appended({"w": f"before-{name}-commits"})
        ledger.flush()  # the slow writer's row is uncommitted: invisible to this batch
        assert {"w": name} not in admin_payloads()
        proceed.set()
        thread.join(30)
        ledger.flush()
    assert outcome == {"aborted": "rolled back"}
    assert admin_payloads() == [
        {"w": "before-late-commits"},
        {"w": "late"},
        {"w": "before-aborted-commits"},
    ]
    assert not PendingEvent.objects.exists()
    assert verify_ledger().ok


def test_concurrent_writers_and_a_repeatedly_killed_sequencer_lose_and_reorder_nothing(batched):
    writers, per_writer = 4, 250
    writer_code = f"""
        import sys
        from django.db import transaction
        from audit import ledger
        w = int(sys.argv[1])
        for k in range({per_writer}):
            with transaction.atomic():
                ledger.append(event_type="admin.action", payload={{"w": w, "k": k}})
        """
    procs = [python(writer_code, str(w), stdout=subprocess.DEVNULL) for w in range(writers)]
    kills = 0
    while any(p.poll() is None for p in procs):
        sequencer = subprocess.Popen(
            [sys.executable, "manage.py", "audit_sequencer", "--batch", "37", "--idle", "0.01"],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.8)
        sequencer.send_signal(signal.SIGKILL)
        sequencer.wait(timeout=30)
        kills += 1
    for p in procs:
        assert p.wait() == 0, p.stderr.read()
    assert kills >= 2
    ledger.flush()
    payloads = admin_payloads()
    assert len(payloads) == writers * per_writer
    for w in range(writers):
        # Each writer committed k before starting k+1, so its events keep that order.
        assert [p["k"] for p in payloads if p["w"] == w] == list(range(per_writer))
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(len(seqs)))
    assert not PendingEvent.objects.exists()
    report = verify_ledger()
    assert report.ok, report.summary()
