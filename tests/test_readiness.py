"""`/readyz` checks what a node needs to serve: the database, the broker (when tasks do not run
eagerly), the ledger's sequencer, the outbox and the signing key. It answers 503 naming each
failing check, and names no secret while doing so. A signing key overdue for rotation is a
warning in the answer, never a 503."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from access.models import Notification
from audit import ledger
from audit.choices import EventType
from audit.models import PendingEvent
from tests.accounts.oidc_support import free_port
from tests.audit.test_sequencer_crash import ROOT, child_env
from tests.test_settings import python
from tests.tokens.token_support import token_keys  # noqa: F401 (autouse fixture)
from tokens import keyring, keys
from tokens.choices import KeyState
from tokens.models import SigningKey

CHECKS = ["database", "broker", "ledger", "outbox", "signing_key"]


def readyz():
    response = Client().get("/readyz")
    return response.status_code, response.json()


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.django_db
def test_ready_names_every_check_and_answers_200():
    status, body = readyz()
    assert status == 200
    assert body["status"] == "ok"
    assert [name for name in CHECKS if name in body] == CHECKS
    assert body["broker"] == "not used (tasks run eagerly)"
    assert {body[name] for name in CHECKS if name != "broker"} == {"ok"}
    assert body["warnings"] == []


# --- the broker -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_broker_that_refuses_connections_makes_the_node_unready_without_naming_its_url(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://:broker-password@127.0.0.1:{free_port()}/0"
    settings.TESSERA_READY_BROKER_TIMEOUT_SECONDS = 1
    status, body = readyz()
    assert status == 503
    assert body["failing"] == ["broker"]
    assert body["broker"].startswith("unavailable (")
    assert body["database"] == body["ledger"] == body["signing_key"] == "ok"
    text = json.dumps(body)
    assert "broker-password" not in text and "redis://" not in text


@pytest.mark.django_db
def test_broker_that_answers_keeps_the_node_ready(settings):
    if not redis_answers():
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    status, body = readyz()
    assert status == 200, body
    assert body["broker"] == "ok"


# --- the ledger's sequencer -----------------------------------------------------------------
@pytest.mark.django_db
def test_events_waiting_for_a_sequencer_that_does_not_run_make_the_node_unready(settings):
    # Batched sequencing with no audit_sequencer running: events queue and age.
    settings.AUDIT_SEQUENCING = "batched"
    settings.TESSERA_READY_LEDGER_LAG_SECONDS = 0
    ledger.append(event_type=EventType.ADMIN_ACTION, payload={"note": "waiting"})
    assert PendingEvent.objects.count() == 1
    status, body = readyz()
    assert status == 503
    assert body["failing"] == ["ledger"]
    assert "1 events wait for the sequencer" in body["ledger"]
    # The sequencer runs once: nothing waits, the node is ready again.
    ledger.flush()
    assert readyz()[0] == 200


# --- the outbox -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_outbox_backlog_over_the_limit_makes_the_node_unready(settings):
    settings.TESSERA_READY_OUTBOX_BACKLOG = 2
    for n in range(3):
        Notification.objects.create(
            address=f"person{n}@example.org",
            kind="submitted",
            subject="s",
            body="b",
            dedupe_key=f"readiness-{n}",
            next_attempt_at=timezone.now(),
        )
    status, body = readyz()
    assert status == 503
    assert body["failing"] == ["outbox"]
    assert body["outbox"].startswith("3 e-mails are due")
    assert "example.org" not in json.dumps(body)
    Notification.objects.filter(dedupe_key="readiness-0").update(sent_at=timezone.now())
    assert readyz()[0] == 200


# --- the signing key --------------------------------------------------------------------------
@pytest.mark.django_db
def test_no_active_signing_key_makes_the_node_unready(settings):
    settings.DEBUG = True  # where signer() would make one: readiness must not
    SigningKey.objects.all().delete()
    keyring.reset_caches()
    status, body = readyz()
    assert status == 503
    assert body["failing"] == ["signing_key"]
    assert "no active token signing key" in body["signing_key"]
    assert not SigningKey.objects.exists()


@pytest.mark.django_db
def test_a_signing_key_that_does_not_decrypt_makes_the_node_unready(settings):
    other_kek = base64.b64encode(os.urandom(32)).decode()
    settings.TESSERA_KEY_ENCRYPTION_KEY = other_kek
    keys.reset_kek_cache()
    keyring.reset_caches()
    status, body = readyz()
    assert status == 503
    assert body["failing"] == ["signing_key"]
    assert "TESSERA_KEY_ENCRYPTION_KEY" in body["signing_key"]  # named, never its value
    assert other_kek not in json.dumps(body)


def make_active_key_this_old(age: timedelta) -> None:
    SigningKey.objects.filter(state=KeyState.ACTIVE).update(activated_at=timezone.now() - age)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("age", "due"),
    [
        (timedelta(days=29, hours=23), False),
        # Due, and the daily `keys_rotate --if-due` has not had its day yet: no warning.
        (timedelta(days=30, hours=23), True),
    ],
)
def test_a_signing_key_not_overdue_gives_no_warning(settings, age, due):
    settings.TESSERA_KEY_ROTATION_DAYS = 30
    make_active_key_this_old(age)
    status, body = readyz()
    assert status == 200
    assert body["warnings"] == []
    assert keyring.rotation_due() is due


@pytest.mark.django_db
def test_a_signing_key_overdue_for_rotation_is_a_warning_and_the_node_stays_ready(settings):
    # Every node shares the key: a 503 here would take them all out for a missed cron job.
    settings.TESSERA_KEY_ROTATION_DAYS = 30
    make_active_key_this_old(timedelta(days=41, hours=5))
    status, body = readyz()
    assert status == 200
    assert body["status"] == "ok"
    assert body["signing_key"] == "ok"
    (warning,) = body["warnings"]
    assert warning.startswith("signing key overdue for rotation (41 days old, rotate every 30)")
    # The same rule as `keys_rotate --if-due`, which clears the warning by rotating.
    assert keyring.rotation_due() is True
    settings.TESSERA_JWKS_MAX_AGE = timedelta(0)  # the next key may sign at once
    call_command("keys_rotate", "--if-due", stdout=io.StringIO())
    assert readyz() == (200, {**body, "warnings": []})


@pytest.mark.django_db
def test_an_overdue_key_is_still_a_warning_when_another_check_fails(settings):
    settings.TESSERA_READY_OUTBOX_BACKLOG = 0
    make_active_key_this_old(timedelta(days=settings.TESSERA_KEY_ROTATION_DAYS + 1))
    Notification.objects.create(
        address="person@example.org",
        kind="submitted",
        subject="s",
        body="b",
        dedupe_key="readiness-overdue",
        next_attempt_at=timezone.now(),
    )
    status, body = readyz()
    assert status == 503
    assert body["failing"] == ["outbox"]
    assert [w.split(" (")[0] for w in body["warnings"]] == ["signing key overdue for rotation"]


# --- the database, in a process of its own ---------------------------------------------------
def test_a_database_that_refuses_connections_makes_the_node_unready():
    """A Tessera process whose PostgreSQL does not answer (nothing listens on its port): 503
    naming the database, the checks that need it not run, no connection details shown."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DATABASE_URL_FILE", "DJANGO_SETTINGS_MODULE"}
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"postgres://tessera:db-password@127.0.0.1:{free_port()}/tessera",
        TESSERA_ENV="development",
    )
    result = python(
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz'); print(r.status_code, r.content.decode())",
        env=environ,
    )
    status, _, text = result.stdout.strip().partition(" ")
    assert status == "503", result.stdout + result.stderr
    body = json.loads(text)
    assert body["failing"] == ["database"]
    assert body["database"] == "unavailable (OperationalError)"
    assert (
        body["ledger"]
        == body["outbox"]
        == body["signing_key"]
        == ("not checked: the database is unavailable")
    )
    assert body["warnings"] == []
    assert "db-password" not in text and "127.0.0.1" not in text


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (a sequencer process of its own)"
)
def test_readiness_follows_a_real_sequencer_process_stopped_in_the_test(settings, transactional_db):
    settings.AUDIT_SEQUENCING = ledger.BATCHED
    settings.TESSERA_READY_LEDGER_LAG_SECONDS = 0
    sequencer = subprocess.Popen(
        [sys.executable, "manage.py", "audit_sequencer", "--idle", "0.05"],
        cwd=ROOT,
        env={**child_env(), "AUDIT_SEQUENCING": "batched"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with transaction.atomic():
            ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 1})
        # The running sequencer chains it (it never does otherwise in batched mode).
        for _ in range(600):
            if not PendingEvent.objects.exists():
                break
            time.sleep(0.05)
        assert not PendingEvent.objects.exists()
        status, body = readyz()
        assert (status, body["ledger"]) == (200, "ok")
    finally:
        sequencer.send_signal(signal.SIGTERM)
        sequencer.wait(timeout=30)
    with transaction.atomic():
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": 2})
    status, body = readyz()
    assert status == 503
    assert body["failing"] == ["ledger"]
    assert "is audit_sequencer running?" in body["ledger"]
