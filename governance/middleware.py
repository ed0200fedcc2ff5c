"""Health probes before everything else."""

from __future__ import annotations

from .api.views import healthz, readyz

PROBES = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Answers `/healthz` and `/readyz` before sessions, authentication and django-auditlog run.

    Further down the stack a request carrying a session cookie costs two queries (auditlog asks
    who the user is): liveness would fail whenever the database does, so a load balancer would
    restart healthy web nodes during a database outage, and readiness would answer 500 instead
    of its 503. First in the stack the probes also skip the HTTPS redirect and the Host check,
    which orchestrators probing a node's own address need.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
