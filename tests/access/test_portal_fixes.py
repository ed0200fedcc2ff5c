"""Portal dead ends of issue 13 (part 3): the country chosen by name, Enter saves the draft,
agreements accepted in one step, DUO codes readable without hovering, the flash-message list."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from access.models import AccessRequest
from access.services import requests as request_services
from governance.countries import COUNTRY_NAMES, country_code_for
from governance.rules import ISO_COUNTRIES

from .test_portal import client_for, form_data, pdf_upload, text_of

pytestmark = pytest.mark.django_db


# --- 1. the country, chosen by name, stored as its ISO code --------------------------------------
def test_every_iso_code_has_a_name_and_nothing_else_does():
    assert set(COUNTRY_NAMES) == ISO_COUNTRIES
    assert len(COUNTRY_NAMES) == 249


@pytest.mark.parametrize(
    "typed,code",
    [("Netherlands", "NL"), ("  netherlands ", "NL"), ("nl", "NL"), ("NE", "NE"), ("Niger", "NE")],
)
def test_a_name_or_a_code_gives_the_code(typed, code):
    assert country_code_for(typed) == code


@pytest.mark.parametrize("typed", ["Neth", "Holland", "UK", "ZZ", "N", "Netherlandsx"])
def test_anything_else_gives_no_code_rather_than_a_cut_guess(typed):
    assert country_code_for(typed) is None


def test_the_form_lists_countries_by_name_with_the_code_as_value(researcher):
    html = client_for(researcher).get(reverse("access:request-create")).content.decode()
    select = re.search(
        r'<select name="country"[^>]*id="id_country"[^>]*>(.*?)</select>', html, re.S
    )
    assert select, "the country is a list"
    assert '<option value="NL">Netherlands</option>' in select[1]
    assert '<option value="GB">United Kingdom</option>' in select[1]
    assert 'maxlength="2"' not in html
    assert '<label for="id_country">Country where the data will be used</label>' in html


@pytest.mark.parametrize("posted", ["NL", "Netherlands"])
def test_choosing_netherlands_stores_nl(researcher, dataset, posted):
    response = client_for(researcher).post(
        reverse("access:request-create"), form_data([dataset], country=posted)
    )
    assert response.status_code == 302, text_of(response)[:2000]
    assert AccessRequest.objects.get().country == "NL"


def test_a_stored_code_is_shown_chosen_when_editing(researcher, dataset):
    client = client_for(researcher)
    client.post(reverse("access:request-create"), form_data([dataset], country="NL"))
    draft = AccessRequest.objects.get()
    html = client.get(reverse("access:request-edit", kwargs={"pk": draft.pk})).content.decode()
    assert '<option value="NL" selected>Netherlands</option>' in html


@pytest.mark.parametrize("posted", ["Netherlandsx", "UK", "ZZ", "Holland"])
def test_a_bad_country_is_a_form_error_and_nothing_is_stored(researcher, dataset, posted):
    response = client_for(researcher).post(
        reverse("access:request-create"), form_data([dataset], country=posted)
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Country where the data will be used: Choose the country from the list." in text
    assert not AccessRequest.objects.exists()


def test_the_model_refuses_a_well_shaped_code_that_is_not_assigned(researcher, dataset):
    """What the API and every other caller of the services meet: codes, not names."""
    with pytest.raises(ValidationError) as caught:
        request_services.request_create(
            applicant=researcher, data={"title": "T", "country": "ZZ"}, datasets=[dataset]
        )
    assert "country" in caught.value.message_dict
    saved = request_services.request_create(
        applicant=researcher, data={"title": "T", "country": "SE"}, datasets=[dataset]
    )
    assert saved.country == "SE"


# --- 2. Enter saves the draft -------------------------------------------------------------------
def _submit_buttons(html: str) -> list[str]:
    form = re.search(r'<form method="post" enctype="multipart/form-data".*?</form>', html, re.S)
    return re.findall(r"<button[^>]*type=\"submit\"[^>]*>", form[0])


def test_the_first_submit_button_of_the_request_form_saves(researcher, draft):
    client = client_for(researcher)
    for url in (
        reverse("access:request-create"),
        reverse("access:request-edit", kwargs={"pk": draft.pk}),
    ):
        buttons = _submit_buttons(client.get(url).content.decode())
        assert 'value="save"' in buttons[0], buttons
        assert any('value="find-datasets"' in b for b in buttons[1:])


def test_find_datasets_still_searches_without_javascript(researcher, dataset, other_dataset):
    data = form_data([dataset], action="find-datasets", dataset_q="colon")
    response = client_for(researcher).post(reverse("access:request-create"), data)
    assert response.status_code == 200
    assert not AccessRequest.objects.exists()


def test_enter_with_a_search_typed_saves_and_keeps_the_file(researcher, dataset):
    """What the browser sends for Enter in a text box: the hidden default button's action."""
    data = form_data([dataset], dataset_q="colon", disease_q="lung")
    data["ethics_document"] = pdf_upload()
    response = client_for(researcher).post(reverse("access:request-create"), data)
    assert response.status_code == 302
    assert AccessRequest.objects.get().ethics_document
