"""Every route in the URLconf, sent the hostile shapes of issue 10 (JSON nested a thousand deep,
NUL characters in fields, query strings, headers, cookies and Basic credentials, dates in the
year 9999, a 95-character file extension, JSON values of the wrong type), as an anonymous
visitor, as a researcher and as a committee member: no answer is a 5xx.

The routes come from Django's URL resolver at test time, so a page or endpoint added later is
fuzzed without touching this file; path parameters are filled with the ids of real objects of a
small seeded world (a submitted request, a grant, an agreement, an OAuth client, ledger
events), so that the views get past their lookups. PostgreSQL only: it is where a NUL character
becomes a DataError (SQLite stores it), CI runs it there.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from oauth2_provider.models import AccessToken

from access.models import Grant
from access.services import decisions as decision_services
from access.services import requests as request_services
from audit import ledger
from audit.actors import pseudonym_for
from audit.models import AuditEvent
from tests import factories
from tests.access_world import accept_all, make_draft, publish_agreement
from tests.tokens.token_support import oauth_client, token_keys  # noqa: F401 (autouse fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NUL = "\x00"
FAR = "9999-12-31"
DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
PDF = b"%PDF-1.4\n%%EOF\n"
# Field names Tessera's forms, serializers and OAuth endpoints read: each hostile body sets them all.
FIELDS = [
    "title",
    "lay_summary",
    "scientific_abstract",
    "datasets",
    "diseases",
    "team_members",
    "email",
    "answer",
    "institution",
    "country",
    "requested_months",
    "ethics_reference",
    "ethics_expiry",
    "methods_development",
    "commercial",
    "outcome",
    "end_date",
    "conditions",
    "reason",
    "questions",
    "choice",
    "rationale",
    "body",
    "visibility",
    "committee",
    "agreement",
    "dataset",
    "token",
    "purpose",
    "consent",
    "permission",
    "modifiers",
    "moratorium_until",
    "months",
    "region",
    "retention_until",
    "page",
    "page_size",
    "search",
    "ordering",
    "match",
    "role",
    "since",
    "cursor",
    "first",
    "second",
    "grant_type",
    "client_id",
    "client_secret",
    "username",
    "password",
    "action",
    "accession",
    "q",
    "disease",
    "organ",
    "duo",
]
DATE_FIELDS = ("ethics_expiry", "end_date", "moratorium_until", "retention_until", "since")
WRONG_TYPES = [[], {}, 10**30, -1, 1.5e308, True, None, "", ["x" * 300], {"a": [{}]}]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("NUL characters only break PostgreSQL (CI runs this on PostgreSQL)")


@pytest.fixture
def world(db, settings, tmp_path):
    """A submitted request with a grant, an agreement, an OAuth client and ledger events."""
    settings.MEDIA_ROOT = tmp_path / "uploads"
    organisation = factories.organisation("Radboud University Medical Center")
    committee = factories.committee("radboud-dac", organisation=organisation)
    chair = factories.committee_staff("chair", committee, "chair")
    researcher = factories.user("researcher")
    dataset = factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope("DS", diseases=["DOID:1324"], modifiers=["MOR"],
                                              moratorium_until="2030-01-01"),
    )  # fmt: skip
    agreement = publish_agreement(committee)
    request = make_draft(researcher, [dataset])
    accept_all(request, researcher)
    request_services.request_submit(access_request=request, actor=researcher)
    review = request.reviews.get()
    decision_services.decision_record(
        review=review,
        actor=chair,
        outcome="approve",
        end_date=timezone.localdate() + timedelta(days=90),
    )
    draft = make_draft(researcher, [dataset], title="A second draft")
    application, _ = oauth_client("storage", ["introspection", "ga4gh_passport"])
    ledger.flush()
    return {
        "researcher": researcher,
        "chair": chair,
        "committee": committee,
        "dataset": dataset,
        "agreement": agreement,
        "request": request,
        "draft": draft,
        "grant": Grant.objects.get(user=researcher),
        "application": application,
        "access_token": AccessToken.objects.filter(application=application).first(),
        "seq": AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first() or 1,
    }


# --- the routes ---------------------------------------------------------------------------------
def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def _value(name: str, route: str, callback, world) -> str:
    model_admin = getattr(callback, "model_admin", None)
    if name == "object_id" and model_admin is not None:
        first = model_admin.model._default_manager.order_by("pk").first()
        return str(first.pk if first else 1)
    if name == "object_id":
        return str(world["request"].pk)
    if name == "content_type_id":
        return str(ContentType.objects.get_for_model(type(world["request"])).pk)
    if name == "pk":
        if route.startswith(("access/", "api/v1/^grants")):
            return str(world["grant"].pk)
        if "applications" in route:
            return str(world["application"].pk)
        if "authorized_tokens" in route:
            return str(world["access_token"].pk)
        return str(world["draft"].pk if "edit" in route else world["request"].pk)
    return {
        "agreement_pk": str(world["agreement"].pk),
        "accession": world["dataset"].accession,
        "slug": world["committee"].slug,
        "user": pseudonym_for(world["researcher"]),
        "seq": str(world["seq"]),
        "tree_size": "1",
        "format": "json",
        "client_id": world["application"].client_id,
    }.get(name, "x")


def _names(route: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _PARAM.finditer(route)]


def urls(world) -> list[str]:
    found = []
    for route, callback in _walk(get_resolver().url_patterns):
        values = {name: _value(name, route, callback, world) for name in _names(route)}
        url = _PARAM.sub(lambda m: values[m.group(1) or m.group(2)], route)  # noqa: B023
        url = url.replace("^", "").replace("$", "").replace("/?", "/").replace("\\.", ".")
        found.append("/" + url)
    return sorted(set(found))


# --- the shapes ---------------------------------------------------------------------------------
def _basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def _wrong_types(offset: int) -> str:
    """Every field set to a value of the wrong type; which field gets which type turns with
    `offset`, so that over the routes each field meets every type."""
    return json.dumps(
        {name: WRONG_TYPES[(i + offset) % len(WRONG_TYPES)] for i, name in enumerate(FIELDS)}
    )


# Refused by NulCharacterMiddleware before sessions and authentication: the same for everyone,
# so sent once per route (as an anonymous visitor).
NUL_SHAPES = [
    ("NUL in the query string", "get", {"data": {name: f"a{NUL}b" for name in FIELDS}}),
    (
        "NUL in headers and cookies",
        "get",
        {"HTTP_X_FORWARDED_FOR": f"1.2.3.4{NUL}", "HTTP_COOKIE": f"sessionid=a{NUL}; x={NUL}"},
    ),
    ("NUL in multipart fields", "post", {"data": {name: f"a{NUL}b" for name in FIELDS}}),
    (
        "NUL in Basic credentials",
        "post",
        {
            "data": {"grant_type": "client_credentials", "token": "x"},
            "HTTP_AUTHORIZATION": "Basic "
            + base64.b64encode(f"client{NUL}:se%00cret".encode()).decode(),
        },
    ),
    (
        "NUL in a JSON body",
        "patch",
        {
            "data": json.dumps({name: f"a{NUL}b" for name in FIELDS}),
            "content_type": "application/json",
        },
    ),
]


def shapes(offset: int):
    """What reaches the views, sent as each identity: (name, method, Client keyword arguments)."""
    far = {name: FAR for name in DATE_FIELDS}
    yield "deep JSON", "post", {"data": DEEP, "content_type": "application/json"}
    yield "deep JSON object", "patch", {"data": DEEP_OBJECT, "content_type": "application/json"}
    yield (
        "deep purpose, far dates, huge pages",
        "get",
        {"data": {**far, "purpose": DEEP, "match": "approve", "page": "9" * 30, "page_size": "-1"}},
    )
    yield (
        "far dates and a 95-character extension",
        "post",
        {
            "data": {
                **far,
                "title": "Far",
                "ethics_document": SimpleUploadedFile("x." + "a" * 95, PDF, "application/pdf"),
            }
        },
    )
    yield (
        "far dates in JSON",
        "patch",
        {"data": json.dumps(far), "content_type": "application/json"},
    )
    for method, turn in (("post", 0), ("patch", len(WRONG_TYPES) // 2)):
        yield (
            "wrong JSON types",
            method,
            {
                "data": _wrong_types(offset + turn),
                "content_type": "application/json",
            },
        )
    yield "JSON that is not an object", "post", {"data": "[[]]", "content_type": "application/json"}


def _send(client: Client, method: str, url: str, kwargs: dict):
    kwargs = dict(kwargs)
    data = kwargs.pop("data", None)
    if method == "get":
        return client.get(url, data or {}, **kwargs)
    return getattr(client, method)(url, data if data is not None else {}, **kwargs)


def test_no_route_answers_hostile_input_with_a_server_error(world):
    clients = {"anonymous": Client(raise_request_exception=False)}
    for name, user in (("researcher", world["researcher"]), ("committee member", world["chair"])):
        clients[name] = Client(raise_request_exception=False)
        clients[name].force_login(user)
    # A logout route (or a login that rotates the session) changes the client's cookies, which
    # the savepoint cannot roll back: each request starts from the cookies of the sign-in.
    signed_in = {who: copy.deepcopy(client.cookies) for who, client in clients.items()}
    for who in ("researcher", "committee member"):  # signed in: the views' own paths are fuzzed
        assert clients[who].get("/requests/").status_code == 200
    routes = urls(world)
    assert len(routes) > 100  # the resolver was walked: portal, API, admin, OAuth
    failures = []
    requests = [("anonymous", url, shape) for url in routes for shape in NUL_SHAPES]
    requests += [
        (who, url, shape)
        for offset, url in enumerate(routes)
        for who in clients
        for shape in shapes(offset)
    ]
    for who, url, (shape, method, kwargs) in requests:
        clients[who].cookies = copy.deepcopy(signed_in[who])
        cache.clear()  # throttles count in the cache: the fuzzer's burst is not what they are for
        # Each request in a savepoint rolled back at once: nothing it changes (or a failed
        # statement) leaks into the next, and the seeded world stays as it was.
        savepoint = transaction.savepoint()
        try:
            response = _send(clients[who], method, url, kwargs)
        finally:
            transaction.savepoint_rollback(savepoint)
            transaction.savepoint_commit(savepoint)  # RELEASE: or the savepoints would nest
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {who}: {shape}: {method.upper()} {url}")
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])
