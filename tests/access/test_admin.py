"""The committees' admin: the review queue, the review page and its forms, grants, requests and the
outbox. Every request goes through the Django test client as the persona would send it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from access import selectors
from access.choices import CommentVisibility, ReviewStatus
from access.models import (
    AccessRequest,
    Comment,
    ConsentMatch,
    Decision,
    Grant,
    Notification,
    Review,
    Vote,
)
from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import reviews as review_services
from audit.choices import EventType
from audit.models import AuditEvent
from governance import services as gov
from tests import factories

from .conftest import accept_all, make_draft

pytestmark = pytest.mark.django_db

CUSTOM_POSTS = ["start", "comment", "vote", "decide", "close"]


def review_for(access_request, committee):
    return access_request.reviews.get(committee=committee)


def page(review) -> str:
    return reverse("admin:access_review_change", args=[review.pk])


def url(name: str, review, *more) -> str:
    return reverse(f"admin:access_review_{name}", args=[review.pk, *more])


def changelist(client, **params):
    return client.get(reverse("admin:access_review_changelist"), params)


def listed(response) -> set[int]:
    return {review.pk for review in response.context["cl"].result_list}


def approve_data(dataset, *, end=None, conditions="Cite the dataset."):
    end = end or timezone.localdate() + timedelta(days=180)
    return {
        "outcome": "approve",
        "approve-end_date": end.isoformat(),
        "approve-conditions": conditions,
        "approve-datasets": [dataset.pk],
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def set_policy(committee, policy, quorum=1):
    committee.decision_policy = policy
    committee.quorum = quorum
    return gov.committee_update(committee=committee, actor=None)


def submit_request(applicant, datasets, **data):
    access_request = make_draft(applicant, datasets, **data)
    accept_all(access_request, applicant)
    return request_services.request_submit(access_request=access_request, actor=applicant)


@pytest.fixture
def review(submitted, committee):
    return review_for(submitted, committee)


@pytest.fixture
def other_review(submitted, other_committee):
    return review_for(submitted, other_committee)


@pytest.fixture
def approved(client, review, chair, dataset):
    client.force_login(chair)
    response = client.post(url("decide", review), approve_data(dataset))
    assert response.status_code == 302, response.content[:500]
    return review


# --- who sees what --------------------------------------------------------------------------
def test_member_sees_only_their_own_committees_reviews(client, member, review, other_review):
    client.force_login(member)
    response = changelist(client)
    assert response.status_code == 200
    assert listed(response) == {review.pk}
    assert review.request.reference in response.text


def test_superuser_sees_every_review(client, admin_user, review, other_review):
    client.force_login(admin_user)
    assert listed(changelist(client)) == {review.pk, other_review.pk}


def test_member_of_another_committee_gets_404_on_the_change_url_and_every_custom_url(
    client, approved, other_member
):
    grant = Grant.objects.filter(decision__review=approved).first()
    client.force_login(other_member)
    assert client.get(page(approved)).status_code == 404
    history = reverse("admin:access_review_history", args=[approved.pk])
    assert client.get(history).status_code == 404
    for name in CUSTOM_POSTS:
        assert client.post(url(name, approved), {"outcome": "reject"}).status_code == 404, name
        assert client.get(url(name, approved)).status_code == 404, name
    revoke = url("revoke", approved, grant.pk)
    assert client.post(revoke, {f"revoke-{grant.pk}-reason": "x"}).status_code == 404
    grant_page = reverse("admin:access_grant_change", args=[grant.pk])
    assert client.get(grant_page).status_code == 404
    # and nothing happened
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_guessed_and_malformed_ids_are_404_not_a_redirect(client, chair, review):
    client.force_login(chair)
    for guess in ["999999", "abc", "1%20OR%201=1"]:
        response = client.get(f"/admin/access/review/{guess}/change/")
        assert response.status_code == 404, guess
    assert client.post("/admin/access/review/999999/decide/", {}).status_code == 404
    assert client.get(reverse("admin:access_review_add")).status_code == 404
    assert client.post(reverse("admin:access_review_delete", args=[review.pk])).status_code == 404


def test_custom_urls_take_only_post_once_the_review_is_visible(client, chair, review):
    client.force_login(chair)
    assert client.get(url("decide", review)).status_code == 405


def test_outsider_with_staff_sees_an_empty_queue_and_404_everywhere_else(
    client, outsider, approved
):
    client.force_login(outsider)
    response = changelist(client)
    assert response.status_code == 200
    assert listed(response) == set()
    assert client.get(page(approved)).status_code == 404
    assert client.post(url("comment", approved), {"comment-body": "hi"}).status_code == 404
    grants = client.get(reverse("admin:access_grant_changelist"))
    assert list(grants.context["cl"].result_list) == []
    assert client.get(reverse("admin:access_accessrequest_changelist")).status_code == 404
    assert client.get(reverse("admin:access_notification_changelist")).status_code == 404
    index = client.get(reverse("admin:index"))
    assert "/admin/access/review/" not in index.text


def test_the_access_admins_answer_an_anonymous_visitor_without_crashing(rf):
    # The login page lists the apps for a visitor who is not logged in yet.
    request = rf.get("/admin/login/")
    request.user = AnonymousUser()
    for model in (Review, Grant, AccessRequest, Notification):
        model_admin = admin.site._registry[model]
        assert model_admin.has_module_permission(request) is False
        assert not model_admin.has_view_permission(request)


def test_committee_filter_offers_only_the_users_committees(
    client, member, committee, other_committee, review
):
    client.force_login(member)
    response = changelist(client)
    spec = next(
        s
        for s in response.context["cl"].filter_specs
        if getattr(s, "parameter_name", "") == "committee"
    )
    assert [label for _, label in spec.lookup_choices] == [committee.name]
    # Asking for another committee's reviews by id shows nothing.
    assert listed(changelist(client, committee=other_committee.pk)) == set()


# --- the changelist -------------------------------------------------------------------------
def test_changelist_shows_the_committees_datasets_verdicts_and_votes(
    client, chair, member, review, dataset, other_dataset
):
    review_services.vote_cast(review=review, actor=member, choice="approve", rationale="Fits.")
    client.force_login(chair)
    response = changelist(client)
    row = response.text
    assert dataset.accession in row
    assert other_dataset.accession not in row  # the other committee's dataset is not ours
    assert "1: 1 approve" in row
    verdict = ConsentMatch.objects.filter(request=review.request, dataset=dataset).first()
    if verdict is None:
        assert f"{dataset.accession} —" in row
    else:
        expected = {"approve": "approve", "deny": "deny", "review": "needs review"}
        assert expected[verdict.decision] in row


def test_verdict_column_and_filter_follow_the_stored_consent_match(client, chair, review, dataset):
    ConsentMatch.objects.update_or_create(
        request=review.request,
        dataset=dataset,
        defaults={
            "decision": "deny",
            "rules": [{"term": "DUO:0000046", "outcome": "deny", "reason": "Commercial use."}],
            "engine_version": "test",
            "ontology_version": "test",
        },
    )
    client.force_login(chair)
    assert listed(changelist(client, verdict="deny")) == {review.pk}
    assert listed(changelist(client, verdict="approve")) == set()
    assert listed(changelist(client, verdict="none")) == set()
    detail = client.get(page(review))
    assert "Commercial use." in detail.text


@pytest.mark.parametrize("field", ["reference", "number", "title", "applicant", "accession"])
def test_search_finds_a_review_by(client, chair, review, dataset, researcher, field):
    other = submit_request(factories.user("someoneelse"), [dataset], title="Kidney morphometry")
    other_review = other.reviews.get()
    term = {
        "reference": review.request.reference,
        "number": str(review.request_id),
        "title": "lymphocytes",
        "applicant": researcher.username,
        "accession": dataset.accession,
    }[field]
    client.force_login(chair)
    found = listed(changelist(client, q=term))
    assert review.pk in found
    if field not in ("accession", "number"):  # a bare number may also be part of an accession
        assert other_review.pk not in found


def test_changelist_query_count_does_not_grow_with_the_page(client, chair, committee, dataset):
    applicant = factories.user("prolific")

    def count_queries() -> int:
        client.force_login(chair)
        changelist(client)  # warm caches (content types, session)
        with CaptureQueriesContext(connection) as queries:
            response = changelist(client)
        assert response.status_code == 200
        return len(queries), len(response.context["cl"].result_list)

    for _ in range(5):
        submit_request(applicant, [dataset])
    few, shown_few = count_queries()
    for _ in range(25):
        submit_request(applicant, [dataset])
    many, shown_many = count_queries()
    assert (shown_few, shown_many) == (5, 30)
    assert few == many


def _counts_committees(sql: str) -> bool:
    return "COUNT(" in sql and ('"governance_committeemembership"' in sql or "deputy" in sql)


def test_the_queue_page_counts_the_persons_committees_once(client, chair, other_committee):
    gov.membership_add(committee=other_committee, user=chair, role="member", actor=None)
    client.force_login(chair)
    changelist(client)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as queries:
        response = changelist(client)
    # Two committees: the committee column is shown, by the count the menu's hooks asked for.
    assert "committee_slug" in response.context["cl"].list_display
    counted = [q["sql"] for q in queries.captured_queries if _counts_committees(q["sql"])]
    assert len(counted) == 2, counted  # memberships, deputies: once each for the whole page


def test_a_person_put_on_a_committee_gets_the_queue_from_their_next_request(rf, committee):
    person = factories.user("newcomer", is_staff=True)
    review_admin = admin.site._registry[Review]

    def request_of(user):
        request = rf.get("/admin/")
        request.user = user
        return request

    before = request_of(person)
    assert review_admin.has_module_permission(before) is False
    gov.membership_add(committee=committee, user=person, role="member", actor=None)
    assert review_admin.has_module_permission(request_of(person)) is True
    assert review_admin.has_module_permission(before) is False  # counted once per request


def test_asking_whether_someone_sits_on_a_committee_adds_no_attribute_to_the_request(rf, chair):
    request = rf.get("/admin/")
    request.user = chair
    before = set(vars(request))
    for model in (Review, Grant):
        assert admin.site._registry[model].has_module_permission(request) is True
    assert set(vars(request)) == before


# --- the review page ----------------------------------------------------------------------
def test_review_page_shows_the_applicants_answers(client, chair, review, teammate, dataset):
    client.force_login(chair)
    response = client.get(page(review))
    assert response.status_code == 200
    text = response.text
    request = review.request
    for expected in [
        request.title,
        request.lay_summary,
        request.scientific_abstract,
        request.institution,
        request.ethics_reference,
        teammate.username,
        dataset.accession,
        "DOID:1324",
        f"{request.requested_months} months",
        "Data access agreement v1",
    ]:
        assert escape(expected) in text, expected
    assert reverse("access:ethics-document", kwargs={"pk": request.pk}) in text
    # The teammate has not accepted the agreement yet: the page says so before anyone approves.
    assert "Not yet accepted" in text


def test_the_ethics_document_link_works_for_the_committee_and_is_ledgered(client, chair, review):
    client.force_login(chair)
    link = reverse("access:ethics-document", kwargs={"pk": review.request_id})
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(
        event_type=EventType.ATTACHMENT_VIEWED, target_id=str(review.request_id)
    ).exists()


def test_every_form_control_has_a_label_and_every_button_a_name(client, chair, approved):
    client.force_login(chair)
    # a fresh, undecided review has every decision form
    text = client.get(page(approved)).text
    assert ">Revoke</button>" in text
    other = submit_request(factories.user("labels"), [approved.request.datasets.first()])
    text = client.get(page(other.reviews.get())).text
    for button in [">Start review<", ">Add comment<", ">Cast vote<", ">Approve<", ">Reject<"]:
        assert button in text, button
    assert ">Return for changes<" in text
    assert ">Close review<" in text
    for field_id in [
        "id_comment-body",
        "id_vote-rationale",
        "id_approve-end_date",
        "id_approve-conditions",
        "id_reject-reason",
        "id_return-questions",
    ]:
        assert f'for="{field_id}"' in text, field_id


def test_start_review_from_the_admin(client, member, review):
    client.force_login(member)
    response = client.post(url("start", review))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.UNDER_REVIEW
    # The ledger stores payloads as canonical JSON text (no JSON lookups): read them back.
    assert any(
        e.payload.get("action") == "review_start"
        for e in AuditEvent.objects.filter(
            event_type=EventType.ADMIN_ACTION, target_id=str(review.pk)
        )
    )


def test_chair_approves_from_the_admin_and_the_grants_appear(
    client, chair, review, dataset, researcher, teammate
):
    client.force_login(chair)
    latest = decision_services.latest_end_date(review.request)
    form_page = client.get(page(review))
    assert f'value="{latest.isoformat()}"' in form_page.text  # the end date is prefilled

    response = client.post(url("decide", review), approve_data(dataset), follow=True)
    assert response.status_code == 200
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED
    grants = Grant.objects.filter(decision__review=review)
    assert {(g.user, g.dataset) for g in grants} == {(researcher, dataset), (teammate, dataset)}
    assert grants.first().conditions == "Cite the dataset."
    assert "Approved; the grants are listed below." in messages_of(response)
    assert researcher.username in response.text and "Active." in response.text
    events = AuditEvent.objects.filter(target_type="access.review", target_id=str(review.pk))
    assert events.filter(event_type=EventType.DECISION_RECORDED).exists()
    assert any(
        e.payload.get("outcome") == "approve"
        for e in events.filter(event_type=EventType.ADMIN_ACTION)
    )


def test_an_end_date_beyond_the_requested_duration_is_refused_on_the_page(
    client, chair, review, dataset
):
    client.force_login(chair)
    too_late = decision_services.latest_end_date(review.request) + timedelta(days=1)
    response = client.post(url("decide", review), approve_data(dataset, end=too_late))
    assert response.status_code == 200
    assert "may not be later than the requested duration" in response.text
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    assert not Grant.objects.exists()


def test_members_decision_under_chair_decides_is_refused_with_the_reason_shown(
    client, member, review, dataset
):
    client.force_login(member)
    reason = "This committee&#x27;s policy is that the chair decides."
    before = client.get(page(review)).text
    assert reason in before  # explained before the click
    assert 'aria-describedby="refusal-approve" disabled' in before

    response = client.post(url("decide", review), approve_data(dataset))
    assert response.status_code == 200
    assert any("policy is that the chair decides" in m for m in messages_of(response))
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    assert not Decision.objects.filter(review=review).exists()


def test_majority_with_quorum_refuses_until_the_quorum_then_allows(
    client, chair, member, committee, review, dataset
):
    set_policy(committee, "majority", quorum=2)
    client.force_login(chair)
    vote = {"vote-choice": "approve", "vote-rationale": "Fits the consent."}
    assert client.post(url("vote", review), vote).status_code == 302
    shown = client.get(page(review)).text
    assert "Quorum 2: 1 vote cast" in shown
    assert "The quorum is 2 votes; 1 cast so far." in shown

    refused = client.post(url("decide", review), approve_data(dataset))
    assert refused.status_code == 200
    assert any("The quorum is 2 votes; 1 cast so far." in m for m in messages_of(refused))
    assert not Decision.objects.filter(review=review).exists()

    client.force_login(member)
    assert client.post(url("vote", review), vote).status_code == 302
    assert Vote.objects.filter(review=review, round=1).count() == 2

    client.force_login(chair)
    shown = client.get(page(review)).text
    assert "Quorum 2: 2 votes cast" in shown
    assert client.post(url("decide", review), approve_data(dataset)).status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.APPROVED


def test_a_secretary_cannot_vote(client, committee, review):
    secretary = factories.user("secretary", is_staff=True)
    gov.membership_add(committee=committee, user=secretary, role="secretary", actor=None)
    client.force_login(secretary)
    assert "Cast vote" not in client.get(page(review)).text
    response = client.post(url("vote", review), {"vote-choice": "approve", "vote-rationale": "x"})
    assert response.status_code == 200
    assert any("secretary records decisions" in m for m in messages_of(response))
    assert not Vote.objects.exists()


def test_return_requires_questions(client, chair, review):
    client.force_login(chair)
    refused = client.post(url("decide", review), {"outcome": "return", "return-questions": " "})
    assert refused.status_code == 200
    assert "Returning a request needs the committee&#x27;s questions." in refused.text
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED

    question = "Which cohort will you use?"
    data = {"outcome": "return", "return-questions": question}
    assert client.post(url("decide", review), data).status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.RETURNED
    # the applicant sees the questions
    public = selectors.comments_for_applicant(review.request)
    assert [c.body for c in public] == [question]


def test_reject_requires_a_reason(client, chair, review):
    client.force_login(chair)
    refused = client.post(url("decide", review), {"outcome": "reject", "reject-reason": ""})
    assert refused.status_code == 200
    assert "A rejection needs a reason." in refused.text
    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    data = {"outcome": "reject", "reject-reason": "Outside the consent."}
    assert client.post(url("decide", review), data).status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.REJECTED
    assert Decision.objects.get(review=review).reason == "Outside the consent."


def test_a_refused_service_call_is_an_error_message_not_a_500(client, chair, approved):
    client.force_login(chair)
    again = {"outcome": "reject", "reject-reason": "Changed our mind."}
    response = client.post(url("decide", approved), again)
    assert response.status_code == 200
    assert any("no decision can be taken on it now" in m for m in messages_of(response))
    assert Decision.objects.filter(review=approved).count() == 1


def test_revoke_from_the_review_page(client, chair, approved, researcher):
    grant = Grant.objects.get(decision__review=approved, user=researcher)
    field = f"revoke-{grant.pk}-reason"
    client.force_login(chair)
    refused = client.post(url("revoke", approved, grant.pk), {field: ""})
    assert refused.status_code == 200
    assert "Say why the grant is revoked." in refused.text
    grant.refresh_from_db()
    assert grant.revoked_at is None

    done = client.post(url("revoke", approved, grant.pk), {field: "Breach of the agreement."})
    assert done.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert (grant.revoked_by, grant.revoked_reason) == (chair, "Breach of the agreement.")
    assert AuditEvent.objects.filter(
        event_type=EventType.GRANT_REVOKED, target_id=str(grant.pk)
    ).exists()


def test_a_member_may_not_revoke_under_chair_decides(client, chair, member, approved):
    grant = Grant.objects.filter(decision__review=approved).first()
    client.force_login(member)
    response = client.post(
        url("revoke", approved, grant.pk), {f"revoke-{grant.pk}-reason": "Because."}
    )
    assert response.status_code == 200
    assert any("Only the chair or the secretary" in m for m in messages_of(response))
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_revoke_action_on_the_grant_list_asks_for_a_reason(client, chair, approved):
    grants = list(Grant.objects.filter(decision__review=approved))
    changelist_url = reverse("admin:access_grant_changelist")
    client.force_login(chair)
    assert {g.pk for g in client.get(changelist_url).context["cl"].result_list} == {
        g.pk for g in grants
    }
    selected = {"action": "revoke", "_selected_action": [g.pk for g in grants]}
    asked = client.post(changelist_url, selected)
    assert asked.status_code == 200
    assert "Reason for revoking" in asked.text
    assert not Grant.objects.filter(revoked_at__isnull=False).exists()

    done = client.post(changelist_url, {**selected, "reason": "Project ended early."})
    assert done.status_code == 302
    assert Grant.objects.filter(revoked_reason="Project ended early.").count() == len(grants)


def test_close_from_the_admin(client, chair, member, review):
    client.force_login(member)
    assert "Close review" not in client.get(page(review)).text
    refused = client.post(url("close", review))
    assert refused.status_code == 200
    assert any("Only the chair or the secretary may close" in m for m in messages_of(refused))

    client.force_login(chair)
    assert client.post(url("close", review)).status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    assert client.get(page(review)).status_code == 200  # a closed review stays readable


def test_internal_comment_stays_out_of_the_applicants_timeline(client, member, review, other_chair):
    client.force_login(member)
    internal = {"comment-body": "Check their ethics scope.", "comment-visibility": "internal"}
    public = {"comment-body": "Please name the cohort.", "comment-visibility": "public"}
    assert client.post(url("comment", review), internal).status_code == 302
    assert client.post(url("comment", review), public).status_code == 302

    comments = {c.visibility: c for c in Comment.objects.filter(request=review.request)}
    assert comments[CommentVisibility.INTERNAL].committee == review.committee
    timeline = selectors.timeline_for_applicant(review.request)
    shown = [e.payload["comment"] for e in timeline if e.event_type == EventType.COMMENT_ADDED]
    assert shown == [comments[CommentVisibility.PUBLIC].pk]
    # nor is it on the other committee's page for the same request
    client.force_login(other_chair)
    other_page = client.get(page(review.request.reviews.exclude(pk=review.pk).get())).text
    assert "Check their ethics scope." not in other_page
    assert "Please name the cohort." in other_page


def test_an_empty_comment_is_refused(client, member, review):
    client.force_login(member)
    response = client.post(url("comment", review), {"comment-visibility": "internal"})
    assert response.status_code == 200
    assert "Write a comment." in response.text
    assert not Comment.objects.exists()


# --- superusers: requests and the outbox -----------------------------------------------------
def test_access_requests_are_for_superusers_only(client, admin_user, chair, submitted):
    detail = reverse("admin:access_accessrequest_change", args=[submitted.pk])
    client.force_login(chair)
    assert client.get(reverse("admin:access_accessrequest_changelist")).status_code == 404
    assert client.get(detail).status_code == 404
    client.force_login(admin_user)
    assert client.get(detail).status_code == 200
    assert client.post(detail, {"title": "changed"}).status_code == 404
    submitted.refresh_from_db()
    assert submitted.title != "changed"


def test_retry_now_sends_an_unsent_notification(client, admin_user, submitted, mailoutbox):
    pending = Notification.objects.filter(sent_at__isnull=True)
    assert pending.exists()  # on_commit never ran inside the test transaction
    target = pending.first()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:access_notification_changelist"),
        {"action": "retry_now", "_selected_action": [target.pk]},
        follow=True,
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.sent_at is not None
    assert [m.subject for m in mailoutbox] == [target.subject]
    assert any(
        e.payload.get("action") == "notification_retry"
        for e in AuditEvent.objects.filter(event_type=EventType.ADMIN_ACTION)
    )
