"""The committees' admin: the review queue (who sees what, its columns, filters and search), grants,
requests and the outbox; the review page and its forms are tested in tests/access/committee/.
Every request goes through the Django test client as the persona would send it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.models import AccessRequest, ConsentMatch, Grant, Notification, Review
from access.services import reviews as review_services
from audit.choices import EventType
from audit.models import AuditEvent
from governance import services as gov
from tests import factories
from tests.access_world import submit_request

from .admin_support import changelist, listed, page, url

pytestmark = pytest.mark.django_db

CUSTOM_POSTS = ["start", "comment", "vote", "decide", "close"]


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
        expected = {"approve": "fits", "deny": "does not fit", "review": "needs review"}
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


# --- grants -------------------------------------------------------------------------------
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


def test_an_outbox_row_shows_its_text_not_its_html_source(client, admin_user, submitted):
    row = Notification.objects.exclude(html_body="").first()
    client.force_login(admin_user)
    response = client.get(reverse("admin:access_notification_change", args=[row.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert row.subject in page
    assert "&lt;!doctype html&gt;" not in page.lower()  # the HTML part, escaped, is not shown
