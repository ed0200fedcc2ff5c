"""Health probes: `/healthz` (liveness, no database) and `/readyz` (readiness).

Served by `core.middleware.ProbeMiddleware` before sessions and authentication; the URLconf
routes them too, so `reverse()` and the OpenAPI schema know them."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse


def healthz(request):  # noqa: ARG001 - Django view signature
    """Liveness: the process answers. Touches no database."""
    return JsonResponse({"status": "ok"})


def readyz(request):  # noqa: ARG001 - Django view signature
    """Readiness: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
