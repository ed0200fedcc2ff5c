"""An amendment approved while a member is taken off the project ends consistent (PostgreSQL,
real concurrent transactions): whichever commits first, the member holds no live grant of the
project afterwards, is on neither team, and every grant the amendment made is accounted for in
the ledger."""

import threading
import time

import pytest
from django.db import connection

from access import selectors
from access.models import Grant
from access.services import amendments as amendment_services
from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import team as team_services
from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from tests.access_world import accept_all, approve_part, make_draft, reference_data_restore

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "row locks under real concurrent transactions are tested on PostgreSQL (CI runs it)"
        )
    reference_data_restore()  # what a transactional flush removed


@pytest.mark.parametrize("approved_first", [True, False], ids=["approved-first", "removed-first"])
def test_an_amendment_approved_while_a_member_is_removed_ends_consistent(
    monkeypatch,
    temporary_media,
    researcher,
    teammate,
    chair,
    other_chair,
    dataset,
    other_dataset,
    agreement,
    other_agreement,
    approved_first,
):
    draft = make_draft(researcher, [dataset], team=[teammate])
    accept_all(draft, researcher)
    accept_all(draft, teammate)
    project = request_services.request_submit(access_request=draft, actor=researcher)
    approve_part(project, dataset, chair, days=200)
    amendment = amendment_services.amendment_open(access_request=project, actor=researcher)
    request_services.request_update(
        access_request=amendment, actor=researcher, data={}, datasets=[dataset, other_dataset]
    )
    accept_all(amendment, researcher)
    accept_all(amendment, teammate)
    amendment = request_services.request_submit(access_request=amendment, actor=researcher)
    review = amendment.reviews.get()
    end_date = decision_services.latest_end_date(amendment)

    # The first to start holds its locks for 2.5 s while the other one starts.
    if approved_first:
        real = amendment_services._apply

        def slow_apply(**kwargs):
            time.sleep(2.5)
            return real(**kwargs)

        monkeypatch.setattr(amendment_services, "_apply", slow_apply)
    else:
        real = team_services.notification_services.notify_team_left

        def slow_notice(**kwargs):
            time.sleep(2.5)
            return real(**kwargs)

        monkeypatch.setattr(team_services.notification_services, "notify_team_left", slow_notice)
    errors: list[BaseException] = []

    def approve():
        try:
            if not approved_first:
                time.sleep(0.5)
            decision_services.decision_record(
                review=review, actor=other_chair, outcome="approve", end_date=end_date
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def remove():
        try:
            if approved_first:
                time.sleep(0.5)
            team_services.team_member_remove(
                access_request=project, actor=researcher, user=teammate, reason="Left the lab."
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve), threading.Thread(target=remove)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors

    amendment.refresh_from_db()
    assert amendment.applied_at is not None
    # The member holds nothing live, whichever order the two committed in.
    assert not selectors.grants_live_of(project).filter(user=teammate).exists()
    assert teammate not in project.team_members.all()
    assert teammate not in amendment.team_members.all()
    # The applicant holds both datasets.
    assert set(
        selectors.grants_live_of(project).filter(user=researcher).values_list("dataset", flat=True)
    ) == {dataset.pk, other_dataset.pk}
    ledger.flush()
    (applied,) = AuditEvent.objects.filter(event_type=EventType.AMENDMENT_APPLIED)
    made = set(applied.payload["grants_created"])
    teammates = set(
        Grant.objects.filter(request=project, user=teammate, dataset=other_dataset).values_list(
            "pk", flat=True
        )
    )
    if approved_first:
        # The amendment gave the member the new dataset; the removal then ended it.
        assert teammates and teammates <= made
        revoked = set(
            AuditEvent.objects.filter(event_type=EventType.GRANT_REVOKED).values_list(
                "target_id", flat=True
            )
        )
        assert {str(pk) for pk in teammates} <= revoked
    else:
        # The removal came first: the amendment gave the member nothing.
        assert not teammates
