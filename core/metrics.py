"""`GET /metrics`: Prometheus' text exposition of django-prometheus' figures and Tessera's own.

Two kinds of figure. Counters a process keeps as things happen (django-prometheus' requests,
queries and cache gets; `tessera_token_introspections_total`) live in prometheus_client's
default registry, or in PROMETHEUS_MULTIPROC_DIR when gunicorn runs several workers (then
every worker's files are summed here, as prometheus_client's multiprocess mode says). Figures
that live in the database (requests, decisions, grants, the ledger's backlog, the outbox...) are
read at scrape time by collectors the apps register in `ready()` (`register_collector`, as the
layers rule asks): a fixed handful of aggregate queries per scrape, however large the tables.
Labels are bounded: committee slugs, statuses, outcomes, never a person or a request.

Who may scrape: the holder of TESSERA_METRICS_TOKEN (or _FILE), sent as `Authorization:
Bearer <token>` and compared in constant time. With no token configured, only clients on a
loopback address (`core.client_address`, so a trusted proxy's X-Forwarded-For counts).
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

from .client_address import client_address

_COLLECTORS: dict[str, Collector] = {}


def register_collector(name: str, collector: Collector) -> None:
    """Add (or replace) a collector read at every scrape."""
    _COLLECTORS[name] = collector


def scrape_registry() -> CollectorRegistry:
    """A registry of the registered collectors, built per scrape. No auto-describe: registering
    must not run a collector's queries."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in _COLLECTORS.values():
        registry.register(collector)
    return registry


def process_registry() -> CollectorRegistry:
    """The counters processes keep: every worker's under PROMETHEUS_MULTIPROC_DIR, else ours."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition() -> bytes:
    return generate_latest(process_registry()) + generate_latest(scrape_registry())


FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _refused(status: int, detail: str) -> HttpResponse:
    response = HttpResponse(detail + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def scrape_refusal(request) -> HttpResponse | None:
    """None if the caller may scrape, else the 401 or 403 to send (see the module)."""
    expected = settings.TESSERA_METRICS_TOKEN
    if not expected:
        # A request relayed by a proxy on the same host comes from loopback too: one that says
        # it was forwarded is not a local scraper's, whatever TESSERA_TRUSTED_PROXIES says.
        forwarded = any(request.headers.get(h) for h in FORWARDING_HEADERS)
        if _is_loopback(client_address(request)) and not forwarded:
            return None
        return _refused(
            403,
            "Metrics are served to loopback clients only (not through a proxy) until "
            "TESSERA_METRICS_TOKEN is set.",
        )
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _refused(401, "Send the metrics token as a bearer token.")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return _refused(403, "That is not the metrics token.")
    return None


@require_safe
def metrics(request):
    """The exposition, for a caller `scrape_refusal` lets through."""
    refusal = scrape_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
