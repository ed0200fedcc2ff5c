from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import Grant
from tests import factories
from tests.access_world import api

pytestmark = pytest.mark.django_db


def test_researcher_creates_a_draft_by_accession_and_curie_and_cannot_name_a_team(
    researcher, dataset, teammate, agreement
):
    # The team is read-only in the API: people join only by accepting an e-mail invitation.
    response = api(researcher).post(
        "/api/v1/access-requests/",
        {
            "title": "TILs",
            "datasets": [dataset.accession],
            "diseases": ["DOID:1324"],
            "team_members": ["teammate"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["datasets"] == [dataset.accession]
    assert body["team_members"] == []


def test_the_api_shows_the_accepted_team_read_only(draft, researcher):
    url = f"/api/v1/access-requests/{draft.pk}/"
    assert api(researcher).get(url).json()["team_members"] == ["teammate"]
    response = api(researcher).patch(url, {"team_members": []}, format="json")
    assert response.status_code == 200
    assert response.json()["team_members"] == ["teammate"]


def test_unknown_dataset_is_a_400_naming_the_field(researcher):
    response = api(researcher).post(
        "/api/v1/access-requests/", {"title": "x", "datasets": ["TSR-DS-999999"]}, format="json"
    )
    assert response.status_code == 400
    assert "datasets" in response.json()


def test_anonymous_callers_get_401_or_403():
    assert api().get("/api/v1/access-requests/").status_code in (401, 403)


def test_another_users_request_is_a_404(draft, outsider):
    assert api(outsider).get(f"/api/v1/access-requests/{draft.pk}/").status_code == 404
    assert api(outsider).post(f"/api/v1/access-requests/{draft.pk}/submit/").status_code == 404


def test_member_of_another_committee_sees_only_their_part(submitted, other_member, member):
    # Both committees review the request; each member sees it through their own review.
    listed = api(other_member).get("/api/v1/access-requests/?role=committee").json()
    assert [r["id"] for r in listed["results"]] == [submitted.pk]
    outsider_request = factories.user("stranger")
    assert api(outsider_request).get(f"/api/v1/access-requests/{submitted.pk}/").status_code == 404


def test_submit_decide_and_list_grants_through_the_api(
    draft, researcher, chair, dataset, agreement, other_agreement
):
    client = api(researcher)
    for a in (agreement, other_agreement):
        assert (
            client.post(
                f"/api/v1/access-requests/{draft.pk}/accept-agreement/",
                {"agreement": a.pk},
                format="json",
            ).status_code
            == 200
        )
    response = client.post(f"/api/v1/access-requests/{draft.pk}/submit/")
    assert response.status_code == 200, response.json()
    assert {d["status"] for d in response.json()["dataset_statuses"]} == {"submitted"}
    end = (timezone.localdate() + timedelta(days=90)).isoformat()
    decided = api(chair).post(
        f"/api/v1/access-requests/{draft.pk}/decide/",
        {"outcome": "approve", "end_date": end},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    statuses = {d["accession"]: d["status"] for d in decided.json()["dataset_statuses"]}
    assert statuses[dataset.accession] == "approved"
    grants = client.get("/api/v1/grants/").json()["results"]
    assert [(g["dataset"], g["active"]) for g in grants] == [(dataset.accession, True)]
    committee_grants = (
        api(chair).get(f"/api/v1/grants/?committee={dataset.committee.slug}").json()["results"]
    )
    assert len(committee_grants) == Grant.objects.filter(dataset=dataset).count() == 2


def test_deciding_twice_is_a_409(submitted, chair):
    url = f"/api/v1/access-requests/{submitted.pk}/decide/"
    assert (
        api(chair)
        .post(url, {"outcome": "reject", "reason": "Out of scope"}, format="json")
        .status_code
        == 200
    )
    second = api(chair).post(url, {"outcome": "reject", "reason": "again"}, format="json")
    assert second.status_code == 409
    assert "rejected" in second.json()["detail"]


def test_member_under_chair_decides_policy_gets_403_with_the_reason(submitted, member):
    response = api(member).post(
        f"/api/v1/access-requests/{submitted.pk}/decide/",
        {"outcome": "reject", "reason": "no"},
        format="json",
    )
    assert response.status_code == 403
    assert "chair decides" in response.json()["detail"]


def test_reject_without_reason_is_a_400(submitted, chair):
    response = api(chair).post(
        f"/api/v1/access-requests/{submitted.pk}/decide/", {"outcome": "reject"}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()


@pytest.mark.parametrize("endpoint", ["comments", "invitations"])
def test_the_schema_documents_the_whole_lists_as_the_plain_lists_they_are(client, endpoint):
    """The conversation and the invitations are answered whole; the schema once promised pages
    (schemathesis failed when a fuzzed id hit a request)."""
    schema = client.get("/api/schema/?format=json").json()
    get = schema["paths"][f"/api/v1/access-requests/{{id}}/{endpoint}/"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    assert [p["name"] for p in get["parameters"]] == ["id"]
