import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_published_dataset_is_listed_with_its_consent_spelled_out(client, dataset):
    body = client.get("/api/v1/datasets/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["accession"] == dataset.accession
    assert item["consent_scope"]["permission"] == {
        "curie": "DUO:0000042",
        "shorthand": "GRU",
        "label": "general research use",
    }
    assert item["legal_basis"]["article9"]["code"] == "Art. 9(2)(j)"
    assert item["committee"]["slug"] == "radboud-dac"


def test_draft_dataset_is_not_in_the_catalogue(client, committee, organisation):
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    assert client.get("/api/v1/datasets/").json()["count"] == 0
    assert client.get(f"/api/v1/datasets/{draft.accession}/").status_code == 404


def test_disease_filter_includes_descendants(client, committee, organisation):
    lung = factories.consent_scope("DS", diseases=["DOID:1324"])  # lung cancer
    colon = factories.consent_scope("DS", diseases=["DOID:9256"])  # colorectal cancer
    heart = factories.consent_scope("DS", diseases=["DOID:114"])  # heart disease
    a = factories.dataset(committee=committee, controller=organisation, consent_scope=lung)
    b = factories.dataset(committee=committee, controller=organisation, consent_scope=colon)
    factories.dataset(committee=committee, controller=organisation, consent_scope=heart)
    found = {
        d["accession"] for d in client.get("/api/v1/datasets/?disease=DOID:162").json()["results"]
    }
    assert found == {a.accession, b.accession}


def test_unknown_disease_is_a_400_naming_the_field(client, dataset):
    response = client.get("/api/v1/datasets/?disease=DOID:99999999")
    assert response.status_code == 400
    assert "disease" in response.json()
