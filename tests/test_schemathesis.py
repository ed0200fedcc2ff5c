"""Every endpoint in the live OpenAPI schema, fuzzed in-process: no 5xx, and every response matches
what the schema promises.

The operations come from `/api/schema/` at test time, so an endpoint added later is fuzzed
without touching this file. Requests run as a logged-in superuser with a CSRF token, so that
the fuzzer gets past authentication and into the views; a published catalogue with consent
scopes, an agreement and a draft access request gives it data to find.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, settings

from governance import services
from governance.models import AccessAgreement
from tests import factories

# Small enough for the whole run to stay well under a minute. The coverage phase walks every
# boundary and invalid value of every parameter (about 2,500 requests for today's API, several
# minutes): run it before a release with TESSERA_FUZZ_COVERAGE=1, and more random examples
# per operation with TESSERA_FUZZ_EXAMPLES=200.
MAX_EXAMPLES = int(os.environ.get("TESSERA_FUZZ_EXAMPLES", "15"))
COVERAGE_PHASE = os.environ.get("TESSERA_FUZZ_COVERAGE") == "1"

# No 5xx, and what is answered is what the schema documents. Left out on purpose: the checks
# that expect every 4xx to be listed in the schema (drf-spectacular documents success
# responses only) and the authentication probes (the session cookie is added to every request
# here, so the fuzzer cannot take it away and would report our own cookie as "ignored").
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
]


@pytest.fixture
def fuzz_world(db, committee, other_committee, organisation, admin_user, member):
    """A small published catalogue and a logged-in superuser's cookies."""
    factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope(
            "DS", diseases=["DOID:1324"], modifiers=["GS", "IRB"], region=["EU"]
        ),
    )
    factories.dataset(
        committee=other_committee,
        controller=organisation,
        species="animal",
        legal_basis=None,
        consent_scope=factories.consent_scope("NRES"),
    )
    factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope(
            "GRU", modifiers=["NPU", "MOR"], moratorium_until="2030-01-01"
        ),
    )
    services.agreement_publish(
        agreement=services.agreement_create(
            agreement=AccessAgreement(committee=committee, title="DAA", text="Terms."),
            actor=admin_user,
        ),
        actor=admin_user,
    )
    login = Client()
    login.force_login(admin_user)
    csrf = _get_new_csrf_string()
    return {
        "cookies": {"sessionid": login.cookies["sessionid"].value, "csrftoken": csrf},
        "headers": {"X-CSRFToken": csrf},
    }


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, minus the per-request connection recycling that Django's
    own test client also switches off: it would close the connection holding the test's
    transaction (on PostgreSQL; SQLite's in-memory test database ignores it)."""
    from config.wsgi import application  # noqa: PLC0415 - builds the app (middleware) at test time

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(fuzz_world, wsgi_app, request):
    # schemathesis 4.32's lazy loader reads `request.node._nodeid`, which pytest 9.2 no longer
    # has (it became `_id`); give it the attribute it reads and rewrites for its reports.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    loaded.config.phases.coverage.enabled = COVERAGE_PHASE
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_endpoint_answers_without_server_error_and_as_documented(case, fuzz_world):
    # Throttles count in the cache; the fuzzer's burst is not what they are for.
    cache.clear()
    case.call_and_validate(
        cookies=fuzz_world["cookies"], headers=fuzz_world["headers"], checks=CHECKS
    )
