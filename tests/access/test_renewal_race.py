"""A renewal decided while its grant expires ends consistent (PostgreSQL, real concurrent
transactions): either the grant was extended before it ended, and nobody is told it expired, or
it expired first, stays expired, and the decision says it was not extended."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from access import lifecycle
from access.models import Grant, Notification
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import renewals as renewal_services
from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from tests.access_world import approve_part, reference_data_restore, submit_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "row locks under real concurrent transactions are tested on PostgreSQL (CI runs it)"
        )
    reference_data_restore()  # what a transactional flush removed


@pytest.mark.parametrize("decided_first", [True, False], ids=["decided-first", "expired-first"])
def test_a_renewal_decided_while_the_grant_expires_ends_consistent(
    monkeypatch, temporary_media, researcher, chair, dataset, agreement, decided_first
):
    parent = submit_request(researcher, [dataset])
    approve_part(parent, dataset, chair, days=30)
    renewal = renewal_services.renewal_open(
        access_request=parent, actor=researcher, months=6, progress_report="Two papers."
    )
    grant = Grant.objects.get(request=parent)
    ends = timezone.now() + timedelta(seconds=1.5)
    Grant.objects.filter(pk=grant.pk).update(valid_until=ends)
    end_date = decision_services.latest_end_date(renewal)

    if decided_first:
        # The decision holds the grant's lock across the moment it ends: it read the clock
        # before, so it extends; the sweep, started after the end, must wait and see the new end.
        real = lifecycle.renewal_last_day

        def slow(**kwargs):
            time.sleep(2.5)
            return real(**kwargs)

        monkeypatch.setattr(lifecycle, "renewal_last_day", slow)
    errors: list[BaseException] = []

    def decide():
        try:
            if not decided_first:
                time.sleep(2.5)  # after the sweep saw the grant expire
            decision_services.decision_record(
                review=renewal.reviews.get(), actor=chair, outcome="approve", end_date=end_date
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def sweep():
        try:
            time.sleep(max(0.0, (ends - timezone.now()).total_seconds()) + 0.3)
            grant_services.grants_expire()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide), threading.Thread(target=sweep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors

    grant.refresh_from_db()
    decision = renewal.reviews.get().decisions.get()
    ledger.flush()
    expired_events = AuditEvent.objects.filter(
        event_type=EventType.GRANT_EXPIRED, target_id=str(grant.pk)
    ).count()
    told_expired = Notification.objects.filter(dedupe_key=f"grant-expired:{grant.pk}").exists()
    extended_events = AuditEvent.objects.filter(
        event_type=EventType.GRANT_EXTENDED, target_id=str(grant.pk)
    ).count()
    if decided_first:
        assert grant.valid_until > ends + timedelta(days=100)
        assert extended_events == 1
        assert expired_events == 0 and not told_expired
        assert "extended from" in decision.renewal_note
    else:
        assert grant.valid_until == ends
        assert extended_events == 0
        assert expired_events == 1 and told_expired
        assert "not extended, the grant expired" in decision.renewal_note
