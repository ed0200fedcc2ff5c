from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError

from access import tasks
from access.choices import RequestStatus
from access.models import Grant, Notification
from access.services import grants as grant_services
from access.services import notifications as notification_services
from access.services import requests as request_services
from tests.access_world import accept_all, approve_part, make_draft

pytestmark = pytest.mark.django_db


def test_submission_notifies_the_committee_after_commit(
    draft, researcher, chair, django_capture_on_commit_callbacks
):
    accept_all(draft, researcher)
    with django_capture_on_commit_callbacks(execute=True):
        request_services.request_submit(access_request=draft, actor=researcher)
    assert any(chair.email in m.to for m in mail.outbox)
    # (The draft's team invitation was queued outside this block: not the submission's.)
    assert not Notification.objects.filter(sent_at__isnull=True, kind="submitted").exists()


def test_nothing_is_lost_when_the_broker_is_down(
    draft, researcher, chair, django_capture_on_commit_callbacks
):
    accept_all(draft, researcher)
    with (
        mock.patch.object(
            tasks.notification_send, "apply_async", side_effect=OperationalError("broker down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        request_services.request_submit(access_request=draft, actor=researcher)
    draft.refresh_from_db()
    assert draft.status == RequestStatus.SUBMITTED  # the researcher's action succeeded
    pending = Notification.objects.filter(sent_at__isnull=True)
    assert pending.filter(recipient=chair).exists()
    assert mail.outbox == []
    sent = tasks.notifications_sweep()
    assert sent == pending.model.objects.filter(sent_at__isnull=False).count() > 0
    assert any(chair.email in m.to for m in mail.outbox)


def test_a_mail_server_outage_backs_off_and_retries(
    draft, researcher, django_capture_on_commit_callbacks
):
    accept_all(draft, researcher)
    with mock.patch(
        "access.services.notifications.EmailMultiAlternatives.send",
        side_effect=ConnectionRefusedError("smtp down"),
    ):
        with django_capture_on_commit_callbacks(execute=False):
            request_services.request_submit(access_request=draft, actor=researcher)
        note = Notification.objects.filter(sent_at__isnull=True).first()
        assert notification_services.notification_deliver(notification_id=note.pk) is False
    note.refresh_from_db()
    assert note.attempts == 1 and "smtp down" in note.last_error
    assert note.next_attempt_at > timezone.now()
    assert note.pk not in notification_services.notifications_due()
    assert note.pk in notification_services.notifications_due(now=note.next_attempt_at)
    assert notification_services.notification_deliver(notification_id=note.pk) is True
    note.refresh_from_db()
    assert note.sent_at is not None


def test_idle_drafts_are_reminded_then_closed(researcher, dataset, agreement):
    draft = make_draft(researcher, [dataset])
    now = timezone.now()
    assert request_services.drafts_expire(now=now + timedelta(days=84)) == {
        "reminded": 1,
        "expired": 0,
    }
    assert request_services.drafts_expire(now=now + timedelta(days=84)) == {
        "reminded": 0,
        "expired": 0,
    }
    assert request_services.drafts_expire(now=now + timedelta(days=91)) == {
        "reminded": 0,
        "expired": 1,
    }
    draft.refresh_from_db()
    assert draft.status == RequestStatus.CLOSED


def test_grant_holders_are_reminded_at_30_and_7_days_and_at_expiry(
    submitted, chair, dataset, researcher
):
    approve_part(submitted, dataset, chair, days=60)
    grant = Grant.objects.get(user=researcher, dataset=dataset)
    end = grant.valid_until
    assert grant_services.grants_expire(now=end - timedelta(days=40))["reminded"] == 0
    assert (
        grant_services.grants_expire(now=end - timedelta(days=29))["reminded"] == 2
    )  # researcher + teammate
    assert grant_services.grants_expire(now=end - timedelta(days=28))["reminded"] == 0
    assert grant_services.grants_expire(now=end - timedelta(days=6))["reminded"] == 2
    assert grant_services.grants_expire(now=end + timedelta(hours=1))["expired"] == 2
    assert not grant.is_active or timezone.now() < end
    kinds = set(Notification.objects.filter(recipient=researcher).values_list("kind", flat=True))
    assert {"grant_expiring", "grant_expired"} <= kinds
