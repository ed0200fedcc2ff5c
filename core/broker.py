"""Hand a task to the broker after a commit, without ever failing or stalling the change.

Everything enqueued here has an outbox row written in the change's own transaction (a
`Notification`, a `WebhookDelivery`) and a periodic sweep that sends what is still pending, so
a publish that fails loses nothing: it only makes the sweep the one that sends. A failed publish
is therefore logged and swallowed, never raised into the request that committed.

A publish is bounded by the broker settings (`CELERY_BROKER_CONNECTION_TIMEOUT`,
`CELERY_BROKER_TRANSPORT_OPTIONS`, `CELERY_TASK_PUBLISH_RETRY_POLICY`: about 3 s against a hung
Redis, under one against a refused connection). After a failure this process does not try the
broker again for `SKIP_SECONDS`, so a decision that notifies ten people, and the requests after
it, pay that timeout once and not ten times."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)

SKIP_SECONDS = 30.0

_lock = threading.Lock()
_skip_until = 0.0


def broker_skipped() -> bool:
    """True while this process leaves publishing to the sweeps after a failed publish."""
    return time.monotonic() < _skip_until


def enqueue(task, *args) -> bool:
    """Publish `task(*args)`; True when the broker took it. False (logged) when the broker is
    unreachable: the caller's outbox row stays pending and the sweep sends it. Eager mode
    (development, most tests) runs the task here, and its errors are the caller's."""
    global _skip_until
    if task.app.conf.task_always_eager:
        task.apply_async(args)
        return True
    if broker_skipped():
        log.debug("broker recently unreachable: %s left to the outbox sweep", task.name)
        return False
    try:
        task.apply_async(args)
    except Exception as exc:  # any broker or transport failure; the outbox keeps the work
        with _lock:
            first = not broker_skipped()
            _skip_until = time.monotonic() + SKIP_SECONDS
        if first:
            log.warning(
                "broker unreachable (%s): %s and what follows for %ss wait in the outbox "
                "for the sweep",
                type(exc).__name__,
                task.name,
                int(SKIP_SECONDS),
            )
        return False
    return True
