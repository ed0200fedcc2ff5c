"""A review's consent verdicts are kept as the engine of the day gave them; a committee member
without a conflict may have them judged again by the current engine while the review is open
(`reviews.consent_reevaluate`): from the review page, through its confirmation, or the API."""

from __future__ import annotations

import pytest
from django.test import Client

from access import selectors
from access.choices import ReviewStatus
from access.models import ConsentMatch, Decision
from access.services import reviews as review_services
from audit.choices import EventType
from audit.models import AuditEvent
from core import scopes as S
from core.exceptions import Conflict, Forbidden
from governance import matching as engine
from governance import services as gov
from tests import factories
from tests.access_world import api, submit_request

from .admin_support import messages_of, page, review_for, url
from .test_api_journey import bearer, registered
from .test_portal import client_for, text_of

pytestmark = pytest.mark.django_db

OLD, NEW = "1.0.0", "2.0.0"


@pytest.fixture
def engine_bumped(monkeypatch):
    """The consent engine as it runs after a release that changed a rule."""
    monkeypatch.setattr(engine, "ENGINE_VERSION", NEW)


def judged_by_old_engine(access_request, dataset, decision="deny") -> ConsentMatch:
    """The stored verdict as the old engine gave it (before its rule changed). The current
    engine finds the fixtures' purpose within their consent (GRU): the tests rely on it."""
    match = ConsentMatch.objects.get(request=access_request, dataset=dataset)
    assert match.decision == "approve", match.rules
    match.engine_version = OLD
    match.decision = decision
    match.save()
    return match


@pytest.fixture
def stale(submitted, dataset, other_dataset, engine_bumped):
    """Both datasets of the submitted request were judged by the old engine, which said deny;
    the current engine says they fit (GRU consent)."""
    judged_by_old_engine(submitted, dataset)
    judged_by_old_engine(submitted, other_dataset)
    return submitted


def reevaluated_events():
    return AuditEvent.objects.filter(event_type=EventType.CONSENT_REEVALUATED)


def match_of(access_request, dataset) -> ConsentMatch:
    return ConsentMatch.objects.get(request=access_request, dataset=dataset)


# --- the service ----------------------------------------------------------------------------------
def test_the_stored_verdict_is_kept_after_an_engine_bump_until_reevaluated(
    client, stale, review, dataset, member, chair
):
    review_services.vote_cast(review=review, actor=member, choice="approve", rationale="Fine.")
    client.force_login(chair)
    assert client.get(page(review)).status_code == 200
    kept = match_of(stale, dataset)
    assert (kept.engine_version, kept.decision) == (OLD, "deny")


def test_reevaluation_updates_the_reviews_rows_and_writes_one_ledger_event(
    stale, review, dataset, other_dataset, member
):
    consent_events = AuditEvent.objects.filter(event_type=EventType.CONSENT_MATCHED).count()

    result = review_services.consent_reevaluate(review=review, actor=member)

    fresh = match_of(stale, dataset)
    assert (fresh.engine_version, fresh.decision) == (NEW, "approve")
    assert [m.dataset for m in result.matches] == [dataset]
    # The other committee's dataset is not this review's: its verdict stays as it was.
    untouched = match_of(stale, other_dataset)
    assert (untouched.engine_version, untouched.decision) == (OLD, "deny")

    (event,) = reevaluated_events()
    assert event.target_type == "access.review" and event.target_id == str(review.pk)
    assert event.actor_id and event.actor_kind != "system"
    assert event.payload["request"] == stale.pk
    assert event.payload["committee"] == review.committee.slug
    assert event.payload["engine"] == NEW
    assert event.payload["datasets"] == [
        {"dataset": dataset.accession, "engine_before": OLD, "before": "deny", "after": "approve"}
    ]
    assert member.username not in str(event.payload)  # no personal data
    # One event for the whole re-evaluation, not one `consent_matched` per dataset.
    assert AuditEvent.objects.filter(event_type=EventType.CONSENT_MATCHED).count() == (
        consent_events
    )


def test_reevaluation_does_not_run_the_committees_automatic_policies(
    stale, review, committee, member
):
    committee.auto_approve_matching = True
    committee.auto_reject_denied = True
    gov.committee_update(committee=committee, actor=None)

    review_services.consent_reevaluate(review=review, actor=member)

    review.refresh_from_db()
    assert review.status == ReviewStatus.SUBMITTED
    assert not Decision.objects.filter(review=review).exists()


def test_a_member_of_another_committee_is_refused(stale, review, dataset, other_chair):
    with pytest.raises(Forbidden):
        review_services.consent_reevaluate(review=review, actor=other_chair)
    assert match_of(stale, dataset).engine_version == OLD
    assert not reevaluated_events().exists()


def test_a_recused_member_is_refused(stale, review, dataset, member):
    review_services.recusal_declare(review=review, actor=member, reason="My co-author applies.")
    with pytest.raises(Forbidden):
        review_services.consent_reevaluate(review=review, actor=member)
    assert match_of(stale, dataset).engine_version == OLD


def test_the_applicant_is_refused(stale, review, researcher):
    with pytest.raises(Forbidden):
        review_services.consent_reevaluate(review=review, actor=researcher)


def test_an_inactive_member_is_refused(stale, review, member):
    member.is_active = False
    member.save()
    with pytest.raises(Forbidden):
        review_services.consent_reevaluate(review=review, actor=member)


def test_a_decided_review_keeps_the_verdicts_it_was_decided_on(
    approved, dataset, chair, engine_bumped
):
    judged_by_old_engine(approved.request, dataset)
    with pytest.raises(Conflict):
        review_services.consent_reevaluate(review=approved, actor=chair)
    assert match_of(approved.request, dataset).engine_version == OLD


def test_a_closed_review_is_refused(stale, review, dataset, chair):
    review_services.review_close(review=review, actor=chair, reason="Duplicate request.")
    with pytest.raises(Conflict):
        review_services.consent_reevaluate(review=review, actor=chair)
    assert not reevaluated_events().exists()


def test_the_applicant_reads_that_the_consent_check_ran_again(
    stale, review, dataset, member, researcher
):
    review_services.consent_reevaluate(review=review, actor=member)
    kinds = [e.event_type for e in selectors.timeline_for_applicant(stale)]
    assert EventType.CONSENT_REEVALUATED in kinds
    timeline = text_of(client_for(researcher).get(stale.get_absolute_url()))
    assert (
        f"{review.committee.name} had the consent check run again with the current consent "
        f"engine ({NEW}): {dataset.accession}: fits the consent." in timeline
    )


# --- the review page ------------------------------------------------------------------------------
@pytest.fixture
def second_dataset(committee, organisation):
    return factories.dataset(committee=committee, controller=organisation, title="Second")


@pytest.fixture
def half_stale(researcher, dataset, second_dataset, agreement, engine_bumped):
    """A request for two of the committee's datasets; only the first was judged by the old
    engine."""
    access_request = submit_request(researcher, [dataset, second_dataset])
    judged_by_old_engine(access_request, dataset)
    second = match_of(access_request, second_dataset)
    assert second.engine_version == NEW
    return review_for(access_request, dataset.committee)


NOTICE = f"Judged by consent engine {OLD}; the current engine is {NEW}."


def test_the_page_flags_only_the_rows_judged_by_an_older_engine(
    client, half_stale, dataset, second_dataset, member
):
    client.force_login(member)
    response = client.get(page(half_stale))
    assert response.text.count(NOTICE) == 1
    assert f'id="outdated-{dataset.accession}"' in response.text
    assert f'id="outdated-{second_dataset.accession}"' not in response.text
    assert url("reevaluate", half_stale) in response.text


def test_no_notice_and_no_action_when_every_verdict_is_current(client, review, member):
    client.force_login(member)
    response = client.get(page(review))
    assert "Judged by consent engine" not in response.text
    assert url("reevaluate", review) not in response.text


def test_member_reevaluates_through_the_confirmation_page(client, half_stale, dataset, member):
    client.force_login(member)
    confirm = client.get(url("reevaluate", half_stale))
    assert confirm.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in confirm.text
    assert "Re-evaluate consent" in confirm.text
    assert match_of(half_stale.request, dataset).engine_version == OLD  # a GET changes nothing

    response = client.post(url("reevaluate", half_stale), follow=True)
    assert response.status_code == 200
    (message,) = [m for m in messages_of(response) if m.startswith("Consent re-evaluated")]
    assert f"engine {NEW}" in message
    assert f"{dataset.accession}: does not fit → fits" in message
    assert "Judged by consent engine" not in response.text
    assert match_of(half_stale.request, dataset).engine_version == NEW
    assert reevaluated_events().count() == 1
    admin_actions = AuditEvent.objects.filter(
        event_type=EventType.ADMIN_ACTION, target_id=str(half_stale.pk)
    )
    assert any(e.payload.get("action") == "consent_reevaluate" for e in admin_actions)


def test_the_page_needs_csrf_for_the_post(half_stale, member):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    assert strict.post(url("reevaluate", half_stale)).status_code == 403
    assert not reevaluated_events().exists()


def test_a_recused_member_sees_the_notice_but_no_action(client, half_stale, dataset, member):
    review_services.recusal_declare(review=half_stale, actor=member, reason="Conflict.")
    client.force_login(member)
    response = client.get(page(half_stale))
    assert NOTICE in response.text
    assert url("reevaluate", half_stale) not in response.text
    # The confirmation sends them back to the page with the reason; a POST is refused.
    back = client.get(url("reevaluate", half_stale), follow=True)
    assert any("without a conflict" in m for m in messages_of(back))
    refused = client.post(url("reevaluate", half_stale))
    assert refused.status_code == 200
    assert any(m.startswith("Not done") for m in messages_of(refused))
    assert match_of(half_stale.request, dataset).engine_version == OLD


def test_a_member_of_another_committee_gets_404(client, half_stale, other_chair):
    client.force_login(other_chair)
    assert client.get(url("reevaluate", half_stale)).status_code == 404
    assert client.post(url("reevaluate", half_stale)).status_code == 404
    assert not reevaluated_events().exists()


def test_a_decided_review_offers_no_reevaluation(client, approved, dataset, chair, engine_bumped):
    judged_by_old_engine(approved.request, dataset)
    client.force_login(chair)
    response = client.get(page(approved))
    assert NOTICE in response.text
    assert url("reevaluate", approved) not in response.text
    refused = client.post(url("reevaluate", approved))
    assert refused.status_code == 200
    assert any("kept as they were" in m for m in messages_of(refused))


# --- the API --------------------------------------------------------------------------------------
def endpoint(review) -> str:
    return f"/api/v1/reviews/{review.pk}/reevaluate/"


def test_api_reevaluates_and_answers_the_reviews_matches(stale, review, dataset, chair):
    response = api(chair).post(endpoint(review))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["review"] == review.pk and body["engine_version"] == NEW
    assert [(m["dataset"], m["decision"], m["engine_version"]) for m in body["matches"]] == [
        (dataset.accession, "approve", NEW)
    ]
    assert body["changes"] == [
        {"dataset": dataset.accession, "engine_before": OLD, "before": "deny", "after": "approve"}
    ]
    assert reevaluated_events().count() == 1


@pytest.mark.parametrize("who", ["other_chair", "outsider", "researcher"])
def test_api_answers_404_to_anyone_off_the_committee(request, stale, review, dataset, who):
    response = api(request.getfixturevalue(who)).post(endpoint(review))
    assert response.status_code == 404
    assert match_of(stale, dataset).engine_version == OLD


def test_api_answers_404_for_a_missing_review(chair):
    assert api(chair).post("/api/v1/reviews/999999/reevaluate/").status_code == 404


def test_api_refuses_a_recused_member_with_403(stale, review, member):
    review_services.recusal_declare(review=review, actor=member, reason="Conflict.")
    assert api(member).post(endpoint(review)).status_code == 403
    assert not reevaluated_events().exists()


def test_api_refuses_a_decided_review_with_409(approved, chair):
    assert api(chair).post(endpoint(approved)).status_code == 409


def test_api_needs_a_signed_in_caller(stale, review):
    assert api().post(endpoint(review)).status_code in (401, 403)


def test_api_takes_post_only(stale, review, chair):
    assert api(chair).get(endpoint(review)).status_code == 405


def test_an_oauth_token_needs_the_committee_review_scope(stale, review, chair):
    dashboard = registered("Committee dashboard", [S.COMMITTEE_REVIEW, S.REQUESTS_READ])
    reader = bearer(chair, dashboard, S.REQUESTS_READ)
    assert reader.post(endpoint(review)).status_code == 403
    reviewer = bearer(chair, dashboard, S.COMMITTEE_REVIEW)
    assert reviewer.post(endpoint(review)).status_code == 200
    (event,) = reevaluated_events()
    assert event.payload.get("oauth_client") == f"client:{dashboard.application.pk}"
