"""The request form tells a logged-in person nothing the public catalogue does not: a draft
dataset's accession answers like one that does not exist, and nothing names people by
username."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from access.models import AccessRequest
from tests import factories

from .test_portal import client_for, flashes, form_data, text_of

pytestmark = pytest.mark.django_db

MISSING = "TSR-DS-999999"


@pytest.fixture
def draft_dataset(dataset, committee, organisation):
    # After `dataset`, so that its accession is not the form's example (TSR-DS-000001).
    return factories.dataset(
        committee=committee,
        controller=organisation,
        publish=False,
        title="Unannounced melanoma cohort",
    )


@pytest.fixture
def suspended(db):
    return factories.user("suspended-person", is_active=False)


def page_naming(user, accession: str, **overrides) -> str:
    data = {**form_data([]), "datasets": [accession], **overrides}
    response = client_for(user).post(reverse("access:request-create"), data)
    assert response.status_code == 200
    return text_of(response).replace(accession, "ACCESSION")


# --- datasets -------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["find-datasets", "save"])
def test_a_draft_accession_in_the_cart_answers_exactly_like_a_missing_one(
    action, researcher, draft_dataset
):
    extra = {"action": action, "dataset_q": "" if action == "save" else "zzz"}
    shown = page_naming(researcher, draft_dataset.accession, **extra)
    assert shown == page_naming(researcher, MISSING, **extra)
    assert draft_dataset.title not in shown
    assert draft_dataset.committee.name not in shown
    assert not AccessRequest.objects.exists()


def test_a_draft_accession_in_the_catalogue_link_answers_like_a_missing_one(
    researcher, draft_dataset
):
    client = client_for(researcher)
    url = reverse("access:request-create")
    draft = client.get(url, {"dataset": draft_dataset.accession})
    missing = client.get(url, {"dataset": MISSING})
    assert [m.replace(draft_dataset.accession, "X") for m in flashes(draft)] == [
        m.replace(MISSING, "X") for m in flashes(missing)
    ]
    assert draft_dataset.title not in text_of(draft)


def test_a_published_accession_still_resolves(researcher, dataset):
    shown = page_naming(researcher, dataset.accession, action="find-datasets", dataset_q="zzz")
    assert dataset.title in shown


def test_the_api_answers_a_draft_accession_like_a_missing_one(researcher, draft_dataset):
    api = APIClient()
    api.force_authenticate(researcher)

    def answer(accession):
        response = api.post(
            "/api/v1/access-requests/", {"title": "x", "datasets": [accession]}, format="json"
        )
        assert response.status_code == 400
        return str(response.json()).replace(accession, "ACCESSION")

    assert answer(draft_dataset.accession) == answer(MISSING)


# --- the team ---------------------------------------------------------------------------------------
# Nobody is named by username any more: the form has no team field and the API's is read-only,
# so a username, existing or not, changes nothing. Invitations by address answer the same for
# any address (tests/access/test_invitations.py).
def test_the_api_ignores_team_usernames_alike_whether_they_exist_or_not(
    researcher, dataset, suspended, teammate
):
    api = APIClient()
    api.force_authenticate(researcher)

    def answer(name):
        response = api.post(
            "/api/v1/access-requests/",
            {"title": "x", "datasets": [dataset.accession], "team_members": [name]},
            format="json",
        )
        assert response.status_code == 201
        body = response.json()
        return {
            k: v
            for k, v in body.items()
            if k not in ("id", "reference", "created_at", "updated_at")
        }

    assert answer("nosuchperson") == answer(suspended.username) == answer(teammate.username)
    assert not AccessRequest.objects.filter(team_members__isnull=False).exists()
