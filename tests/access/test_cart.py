"""The cart (issue 13, part 3): a dataset added to an open draft from the catalogue and from its
page ("Add to draft TSR-AR-…?"), and the notices for datasets a person already holds or already
has in an open request; the purpose verdict beside the dataset's title."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from access.lifecycle import TransitionRefused
from access.services import requests as request_services
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Forbidden, Invalid
from governance import services as gov
from tests import factories
from tests.access_world import approve_part, make_draft

from .test_portal import client_for, detail_url, flashes, text_of

pytestmark = pytest.mark.django_db

CART = reverse("access:cart")


def cart_url(*accessions) -> str:
    return CART + "?" + urlencode([("dataset", a) for a in accessions])


@pytest.fixture
def third_dataset(committee, organisation):
    return factories.dataset(
        committee=committee, controller=organisation, title="Breast resections", organ="breast"
    )


@pytest.fixture
def lone_draft(researcher, dataset):
    return make_draft(researcher, [dataset], title="Lymphocytes in lung tumours")


def changed_events(access_request):
    return AuditEvent.objects.filter(
        event_type=EventType.REQUEST_CHANGED,
        target_type="access.accessrequest",
        target_id=str(access_request.pk),
    )


# --- where the dataset goes: no draft, one, several ---------------------------------------------
def test_with_no_draft_open_the_cart_starts_a_new_request_with_the_dataset(researcher, dataset):
    response = client_for(researcher).get(cart_url(dataset.accession))
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("access:request-create") + f"?dataset={dataset.accession}"
    )


def test_with_one_draft_open_it_asks_add_to_draft_with_its_title_and_reference(
    researcher, lone_draft, third_dataset
):
    response = client_for(researcher).get(cart_url(third_dataset.accession))
    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(response)
    assert f"Add to draft {lone_draft.reference}?" in text
    assert "“Lymphocytes in lung tumours”" in text
    assert third_dataset.title in text
    assert f'<input type="hidden" name="request" value="{lone_draft.pk}">' in html
    assert "csrfmiddlewaretoken" in html
    assert (
        f'href="/requests/new/?dataset={third_dataset.accession}">Start a new request instead'
        in html
    )


def test_adding_to_the_one_draft_adds_the_dataset_and_records_the_change(
    researcher, lone_draft, dataset, third_dataset
):
    response = client_for(researcher).post(
        CART, {"dataset": third_dataset.accession, "request": lone_draft.pk}
    )
    assert response.status_code == 302 and response["Location"] == detail_url(lone_draft)
    assert set(lone_draft.datasets.all()) == {dataset, third_dataset}
    assert any(
        f"Added {third_dataset.accession} to {lone_draft.reference}" in m for m in flashes(response)
    )
    event = changed_events(lone_draft).get()
    assert event.payload == {"fields": ["datasets"]}


def test_with_several_drafts_the_person_chooses_which(
    researcher, lone_draft, other_dataset, third_dataset
):
    second = make_draft(researcher, [other_dataset], title="Colon study")
    client = client_for(researcher)
    response = client.get(cart_url(third_dataset.accession))
    html = response.content.decode()
    assert "Which draft should it join?" in text_of(response)
    for draft in (lone_draft, second):
        assert f'name="request" id="draft-{draft.pk}" value="{draft.pk}"' in html
    client.post(CART, {"dataset": third_dataset.accession, "request": second.pk})
    assert third_dataset in second.datasets.all()
    assert third_dataset not in lone_draft.datasets.all()


def test_without_a_chosen_draft_nothing_is_added_and_it_asks_again(
    researcher, lone_draft, other_dataset, third_dataset
):
    make_draft(researcher, [other_dataset])
    response = client_for(researcher).post(CART, {"dataset": third_dataset.accession})
    assert response.status_code == 302 and response["Location"] == cart_url(third_dataset.accession)
    assert any("Choose the draft" in m for m in flashes(response))
    assert third_dataset not in lone_draft.datasets.all()


def test_a_draft_that_has_the_dataset_already_is_not_offered(researcher, lone_draft, dataset):
    response = client_for(researcher).get(cart_url(dataset.accession))
    text = text_of(response)
    assert f"Already in draft {lone_draft.reference}" in text
    assert f"{lone_draft.reference} already asks for it" in text
    assert f"Add to draft {lone_draft.reference}" not in text
    assert 'name="request"' not in response.content.decode()


def test_the_cart_needs_a_sign_in_and_a_csrf_token(researcher, lone_draft, third_dataset):
    anonymous = Client().get(cart_url(third_dataset.accession))
    assert anonymous.status_code == 302 and settings.LOGIN_URL in anonymous["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(researcher)
    response = strict.post(CART, {"dataset": third_dataset.accession, "request": lone_draft.pk})
    assert response.status_code == 403
    assert third_dataset not in lone_draft.datasets.all()


# --- refusals -----------------------------------------------------------------------------------
def test_someone_elses_draft_is_a_404_even_for_its_team(
    researcher, teammate, outsider, draft, third_dataset
):
    for person in (outsider, teammate):
        response = client_for(person).post(
            CART, {"dataset": third_dataset.accession, "request": draft.pk}
        )
        assert response.status_code == 404
    assert third_dataset not in draft.datasets.all()
    assert (
        client_for(researcher)
        .post(CART, {"dataset": third_dataset.accession, "request": "x"})
        .status_code
        == 404
    )


def test_only_the_applicant_adds_datasets(teammate, draft, third_dataset):
    with pytest.raises(Forbidden):
        request_services.request_datasets_add(
            access_request=draft, actor=teammate, datasets=[third_dataset]
        )


def test_a_submitted_request_is_not_a_cart(researcher, submitted, third_dataset):
    with pytest.raises(TransitionRefused, match="added to a draft only"):
        request_services.request_datasets_add(
            access_request=submitted, actor=researcher, datasets=[third_dataset]
        )
    response = client_for(researcher).post(
        CART, {"dataset": third_dataset.accession, "request": submitted.pk}
    )
    assert response["Location"] == detail_url(submitted)
    assert any("Not added" in m and "Start a new request" in m for m in flashes(response))
    assert third_dataset not in submitted.datasets.all()
    assert not changed_events(submitted).exists()


def test_a_retired_dataset_is_refused_by_name(researcher, lone_draft, third_dataset):
    gov.dataset_retire(dataset=third_dataset, actor=None, reason="consent withdrawn")
    third_dataset.refresh_from_db()
    with pytest.raises(Invalid, match=third_dataset.accession):
        request_services.request_datasets_add(
            access_request=lone_draft, actor=researcher, datasets=[third_dataset]
        )
    response = client_for(researcher).post(
        CART, {"dataset": third_dataset.accession, "request": lone_draft.pk}
    )
    assert any(
        "No longer available in the catalogue" in m and third_dataset.accession in m
        for m in flashes(response)
    )
    assert third_dataset not in lone_draft.datasets.all()


def test_an_unpublished_or_unknown_dataset_is_not_in_the_catalogue(
    researcher, lone_draft, committee, organisation
):
    hidden = factories.dataset(committee=committee, controller=organisation, publish=False)
    for accession in (hidden.accession, "TSR-DS-999999"):
        response = client_for(researcher).post(
            CART, {"dataset": accession, "request": lone_draft.pk}
        )
        assert response["Location"] == reverse("portal:catalogue")
        assert any(f"Not in the catalogue: {accession}" in m for m in flashes(response))
    assert hidden not in lone_draft.datasets.all()


# --- the catalogue and the dataset's page -------------------------------------------------------
def test_the_catalogue_offers_the_cart_once_a_draft_is_open(researcher, dataset, third_dataset):
    client = client_for(researcher)
    html = client.get(reverse("portal:catalogue")).content.decode()
    assert f'href="/requests/new/?dataset={third_dataset.accession}"' in html
    make_draft(researcher, [dataset])
    html = client.get(reverse("portal:catalogue")).content.decode()
    assert f'href="/requests/cart/?dataset={third_dataset.accession}"' in html


def test_the_dataset_page_asks_about_the_one_open_draft(researcher, lone_draft, third_dataset):
    response = client_for(researcher).get(third_dataset.get_absolute_url())
    html = response.content.decode()
    assert f"Add to draft {lone_draft.reference}? “Lymphocytes in lung tumours”" in text_of(
        response
    )
    form = re.search(r'<form method="post" action="/requests/cart/".*?</form>', html, re.S)
    assert form and "csrfmiddlewaretoken" in form[0]
    assert f'value="{lone_draft.pk}"' in form[0] and f'value="{third_dataset.accession}"' in form[0]
    assert "Start a new request instead" in form[0]


def test_a_dataset_in_an_open_request_says_so(researcher, lone_draft, dataset):
    for url in (reverse("portal:catalogue"), dataset.get_absolute_url()):
        text = text_of(client_for(researcher).get(url))
        assert f"In your request {lone_draft.reference} (draft)" in text


def test_a_dataset_already_held_says_until_when_with_a_link_to_my_access(
    researcher, submitted, dataset, chair
):
    end = approve_part(submitted, dataset, chair)
    for url in (reverse("portal:catalogue"), dataset.get_absolute_url()):
        response = client_for(researcher).get(url)
        text = text_of(response)
        assert f"You already have access until {end.strftime('%-d %b %Y')}" in text
        assert (
            f'<a href="{reverse("access:grant-list")}">My access</a>' in response.content.decode()
        )
    # Decided, the part is no longer an open request.
    assert f"In your request {submitted.reference}" not in text


def test_another_persons_holdings_are_not_shown(outsider, submitted, dataset, chair):
    approve_part(submitted, dataset, chair)
    text = text_of(client_for(outsider).get(reverse("portal:catalogue")))
    assert "You already have access" not in text and "In your request" not in text
    assert "You already have access" not in text_of(Client().get(dataset.get_absolute_url()))


# --- the purpose verdict beside the title, readable at 390 px -----------------------------------
def test_the_verdict_stands_beside_the_title_not_in_a_column_of_its_own(client, dataset):
    html = client.get(
        reverse("portal:catalogue"), {"p-diseases": "DOID:1324", "p-methods_development": "on"}
    ).content.decode()
    header = re.search(r"<thead>(.*?)</thead>", html, re.S)[1]
    assert header.count("<th") == 9
    assert "Title, and whether it fits your purpose" in header
    title_cell = re.search(r'<th scope="row" class="title-cell">(.*?)</th>', html, re.S)[1]
    assert escape(dataset.title) in title_cell
    assert '<details class="verdict verdict--' in title_cell
    assert f"the reasons for {dataset.accession}" in title_cell
    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S)[1]
    assert (
        row.count("<td") == 8
    )  # accession, species, organ, stains, slides, size, consent, committee


def test_hidden_text_stays_inside_the_scroll_box():
    css = (Path(settings.BASE_DIR) / "static" / "tessera.css").read_text()
    hidden = re.search(r"\.visually-hidden \{(.*?)\}", css, re.S)[1]
    assert "position: absolute" in hidden and "clip-path: inset(50%)" in hidden
    scroll = re.search(r"\.table-scroll \{(.*?)\}", css, re.S)[1]
    assert "position: relative" in scroll and "overflow-x: auto" in scroll
