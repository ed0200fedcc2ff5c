"""Renewals (issue 14, part 3): from `TESSERA_RENEWAL_WINDOW_DAYS` before a grant ends its
applicant asks for more time; the committees decide as for any request, and an approval extends
the grants in place without a gap, never past the ethics approval or the dataset's retention."""

# ruff: noqa: F401, F811  (token fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from access.choices import RequestKind, ReviewStatus
from access.lifecycle import TransitionRefused
from access.models import AccessRequest, Bar, Grant, Notification
from access.portal import context as portal_context
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import renewals as renewal_services
from access.services import requests as request_services
from access.services import team as team_services
from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Conflict, Forbidden, Invalid
from governance.models import Dataset
from tests.access_world import api, approve_part
from tests.tokens.token_support import introspect, storage, token_keys
from tokens.issue import token_issue

from .admin_support import page as page_of

pytestmark = pytest.mark.django_db

REPORT = "Trained a TIL counter on 400 slides; preprint doi:10.1101/2026.01.01."


def events_of(event_type) -> list[AuditEvent]:
    ledger.flush()
    return list(AuditEvent.objects.filter(event_type=event_type).order_by("seq"))


def last_day(grant) -> object:
    return (grant.valid_until - timedelta(days=1)).date()


@pytest.fixture
def ending(submitted, chair, dataset):
    """`submitted`'s part for `dataset` approved, its grants ending in 30 days."""
    approve_part(submitted, dataset, chair, days=30)
    return submitted


def renew(access_request, months=6, report=REPORT):
    return renewal_services.renewal_open(
        access_request=access_request,
        actor=access_request.applicant,
        months=months,
        progress_report=report,
    )


def approve_renewal(renewal, chair, dataset, end=None):
    return decision_services.decision_record(
        review=renewal.reviews.get(committee=dataset.committee),
        actor=chair,
        outcome="approve",
        end_date=end or decision_services.latest_end_date(renewal),
    )


# --- asking -------------------------------------------------------------------------------------
def test_a_renewal_is_a_submitted_request_linked_to_its_parent(ending, dataset, teammate):
    renewal = renew(ending)
    assert renewal.kind == RequestKind.RENEWAL
    assert renewal.parent == ending
    assert renewal.renewal_months == 6
    assert renewal.progress_report == REPORT
    assert renewal.status == "submitted"
    # Only the datasets whose grants end within the window, reviewed by their committee only.
    assert list(renewal.datasets.all()) == [dataset]
    assert [r.committee for r in renewal.reviews.all()] == [dataset.committee]
    assert set(renewal.team_members.all()) == {teammate}
    assert renewal.title == ending.title and renewal.ethics_expiry == ending.ethics_expiry
    assert list(renewal.diseases.all()) == list(ending.diseases.all())
    (event,) = events_of(EventType.RENEWAL_REQUESTED)
    assert event.payload["parent"] == ending.pk and event.payload["months"] == 6


def test_no_renewal_before_the_window(submitted, chair, dataset):
    approve_part(submitted, dataset, chair, days=90)
    with pytest.raises(TransitionRefused, match="60 days before a grant ends"):
        renew(submitted)
    assert not AccessRequest.objects.filter(kind=RequestKind.RENEWAL).exists()


def test_the_window_is_a_setting(settings, submitted, chair, dataset):
    approve_part(submitted, dataset, chair, days=90)
    settings.TESSERA_RENEWAL_WINDOW_DAYS = 120
    assert renew(submitted).parent == submitted


def test_no_renewal_without_active_grants(submitted):
    with pytest.raises(TransitionRefused, match="no active grants"):
        renew(submitted)


def test_no_renewal_after_the_grants_expired(ending):
    Grant.objects.filter(request=ending).update(valid_until=timezone.now() - timedelta(hours=1))
    with pytest.raises(TransitionRefused, match="no active grants"):
        renew(ending)


def test_no_second_renewal_while_one_waits(ending):
    first = renew(ending)
    with pytest.raises(TransitionRefused, match=f"already waiting.*{first.reference}"):
        renew(ending)


def test_a_decided_renewal_does_not_block_the_next_one(ending, chair, dataset):
    first = renew(ending)
    decision_services.decision_record(
        review=first.reviews.get(), actor=chair, outcome="reject", reason="Report is too thin."
    )
    assert renew(ending).pk != first.pk


def test_only_the_applicant_may_renew(ending, teammate):
    with pytest.raises(Forbidden):
        renewal_services.renewal_open(
            access_request=ending, actor=teammate, months=6, progress_report=REPORT
        )


@pytest.mark.parametrize(
    ("months", "report", "field"),
    [
        (0, REPORT, "months"),
        (61, REPORT, "months"),
        ("x", REPORT, "months"),
        (6, "  ", "progress_report"),
    ],
)
def test_months_and_a_progress_report_are_required(ending, months, report, field):
    with pytest.raises(Invalid) as refused:
        renew(ending, months=months, report=report)
    assert field in refused.value.message_dict


def test_a_renewal_cannot_itself_be_renewed(ending):
    renewal = renew(ending)
    with pytest.raises(TransitionRefused, match=f"ask for more time on {ending.reference}"):
        renew(renewal)


# --- deciding -----------------------------------------------------------------------------------
def test_approval_extends_the_same_grants_by_the_months_asked(ending, chair, dataset):
    before = {g.pk: g.valid_until for g in Grant.objects.filter(request=ending)}
    renewal = renew(ending, months=6)
    decision = approve_renewal(renewal, chair, dataset)
    grants = list(Grant.objects.filter(request=ending))
    assert {g.pk for g in grants} == set(before), "no grant is created, the same rows live on"
    assert not Grant.objects.filter(request=renewal).exists()
    for grant in grants:
        old_last = (before[grant.pk] - timedelta(days=1)).date()
        assert last_day(grant) == old_last + relativedelta(months=6)
        assert grant.revoked_at is None
    extended = events_of(EventType.GRANT_EXTENDED)
    assert len(extended) == len(grants)
    assert {e.payload["old_valid_until"] for e in extended} == {
        v.isoformat() for v in before.values()
    }
    assert {e.payload["bound"] for e in extended} == {"requested"}
    assert "extended from" in decision.renewal_note


def test_approved_the_day_before_expiry_leaves_no_gap(
    submitted, chair, dataset, researcher, storage
):
    approve_part(submitted, dataset, chair, days=1)
    grant = Grant.objects.get(request=submitted, user=researcher, dataset=dataset)
    old_until = grant.valid_until
    issued = token_issue(grant=grant, actor=researcher)
    assert introspect(storage[1], issued.token).json()["active"] is True
    renewal = renew(submitted, months=6)
    approve_renewal(renewal, chair, dataset)
    grant.refresh_from_db()
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert last_day(grant) == tomorrow + relativedelta(months=6)
    # The token derived from the grant stays valid across the extension.
    assert introspect(storage[1], issued.token).json()["active"] is True
    # And the extended grant is active the day after its old end.
    day_after = old_until + timedelta(hours=1)
    assert grant.inactive_reason(now=day_after) is None


def test_a_renewal_cannot_outlive_the_ethics_approval(ending, chair, dataset):
    ethics = ending.ethics_expiry  # a year from today
    renewal = renew(ending, months=24)
    decision = approve_renewal(renewal, chair, dataset)
    for grant in Grant.objects.filter(request=ending):
        assert last_day(grant) == ethics
    assert {e.payload["bound"] for e in events_of(EventType.GRANT_EXTENDED)} == {"ethics"}
    assert "bounded by the ethics approval" in decision.renewal_note


def test_a_renewal_cannot_outlive_the_datasets_retention(ending, chair, dataset):
    retention = timezone.localdate() + timedelta(days=100)
    Dataset.objects.filter(pk=dataset.pk).update(retention_until=retention)
    renewal = renew(ending, months=12)
    approve_renewal(renewal, chair, dataset)
    for grant in Grant.objects.filter(request=ending):
        assert last_day(grant) == retention


def test_the_committee_may_give_less_time_but_never_less_than_before(ending, chair, dataset):
    old = {g.pk: last_day(g) for g in Grant.objects.filter(request=ending)}
    renewal = renew(ending, months=12)
    shorter = max(old.values()) + timedelta(days=10)
    approve_renewal(renewal, chair, dataset, end=shorter)
    for grant in Grant.objects.filter(request=ending):
        assert last_day(grant) == shorter


def test_rejection_leaves_the_grants_as_they_were(ending, chair, dataset):
    before = {g.pk: g.valid_until for g in Grant.objects.filter(request=ending)}
    renewal = renew(ending)
    decision_services.decision_record(
        review=renewal.reviews.get(), actor=chair, outcome="reject", reason="No progress shown."
    )
    assert {g.pk: g.valid_until for g in Grant.objects.filter(request=ending)} == before
    assert not events_of(EventType.GRANT_EXTENDED)


def test_a_grant_that_expired_meanwhile_is_not_brought_back(ending, chair, dataset, teammate):
    renewal = renew(ending)
    lapsed = Grant.objects.get(request=ending, user=teammate)
    # It ends after the renewal was asked for and before the decision.
    Grant.objects.filter(pk=lapsed.pk).update(valid_until=timezone.now())
    decision = approve_renewal(renewal, chair, dataset)
    lapsed.refresh_from_db()
    assert lapsed.valid_until < timezone.now()
    assert f"{teammate.get_username()} on {dataset.accession}: not extended, the grant expired" in (
        decision.renewal_note
    )
    assert len(events_of(EventType.GRANT_EXTENDED)) == 1


def test_a_revoked_grant_is_not_brought_back(ending, chair, dataset, teammate):
    renewal = renew(ending)
    lapsed = Grant.objects.get(request=ending, user=teammate)
    grant_services.grant_revoke(grant=lapsed, actor=chair, reason="Shared the data.")
    decision = approve_renewal(renewal, chair, dataset)
    lapsed.refresh_from_db()
    assert lapsed.revoked_at is not None
    assert "not extended, the grant was revoked" in decision.renewal_note


def test_the_latest_end_a_committee_may_give_is_the_old_end_plus_the_months(ending, chair, dataset):
    renewal = renew(ending, months=6)
    old_last = max(last_day(g) for g in Grant.objects.filter(request=ending))
    assert decision_services.latest_end_date(renewal) == old_last + relativedelta(months=6)
    with pytest.raises(Invalid):
        approve_renewal(renewal, chair, dataset, end=old_last + relativedelta(months=6, days=1))


def test_an_automatic_policy_decides_a_renewal_too(ending, committee, dataset):
    committee.auto_approve_matching = True
    committee.save()
    renewal = renew(ending, months=6)
    assert renewal.reviews.get().status == ReviewStatus.APPROVED
    assert events_of(EventType.GRANT_EXTENDED)


def test_a_renewals_approved_answers_cannot_change(ending, chair):
    renewal = renew(ending)
    decision_services.decision_record(
        review=renewal.reviews.get(), actor=chair, outcome="return", questions="Which papers?"
    )
    with pytest.raises(Invalid) as refused:
        request_services.request_update(
            access_request=renewal, actor=ending.applicant, data={"country": "FR"}
        )
    assert "country" in refused.value.message_dict


# --- the REST API -------------------------------------------------------------------------------
def test_api_renew_answers_201_with_the_renewal(ending, researcher):
    response = api(researcher).post(
        f"/api/v1/access-requests/{ending.pk}/renew/",
        {"months": 6, "progress_report": REPORT},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "renewal" and body["parent"] == ending.pk
    assert body["renewal_months"] == 6 and body["status"] == "submitted"


def test_api_renew_twice_is_a_conflict(ending, researcher):
    client = api(researcher)
    data = {"months": 6, "progress_report": REPORT}
    url = f"/api/v1/access-requests/{ending.pk}/renew/"
    assert client.post(url, data, format="json").status_code == 201
    response = client.post(url, data, format="json")
    assert response.status_code == 409
    assert "already waiting" in str(response.json())


def test_api_renew_outside_the_window_is_a_conflict(submitted, chair, dataset, researcher):
    approve_part(submitted, dataset, chair, days=120)
    response = api(researcher).post(
        f"/api/v1/access-requests/{submitted.pk}/renew/",
        {"months": 6, "progress_report": REPORT},
        format="json",
    )
    assert response.status_code == 409
    assert "60 days before" in str(response.json())


def test_api_renew_needs_months_and_a_report(ending, researcher):
    response = api(researcher).post(
        f"/api/v1/access-requests/{ending.pk}/renew/", {"months": 0}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"months", "progress_report"} or "months" in str(response.json())


def test_api_renew_by_anyone_but_the_applicant_is_404(ending, teammate, outsider, chair):
    for user in (teammate, outsider, chair):
        response = api(user).post(
            f"/api/v1/access-requests/{ending.pk}/renew/",
            {"months": 6, "progress_report": REPORT},
            format="json",
        )
        assert response.status_code == 404, user


# --- the portal ---------------------------------------------------------------------------------
def renew_url(access_request) -> str:
    return reverse("access:request-renew", args=[access_request.pk])


def test_the_request_page_offers_more_time_within_the_window(client, ending, researcher):
    client.force_login(researcher)
    page = client.get(ending.get_absolute_url()).content.decode()
    assert "Ask for more time" in page and renew_url(ending) in page


def test_the_request_page_offers_no_renewal_before_the_window(
    client, submitted, chair, dataset, researcher
):
    approve_part(submitted, dataset, chair, days=90)
    client.force_login(researcher)
    assert renew_url(submitted) not in client.get(submitted.get_absolute_url()).content.decode()


def test_the_portal_form_opens_a_renewal(client, ending, researcher):
    client.force_login(researcher)
    assert client.get(renew_url(ending)).status_code == 200
    response = client.post(renew_url(ending), {"months": "6", "progress_report": REPORT})
    renewal = AccessRequest.objects.get(kind=RequestKind.RENEWAL)
    assert response.status_code == 302 and response.url == renewal.get_absolute_url()
    page = client.get(renewal.get_absolute_url()).content.decode()
    assert "Renewal of" in page and ending.reference in page and "preprint" in page
    assert renewal.reference in client.get(ending.get_absolute_url()).content.decode()


def test_the_portal_form_shows_errors_next_to_the_fields(client, ending, researcher):
    client.force_login(researcher)
    response = client.post(renew_url(ending), {"months": "0", "progress_report": ""})
    assert response.status_code == 200
    form = response.context["form"]
    assert "months" in form.errors and "progress_report" in form.errors
    assert not AccessRequest.objects.filter(kind=RequestKind.RENEWAL).exists()


def test_the_portal_form_says_why_outside_the_window(client, submitted, chair, dataset, researcher):
    approve_part(submitted, dataset, chair, days=90)
    client.force_login(researcher)
    assert "60 days before a grant ends" in client.get(renew_url(submitted)).content.decode()
    response = client.post(renew_url(submitted), {"months": "6", "progress_report": REPORT})
    assert "60 days before a grant ends" in response.content.decode()
    assert not AccessRequest.objects.filter(kind=RequestKind.RENEWAL).exists()


def test_the_portal_form_needs_the_csrf_token(ending, researcher):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)
    response = client.post(renew_url(ending), {"months": "6", "progress_report": REPORT})
    assert response.status_code == 403
    assert not AccessRequest.objects.filter(kind=RequestKind.RENEWAL).exists()


def test_the_renewal_page_is_404_for_anyone_but_the_applicant(
    client, ending, teammate, outsider, chair
):
    for user in (teammate, outsider, chair):
        client.force_login(user)
        assert client.get(renew_url(ending)).status_code == 404
        response = client.post(renew_url(ending), {"months": "6", "progress_report": REPORT})
        assert response.status_code == 404


def test_the_committee_sees_a_renewal_with_its_report_and_the_grant_ends(
    client, ending, chair, dataset
):
    renewal = renew(ending)
    grant = Grant.objects.filter(request=ending).first()
    client.force_login(chair)
    page = client.get(page_of(renewal.reviews.get())).content.decode()
    assert "Renewal of" in page and ending.reference in page
    assert "preprint doi:10.1101/2026.01.01" in page
    assert date_format(grant.valid_until, "j M Y") in page


# --- the expiry reminder ------------------------------------------------------------------------
def test_the_expiry_reminder_links_the_applicant_to_the_renewal(ending, researcher, teammate):
    end = Grant.objects.filter(request=ending).first().valid_until
    grant_services.grants_expire(now=end - timedelta(days=6))
    mine = Notification.objects.get(recipient=researcher, kind="grant_expiring")
    assert renew_url(ending) in mine.body and "ask for more time" in mine.body
    theirs = Notification.objects.get(recipient=teammate, kind="grant_expiring")
    assert ending.get_absolute_url() in theirs.body and renew_url(ending) not in theirs.body


def test_the_parents_acceptances_carry_over_with_their_ledger_events(ending, researcher, agreement):
    renewal = renew(ending)
    carried = renewal.acceptances.get(user=researcher)
    assert carried.agreement == agreement
    (event,) = [
        e
        for e in events_of(EventType.AGREEMENT_ACCEPTED)
        if e.payload.get("carried_from") == ending.pk
    ][:1]
    assert event.target_id == str(renewal.pk)
    # Only the agreements of the committees reviewing the renewal.
    assert {a.agreement.committee_id for a in renewal.acceptances.all()} == {agreement.committee_id}


def test_the_api_shows_what_an_approved_renewal_did(ending, researcher, chair, dataset):
    renewal = renew(ending)
    approve_renewal(renewal, chair, dataset)
    body = api(researcher).get(f"/api/v1/access-requests/{renewal.pk}/").json()
    (review,) = body["reviews"]
    assert review["status"] == "approved" and "extended from" in review["renewal_note"]
    parent = api(researcher).get(f"/api/v1/access-requests/{ending.pk}/").json()
    assert all(r["renewal_note"] is None for r in parent["reviews"])


def test_the_committees_queue_marks_a_renewal(client, ending, chair):
    renew(ending)
    client.force_login(chair)
    page = client.get(reverse("admin:access_review_changelist")).content.decode()
    assert f"<strong>Renewal</strong> of {ending.reference}, 6 more months" in page


def test_withdrawing_a_renewal_leaves_the_grants_and_frees_the_next_one(ending, researcher):
    before = {g.pk: g.valid_until for g in Grant.objects.filter(request=ending)}
    renewal = renew(ending)
    request_services.request_withdraw(access_request=renewal, actor=researcher)
    live = Grant.objects.filter(request=ending, revoked_at__isnull=True)
    assert {g.pk: g.valid_until for g in live} == before
    assert renew(ending).pk != renewal.pk


# --- the team of a renewal is the project's ----------------------------------------------------
def test_a_member_cannot_leave_a_renewal_alone(ending, teammate):
    renewal = renew(ending)
    with pytest.raises(Conflict) as refused:
        team_services.team_member_leave(access_request=renewal, actor=teammate)
    assert ending.reference in str(refused.value)
    assert renewal.team_members.filter(pk=teammate.pk).exists()
    actions = portal_context.actions(renewal, teammate, reviews=list(renewal.reviews.all()))
    assert not actions["leave"]


def test_a_member_taken_off_the_project_leaves_its_renewal_too(ending, teammate, chair, dataset):
    renewal = renew(ending)
    team_services.team_member_remove(access_request=ending, actor=ending.applicant, user=teammate)
    assert not renewal.team_members.filter(pk=teammate.pk).exists()
    assert sorted(e.target_id for e in events_of(EventType.TEAM_MEMBER_REMOVED)) == sorted(
        [str(ending.pk), str(renewal.pk)]
    )
    approve_renewal(renewal, chair, dataset)
    grant = Grant.objects.get(request=ending, user=teammate)
    assert grant.revoked_at is not None  # revoked with the removal, never extended


def test_a_renewal_does_not_extend_a_holder_the_committee_barred(ending, teammate, chair, dataset):
    renewal = renew(ending)
    Bar.objects.create(
        committee=dataset.committee,
        user=teammate,
        until=timezone.localdate() + timedelta(days=365),
        reason="Misuse on another project.",
        created_by=chair,
    )
    before = Grant.objects.get(request=ending, user=teammate).valid_until
    approve_renewal(renewal, chair, dataset)
    assert Grant.objects.get(request=ending, user=teammate).valid_until == before
    applicants = Grant.objects.get(request=ending, user=ending.applicant)
    assert applicants.valid_until > before  # the applicant's is extended
    note = renewal.reviews.get().decisions.get().renewal_note
    assert (
        f"{teammate.get_username()} on {dataset.accession}: not extended, the committee has barred them."
        in note
    )


def test_withdrawing_the_project_withdraws_its_waiting_renewal(ending, teammate):
    renewal = renew(ending)
    request_services.request_withdraw(access_request=ending, actor=ending.applicant)
    renewal.refresh_from_db()
    assert renewal.status == "withdrawn"
    assert set(renewal.reviews.values_list("status", flat=True)) == {ReviewStatus.WITHDRAWN}
    withdrawn = [e.target_id for e in events_of(EventType.REQUEST_WITHDRAWN)]
    assert sorted(withdrawn) == sorted([str(ending.pk), str(renewal.pk)])
    assert not Grant.objects.filter(request=ending, revoked_at__isnull=True).exists()
