"""POST /api/v1/consent/evaluate and the catalogue searched by purpose."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import ScopedRateThrottle

from governance.api.consent import ConsentEvaluateView
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/consent/evaluate"
ISSUE_EXAMPLE = {
    "consent": {
        "permission": "DS",
        "diseases": ["DOID:162"],
        "modifiers": ["NCU", "IRB"],
        "region": ["EU"],
        "months": 24,
    },
    "purpose": {"diseases": ["DOID:1324"], "commercial": False, "ethics_approval": True},
}


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    # Throttle counters live in the cache; a test must not inherit another's requests.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(client, researcher):
    client.force_login(researcher)
    return client


def post(client, body):
    return client.post(URL, body, content_type="application/json")


# --- evaluate ----------------------------------------------------------------------------------
def test_anonymous_caller_is_refused(client):
    assert post(client, ISSUE_EXAMPLE).status_code in (401, 403)


def test_issue_example_is_approved_with_reasons_and_obligations(api):
    response = post(api, ISSUE_EXAMPLE)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"decision", "rules", "obligations"}
    assert body["decision"] == "approve"
    assert [(r["term"], r["outcome"]) for r in body["rules"]] == [
        ("DUO:0000007", "approve"),
        ("DUO:0000046", "approve"),
        ("DUO:0000021", "approve"),
    ]
    assert "lung cancer (DOID:1324) is a kind of cancer (DOID:162)" in body["rules"][0]["reason"]
    assert body["obligations"] == [{"term": "DUO:0000021", "text": body["obligations"][0]["text"]}]
    assert "IRB/ERB" in body["obligations"][0]["text"]


def test_cancer_does_not_fit_a_lung_cancer_consent(api):
    body = post(
        api,
        {
            "consent": {"permission": "DUO:0000007", "diseases": ["DOID:1324"]},
            "purpose": {"diseases": ["DOID:162"]},
        },
    ).json()
    assert body["decision"] == "deny"
    assert "cancer (DOID:162) is neither a consented disease" in body["rules"][0]["reason"]


def test_missing_ethics_approval_asks_for_review(api):
    body = post(api, {"consent": {"permission": "GRU", "modifiers": ["IRB"]}, "purpose": {}}).json()
    assert body["decision"] == "review"
    assert body["obligations"] == []


def test_a_published_dataset_is_judged_by_its_own_consent(api, committee, organisation):
    scope = factories.consent_scope("DS", diseases=["DOID:1324"], modifiers=["GS"], region=["EEA"])
    ds = factories.dataset(committee=committee, controller=organisation, consent_scope=scope)
    body = post(
        api, {"dataset": ds.accession, "purpose": {"diseases": ["DOID:3910"], "country": "NO"}}
    ).json()
    assert body["decision"] == "approve"
    assert [r["term"] for r in body["rules"]] == ["DUO:0000007", "DUO:0000022"]
    body = post(
        api, {"dataset": ds.accession, "purpose": {"diseases": ["DOID:3910"], "country": "US"}}
    ).json()
    assert body["decision"] == "deny"


def test_unknown_or_unpublished_dataset_is_404(api, committee, organisation):
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    assert post(api, {"dataset": "TSR-DS-999999", "purpose": {}}).status_code == 404
    assert post(api, {"dataset": draft.accession, "purpose": {}}).status_code == 404


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        ({"consent": {"permission": "XYZ"}, "purpose": {}}, ["consent", "permission"], "'XYZ'"),
        ({"consent": {"permission": "GRU-CC"}, "purpose": {}}, ["consent", "permission"], "obsolete"),
        ({"consent": {"permission": "GRU", "modifiers": ["NCU", "RU"]}, "purpose": {}}, ["consent", "modifiers"], "obsolete"),
        ({"consent": {"permission": "DS", "diseases": ["DOID:0"]}, "purpose": {}}, ["consent", "diseases"], "'DOID:0'"),
        ({"consent": {"permission": "GRU", "modifiers": ["GS"], "region": ["UK"]}, "purpose": {}}, ["consent", "region"], "'UK'"),
        ({"consent": {"permission": "GRU", "modifiers": ["TS"], "months": 0}, "purpose": {}}, ["consent", "months"], "at least 1"),
        ({"consent": {"permission": "GRU"}, "purpose": {"country": "XX"}}, ["purpose", "country"], "'XX'"),
        ({"consent": {"permission": "GRU"}, "purpose": {"months": 0}}, ["purpose", "months"], "at least 1"),
        ({"consent": {"permission": "GRU"}, "purpose": {"commercial": "no"}}, ["purpose", "commercial"], "true or false"),
        ({"consent": {"permission": "GRU"}, "purpose": {"diseases": "DOID:162"}}, ["purpose", "diseases"], "list of strings"),
        ({"consent": {"permission": "GRU"}, "purpose": {"comercial": True}}, ["purpose", "comercial"], "Unknown purpose field"),
        ({"consent": {"permission": "GRU"}, "purpose": []}, ["purpose"], "JSON object"),
        ({"consent": {"permission": "GRU"}}, ["purpose"], "required"),
        ({"purpose": {}}, ["non_field_errors"], "either a consent scope or a dataset"),
        ({"consent": {"permission": "GRU"}, "dataset": "TSR-DS-000001", "purpose": {}}, ["non_field_errors"], "either"),
        ({"dataset": "lung", "purpose": {}}, ["dataset"], ""),
        ({"consent": {"permission": "GRU"}, "purpose": {}, "purpse": {}}, ["purpse"], "Unknown field"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(api, body, path, fragment):
    response = post(api, body)
    assert response.status_code == 400
    found = response.json()
    for key in path:
        found = found[key]
    assert fragment in " ".join(found)


def test_evaluation_costs_the_same_queries_for_one_or_several_diseases(api):
    def count(consented, studied):
        body = {
            "consent": {"permission": "DS", "diseases": consented, "modifiers": ["NCU"]},
            "purpose": {"diseases": studied},
        }
        with CaptureQueriesContext(connection) as ctx:
            assert post(api, body).status_code == 200
        return len(ctx.captured_queries)

    one = count(["DOID:162"], ["DOID:3910"])
    several = count(["DOID:1324", "DOID:9256", "DOID:1612"], ["DOID:3910", "DOID:219", "DOID:4362"])
    assert one == several
    assert one <= 8  # session and user, consent terms, purpose terms, ancestry, disease labels


def test_evaluation_is_rate_limited_by_the_consent_scope(api, monkeypatch, settings):
    assert any(issubclass(t, ScopedRateThrottle) for t in ConsentEvaluateView.throttle_classes)
    assert ConsentEvaluateView.throttle_scope == "consent"
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["consent"]
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"consent": "2/min"})
    statuses = [post(api, ISSUE_EXAMPLE).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_schema_documents_the_endpoint_with_examples(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/consent/evaluate"]["post"]
    request_examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert request_examples  # inline consent and a dataset accession
    response = operation["responses"]["200"]["content"]["application/json"]
    assert response["examples"]
    assert {"400", "404", "429"} <= set(operation["responses"])
    params = {p["name"] for p in schema["paths"]["/api/v1/datasets/"]["get"]["parameters"]}
    assert {"purpose", "match"} <= params


# --- the catalogue searched by purpose --------------------------------------------------------
def _catalogue(committee, organisation, copies: int = 1):
    """Three kinds of consent, `copies` datasets each: DS lung cancer, GRU+NCU, HMB+IRB."""
    scopes = {
        "ds": factories.consent_scope("DS", diseases=["DOID:1324"]),
        "ncu": factories.consent_scope("GRU", modifiers=["NCU"]),
        "irb": factories.consent_scope("HMB", modifiers=["IRB"]),
    }
    return {
        kind: [
            factories.dataset(committee=committee, controller=organisation, consent_scope=s)
            for _ in range(copies)
        ]
        for kind, s in scopes.items()
    }


LUNG_COMMERCIAL = quote(json.dumps({"diseases": ["DOID:3908"], "commercial": True}))


def test_catalogue_with_a_purpose_shows_each_dataset_s_match(client, committee, organisation):
    made = _catalogue(committee, organisation)
    body = client.get(f"/api/v1/datasets/?purpose={LUNG_COMMERCIAL}").json()
    decisions = {d["accession"]: d["match"]["decision"] for d in body["results"]}
    assert decisions == {
        made["ds"][0].accession: "approve",
        made["ncu"][0].accession: "deny",
        made["irb"][0].accession: "review",
    }
    ncu = next(d for d in body["results"] if d["accession"] == made["ncu"][0].accession)
    assert ncu["match"]["rules"][1] == {
        "term": "DUO:0000046",
        "outcome": "deny",
        "reason": "NCU (non-commercial use only): the purpose is commercial use.",
    }


def test_catalogue_without_a_purpose_is_unchanged(client, dataset):
    item = client.get("/api/v1/datasets/").json()["results"][0]
    assert "match" not in item


@pytest.mark.parametrize(
    ("wanted", "kinds"),
    [
        ("approve", {"ds"}),
        ("deny", {"ncu"}),
        ("review", {"irb"}),
        ("approve,review", {"ds", "irb"}),
    ],
)
def test_catalogue_filters_by_match(client, committee, organisation, wanted, kinds):
    made = _catalogue(committee, organisation, copies=2)
    body = client.get(f"/api/v1/datasets/?purpose={LUNG_COMMERCIAL}&match={wanted}").json()
    assert body["count"] == 2 * len(kinds)
    assert {d["accession"] for d in body["results"]} == {
        ds.accession for kind in kinds for ds in made[kind]
    }
    assert {d["match"]["decision"] for d in body["results"]} == set(wanted.split(","))


def test_catalogue_match_filter_combines_with_other_filters(client, committee, organisation):
    made = _catalogue(committee, organisation)
    other = factories.dataset(
        committee=committee,
        controller=organisation,
        organ="colon",
        consent_scope=factories.consent_scope("GRU"),
    )
    body = client.get(
        f"/api/v1/datasets/?purpose={LUNG_COMMERCIAL}&match=approve&organ=lung"
    ).json()
    assert [d["accession"] for d in body["results"]] == [made["ds"][0].accession]
    assert other.accession not in {d["accession"] for d in body["results"]}


def test_one_dataset_with_a_purpose_carries_its_match(client, committee, organisation):
    made = _catalogue(committee, organisation)
    body = client.get(
        f"/api/v1/datasets/{made['ncu'][0].accession}/?purpose={LUNG_COMMERCIAL}"
    ).json()
    assert body["match"]["decision"] == "deny"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("purpose=not-json", "purpose"),
        (f"purpose={quote(json.dumps({'country': 'UK'}))}", "purpose"),
        (f"purpose={quote(json.dumps({'diseases': ['DOID:0']}))}", "purpose"),
        ("match=approve", "match"),
        (f"purpose={LUNG_COMMERCIAL}&match=maybe", "match"),
    ],
)
def test_catalogue_search_rejects_bad_input_naming_the_parameter(client, dataset, query, field):
    response = client.get(f"/api/v1/datasets/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_catalogue_search_costs_the_same_queries_for_3_or_12_datasets(
    client, committee, organisation
):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/api/v1/datasets/?purpose={LUNG_COMMERCIAL}&match=approve,deny")
            assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    _catalogue(committee, organisation, copies=1)
    small, small_count = count()
    _catalogue(committee, organisation, copies=3)
    large, large_count = count()
    assert (small_count, large_count) == (2, 8)
    assert small == large


def test_catalogue_search_is_rate_limited_like_evaluation(client, dataset, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"consent": "1/min"})
    searched = f"/api/v1/datasets/?purpose={LUNG_COMMERCIAL}"
    assert client.get(searched).status_code == 200
    assert client.get(searched).status_code == 429
    assert client.get("/api/v1/datasets/").status_code == 200  # plain listing is not limited
