"""An institution's own tooling drives an access request from the catalogue to a storage token
and back to withdrawal through the REST API alone (issue 13, part 5).

The researcher's side is HTTP only: an OAuth client the researcher authorised at
/o/authorize/ (PKCE) calls the API with its bearer token, as the real tool would. Every step the
portal offers is there: the draft, the ethics approval upload, the agreements (whose ids the API
now gives, on the request and on each catalogue dataset), the submission, the committee's
question read and answered, the resubmission, a storage token and the withdrawal. The two
committees act through the API too, each chair with a `committee:review` token of their own.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import AgreementAcceptance, Grant, TeamInvitation
from access.services import team as team_services
from audit.choices import EventType
from audit.models import AuditEvent
from core import scopes as S
from tests import factories
from tests.access_world import make_draft, publish_agreement
from tests.tokens.test_oauth_scopes import REDIRECT, authorise
from tests.tokens.token_support import token_keys, verify_independently  # noqa: F401 (autouse)
from tokens.oauth import client_register

pytestmark = pytest.mark.django_db

RESEARCHER_SCOPES = " ".join(
    (S.CATALOGUE_READ, S.REQUESTS_READ, S.REQUESTS_WRITE, S.GRANTS_READ, S.TOKENS_ISSUE)
)


def registered(name: str, scopes: list[str]):
    return client_register(
        name=name,
        grant_type="authorization-code",
        scopes=scopes,
        redirect_uris=REDIRECT,
        actor=None,
    )


def bearer(user, client, scope: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {authorise(user, client, scope)}")
    return api


def emailed_token(address: str) -> str:
    """The token of the invitation link in the last e-mail to `address`."""
    sent = [m for m in mail.outbox if address in m.to]
    assert sent, f"no e-mail to {address}"
    found = re.search(r"/invitations/([^/\s]+)/", sent[-1].body)
    assert found, sent[-1].body
    return found.group(1)


def ok(response, code=200):
    assert response.status_code == code, (response.status_code, response.content[:800])
    return response.json()


def test_an_institutions_tool_drives_the_whole_request_through_the_api(
    researcher,
    teammate,
    dataset,
    other_dataset,
    agreement,
    other_agreement,
    chair,
    other_chair,
    django_capture_on_commit_callbacks,
):
    tool = registered("Example University request tool", [S.REQUESTS_WRITE])
    me = bearer(researcher, tool, RESEARCHER_SCOPES)
    dashboard = registered("Committee dashboard", [S.COMMITTEE_REVIEW])
    radboud = bearer(chair, dashboard, S.COMMITTEE_REVIEW)
    leeds = bearer(other_chair, dashboard, S.COMMITTEE_REVIEW)

    # The catalogue names each dataset's agreement version, with the text to show.
    catalogue = ok(me.get("/api/v1/datasets/"))["results"]
    by_accession = {d["accession"]: d for d in catalogue}
    assert by_accession[dataset.accession]["agreement"]["id"] == agreement.pk
    assert by_accession[other_dataset.accession]["agreement"]["text"] == other_agreement.text
    one = ok(me.get(f"/api/v1/datasets/{other_dataset.accession}/"))
    assert (one["agreement"]["id"], one["agreement"]["version"]) == (other_agreement.pk, 1)

    # The draft, then the ethics approval uploaded to it.
    draft = ok(
        me.post(
            "/api/v1/access-requests/",
            {
                "title": "Tumour-infiltrating lymphocytes in lung and colon cancer",
                "lay_summary": "We teach computers to count immune cells in tumour slides.",
                "scientific_abstract": "Deep learning for TIL quantification on H&E slides.",
                "diseases": ["DOID:1324"],
                "methods_development": True,
                "requested_months": 12,
                "institution": "Example University",
                "ethics_reference": "METC-2026-001",
                "ethics_expiry": (timezone.localdate() + timedelta(days=365)).isoformat(),
                "datasets": [dataset.accession, other_dataset.accession],
            },
            format="json",
        ),
        201,
    )
    base = f"/api/v1/access-requests/{draft['id']}"
    assert draft["has_ethics_document"] is False
    pdf = SimpleUploadedFile("approval.pdf", b"%PDF-1.4 approval", content_type="application/pdf")
    uploaded = ok(me.patch(f"{base}/", {"ethics_document": pdf}, format="multipart"))
    assert uploaded["has_ethics_document"] is True

    # The team, by invitation: one address invited by mistake and withdrawn; the teammate's
    # own tool answers the link they were e-mailed.
    wrong = ok(me.post(f"{base}/invitations/", {"email": "Typo@Example.org"}, format="json"), 201)
    assert (wrong["email"], wrong["status"]) == ("typo@example.org", "pending")
    assert ok(me.post(f"{base}/invitations/{wrong['id']}/withdraw/"))["status"] == "withdrawn"
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail goes after commit
        invited = ok(me.post(f"{base}/invitations/", {"email": teammate.email}, format="json"), 201)
    link = emailed_token(teammate.email)
    theirs = bearer(teammate, tool, f"{S.REQUESTS_READ} {S.REQUESTS_WRITE}")
    answer = {"token": link, "answer": "accept"}
    joined = ok(theirs.post("/api/v1/invitations/answer/", answer, format="json"))
    assert joined == {"status": "accepted", "request": draft["id"]}
    assert invited["id"] == TeamInvitation.objects.get(accepted_by=teammate).pk
    listed = ok(me.get(f"{base}/invitations/"))
    assert [(i["status"], i["accepted_by"]) for i in listed] == [
        ("withdrawn", None),
        ("accepted", "teammate"),
    ]
    assert ok(me.get(f"{base}/"))["team_members"] == ["teammate"]

    # Submitting before accepting the agreements is refused, naming them.
    refused = me.post(f"{base}/submit/")
    assert refused.status_code == 400
    assert "agreements" in refused.json()

    # The request lists the versions it needs, with ids; the tool accepts each.
    needed = {a["id"]: a for a in uploaded["agreements"]}
    assert set(needed) == {agreement.pk, other_agreement.pk}
    assert needed[agreement.pk]["datasets"] == [dataset.accession]
    assert needed[other_agreement.pk]["committee"] == other_dataset.committee.slug
    assert not any(a["accepted"] for a in needed.values())
    for agreement_id in needed:
        accepted = ok(
            me.post(f"{base}/accept-agreement/", {"agreement": agreement_id}, format="json")
        )
    assert all(a["accepted"] for a in accepted["agreements"])
    assert {tuple(a["accepted_by"]) for a in accepted["agreements"]} == {("researcher",)}
    assert AgreementAcceptance.objects.filter(user=researcher).count() == 2
    # The teammate's own tool sees the same versions and accepts them too.
    for row in ok(theirs.get(f"{base}/"))["agreements"]:
        assert row["accepted"] is False
        ok(theirs.post(f"{base}/accept-agreement/", {"agreement": row["id"]}, format="json"))
    assert {tuple(a["accepted_by"]) for a in ok(me.get(f"{base}/"))["agreements"]} == {
        ("researcher", "teammate")
    }

    submitted = ok(me.post(f"{base}/submit/"))
    assert submitted["status"] == "submitted"

    # Radboud approves its part; Leeds returns its part with a question.
    end = (timezone.localdate() + timedelta(days=90)).isoformat()
    ok(radboud.post(f"{base}/decide/", {"outcome": "approve", "end_date": end}, format="json"))
    question = "Which colon biopsies do you need, and why all of them?"
    ok(leeds.post(f"{base}/decide/", {"outcome": "return", "questions": question}, format="json"))
    returned = ok(me.get(f"{base}/"))
    statuses = {d["accession"]: d["status"] for d in returned["dataset_statuses"]}
    assert statuses == {dataset.accession: "approved", other_dataset.accession: "returned"}

    # The tool reads the question in the conversation, answers it and resubmits.
    conversation = ok(me.get(f"{base}/comments/"))
    assert [(c["committee"], c["author"], c["body"]) for c in conversation] == [
        (other_dataset.committee.slug, None, question)
    ]
    reply = "Only the 120 biopsies with matched resections; the scope is now in the abstract."
    ok(me.post(f"{base}/comment/", {"body": reply}, format="json"), 201)
    ok(
        me.patch(
            f"{base}/",
            {"scientific_abstract": "TIL quantification on 120 colon biopsies with resections."},
            format="json",
        )
    )
    ok(me.post(f"{base}/resubmit/"))
    # The committee reads the reply where it asked.
    assert [c["body"] for c in ok(leeds.get(f"{base}/comments/"))][-1] == reply
    ok(leeds.post(f"{base}/decide/", {"outcome": "approve", "end_date": end}, format="json"))

    # Both grants are active; the tool gets a storage token for one of them.
    grants = ok(me.get("/api/v1/grants/"))["results"]
    assert sorted((g["dataset"], g["active"]) for g in grants) == sorted(
        [(dataset.accession, True), (other_dataset.accession, True)]
    )
    token = ok(me.post("/api/v1/tokens/", {"dataset": dataset.accession}, format="json"), 201)
    assert token["token_type"] == "Bearer"
    assert token["dataset"] == dataset.accession
    claims = verify_independently(token["access_token"], typ="at+jwt")
    assert claims["jti"] == token["jti"]

    # Withdrawal ends the project: every grant is revoked, no more tokens.
    withdrawn = ok(me.post(f"{base}/withdraw/"))
    assert withdrawn["status"] == "withdrawn"
    ended = Grant.objects.filter(request_id=draft["id"])
    assert ended.count() == 4  # the researcher's and the teammate's, for both datasets
    assert not ended.filter(revoked_at__isnull=True).exists()
    assert (
        me.post("/api/v1/tokens/", {"dataset": dataset.accession}, format="json").status_code == 403
    )

    # Every step the tool took is in the ledger, naming the tool beside the researcher.
    tool_steps = {
        e.event_type
        for e in AuditEvent.objects.all()
        if e.payload.get("oauth_client") == f"client:{tool.application.pk}"
    }
    assert {
        EventType.REQUEST_CREATED,
        EventType.INVITATION_SENT,
        EventType.INVITATION_WITHDRAWN,
        EventType.INVITATION_ACCEPTED,
        EventType.AGREEMENT_ACCEPTED,
        EventType.REQUEST_SUBMITTED,
        EventType.REQUEST_RESUBMITTED,
        EventType.REQUEST_WITHDRAWN,
    } <= tool_steps


def test_the_conversation_is_the_applicants_or_the_committees_own(
    submitted, researcher, chair, other_chair, outsider
):
    """The applicant reads public comments only; a committee also its own internal notes, never
    another committee's; anyone else gets the request's 404."""
    tool = registered("Dashboard", [S.COMMITTEE_REVIEW])
    base = f"/api/v1/access-requests/{submitted.pk}"
    radboud = bearer(chair, tool, S.COMMITTEE_REVIEW)
    leeds = bearer(other_chair, tool, S.COMMITTEE_REVIEW)
    ok(
        radboud.post(
            f"{base}/comment/", {"body": "Radboud only.", "visibility": "internal"}, format="json"
        ),
        201,
    )
    ok(
        leeds.post(
            f"{base}/comment/", {"body": "To the applicant.", "visibility": "public"}, format="json"
        ),
        201,
    )

    applicant = bearer(researcher, registered("Reader", [S.REQUESTS_READ]), S.REQUESTS_READ)
    assert [c["body"] for c in ok(applicant.get(f"{base}/comments/"))] == ["To the applicant."]
    assert [c["body"] for c in ok(radboud.get(f"{base}/comments/"))] == [
        "Radboud only.",
        "To the applicant.",
    ]
    assert [c["body"] for c in ok(leeds.get(f"{base}/comments/"))] == ["To the applicant."]
    stranger = APIClient()
    stranger.force_authenticate(outsider)
    assert stranger.get(f"{base}/comments/").status_code == 404
    catalogue_only = bearer(researcher, registered("Catalogue", []), S.CATALOGUE_READ)
    assert catalogue_only.get(f"{base}/comments/").status_code == 403


def test_accepting_an_agreement_the_request_does_not_need_is_a_400(draft, researcher):
    """The id must be one the request lists: an older or another committee's version is not."""
    tool = registered("Tool", [S.REQUESTS_WRITE])
    me = bearer(researcher, tool, S.REQUESTS_WRITE)
    unrelated = publish_agreement(factories.committee(), title="Someone else's agreement")
    response = me.post(
        f"/api/v1/access-requests/{draft.pk}/accept-agreement/",
        {"agreement": unrelated.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "agreement" in response.json()
    listed = ok(me.get(f"/api/v1/access-requests/{draft.pk}/"))["agreements"]
    assert unrelated.pk not in {a["id"] for a in listed}


def test_only_the_applicant_manages_the_team_and_bad_addresses_are_400s(
    draft, researcher, teammate
):
    base = f"/api/v1/access-requests/{draft.pk}"
    reader = bearer(researcher, registered("Reader", [S.REQUESTS_READ]), S.REQUESTS_READ)
    assert [i["status"] for i in ok(reader.get(f"{base}/invitations/"))] == ["accepted"]
    refused = reader.post(f"{base}/invitations/", {"email": "x@example.org"}, format="json")
    assert refused.status_code == 403  # requests:read cannot invite
    me = bearer(researcher, registered("Writer", [S.REQUESTS_WRITE]), S.REQUESTS_WRITE)
    bad = me.post(f"{base}/invitations/", {"email": "not an address"}, format="json")
    assert bad.status_code == 400
    assert "email" in bad.json()
    # A team member sees the request but not its invitations, and cannot change the team.
    member = bearer(teammate, registered("Member", [S.REQUESTS_WRITE]), S.REQUESTS_WRITE)
    assert member.get(f"{base}/").status_code == 200
    assert member.get(f"{base}/invitations/").status_code == 404
    assert member.post(f"{base}/team/teammate/remove/").status_code == 404
    assert me.post(f"{base}/team/nobody/remove/").status_code == 404
    assert ok(me.post(f"{base}/team/teammate/remove/"))["team_members"] == []


def test_the_agreements_of_a_page_of_requests_cost_the_same_queries_whatever_its_size(
    researcher, dataset, other_dataset, agreement, other_agreement
):
    def listing():
        with CaptureQueriesContext(connection) as captured:
            body = ok(api.get("/api/v1/access-requests/?role=applicant"))
        assert all(len(r["agreements"]) >= 1 for r in body["results"])
        return len(captured), len(body["results"])

    api = bearer(researcher, registered("Reader", [S.REQUESTS_READ]), S.REQUESTS_READ)
    make_draft(researcher, [dataset])
    one = listing()
    for _ in range(3):
        make_draft(researcher, [dataset, other_dataset])
    four = listing()
    assert (one[1], four[1]) == (1, 4)
    assert four[0] == one[0]


def test_answering_an_invitation_through_the_api(draft, researcher):
    """The invitee's answer: decline once and the link is spent; a made-up or spent token is the
    same 404; requests:read alone cannot answer; the applicant cannot join their own team."""
    me = bearer(researcher, registered("Writer", [S.REQUESTS_WRITE]), S.REQUESTS_WRITE)
    base = f"/api/v1/access-requests/{draft.pk}"
    invited = ok(me.post(f"{base}/invitations/", {"email": "new@example.org"}, format="json"), 201)
    token = team_services.invitation_token(TeamInvitation.objects.get(pk=invited["id"]))
    newcomer = factories.user("newcomer")
    reader = bearer(newcomer, registered("Reader", [S.REQUESTS_READ]), S.REQUESTS_READ)
    answer = "/api/v1/invitations/answer/"
    body = {"token": token, "answer": "decline"}
    assert reader.post(answer, body, format="json").status_code == 403
    assert me.post(answer, {**body, "answer": "accept"}, format="json").status_code == 403
    assert me.post(answer, {**body, "answer": "maybe"}, format="json").status_code == 400
    writer = bearer(newcomer, registered("Their tool", [S.REQUESTS_WRITE]), S.REQUESTS_WRITE)
    assert ok(writer.post(answer, body, format="json")) == {"status": "declined", "request": None}
    spent = writer.post(answer, {**body, "answer": "accept"}, format="json")
    made_up = writer.post(answer, {"token": "x:y:z", "answer": "accept"}, format="json")
    assert spent.status_code == made_up.status_code == 404
    assert spent.json() == made_up.json()
    assert writer.get(f"{base}/").status_code == 404
