"""A token in an endpoint's query string (`?token=…`, as some receivers want) reaches the
receiver, and only the receiver: the ledger, the delivery log and the admin's history keep the
URL with each query value blanked (`core.logs.url_without_secrets`)."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from core.logs import url_without_secrets
from tokens import keyring
from webhooks import services
from webhooks.models import WebhookDelivery

from .conftest import subscribe

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-receiver-token"


def ledger_payloads(event_type) -> list[dict]:
    ledger.flush()
    return [e.payload for e in AuditEvent.objects.filter(event_type=event_type).order_by("seq")]


def test_a_url_keeps_its_names_and_loses_its_values_and_credentials():
    assert (
        url_without_secrets(f"https://u:{TOKEN}@hooks.example.org:8443/in?token={TOKEN}&v=2&flag")
        == "https://hooks.example.org:8443/in?token=[redacted]&v=[redacted]&[redacted]"
    )
    assert url_without_secrets("https://hooks.example.org/in") == "https://hooks.example.org/in"


def test_the_receiver_gets_the_token_and_the_ledger_does_not(
    receiver, django_capture_on_commit_callbacks
):
    receiver.start()
    subscription, secret = subscribe(f"{receiver.url}?token={TOKEN}")
    with django_capture_on_commit_callbacks(execute=True):
        keyring.keys_rotate(actor=None, force=True)

    (request,) = receiver.received()
    assert request["path"] == f"/hooks/tessera?token={TOKEN}"
    Webhook(secret).verify(request["body"], request["headers"])
    (subscribed,) = ledger_payloads(EventType.WEBHOOK_SUBSCRIBED)
    assert subscribed["url"] == f"{receiver.url}?token=[redacted]"

    services.subscription_update(
        subscription=subscription, actor=None, url=f"{receiver.url}?token={TOKEN}-2"
    )
    (changed,) = ledger_payloads(EventType.WEBHOOK_SUBSCRIPTION_CHANGED)
    assert changed["changes"]["url"] == [f"{receiver.url}?token=[redacted]"] * 2
    assert TOKEN not in str(subscribed) + str(changed)
    assert TOKEN not in str(subscription)


def test_a_failed_delivery_logs_no_token(receiver, django_capture_on_commit_callbacks):
    subscribe(f"{receiver.url}?token={TOKEN}")  # nobody listens on the port
    with django_capture_on_commit_callbacks(execute=True):
        keyring.keys_rotate(actor=None, force=True)

    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1
    assert "ConnectionError" in delivery.last_error
    assert "/hooks/tessera?token=[redacted]" in delivery.last_error
    assert TOKEN not in delivery.last_error
