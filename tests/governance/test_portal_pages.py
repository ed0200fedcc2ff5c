"""The researcher-facing catalogue pages: what a person sees, and what they must not see."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance import services
from governance.models import AccessAgreement, DatasetParty
from tests import factories

pytestmark = pytest.mark.django_db

CATALOGUE = reverse("portal:catalogue")


def text_of(response) -> str:
    """The page's visible text with whitespace collapsed, so assertions read like the page."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(a|abbr|strong|em|span|code)\b[^>]*>", "", html)  # inline: no gap
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def accessions_listed(response) -> list[str]:
    return re.findall(r'<td class="accession">(TSR-DS-\d{6})</td>', response.content.decode())


class _Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings: list[int] = []
        self.landmarks: set[str] = set()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.html_lang: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag in {"header", "nav", "main", "footer"}:
            self.landmarks.add(tag)
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag in {"input", "select", "textarea"} and attrs.get("type") not in {
            "hidden",
            "submit",
        }:
            self.controls.append(attrs)


def outline(response) -> _Outline:
    parser = _Outline()
    parser.feed(response.content.decode())
    return parser


def assert_accessible_skeleton(response) -> None:
    """The structural checks a screen-reader user relies on, on every page."""
    page = outline(response)
    assert page.html_lang == "en-GB"
    assert {"header", "nav", "main", "footer"} <= page.landmarks
    assert 'href="#main"' in response.content.decode()
    assert page.headings.count(1) == 1 and page.headings[0] == 1
    for previous, current in zip(page.headings, page.headings[1:], strict=False):
        assert current <= previous + 1, f"heading level jumps from h{previous} to h{current}"
    unlabelled = [c for c in page.controls if c.get("id") not in page.label_for]
    assert not unlabelled, f"form controls without a <label>: {unlabelled}"


# --- home -------------------------------------------------------------------------------------
def test_home_counts_published_datasets_only(client, committee, organisation):
    factories.dataset(committee=committee, controller=organisation, slide_count=1200)
    factories.dataset(committee=committee, controller=organisation, slide_count=34)
    factories.dataset(committee=committee, controller=organisation, publish=False)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert_accessible_skeleton(response)
    text = text_of(response)
    assert "Published datasets 2" in text
    assert "Slides 1,234" in text
    assert reverse("portal:catalogue") in response.content.decode()


# --- catalogue --------------------------------------------------------------------------------
def test_catalogue_lists_published_datasets_with_their_key_facts(client, committee, organisation):
    scope = factories.consent_scope("GRU", modifiers=["NPU"])
    dataset = factories.dataset(
        committee=committee,
        controller=organisation,
        title="Lung adenocarcinoma H&E",
        stains="H&E, Ki-67",
        slide_count=4321,
        total_bytes=1_319_413_953_331,
        consent_scope=scope,
    )
    response = client.get(CATALOGUE)
    assert response.status_code == 200
    assert_accessible_skeleton(response)
    html = response.content.decode()
    text = text_of(response)
    assert accessions_listed(response) == [dataset.accession]
    assert f'href="{dataset.get_absolute_url()}"' in html
    assert "Lung adenocarcinoma H&amp;E" in html
    assert "H&E, Ki-67" in text
    assert "4,321" in text
    assert "1.2 TB" in text
    # DUO codes are readable without hovering: each label is shown beside its code.
    assert "GRU general research use" in text
    assert "NPU not for profit organisation use only" in text
    assert "<abbr" not in html.split('class="consent"', 1)[1].split("</td>", 1)[0]
    assert f'href="{committee.get_absolute_url()}"' in html
    assert "1 dataset published" in text
    assert "<caption" in html and 'scope="col"' in html and 'scope="row"' in html


def test_draft_and_retired_datasets_are_not_in_the_catalogue(client, committee, organisation):
    published = factories.dataset(committee=committee, controller=organisation)
    factories.dataset(committee=committee, controller=organisation, publish=False)
    retired = factories.dataset(committee=committee, controller=organisation)
    services.dataset_retire(dataset=retired, actor=None, reason="consent withdrawn")
    response = client.get(CATALOGUE)
    assert accessions_listed(response) == [published.accession]


def test_search_matches_title_words_and_accessions(client, committee, organisation):
    lung = factories.dataset(committee=committee, controller=organisation, title="Lung resections")
    colon = factories.dataset(committee=committee, controller=organisation, title="Colon biopsies")
    assert accessions_listed(client.get(CATALOGUE, {"q": "resection"})) == [lung.accession]
    assert accessions_listed(client.get(CATALOGUE, {"q": colon.accession})) == [colon.accession]
    assert "1 dataset matches your search" in text_of(client.get(CATALOGUE, {"q": "biopsies"}))


def test_species_and_organ_filters_narrow_the_list(client, committee, organisation):
    human_lung = factories.dataset(committee=committee, controller=organisation, organ="lung")
    factories.dataset(committee=committee, controller=organisation, organ="colon")
    mouse_lung = factories.dataset(
        committee=committee, controller=organisation, organ="lung", species="animal"
    )
    assert accessions_listed(client.get(CATALOGUE, {"organ": "lung"})) == [
        human_lung.accession,
        mouse_lung.accession,
    ]
    both = client.get(CATALOGUE, {"organ": "Lung", "species": "animal"})
    assert accessions_listed(both) == [mouse_lung.accession]
    # The filters the person chose stay chosen in the form.
    assert '<option value="animal" selected>' in both.content.decode()
    assert '<option value="lung" selected>' in both.content.decode()


def test_duo_filter_accepts_a_shorthand_or_a_curie(client, committee, organisation):
    npu = factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope("GRU", modifiers=["NPU"]),
    )
    factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope("HMB"),
    )
    assert accessions_listed(client.get(CATALOGUE, {"duo": "NPU"})) == [npu.accession]
    assert accessions_listed(client.get(CATALOGUE, {"duo": "DUO:0000045"})) == [npu.accession]
    assert '<option value="DUO:0000045" selected>' in (
        client.get(CATALOGUE, {"duo": "npu"}).content.decode()
    )


def test_disease_filter_accepts_a_curie_or_an_exact_label_and_includes_descendants(
    client, committee, organisation
):
    lung = factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope("DS", diseases=["DOID:1324"]),  # lung cancer
    )
    factories.dataset(
        committee=committee,
        controller=organisation,
        consent_scope=factories.consent_scope("DS", diseases=["DOID:114"]),  # heart disease
    )
    assert accessions_listed(client.get(CATALOGUE, {"disease": "DOID:162"})) == [lung.accession]
    assert accessions_listed(client.get(CATALOGUE, {"disease": "Cancer"})) == [lung.accession]
    assert accessions_listed(client.get(CATALOGUE, {"disease": "lung cancer"})) == [lung.accession]


def test_committee_filter_narrows_the_list(client, dataset, other_dataset, other_committee):
    response = client.get(CATALOGUE, {"committee": other_committee.slug})
    assert accessions_listed(response) == [other_dataset.accession]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("disease", "DOID:99999999", "No disease “DOID:99999999” in the Human Disease Ontology"),
        ("disease", "no such illness", "No disease “no such illness”"),
        ("duo", "XYZ", "“XYZ” is not a DUO permission or modifier"),
        ("duo", "DUO:0000031", "not a DUO permission or modifier"),  # a DUO term, not a scope term
        ("species", "plant", "Choose human or laboratory animal."),
        ("organ", "spleen", "No published dataset has the organ “spleen”."),
        ("committee", "nobody", "No committee “nobody”"),
    ],
)
def test_a_bad_filter_shows_its_error_next_to_it_and_no_results(
    client, dataset, field, value, message
):
    response = client.get(CATALOGUE, {field: value, "q": "lung"})
    assert response.status_code == 200
    html = response.content.decode()
    assert accessions_listed(response) == []
    # The error sits in the field's own block, is tied to the control, and is summarised on top.
    error_list = re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>(.*?)</li>', html)
    assert error_list and message in error_list.group(1)
    control = re.search(rf'<(?:input|select)[^>]*id="id_{field}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control
    assert f"id_{field}_error" in control
    assert f'href="#id_{field}"' in html
    assert response.context["form"].errors.keys() == {field}
    assert "Error:" in html.split("</title>")[0]


def test_an_unknown_disease_name_offers_the_nearest_names_as_links(client, dataset):
    response = client.get(CATALOGUE, {"disease": "lung canc", "organ": "lung"})
    html = response.content.decode()
    assert "Did you mean one of these?" in html
    assert '<a href="?disease=DOID%3A1324&amp;organ=lung">lung cancer</a>' in html
    assert "No results until the filter marked above is corrected." in text_of(response)


def test_disease_filter_links_to_the_disease_search(client, dataset):
    html = client.get(CATALOGUE, {"disease": "lung canc"}).content.decode()
    assert f'href="{reverse("portal:disease-search")}?q=lung%20canc"' in html


def test_pagination_keeps_the_filters(client, committee, organisation):
    lung = [
        factories.dataset(committee=committee, controller=organisation, organ="lung")
        for _ in range(23)
    ]
    factories.dataset(committee=committee, controller=organisation, organ="colon")
    first = client.get(CATALOGUE, {"organ": "lung"})
    assert len(accessions_listed(first)) == 20
    assert "23 datasets match your search; showing 1–20" in text_of(first)  # noqa: RUF001
    html = first.content.decode()
    assert '<a href="?organ=lung&amp;page=2" rel="next">' in html
    second = client.get(CATALOGUE, {"organ": "lung", "page": 2})
    assert accessions_listed(second) == [d.accession for d in lung[20:]]
    assert '<a href="?organ=lung&amp;page=1" rel="prev">' in second.content.decode()
    assert 'aria-current="page"><span class="visually-hidden">Page </span>2' in (
        second.content.decode()
    )


def test_a_page_number_out_of_range_shows_the_last_page(client, dataset):
    response = client.get(CATALOGUE, {"page": "999"})
    assert response.status_code == 200
    assert accessions_listed(response) == [dataset.accession]
    assert client.get(CATALOGUE, {"page": "abc"}).status_code == 200


def _catalogue_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CATALOGUE, {"disease": "DOID:162"})
    assert response.status_code == 200
    return len(captured), len(accessions_listed(response))


def test_catalogue_query_count_does_not_grow_with_the_datasets_on_the_page(
    client, committee, organisation, other_committee
):
    def add(n: int) -> None:
        for i in range(n):
            factories.dataset(
                committee=[committee, other_committee][i % 2],
                controller=organisation,
                organ=f"organ {i}",
                consent_scope=factories.consent_scope(
                    "DS", diseases=["DOID:1324"], modifiers=["NPU", "PUB"]
                ),
            )

    add(5)
    few, listed = _catalogue_queries(client)
    assert listed == 5
    add(15)
    many, listed = _catalogue_queries(client)
    assert listed == 20
    assert many == few


# --- dataset ----------------------------------------------------------------------------------
def test_dataset_page_spells_out_everything_a_researcher_needs(client, committee, organisation):
    scope = factories.consent_scope(
        "DS",
        diseases=["DOID:1324"],
        modifiers=["GS", "MOR", "TS", "IRB"],
        region=["EU", "NL"],
        moratorium_until=date(2026, 6, 30),
        time_limit_months=24,
    )
    processor = factories.organisation("SURF", country="NL")
    dataset = factories.dataset(
        committee=committee,
        controller=organisation,
        title="Lung resections",
        description="Resections from 2012 to 2019.",
        stains="H&E, PD-L1",
        scanner="Philips UFS",
        slide_count=12000,
        total_bytes=2 * 10**12,
        consent_scope=scope,
        legal_basis=factories.legal_basis("e", "j", law="Dutch UAVG Art. 24"),
        retention_until=date(2040, 12, 31),
    )
    DatasetParty.objects.create(dataset=dataset, organisation=processor, role="processor")
    agreement = services.agreement_create(
        agreement=AccessAgreement(
            committee=committee, title="Radboud DAA", text="You will not re-identify anyone."
        ),
        actor=None,
    )
    services.agreement_publish(agreement=agreement, actor=None)

    response = client.get(dataset.get_absolute_url())
    assert response.status_code == 200
    assert_accessible_skeleton(response)
    html = response.content.decode()
    text = text_of(response)
    for fact in [
        "Lung resections",
        dataset.accession,
        "Resections from 2012 to 2019.",
        "Philips UFS",
        "12,000",
        "1.8 TB",
        "31 December 2040",
        # consent: permission, each modifier with its DUO description, parameters, diseases
        "DS — disease specific research DUO:0000007",
        "This data use permission indicates that use is allowed provided it is related to the specified disease",
        "GS — geographical restriction DUO:0000022",
        "Allowed regions: EU, NL",
        "No publication before: 30 June 2026",
        "Time limit: 24 months of use",
        "IRB — ethics approval required DUO:0000021",
        "DOID:1324 lung cancer",
        # legal basis
        "Art. 6(1)(e) — Public interest or official authority",
        "Art. 9(2)(j) — Archiving, scientific or historical research, or statistics",
        "Dutch UAVG Art. 24",
        # parties
        "Controller Radboud University Medical Center (NL)",
        "Processor SURF (NL)",
        # committee and agreement
        committee.name,
        f"Radboud DAA, version {agreement.version}",
        "You will not re-identify anyone.",
    ]:
        assert fact in text, fact
    assert f'href="{committee.get_absolute_url()}"' in html
    assert "<details" in html
    api_path = reverse("dataset-detail", kwargs={"accession": dataset.accession})
    assert f'href="{api_path}"' in html
    assert f"http://testserver{api_path}" in text
    assert f'href="/requests/new/?dataset={dataset.accession}"' in html
    assert "Request access" in text


def test_an_animal_dataset_explains_why_it_has_no_legal_basis(client, committee, organisation):
    mouse = factories.dataset(
        committee=committee, controller=organisation, species="animal", organ="liver"
    )
    text = text_of(client.get(mouse.get_absolute_url()))
    assert "not personal data, so no GDPR legal basis is needed" in text


def test_a_consent_based_dataset_warns_that_donors_may_withdraw(client, committee, organisation):
    dataset = factories.dataset(
        committee=committee,
        controller=organisation,
        legal_basis=factories.legal_basis("a", "a", law=""),
    )
    text = text_of(client.get(dataset.get_absolute_url()))
    assert "Art. 9(2)(a) — Explicit consent" in text
    assert "A donor may withdraw it at any time" in text


def test_named_users_are_not_published_on_the_dataset_page(client, committee, organisation):
    scope = factories.consent_scope("GRU", modifiers=["US"], named_users="alice.smith")
    dataset = factories.dataset(committee=committee, controller=organisation, consent_scope=scope)
    text = text_of(client.get(dataset.get_absolute_url()))
    assert "Only named users may use these data" in text
    assert "alice.smith" not in text


def test_draft_and_unknown_datasets_are_404(client, committee, organisation):
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get("/datasets/TSR-DS-999999/").status_code == 404


def test_a_retired_datasets_page_says_when_it_was_retired_with_410_gone(client, dataset):
    services.dataset_retire(dataset=dataset, actor=None, reason="consent withdrawn")
    dataset.refresh_from_db()
    response = client.get(dataset.get_absolute_url())
    assert response.status_code == 410
    text = text_of(response)
    assert f"This dataset was retired on {dataset.retired_at:%-d %B %Y}" in text
    assert dataset.accession in text and dataset.title in text
    assert "Request access" not in text
    assert "consent withdrawn" not in text  # the reason is the ledger's, not the public page's
    assert f'href="{CATALOGUE}"' in response.content.decode()


def test_a_draft_retired_before_it_was_ever_published_stays_404(client, committee, organisation):
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    services.dataset_retire(dataset=draft, actor=None, reason="never used")
    assert client.get(draft.get_absolute_url()).status_code == 404


# --- committee --------------------------------------------------------------------------------
def test_committee_page_shows_policy_contact_published_datasets_and_agreement(
    client, committee, organisation
):
    committee.decision_policy = "majority"
    committee.quorum = 3
    services.committee_update(committee=committee, actor=None)
    published = factories.dataset(committee=committee, controller=organisation)
    draft = factories.dataset(committee=committee, controller=organisation, publish=False)
    agreement = services.agreement_create(
        agreement=AccessAgreement(committee=committee, title="DAA", text="Clause one."),
        actor=None,
    )
    services.agreement_publish(agreement=agreement, actor=None)

    response = client.get(committee.get_absolute_url())
    assert response.status_code == 200
    assert_accessible_skeleton(response)
    text = text_of(response)
    assert "decided by a majority of the votes cast, once at least 3 members have voted" in text
    assert committee.contact_email in text
    assert accessions_listed(response) == [published.accession]
    assert draft.accession not in text
    assert "DAA, version 1" in text and "Clause one." in text


def test_unknown_committee_is_404(client):
    assert client.get(reverse("portal:committee", args=["no-such-dac"])).status_code == 404


# --- disease search ---------------------------------------------------------------------------
def test_disease_search_lists_curie_and_label_linking_to_the_filtered_catalogue(client):
    response = client.get(reverse("portal:disease-search"), {"q": "lung cancer"})
    assert response.status_code == 200
    assert_accessible_skeleton(response)
    results = response.context["results"]
    assert results[0].curie == "DOID:1324"  # the exact name first
    assert all("lung cancer" in term.label.lower() for term in results)
    html = response.content.decode()
    assert f'href="{CATALOGUE}?disease=DOID%3A1324">lung cancer</a>' in html
    assert '<span class="curie">DOID:1324</span>' in html


def test_disease_search_finds_a_curie(client):
    response = client.get(reverse("portal:disease-search"), {"q": "DOID:162"})
    assert [t.curie for t in response.context["results"]] == ["DOID:162"]


def test_disease_search_asks_for_two_characters(client):
    response = client.get(reverse("portal:disease-search"), {"q": "a"})
    assert response.status_code == 200
    assert "Type at least two characters." in text_of(response)
    assert response.context["results"] == []


# --- sign in and out --------------------------------------------------------------------------
def test_login_page_has_csrf_and_labelled_fields(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_accessible_skeleton(response)
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_username">' in html and '<label for="id_password">' in html


def test_wrong_password_is_explained(client, researcher):
    response = client.post(reverse("login"), {"username": "researcher", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in text_of(response)


def test_signed_in_researcher_sees_a_sign_out_form_with_csrf(client, researcher):
    client.force_login(researcher)
    html = client.get(reverse("portal:home")).content.decode()
    logout = re.search(r'<form method="post" action="/accounts/logout/".*?</form>', html, re.S)
    assert logout and 'name="csrfmiddlewaretoken"' in logout.group(0)
    assert "Signed in as" in html and "researcher" in html


def test_sign_out_is_a_post(client, researcher):
    client.force_login(researcher)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "Sign in" in text_of(client.get(reverse("portal:home")))
