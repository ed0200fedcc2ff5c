"""Health probes: `/healthz` (liveness, no database) and `/readyz` (readiness).

Served by `core.middleware.ProbeMiddleware` before sessions and authentication; the URLconf
routes them too, so `reverse()` and the OpenAPI schema know them.

Readiness runs every check and answers 503 naming the failing ones. `core` checks the
database and the broker (only when Celery tasks run on a broker, not eagerly); the apps above
register theirs in `ready()` (`register_readiness_check`): the ledger sequencer's lag (audit),
the outbox's backlog (access), the signing key (tokens), as the layers rule asks. A check
returns None when all is well, or a short sentence for the operator that names no secret (no
URL, no key, no exception text: an exception is named by its type alone).

Warnings (`register_readiness_warning`) are for what an operator must fix soon but what must not
take the node out of the load balancer: every node shares it (the token signing key overdue for
rotation is one), so a 503 would turn a missed cron job into an outage. They are listed under
`"warnings"` and never change the status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], str | None]
_CHECKS: dict[str, ReadinessCheck] = {}
_WARNINGS: dict[str, ReadinessCheck] = {}


def register_readiness_check(name: str, check: ReadinessCheck) -> None:
    """Add (or replace) the readiness check `name`; run after the database and the broker."""
    _CHECKS[name] = check


def register_readiness_warning(name: str, warning: ReadinessCheck) -> None:
    """Add (or replace) the readiness warning `name`: a sentence when something needs an
    operator soon, listed without making the node unready (see the module)."""
    _WARNINGS[name] = warning


def healthz(request):  # noqa: ARG001 - Django view signature
    """Liveness: the process answers. Touches no database."""
    return JsonResponse({"status": "ok"})


def database_problem() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def broker_problem() -> str | None:
    """The broker accepts a connection within TESSERA_READY_BROKER_TIMEOUT_SECONDS. Skipped
    (None) when tasks run eagerly: there is no broker to wait for."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    timeout = settings.TESSERA_READY_BROKER_TIMEOUT_SECONDS
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    return None


def readiness() -> dict[str, str]:
    """Each check's answer: "ok", or what is wrong (see the module)."""
    checks: dict[str, ReadinessCheck] = {"database": database_problem, "broker": broker_problem}
    checks.update(_CHECKS)
    answers: dict[str, str] = {}
    database_down = False
    for name, check in checks.items():
        if database_down and name != "broker":
            answers[name] = "not checked: the database is unavailable"
            continue
        try:
            problem = check()
        except Exception as exc:  # any failure of a dependency means "not ready"
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            problem = f"unavailable ({type(exc).__name__})"
            database_down = name == "database"
        answers[name] = problem or "ok"
    if settings.CELERY_TASK_ALWAYS_EAGER:
        answers["broker"] = "not used (tasks run eagerly)"
    return answers


def readiness_warnings() -> list[str]:
    """The registered warnings' sentences; one that fails is logged and left out, since a
    warning must never decide readiness."""
    found = []
    for name, warning in _WARNINGS.items():
        try:
            sentence = warning()
        except Exception as exc:  # any failure: see the docstring
            log.warning("readiness warning %s failed: %s", name, type(exc).__name__)
            continue
        if sentence:
            found.append(sentence)
    return found


def readyz(request):  # noqa: ARG001 - Django view signature
    """Readiness: every check passes (200), or 503 naming the ones that fail; either way with
    the warnings, which never change the status."""
    answers = readiness()
    failing = [
        name
        for name, answer in answers.items()
        if answer != "ok" and not answer.startswith(("not used", "not checked"))
    ]
    # The warnings read the database too: not worth a wait on one that is already down.
    warnings = readiness_warnings() if answers["database"] == "ok" else []
    if failing:
        return JsonResponse(
            {"status": "unavailable", "failing": failing, **answers, "warnings": warnings},
            status=503,
        )
    return JsonResponse({"status": "ok", **answers, "warnings": warnings})
