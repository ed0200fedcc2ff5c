"""An approved part never changes under the committee that approved it (issue 10, hole 3).

The reproduction: committee A approves its part of a request, committee B returns its part with
questions. The applicant may answer B, but may not change what A relied on (purpose, diseases,
ethics approval, team, institution, country) while A's approval stands: the edit is refused
with 409 and the locked `fields`, nothing is stored, A's grants and stored consent match stay
as they were.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from access import lifecycle
from access.answers import REQUEST_FIELDS
from access.choices import ReviewStatus
from access.models import ConsentMatch, Grant, TeamInvitation
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import requests as request_services
from access.services import team as team_services
from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Conflict
from tests import factories
from tests.access_world import (
    accept_all,
    api,
    approve_part,
    make_draft,
    publish_agreement,
    reply_to_committee,
)

from .test_portal import PDF, client_for, flashes, text_of

pytestmark = pytest.mark.django_db


def url(access_request) -> str:
    return f"/api/v1/access-requests/{access_request.pk}/"


@pytest.fixture
def part_a(committee, organisation):
    """A's dataset: consent for non-commercial use, for at most 12 months."""
    publish_agreement(committee)
    return factories.dataset(
        committee=committee,
        controller=organisation,
        title="Lung resections",
        consent_scope=factories.consent_scope("GRU", modifiers=["NCU", "TS"], time_limit_months=12),
    )


@pytest.fixture
def part_b(other_committee):
    publish_agreement(other_committee)
    return factories.dataset(
        committee=other_committee,
        controller=factories.organisation("Leeds Teaching Hospitals"),
        title="Colon biopsies",
        organ="colon",
    )


@pytest.fixture
def split(researcher, teammate, chair, other_chair, part_a, part_b):
    """A approved (grants for the applicant and the teammate), B returned with questions."""
    access_request = make_draft(researcher, [part_a, part_b], team=[teammate])
    accept_all(access_request, researcher)
    accept_all(access_request, teammate)
    request_services.request_submit(access_request=access_request, actor=researcher)
    approve_part(access_request, part_a, chair)
    decision_services.decision_record(
        review=access_request.reviews.get(committee=part_b.committee),
        actor=other_chair,
        outcome="return",
        questions="Which colon cohort exactly?",
    )
    access_request.refresh_from_db()
    return access_request


def snapshot(access_request) -> dict:
    """Everything a refused edit must leave as it was."""
    access_request.refresh_from_db()
    return {
        "answers": {
            f: getattr(access_request, f) for f in REQUEST_FIELDS if f != "ethics_document"
        },
        "ethics_document": access_request.ethics_document.name,
        "diseases": set(access_request.diseases.values_list("curie", flat=True)),
        "team": set(access_request.team_members.values_list("username", flat=True)),
        "grants": list(
            Grant.objects.filter(request=access_request)
            .order_by("pk")
            .values("pk", "user_id", "dataset_id", "valid_until", "revoked_at")
        ),
        "matches": list(
            ConsentMatch.objects.filter(request=access_request)
            .order_by("pk")
            .values("dataset_id", "decision", "rules", "evaluated_at")
        ),
        "changed_events": changed_events(access_request),
    }


def changed_events(access_request) -> int:
    ledger.flush()
    return AuditEvent.objects.filter(
        event_type=EventType.REQUEST_CHANGED, target_id=str(access_request.pk)
    ).count()


LOCKED_EDITS = [
    pytest.param({"commercial": True}, ["commercial"], id="purpose-commercial"),
    pytest.param({"for_profit_organisation": True}, ["for_profit_organisation"], id="for-profit"),
    pytest.param({"other_purpose": "Also a product."}, ["other_purpose"], id="other-purpose"),
    pytest.param({"diseases": ["DOID:162"]}, ["diseases"], id="diseases"),
    pytest.param({"ethics_reference": "METC-2099-999"}, ["ethics_reference"], id="ethics-ref"),
    pytest.param({"institution": "Acme Pharma Ltd"}, ["institution"], id="institution"),
    pytest.param({"country": "US"}, ["country"], id="country"),
    pytest.param(
        {"commercial": True, "scientific_abstract": "Now a product.", "country": "US"},
        ["commercial", "country"],
        id="locked-and-free-together",
    ),
]


@pytest.mark.parametrize(("edit", "fields"), LOCKED_EDITS)
def test_an_edit_to_what_the_approval_relied_on_is_refused_and_nothing_changes(
    split, researcher, edit, fields
):
    before = snapshot(split)
    response = api(researcher).patch(url(split), edit, format="json")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["fields"] == fields
    assert "withdraw this request" in body["detail"]
    assert snapshot(split) == before


def test_a_later_ethics_expiry_is_refused(split, researcher):
    # Within the ten years any date may reach, so the refusal is this rule, not date bounds.
    later = timezone.localdate() + relativedelta(years=5)
    before = snapshot(split)
    response = api(researcher).patch(
        url(split), {"ethics_expiry": later.isoformat()}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["fields"] == ["ethics_expiry"]
    assert snapshot(split) == before


def test_a_new_ethics_document_is_refused(split, researcher):
    before = snapshot(split)
    upload = SimpleUploadedFile("other.pdf", PDF, content_type="application/pdf")
    response = api(researcher).patch(url(split), {"ethics_document": upload}, format="multipart")
    assert response.status_code == 409, response.content
    assert response.json()["fields"] == ["ethics_document"]
    assert snapshot(split) == before


def test_a_new_team_member_is_refused_and_gets_no_grant(split, researcher, teammate):
    # The team changes only by invitation (access.services.team): sending one is refused while
    # A's approval stands, and so is accepting one sent before the approval.
    newcomer = factories.user("newcomer")
    with pytest.raises(Conflict) as refused:
        team_services.invitation_send(access_request=split, actor=researcher, email=newcomer.email)
    assert "withdraw this request" in str(refused.value)
    assert not split.invitations.filter(email=newcomer.email).exists()
    earlier = TeamInvitation.objects.create(
        request=split,
        email=newcomer.email,
        invited_by=researcher,
        expires_at=timezone.now() + timedelta(days=1),
        nonce="sent-before-the-approval",
    )
    with pytest.raises(Conflict):
        team_services.invitation_accept(
            token=team_services.invitation_token(earlier), actor=newcomer
        )
    assert not split.team_members.filter(pk=newcomer.pk).exists()
    assert not Grant.objects.filter(user=newcomer).exists()


def test_the_team_that_holds_the_grants_is_the_team_on_the_request(split, researcher, teammate):
    """The hole was a removed team member who kept getting tokens: the team may shrink under
    the approval (leaving needs no review), and the member's grants end with it, so every live
    grant holder is still on the request."""
    team_services.team_member_remove(access_request=split, actor=researcher, user=teammate)
    live = Grant.objects.filter(request=split, revoked_at__isnull=True)
    assert set(live.values_list("user_id", flat=True)) == {p.pk for p in split.people()}
    assert {p.pk for p in split.people()} == {researcher.pk}
    assert all(g.is_active for g in live)
    assert not any(g.is_active for g in Grant.objects.filter(request=split, user=teammate))


def test_answers_not_relied_on_change_and_resubmitting_keeps_the_approved_match(
    split, researcher, part_a, part_b
):
    stored_a = ConsentMatch.objects.get(request=split, dataset=part_a)
    stored_b = ConsentMatch.objects.get(request=split, dataset=part_b)
    response = api(researcher).patch(
        url(split),
        {
            "scientific_abstract": "TIL counting on the Leeds colon cohort 2019-2023.",
            # More than A's consent allows (12 months): re-matching A would now say deny.
            "requested_months": 24,
            # Sent unchanged: not an edit, so not refused.
            "commercial": False,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    split.refresh_from_db()
    assert split.requested_months == 24
    reply_to_committee(split)
    assert api(researcher).post(url(split) + "resubmit/").status_code == 200

    again_a = ConsentMatch.objects.get(request=split, dataset=part_a)
    assert (again_a.decision, again_a.rules, again_a.evaluated_at) == (
        stored_a.decision,
        stored_a.rules,
        stored_a.evaluated_at,
    )
    assert again_a.decision == "approve"
    assert ConsentMatch.objects.get(request=split, dataset=part_b).evaluated_at > (
        stored_b.evaluated_at
    )
    assert split.reviews.get(committee=part_a.committee).status == ReviewStatus.APPROVED
    assert all(g.is_active for g in Grant.objects.filter(request=split))


def test_once_no_approval_stands_the_answers_unlock(split, researcher, chair):
    for grant in Grant.objects.filter(request=split):
        grant_services.grant_revoke(grant=grant, actor=chair, reason="Project ended early.")
    assert request_services.approvals_standing(split) == []
    response = api(researcher).patch(url(split), {"commercial": True}, format="json")
    assert response.status_code == 200, response.content
    split.refresh_from_db()
    assert split.commercial is True


def test_the_service_refuses_whichever_client_calls_it(split, researcher):
    with pytest.raises(lifecycle.AnswersLocked) as refused:
        request_services.request_update(
            access_request=split,
            actor=researcher,
            data={"ethics_reference": "METC-OTHER"},
            diseases=[factories.term("DOID:162")],
        )
    assert refused.value.fields == ["diseases", "ethics_reference"]
    assert isinstance(refused.value, lifecycle.TransitionRefused)


def test_locked_changes_is_empty_while_no_approval_stands():
    assert lifecycle.locked_changes(["commercial", "title"], approvals_standing=False) == []
    assert lifecycle.locked_changes(["commercial", "title"], approvals_standing=True) == [
        "commercial"
    ]


# --- the portal ---------------------------------------------------------------------------------
@pytest.fixture
def edit_page(split):
    return reverse("access:request-edit", kwargs={"pk": split.pk})


def test_the_edit_form_shows_the_locked_answers_disabled_and_how_to_proceed(
    split, researcher, edit_page
):
    response = client_for(researcher).get(edit_page)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("commercial", "ethics_expiry", "ethics_reference", "country"):
        tag = next(t for t in html.split("<") if f'name="{name}"' in t)
        assert "disabled" in tag, name
    for name in ("title", "scientific_abstract", "requested_months"):
        tag = next(t for t in html.split("<") if f'name="{name}"' in t)
        assert "disabled" not in tag, name
    assert 'name="ethics_document"' in html and 'name="disease_q"' not in html
    page = text_of(response)
    assert "Some answers are locked." in page
    assert "approved" in page and "withdraw this request" in page


def test_the_portal_saves_the_free_answers_and_never_the_locked_ones(
    split, researcher, edit_page, part_a
):
    data = {
        "action": "save",
        "title": split.title,
        "lay_summary": split.lay_summary,
        "scientific_abstract": "The Leeds colon cohort 2019-2023.",
        "requested_months": 12,
        # A tampered or stale form: the disabled answers are posted changed.
        "commercial": "on",
        "methods_development": "on",
        "country": "US",
        "diseases": ["DOID:162"],
    }
    response = client_for(researcher).post(edit_page, data)
    assert response.status_code == 302, text_of(response)
    assert any("Saved your changes" in m for m in flashes(response))
    split.refresh_from_db()
    assert split.scientific_abstract == "The Leeds colon cohort 2019-2023."
    assert (split.commercial, split.country) == (False, "")
    assert split.team_members.count() == 1
    assert list(split.diseases.values_list("curie", flat=True)) == ["DOID:1324"]
    assert ConsentMatch.objects.get(request=split, dataset=part_a).decision == "approve"


def test_a_draft_is_not_locked(researcher, dataset, agreement):
    draft = make_draft(researcher, [dataset])
    page = client_for(researcher).get(reverse("access:request-edit", kwargs={"pk": draft.pk}))
    assert "Some answers are locked." not in text_of(page)
    assert 'name="disease_q"' in page.content.decode()


def test_a_locked_country_stored_before_the_list_does_not_block_saving(
    split, researcher, edit_page
):
    """A code the list does not hold (stored by an earlier version) on a locked field: shown
    disabled, not asked for again, since the applicant cannot change it."""
    type(split).objects.filter(pk=split.pk).update(country="UK")
    data = {
        "action": "save",
        "title": split.title,
        "lay_summary": split.lay_summary,
        "scientific_abstract": "Changed while the country is locked.",
        "requested_months": 12,
    }
    response = client_for(researcher).post(edit_page, data)
    assert response.status_code == 302, text_of(response)
    split.refresh_from_db()
    assert (split.scientific_abstract, split.country) == (
        "Changed while the country is locked.",
        "UK",
    )
