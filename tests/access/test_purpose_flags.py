"""The research purpose's yes/no questions are one set of facts: the consent engine declares them,
and the request form, the request's page, its history, the API, the locked answers and the
engine's input all name and carry the same ones, in the same words."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from access import lifecycle
from access.answers import PURPOSE_FLAGS
from access.matching import purpose_for_request
from access.services import requests as request_services
from governance import matching
from tests.access_world import make_draft

from .test_portal import client_for, detail_url, text_of

pytestmark = pytest.mark.django_db

LABEL = re.compile(r'<label for="id_([\w-]+)">([^<]+)</label>')


def labels(response) -> dict[str, str]:
    """Each form field's label on the page, by the field's HTML name."""
    return {name: unescape(text).strip() for name, text in LABEL.findall(response.content.decode())}


def test_the_request_form_asks_every_flag_of_the_engine_but_the_ethics_approval():
    assert set(PURPOSE_FLAGS) == set(matching.PURPOSE_FLAGS) - {"ethics_approval"}


def test_the_request_form_and_the_catalogue_ask_each_purpose_in_the_same_words(client, researcher):
    request_form = labels(client_for(researcher).get(reverse("access:request-create")))
    catalogue = labels(client.get("/datasets/"))
    assert {flag: request_form[flag] for flag in PURPOSE_FLAGS} == {
        flag: catalogue[f"p-{flag}"] for flag in PURPOSE_FLAGS
    }
    assert request_form["clinical_care"] == "Clinical care use"


def test_the_request_page_lists_the_ticked_purposes_as_the_form_labels_them(
    researcher, dataset, agreement
):
    draft = make_draft(researcher, [dataset], clinical_care=True, for_profit_organisation=True)
    page = text_of(client_for(researcher).get(detail_url(draft)))
    assert (
        "Kind of research Methods or algorithm development; "
        "Carried out by a for-profit organisation; Clinical care use Other purpose" in page
    )


def test_the_history_names_a_changed_answer_as_the_model_labels_it(researcher, dataset, agreement):
    draft = make_draft(researcher, [dataset])
    request_services.request_update(
        access_request=draft, actor=researcher, data={"for_profit_organisation": True}
    )
    page = text_of(client_for(researcher).get(detail_url(draft)))
    assert "You changed these answers: carried out by a for-profit organisation." in page


@pytest.mark.parametrize("flag", PURPOSE_FLAGS)
def test_each_ticked_purpose_reaches_the_engine_the_api_and_the_locked_answers(
    flag, researcher, dataset, agreement
):
    draft = make_draft(researcher, [dataset], **{"methods_development": False, flag: True})
    purpose = purpose_for_request(draft)
    assert {f: getattr(purpose, f) for f in PURPOSE_FLAGS} == {f: f == flag for f in PURPOSE_FLAGS}
    api = APIClient()
    api.force_authenticate(researcher)
    body = api.get(f"/api/v1/access-requests/{draft.pk}/").json()
    assert {f: body[f] for f in PURPOSE_FLAGS} == {f: f == flag for f in PURPOSE_FLAGS}
    assert lifecycle.locked_changes([flag], approvals_standing=True) == [flag]
