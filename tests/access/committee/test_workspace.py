"""The committee workspace around the review page: the branded admin site and its role-aware home,
the queue's default "needs me" filter, review deadlines (the committee's service level, overdue
reviews), the members' daily reminder digest, the confirmation step with a reason the applicant
reads (close, reject, return, revoke), the consent match's words and the date format. Every
page goes through the Django test client as the persona would ask for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib import admin
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from access import lifecycle, selectors
from access.choices import NotificationKind, ReviewStatus
from access.committee.context import VERDICT_LABELS
from access.models import AccessRequest, Decision, Notification
from access.services import decisions as decision_services
from access.services import reviews as review_services
from access.tasks import review_reminders_send
from audit.choices import EventType
from audit.models import AuditEvent
from governance import services as gov
from tests import factories
from tests.access_world import api

from ..admin_support import listed, messages_of, page, set_policy, url

pytestmark = pytest.mark.django_db


def home(client):
    return client.get(reverse("admin:index"))


def counts(response) -> dict[str, int]:
    return {card["key"]: card["count"] for card in response.context["work_cards"]}


def queue(client, **params):
    return client.get(reverse("admin:access_review_changelist"), params)


def submitted_days_ago(review, days: int) -> None:
    AccessRequest.objects.filter(pk=review.request_id).update(
        submitted_at=timezone.now() - timedelta(days=days)
    )
    review.request.refresh_from_db()


# --- the site ---------------------------------------------------------------------------------
def test_the_admin_site_is_the_branded_committee_workspace(client, chair):
    client.force_login(chair)
    response = home(client)
    assert response.status_code == 200
    assert "Tessera — committee workspace" in response.text
    assert "Django administration" not in response.text
    assert admin.site.site_header == "Tessera — committee workspace"


def test_every_apps_model_admins_stay_registered_on_the_site(admin_user, client):
    registered = {model._meta.label for model in admin.site._registry}
    for label in [
        "access.Review",
        "access.Grant",
        "governance.DataAccessCommittee",
        "governance.Dataset",
        "auth.User",
    ]:
        assert label in registered, label
    assert any(label.startswith("tokens.") for label in registered)
    client.force_login(admin_user)
    for name in ["governance_dataaccesscommittee", "auth_user", "access_grant"]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name


# --- the role-aware home ----------------------------------------------------------------------
def test_home_counts_what_waits_for_each_role_under_majority(
    client, chair, member, committee, review, other_review
):
    set_policy(committee, "majority", quorum=2)
    secretary = factories.committee_staff("secretary", committee, "secretary")

    client.force_login(member)
    assert counts(home(client)) == {"vote": 1, "decision": 0, "applicant": 0, "overdue": 0}
    client.force_login(secretary)  # a secretary does not vote; no quorum yet
    assert counts(home(client)) == {"vote": 0, "decision": 0, "applicant": 0, "overdue": 0}

    for voter in (chair, member):
        review_services.vote_cast(review=review, actor=voter, choice="approve", rationale="Fits.")
    client.force_login(member)  # voted: nothing waits for them any more
    assert counts(home(client))["vote"] == 0
    for decider in (chair, secretary):  # the quorum is reached: they record the decision
        client.force_login(decider)
        assert counts(home(client)) == {"vote": 0, "decision": 1, "applicant": 0, "overdue": 0}
    # other_review belongs to another committee: never counted here
    link = home(client).context["work_cards"][1]["url"]
    assert link == reverse("admin:access_review_changelist") + "?needs=decision"
    assert listed(client.get(link)) == {review.pk}


def test_home_counts_under_chair_decides_returned_and_overdue(
    client, chair, member, committee, review
):
    client.force_login(chair)
    assert counts(home(client)) == {"vote": 0, "decision": 1, "applicant": 0, "overdue": 0}
    submitted_days_ago(review, committee.service_level_days + 1)
    assert counts(home(client)) == {"vote": 0, "decision": 1, "applicant": 0, "overdue": 1}
    client.force_login(member)  # a member under chair-decides: nothing to vote or decide
    assert counts(home(client)) == {"vote": 0, "decision": 0, "applicant": 0, "overdue": 1}

    decision_services.decision_record(
        review=review, actor=chair, outcome="return", questions="Which cohort?"
    )
    client.force_login(chair)  # back with the applicant: not overdue, nothing to decide
    assert counts(home(client)) == {"vote": 0, "decision": 0, "applicant": 1, "overdue": 0}
    assert listed(queue(client, needs="applicant")) == {review.pk}


def test_a_conflicted_member_is_counted_for_nothing(client, chair, committee, review):
    client.force_login(chair)
    review_services.recusal_declare(review=review, actor=chair, reason="My co-author.")
    assert counts(home(client)) == {"vote": 0, "decision": 0, "applicant": 0, "overdue": 0}


def test_staff_on_no_committee_see_no_cards(client, outsider, review):
    client.force_login(outsider)
    response = home(client)
    assert "work_cards" not in response.context
    assert "What waits for you" not in response.text


# --- the queue opens on "needs me" ------------------------------------------------------------
def test_the_queue_opens_on_what_needs_me_with_a_way_to_see_all(
    client, chair, member, committee, dataset, review
):
    client.force_login(member)  # chair-decides: nothing needs a member
    default = queue(client)
    assert listed(default) == set()
    assert "?needs=all" in default.text and "All reviews" in default.text
    assert listed(queue(client, needs="all")) == {review.pk}

    client.force_login(chair)
    assert listed(queue(client)) == {review.pk}
    review_services.review_close(review=review, actor=chair, reason="Duplicate.")
    assert listed(queue(client)) == set()
    assert listed(queue(client, needs="all")) == {review.pk}
    assert listed(queue(client, needs="bogus")) == set()


def test_a_superuser_on_no_committee_opens_on_the_whole_queue(
    client, admin_user, review, other_review
):
    client.force_login(admin_user)
    assert listed(queue(client)) == {review.pk, other_review.pk}


# --- review deadlines -------------------------------------------------------------------------
def test_the_due_date_is_submission_plus_the_committees_service_level():
    submitted = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    due = lifecycle.review_due(submitted, 14)
    assert due == datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
    assert lifecycle.review_due(None, 14) is None
    later = due + timedelta(minutes=1)
    assert lifecycle.review_overdue(ReviewStatus.UNDER_REVIEW, due, later)
    assert not lifecycle.review_overdue(ReviewStatus.UNDER_REVIEW, due, due)
    # waiting for the applicant, or decided: the committee owes nothing
    for status in (ReviewStatus.RETURNED, ReviewStatus.APPROVED, ReviewStatus.CLOSED):
        assert not lifecycle.review_overdue(status, due, later)


def test_a_committee_has_a_service_level_of_14_days_by_default_and_sets_its_own(committee):
    assert committee.service_level_days == 14
    committee.service_level_days = 5
    gov.committee_update(committee=committee, actor=None)
    committee.refresh_from_db()
    assert committee.service_level_days == 5


def test_overdue_reviews_are_flagged_in_the_queue_and_on_the_page(client, chair, committee, review):
    client.force_login(chair)
    submitted_days_ago(review, 3)
    due = date_format(timezone.localtime(selectors.review_due_at(review)), "j M Y")
    assert f"Due {due}" in queue(client, needs="all").text
    assert f"Due {due}" in client.get(page(review)).text

    submitted_days_ago(review, 20)
    due = date_format(timezone.localtime(selectors.review_due_at(review)), "j M Y")
    assert f"Overdue since {due}" in queue(client, needs="all").text
    assert f"Overdue since {due}" in client.get(page(review)).text
    assert listed(queue(client, needs="overdue")) == {review.pk}


# --- the reminder digest ----------------------------------------------------------------------
def test_reminders_go_to_members_with_reviews_waiting_once_a_day(
    chair, member, other_chair, committee, review, other_review
):
    set_policy(committee, "majority", quorum=1)
    AccessRequest.objects.filter(pk=review.request_id).update(
        submitted_at=timezone.now() - timedelta(days=30)
    )
    secretary = factories.committee_staff("secretary", committee, "secretary")
    review_services.vote_cast(review=review, actor=chair, choice="approve", rationale="Fits.")

    assert review_reminders_send.delay().get() == 4
    digests = {
        n.recipient: n for n in Notification.objects.filter(kind=NotificationKind.REVIEW_REMINDER)
    }
    # the member must vote; the chair and the secretary may record the decision; the other
    # committee's chair has their own review waiting (needs their decision)
    assert set(digests) == {chair, member, secretary, other_chair}
    member_digest = digests[member].body
    assert "Needs your vote (1):" in member_digest
    assert "Overdue (1):" in member_digest
    assert review.request.reference in member_digest
    assert "http" in member_digest and page(review) in member_digest
    assert page(other_review) not in member_digest  # not their committee's review
    assert "Needs your vote" not in digests[secretary].body
    # the HTML part links each review too, and the subject counts what waits
    assert f'{page(review)}">{review.request.reference}</a>' in digests[member].html_body
    assert digests[member].subject.startswith("Reviews waiting for you: 1 needs you, 1 overdue")

    # the same day again: nothing new
    assert review_services.review_reminders_send() == 0
    assert Notification.objects.filter(kind=NotificationKind.REVIEW_REMINDER).count() == 4
    # the next day: one each again
    tomorrow = timezone.now() + timedelta(days=1)
    assert review_services.review_reminders_send(now=tomorrow) == 4


def test_no_reminder_for_a_member_with_nothing_waiting(chair, member, committee, review):
    # chair-decides, not overdue: the member has nothing to do, the chair must decide
    review_services.review_reminders_send()
    recipients = set(
        Notification.objects.filter(kind=NotificationKind.REVIEW_REMINDER).values_list(
            "recipient__username", flat=True
        )
    )
    assert recipients == {chair.username}


# --- only the permitted actions ---------------------------------------------------------------
def test_a_member_sees_vote_but_not_decide_and_one_sentence_naming_the_chair(
    client, chair, member, committee, review
):
    set_policy(committee, "majority", quorum=2)
    chair.first_name, chair.last_name = "Ada", "Visser"
    chair.save()
    client.force_login(member)
    text = client.get(page(review)).text
    assert ">Cast vote<" in text
    assert "approve-end_date" not in text and "?outcome=reject" not in text
    assert " disabled" not in text
    assert text.count("can record the decision") == 1
    assert "Only the chair, Ada Visser, can record the decision." in text
    assert ">Close review…<" not in text


def test_a_decider_below_quorum_is_offered_return_only_with_one_sentence(
    client, chair, committee, review
):
    set_policy(committee, "majority", quorum=2)
    client.force_login(chair)
    text = client.get(page(review)).text
    assert "?outcome=return" in text
    assert "approve-end_date" not in text and "?outcome=reject" not in text
    assert text.count("The quorum is 2 votes; 0 cast so far.") == 1


# --- the confirmation step with a reason ------------------------------------------------------
def test_closing_asks_for_a_reason_and_the_applicant_reads_it(client, chair, review):
    client.force_login(chair)
    form = client.get(url("close", review))
    assert form.status_code == 200
    assert 'name="close-reason"' in form.text and "cannot be reopened" in form.text

    missing = client.post(url("close", review), {"close-reason": "  "})
    assert missing.status_code == 200
    assert "Say why the review is closed" in missing.text
    review.refresh_from_db()
    assert review.status != ReviewStatus.CLOSED

    done = client.post(url("close", review), {"close-reason": "The project was cancelled."})
    assert done.status_code == 302 and done["Location"] == page(review)
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    event = AuditEvent.objects.get(event_type=EventType.REVIEW_CLOSED, target_id=str(review.pk))
    assert event.payload["reason"] == "The project was cancelled."
    assert event in selectors.timeline_for_applicant(review.request)
    # the applicant reads it in their request's history
    client.force_login(review.request.applicant)
    mine = client.get(reverse("access:request-detail", kwargs={"pk": review.request_id}))
    assert "closed its review. Reason: The project was cancelled." in mine.text


def test_the_service_refuses_a_close_without_a_reason(chair, review):
    with pytest.raises(Exception, match="Say why"):
        review_services.review_close(review=review, actor=chair, reason=" ")
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED


def test_the_api_close_needs_a_reason(chair, submitted, review):
    address = f"/api/v1/access-requests/{submitted.pk}/close/"
    response = api(chair).post(address, {"committee": review.committee.slug}, format="json")
    assert response.status_code == 400
    assert "reason" in str(response.json())
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    body = {"committee": review.committee.slug, "reason": "Duplicate of TSR-AR-000002."}
    assert api(chair).post(address, body, format="json").status_code == 200
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED


@pytest.mark.parametrize(
    ("outcome", "field", "text", "status"),
    [
        ("reject", "reason", "Outside the consent.", ReviewStatus.REJECTED),
        ("return", "questions", "Which cohort do you use?", ReviewStatus.RETURNED),
    ],
)
def test_reject_and_return_go_through_a_confirmation_with_a_reason(
    client, chair, review, outcome, field, text, status
):
    client.force_login(chair)
    form = client.get(url("decide", review) + f"?outcome={outcome}")
    assert form.status_code == 200
    assert f'name="{outcome}-{field}"' in form.text
    assert 'name="outcome" value="' + outcome + '"' in form.text

    missing = client.post(url("decide", review), {"outcome": outcome, f"{outcome}-{field}": ""})
    assert missing.status_code == 200
    assert f'name="{outcome}-{field}"' in missing.text  # the confirmation again, with the error
    assert not Decision.objects.filter(review=review).exists()

    done = client.post(url("decide", review), {"outcome": outcome, f"{outcome}-{field}": text})
    assert done.status_code == 302
    review.refresh_from_db()
    assert review.status == status
    assert getattr(Decision.objects.get(review=review), field) == text


def test_revoking_from_the_review_page_asks_for_a_reason_first(client, chair, approved):
    grant = approved.decisions.get().grants.first()
    client.force_login(chair)
    form = client.get(url("revoke", approved, grant.pk))
    assert form.status_code == 200
    assert f'name="revoke-{grant.pk}-reason"' in form.text
    grant.refresh_from_db()
    assert grant.revoked_at is None
    response = client.post(
        url("revoke", approved, grant.pk), {f"revoke-{grant.pk}-reason": "Breach."}, follow=True
    )
    assert any("Revoked" in m for m in messages_of(response))


# --- words and dates ----------------------------------------------------------------------------
def test_the_consent_match_reads_fits_does_not_fit_needs_review():
    assert VERDICT_LABELS == {
        "approve": "fits",
        "deny": "does not fit",
        "review": "needs review",
    }


def test_dates_are_unambiguous():
    day = date(2026, 12, 3)
    moment = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
    rendered = Template("{{ d|date }}|{{ d|date:'SHORT_DATE_FORMAT' }}|{{ m }}|{{ d }}").render(
        Context({"d": day, "m": moment})
    )
    assert rendered == "3 Dec 2026|3 Dec 2026|3 Dec 2026, 14:05|3 Dec 2026"


def test_someone_who_may_not_act_is_sent_back_from_a_confirmation(
    client, chair, member, review, approved
):
    client.force_login(member)  # chair-decides: a member neither closes, rejects nor revokes
    grant = approved.decisions.get().grants.first()
    for address in [
        url("close", review),
        url("decide", review) + "?outcome=reject",
        url("revoke", approved, grant.pk),
    ]:
        response = client.get(address, follow=True)
        assert response.redirect_chain[-1][0].endswith("/change/"), address
        assert any(
            m.startswith("Not done: Only the chair") or "chair decides" in m
            for m in messages_of(response)
        ), address
