"""Subscribing endpoints: `manage.py webhook_subscribe`, the admin (superusers only, the secret
write-only and shown once), HTTPS only unless DEBUG, each change one ledger event without the
secret; and the retry schedule (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from standardwebhooks.webhooks import Webhook

from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Forbidden, Invalid
from webhooks import policy, services, signing
from webhooks.models import WebhookDelivery, WebhookSubscription

ADD = "/admin/webhooks/webhooksubscription/add/"
SECRET = signing.secret_new()


def ledger_events(event_type) -> list[AuditEvent]:
    ledger.flush()
    return list(AuditEvent.objects.filter(event_type=event_type).order_by("seq"))


# --- the command --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_webhook_subscribe_reads_the_secret_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    out = StringIO()
    call_command(
        "webhook_subscribe",
        "--url=https://storage.example.org/hooks",
        "--events=grant.created,grant.revoked",
        f"--secret-file={secret_file}",
        stdout=out,
    )
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret == SECRET
    assert subscription.events == ["grant.created", "grant.revoked"]
    assert SECRET not in out.getvalue()
    (event,) = ledger_events(EventType.WEBHOOK_SUBSCRIBED)
    assert event.payload["url"] == "https://storage.example.org/hooks"
    assert SECRET not in str(event.payload)


@pytest.mark.django_db
def test_webhook_subscribe_without_a_file_prints_a_generated_secret_once():
    out = StringIO()
    call_command(
        "webhook_subscribe", "--url=https://a.example.org/", "--events=key.rotated", stdout=out
    )
    secret = WebhookSubscription.objects.get().secret
    assert signing.secret_problem(secret) is None
    assert out.getvalue().count(secret) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, events, problem",
    [
        ("http://storage.example.org/hooks", "grant.created", "HTTPS"),
        ("https://storage.example.org/hooks", "grant.created,grant.eaten", "Choose from"),
        ("https://user:pw@storage.example.org/", "grant.created", "credentials"),
    ],
)
def test_webhook_subscribe_refuses_what_it_must(url, events, problem):
    with pytest.raises(CommandError, match=problem):
        call_command("webhook_subscribe", f"--url={url}", f"--events={events}")
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_a_bad_secret_is_refused(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("hunter2")
    with pytest.raises(CommandError, match="whsec_"):
        call_command(
            "webhook_subscribe",
            "--url=https://a.example.org/",
            "--events=key.rotated",
            f"--secret-file={secret_file}",
        )


@pytest.mark.django_db
def test_plain_http_is_allowed_only_while_debug_is_on(settings):
    with pytest.raises(Invalid):
        services.subscription_create(url="http://127.0.0.1:9/", events=["key.rotated"], actor=None)
    settings.DEBUG = True
    services.subscription_create(url="http://127.0.0.1:9/", events=["key.rotated"], actor=None)


@pytest.mark.django_db
def test_only_administrators_manage_subscriptions(chair):
    with pytest.raises(Forbidden):
        services.subscription_create(
            url="https://a.example.org/", events=["key.rotated"], actor=chair
        )


# --- the admin ----------------------------------------------------------------------------------
@pytest.fixture
def superuser(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admin_shows_a_generated_secret_once_and_never_again(superuser, chair):
    response = superuser.post(
        ADD,
        {
            "url": "https://storage.example.org/hooks",
            "description": "Storage tier",
            "events": ["grant.created", "grant.revoked"],
            "active": "on",
            "new_secret": "",
        },
    )
    assert response.status_code == 200, response.context["adminform"].form.errors
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    listed = superuser.get("/admin/webhooks/webhooksubscription/")
    assert listed.status_code == 200 and subscription.secret not in listed.content.decode()
    change = superuser.get(f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/")
    assert change.status_code == 200
    assert subscription.secret not in change.content.decode()
    (event,) = ledger_events(EventType.WEBHOOK_SUBSCRIBED)
    assert subscription.secret not in str(event.payload)
    # A committee member, staff but no administrator, does not see the page at all.
    staff = Client()
    staff.force_login(chair)
    assert staff.get(ADD).status_code in (403, 404)


def test_the_admin_changes_a_subscription_through_the_service(superuser):
    subscription, _secret = services.subscription_create(
        url="https://storage.example.org/hooks", events=["grant.created"], actor=None
    )
    new = signing.secret_new()
    response = superuser.post(
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/",
        {
            "url": "https://storage.example.org/hooks",
            "description": "",
            "events": ["grant.created", "grant.expired"],
            "new_secret": new,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    subscription.refresh_from_db()
    assert subscription.secret == new
    assert subscription.active is False
    (event,) = ledger_events(EventType.WEBHOOK_SUBSCRIPTION_CHANGED)
    assert event.payload["secret_changed"] is True
    assert event.payload["changes"]["events"] == [
        ["grant.created"],
        ["grant.created", "grant.expired"],
    ]
    assert new not in str(event.payload)


def test_the_admin_refuses_plain_http_next_to_the_field(superuser):
    response = superuser.post(
        ADD, {"url": "http://storage.example.org/", "events": ["grant.created"], "active": "on"}
    )
    assert response.status_code == 200
    assert "HTTPS" in str(response.context["adminform"].form.errors["url"])
    assert not WebhookSubscription.objects.exists()


def test_retry_now_in_the_delivery_log_is_ledgered(
    superuser, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    subscription, _ = services.subscription_create(
        url="http://127.0.0.1:9/", events=["key.rotated"], actor=None
    )
    now = datetime.now(UTC)
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="key.rotated",
        webhook_id=signing.webhook_id_new(),
        body="{}",
        created_at=now - timedelta(hours=30),
        next_attempt_at=now,
        status="failed",
    )
    log = superuser.get("/admin/webhooks/webhookdelivery/")
    assert log.status_code == 200 and "Given up" in log.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = superuser.post(
            "/admin/webhooks/webhookdelivery/",
            {"action": "retry_now", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    (event,) = ledger_events(EventType.WEBHOOK_RETRIED)
    assert event.payload["webhook_ids"] == [delivery.webhook_id]
    delivery.refresh_from_db()
    # Nobody listens on port 9: tried once more now, and past its window, given up again.
    assert delivery.attempts == 1 and delivery.status == "failed"


# --- signatures and the schedule (pure) --------------------------------------------------------
def test_the_signature_verifies_with_the_standard_library_and_not_with_another_secret():
    body = b'{"type":"key.rotated"}'
    when = datetime.now(UTC)
    headers = signing.signed_headers(secret=SECRET, webhook_id="msg_1", timestamp=when, body=body)
    assert Webhook(SECRET).verify(body, headers) == {"type": "key.rotated"}
    with pytest.raises(Exception, match="signature"):
        Webhook(signing.secret_new()).verify(body, headers)


def test_retries_back_off_exponentially_and_stop_after_the_window():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    waits = []
    now, attempts = start, 1
    while (
        at := policy.retry_at(created_at=start, attempts=attempts, now=now, hours=24)
    ) is not None:
        waits.append((at - now).total_seconds())
        now, attempts = at, attempts + 1
    assert waits[:4] == [5, 10, 20, 40]
    assert max(waits) == policy.LONGEST_WAIT_SECONDS
    assert start + timedelta(hours=24) <= now < start + timedelta(hours=25)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8000/admin/",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "https://[fe80::1]/hook",
    ],
)
def test_no_webhooks_to_private_or_local_addresses(settings, url):
    """Server-side request forgery: a subscription cannot point Tessera at itself, a cloud's
    metadata service or the private network (found in review)."""
    settings.DEBUG = False
    with pytest.raises(Invalid) as refused:
        services.subscription_check(url=url, events_=["grant.created"], secret=None)
    assert "public endpoints only" in refused.value.message_dict["url"][0]


def test_an_internal_host_may_be_allowed_by_name(settings):
    settings.DEBUG = False
    settings.TESSERA_WEBHOOK_ALLOWED_HOSTS = ["10.0.0.5"]
    assert services.subscription_check(
        url="https://10.0.0.5/hook", events_=["grant.created"], secret=None
    ) == ["grant.created"]
    # A public address needs no exception.
    settings.TESSERA_WEBHOOK_ALLOWED_HOSTS = []
    assert services.subscription_check(
        url="https://93.184.216.34/hook", events_=["grant.created"], secret=None
    ) == ["grant.created"]
