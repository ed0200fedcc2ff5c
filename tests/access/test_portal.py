"""The researcher's portal pages: My requests, the request form, a request's page, My access."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.choices import CommentVisibility, RequestStatus, ReviewStatus
from access.models import AccessRequest, AgreementAcceptance, ConsentMatch
from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import reviews as review_services
from access.uploads import MAX_BYTES
from audit.choices import EventType
from audit.models import AuditEvent
from tests import factories
from tests.access_world import accept_all, approve_part, make_draft, reply_to_committee

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def text_of(response) -> str:
    """The page's visible words, tags dropped and spaces collapsed (for sentence checks)."""
    html = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def detail_url(access_request) -> str:
    return reverse("access:request-detail", kwargs={"pk": access_request.pk})


def form_data(datasets, **overrides) -> dict:
    data = {
        "action": "save",
        "title": "Counting lymphocytes",
        "lay_summary": "Computers count immune cells.",
        "scientific_abstract": "TIL quantification with deep learning.",
        "datasets": [d.accession for d in datasets],
        "diseases": ["DOID:1324"],
        "methods_development": "on",
        "other_purpose": "",
        "country": "nl",
        "requested_months": "12",
        "institution": "Example University",
        "ethics_reference": "METC-2026-001",
        "ethics_expiry": (timezone.localdate() + timedelta(days=365)).isoformat(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def pdf_upload(name="approval.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- login and isolation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("access:request-list", {}),
        ("access:request-create", {}),
        ("access:grant-list", {}),
        ("access:request-detail", {"pk": 1}),
        ("access:ethics-document", {"pk": 1}),
        ("access:disease-search-json", {}),
    ],
)
def test_anonymous_visitor_is_sent_to_sign_in(client, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_another_users_request_is_404_on_every_page(draft, outsider):
    client = client_for(outsider)
    agreement = next(iter(request_services.required_agreements(draft).values()))
    for url, method in [
        (detail_url(draft), "get"),
        (reverse("access:request-edit", kwargs={"pk": draft.pk}), "get"),
        (reverse("access:request-submit", kwargs={"pk": draft.pk}), "get"),
        (reverse("access:request-submit", kwargs={"pk": draft.pk}), "post"),
        (reverse("access:request-withdraw", kwargs={"pk": draft.pk}), "post"),
        (reverse("access:ethics-document", kwargs={"pk": draft.pk}), "get"),
        (reverse("access:comment-add", kwargs={"pk": draft.pk}), "post"),
        (
            reverse(
                "access:agreement-accept", kwargs={"pk": draft.pk, "agreement_pk": agreement.pk}
            ),
            "post",
        ),
    ]:
        assert getattr(client, method)(url).status_code == 404, url
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT
    assert not AgreementAcceptance.objects.filter(user=outsider).exists()


def test_a_missing_request_is_404_like_a_forbidden_one(researcher):
    assert client_for(researcher).get("/requests/999999/").status_code == 404


def test_state_changes_refuse_get(draft, researcher):
    client = client_for(researcher)
    accept_url = reverse("access:comment-add", kwargs={"pk": draft.pk})
    assert client.get(accept_url).status_code == 405


def test_csrf_token_is_required_on_a_post(draft, researcher):
    client = Client(enforce_csrf_checks=True)
    client.force_login(researcher)
    agreement = next(iter(request_services.required_agreements(draft).values()))
    url = reverse("access:agreement-accept", kwargs={"pk": draft.pk, "agreement_pk": agreement.pk})
    assert client.post(url).status_code == 403
    assert not AgreementAcceptance.objects.filter(request=draft).exists()
    # with the token from the page's form, the same post goes through
    page = client.get(detail_url(draft))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert AgreementAcceptance.objects.filter(request=draft, agreement=agreement).exists()


# --- My requests ---------------------------------------------------------------------------------
def test_my_requests_lists_the_applicants_draft_with_its_next_step(draft, researcher):
    response = client_for(researcher).get(reverse("access:request-list"))
    assert response.status_code == 200
    page = text_of(response)
    assert draft.reference in page and draft.title in page
    assert "Accept the access agreement, then submit." in page
    for dataset in draft.datasets.all():
        assert f"{dataset.accession} : Draft" in page


def test_team_member_sees_the_request_and_is_asked_to_accept(draft, teammate):
    page = text_of(client_for(teammate).get(reverse("access:request-list")))
    assert draft.reference in page
    assert "Team member" in page
    assert "Accept the access agreement." in page


def test_my_requests_shows_a_status_per_dataset_and_what_to_do_when_returned(
    submitted, researcher, other_chair, chair, dataset, other_dataset
):
    decision_services.decision_record(
        review=submitted.reviews.get(committee=other_dataset.committee),
        actor=other_chair,
        outcome="return",
        questions="Which cohort?",
    )
    review_services.review_start(
        review=submitted.reviews.get(committee=dataset.committee), actor=chair
    )
    page = text_of(client_for(researcher).get(reverse("access:request-list")))
    assert f"{dataset.accession} : Under review" in page
    assert f"{other_dataset.accession} : Returned for changes" in page
    assert "Answer the committee's questions and resubmit." in page


def test_outsider_sees_no_requests(draft, outsider):
    page = text_of(client_for(outsider).get(reverse("access:request-list")))
    assert draft.reference not in page
    assert "You have no access requests yet." in page


# --- the request form ----------------------------------------------------------------------------
def test_catalogue_link_fills_the_cart_and_names_unknown_accessions(
    researcher, dataset, other_dataset
):
    url = reverse("access:request-create")
    response = client_for(researcher).get(
        url, {"dataset": [dataset.accession, other_dataset.accession, "TSR-DS-999999"]}
    )
    html = response.content.decode()
    for d in (dataset, other_dataset):
        assert re.search(rf'name="datasets" value="{d.accession}"[^>]*checked', html)
    assert "governed by 2 committees" in text_of(response)
    assert any("TSR-DS-999999" in m for m in flashes(response))


def test_saving_a_draft_creates_it_through_the_service_with_everything(
    researcher, teammate, dataset, other_dataset, settings
):
    # A username typed into a "team_members" field (the old form's) names nobody: people join
    # the team only by accepting an invitation (tests/access/test_invitations.py).
    data = form_data([dataset, other_dataset], team_members="teammate")
    data["ethics_document"] = pdf_upload()
    response = client_for(researcher).post(reverse("access:request-create"), data)
    access_request = AccessRequest.objects.get(applicant=researcher)
    assert response.status_code == 302 and response.url == detail_url(access_request)
    assert access_request.status == RequestStatus.DRAFT
    assert set(access_request.datasets.all()) == {dataset, other_dataset}
    assert [d.curie for d in access_request.diseases.all()] == ["DOID:1324"]
    assert not access_request.team_members.exists()
    assert access_request.country == "NL" and access_request.methods_development
    stored = access_request.ethics_document
    assert stored.path.startswith(str(settings.MEDIA_ROOT)) and "approval" not in stored.name
    assert AuditEvent.objects.filter(
        event_type=EventType.REQUEST_CREATED, target_id=str(access_request.pk)
    ).exists()
    assert any("Saved" in m for m in flashes(response))


def test_the_form_has_no_team_field_and_points_to_invitations(researcher, dataset):
    page = client_for(researcher).get(reverse("access:request-create"))
    assert 'name="team_members"' not in page.content.decode()
    assert "You invite the other people who will use the data by e-mail" in text_of(page)


def test_a_file_that_only_pretends_to_be_a_pdf_is_rejected(researcher, dataset):
    data = form_data([dataset])
    data["ethics_document"] = pdf_upload(content=b"MZ\x90\x00 not a pdf at all")
    response = client_for(researcher).post(reverse("access:request-create"), data)
    assert response.status_code == 200
    assert "must be a PDF, PNG or JPEG" in text_of(response)
    assert not AccessRequest.objects.exists()


def test_an_upload_over_ten_megabytes_is_rejected(researcher, dataset):
    data = form_data([dataset])
    data["ethics_document"] = pdf_upload(content=PDF + b"0" * MAX_BYTES)
    response = client_for(researcher).post(reverse("access:request-create"), data)
    assert "at most 10 MB" in text_of(response)
    assert not AccessRequest.objects.exists()


def test_png_and_jpeg_are_accepted(researcher, dataset):
    for name, content in [
        ("scan.png", b"\x89PNG\r\n\x1a\nrest"),
        ("scan.jpg", b"\xff\xd8\xffrest"),
    ]:
        data = form_data([dataset], title=name)
        data["ethics_document"] = pdf_upload(name=name, content=content, content_type="image/x")
        response = client_for(researcher).post(reverse("access:request-create"), data)
        assert response.status_code == 302, text_of(response)
    assert AccessRequest.objects.count() == 2


def test_a_missing_title_is_shown_next_to_the_field(researcher, dataset):
    response = client_for(researcher).post(
        reverse("access:request-create"), form_data([dataset], title="")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(
        r'id="id_title"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_title"', html
    )
    assert "There is a problem" in text_of(response)


def test_finding_datasets_keeps_the_answers_and_saves_nothing(researcher, dataset, other_dataset):
    data = form_data([dataset], action="find-datasets", dataset_q="colon", title="Keep me")
    response = client_for(researcher).post(reverse("access:request-create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="Keep me"' in html
    assert re.search(rf'name="datasets" value="{dataset.accession}"[^>]*checked', html)
    # the result is offered, unticked
    assert re.search(rf'name="datasets" value="{other_dataset.accession}" id="[^"]+">', html)
    assert not AccessRequest.objects.exists()
    assert any("Nothing is saved yet" in m for m in flashes(response))


def test_finding_diseases_offers_them_and_keeps_the_chosen_ones(researcher, dataset):
    data = form_data([dataset], action="find-diseases", disease_q="lung carcinoma")
    response = client_for(researcher).post(reverse("access:request-create"), data)
    html = response.content.decode()
    assert re.search(r'name="diseases" value="DOID:1324"[^>]*checked', html)
    assert re.search(r'name="diseases" value="DOID:3905" id="[^"]+">', html)  # lung carcinoma
    assert not AccessRequest.objects.exists()


def test_disease_search_json_answers_for_search_as_you_type(researcher):
    response = client_for(researcher).get(
        reverse("access:disease-search-json"), {"q": "lung cancer"}
    )
    body = response.json()
    assert {"curie": "DOID:1324", "label": "lung cancer"} in body["results"]
    assert body["total"] >= len(body["results"])


def test_editing_a_draft_goes_through_the_service(draft, researcher, dataset):
    client = client_for(researcher)
    form_page = client.get(reverse("access:request-edit", kwargs={"pk": draft.pk}))
    assert f'value="{draft.title}"' in form_page.content.decode()
    data = form_data([dataset], title="A sharper title")
    response = client.post(reverse("access:request-edit", kwargs={"pk": draft.pk}), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "A sharper title"
    assert [u.username for u in draft.team_members.all()] == ["teammate"]  # the form keeps it
    assert list(draft.datasets.all()) == [dataset]
    assert draft.ethics_document  # kept: no new file was chosen
    changed = AuditEvent.objects.get(event_type=EventType.REQUEST_CHANGED, target_id=str(draft.pk))
    assert "title" in changed.payload["fields"] and "datasets" in changed.payload["fields"]


def test_team_member_cannot_edit(draft, teammate):
    response = client_for(teammate).get(reverse("access:request-edit", kwargs={"pk": draft.pk}))
    assert response.status_code == 302
    assert any("cannot be edited" in m for m in flashes(response))


def test_a_submitted_request_that_was_not_returned_cannot_be_edited(submitted, researcher):
    client = client_for(researcher)
    url = reverse("access:request-edit", kwargs={"pk": submitted.pk})
    assert client.get(url).status_code == 302
    response = client.post(url, form_data([], title="Sneaky"))
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.title != "Sneaky"


# --- a request's page ----------------------------------------------------------------------------
def test_draft_page_shows_answers_agreements_and_the_submission_checklist(draft, researcher):
    response = client_for(researcher).get(detail_url(draft))
    assert response.status_code == 200
    page = text_of(response)
    assert "Before you can submit" in page
    assert "Accept the current access agreement(s)" in page
    for agreement in set(request_services.required_agreements(draft).values()):
        assert f"I accept {agreement.title}, version {agreement.version}" in page
        assert agreement.text in page
    assert "Deep learning for TIL quantification" in page
    assert "lung cancer" in page
    assert "Edit request" in page and "Submit request" in page


def test_accepting_each_agreement_clears_the_checklist(draft, researcher):
    client = client_for(researcher)
    for agreement in set(request_services.required_agreements(draft).values()):
        url = reverse(
            "access:agreement-accept", kwargs={"pk": draft.pk, "agreement_pk": agreement.pk}
        )
        response = client.post(url)
        assert response.status_code == 302
        assert any("You accepted" in m for m in flashes(response))
    assert request_services.submission_problems(draft) == {}
    page = text_of(client.get(detail_url(draft)))
    assert "Everything needed is there." in page
    assert "You accepted this version." in page


def test_submit_without_acceptance_is_refused_and_the_checklist_says_why(draft, researcher):
    client = client_for(researcher)
    confirm = client.get(reverse("access:request-submit", kwargs={"pk": draft.pk}))
    assert "This will be refused until you fix these" in text_of(confirm)
    assert f"Go back to {draft.reference} to fix them" in text_of(confirm)
    response = client.post(reverse("access:request-submit", kwargs={"pk": draft.pk}))
    assert response.status_code == 302
    assert any("was not submitted" in m and "Accept" in m for m in flashes(response))
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT


def test_submit_after_confirmation(draft, researcher, committee, other_committee):
    accept_all(draft, researcher)
    client = client_for(researcher)
    confirm = client.get(reverse("access:request-submit", kwargs={"pk": draft.pk}))
    page = text_of(confirm)
    assert f"Submit request {draft.reference}" in page
    assert committee.name in page and other_committee.name in page
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT  # the confirmation page changed nothing
    response = client.post(reverse("access:request-submit", kwargs={"pk": draft.pk}))
    draft.refresh_from_db()
    assert draft.status == RequestStatus.SUBMITTED
    assert any(f"Submitted {draft.reference}" in m for m in flashes(response))
    page = text_of(client.get(detail_url(draft)))
    assert "Submit request" not in page and "Withdraw request" in page


def test_team_member_can_view_and_accept_but_not_submit_or_withdraw(draft, teammate, researcher):
    accept_all(draft, researcher)
    client = client_for(teammate)
    page = text_of(client.get(detail_url(draft)))
    assert "You are a team member" in page
    assert "Submit request" not in page and "Withdraw request" not in page
    agreement = next(iter(request_services.required_agreements(draft).values()))
    client.post(
        reverse("access:agreement-accept", kwargs={"pk": draft.pk, "agreement_pk": agreement.pk})
    )
    assert AgreementAcceptance.objects.filter(request=draft, user=teammate).exists()
    for action in ("submit", "withdraw"):
        response = client.post(reverse(f"access:request-{action}", kwargs={"pk": draft.pk}))
        assert response.status_code == 302
        assert any("Only the applicant" in m for m in flashes(response))
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT


def test_withdrawing_a_submitted_request(submitted, researcher):
    client = client_for(researcher)
    confirm = text_of(client.get(reverse("access:request-withdraw", kwargs={"pk": submitted.pk})))
    assert "Withdrawing cannot be undone." in confirm
    response = client.post(reverse("access:request-withdraw", kwargs={"pk": submitted.pk}))
    submitted.refresh_from_db()
    assert submitted.status == RequestStatus.WITHDRAWN
    assert any("Withdrew" in m for m in flashes(response))
    # a second attempt is refused with a message, not an error page
    again = client.post(reverse("access:request-withdraw", kwargs={"pk": submitted.pk}))
    assert again.status_code == 302
    assert any("cannot be withdrawn" in m for m in flashes(again))


def test_answering_a_returned_request_edit_reply_and_resubmit(
    submitted, researcher, other_chair, other_dataset
):
    review = submitted.reviews.get(committee=other_dataset.committee)
    decision_services.decision_record(
        review=review, actor=other_chair, outcome="return", questions="Which cohort exactly?"
    )
    datasets_before = set(submitted.datasets.all())
    client = client_for(researcher)
    page = text_of(client.get(detail_url(submitted)))
    assert "Which cohort exactly?" in page
    assert "returned the request with questions" in page
    assert "Before you can resubmit" in page

    edit = client.post(
        reverse("access:request-edit", kwargs={"pk": submitted.pk}),
        {**form_data([], lay_summary="Cohort A only."), "datasets": []},
    )
    assert edit.status_code == 302, text_of(edit)
    reply = client.post(
        reverse("access:comment-add", kwargs={"pk": submitted.pk}), {"body": "Cohort A."}
    )
    assert any("sent" in m for m in flashes(reply))
    response = client.post(reverse("access:request-resubmit", kwargs={"pk": submitted.pk}))
    assert any("Resubmitted" in m for m in flashes(response))
    review.refresh_from_db()
    submitted.refresh_from_db()
    assert (review.status, review.round) == (ReviewStatus.RESUBMITTED, 2)
    assert submitted.lay_summary == "Cohort A only."
    assert set(submitted.datasets.all()) == datasets_before  # a submitted request keeps them
    assert submitted.comments.filter(committee=None, body="Cohort A.").exists()


def test_an_empty_reply_is_refused_with_a_message(submitted, researcher):
    response = client_for(researcher).post(
        reverse("access:comment-add", kwargs={"pk": submitted.pk}), {"body": "  "}
    )
    assert any("Write your reply" in m for m in flashes(response))
    assert not submitted.comments.exists()


def test_timeline_tells_the_story_but_hides_votes_and_internal_comments(
    submitted, researcher, chair, member, dataset
):
    review = submitted.reviews.get(committee=dataset.committee)
    review_services.vote_cast(
        review=review, actor=member, choice="reject", rationale="SECRET-RATIONALE"
    )
    for body, visibility in [
        ("SECRET-INTERNAL remark", CommentVisibility.INTERNAL),
        ("Please confirm the cohort.", CommentVisibility.PUBLIC),
    ]:
        review_services.comment_add(
            access_request=submitted,
            actor=chair,
            body=body,
            visibility=visibility,
            committee=dataset.committee,
        )
    page = text_of(client_for(researcher).get(detail_url(submitted)))
    assert "SECRET" not in page
    assert "vote" not in page.lower()
    assert "Please confirm the cohort." in page
    assert "You drafted the request." in page
    assert "You submitted the request to" in page
    assert f"{dataset.committee.name} started its review." in page
    assert f"{dataset.committee.name} wrote a message" in page
    timeline = text_of(client_for(researcher).get(detail_url(submitted))).split(" History ")[-1]
    for person in (chair, member):  # committee members are never named
        assert person.get_username() not in timeline.split()


def test_timeline_names_the_approval_and_its_end_date(submitted, researcher, chair, dataset):
    end = approve_part(submitted, dataset, chair, days=90)
    page = text_of(client_for(researcher).get(detail_url(submitted)))
    assert (
        f"{dataset.committee.name} approved access to {dataset.accession} until "
        f"{end.day} {end:%B %Y}." in page
    )


def test_stored_consent_verdicts_are_shown_with_reasons_and_obligations(
    submitted, researcher, dataset
):
    ConsentMatch.objects.update_or_create(
        request=submitted,
        dataset=dataset,
        defaults={
            "decision": "review",
            "rules": [{"term": "DUO:0000021", "outcome": "review", "reason": "IRB-REASON"}],
            "obligations": [{"term": "DUO:0000019", "text": "Publish the results."}],
            "engine_version": "test",
            "ontology_version": "test",
        },
    )
    page = text_of(client_for(researcher).get(detail_url(submitted)))
    assert f"Consent check for {dataset.accession}: needs a person to check" in page
    assert "Needs a person DUO:0000021 : IRB-REASON" in page
    assert "Publish the results." in page


def test_before_submission_the_page_shows_live_verdicts_from_the_consent_engine(
    researcher, committee, organisation, agreement
):
    no_commerce = factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope("GRU", modifiers=["NCU"]),
    )
    access_request = make_draft(researcher, [no_commerce], commercial=True)
    page = text_of(client_for(researcher).get(detail_url(access_request)))
    assert f"Consent check for {no_commerce.accession}: does not fit the consent" in page
    assert "Checked now against the dataset's consent" in page
    assert not ConsentMatch.objects.exists()  # shown, not stored: that happens on submit


def test_submitting_stores_the_verdicts_and_the_page_shows_the_recorded_ones(draft, researcher):
    accept_all(draft, researcher)
    client_for(researcher).post(reverse("access:request-submit", kwargs={"pk": draft.pk}))
    page = text_of(client_for(researcher).get(detail_url(draft)))
    assert ConsentMatch.objects.filter(request=draft).count() == 2
    assert page.count("when the request was submitted. The committee sees the same.") == 2


# --- the ethics document -------------------------------------------------------------------------
def test_people_on_the_request_download_the_ethics_document_and_it_is_logged(
    draft, researcher, teammate
):
    for person in (researcher, teammate):
        response = client_for(person).get(
            reverse("access:ethics-document", kwargs={"pk": draft.pk})
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert f"{draft.reference}-ethics-approval.pdf" in response["Content-Disposition"]
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
    viewed = AuditEvent.objects.filter(
        event_type=EventType.ATTACHMENT_VIEWED, target_id=str(draft.pk)
    )
    assert viewed.count() == 2


def test_reviewing_committee_member_may_download_but_not_another_committee(
    submitted, chair, outsider
):
    url = reverse("access:ethics-document", kwargs={"pk": submitted.pk})
    assert client_for(chair).get(url).status_code == 200
    assert client_for(outsider).get(url).status_code == 404
    other_committee_member = factories.user("strangerchair", is_staff=True)
    factories.committee("third-dac")  # sits on nothing this request asks for
    assert client_for(other_committee_member).get(url).status_code == 404
    assert not AuditEvent.objects.filter(
        event_type=EventType.ATTACHMENT_VIEWED, actor_id__startswith="anonymous"
    ).exists()


def test_a_request_without_a_document_has_no_download(researcher, dataset, agreement):
    access_request = make_draft(researcher, [dataset], ethics_document="")
    url = reverse("access:ethics-document", kwargs={"pk": access_request.pk})
    assert client_for(researcher).get(url).status_code == 404


# --- My access -----------------------------------------------------------------------------------
def test_my_access_lists_grants_and_why_one_is_not_active(
    submitted, researcher, teammate, chair, dataset
):
    approve_part(submitted, dataset, chair, days=60, conditions="No re-identification.")
    mine = text_of(client_for(researcher).get(reverse("access:grant-list")))
    assert f"{dataset.accession} {dataset.title}" in mine
    assert "Active" in mine and "No re-identification." in mine
    assert dataset.committee.name in mine
    theirs = text_of(client_for(teammate).get(reverse("access:grant-list")))
    assert "Not active The access agreement was not accepted." in theirs


def test_my_access_is_empty_for_someone_without_grants(outsider):
    page = text_of(client_for(outsider).get(reverse("access:grant-list")))
    assert "You have no access yet." in page


def test_signed_in_people_see_my_requests_and_my_access_in_the_navigation(client, researcher):
    anonymous = client.get(reverse("portal:catalogue")).content.decode()
    assert "My requests" not in anonymous
    html = client_for(researcher).get(reverse("access:grant-list")).content.decode()
    assert f'href="{reverse("access:request-list")}">My requests' in html
    assert f'href="{reverse("access:grant-list")}" aria-current="page">My access' in html


def test_history_names_the_committee_of_the_event_not_of_a_review_with_the_same_id(
    client, submitted, other_chair, researcher, other_dataset
):
    review = submitted.reviews.get(committee=other_dataset.committee)
    decision_services.decision_record(
        review=review, actor=other_chair, outcome="return", questions="Which cohort?"
    )
    reply_to_committee(submitted)
    request_services.request_resubmit(access_request=submitted, actor=researcher)
    client.force_login(researcher)
    page = client.get(f"/requests/{submitted.pk}/").content.decode()
    assert f"resubmitted the request to {other_dataset.committee.name}" in page
