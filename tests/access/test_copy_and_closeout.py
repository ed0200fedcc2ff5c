"""After a project (issue 14, parts 4 and 5): "Copy as new request" starts a fresh draft from a
finished request, pre-filled; the applicant files a close-out at the end of a project, the
committees read it, and a committee may require it before it accepts a new request from the
same applicant. Each step in the service, the REST API and the portal, with its ledger event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access.choices import RequestStatus
from access.lifecycle import TransitionRefused, copy_refusal
from access.models import AccessRequest, CloseOut, Grant
from access.services import closeouts as closeout_services
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import requests as request_services
from access.services import reviews as review_services
from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from core import scopes as S
from core.exceptions import Forbidden, Invalid
from governance import services as gov
from governance.models import DataAccessCommittee
from tests.access_world import accept_all, api, approve_part, make_draft, submit_request

from .test_api_journey import bearer, registered
from .test_portal import client_for, flashes, text_of

pytestmark = pytest.mark.django_db


def events(event_type, access_request) -> list[AuditEvent]:
    ledger.flush()
    return list(
        AuditEvent.objects.filter(
            event_type=event_type,
            target_type="access.accessrequest",
            target_id=str(access_request.pk),
        ).order_by("seq")
    )


def decide_all(access_request, chair, other_chair, dataset, other_dataset):
    """`dataset`'s committee approves its part, the other committee rejects its own."""
    approve_part(access_request, dataset, chair)
    decision_services.decision_record(
        review=access_request.reviews.get(committee=other_dataset.committee),
        actor=other_chair,
        outcome="reject",
        reason="Out of scope.",
    )
    return access_request


@pytest.fixture
def decided(submitted, chair, other_chair, dataset, other_dataset):
    return decide_all(submitted, chair, other_chair, dataset, other_dataset)


@pytest.fixture
def withdrawn(submitted, researcher):
    return request_services.request_withdraw(access_request=submitted, actor=researcher)


# --- part 4: copy as new -------------------------------------------------------------------------
def test_only_a_finished_request_may_be_copied():
    assert copy_refusal("draft", []) is not None
    assert copy_refusal("withdrawn", ["approved"]) is None
    assert copy_refusal("closed", []) is None
    assert copy_refusal("submitted", ["approved", "rejected"]) is None
    assert copy_refusal("submitted", ["approved", "closed"]) is None
    assert "under review" in copy_refusal("submitted", ["approved", "under_review"])
    assert copy_refusal("submitted", ["returned"]) is not None


def test_copy_of_a_withdrawn_request_is_a_prefilled_draft_without_team_or_document(
    withdrawn, researcher, dataset, other_dataset
):
    copy = request_services.request_copy(access_request=withdrawn, actor=researcher)
    assert copy.pk != withdrawn.pk
    assert copy.status == RequestStatus.DRAFT
    assert copy.applicant == researcher
    assert copy.copied_from == withdrawn
    for field in ("title", "lay_summary", "scientific_abstract", "institution", "ethics_reference"):
        assert getattr(copy, field) == getattr(withdrawn, field)
    assert copy.methods_development and copy.ethics_expiry == withdrawn.ethics_expiry
    assert not copy.ethics_document
    assert set(copy.datasets.all()) == {dataset, other_dataset}
    assert [d.curie for d in copy.diseases.all()] == ["DOID:1324"]
    assert not copy.team_members.exists()
    assert copy.team_not_copied == 1
    assert copy.not_copied == ["ethics_document"]
    assert copy.datasets_skipped == []
    (event,) = events(EventType.REQUEST_COPIED, copy)
    assert event.payload == {
        "source": withdrawn.pk,
        "datasets_skipped": [],
        "not_copied": ["ethics_document"],
    }
    assert events(EventType.REQUEST_CREATED, copy)


def test_copy_of_a_decided_request(decided, researcher):
    copy = request_services.request_copy(access_request=decided, actor=researcher)
    assert copy.status == RequestStatus.DRAFT and copy.copied_from == decided


def test_retired_datasets_are_left_out_and_named(withdrawn, researcher, dataset, other_dataset):
    gov.dataset_retire(dataset=other_dataset, actor=None, reason="Consent withdrawn.")
    copy = request_services.request_copy(access_request=withdrawn, actor=researcher)
    assert list(copy.datasets.all()) == [dataset]
    assert copy.datasets_skipped == [other_dataset.accession]
    (event,) = events(EventType.REQUEST_COPIED, copy)
    assert event.payload["datasets_skipped"] == [other_dataset.accession]


def test_an_answer_a_rule_now_refuses_is_left_out(withdrawn, researcher):
    AccessRequest.objects.filter(pk=withdrawn.pk).update(country="UK")  # stored before the check
    copy = request_services.request_copy(access_request=withdrawn, actor=researcher)
    assert copy.country == ""
    assert copy.not_copied == ["ethics_document", "country"]


def test_a_draft_or_a_request_under_review_is_not_copied(draft, submitted, researcher):
    with pytest.raises(TransitionRefused, match="under review"):
        request_services.request_copy(access_request=submitted, actor=researcher)
    other = AccessRequest.objects.create(applicant=researcher, title="A draft")
    with pytest.raises(TransitionRefused, match="draft"):
        request_services.request_copy(access_request=other, actor=researcher)
    assert not AccessRequest.objects.filter(copied_from__isnull=False).exists()


def test_only_the_applicant_copies(withdrawn, teammate):
    with pytest.raises(Forbidden):
        request_services.request_copy(access_request=withdrawn, actor=teammate)


def test_api_copy_answers_201_with_the_new_draft_and_what_was_left_out(withdrawn, researcher):
    response = api(researcher).post(f"/api/v1/access-requests/{withdrawn.pk}/copy/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["copied_from"] == withdrawn.pk
    assert body["id"] != withdrawn.pk
    assert body["not_copied"] == ["ethics_document"]
    assert body["team_not_copied"] == 1
    assert body["datasets_skipped"] == []
    assert body["team_members"] == []
    assert body["has_ethics_document"] is False
    # The copy's own representation names its source too.
    again = api(researcher).get(f"/api/v1/access-requests/{body['id']}/")
    assert again.json()["copied_from"] == withdrawn.pk


def test_api_copy_refused_while_under_review_with_409(submitted, researcher):
    response = api(researcher).post(f"/api/v1/access-requests/{submitted.pk}/copy/")
    assert response.status_code == 409
    assert "under review" in response.content.decode()


def test_api_copy_by_a_team_member_or_an_outsider_is_404(withdrawn, teammate, outsider):
    for person in (teammate, outsider):
        response = api(person).post(f"/api/v1/access-requests/{withdrawn.pk}/copy/")
        assert response.status_code == 404
    assert not AccessRequest.objects.filter(copied_from=withdrawn).exists()


def test_portal_copy_opens_the_new_draft_and_says_what_was_not_copied(
    decided, researcher, other_dataset
):
    gov.dataset_retire(dataset=other_dataset, actor=None, reason="Consent withdrawn.")
    client = client_for(researcher)
    page = client.get(reverse("access:request-detail", kwargs={"pk": decided.pk}))
    assert "Copy as new request" in text_of(page)
    response = client.post(reverse("access:request-copy", kwargs={"pk": decided.pk}))
    copy = AccessRequest.objects.get(copied_from=decided)
    assert response.status_code == 302
    assert response["Location"] == reverse("access:request-edit", kwargs={"pk": copy.pk})
    said = " ".join(flashes(response))
    assert copy.reference in said
    assert other_dataset.accession in said
    assert "ethics" in said.lower()
    assert "invite its 1 member again" in said
    detail = client.get(reverse("access:request-detail", kwargs={"pk": copy.pk}))
    assert f"copied from {decided.reference}" in text_of(detail)
    assert f"started this draft as a copy of {decided.reference}." in text_of(detail)


def test_portal_offers_no_copy_while_under_review_and_refuses_it(submitted, researcher):
    client = client_for(researcher)
    page = client.get(reverse("access:request-detail", kwargs={"pk": submitted.pk}))
    assert "Copy as new request" not in text_of(page)
    response = client.post(reverse("access:request-copy", kwargs={"pk": submitted.pk}))
    assert response.status_code == 302
    assert "was not copied" in " ".join(flashes(response))
    assert not AccessRequest.objects.filter(copied_from=submitted).exists()


def test_portal_copy_by_a_team_member_is_404_and_get_is_refused(withdrawn, teammate, researcher):
    url = reverse("access:request-copy", kwargs={"pk": withdrawn.pk})
    assert client_for(teammate).post(url).status_code == 404
    assert client_for(researcher).get(url).status_code == 405
    page = client_for(teammate).get(reverse("access:request-detail", kwargs={"pk": withdrawn.pk}))
    assert "Copy as new request" not in text_of(page)


# --- part 5: close-out ---------------------------------------------------------------------------
DELETED = {"data_disposition": "deleted", "results": "A TIL counter; doi:10.1000/xyz123."}
KEPT = {
    "data_disposition": "kept",
    "agreement": "Kept under DTA-2031-07 with Radboud until 2035.",
    "results": "No publications yet.",
}


def end_grants(access_request):
    """Every grant of the request has expired (as the nightly sweep would find them)."""
    Grant.objects.filter(request=access_request).update(
        valid_until=timezone.now() - timedelta(minutes=1)
    )


@pytest.fixture
def ended(decided):
    """A decided request (one part approved, one rejected) whose grants have all expired."""
    end_grants(decided)
    return decided


def test_a_closeout_is_filed_once_the_grants_have_ended(ended, researcher):
    closeout = closeout_services.closeout_file(access_request=ended, actor=researcher, data=KEPT)
    assert closeout.request == ended and closeout.filed_by == researcher
    assert closeout.data_disposition == "kept"
    assert closeout.agreement == KEPT["agreement"]
    (event,) = events(EventType.CLOSEOUT_FILED, ended)
    assert event.payload == {"closeout": closeout.pk, "data_disposition": "kept"}
    assert KEPT["agreement"] not in str(event.payload)  # free text stays out of the ledger
    with pytest.raises(TransitionRefused, match="was filed on"):
        closeout_services.closeout_file(access_request=ended, actor=researcher, data=DELETED)


def test_revoked_grants_end_the_project_too(decided, researcher, chair):
    for grant in Grant.objects.filter(request=decided):
        grant_services.grant_revoke(grant=grant, actor=chair, reason="Project ended early.")
    closeout_services.closeout_file(access_request=decided, actor=researcher, data=DELETED)
    assert CloseOut.objects.filter(request=decided).exists()


def test_no_closeout_while_a_grant_runs(decided, researcher):
    with pytest.raises(TransitionRefused, match="every grant"):
        closeout_services.closeout_file(access_request=decided, actor=researcher, data=DELETED)


def test_no_closeout_for_a_request_that_never_had_grants(withdrawn, researcher):
    with pytest.raises(TransitionRefused, match="every grant"):
        closeout_services.closeout_file(access_request=withdrawn, actor=researcher, data=DELETED)
    assert not events(EventType.CLOSEOUT_FILED, withdrawn)


def test_a_closed_request_takes_a_closeout_even_with_grants_left(
    decided, researcher, chair, other_chair, dataset, other_dataset
):
    review_services.review_close(
        review=decided.reviews.get(committee=dataset.committee), actor=chair, reason="Done."
    )
    review_services.review_close(
        review=decided.reviews.get(committee=other_dataset.committee),
        actor=other_chair,
        reason="Done.",
    )
    decided.refresh_from_db()
    assert decided.status == RequestStatus.CLOSED
    closeout_services.closeout_file(access_request=decided, actor=researcher, data=DELETED)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"data_disposition": "kept", "results": "x"}, "agreement"),
        ({"data_disposition": "deleted", "agreement": "DTA-1", "results": "x"}, "agreement"),
        ({"data_disposition": "deleted", "results": "  "}, "results"),
        ({"data_disposition": "shredded", "results": "x"}, "data_disposition"),
        ({**DELETED, "filed_by": 1}, "filed_by"),
        ({"data_disposition": "deleted", "results": "x" * 10001}, "results"),
    ],
)
def test_closeout_input_is_checked_field_by_field(ended, researcher, data, field):
    with pytest.raises(Invalid) as refused:
        closeout_services.closeout_file(access_request=ended, actor=researcher, data=data)
    assert field in refused.value.field_errors
    assert not CloseOut.objects.exists()


def test_only_the_applicant_files_the_closeout(ended, teammate):
    with pytest.raises(Forbidden):
        closeout_services.closeout_file(access_request=ended, actor=teammate, data=DELETED)


def test_api_closeout_201_and_in_the_request_representation(ended, researcher, chair):
    before = api(researcher).get(f"/api/v1/access-requests/{ended.pk}/")
    assert before.json()["closeout"] is None
    response = api(researcher).post(f"/api/v1/access-requests/{ended.pk}/closeout/", KEPT)
    assert response.status_code == 201, response.content
    closeout = response.json()["closeout"]
    assert closeout["data_disposition"] == "kept"
    assert closeout["agreement"] == KEPT["agreement"]
    assert closeout["filed_by"] == "researcher"
    # The committee reads it in the same representation.
    seen = api(chair).get(f"/api/v1/access-requests/{ended.pk}/")
    assert seen.status_code == 200
    assert seen.json()["closeout"]["results"] == KEPT["results"]
    again = api(researcher).post(f"/api/v1/access-requests/{ended.pk}/closeout/", DELETED)
    assert again.status_code == 409


def test_api_closeout_bad_input_400_not_ended_409_others_404(
    decided, researcher, teammate, outsider
):
    url = f"/api/v1/access-requests/{decided.pk}/closeout/"
    assert api(researcher).post(url, DELETED).status_code == 409
    end_grants(decided)
    bad = api(researcher).post(url, {"data_disposition": "kept", "results": "x"})
    assert bad.status_code == 400
    assert bad.json() == {"agreement": ["Name the agreement the data are kept under."]}
    missing = api(researcher).post(url, {"results": "x"})
    assert missing.status_code == 400 and "data_disposition" in missing.json()
    for person in (teammate, outsider):
        assert api(person).post(url, DELETED).status_code == 404
    assert not CloseOut.objects.exists()


def test_portal_offers_the_closeout_form_when_due_and_shows_it_filed(ended, researcher, teammate):
    client = client_for(researcher)
    url = reverse("access:request-detail", kwargs={"pk": ended.pk})
    page = text_of(client.get(url))
    assert "File the close-out" in page
    listed = text_of(client.get(reverse("access:request-list")))
    assert "File the close-out of the project" in listed
    refused = client.post(
        reverse("access:closeout-file", kwargs={"pk": ended.pk}),
        {"data_disposition": "kept", "results": "Two papers."},
    )
    assert refused.status_code == 200
    assert "Name the agreement the data are kept under." in text_of(refused)
    response = client.post(reverse("access:closeout-file", kwargs={"pk": ended.pk}), KEPT)
    assert response.status_code == 302
    assert "Filed the close-out" in " ".join(flashes(response))
    page = text_of(client.get(url))
    assert KEPT["agreement"] in page and "Kept under an agreement" in page
    assert "filed the close-out of the project" in page  # the history
    # A team member reads it, and may not file one.
    assert KEPT["agreement"] in text_of(client_for(teammate).get(url))
    denied = client_for(teammate).post(
        reverse("access:closeout-file", kwargs={"pk": ended.pk}), KEPT
    )
    assert denied.status_code == 404


def test_portal_offers_no_closeout_form_while_grants_run(decided, researcher):
    page = text_of(
        client_for(researcher).get(reverse("access:request-detail", kwargs={"pk": decided.pk}))
    )
    assert "File the close-out" not in page
    response = client_for(researcher).post(
        reverse("access:closeout-file", kwargs={"pk": decided.pk}), DELETED
    )
    assert response.status_code == 302
    assert "Not filed." in " ".join(flashes(response))


# --- a committee that requires close-outs ------------------------------------------------------
def require_closeouts(committee):
    DataAccessCommittee.objects.filter(pk=committee.pk).update(requires_closeout=True)


def test_a_missing_closeout_blocks_the_next_request_until_it_is_filed(
    ended, researcher, committee, dataset
):
    require_closeouts(committee)
    new = make_draft(researcher, [dataset])
    accept_all(new, researcher)
    problems = request_services.submission_problems(new)
    assert ended.reference in problems["closeouts"]
    assert committee.name in problems["closeouts"]
    with pytest.raises(Invalid) as refused:
        request_services.request_submit(access_request=new, actor=researcher)
    assert "closeouts" in refused.value.field_errors
    # The API says the same, with the field.
    response = api(researcher).post(f"/api/v1/access-requests/{new.pk}/submit/")
    assert response.status_code == 400
    assert ended.reference in response.content.decode()
    # The portal's checklist links to the earlier request's close-out form.
    page = client_for(researcher).get(reverse("access:request-detail", kwargs={"pk": new.pk}))
    assert f"{ended.get_absolute_url()}#closeout" in page.content.decode()
    closeout_services.closeout_file(access_request=ended, actor=researcher, data=DELETED)
    assert "closeouts" not in request_services.submission_problems(new)
    request_services.request_submit(access_request=new, actor=researcher)
    new.refresh_from_db()
    assert new.status == RequestStatus.SUBMITTED


def test_only_the_committee_that_requires_it_and_granted_the_project_blocks(
    ended, researcher, committee, other_committee, other_dataset, dataset
):
    # The other committee rejected its part: it never granted this project.
    require_closeouts(other_committee)
    new = make_draft(researcher, [other_dataset])
    assert "closeouts" not in request_services.submission_problems(new)
    # A committee that does not require close-outs lets the next request through.
    new_here = make_draft(researcher, [dataset])
    assert "closeouts" not in request_services.submission_problems(new_here)


def test_a_running_project_does_not_block(decided, researcher, committee, dataset):
    require_closeouts(committee)
    new = make_draft(researcher, [dataset])
    assert "closeouts" not in request_services.submission_problems(new)


def test_committee_admin_page_edits_requires_closeout(client, admin_user, committee):
    client.force_login(admin_user)
    page = client.get(reverse("admin:governance_dataaccesscommittee_change", args=[committee.pk]))
    assert 'name="requires_closeout"' in page.content.decode()


def test_the_review_page_shows_the_closeout_and_the_applicants_earlier_projects(
    client, ended, researcher, chair, dataset
):
    later = submit_request(researcher, [dataset])
    client.force_login(chair)
    later_page = client.get(reverse("admin:access_review_change", args=[later.reviews.get().pk]))
    text = text_of(later_page)
    assert ended.reference in text and "Not filed" in text
    closeout_services.closeout_file(access_request=ended, actor=researcher, data=KEPT)
    text = text_of(client.get(reverse("admin:access_review_change", args=[later.reviews.get().pk])))
    assert "Filed" in text and "Not filed" not in text
    own = text_of(
        client.get(
            reverse(
                "admin:access_review_change",
                args=[ended.reviews.get(committee=dataset.committee).pk],
            )
        )
    )
    assert KEPT["agreement"] in own and KEPT["results"] in own


# --- OAuth tokens: both are the applicant's writes ----------------------------------------------
def test_copy_and_closeout_need_the_requests_write_scope(ended, researcher):
    tool = registered("Lab notebook", [S.REQUESTS_READ, S.REQUESTS_WRITE])
    reader = bearer(researcher, tool, S.REQUESTS_READ)
    assert reader.post(f"/api/v1/access-requests/{ended.pk}/copy/").status_code == 403
    assert reader.post(f"/api/v1/access-requests/{ended.pk}/closeout/", DELETED).status_code == 403
    writer = bearer(researcher, tool, S.REQUESTS_WRITE)
    assert writer.post(f"/api/v1/access-requests/{ended.pk}/closeout/", DELETED).status_code == 201
    assert writer.post(f"/api/v1/access-requests/{ended.pk}/copy/").status_code == 201
