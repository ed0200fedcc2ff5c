import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance import services
from governance.models import Dataset
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


# --- a catalogue with some variety ------------------------------------------------------------
URL = "/api/v1/datasets/"


def accessions(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {d["accession"] for d in response.json()["results"]}


@pytest.fixture
def catalogue(committee, other_committee, organisation):
    """Published datasets across species, organs, committees and consent scopes, plus a draft
    and a retired one that the public must never see."""
    radboud = (committee, organisation)
    leeds = (other_committee, factories.organisation("Leeds Teaching Hospitals"))

    def published(side, title, organ, permission, *, scope=None, **fields):
        consent_scope = factories.consent_scope(permission, **(scope or {}))
        return factories.dataset(
            committee=side[0],
            controller=side[1],
            title=title,
            organ=organ,
            consent_scope=consent_scope,
            **fields,
        )

    made = {
        "lung_ds": published(radboud, "Lung adenocarcinoma resections", "lung", "DS",
                             scope={"diseases": ["DOID:1324"]}),
        "colon_ds": published(leeds, "Colorectal cancer biopsies", "colon", "DS",
                              scope={"diseases": ["DOID:9256"]}),
        "skin_gru_npu": published(radboud, "Melanocytic lesions", "skin", "GRU",
                                  scope={"modifiers": ["NPU"]}),
        "mouse_liver": published(leeds, "Mouse liver toxicology", "liver", "NRES",
                                 species="animal"),
    }  # fmt: skip
    made["draft"] = factories.dataset(
        committee=committee, controller=organisation, title="Unfinished lung set", publish=False
    )
    made["retired"] = factories.dataset(
        committee=committee, controller=organisation, title="Old lung set"
    )
    services.dataset_retire(dataset=made["retired"], actor=None, reason="re-scanned")
    return {name: ds.accession for name, ds in made.items()}


def test_the_list_holds_published_datasets_only(client, catalogue):
    found = accessions(client.get(URL))
    assert found == {catalogue[k] for k in ("lung_ds", "colon_ds", "skin_gru_npu", "mouse_liver")}


def test_filter_by_species(client, catalogue):
    assert accessions(client.get(URL, {"species": "animal"})) == {catalogue["mouse_liver"]}
    assert catalogue["mouse_liver"] not in accessions(client.get(URL, {"species": "human"}))


def test_filter_by_organ_ignores_case(client, catalogue):
    assert accessions(client.get(URL, {"organ": "LUNG"})) == {catalogue["lung_ds"]}


def test_filter_by_committee_slug(client, catalogue, other_committee):
    assert accessions(client.get(URL, {"committee": other_committee.slug})) == {
        catalogue["colon_ds"],
        catalogue["mouse_liver"],
    }
    assert accessions(client.get(URL, {"committee": "no-such-dac"})) == set()


@pytest.mark.parametrize("code", ["DS", "ds", "DUO:0000007", "duo:0000007"])
def test_filter_by_duo_permission_as_shorthand_or_curie(client, catalogue, code):
    assert accessions(client.get(URL, {"duo": code})) == {
        catalogue["lung_ds"],
        catalogue["colon_ds"],
    }


@pytest.mark.parametrize("code", ["NPU", "DUO:0000045"])
def test_filter_by_duo_modifier(client, catalogue, code):
    assert accessions(client.get(URL, {"duo": code})) == {catalogue["skin_gru_npu"]}


def test_filter_by_disease_takes_the_term_itself_and_its_descendants(client, catalogue):
    assert accessions(client.get(URL, {"disease": "DOID:1324"})) == {catalogue["lung_ds"]}
    assert accessions(client.get(URL, {"disease": "DOID:162"})) == {
        catalogue["lung_ds"],
        catalogue["colon_ds"],
    }
    assert accessions(client.get(URL, {"disease": "DOID:4"})) == {
        catalogue["lung_ds"],
        catalogue["colon_ds"],
    }
    assert accessions(client.get(URL, {"disease": "DOID:114"})) == set()  # heart disease


def test_filters_combine(client, catalogue, committee):
    found = accessions(client.get(URL, {"committee": committee.slug, "disease": "DOID:162"}))
    assert found == {catalogue["lung_ds"]}


def test_search_looks_in_title_organ_and_accession(client, catalogue):
    assert accessions(client.get(URL, {"search": "adenocarcinoma"})) == {catalogue["lung_ds"]}
    assert accessions(client.get(URL, {"search": "liver"})) == {catalogue["mouse_liver"]}
    assert accessions(client.get(URL, {"search": catalogue["colon_ds"]})) == {catalogue["colon_ds"]}
    assert accessions(client.get(URL, {"search": "Unfinished"})) == set()  # drafts stay hidden


def test_pages_follow_one_another_without_overlap(client, catalogue):
    first = client.get(URL, {"page_size": 3}).json()
    assert first["count"] == 4
    assert len(first["results"]) == 3
    assert first["next"] is not None
    second = client.get(URL, {"page_size": 3, "page": 2}).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    seen = [d["accession"] for d in first["results"] + second["results"]]
    assert sorted(seen) == seen
    assert len(set(seen)) == 4


def published_clones(template, n: int) -> None:
    """`n` more published datasets like `template`, inserted in bulk (set-up data for size and
    query-count tests: through the services they would take minutes)."""
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Dataset._meta.concrete_fields
        if not f.primary_key and f.name != "accession"
    }
    Dataset.objects.bulk_create(
        [
            Dataset(
                **{**fields, "title": f"{template.title} #{i}", "published_at": timezone.now()},
                accession=f"TSR-DS-{900000 + i:06d}",
            )
            for i in range(n)
        ]
    )


def test_page_size_is_capped_at_one_hundred(client, committee, organisation):
    template = factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope("DS", diseases=["DOID:1324"], modifiers=["IRB"]),
    )
    published_clones(template, 120)
    body = client.get(URL, {"page_size": 1000}).json()
    assert body["count"] == 121
    assert len(body["results"]) == 100


def test_list_queries_do_not_grow_with_the_page_size(client, committee, organisation):
    template = factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope(
            "DS", diseases=["DOID:1324", "DOID:9256"], modifiers=["GS", "IRB"], region=["EU"]
        ),
    )
    published_clones(template, 60)
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"page_size": size, "disease": "DOID:162"})
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
    assert counts[5] == counts[50], counts
    assert counts[5] <= 8, counts


# --- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("species", "plant"),
        ("duo", "XYZ"),
        ("duo", "DUO:9999999"),
        ("disease", "cancer"),
        ("disease", "DUO:0000007"),
        ("disease", "DOID:99999999"),
        ("page", "abc"),
        ("page", "0"),
        ("page_size", "lots"),
        ("page_size", "0"),
        ("page_size", "-5"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, catalogue, param, value):
    response = client.get(URL, {param: value})
    assert response.status_code == 400, response.content
    assert param in response.json()


def test_a_page_past_the_end_is_a_404(client, catalogue):
    assert client.get(URL, {"page": 99}).status_code == 404


def test_a_nul_character_in_search_is_a_400_not_a_server_error(client, catalogue):
    response = client.get(URL, {"search": "lung\x00"})
    assert response.status_code == 400
    assert "search" in response.json()


# --- one dataset ------------------------------------------------------------------------------
def test_detail_by_accession_spells_out_consent_legal_basis_and_committee(client, catalogue):
    body = client.get(f"{URL}{catalogue['skin_gru_npu']}/").json()
    assert body["accession"] == catalogue["skin_gru_npu"]
    assert body["title"] == "Melanocytic lesions"
    assert body["consent_scope"]["permission"]["shorthand"] == "GRU"
    assert body["consent_scope"]["modifiers"] == [
        {
            "curie": "DUO:0000045",
            "shorthand": "NPU",
            "label": "not for profit organisation use only",
        }
    ]
    assert body["legal_basis"]["article6"] == {
        "code": "Art. 6(1)(e)",
        "title": "Public interest or official authority",
    }
    assert body["committee"]["slug"] == "radboud-dac"
    assert body["url"].endswith(f"/datasets/{catalogue['skin_gru_npu']}/")


def test_animal_dataset_has_no_legal_basis(client, catalogue):
    body = client.get(f"{URL}{catalogue['mouse_liver']}/").json()
    assert body["species"] == "animal"
    assert body["legal_basis"] is None


@pytest.mark.parametrize("which", ["draft", "retired"])
def test_unpublished_datasets_are_404(client, catalogue, which):
    response = client.get(f"{URL}{catalogue[which]}/")
    assert response.status_code == 404


@pytest.mark.parametrize("accession", ["TSR-DS-999998", "TSR-DS-1", "tsr-ds-000001", "anything"])
def test_unknown_or_malformed_accession_is_404(client, catalogue, accession):
    assert client.get(f"{URL}{accession}/").status_code == 404


def test_the_catalogue_needs_no_login_and_writes_are_refused(client, catalogue):
    assert client.get(URL).status_code == 200
    assert client.post(URL, {"title": "x"}).status_code in (401, 403, 405)
    detail = f"{URL}{catalogue['lung_ds']}/"
    assert client.delete(detail).status_code in (401, 403, 405)


# --- NUL characters: PostgreSQL cannot compare them, so they never reach a query -------------
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"organ": "lu\x00ng"}, "organ"),
        ({"disease": "DOID:\x00162"}, "disease"),
        ({"duo": "D\x00S"}, "duo"),
        ({"ordering": "ti\x00tle"}, "ordering"),
        ({"committee": "\x00"}, "committee"),
    ],
)
def test_nul_in_a_catalogue_parameter_is_a_400_naming_it(client, catalogue, query, field):
    response = client.get(URL, query)
    assert response.status_code == 400
    assert field in response.json()


def test_nul_in_the_accession_is_a_400_not_a_server_error(client, catalogue):
    response = client.get("/datasets/TSR-DS-00%001/")
    assert response.status_code == 400


def test_nul_in_a_portal_search_is_a_400_naming_the_parameter(client, catalogue):
    response = client.get("/datasets/", {"disease": "can\x00cer"})
    assert response.status_code == 400
    assert "disease" in response.content.decode()


def test_nul_deep_in_a_json_body_is_a_400_naming_its_path(client, researcher):
    client.force_login(researcher)
    response = client.post(
        "/api/v1/consent/evaluate",
        {
            "consent": {"permission": "GRU"},
            "purpose": {"diseases": ["DOID:162", "DOID:\x001324"]},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"purpose.diseases[1]": ["Null characters are not allowed."]}


def test_an_uploaded_file_may_contain_nul_bytes(client, researcher):
    client.force_login(researcher)
    pdf = SimpleUploadedFile("ethics.pdf", b"%PDF-1.7\x00\x00binary", "application/pdf")
    response = client.post("/api/v1/consent/evaluate", {"document": pdf})
    assert "Null characters" not in response.content.decode()
