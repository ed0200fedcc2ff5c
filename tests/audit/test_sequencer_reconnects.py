"""`audit_sequencer` outlives its database (issue 16, part 2; PostgreSQL, a real sequencer
process): its backend is terminated with `pg_terminate_backend`, and then the database refuses
new connections for a while (`ALLOW_CONNECTIONS false`), as during a restart or a failover. It
backs off, reconnects when the database accepts connections again and carries on chaining,
logging the outage once when it starts and once when it ends."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psycopg
import pytest
from django.db import connection

from audit import ledger
from audit.models import PendingEvent
from audit.verification import verify_ledger

from .test_sequencer_crash import (
    ROOT,
    admin_payloads,
    appended,
    batched,  # noqa: F401  (a fixture)
    child_env,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (a real backend to terminate)"
    ),
]

APP = "tessera-sequencer-under-test"


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def sequencer_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP])
        return [row[0] for row in cursor.fetchall()]


def terminate_sequencer() -> None:
    with connection.cursor() as cursor:
        for pid in sequencer_backends():
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def refuse_connections(refuse: bool) -> None:
    """The database's own switch, thrown from a connection to another database (PostgreSQL
    refuses to throw it from inside)."""
    db = connection.settings_dict
    name = connection.ops.quote_name(db["NAME"])
    with psycopg.connect(
        dbname="postgres",
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        autocommit=True,
    ) as admin:
        admin.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {str(not refuse).lower()}")


def test_the_sequencer_survives_its_connection_being_terminated(batched):  # noqa: F811
    env = child_env()
    # libpq reads the application name from the environment: the test finds the backend by it.
    env["PGAPPNAME"] = APP
    sequencer = subprocess.Popen(
        [sys.executable, "manage.py", "audit_sequencer", "--idle", "0.05", "--max-backoff", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for n in range(5):
            appended({"n": n})
        assert wait_for(lambda: not PendingEvent.objects.exists()), "the sequencer chains"
        assert wait_for(lambda: bool(sequencer_backends()))
        # An idle connection terminated: the next use finds it gone and opens another.
        terminate_sequencer()
        for n in range(5, 8):
            appended({"n": n})
        assert wait_for(lambda: not PendingEvent.objects.exists()), "it carried on chaining"
        # The database refuses connections for 3 s: its backend is terminated and every
        # reconnection is refused meanwhile; events queue up (this test's own connection stays).
        refuse_connections(True)
        try:
            terminate_sequencer()
            for n in range(8, 12):
                appended({"n": n})
            time.sleep(3)
            assert PendingEvent.objects.count() == 4, "nothing is chained while it is refused"
            assert sequencer.poll() is None, "it waits instead of dying"
        finally:
            refuse_connections(False)
        assert wait_for(lambda: not PendingEvent.objects.exists()), "it reconnected"
        assert sequencer.poll() is None, "still running"
    finally:
        sequencer.send_signal(signal.SIGTERM)
        _, err = sequencer.communicate(timeout=30)
    assert sequencer.returncode == 0, err
    assert admin_payloads() == [{"n": n} for n in range(12)]
    assert verify_ledger().ok
    # Each outage is logged once when it starts and once when it ends, never per attempt.
    assert err.count("the database is unreachable (OperationalError)") == 1, err
    assert err.count("the database is back after") == 1, err
    assert "Traceback" not in err
    assert ledger.flush() == 0
