"""The role x action matrix of issue 10: every committee action on a request, tried through the
REST API by every kind of actor the authority model knows, with the answer each must get and
whether the action took effect.

The actors: an eligible chair (the control), the applicant, a chair who applied, a chair on the
request's team, a chair who declared a conflict, a deputy decider appointed by an administrator,
the chair of another committee, and the eligible chair's own OAuth token with each public scope
and with none. A refused action changes nothing: no ledger event of its kind is written.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import Grant, Recusal
from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import reviews as review_services
from audit.actors import pseudonym_for
from audit.choices import EventType
from audit.models import AuditEvent
from core import scopes as S
from governance import services as gov
from governance.choices import DecisionPolicy
from tests import factories
from tests.access_world import accept_all, make_draft, publish_agreement
from tests.tokens.test_oauth_scopes import bearer_for
from tokens.oauth import client_register

pytestmark = pytest.mark.django_db


def end_date():
    return (timezone.localdate() + timedelta(days=90)).isoformat()


# action: (HTTP method, path suffix, body (grant id filled in), the ledger event it writes)
ACTIONS = {
    "read": ("get", "", None, None),
    "comment": (
        "post",
        "comment/",
        {"body": "A note for the committee.", "visibility": "internal"},
        EventType.COMMENT_ADDED,
    ),
    "vote": ("post", "vote/", {"choice": "approve", "rationale": "Fine."}, EventType.VOTE_CAST),
    "decide": (
        "post",
        "decide/",
        {"outcome": "approve", "end_date": end_date()},
        EventType.DECISION_RECORDED,
    ),
    "close": ("post", "close/", {"reason": "Out of scope."}, EventType.REVIEW_CLOSED),
    "revoke": ("post", "revoke/", {"reason": "Ended."}, EventType.GRANT_REVOKED),
    "recuse": (
        "post",
        "recuse/",
        {"reason": "I co-author with the applicant."},
        EventType.RECUSAL_DECLARED,
    ),
}

OK, CONFLICT, HIDDEN, NO_SCOPE, NOT_A_MEMBER, ALREADY = "ok", 403, 404, 403, 403, 409
COMMITTEE_ACTIONS = ["comment", "vote", "decide", "close", "revoke"]

# actor: the answer to each action. A conflicted chair still sees the request (it is their
# committee's), so a committee action is refused with 403 and the reason; declaring a conflict
# stays open to them, since it only takes them out. Another committee's chair does not see the
# request at all (404). The applicant may read their request but act on it as no committee
# (and sees no grant as a committee's: 404). A token reaches only what its scope allows,
# whatever its person may do.
EXPECTED = {
    "eligible chair": dict.fromkeys(ACTIONS, OK),
    "applicant": {
        "read": OK,
        **dict.fromkeys(COMMITTEE_ACTIONS, NOT_A_MEMBER),
        "revoke": HIDDEN,
        "recuse": NOT_A_MEMBER,
    },
    "chair who applied": {"read": OK, **dict.fromkeys(COMMITTEE_ACTIONS, CONFLICT), "recuse": OK},
    "chair on the team": {"read": OK, **dict.fromkeys(COMMITTEE_ACTIONS, CONFLICT), "recuse": OK},
    "recused chair": {"read": OK, **dict.fromkeys(COMMITTEE_ACTIONS, CONFLICT), "recuse": ALREADY},
    "deputy": dict.fromkeys(ACTIONS, OK),
    "other committee's chair": dict.fromkeys(ACTIONS, HIDDEN),
    **{
        f"token: {scope}": (
            dict.fromkeys(ACTIONS, OK)
            if scope == S.COMMITTEE_REVIEW
            else {
                **dict.fromkeys(ACTIONS, NO_SCOPE),
                # The applicant's side: the chair's own requests, and this is not one of them.
                **({"read": HIDDEN} if scope in (S.REQUESTS_READ, S.REQUESTS_WRITE) else {}),
                **({"comment": HIDDEN} if scope == S.REQUESTS_WRITE else {}),
            }
        )
        for scope in sorted(S.PUBLIC_SCOPES)
    },
    "token: no scope": dict.fromkeys(ACTIONS, NO_SCOPE),
}


@pytest.fixture
def world(committee, other_committee, dataset, researcher, chair, admin_user):
    """A request for one dataset of a chair-decides committee with three chairs beside `chair`:
    one is on the team, one recuses, one applies for another request."""
    committee.decision_policy = DecisionPolicy.CHAIR_DECIDES
    gov.committee_update(committee=committee, actor=None)
    publish_agreement(committee)
    seats = {}
    for name in ("teamchair", "recusedchair", "applyingchair"):
        seats[name] = factories.user(name, is_staff=True)
        gov.membership_add(committee=committee, user=seats[name], role="chair", actor=None)
    other_chair = factories.committee_staff("otherchair", other_committee, "chair")
    deputy = factories.user("deputy", is_staff=True)
    return {
        "committee": committee,
        "dataset": dataset,
        "researcher": researcher,
        "chair": chair,
        "admin": admin_user,
        "other_chair": other_chair,
        "deputy": deputy,
        **seats,
    }


def submitted(applicant, dataset, team=()):
    access_request = make_draft(applicant, [dataset], team=list(team))
    for person in [applicant, *team]:
        accept_all(access_request, person)
    request_services.request_submit(access_request=access_request, actor=applicant)
    return access_request


def arrange(actor: str, action: str, world):
    """The request the actor works on, and the API client acting for them."""
    applicant = world["applyingchair"] if actor == "chair who applied" else world["researcher"]
    team = [world["teamchair"]] if actor == "chair on the team" else []
    access_request = submitted(applicant, world["dataset"], team)
    review = access_request.reviews.get()
    if actor == "recused chair":
        review_services.recusal_declare(
            review=review, actor=world["recusedchair"], reason="Conflict."
        )
    if actor == "deputy":
        review_services.deputy_appoint(
            review=review, actor=world["admin"], user=world["deputy"], reason="Cover a conflict."
        )
    if action == "revoke":
        # An eligible chair approves first, so that there is a grant to revoke.
        decision_services.decision_record(
            review=review,
            actor=world["chair"],
            outcome="approve",
            end_date=timezone.localdate() + timedelta(days=90),
        )
    person = {
        "eligible chair": world["chair"],
        "applicant": world["researcher"],
        "chair who applied": world["applyingchair"],
        "chair on the team": world["teamchair"],
        "recused chair": world["recusedchair"],
        "deputy": world["deputy"],
        "other committee's chair": world["other_chair"],
    }.get(actor, world["chair"])
    if actor.startswith("token: "):
        scope = "" if actor == "token: no scope" else actor.removeprefix("token: ")
        application = client_register(
            name="Committee tool",
            grant_type="authorization-code",
            scopes=[],
            redirect_uris="https://tool.example.org/callback",
            actor=None,
        ).application
        return access_request, person, bearer_for(person, application, scope)
    client = APIClient()
    client.force_authenticate(person)
    return access_request, person, client


CASES = [(actor, action) for actor in EXPECTED for action in ACTIONS]


@pytest.mark.parametrize(("actor", "action"), CASES, ids=[f"{a} / {b}" for a, b in CASES])
def test_each_actor_may_do_exactly_what_the_authority_model_allows(actor, action, world):
    access_request, person, client = arrange(actor, action, world)
    method, suffix, body, event_type = ACTIONS[action]
    if action == "revoke":
        body = {
            **body,
            "grant": Grant.objects.get(request=access_request, user=access_request.applicant).pk,
        }
    if action == "comment":  # as the committee, which is what an applicant may not do
        body = {**body, "committee": world["committee"].slug}
    recusals = Recusal.objects.filter(member=person).count()
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    path = f"/api/v1/access-requests/{access_request.pk}/{suffix}"
    response = client.get(path) if method == "get" else client.post(path, body, format="json")

    expected = EXPECTED[actor][action]
    mine = {
        e.event_type for e in AuditEvent.objects.filter(pk__gt=last, actor_id=pseudonym_for(person))
    }
    if expected == OK:
        assert response.status_code in (200, 201), response.content
        if event_type is not None:
            assert event_type in mine
    else:
        assert response.status_code == expected, response.content
        if event_type is not None:
            assert event_type not in mine
        assert Recusal.objects.filter(member=person).count() == recusals
