"""Broker and worker faults lose no notification and send none twice (PostgreSQL, real processes).

A private `redis-server` on a free loopback port is the broker, a real `celery -A config worker`
runs against the test database, and the decision is recorded by a separate process, as a web
worker would. Mail goes to Django's file backend and webhooks to a real receiver process
(tests/webhooks/receiver.py), so the test counts what actually left.
"""

from __future__ import annotations

# ruff: noqa: S603, S607  (the tests start this project's own code and a local redis-server)
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from access.models import Decision, Notification
from tests.access_world import reference_data_restore
from tests.redis_server import Redis, redis_server
from tests.webhooks.conftest import Receiver, subscribe
from webhooks.choices import DeliveryStatus
from webhooks.models import WebhookDelivery

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (a worker process and the test share the database)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
WAIT = 120.0  # upper bound of every wait below; a healthy run takes a few seconds each


@pytest.fixture(autouse=True)
def _reference_data(transactional_db):
    reference_data_restore()  # what a transactional flush removed


@pytest.fixture
def redis(tmp_path):
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
def outbox(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def receiver(tmp_path, settings):
    # A plain-HTTP loopback endpoint: allowed while DEBUG is on, as in development (the worker
    # runs with DEBUG on too).
    settings.DEBUG = True
    found = Receiver(tmp_path).start()
    yield found
    found.stop()


def child_env(redis: Redis, outbox: Path, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CELERY_BROKER_URL": redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "AUDIT_SEQUENCING": "inline",  # as the test process (the ledger is not under test)
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
        **extra,
    }


class Worker:
    """`celery -A config worker`, one pool process, its log in a file the test reads."""

    def __init__(self, env: dict[str, str], log: Path, *, beat: bool):
        self.log = log
        args = [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "info"]
        args += ["-c", "1", "-P", "prefork", "--without-gossip", "--without-mingle"]
        if beat:
            args += ["-B", "-s", str(log.with_suffix(".beat"))]
        # A session of its own: the teardown ends the pool and an embedded beat with it.
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for_log("ready.")

    def wait_for_log(self, text: str) -> None:
        deadline = time.monotonic() + WAIT
        while text not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def pool_process(self) -> int:
        children = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        assert len(children) == 1, children
        return int(children[0])

    def stop(self) -> None:
        # ProcessLookupError: the test killed the whole group already.
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of the group
        self.process.wait(timeout=30)


@pytest.fixture
def start_worker(tmp_path):
    started: list[Worker] = []

    def start(env, *, beat: bool) -> Worker:
        worker = Worker(env, tmp_path / f"worker-{len(started)}.log", beat=beat)
        started.append(worker)
        return worker

    yield start
    for worker in started:  # before pytest-django empties the tables the worker may lock
        worker.stop()


DECIDE = """
import django, sys, time
django.setup()
from datetime import date
from access.models import Review
from access.services import decisions
from django.contrib.auth import get_user_model
review = Review.objects.get(pk=int(sys.argv[1]))
chair = get_user_model().objects.get(pk=int(sys.argv[2]))
started = time.monotonic()
decisions.decision_record(
    review=review, actor=chair, outcome="approve", end_date=date.fromisoformat(sys.argv[3])
)
print(f"{time.monotonic() - started:.2f}", flush=True)
"""


def decide(env, submitted, dataset, chair) -> subprocess.CompletedProcess:
    """The committee's decision, recorded by a process of its own, as a web worker would."""
    review = submitted.reviews.get(committee=dataset.committee)
    end = timezone.localdate() + timedelta(days=180)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(DECIDE), str(review.pk), str(chair.pk), str(end)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def decided_notifications() -> list[Notification]:
    return list(Notification.objects.filter(dedupe_key__startswith="decided:").order_by("pk"))


def mails(outbox: Path) -> list[str]:
    """The subject of every mail the file backend wrote, across all processes."""
    return [
        line.removeprefix("Subject: ")
        for path in sorted(outbox.iterdir())
        for line in path.read_text().splitlines()
        if line.startswith("Subject: ")
    ]


def wait_until_sent(expected: int) -> list[Notification]:
    deadline = time.monotonic() + WAIT
    while True:
        rows = decided_notifications()
        if len(rows) == expected and all(n.sent_at for n in rows):
            return rows
        assert time.monotonic() < deadline, [(n.pk, n.sent_at, n.last_error) for n in rows]
        time.sleep(0.2)


@pytest.mark.parametrize("fault", ["stopped", "hung"])
def test_decision_commits_with_redis_down_and_its_mail_is_sent_once_redis_returns(
    fault, submitted, dataset, chair, redis, outbox, start_worker, receiver
):
    subscribe(receiver.url)
    env = child_env(
        redis,
        outbox,
        DEBUG="true",
        TESSERA_NOTIFICATION_SWEEP_SECONDS="1",
        TESSERA_WEBHOOK_SWEEP_SECONDS="1",
    )
    start_worker(env, beat=True)
    people = len(submitted.people())
    if fault == "stopped":
        redis.stop()
    else:
        redis.pause()

    # (A hung broker without publish timeouts would keep this process waiting: subprocess.run
    # raises TimeoutExpired after WAIT.)
    result = decide(env, submitted, dataset, chair)

    # The decision committed; the failed publish was logged once (the next were not tried),
    # not raised into the change.
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("broker unreachable") == 1, result.stderr
    assert Decision.objects.filter(review__request=submitted).count() == 1
    pending = decided_notifications()
    assert len(pending) == people
    assert all(n.sent_at is None and n.attempts == 0 for n in pending)
    assert mails(outbox) == []
    hooks = list(WebhookDelivery.objects.order_by("pk"))
    assert hooks
    assert all(h.status == DeliveryStatus.PENDING and h.attempts == 0 for h in hooks)
    assert receiver.received() == []

    # The same port again; a restarted one is empty: nothing was published while it was away.
    if fault == "stopped":
        redis.start()
    else:
        redis.resume()

    sent = wait_until_sent(people)
    deadline = time.monotonic() + WAIT
    while WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
        assert time.monotonic() < deadline, list(WebhookDelivery.objects.values())
        time.sleep(0.2)
    time.sleep(3)  # a few more sweeps: none may send again
    assert [n.attempts for n in decided_notifications()] == [1] * people
    assert sorted(mails(outbox)) == sorted(n.subject for n in sent)
    hooks = list(WebhookDelivery.objects.order_by("pk"))
    assert [(h.status, h.attempts) for h in hooks] == [(DeliveryStatus.DELIVERED, 1)] * len(hooks)
    arrived = [r["headers"]["webhook-id"] for r in receiver.received()]
    assert sorted(arrived) == sorted(set(arrived))
    assert len(arrived) == len(hooks)


def wait_for_a_send_in_progress() -> None:
    """A send in progress holds its row locked in an open transaction (the pause before the
    mail leaves)."""
    deadline = time.monotonic() + WAIT
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "no send started"
            time.sleep(0.05)


def test_worker_killed_mid_send_has_its_task_redelivered_and_the_mail_sent_once(
    submitted, dataset, chair, redis, outbox, start_worker
):
    # No beat, so no sweep: only the broker's redelivery can send what the killed task held.
    env = child_env(redis, outbox, TESSERA_NOTIFICATION_SEND_PAUSE="3")
    worker = start_worker(env, beat=False)
    people = len(submitted.people())

    result = decide(env, submitted, dataset, chair)
    assert result.returncode == 0, result.stderr

    wait_for_a_send_in_progress()
    os.kill(worker.pool_process(), signal.SIGKILL)  # the process running the task, as OOM would
    assert not all(n.sent_at for n in decided_notifications())
    assert mails(outbox) == []

    sent = wait_until_sent(people)
    assert "WorkerLostError" in worker.log.read_text()
    assert [n.attempts for n in sent] == [1] * people
    assert sorted(mails(outbox)) == sorted(n.subject for n in sent)


def test_a_whole_worker_killed_mid_send_has_its_task_taken_up_by_the_next_worker(
    submitted, dataset, chair, redis, outbox, start_worker
):
    # Redis hands an unacknowledged task out again after the visibility timeout (an hour in
    # production; seconds here). No beat, so no sweep.
    env = child_env(
        redis, outbox, TESSERA_NOTIFICATION_SEND_PAUSE="3", CELERY_VISIBILITY_TIMEOUT="5"
    )
    worker = start_worker(env, beat=False)
    people = len(submitted.people())

    result = decide(env, submitted, dataset, chair)
    assert result.returncode == 0, result.stderr

    wait_for_a_send_in_progress()
    pool = worker.pool_process()
    for pid in (worker.process.pid, pool):  # the machine lost its worker: nothing shuts down
        os.kill(pid, signal.SIGKILL)
    worker.process.wait(timeout=30)
    assert not all(n.sent_at for n in decided_notifications())
    assert mails(outbox) == []

    start_worker(env, beat=False)
    sent = wait_until_sent(people)
    assert [n.attempts for n in sent] == [1] * people
    assert sorted(mails(outbox)) == sorted(n.subject for n in sent)
