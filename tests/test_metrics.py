# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)
"""`GET /metrics`: Prometheus' exposition, parsed with prometheus_client's own parser; the
figures on a seeded history against counts made by hand; bounded labels; a constant number of
queries per scrape; the bearer token and the loopback rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from access.models import AccessRequest, Grant, Notification
from audit import checkpoints
from audit.models import AuditEvent
from tests import factories
from tests.access_world import accept_all, approve_part, submit_request
from tests.test_settings import production_env, python
from tests.tokens.token_support import (
    grant,
    introspect,
    storage,
    token_keys,
)
from tokens.issue import token_issue
from tokens.visas import visas_issue

DAY = 24 * 3600
TOKEN = "metrics-token-for-the-tests-0123456789"
# The label names a Tessera figure may carry: committees, statuses, outcomes, results, buckets.
TESSERA_LABELS = {"committee", "status", "outcome", "result", "le", "event", "state"}


def scrape(client: Client | None = None, **headers) -> dict:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {f.name: f for f in text_string_to_metric_families(response.content.decode())}


def value(families, name, **labels) -> float:
    """The one sample of `name` (its family's samples include _bucket, _count...) with exactly
    these labels; 0 when there is none."""
    for family in families.values():
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


# --- the exposition ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_exposition_names_each_figure_with_its_type(grant, researcher):
    token_issue(grant=grant, actor=researcher)
    families = scrape()
    expected = {
        "tessera_requests": "gauge",
        "tessera_committee_requests": "gauge",
        "tessera_reviews_overdue": "gauge",
        "tessera_decisions": "counter",
        "tessera_time_to_decision_seconds": "histogram",
        "tessera_grants_active": "gauge",
        "tessera_grants_expiring": "gauge",
        "tessera_tokens_issued": "counter",
        "tessera_visas_issued": "counter",
        "tessera_token_introspections": "counter",
        "tessera_ledger_backlog_events": "gauge",
        "tessera_ledger_lag_seconds": "gauge",
        "tessera_ledger_events": "counter",
        "tessera_checkpoint_uncovered_events": "gauge",
        "tessera_checkpoint_lag_seconds": "gauge",
        "tessera_outbox_backlog": "gauge",
        "tessera_outbox_due": "gauge",
        "tessera_outbox_failing": "gauge",
        "tessera_outbox_oldest_due_seconds": "gauge",
        "tessera_signing_key_age_seconds": "gauge",
        "tessera_signing_key_active": "gauge",
        # django-prometheus: requests, database, cache
        "django_http_requests_total_by_method": "counter",
        "django_db_execute": "counter",
        "django_cache_get": "counter",
    }
    found = {name: families[name].type for name in expected if name in families}
    assert found == expected


@pytest.mark.django_db
def test_labels_are_bounded_and_name_no_person_or_request(grant, researcher, teammate, storage):
    _, bearer = storage
    access = token_issue(grant=grant, actor=researcher)
    introspect(bearer, access.token)
    visas_issue(user=researcher, actor=researcher)
    families = scrape()
    personal = {
        researcher.username,
        researcher.email,
        teammate.username,
        teammate.email,
        researcher.pseudonym.pseudonym,
        grant.request.reference,
        access.jti,
    }
    for family in families.values():
        for sample in family.samples:
            if family.name.startswith("tessera_"):
                assert set(sample.labels) <= TESSERA_LABELS, (sample.name, sample.labels)
            assert not set(sample.labels) & {"user", "request_id", "jti", "subject", "path"}
            assert not set(sample.labels.values()) & personal, sample


# --- the figures, against a history seeded here ------------------------------------------------
@pytest.mark.django_db
def test_figures_match_a_seeded_history(
    grant, researcher, teammate, committee, other_committee, dataset, storage
):
    _, bearer = storage
    before = scrape()
    submitted = grant.request
    # The other committee's part waits past its service level (14 days): overdue. The approved
    # part was thereby decided (a few seconds less than) 31 days after submission.
    AccessRequest.objects.filter(pk=submitted.pk).update(
        submitted_at=timezone.now() - timedelta(days=31)
    )
    # Two grants from the approval (researcher, teammate); the teammate's is active once they
    # accept the committee's agreement, and ends in 10 days.
    assert Grant.objects.filter(request=submitted).count() == 2
    accept_all(submitted, teammate)
    Grant.objects.filter(request=submitted, user=teammate).update(
        valid_until=timezone.now() + timedelta(days=10)
    )
    # A third request, approved, whose holder is then suspended: its grant is not active.
    suspended = factories.user("suspended")
    third = submit_request(suspended, [dataset])
    approve_part(third, dataset, factories.committee_staff("chair3", committee, "chair"))
    type(suspended).objects.filter(pk=suspended.pk).update(is_active=False)

    access = token_issue(grant=grant, actor=researcher)
    token_issue(grant=grant, actor=researcher)
    visas_issue(user=researcher, actor=researcher)
    assert introspect(bearer, access.token).json()["active"] is True
    assert introspect(bearer, "not.a.token").json() == {"active": False}
    Notification.objects.create(
        address="someone@example.org",
        kind="submitted",
        subject="s",
        body="b",
        dedupe_key="metrics-test-failing",
        attempts=2,
        last_error="SMTPServerDisconnected",
        next_attempt_at=timezone.now() - timedelta(minutes=1),
    )
    unsent = Notification.objects.filter(sent_at__isnull=True).exclude(digest=True, attempts=0)

    m = scrape()
    radboud, leeds = committee.slug, other_committee.slug
    assert value(m, "tessera_requests", status="submitted") == 2
    assert value(m, "tessera_committee_requests", committee=radboud, status="approved") == 2
    assert value(m, "tessera_committee_requests", committee=leeds, status="submitted") == 1
    assert value(m, "tessera_reviews_overdue", committee=leeds) == 1
    assert value(m, "tessera_reviews_overdue", committee=radboud) == 0
    assert value(m, "tessera_decisions_total", committee=radboud, outcome="approve") == 2
    assert value(m, "tessera_decisions_total", committee=leeds, outcome="approve") == 0
    # One decision took 31 days (the back-dated request), the other seconds.
    ttd = "tessera_time_to_decision_seconds"
    assert value(m, f"{ttd}_count", committee=radboud) == 2
    assert value(m, f"{ttd}_bucket", committee=radboud, le=str(float(DAY))) == 1
    assert value(m, f"{ttd}_bucket", committee=radboud, le=str(float(30 * DAY))) == 1
    assert value(m, f"{ttd}_bucket", committee=radboud, le=str(float(45 * DAY))) == 2
    assert value(m, f"{ttd}_bucket", committee=radboud, le="+Inf") == 2
    assert 31 * DAY - 3600 < value(m, f"{ttd}_sum", committee=radboud) < 31 * DAY + 3600
    # Active: researcher and teammate (the suspended holder's grant is not); expiring: teammate.
    holders = {g.user for g in Grant.objects.filter(dataset=dataset) if g.is_active}
    assert holders == {researcher, teammate}
    assert value(m, "tessera_grants_active", committee=radboud) == 2
    assert value(m, "tessera_grants_expiring", committee=radboud) == 1
    assert value(m, "tessera_tokens_issued_total") == 2
    assert value(m, "tessera_visas_issued_total") == 1
    introspections = "tessera_token_introspections_total"
    for result in ("active", "malformed"):
        assert (
            value(m, introspections, result=result)
            == value(before, introspections, result=result) + 1
        )
    assert value(m, "tessera_outbox_backlog") == unsent.count() >= 1
    assert value(m, "tessera_outbox_failing") == unsent.filter(attempts__gt=0).count() == 1
    assert value(m, "tessera_outbox_oldest_due_seconds") >= 0
    assert value(m, "tessera_signing_key_active") == 1
    assert 0 <= value(m, "tessera_signing_key_age_seconds") < 3600
    # Inline sequencing (tests): nothing waits. No checkpoint yet: every event is uncovered.
    assert value(m, "tessera_ledger_backlog_events") == 0
    size = AuditEvent.objects.count()
    assert value(m, "tessera_ledger_events_total") == size
    assert value(m, "tessera_checkpoint_uncovered_events") == size
    assert "tessera_checkpoint_age_seconds" not in m

    checkpoints.checkpoint_sign()
    m = scrape()
    assert value(m, "tessera_checkpoint_uncovered_events") == 0
    assert value(m, "tessera_checkpoint_lag_seconds") == 0
    assert 0 <= value(m, "tessera_checkpoint_age_seconds") < 60


@pytest.mark.django_db
def test_scrape_costs_the_same_queries_however_much_history(
    grant, researcher, chair, dataset, other_dataset, other_chair
):
    def queries() -> int:
        client = Client()
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/metrics").status_code == 200
        return len(captured)

    small = queries()
    # More of everything: committees, requests, decisions, grants, tokens.
    extra = factories.committee("extra-dac")
    extra_chair = factories.committee_staff("extrachair", extra, "chair")
    extra_dataset = factories.dataset(committee=extra, controller=dataset.controller)
    for n in range(3):
        applicant = factories.user(f"applicant{n}")
        request = submit_request(applicant, [dataset, other_dataset, extra_dataset])
        approve_part(request, dataset, chair)
        approve_part(request, extra_dataset, extra_chair)
    token_issue(grant=grant, actor=researcher)
    assert queries() == small == 14  # docs/operations.md says so


# --- who may scrape ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_with_a_token_configured_a_scrape_without_it_gets_401(settings):
    settings.TESSERA_METRICS_TOKEN = TOKEN
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"tessera_" not in response.content
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


@pytest.mark.django_db
def test_with_a_token_configured_a_wrong_token_gets_403_even_from_loopback(settings):
    settings.TESSERA_METRICS_TOKEN = TOKEN
    for wrong in (TOKEN[:-1], TOKEN + "x", "x" * len(TOKEN), "é" * 5):
        response = Client().get(
            "/metrics", HTTP_AUTHORIZATION=f"Bearer {wrong}", REMOTE_ADDR="127.0.0.1"
        )
        assert response.status_code == 403
        assert TOKEN not in response.content.decode()


@pytest.mark.django_db
def test_with_a_token_configured_its_holder_scrapes_from_anywhere(settings):
    settings.TESSERA_METRICS_TOKEN = TOKEN
    families = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="198.51.100.7")
    assert "tessera_requests" in families


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1"])
def test_without_a_token_loopback_clients_scrape(settings, address):
    settings.TESSERA_METRICS_TOKEN = ""
    assert "tessera_requests" in scrape(REMOTE_ADDR=address)


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["10.0.0.5", "198.51.100.7", "::ffff:10.0.0.5", "fe80::1"])
def test_without_a_token_other_clients_get_403(settings, address):
    settings.TESSERA_METRICS_TOKEN = ""
    response = Client().get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 403
    assert b"tessera_" not in response.content


@pytest.mark.django_db
def test_without_a_token_a_forged_forwarded_loopback_address_is_not_believed(settings):
    settings.TESSERA_METRICS_TOKEN = ""
    settings.TESSERA_TRUSTED_PROXIES = ["10.0.0.1"]
    # The proxy appended the peer it saw (203.0.113.9); the client wrote "127.0.0.1" itself.
    response = Client().get(
        "/metrics", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9"
    )
    assert response.status_code == 403

    # A proxy on the same host (nginx, TESSERA_TRUSTED_PROXIES unset): every request comes from
    # loopback, but one that was forwarded is a remote client's (found in review).
    settings.TESSERA_TRUSTED_PROXIES = []
    for header in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"):
        response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", **{header: "203.0.113.9"})
        assert response.status_code == 403, header
        assert b"tessera_" not in response.content


def test_the_token_can_be_given_as_a_file(tmp_path):
    secret = tmp_path / "metrics_token"
    secret.write_text(TOKEN + "\n")
    env = production_env(TESSERA_METRICS_TOKEN=None, TESSERA_METRICS_TOKEN_FILE=str(secret))
    result = python(
        "import django; django.setup(); from django.conf import settings; "
        f"print(settings.TESSERA_METRICS_TOKEN == {TOKEN!r})",
        env=env,
    )
    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.django_db
def test_metrics_answer_only_get_and_head():
    assert Client().head("/metrics").status_code == 200
    assert Client(enforce_csrf_checks=False).post("/metrics").status_code == 405


def test_under_several_workers_the_scrape_sums_every_workers_counters(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR (gunicorn with several workers, docs/operations.md): two worker
    processes count introspections, a third answers the scrape with their sum."""
    env = production_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    count = (
        "import django; django.setup(); from tokens.metrics import introspection_counted; "
        "introspection_counted(''); introspection_counted('revoked')"
    )
    for _ in range(2):
        assert python(count, env=env).returncode == 0
    result = python(
        "import django; django.setup(); from prometheus_client import generate_latest; "
        "from core.metrics import process_registry; "
        "print(generate_latest(process_registry()).decode())",
        env=env,
    )
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    assert value(families, "tessera_token_introspections_total", result="active") == 2
    assert value(families, "tessera_token_introspections_total", result="revoked") == 2
