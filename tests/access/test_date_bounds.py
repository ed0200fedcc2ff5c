"""Dates are bounded where they come in, and a far date already stored breaks nothing.

Python's dates end at 9999-12-31: an ethics expiry of that day, once accepted, made token issue,
the portal's token button and the GA4GH permissions endpoint fail with OverflowError for every
grant of its holder."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access.models import AccessRequest
from audit.actors import pseudonym_for
from core.dates import DateWithinYears, end_of_day
from tests.access_world import make_draft
from tests.tokens.token_support import grant, storage, token_keys, verify_independently
from tokens.issue import token_issue
from tokens.models import IssuedToken

from .test_portal import form_data, pdf_upload

pytestmark = pytest.mark.django_db

FAR = "9999-12-31"
PROJECT_APPS = ("access", "governance", "audit")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- refused where they come in -----------------------------------------------------------------
@pytest.mark.parametrize(
    "field",
    [
        field
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)
    ],
    ids=lambda field: f"{field.model.__name__}.{field.name}",
)
def test_every_date_field_refuses_9999_12_31(field):
    assert any(isinstance(v, DateWithinYears) for v in field.validators)
    with pytest.raises(ValidationError):
        field.run_validators(date(9999, 12, 31))


def test_the_bound_lets_ordinary_dates_through():
    bound = DateWithinYears(years=10)
    bound(timezone.localdate() + timedelta(days=365 * 9))
    with pytest.raises(ValidationError, match="no later than"):
        bound(timezone.localdate() + timedelta(days=365 * 11))
    with pytest.raises(ValidationError, match="from 1900-01-01"):
        bound(date(1, 1, 1))


def test_the_api_refuses_a_far_ethics_expiry_on_create_and_on_edit(researcher, dataset, agreement):
    client = client_for(researcher)
    created = client.post(
        "/api/v1/access-requests/",
        {"title": "Far", "datasets": [dataset.accession], "ethics_expiry": FAR},
        content_type="application/json",
    )
    assert created.status_code == 400
    assert "ethics_expiry" in created.json()
    assert not AccessRequest.objects.exists()
    draft = make_draft(researcher, [dataset])
    edited = client.patch(
        f"/api/v1/access-requests/{draft.pk}/",
        {"ethics_expiry": FAR},
        content_type="application/json",
    )
    assert edited.status_code == 400
    assert "ethics_expiry" in edited.json()
    draft.refresh_from_db()
    assert draft.ethics_expiry.year < 9999


def test_the_portal_form_refuses_a_far_ethics_expiry(researcher, dataset, agreement):
    data = form_data([dataset], ethics_expiry=FAR)
    data["ethics_document"] = pdf_upload()
    response = client_for(researcher).post(reverse("access:request-create"), data)
    assert response.status_code == 200
    assert "no later than" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_the_consent_api_refuses_a_far_moratorium(researcher):
    response = client_for(researcher).post(
        "/api/v1/consent/evaluate",
        {
            "consent": {"permission": "GRU", "modifiers": ["MOR"], "moratorium_until": FAR},
            "purpose": {"methods_development": True},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "moratorium_until" in str(response.json())


def test_the_decision_api_refuses_a_far_end_date(submitted, chair, dataset):
    response = client_for(chair).post(
        f"/api/v1/access-requests/{submitted.pk}/decide/",
        {"outcome": "approve", "end_date": FAR, "committee": dataset.committee.slug},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "end_date" in response.json()


# --- a far date stored before the bound breaks nothing -----------------------------------------
def test_end_of_day_never_overflows():
    assert end_of_day(date(2030, 5, 1)) == datetime(2030, 5, 2, tzinfo=UTC)
    last = end_of_day(date.max)
    assert last.date() <= date.max
    assert last.astimezone(UTC).timestamp() > 0


@pytest.fixture
def far_ethics_grant(grant):
    """The grant, its request's ethics expiry set to 9999-12-31 as a row stored before the bound."""
    committee = grant.decision.review.committee
    committee.requires_ethics_approval = True
    committee.save(update_fields=["requires_ethics_approval"])
    AccessRequest.objects.filter(pk=grant.request_id).update(ethics_expiry=date.max)
    grant.refresh_from_db()
    return grant


def test_token_issue_works_with_a_stored_far_ethics_expiry(far_ethics_grant, researcher):
    issued = token_issue(grant=far_ethics_grant, actor=researcher)
    assert issued.expires_at == issued.issued_at + timedelta(hours=1)
    verify_independently(issued.token, typ="at+jwt")


def test_the_portal_token_button_works_with_a_stored_far_ethics_expiry(
    far_ethics_grant, researcher
):
    client = client_for(researcher)
    assert client.get(reverse("access:grant-list")).status_code == 200
    response = client.post(reverse("tokens:grant-token", kwargs={"pk": far_ethics_grant.pk}))
    assert response.status_code == 200
    assert IssuedToken.objects.filter(grant=far_ethics_grant).exists()


def test_the_permissions_endpoint_works_with_a_stored_far_ethics_expiry(
    far_ethics_grant, researcher, storage
):
    _, bearer = storage
    response = Client().get(
        f"/api/v1/ga4gh/permissions/{pseudonym_for(researcher)}",
        HTTP_AUTHORIZATION=f"Bearer {bearer}",
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["ga4gh_passport_v1"]) == 1
