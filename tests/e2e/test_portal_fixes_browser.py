"""Portal fixes of issue 13 (part 3) that only a browser shows: Enter in the request form saves
the draft and keeps the chosen file (Enter in the dataset search box searches), the country is
chosen by name, and the token page fits a phone's width and copies the token.

Same Chromium and fixtures as the journey (tests/e2e/conftest.py)."""

from __future__ import annotations

import base64
import os
import re

import pytest

from access.models import AccessRequest, Grant
from tests.access_world import approve_part, submit_request
from tokens import keyring, keys

from .conftest import ETHICS_PDF, Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _page_width(tab: Journey) -> int:
    return tab.page.evaluate("document.documentElement.scrollWidth")


def test_enter_saves_the_draft_with_its_file_and_the_country_chosen_by_name(world, journey):
    lung, nsclc = world["datasets"]
    researcher = journey("researcher")
    researcher._sign_in(f"/accounts/login/?next={lung.get_absolute_url()}", "Sign in")
    researcher.click_and_load(researcher.role("link", f"Request access to {lung.accession}"))
    page = researcher.page

    # Enter in the dataset search box searches (request-form.js), and saves nothing.
    page.get_by_label("Find datasets to add").fill(nsclc.accession)
    with page.expect_navigation():
        page.get_by_label("Find datasets to add").press("Enter")
    researcher.expect_text(f"Datasets matching “{nsclc.accession}”")
    assert not AccessRequest.objects.exists()

    page.get_by_label("Project title").fill("Enter saves")
    page.get_by_label("Country where the data will be used").select_option(label="Netherlands")
    page.get_by_label("Ethics approval document").set_input_files(
        {"name": "ethics-approval.pdf", "mimeType": "application/pdf", "buffer": ETHICS_PDF}
    )
    # Enter in an ordinary text box: the form's default button is the hidden "save".
    with page.expect_navigation():
        page.get_by_label("Institution").press("Enter")
    researcher.expect_text(re.compile(r"^Saved TSR-AR-\d+\."))
    saved = AccessRequest.objects.get()
    assert saved.title == "Enter saves"
    assert saved.country == "NL"
    assert saved.ethics_document, "the chosen file was kept"
    assert researcher.csp_violations == []


def test_the_token_page_fits_a_phone_copies_and_a_reload_issues_no_new_token(
    world, journey, settings, live_server
):
    settings.TESSERA_KEY_ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS = None
    keys.reset_kek_cache()
    keyring.reset_caches()
    keyring.keys_bootstrap(actor=None)
    lung, _ = world["datasets"]
    request = submit_request(world["researcher"], [lung], country="NL")
    approve_part(request, lung, world["chair"])
    assert Grant.objects.filter(user=world["researcher"]).exists()

    researcher = journey("researcher")
    researcher.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    researcher.page.set_viewport_size({"width": 390, "height": 844})
    researcher._sign_in("/accounts/login/?next=/access/", "Sign in")
    researcher.click_and_load(researcher.role("button", f"Get a token for {lung.accession}"))
    page = researcher.page
    researcher.expect(researcher.role("heading", re.compile(r"^Your token for")))
    assert _page_width(researcher) <= 390, "the token and the curl line wrap"
    token = page.locator("#token").input_value()
    researcher.role("button", "Copy the token").click()
    researcher.expect_text("Copied the token.")
    assert page.evaluate("navigator.clipboard.readText()") == token

    # Reloading re-sends the form: a page that says so, and no second token.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.reload()
    researcher.expect(researcher.role("heading", f"No new token for {lung.accession}"))
    assert page.locator("#token").count() == 0
    assert _page_width(researcher) <= 390
    assert researcher.csp_violations == []
