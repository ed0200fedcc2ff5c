"""Researcher status in the access journey: a committee may require applicants to be bona fide
researchers; the checklist says so and submission is refused until the applicant's status
(from a visa verified by accounts.passports against a real local JWKS server) is current; the
committees see the status on the review page and the request's admin page."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from access.choices import RequestStatus
from access.models import ResearcherStatus
from access.selectors import researcher_status_current
from access.services import requests as request_services
from access.services.researcher_status import VerifiedVisa, researcher_status_record
from accounts import passports
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Invalid
from governance import services as gov
from tests.access_world import accept_all

from .admin_support import page, review_for

pytestmark = pytest.mark.django_db

SUB = "researcher@lifescience-ri.eu"


def text_of(response) -> str:
    html = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def require_bona_fide(committee):
    committee.requires_bona_fide = True
    return gov.committee_update(committee=committee, actor=None)


def give_status(person, visa_world, **visa):
    result = passports.researcher_status_from_passport(
        user=person, passport_jwts=[visa_world.trusted.visa(sub=SUB, **visa)]
    )
    [status] = result.accepted
    return status


def visa(**overrides) -> VerifiedVisa:
    now = timezone.now()
    fields = {
        "issuer": "https://login.example.org/oidc/",
        "subject": SUB,
        "source": "https://www.radboudumc.nl",
        "value": "https://doi.org/10.1038/s41431-018-0219-y",
        "by": "so",
        "asserted": now - timedelta(days=1),
        "expires_at": now + timedelta(hours=1),
        "jti": "j1",
        "visa_sha256": "a" * 64,
        **overrides,
    }
    return VerifiedVisa(**fields)


# --- the committee's policy and the checklist --------------------------------------------------
def test_the_policy_is_a_ledgered_change_of_the_committee(committee):
    require_bona_fide(committee)
    event = AuditEvent.objects.filter(event_type=EventType.COMMITTEE_CHANGED).latest("seq")
    assert event.payload["changes"]["requires_bona_fide"] == [False, True]


def test_the_admin_edits_the_policy(client, admin_user, committee):
    client.force_login(admin_user)
    form = client.get(f"/admin/governance/dataaccesscommittee/{committee.pk}/change/")
    assert "applicants must be bona fide researchers" in text_of(form).lower()
    data = {
        "name": committee.name,
        "slug": committee.slug,
        "description": "",
        "contact_email": committee.contact_email,
        "organisation": committee.organisation_id or "",
        "decision_policy": committee.decision_policy,
        "quorum": committee.quorum,
        "service_level_days": committee.service_level_days,
        "requires_ethics_approval": "on",
        "requires_bona_fide": "on",
        "_save": "Save",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    response = client.post(f"/admin/governance/dataaccesscommittee/{committee.pk}/change/", data)
    assert response.status_code == 302, response.content[:500]
    committee.refresh_from_db()
    assert committee.requires_bona_fide is True


def test_without_the_policy_no_status_is_needed(draft, researcher):
    accept_all(draft, researcher)
    assert "researcher_status" not in request_services.submission_problems(draft)
    request_services.request_submit(access_request=draft, actor=researcher)


def test_the_policy_refuses_submission_without_a_status(client, draft, researcher, committee):
    require_bona_fide(committee)
    accept_all(draft, researcher)
    problems = request_services.submission_problems(draft)
    assert set(problems) == {"researcher_status"}
    assert committee.name in problems["researcher_status"]
    with pytest.raises(Invalid) as refused:
        request_services.request_submit(access_request=draft, actor=researcher)
    assert "bona fide researchers" in " ".join(refused.value.messages)
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT

    client.force_login(researcher)
    detail = text_of(client.get(reverse("access:request-detail", kwargs={"pk": draft.pk})))
    assert "Before you can submit" in detail
    assert f"{committee.name} only accepts requests from bona fide researchers" in detail
    confirm = text_of(client.get(reverse("access:request-submit", kwargs={"pk": draft.pk})))
    assert "This will be refused until you fix these" in confirm
    assert "no current researcher status" in confirm


def test_the_policy_allows_submission_with_a_status(draft, researcher, committee, visa_world):
    require_bona_fide(committee)
    accept_all(draft, researcher)
    give_status(researcher, visa_world)
    assert request_services.submission_problems(draft) == {}
    request_services.request_submit(access_request=draft, actor=researcher)
    draft.refresh_from_db()
    assert draft.status == RequestStatus.SUBMITTED


def test_an_expired_status_does_not_count(draft, researcher, committee, visa_world):
    require_bona_fide(committee)
    accept_all(draft, researcher)
    status = give_status(researcher, visa_world, exp=int(time.time()) + 120)
    assert researcher_status_current(researcher) == status
    later = status.expires_at + timedelta(seconds=1)
    assert researcher_status_current(researcher, at=later) is None
    assert not status.is_current(later)
    # The visa expires: the status is gone and the checklist asks for it again.
    ResearcherStatus.objects.filter(pk=status.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert "researcher_status" in request_services.submission_problems(draft)


def test_a_team_members_status_does_not_stand_for_the_applicant(
    draft, researcher, teammate, committee, visa_world
):
    require_bona_fide(committee)
    accept_all(draft, researcher)
    give_status(teammate, visa_world)
    assert "researcher_status" in request_services.submission_problems(draft)


# --- the service and the selector -----------------------------------------------------------
def test_the_current_status_is_the_latest_asserted_unexpired_one(researcher):
    now = timezone.now()
    older = researcher_status_record(
        user=researcher, visa=visa(asserted=now - timedelta(days=9), visa_sha256="1" * 64),
        actor=researcher,
    )  # fmt: skip
    newer = researcher_status_record(
        user=researcher, visa=visa(asserted=now - timedelta(days=2), visa_sha256="2" * 64),
        actor=researcher,
    )  # fmt: skip
    assert researcher_status_current(researcher) == newer
    ResearcherStatus.objects.filter(pk=newer.pk).update(expires_at=now - timedelta(seconds=1))
    assert researcher_status_current(researcher) == older


def test_the_service_refuses_an_expired_or_future_visa_and_writes_nothing(researcher):
    now = timezone.now()
    with pytest.raises(Invalid):
        researcher_status_record(
            user=researcher, visa=visa(expires_at=now - timedelta(seconds=1)), actor=researcher
        )
    with pytest.raises(Invalid):
        researcher_status_record(
            user=researcher, visa=visa(asserted=now + timedelta(hours=1)), actor=researcher
        )
    assert not ResearcherStatus.objects.exists()
    assert not AuditEvent.objects.filter(event_type=EventType.RESEARCHER_STATUS_RECORDED).exists()


def test_recording_writes_its_ledger_event(researcher):
    status = researcher_status_record(user=researcher, visa=visa(), actor=researcher)
    event = AuditEvent.objects.get(event_type=EventType.RESEARCHER_STATUS_RECORDED)
    assert event.target_id == str(status.pk)
    assert event.payload["source"] == "https://www.radboudumc.nl"
    assert event.payload["by"] == "so"
    assert researcher.username not in str(event.payload)


# --- what the committees see ----------------------------------------------------------------
def test_the_review_page_shows_the_applicants_status(
    client, draft, researcher, committee, chair, visa_world
):
    require_bona_fide(committee)
    status = give_status(researcher, visa_world)
    accept_all(draft, researcher)
    request_services.request_submit(access_request=draft, actor=researcher)
    client.force_login(chair)
    text = text_of(client.get(page(review_for(draft, committee))))
    asserted = timezone.localtime(status.asserted)
    expires = timezone.localtime(status.expires_at)
    assert (
        f"Bona fide researcher: asserted {asserted:%-d %b %Y} by https://www.radboudumc.nl, "
        f"expires {expires:%-d %b %Y}"
    ) in text
    assert "this committee requires applicants to be bona fide researchers" in text


def test_the_review_page_says_when_there_is_no_status(client, submitted, committee, chair):
    client.force_login(chair)
    text = text_of(client.get(page(review_for(submitted, committee))))
    assert "Researcher status No researcher status" in text


def test_the_requests_admin_page_shows_the_status(client, admin_user, submitted, researcher):
    url = reverse("admin:access_accessrequest_change", args=[submitted.pk])
    client.force_login(admin_user)
    assert "No researcher status" in text_of(client.get(url))
    researcher_status_record(user=researcher, visa=visa(), actor=researcher)
    text = text_of(client.get(url))
    assert "applicant's researcher status" in text.lower()
    assert "Bona fide researcher: asserted" in text
    assert "by https://www.radboudumc.nl" in text


def test_statuses_are_listed_read_only_for_superusers_and_hidden_from_others(
    client, admin_user, chair, researcher
):
    status = researcher_status_record(user=researcher, visa=visa(), actor=researcher)
    listing = reverse("admin:access_researcherstatus_changelist")
    change = reverse("admin:access_researcherstatus_change", args=[status.pk])
    client.force_login(admin_user)
    assert "https://www.radboudumc.nl" in text_of(client.get(listing))
    response = client.post(change, {"source": "https://forged.example"})
    assert response.status_code in (403, 404)
    status.refresh_from_db()
    assert status.source == "https://www.radboudumc.nl"
    assert client.get(reverse("admin:access_researcherstatus_add")).status_code == 404
    client.force_login(chair)
    assert client.get(listing).status_code == 404
