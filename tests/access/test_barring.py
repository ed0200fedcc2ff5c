"""Barring (issue 14, part 7): a committee revoking a grant for misuse bars the person from its
datasets until a date; their new requests are flagged on the review page, or rejected at
submission when the committee's policy says so. Review page, API and service, with the ledger."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access.choices import ReviewStatus
from access.models import Bar, Decision, Grant, Notification
from access.services import grants as grant_services
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Forbidden, Invalid
from governance import services as gov
from tests.access_world import submit_request

from .admin_support import set_policy, url

pytestmark = pytest.mark.django_db


def in_days(days: int):
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def grant(approved, researcher):
    return Grant.objects.get(decision__review=approved, user=researcher)


def revoke_and_bar(grant, chair, days=365):
    return grant_services.grant_revoke(
        grant=grant,
        actor=chair,
        reason="Shared the slides outside the team.",
        bar_until=in_days(days),
    )


def test_revoking_with_a_bar_records_it_with_its_ledger_event_and_tells_the_person(
    grant, chair, researcher, committee
):
    revoke_and_bar(grant, chair)
    bar = Bar.objects.get()
    assert (bar.user, bar.committee, bar.until, bar.grant) == (
        researcher,
        committee,
        in_days(365),
        grant,
    )
    assert bar.reason == "Shared the slides outside the team."
    event = AuditEvent.objects.get(event_type=EventType.PERSON_BARRED)
    assert event.payload["until"] == in_days(365).isoformat()
    assert event.payload["committee"] == committee.slug
    assert "researcher" not in str(event.payload)  # a pseudonym, never the username
    mail = Notification.objects.filter(recipient=researcher, kind="revoked").latest("pk")
    assert "has also barred you from its datasets until" in mail.body
    assert "flagged to the committee" in mail.body


def test_revoking_without_a_bar_bars_nobody(grant, chair):
    grant_services.grant_revoke(grant=grant, actor=chair, reason="Project ended early.")
    assert not Bar.objects.exists()
    assert not AuditEvent.objects.filter(event_type=EventType.PERSON_BARRED).exists()


@pytest.mark.parametrize(
    ("days", "message"),
    [(0, "A bar ends on a day after today."), (-3, "A bar ends on a day after today."),
     (366 * 11, "A bar lasts at most 10 years.")],
)  # fmt: skip
def test_a_bar_ends_between_tomorrow_and_ten_years_on(grant, chair, days, message):
    with pytest.raises(Invalid) as refused:
        revoke_and_bar(grant, chair, days=days)
    assert refused.value.field_errors == {"bar_until": [message]}
    grant.refresh_from_db()
    assert grant.revoked_at is None  # nothing written
    assert not Bar.objects.exists()


def test_a_barred_persons_new_request_is_flagged_on_the_review_page(
    client, grant, chair, researcher, dataset, committee
):
    revoke_and_bar(grant, chair)
    again = submit_request(researcher, [dataset], title="Same slides, new project")
    review = again.reviews.get(committee=committee)
    assert review.status == ReviewStatus.SUBMITTED  # waits for the committee
    client.force_login(chair)
    page = client.get(url("change", review)).text
    assert "The applicant researcher is barred from this committee" in page
    assert "Shared the slides outside the team." in page


def test_a_strict_committee_rejects_a_barred_persons_request_at_submission(
    grant, chair, researcher, dataset, committee
):
    committee.auto_reject_barred = True
    gov.committee_update(committee=committee, actor=None)
    revoke_and_bar(grant, chair)
    again = submit_request(researcher, [dataset], title="Same slides, new project")
    review = again.reviews.get(committee=committee)
    assert review.status == ReviewStatus.REJECTED
    decision = Decision.objects.get(review=review)
    assert decision.decided_by is None and decision.outcome == "reject"
    assert "barred the applicant researcher until" in decision.reason


def test_a_bar_that_ran_out_flags_nothing(grant, chair, researcher, dataset, committee):
    committee.auto_reject_barred = True
    gov.committee_update(committee=committee, actor=None)
    revoke_and_bar(grant, chair, days=1)
    Bar.objects.update(until=in_days(-1))
    again = submit_request(researcher, [dataset], title="Later project")
    assert again.reviews.get(committee=committee).status == ReviewStatus.SUBMITTED


def test_another_committees_bar_does_not_touch_this_committee(
    grant, chair, researcher, other_committee, other_dataset
):
    other_committee.auto_reject_barred = True
    gov.committee_update(committee=other_committee, actor=None)
    revoke_and_bar(grant, chair)
    elsewhere = submit_request(researcher, [other_dataset], title="Another committee's data")
    assert elsewhere.reviews.get().status == ReviewStatus.SUBMITTED


def test_the_review_page_revokes_and_bars_with_the_date_checked(client, chair, approved, grant):
    client.force_login(chair)
    prefix = f"revoke-{grant.pk}"
    form = client.get(url("revoke", approved, grant.pk)).text
    assert f'name="{prefix}-bar_until"' in form
    refused = client.post(
        url("revoke", approved, grant.pk),
        {f"{prefix}-reason": "Misuse.", f"{prefix}-bar_until": in_days(-1).isoformat()},
    )
    assert refused.status_code == 200
    assert "A bar ends on a day after today." in refused.text
    done = client.post(
        url("revoke", approved, grant.pk),
        {f"{prefix}-reason": "Misuse.", f"{prefix}-bar_until": in_days(90).isoformat()},
    )
    assert done.status_code == 302
    assert Bar.objects.get().until == in_days(90)


def test_the_api_revokes_and_bars(chair, approved, grant):
    api = APIClient()
    api.force_authenticate(chair)
    base = f"/api/v1/access-requests/{approved.request_id}/revoke/"
    bad = api.post(base, {"grant": grant.pk, "reason": "Misuse.", "bar_until": "yesterday"})
    assert bad.status_code == 400
    past = api.post(
        base, {"grant": grant.pk, "reason": "Misuse.", "bar_until": in_days(-1).isoformat()}
    )
    assert past.status_code == 400
    assert "A bar ends on a day after today." in str(past.json())
    ok = api.post(
        base, {"grant": grant.pk, "reason": "Misuse.", "bar_until": in_days(30).isoformat()}
    )
    assert ok.status_code == 200, ok.content
    assert Bar.objects.get().until == in_days(30)


def test_the_bars_list_shows_only_the_members_committees(client, grant, chair, other_chair):
    revoke_and_bar(grant, chair)
    bar = Bar.objects.get()
    link = f"/admin/access/bar/{bar.pk}/change/"
    client.force_login(chair)
    assert link in client.get("/admin/access/bar/").text
    assert client.get(link).status_code == 200
    client.force_login(other_chair)
    assert link not in client.get("/admin/access/bar/").text
    assert client.get(link).status_code == 404


def test_under_a_single_decider_policy_a_member_may_revoke_but_not_bar(grant, member, committee):
    set_policy(committee, "single")
    with pytest.raises(Forbidden):
        revoke_and_bar(grant, member)
    grant.refresh_from_db()
    assert grant.revoked_at is None and not Bar.objects.exists()
    grant_services.grant_revoke(grant=grant, actor=member, reason="Project ended early.")
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_a_bar_set_on_29_february_ends_at_most_ten_years_on(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: date(2028, 2, 29))
    assert grant_services.bar_until_problem(date(2038, 2, 28)) is None
    assert grant_services.bar_until_problem(date(2038, 3, 1)) == "A bar lasts at most 10 years."
