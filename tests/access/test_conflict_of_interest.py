"""Conflicts of interest (issue 10, hole 2): nobody who is the applicant or on the team of a
request acts on it as its committee; a member may declare a conflict; quorum and majority count
only eligible members; when no eligible decider remains the review page and the API say so, and
an administrator may appoint a deputy decider for that review."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import lifecycle, selectors
from access.models import DeputyDecider, Grant, Recusal, Review
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import requests as request_services
from access.services import reviews as review_services
from audit.choices import EventType
from audit.models import AuditEvent
from governance import services as gov
from governance.choices import DecisionPolicy
from tests import factories
from tests.access_world import accept_all, api, make_draft, publish_agreement
from tokens.models import IssuedToken
from tokens.visas import grant_for_dataset

pytestmark = pytest.mark.django_db

APPLICANT = "You are the applicant of this request; you may not act on it as its committee."
TEAM = "You are on this request's team; you may not act on it as its committee."
RECUSED = "You declared a conflict of interest on this review; you may not act on it."


def end_date():
    return timezone.localdate() + timedelta(days=90)


def approve(review, actor):
    return decision_services.decision_record(
        review=review, actor=actor, outcome="approve", end_date=end_date()
    )


def vote(review, actor, choice="approve", rationale="Fine."):
    return review_services.vote_cast(review=review, actor=actor, choice=choice, rationale=rationale)


def set_policy(committee, policy, quorum=1):
    committee.decision_policy = policy
    committee.quorum = quorum
    return gov.committee_update(committee=committee, actor=None)


def submitted_request(applicant, dataset, *, team=()):
    publish_agreement(dataset.committee)
    access_request = make_draft(applicant, [dataset], team=list(team))
    for person in [applicant, *team]:
        accept_all(access_request, person)
    request_services.request_submit(access_request=access_request, actor=applicant)
    return access_request.reviews.get(committee=dataset.committee)


def ledger(event_type, review):
    return AuditEvent.objects.filter(
        event_type=event_type, target_type="access.review", target_id=str(review.pk)
    )


@pytest.fixture
def preclinical():
    committee = factories.committee("preclinical-tox-dac")
    return set_policy(committee, DecisionPolicy.SINGLE_DECIDER)


@pytest.fixture
def toxpath(preclinical):
    return factories.committee_staff("toxpath", preclinical, "member")


@pytest.fixture
def rat_livers(preclinical):
    return factories.dataset(
        committee=preclinical,
        controller=factories.organisation("Preclinical CRO"),
        title="Rat liver toxicity",
        species="animal",
        organ="liver",
    )


@pytest.fixture
def voting(committee):
    """The radboud committee deciding by majority, quorum 2: a chair and three voting members."""
    set_policy(committee, DecisionPolicy.MAJORITY, quorum=2)
    return {
        "chair": factories.committee_staff("vchair", committee, "chair"),
        "ann": factories.committee_staff("ann", committee, "member"),
        "bob": factories.committee_staff("bob", committee, "member"),
        "cat": factories.committee_staff("cat", committee, "member"),
    }


# --- the reproduction ------------------------------------------------------------------
def test_single_decider_cannot_approve_their_own_request(toxpath, rat_livers):
    review = submitted_request(toxpath, rat_livers)

    response = api(toxpath).post(
        f"/api/v1/access-requests/{review.request_id}/decide/",
        {"outcome": "approve", "end_date": end_date().isoformat()},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["detail"] == APPLICANT
    review.refresh_from_db()
    assert review.status == "submitted"
    assert not Grant.objects.filter(request_id=review.request_id).exists()
    assert grant_for_dataset(toxpath, rat_livers.accession)[0] is None
    assert not IssuedToken.objects.exists()


def test_single_decider_is_refused_on_the_admin_review_page_too(client, toxpath, rat_livers):
    review = submitted_request(toxpath, rat_livers)
    client.force_login(toxpath)

    page = client.get(reverse("admin:access_review_change", args=[review.pk]))
    posted = client.post(
        reverse("admin:access_review_decide", args=[review.pk]),
        {
            "outcome": "approve",
            "approve-end_date": end_date().isoformat(),
            "approve-datasets": [rat_livers.pk],
        },
    )

    assert APPLICANT in page.content.decode()
    assert 'id="h-decide"' not in page.content.decode()
    assert "Appoint deputy decider" not in page.content.decode()
    assert posted.status_code == 200
    assert APPLICANT in posted.content.decode()
    assert not Grant.objects.exists()


def test_no_eligible_decider_is_said_on_the_review_page_and_in_the_api(client, toxpath, rat_livers):
    review = submitted_request(toxpath, rat_livers)
    client.force_login(toxpath)

    page = client.get(reverse("admin:access_review_change", args=[review.pk])).content.decode()
    body = api(toxpath).get(f"/api/v1/access-requests/{review.request_id}/").json()

    assert "No eligible decider remains" in page
    assert "An administrator can appoint a deputy decider" in page
    [eligibility] = [r["eligibility"] for r in body["reviews"]]
    assert eligibility["can_act"] is False
    assert eligibility["reason"] == APPLICANT
    assert eligibility["decider_remains"] is False
    assert "No eligible decider remains" in eligibility["shortfall"]


def test_the_applicant_outside_the_committee_sees_no_eligibility(submitted, researcher):
    body = api(researcher).get(f"/api/v1/access-requests/{submitted.pk}/").json()

    assert {r["eligibility"] for r in body["reviews"]} == {None}


# --- team members and voters -------------------------------------------------------------------
def test_member_on_the_team_cannot_vote(voting, dataset, researcher):
    review = submitted_request(researcher, dataset, team=[voting["ann"]])

    response = api(voting["ann"]).post(
        f"/api/v1/access-requests/{review.request_id}/vote/",
        {"choice": "approve", "rationale": "Looks fine."},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["detail"] == TEAM
    assert not review.votes.exists()


def test_member_on_the_team_cannot_comment_as_the_committee(voting, dataset, researcher):
    review = submitted_request(researcher, dataset, team=[voting["ann"]])

    with pytest.raises(PermissionDenied, match="on this request's team"):
        review_services.comment_add(
            access_request=review.request,
            actor=voting["ann"],
            body="Internal note.",
            visibility="internal",
            committee=review.committee,
        )


def test_chair_on_the_team_cannot_start_close_or_revoke(committee, dataset, researcher, chair):
    secretary = factories.committee_staff("secretary", committee, "secretary")
    review = submitted_request(researcher, dataset, team=[secretary])

    with pytest.raises(PermissionDenied, match="on this request's team"):
        review_services.review_start(review=review, actor=secretary)
    approve(review, chair)
    grant = Grant.objects.filter(request=review.request).first()
    with pytest.raises(PermissionDenied, match="on this request's team"):
        grant_services.grant_revoke(grant=grant, actor=secretary, reason="Mine to end.")
    with pytest.raises(PermissionDenied, match="on this request's team"):
        review_services.review_close(review=review, actor=secretary, reason="Out of scope.")
    grant.refresh_from_db()
    review.refresh_from_db()
    assert grant.revoked_at is None
    assert review.status == "approved"


def test_quorum_counts_only_eligible_members(voting, dataset, researcher):
    review = submitted_request(researcher, dataset)
    vote(review, voting["ann"])
    vote(review, voting["bob"])
    review_services.recusal_declare(review=review, actor=voting["bob"], reason="My former student.")

    with pytest.raises(PermissionDenied, match=re.escape("The quorum is 2 votes; 1 cast so far.")):
        approve(review, voting["chair"])

    vote(review, voting["cat"])
    approve(review, voting["chair"])
    review.refresh_from_db()
    assert review.status == "approved"


def test_majority_counts_only_eligible_members(voting, dataset, researcher):
    review = submitted_request(researcher, dataset)
    vote(review, voting["ann"], rationale="Yes.")
    vote(review, voting["bob"], rationale="Yes.")
    vote(review, voting["cat"], "reject", "No.")
    review_services.recusal_declare(review=review, actor=voting["ann"], reason="Co-author.")

    # Eligible votes: bob approve, cat reject: no majority either way.
    with pytest.raises(PermissionDenied, match="A majority must vote to approve: 1 approve"):
        approve(review, voting["chair"])


def test_eligible_tally_is_a_pure_rule():
    panel = lifecycle.Panel.of(
        memberships={1: "chair", 2: "member", 3: "member", 4: "secretary"},
        applicant=3,
        recused=[2],
    )
    votes = [(1, "approve"), (2, "approve"), (3, "approve"), (4, "approve"), (9, "reject")]

    assert lifecycle.eligible_tally(votes, panel) == lifecycle.Tally(approve=1)
    assert lifecycle.conflict_refusal(panel, 3) == APPLICANT
    assert lifecycle.conflict_refusal(panel, 2) == RECUSED
    assert lifecycle.conflict_refusal(panel, 1) is None
    assert "quorum of 2" in lifecycle.decider_shortfall(panel, policy="majority", quorum=2)
    assert lifecycle.decider_shortfall(panel, policy="majority", quorum=1) is None


# --- recusal -------------------------------------------------------------------------------------
def test_recused_member_cannot_vote_decide_or_comment_as_committee(
    committee, dataset, researcher, chair, member
):
    review = submitted_request(researcher, dataset)
    review_services.recusal_declare(review=review, actor=chair, reason="I supervise the applicant.")

    with pytest.raises(PermissionDenied, match=re.escape(RECUSED)):
        vote(review, chair)
    with pytest.raises(PermissionDenied, match=re.escape(RECUSED)):
        approve(review, chair)
    with pytest.raises(PermissionDenied, match=re.escape(RECUSED)):
        review_services.comment_add(
            access_request=review.request,
            actor=chair,
            body="Note.",
            visibility="internal",
            committee=committee,
        )
    assert not review.decisions.exists()
    assert not review.request.comments.exists()


def test_recusal_is_recorded_in_the_ledger(dataset, researcher, member):
    review = submitted_request(researcher, dataset)

    response = api(member).post(
        f"/api/v1/access-requests/{review.request_id}/recuse/",
        {"reason": "I co-authored with the applicant last year."},
        format="json",
    )

    assert response.status_code == 201, response.json()
    recusal = Recusal.objects.get(review=review, member=member)
    assert recusal.reason == "I co-authored with the applicant last year."
    event = ledger(EventType.RECUSAL_DECLARED, review).get()
    assert event.payload["recusal"] == recusal.pk
    # Free text stays in the access tables, out of the ledger.
    assert "co-authored" not in str(event.payload)
    [eligibility] = [r["eligibility"] for r in response.json()["reviews"]]
    assert eligibility["reason"] == RECUSED


def test_recusal_needs_a_reason_and_a_seat(dataset, researcher, member, outsider):
    review = submitted_request(researcher, dataset)

    with pytest.raises(ValidationError):
        review_services.recusal_declare(review=review, actor=member, reason="  ")
    with pytest.raises(PermissionDenied):
        review_services.recusal_declare(
            review=review, actor=outsider, reason="Nothing to do with it."
        )


def test_recused_review_is_not_waiting_for_me(dataset, researcher, member, committee):
    committee.decision_policy = "majority"
    gov.committee_update(committee=committee, actor=None)
    review = submitted_request(researcher, dataset)
    assert selectors.review_work_for(member).needs_vote == [review]

    review_services.recusal_declare(review=review, actor=member, reason="Conflict.")

    work = selectors.review_work_for(member)
    assert (work.needs_vote, work.needs_decision, work.overdue) == ([], [], [])


def test_own_request_is_not_waiting_for_me(toxpath, rat_livers):
    submitted_request(toxpath, rat_livers)

    work = selectors.review_work_for(toxpath)
    assert (work.needs_me, work.waiting_for_applicant, work.overdue) == ([], [], [])


# --- deputies ------------------------------------------------------------------------------------
def test_admin_appoints_a_deputy_who_can_then_decide(client, toxpath, rat_livers, admin_user):
    review = submitted_request(toxpath, rat_livers)
    deputy = factories.user("deputy", is_staff=True)
    client.force_login(admin_user)
    page = client.get(reverse("admin:access_review_change", args=[review.pk])).content.decode()

    response = client.post(
        reverse("admin:access_review_deputy", args=[review.pk]),
        {"deputy-user": "deputy", "deputy-reason": "The only member applied."},
    )

    assert "No eligible decider remains" in page
    assert "Appoint deputy decider" in page
    assert response.status_code == 302, response.content.decode()
    appointment = DeputyDecider.objects.get(review=review, user=deputy)
    assert appointment.appointed_by == admin_user
    event = ledger(EventType.DEPUTY_APPOINTED, review).get()
    assert event.payload["appointment"] == appointment.pk

    client.force_login(deputy)
    page = client.get(reverse("admin:access_review_change", args=[review.pk]))
    assert page.status_code == 200
    assert "No eligible decider remains" not in page.content.decode()
    decided = api(deputy).post(
        f"/api/v1/access-requests/{review.request_id}/decide/",
        {"outcome": "approve", "end_date": end_date().isoformat()},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    review.refresh_from_db()
    assert review.status == "approved"
    assert review.decisions.get().decided_by == deputy


def test_non_superuser_cannot_appoint_a_deputy(client, toxpath, rat_livers, preclinical):
    review = submitted_request(toxpath, rat_livers)
    chair = factories.committee_staff("preclinicalchair", preclinical, "chair")
    client.force_login(chair)

    response = client.post(
        reverse("admin:access_review_deputy", args=[review.pk]),
        {"deputy-user": "preclinicalchair", "deputy-reason": "Me."},
    )

    unknown = client.post(
        reverse("admin:access_review_deputy", args=[review.pk]),
        {"deputy-user": "nobody-by-this-name", "deputy-reason": "Probing."},
    )

    assert response.status_code == 200
    assert "Only an administrator may appoint a deputy decider." in response.content.decode()
    # The same answer for an unknown username: the form tells a member nothing about accounts.
    assert "Only an administrator may appoint a deputy decider." in unknown.content.decode()
    assert "No account with that username" not in unknown.content.decode()
    with pytest.raises(PermissionDenied):
        review_services.deputy_appoint(review=review, actor=chair, user=chair, reason="Me.")
    assert not DeputyDecider.objects.exists()
    assert not ledger(EventType.DEPUTY_APPOINTED, review).exists()


def test_a_conflicted_person_cannot_be_appointed_deputy(toxpath, rat_livers, admin_user):
    teammate = factories.user("labmate", is_staff=True)
    review = submitted_request(toxpath, rat_livers, team=[teammate])

    for person in (toxpath, teammate):
        with pytest.raises(ValidationError, match="may not decide it"):
            review_services.deputy_appoint(
                review=review, actor=admin_user, user=person, reason="Someone must."
            )
    assert not DeputyDecider.objects.exists()


def test_member_declares_a_conflict_on_the_review_page(client, dataset, researcher, chair):
    review = submitted_request(researcher, dataset)
    client.force_login(chair)
    before = client.get(reverse("admin:access_review_change", args=[review.pk])).content.decode()

    response = client.post(
        reverse("admin:access_review_recuse", args=[review.pk]),
        {"recusal-reason": "The applicant is my spouse."},
        follow=True,
    )

    assert "Declare a conflict" in before
    page = response.content.decode()
    assert RECUSED in page
    assert 'id="h-decide"' not in page
    assert "No eligible decider remains" in page
    assert Recusal.objects.filter(review=review, member=chair).exists()


def test_waiting_for_me_filter_leaves_out_conflicted_reviews(client, dataset, researcher, chair):
    own = make_draft(chair, [dataset])
    accept_all(own, chair)
    request_services.request_submit(access_request=own, actor=chair)
    theirs = submitted_request(researcher, dataset)
    client.force_login(chair)

    response = client.get(reverse("admin:access_review_changelist"), {"needs": "me"})

    assert {r.pk for r in response.context["cl"].result_list} == {theirs.pk}


def test_deputy_sees_the_review_in_the_queue_and_the_api(client, toxpath, rat_livers, admin_user):
    review = submitted_request(toxpath, rat_livers)
    deputy = factories.user("deputy", is_staff=True)
    review_services.deputy_appoint(review=review, actor=admin_user, user=deputy, reason="Conflict.")
    client.force_login(deputy)

    queue = client.get(reverse("admin:access_review_changelist"))
    listed = api(deputy).get("/api/v1/access-requests/?role=committee").json()

    assert [r.pk for r in queue.context["cl"].result_list] == [review.pk]
    [row] = listed["results"]
    [eligibility] = [r["eligibility"] for r in row["reviews"]]
    assert eligibility == {
        "can_act": True,
        "reason": None,
        "role": "deputy",
        "decider_remains": True,
        "shortfall": None,
    }


def test_eligibility_costs_the_same_queries_whatever_the_page_size(dataset, researcher, member):
    def queries_for_committee_list():
        with CaptureQueriesContext(connection) as captured:
            response = api(member).get("/api/v1/access-requests/?role=committee")
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    submitted_request(researcher, dataset)
    one = queries_for_committee_list()
    for _ in range(3):
        submitted_request(researcher, dataset, team=[factories.user()])
    review_services.recusal_declare(review=Review.objects.last(), actor=member, reason="Conflict.")
    four = queries_for_committee_list()

    assert (one[1], four[1]) == (1, 4)
    assert one[0] == four[0]


# --- every committee action, for every kind of conflict ------------------------------------------
ACTIONS = {
    "start": lambda review, actor, grant: review_services.review_start(review=review, actor=actor),
    "comment": lambda review, actor, grant: review_services.comment_add(
        access_request=review.request,
        actor=actor,
        body="A note.",
        visibility="internal",
        committee=review.committee,
    ),
    "vote": lambda review, actor, grant: vote(review, actor),
    "decide": lambda review, actor, grant: decision_services.decision_record(
        review=review, actor=actor, outcome="reject", reason="No."
    ),
    "close": lambda review, actor, grant: review_services.review_close(
        review=review, actor=actor, reason="Out of scope."
    ),
    "revoke": lambda review, actor, grant: grant_services.grant_revoke(
        grant=grant, actor=actor, reason="Ended."
    ),
}
CONFLICTS = {"applicant": APPLICANT, "team": TEAM, "recused": RECUSED, None: None}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("conflict", CONFLICTS)
def test_every_committee_action_refuses_a_conflicted_chair(
    action, conflict, committee, dataset, researcher, chair
):
    """A second chair of the committee (who may do all six actions) is the applicant, on the
    team, recused, or not conflicted at all (the control: then the action goes through)."""
    cochair = factories.committee_staff("cochair", committee, "chair")
    applicant = cochair if conflict == "applicant" else researcher
    review = submitted_request(applicant, dataset, team=[cochair] if conflict == "team" else [])
    if conflict == "recused":
        review_services.recusal_declare(review=review, actor=cochair, reason="Conflict.")
    grant = None
    if action == "revoke":
        # The eligible chair approves, so that there is a grant to revoke.
        approve(review, chair)
        grant = Grant.objects.filter(request=review.request).first()

    if conflict is None:
        ACTIONS[action](review, cochair, grant)
        return
    with pytest.raises(PermissionDenied, match=re.escape(CONFLICTS[conflict])):
        ACTIONS[action](review, cochair, grant)
