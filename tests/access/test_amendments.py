"""Amendments (issue 14, part 1): the applicant of an approved project changes it; only the
committees whose decision the change touches review it; once all of them approve (or at once,
when none has to) the project's grants are created and revoked to match, and until then they stay
as they were."""

# ruff: noqa: F401, F811  (token fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access import selectors
from access.choices import RequestKind, RequestStatus, ReviewStatus
from access.lifecycle import AnswersLocked, TransitionRefused
from access.models import AccessRequest, AgreementAcceptance, Grant
from access.services import amendments as amendment_services
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import renewals as renewal_services
from access.services import requests as request_services
from access.services import team as team_services
from audit import ledger
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from audit.verification import verify_ledger
from core.exceptions import Forbidden, Invalid
from tests import factories
from tests.access_world import (
    accept_all,
    api,
    approve_part,
    join_team,
    make_draft,
    reply_to_committee,
)
from tests.tokens.token_support import feed, introspect, storage, token_keys
from tokens.issue import token_issue

from .admin_support import page as page_of
from .test_portal import client_for, flashes, text_of

pytestmark = pytest.mark.django_db


def events_of(event_type) -> list[AuditEvent]:
    ledger.flush()
    return list(AuditEvent.objects.filter(event_type=event_type).order_by("seq"))


def live(project, **filters) -> list[Grant]:
    return list(
        selectors.grants_live_of(project).filter(**filters).order_by("user__username", "pk")
    )


def holders(project, dataset) -> set[str]:
    return {g.user.username for g in live(project, dataset=dataset)}


@pytest.fixture
def project(researcher, teammate, dataset, agreement, chair, temporary_media):
    """An approved project with one dataset (the first committee's), the applicant and a
    teammate holding grants that end in 200 days."""
    draft = make_draft(researcher, [dataset], team=[teammate])
    accept_all(draft, researcher)
    accept_all(draft, teammate)
    submitted = request_services.request_submit(access_request=draft, actor=researcher)
    approve_part(submitted, dataset, chair, days=200)
    return submitted


@pytest.fixture
def both(
    researcher, teammate, dataset, other_dataset, agreement, other_agreement, chair, other_chair
):
    """An approved project with a dataset of each committee."""
    draft = make_draft(researcher, [dataset, other_dataset], team=[teammate])
    accept_all(draft, researcher)
    accept_all(draft, teammate)
    submitted = request_services.request_submit(access_request=draft, actor=researcher)
    approve_part(submitted, dataset, chair, days=200)
    approve_part(submitted, other_dataset, other_chair, days=150)
    return submitted


def amend(project):
    return amendment_services.amendment_open(access_request=project, actor=project.applicant)


def submit(amendment):
    accept_all(amendment, amendment.applicant)
    return request_services.request_submit(access_request=amendment, actor=amendment.applicant)


def add_dataset(amendment, dataset):
    return request_services.request_update(
        access_request=amendment,
        actor=amendment.applicant,
        data={},
        datasets=[*amendment.datasets.all(), dataset],
    )


def decide(amendment, committee, chair, outcome="approve", **fields):
    review = amendment.reviews.get(committee=committee)
    if outcome == "approve":
        fields.setdefault(
            "end_date", decision_services.latest_end_date(amendment, committee=committee)
        )
    if outcome == "reject":
        fields.setdefault("reason", "Not for this project.")
    return decision_services.decision_record(review=review, actor=chair, outcome=outcome, **fields)


# --- opening ------------------------------------------------------------------------------------
def test_an_amendment_is_a_draft_prefilled_from_the_project(project, dataset, teammate, researcher):
    amendment = amend(project)
    assert amendment.kind == RequestKind.AMENDMENT
    assert amendment.parent == project
    assert amendment.status == RequestStatus.DRAFT
    assert list(amendment.datasets.all()) == [dataset]
    assert set(amendment.team_members.all()) == {teammate}
    assert amendment.title == project.title
    assert amendment.ethics_reference == project.ethics_reference
    assert list(amendment.diseases.all()) == list(project.diseases.all())
    # The agreements accepted for the project still bind the same people.
    assert set(
        AgreementAcceptance.objects.filter(request=amendment).values_list(
            "user__username", flat=True
        )
    ) == {researcher.username, teammate.username}
    (event,) = events_of(EventType.AMENDMENT_OPENED)
    assert event.payload == {"parent": project.pk}
    assert event.target_id == str(amendment.pk)


def test_only_the_applicant_may_amend(project, teammate):
    with pytest.raises(Forbidden):
        amendment_services.amendment_open(access_request=project, actor=teammate)
    assert not AccessRequest.objects.filter(kind=RequestKind.AMENDMENT).exists()


def test_a_project_without_active_grants_cannot_be_amended(project):
    Grant.objects.filter(request=project).update(valid_until=timezone.now() - timedelta(hours=1))
    with pytest.raises(TransitionRefused, match="no active grants"):
        amend(project)


def test_a_request_still_under_review_cannot_be_amended(submitted):
    with pytest.raises(TransitionRefused, match="no active grants"):
        amend(submitted)


def test_one_amendment_at_a_time(project):
    first = amend(project)
    with pytest.raises(TransitionRefused, match=f"already under way: {first.reference}"):
        amend(project)
    request_services.request_withdraw(access_request=first, actor=project.applicant)
    assert amend(project).pk != first.pk


def test_an_amendment_is_not_itself_amended(project):
    amendment = amend(project)
    with pytest.raises(TransitionRefused, match=f"change the project itself, {project.reference}"):
        amend(amendment)


def test_an_amendment_that_changes_nothing_is_not_submitted(project):
    amendment = amend(project)
    with pytest.raises(Invalid) as refused:
        submit(amendment)
    assert "changes nothing" in refused.value.message_dict["changes"][0]


def test_an_amendment_keeps_the_projects_duration(project):
    amendment = amend(project)
    with pytest.raises(Invalid) as refused:
        request_services.request_update(
            access_request=amendment, actor=project.applicant, data={"requested_months": 36}
        )
    assert "renewal" in refused.value.message_dict["requested_months"][0]


# --- a dataset of a second committee --------------------------------------------------------------
def test_adding_a_dataset_of_a_second_committee_is_reviewed_only_there(
    project,
    dataset,
    other_dataset,
    other_agreement,
    other_committee,
    chair,
    other_chair,
    researcher,
):
    before = {g.pk: g.valid_until for g in live(project)}
    amendment = add_dataset(amend(project), other_dataset)
    amendment = submit(amendment)
    assert [r.committee for r in amendment.reviews.all()] == [other_committee]
    # The first committee has nothing to review.
    assert not selectors.review_list_for_user(chair).filter(request=amendment).exists()
    assert amendment.amendment_summary["review"] == [
        f"{other_committee.name}: adds {other_dataset.accession}."
    ]
    # Until the second committee decides, the project's grants stay as they were.
    assert {g.pk: g.valid_until for g in live(project)} == before

    project_end = selectors.project_last_day(project)
    decide(amendment, other_committee, other_chair, end_date=project_end)
    amendment.refresh_from_db()
    assert amendment.applied_at is not None
    # The grants of the first committee's dataset are the same rows; the new dataset's belong to
    # the project, made by the second committee's decision, ending with the project.
    assert {g.pk: g.valid_until for g in live(project, dataset=dataset)} == before
    new = live(project, dataset=other_dataset)
    assert {g.user.username for g in new} == {"researcher", "teammate"}
    assert {g.decision.review.committee for g in new} == {other_committee}
    assert {(g.valid_until - timedelta(days=1)).date() for g in new} == {project_end}
    assert not Grant.objects.filter(request=amendment).exists()
    (applied,) = events_of(EventType.AMENDMENT_APPLIED)
    assert applied.target_id == str(project.pk)
    assert applied.payload["amendment"] == amendment.pk
    assert applied.payload["datasets_added"] == [other_dataset.accession]
    assert sorted(applied.payload["grants_created"]) == sorted(g.pk for g in new)
    assert applied.payload["grants_revoked"] == []
    assert verify_ledger().ok, verify_ledger().summary()


def test_an_amendment_never_outlives_the_project(
    project, other_dataset, other_agreement, other_committee, other_chair
):
    amendment = submit(add_dataset(amend(project), other_dataset))
    too_late = selectors.project_last_day(project) + timedelta(days=1)
    with pytest.raises(Invalid) as refused:
        decide(amendment, other_committee, other_chair, end_date=too_late)
    assert "end_date" in refused.value.message_dict
    assert not live(project, dataset=other_dataset)


def test_a_rejected_amendment_leaves_the_project_as_it_was(
    project, other_dataset, other_agreement, other_committee, other_chair
):
    before = sorted(g.pk for g in live(project))
    amendment = submit(add_dataset(amend(project), other_dataset))
    decide(amendment, other_committee, other_chair, outcome="reject")
    amendment.refresh_from_db()
    assert amendment.applied_at is None
    assert sorted(g.pk for g in live(project)) == before
    assert not events_of(EventType.AMENDMENT_APPLIED)
    # The project can be changed again.
    assert amend(project).pk != amendment.pk


# --- the purpose --------------------------------------------------------------------------------
def change_purpose(amendment, **answers):
    return request_services.request_update(
        access_request=amendment,
        actor=amendment.applicant,
        data=answers
        or {"methods_development": False, "other_purpose": "Prognosis of TIL density."},
    )


def test_a_changed_purpose_goes_to_every_committee_with_active_grants(
    both, committee, other_committee, chair, other_chair
):
    grants_before = sorted(g.pk for g in live(both))
    amendment = submit(change_purpose(amend(both)))
    assert {r.committee for r in amendment.reviews.all()} == {committee, other_committee}
    decide(amendment, committee, chair)
    both.refresh_from_db()
    # One approval is not enough: the project keeps its purpose until every committee approves.
    assert both.methods_development is True
    decide(amendment, other_committee, other_chair)
    both.refresh_from_db()
    amendment.refresh_from_db()
    assert amendment.applied_at is not None
    assert both.methods_development is False
    assert both.other_purpose == "Prognosis of TIL density."
    # The grants live on (their tokens keep working): same rows, nothing revoked.
    assert sorted(g.pk for g in live(both)) == grants_before
    (applied,) = events_of(EventType.AMENDMENT_APPLIED)
    assert applied.payload["answers_changed"] == ["methods_development", "other_purpose"]


def test_a_purpose_change_one_committee_rejects_changes_nothing(
    both, committee, other_committee, chair, other_chair
):
    grants_before = sorted(g.pk for g in live(both))
    amendment = submit(change_purpose(amend(both)))
    decide(amendment, committee, chair)
    decide(amendment, other_committee, other_chair, outcome="reject")
    both.refresh_from_db()
    amendment.refresh_from_db()
    assert amendment.applied_at is None
    assert both.methods_development is True
    assert sorted(g.pk for g in live(both)) == grants_before


def test_changed_diseases_are_a_changed_purpose(project, committee, chair):
    amendment = amend(project)
    request_services.request_update(
        access_request=amendment,
        actor=project.applicant,
        data={},
        diseases=[factories.term("DOID:1324"), factories.term("DOID:9256")],
    )
    amendment = submit(amendment)
    assert [r.committee for r in amendment.reviews.all()] == [committee]
    decide(amendment, committee, chair)
    assert set(project.diseases.values_list("curie", flat=True)) == {"DOID:1324", "DOID:9256"}


# --- the team -----------------------------------------------------------------------------------
def test_a_new_member_goes_to_every_committee_of_the_project(
    both, committee, other_committee, chair, other_chair
):
    newcomer = factories.user("newcomer")
    amendment = amend(both)
    join_team(amendment, newcomer)
    accept_all(amendment, newcomer)
    amendment = submit(amendment)
    assert {r.committee for r in amendment.reviews.all()} == {committee, other_committee}
    decide(amendment, committee, chair)
    assert not live(both, user=newcomer), "nothing before every committee approves"
    decide(amendment, other_committee, other_chair)
    assert {g.dataset.committee for g in live(both, user=newcomer)} == {committee, other_committee}
    assert newcomer in both.team_members.all()
    # The newcomer's acceptances now stand on the project, so the grants are active.
    assert all(g.is_active for g in live(both, user=newcomer))
    (applied,) = events_of(EventType.AMENDMENT_APPLIED)
    assert applied.payload["members_added"] == [pseudonym_for(newcomer)]


def test_removing_a_member_needs_no_review_and_ends_their_tokens(
    project, teammate, researcher, storage
):
    _, bearer = storage
    theirs = token_issue(grant=live(project, user=teammate)[0], actor=teammate)
    kept = token_issue(grant=live(project, user=researcher)[0], actor=researcher)
    amendment = amend(project)
    team_services.team_member_remove(access_request=amendment, actor=researcher, user=teammate)
    amendment = submit(amendment)
    assert not amendment.reviews.exists()
    amendment.refresh_from_db()
    assert amendment.applied_at is not None
    assert not live(project, user=teammate)
    assert teammate not in project.team_members.all()
    assert introspect(bearer, theirs.token).json() == {"active": False}
    assert introspect(bearer, kept.token).json()["active"] is True
    assert [e["jti"] for e in feed(bearer)["revoked"]] == [theirs.jti]
    revoked = Grant.objects.get(request=project, user=teammate)
    assert amendment.reference in revoked.revoked_reason


def test_removing_a_dataset_needs_no_review(both, dataset, other_dataset):
    amendment = amend(both)
    request_services.request_update(
        access_request=amendment, actor=both.applicant, data={}, datasets=[dataset]
    )
    amendment = submit(amendment)
    assert not amendment.reviews.exists()
    assert not live(both, dataset=other_dataset)
    assert holders(both, dataset) == {"researcher", "teammate"}


def test_a_member_taken_off_the_project_leaves_its_open_amendment(
    project, teammate, other_dataset, other_agreement, other_committee, other_chair
):
    amendment = submit(add_dataset(amend(project), other_dataset))
    team_services.team_member_remove(access_request=project, actor=project.applicant, user=teammate)
    assert teammate not in amendment.team_members.all()
    decide(amendment, other_committee, other_chair)
    # The amendment's approval gives them nothing back.
    assert not live(project, user=teammate)
    assert holders(project, other_dataset) == {"researcher"}


def test_withdrawing_the_project_withdraws_its_waiting_amendment(
    project, other_dataset, other_agreement, other_committee
):
    amendment = submit(add_dataset(amend(project), other_dataset))
    request_services.request_withdraw(access_request=project, actor=project.applicant)
    assert amendment.reviews.get().status == ReviewStatus.WITHDRAWN
    assert not live(project)


def test_an_automatic_approval_applies_the_amendment(
    project, other_dataset, other_agreement, other_committee
):
    """The second committee approves what fits its consent by policy: the purpose fits
    (methods development, general consent), so submitting the amendment applies it."""
    other_committee.auto_approve_matching = True
    other_committee.save()
    amendment = submit(add_dataset(amend(project), other_dataset))
    assert amendment.matches.get(dataset=other_dataset).decision == "approve"
    assert amendment.reviews.get().status == ReviewStatus.APPROVED
    amendment.refresh_from_db()
    assert amendment.applied_at is not None
    assert holders(project, other_dataset) == {"researcher", "teammate"}
    # The automatic approval ends with the project, as a committee member's would.
    assert {
        (g.valid_until - timedelta(days=1)).date() for g in live(project, dataset=other_dataset)
    } == {selectors.project_last_day(project)}


def test_the_api_opens_edits_and_submits_an_amendment(
    project, researcher, teammate, other_dataset, other_agreement, other_committee
):
    base = f"/api/v1/access-requests/{project.pk}"
    assert api(teammate).post(f"{base}/amend/").status_code == 404
    response = api(researcher).post(f"{base}/amend/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "amendment" and body["parent"] == project.pk
    assert body["status"] == "draft"
    assert body["amendment"]["changes"] == []
    assert api(researcher).post(f"{base}/amend/").status_code == 409
    mine = f"/api/v1/access-requests/{body['id']}"
    datasets = [*body["datasets"], other_dataset.accession]
    patched = api(researcher).patch(mine + "/", {"datasets": datasets}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["amendment"] == {
        "changes": [f"Adds {other_dataset.accession}."],
        "review": [f"{other_committee.name}: adds {other_dataset.accession}."],
        "applied_at": None,
    }
    for row in patched.json()["agreements"]:
        if not row["accepted"]:
            accepted = api(researcher).post(
                mine + "/accept-agreement/", {"agreement": row["id"]}, format="json"
            )
            assert accepted.status_code == 200, accepted.content
    submitted = api(researcher).post(mine + "/submit/")
    assert submitted.status_code == 200, submitted.content
    assert [r["committee"] for r in submitted.json()["reviews"]] == [other_committee.slug]
    # The project's representation is unchanged until the committee decides.
    assert api(researcher).get(base + "/").json()["status"] == "submitted"


def test_the_api_refuses_to_amend_an_amendment_or_a_draft(project, researcher, draft):
    amendment = amend(project)
    response = api(researcher).post(f"/api/v1/access-requests/{amendment.pk}/amend/")
    assert response.status_code == 409
    assert project.reference in response.json()["detail"]
    assert api(researcher).post(f"/api/v1/access-requests/{draft.pk}/amend/").status_code == 409


# --- the portal and the committee's page -------------------------------------------------------
def test_change_this_project_in_the_portal(
    project, researcher, teammate, other_dataset, other_agreement, other_committee
):
    client = client_for(researcher)
    page = client.get(reverse("access:request-detail", kwargs={"pk": project.pk}))
    assert "Change this project" in text_of(page)
    # The team member sees no such button, and posting gets a 404.
    assert "Change this project" not in text_of(
        client_for(teammate).get(reverse("access:request-detail", kwargs={"pk": project.pk}))
    )
    url = reverse("access:request-amend", kwargs={"pk": project.pk})
    assert client_for(teammate).post(url).status_code == 404
    assert client.get(url).status_code == 405

    response = client.post(url)
    amendment = AccessRequest.objects.get(kind=RequestKind.AMENDMENT)
    assert response.status_code == 302
    assert response["Location"] == reverse("access:request-edit", kwargs={"pk": amendment.pk})
    assert any(f"a change to {project.reference}" in m for m in flashes(response))
    # The form keeps the project's duration.
    form = client.get(response["Location"]).content.decode()
    assert (
        'name="requested_months"' in form
        and "disabled" in form.split('name="requested_months"')[1][:200]
    )

    add_dataset(amendment, other_dataset)
    page = text_of(client.get(amendment.get_absolute_url()))
    assert f"Change to {project.reference}" in page
    assert f"Adds {other_dataset.accession}." in page
    assert f"{other_committee.name}: adds {other_dataset.accession}." in page
    # The project lists it; a second "Change this project" is not offered while it is open.
    project_page = text_of(client.get(project.get_absolute_url()))
    assert f"{amendment.reference} : change started" in project_page
    assert "a draft, not submitted yet" in project_page
    assert "Change this project" not in project_page
    refused = client.post(url, follow=True)
    assert f"already under way: {amendment.reference}" in " ".join(flashes(refused)) + text_of(
        refused
    )


def test_the_committee_sees_what_the_amendment_changes(
    project, other_dataset, other_agreement, other_committee, other_chair
):
    amendment = submit(add_dataset(amend(project), other_dataset))
    page = text_of(client_for(other_chair).get(page_of(amendment.reviews.get())))
    assert f"Change to {project.reference}" in page
    assert f"This committee reviews it because it adds {other_dataset.accession}." in page
    assert f"Adds {other_dataset.accession}." in page
    end = selectors.project_last_day(project)
    assert f"ending no later than the project's current end, {end:%-d %b %Y}" in page


def test_the_histories_tell_the_change(
    project, researcher, other_dataset, other_agreement, other_committee, other_chair
):
    amendment = submit(add_dataset(amend(project), other_dataset))
    decide(amendment, other_committee, other_chair)
    client = client_for(researcher)
    assert f"You started this change to {project.reference}." in text_of(
        client.get(amendment.get_absolute_url())
    )
    assert (
        f"The change {amendment.reference} was made to the project: 2 grants given, 0 ended."
        in text_of(client.get(project.get_absolute_url()))
    )


def test_submitting_says_who_reviews_the_change_or_that_it_was_made(
    project, researcher, teammate, other_dataset, other_agreement, other_committee
):
    client = client_for(researcher)
    amendment = add_dataset(amend(project), other_dataset)
    accept_all(amendment, researcher)
    response = client.post(reverse("access:request-submit", kwargs={"pk": amendment.pk}))
    assert any(
        f"Submitted {amendment.reference} to {other_committee.name}, the committees the change "
        f"concerns. Until it approves, {project.reference} continues as it is." in m
        for m in flashes(response)
    ), flashes(response)
    # The project's own dataset is not under review: the page says it stays as it is.
    page = text_of(client.get(amendment.get_absolute_url()))
    assert "Committee radboud-dac Unchanged: no review needed" in page
    assert f"{other_dataset.title} Committee leeds-dac Submitted" in page
    request_services.request_withdraw(access_request=amendment, actor=researcher)
    second = amend(project)
    team_services.team_member_remove(access_request=second, actor=researcher, user=teammate)
    response = client.post(reverse("access:request-submit", kwargs={"pk": second.pk}))
    assert any(
        f"No committee had to review it, so the change was made to {project.reference} now" in m
        for m in flashes(response)
    ), flashes(response)


def test_the_deciding_committee_revokes_an_amendments_grant_through_the_change(
    project, researcher, other_dataset, other_agreement, other_committee, other_chair, chair
):
    amendment = submit(add_dataset(amend(project), other_dataset))
    decide(amendment, other_committee, other_chair)
    grant = live(project, dataset=other_dataset, user=researcher)[0]
    body = {"grant": grant.pk, "reason": "Shared outside the project."}
    # The first committee did not make it: not theirs to revoke.
    assert (
        api(chair)
        .post(f"/api/v1/access-requests/{project.pk}/revoke/", body, format="json")
        .status_code
        == 404
    )
    response = api(other_chair).post(
        f"/api/v1/access-requests/{amendment.pk}/revoke/", body, format="json"
    )
    assert response.status_code == 200, response.content
    grant.refresh_from_db()
    assert grant.revoked_at is not None


# --- found in review: each a way around a committee ---------------------------------------------
def test_a_returned_change_cannot_grow_to_a_committee_that_did_not_receive_it(
    both, committee, other_committee, chair, organisation
):
    third = factories.dataset(committee=committee, controller=organisation, title="Third")
    amendment = submit(add_dataset(amend(both), third))
    assert [r.committee for r in amendment.reviews.all()] == [committee]
    decide(amendment, committee, chair, outcome="return", questions="Why this one?")
    # Returned: the applicant now also changes the purpose, which the other committee relies on.
    change_purpose(amendment)
    reply_to_committee(amendment)
    with pytest.raises(Invalid) as refused:
        request_services.request_resubmit(access_request=amendment, actor=amendment.applicant)
    assert other_committee.name in refused.value.message_dict["changes"][0]
    assert amendment.reviews.get().status == ReviewStatus.RETURNED


def test_an_approved_part_locks_the_answers_it_approved(
    both, committee, other_committee, chair, other_chair
):
    amendment = submit(change_purpose(amend(both)))
    decide(amendment, committee, chair)
    decide(amendment, other_committee, other_chair, outcome="return", questions="Clarify.")
    with pytest.raises(AnswersLocked):
        change_purpose(amendment, other_purpose="Something the first committee never saw.")
    assert "team" in request_services.team_change_refusal(amendment).lower()


def test_an_ended_project_is_given_nothing(
    project, other_dataset, other_agreement, other_committee, other_chair
):
    amendment = submit(add_dataset(amend(project), other_dataset))
    Grant.objects.filter(request=project).update(valid_until=timezone.now() - timedelta(hours=1))
    with pytest.raises(TransitionRefused, match="no active grants"):
        decide(
            amendment,
            other_committee,
            other_chair,
            end_date=timezone.localdate() + timedelta(days=30),
        )
    amendment.refresh_from_db()
    assert amendment.applied_at is None
    assert not live(project)


def test_a_revoked_and_barred_member_is_not_given_access_again(project, committee, chair, teammate):
    grant = live(project, user=teammate)[0]
    grant_services.grant_revoke(
        grant=grant,
        actor=chair,
        reason="Misuse",
        bar_until=timezone.localdate() + timedelta(days=300),
    )
    amendment = submit(change_purpose(amend(project)))
    decide(amendment, committee, chair)
    amendment.refresh_from_db()
    assert amendment.applied_at is not None
    assert not live(project, user=teammate)


def test_a_member_whose_grant_was_revoked_gets_no_new_one_from_a_new_dataset_of_that_committee(
    project, committee, chair, teammate, organisation
):
    grant_services.grant_revoke(
        grant=live(project, user=teammate)[0],
        actor=chair,
        reason="Misuse",
        bar_until=timezone.localdate() + timedelta(days=300),
    )
    third = factories.dataset(committee=committee, controller=organisation, title="Third")
    amendment = submit(add_dataset(amend(project), third))
    decide(amendment, committee, chair)
    assert holders(project, third) == {"researcher"}, "the bar holds on the committee's new dataset"


def test_no_change_while_a_committee_still_reviews_the_project(
    researcher, teammate, dataset, other_dataset, agreement, other_agreement, chair
):
    draft = make_draft(researcher, [dataset, other_dataset], team=[teammate])
    accept_all(draft, researcher)
    accept_all(draft, teammate)
    half = request_services.request_submit(access_request=draft, actor=researcher)
    approve_part(half, dataset, chair, days=200)
    with pytest.raises(TransitionRefused, match="still reviewing this project"):
        amend(half)


def test_a_dataset_added_by_a_change_needs_the_close_outs_its_committee_requires(
    project, researcher, other_dataset, other_agreement, other_committee, other_chair
):
    other_committee.requires_closeout = True
    other_committee.save()
    earlier = make_draft(researcher, [other_dataset])
    accept_all(earlier, researcher)
    earlier = request_services.request_submit(access_request=earlier, actor=researcher)
    approve_part(earlier, other_dataset, other_chair, days=30)
    Grant.objects.filter(request=earlier).update(valid_until=timezone.now() - timedelta(hours=1))
    amendment = add_dataset(amend(project), other_dataset)
    accept_all(amendment, researcher)
    problems = request_services.submission_problems(amendment)
    assert earlier.reference in problems["closeouts"]


def test_a_renewal_and_a_change_never_wait_at_the_same_time(
    researcher, teammate, dataset, agreement, chair
):
    draft = make_draft(researcher, [dataset], team=[teammate])
    accept_all(draft, researcher)
    project = request_services.request_submit(access_request=draft, actor=researcher)
    approve_part(project, dataset, chair, days=30)
    renewal = renewal_services.renewal_open(
        access_request=project, actor=researcher, months=6, progress_report="Did things."
    )
    with pytest.raises(
        TransitionRefused, match=f"renewal of this project is waiting.*{renewal.reference}"
    ):
        amend(project)
    request_services.request_withdraw(access_request=renewal, actor=researcher)
    change = amend(project)
    with pytest.raises(
        TransitionRefused, match=f"change to this project is under way \\({change.reference}\\)"
    ):
        renewal_services.renewal_open(
            access_request=project, actor=researcher, months=6, progress_report="Did things."
        )


def test_each_committee_approves_up_to_its_own_datasets_end(
    both, other_committee, other_chair, chair, committee
):
    amendment = submit(change_purpose(amend(both)))
    # The second committee's grants end at 150 days, the first's at 200.
    assert decision_services.latest_end_date(amendment, committee=other_committee) == (
        timezone.localdate() + timedelta(days=150)
    )
    with pytest.raises(Invalid):
        decide(
            amendment,
            other_committee,
            other_chair,
            end_date=timezone.localdate() + timedelta(days=200),
        )


def test_a_title_change_alone_needs_no_review(project):
    amendment = amend(project)
    request_services.request_update(
        access_request=amendment,
        actor=project.applicant,
        data={"title": "TILs and PD-L1 in lung cancer"},
    )
    amendment = submit(amendment)
    assert not amendment.reviews.exists()
    project.refresh_from_db()
    assert project.title == "TILs and PD-L1 in lung cancer"
