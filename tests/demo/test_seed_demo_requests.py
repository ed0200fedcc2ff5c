"""`seed_demo` adds access requests in every state, built through `access.services`, once."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from access import lifecycle, selectors
from access.models import (
    AccessRequest,
    AgreementAcceptance,
    Comment,
    ConsentMatch,
    Decision,
    Grant,
    Notification,
    Review,
    Vote,
)
from access.uploads import sniff
from audit.models import AuditEvent
from demo.data import FALLBACK_REQUEST
from demo.ethics_letter import ethics_approval_pdf
from governance.models import DataAccessCommittee

ACCESS_MODELS = [
    AccessRequest,
    Review,
    AgreementAcceptance,
    ConsentMatch,
    Comment,
    Vote,
    Decision,
    Grant,
    Notification,
]
EVERY_STATE = {
    "draft",
    "submitted",
    "under_review",
    "returned",
    "resubmitted",
    "approved",
    "rejected",
    "withdrawn",
}


@pytest.fixture(scope="module")
def demo_media(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seed once for the module, inside a transaction rolled back at its end; each test runs in
    its own savepoint inside it. Returns the folder the ethics approvals were uploaded to."""
    media = tmp_path_factory.mktemp("uploads")
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        override_settings(DEBUG=True, MEDIA_ROOT=media, PASSWORD_HASHERS=fast),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        call_command("seed_demo", stdout=StringIO())
        yield media
        transaction.set_rollback(True)


@pytest.fixture
def seeded(demo_media, db):
    return demo_media


def person(username: str):
    return get_user_model().objects.get(username=username)


def states_of(access_request: AccessRequest) -> set[str]:
    """The request's own state, and each committee's state of its review."""
    return {access_request.status, *access_request.reviews.values_list("status", flat=True)}


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in ACCESS_MODELS}


def test_researchers_have_requests_in_every_state(seeded):
    seen = set()
    for username in ("researcher", "researcher2"):
        mine = AccessRequest.objects.filter(applicant=person(username))
        assert mine.count() >= 3, username
        for access_request in mine:
            seen |= states_of(access_request)
    assert seen >= EVERY_STATE


def test_requests_reach_every_committee(seeded):
    reviewed = set(Review.objects.values_list("committee__slug", flat=True))
    assert reviewed == set(DataAccessCommittee.objects.values_list("slug", flat=True))
    assert len(reviewed) == 3
    spanning = [r for r in AccessRequest.objects.all() if r.reviews.count() > 1]
    assert spanning, "no request spans two committees"


def test_researcher_holds_active_grants_and_so_does_the_team_member(seeded):
    researcher = person("researcher")
    active = [g for g in selectors.grant_list_for_user(researcher) if g.is_active]
    assert len(active) >= 2
    assert len({g.decision.review.committee_id for g in active}) >= 2
    teammate_grants = [g for g in selectors.grant_list_for_user(person("researcher2"))]
    assert teammate_grants
    assert all(g.is_active for g in teammate_grants)
    assert all(g.request.applicant == researcher for g in teammate_grants)
    # The storage tier's demo step reuses these instead of approving a request of its own.
    assert not AccessRequest.objects.filter(title=FALLBACK_REQUEST.title).exists()


def test_every_decision_was_allowed_by_the_committees_policy_when_it_was_taken(seeded):
    decisions = list(Decision.objects.select_related("review__committee", "decided_by"))
    assert {d.outcome for d in decisions} == {"approve", "reject", "return"}
    for decision in decisions:
        committee = decision.review.committee
        votes_then = Vote.objects.filter(
            review=decision.review, round=decision.round, cast_at__lte=decision.decided_at
        ).values_list("choice", flat=True)
        refusal = lifecycle.decision_refusal(
            policy=committee.decision_policy,
            quorum=committee.quorum,
            role=committee.memberships.get(user=decision.decided_by).role,
            outcome=decision.outcome,
            tally=lifecycle.Tally.of(votes_then),
        )
        assert refusal is None, (decision, refusal)
    majority = [d for d in decisions if d.review.committee.decision_policy == "majority"]
    assert any(
        d.outcome != "return" and d.review.votes.filter(round=d.round).count() >= 2
        for d in majority
    ), "no majority decision with its quorum of votes"


def test_committees_vote_and_comment_internally_and_to_the_applicant(seeded):
    assert Vote.objects.filter(choice="approve").exists()
    assert Vote.objects.filter(choice="reject").exists()
    assert all(v.rationale.strip() for v in Vote.objects.all())
    assert Comment.objects.filter(visibility="internal", committee__isnull=False).exists()
    assert Comment.objects.filter(visibility="public", committee__isnull=False).exists()
    replies = Comment.objects.filter(committee__isnull=True)
    assert replies.exists()
    assert all(c.author_id == c.request.applicant_id for c in replies)


def test_every_access_object_has_its_ledger_event(seeded):
    def logged(event_type: str) -> int:
        return AuditEvent.objects.filter(event_type=event_type).count()

    assert logged("access.request_created") == AccessRequest.objects.count()
    assert (
        logged("access.request_submitted")
        == AccessRequest.objects.exclude(submitted_at=None).count()
    )
    assert logged("access.agreement_accepted") == AgreementAcceptance.objects.count()
    assert logged("access.vote_cast") == Vote.objects.count()
    assert logged("access.comment_added") == Comment.objects.count()
    assert logged("access.decision_recorded") == Decision.objects.count()
    assert logged("access.grant_created") == Grant.objects.count()
    assert (
        logged("access.request_withdrawn")
        == AccessRequest.objects.filter(status="withdrawn").count()
    )
    assert logged("access.request_resubmitted") == Review.objects.filter(round__gt=1).count()


def test_committee_members_see_only_their_committees_reviews(seeded):
    for username in ("chair", "chair2", "toxpath"):
        committee = person(username).committee_memberships.get().committee
        visible = set(selectors.review_list_for_user(person(username)))
        assert visible == set(Review.objects.filter(committee=committee)), username
        assert visible, username


def test_outbox_holds_the_e_mails_the_steps_sent(seeded):
    researcher = person("researcher")
    kinds = set(Notification.objects.filter(recipient=researcher).values_list("kind", flat=True))
    assert {"submitted", "decided", "returned"} <= kinds
    assert Notification.objects.filter(recipient=person("chair2"), kind="submitted").exists()


def test_ethics_approvals_are_pdfs_stored_through_the_upload_path(seeded):
    needing = AccessRequest.objects.exclude(submitted_at=None).filter(
        datasets__committee__requires_ethics_approval=True
    )
    assert needing.exists()
    for access_request in needing.distinct():
        document = access_request.ethics_document
        assert re.fullmatch(r"ethics/[0-9a-f]{32}\.pdf", document.name), document.name
        content = (seeded / document.name).read_bytes()
        assert sniff(content[:16]) == ("pdf", "application/pdf")
        assert b"(Reference: %s) '" % access_request.ethics_reference.encode("cp1252") in content


def test_generated_ethics_letter_is_a_well_formed_pdf():
    pdf = ethics_approval_pdf("Reference: METC (2025) 1", "Applicant: Jonas Becker, Charité")
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    assert pdf[startxref:].startswith(b"xref\n0 6\n")
    entries = pdf[startxref:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert b"(Reference: METC \\(2025\\) 1) '" in pdf
    assert b"(Applicant: Jonas Becker, Charit\xe9) '" in pdf
    assert b"/Encoding /WinAnsiEncoding" in pdf


def test_second_run_adds_no_request_and_no_ledger_event(seeded):
    before = counts()
    last_event = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert counts() == before
    assert AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() == last_event
    assert "nothing changed" in out.getvalue()


def test_researcher_sees_the_requests_and_grants_in_the_portal(seeded, client):
    client.force_login(person("researcher"))
    page = client.get("/requests/").content.decode()
    for access_request in AccessRequest.objects.filter(applicant__username="researcher"):
        assert access_request.title in page
    access = client.get("/access/").content.decode()
    for grant in Grant.objects.filter(user__username="researcher"):
        assert grant.dataset.accession in access


def test_every_seeded_request_and_review_page_opens(seeded, client):
    for access_request in AccessRequest.objects.select_related("applicant"):
        client.force_login(access_request.applicant)
        response = client.get(access_request.get_absolute_url())
        assert response.status_code == 200, access_request
        assert access_request.title in response.content.decode()
    for review in Review.objects.select_related("committee"):
        # The preclinical committee has no chair: its single decider is a member.
        seat = review.committee.memberships.order_by("role").first()
        client.force_login(seat.user)
        response = client.get(f"/admin/access/review/{review.pk}/change/")
        assert response.status_code == 200, review
        assert review.request.reference in response.content.decode()


def test_a_renewal_waits_for_a_decision_on_grants_ending_within_60_days(seeded):
    renewal = AccessRequest.objects.get(kind="renewal")
    assert renewal.parent.reviews.get().status == "approved"
    assert {r.status for r in renewal.reviews.all()} <= lifecycle.OPEN_REVIEW_STATES
    assert "Preprint" in renewal.progress_report
    assert selectors.grants_renewable(renewal.parent), "its grants end within the window"


def test_a_sensitive_request_waits_for_its_committee_with_the_reason(seeded):
    """Research on children on a consent that allows it: the stored verdict is review."""
    spitz = AccessRequest.objects.get(title__startswith="Spitz tumours in children")
    assert spitz.children and spitz.status == "submitted"
    (match,) = ConsentMatch.objects.filter(request=spitz)
    assert match.decision == "review"
    assert [r["outcome"] for r in match.rules if "Sensitive research" in r["reason"]] == ["review"]
    assert not Decision.objects.filter(review__request=spitz).exists()


def test_an_amended_project_took_its_change_from_both_committees(seeded):
    """The lung TIL project was changed (methods development added): both committees with
    active grants reviewed the change and approved it, and the project now carries it."""
    amendment = AccessRequest.objects.get(kind="amendment")
    project = amendment.parent
    assert amendment.applied_at is not None
    assert {r.status for r in amendment.reviews.all()} == {"approved"}
    assert {r.committee for r in amendment.reviews.all()} == {
        r.committee for r in project.reviews.all()
    }
    assert project.methods_development is True
    assert selectors.grants_live_of(project).exists()
    assert AuditEvent.objects.filter(
        event_type="access.amendment_applied", target_id=str(project.pk)
    ).exists()
