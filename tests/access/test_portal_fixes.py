"""Portal dead ends of issue 13 (part 3): the country chosen by name, Enter saves the draft,
agreements accepted in one step, DUO codes readable without hovering, the flash-message list."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.urls import reverse

from access.models import AccessRequest, AgreementAcceptance
from access.services import requests as request_services
from audit.choices import EventType
from audit.models import AuditEvent
from governance.countries import COUNTRY_NAMES, country_code_for
from governance.rules import ISO_COUNTRIES
from tests.access_world import api, publish_agreement

from .test_portal import client_for, detail_url, flashes, form_data, pdf_upload, text_of

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


def test_a_code_stored_before_the_list_is_shown_not_dropped(researcher, dataset):
    client = client_for(researcher)
    client.post(reverse("access:request-create"), form_data([dataset], country="NL"))
    draft = AccessRequest.objects.get()
    AccessRequest.objects.filter(pk=draft.pk).update(country="UK")  # as a past version allowed
    edit = reverse("access:request-edit", kwargs={"pk": draft.pk})
    html = client.get(edit).content.decode()
    assert '<option value="UK" selected>UK (not a country code)</option>' in html
    response = client.post(edit, form_data([dataset], country="UK"))
    assert "Choose the country from the list." in text_of(response)
    draft.refresh_from_db()
    assert draft.country == "UK"  # unchanged until a country is chosen


@pytest.mark.parametrize("posted", ["Netherlandsx", "UK", "ZZ", "Holland"])
def test_a_bad_country_is_a_form_error_and_nothing_is_stored(researcher, dataset, posted):
    response = client_for(researcher).post(
        reverse("access:request-create"), form_data([dataset], country=posted)
    )
    assert response.status_code == 200
    text = text_of(response)
    assert "Country where the data will be used: Choose the country from the list." in text
    assert not AccessRequest.objects.exists()


def test_the_services_refuse_a_well_shaped_code_that_is_not_assigned(researcher, dataset):
    with pytest.raises(ValidationError) as caught:
        request_services.request_create(
            applicant=researcher, data={"title": "T", "country": "ZZ"}, datasets=[dataset]
        )
    assert "country" in caught.value.message_dict
    saved = request_services.request_create(
        applicant=researcher, data={"title": "T", "country": "SE"}, datasets=[dataset]
    )
    assert saved.country == "SE"
    with pytest.raises(ValidationError):
        request_services.request_update(
            access_request=saved, actor=researcher, data={"country": "EL"}
        )


@pytest.mark.parametrize("country,status", [("NL", 201), ("ZZ", 400), ("Netherlands", 400)])
def test_the_api_stays_code_based(researcher, dataset, country, status):
    response = api(researcher).post(
        "/api/v1/access-requests/",
        {"title": "TILs", "datasets": [dataset.accession], "country": country},
        format="json",
    )
    assert response.status_code == status, response.json()
    if status == 400:
        assert "country" in str(response.json())
    else:
        assert response.json()["country"] == "NL"


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


# --- 5. the favicon; 6. the flash messages are a real list ----------------------------------------
class _ListItems(HTMLParser):
    """Every <li> with its parent element, as axe's `listitem` rule sees it: the parent must be
    a <ul>, <ol> or <menu> that kept its list role (no other `role`)."""

    VOID = {"meta", "link", "input", "img", "br", "hr", "source", "col", "area", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.bad: list[str] = []
        self.items = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li":
            self.items += 1
            parent, parent_attrs = self.stack[-1] if self.stack else ("", {})
            if parent not in ("ul", "ol", "menu") or parent_attrs.get("role", "list") != "list":
                self.bad.append(f"<li> in <{parent} {parent_attrs}>")
        if tag not in self.VOID:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def test_the_flash_messages_are_list_items_of_a_list_inside_a_live_region(researcher, dataset):
    response = client_for(researcher).post(
        reverse("access:request-create"), form_data([dataset]), follow=True
    )
    html = response.content.decode()
    assert "Saved TSR-AR-" in html  # a message is shown
    checker = _ListItems()
    checker.feed(html)
    assert checker.items and checker.bad == []
    assert re.search(r'<div class="wrap" role="status">\s*<ul class="messages">', html)


def test_every_portal_page_links_the_favicon_and_the_file_is_served(client, researcher):
    assert finders.find("favicon.svg")
    assert Path(finders.find("favicon.svg")).read_text(encoding="utf-8").lstrip().startswith("<svg")
    for url in (reverse("portal:catalogue"), reverse("login")):
        html = client.get(url).content.decode()
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    html = client_for(researcher).get(reverse("access:grant-list")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html


# --- 8. every outstanding agreement accepted in one step ------------------------------------------
def _accept_all_form(html: str) -> str | None:
    found = re.search(
        r'<form method="post" action="[^"]*/agreements/accept-all/".*?</form>', html, re.S
    )
    return found[0] if found else None


def _accepted_events(draft) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(event_type=EventType.AGREEMENT_ACCEPTED, target_id=str(draft.pk))
    )


def test_one_button_accepts_every_outstanding_agreement_with_an_event_each(
    draft, researcher, agreement, other_agreement
):
    client = client_for(researcher)
    form = _accept_all_form(client.get(detail_url(draft)).content.decode())
    assert form, "two agreements outstanding: the accept-all button is offered"
    assert sorted(re.findall(r'name="agreement" value="(\d+)"', form)) == sorted(
        [str(agreement.pk), str(other_agreement.pk)]
    )
    assert "I accept all 2 agreements above" in form
    posted = {"agreement": [agreement.pk, other_agreement.pk]}
    response = client.post(reverse("access:agreements-accept-all", kwargs={"pk": draft.pk}), posted)
    assert response.status_code == 302
    accepted = AgreementAcceptance.objects.filter(request=draft, user=researcher)
    assert {a.agreement_id for a in accepted} == {agreement.pk, other_agreement.pk}
    events = _accepted_events(draft)
    assert sorted(e.payload["agreement"] for e in events) == sorted(
        [agreement.pk, other_agreement.pk]
    )
    page = client.get(detail_url(draft)).content.decode()
    assert _accept_all_form(page) is None  # nothing left to accept
    assert text_of(client.get(detail_url(draft))).count("You accepted this version.") == 2


def test_the_button_is_not_offered_for_a_single_outstanding_agreement(draft, researcher, agreement):
    request_services.agreement_accept(access_request=draft, user=researcher, agreement=agreement)
    assert _accept_all_form(client_for(researcher).get(detail_url(draft)).content.decode()) is None


def test_a_teammate_accepts_all_for_themselves_only(
    draft, teammate, researcher, agreement, other_agreement
):
    client = client_for(teammate)
    assert _accept_all_form(client.get(detail_url(draft)).content.decode())
    client.post(
        reverse("access:agreements-accept-all", kwargs={"pk": draft.pk}),
        {"agreement": [agreement.pk, other_agreement.pk]},
    )
    assert AgreementAcceptance.objects.filter(request=draft, user=teammate).count() == 2
    assert not AgreementAcceptance.objects.filter(request=draft, user=researcher).exists()


def test_a_version_replaced_meanwhile_refuses_the_whole_step(
    draft, researcher, agreement, other_agreement, other_committee
):
    """All or none: the person accepts what they were shown, never a version they did not see."""
    publish_agreement(other_committee, "Data access agreement")  # version 2 replaces version 1
    response = client_for(researcher).post(
        reverse("access:agreements-accept-all", kwargs={"pk": draft.pk}),
        {"agreement": [agreement.pk, other_agreement.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert not AgreementAcceptance.objects.filter(request=draft).exists()
    assert not AuditEvent.objects.filter(event_type=EventType.AGREEMENT_ACCEPTED).exists()
    assert any(m.startswith("Nothing was accepted.") for m in flashes(response))


def test_nothing_posted_is_refused_and_an_outsider_gets_404(draft, researcher, outsider, agreement):
    url = reverse("access:agreements-accept-all", kwargs={"pk": draft.pk})
    response = client_for(researcher).post(url, {}, follow=True)
    assert any("There is no agreement to accept" in m for m in flashes(response))
    assert client_for(outsider).post(url, {"agreement": [agreement.pk]}).status_code == 404
    assert not AgreementAcceptance.objects.exists()


@pytest.mark.parametrize("bad", ["²", "9" * 40, "-1", "1.0", "x"])
def test_a_hostile_agreement_id_is_no_id_never_a_500(draft, researcher, bad):
    url = reverse("access:agreements-accept-all", kwargs={"pk": draft.pk})
    response = client_for(researcher).post(url, {"agreement": [bad]}, follow=True)
    assert response.status_code == 200
    assert any("There is no agreement to accept" in m for m in flashes(response))
