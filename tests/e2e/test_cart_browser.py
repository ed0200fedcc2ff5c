"""The cart and the purpose verdict on a phone (issue 13, part 3): at 390 px the catalogue with a
purpose stated has no horizontal page scroll, even with a verdict's reasons open (its hidden
words stay inside the table's scroll box), and a dataset joins the open draft through
"Add to draft TSR-AR-…?".

Same Chromium and fixtures as the journey (tests/e2e/conftest.py)."""

from __future__ import annotations

import re

import pytest

from tests.access_world import make_draft

from .conftest import Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _page_width(tab: Journey) -> int:
    return tab.page.evaluate("document.documentElement.scrollWidth")


def test_the_catalogue_with_a_purpose_fits_a_phone_and_a_dataset_joins_the_draft(world, journey):
    lung, nsclc = world["datasets"]
    draft = make_draft(world["researcher"], [lung], title="Lung study")
    researcher = journey("researcher")
    researcher.page.set_viewport_size({"width": 390, "height": 844})
    researcher._sign_in("/accounts/login/?next=/datasets/%3Fp-methods_development%3Don", "Sign in")
    page = researcher.page
    assert _page_width(researcher) <= 390
    researcher.expect_text(f"In your request {draft.reference} (draft)")

    # The verdict sits in the title's cell; its reasons open there and wrap.
    title_cell = page.locator("th.title-cell", has_text=nsclc.title)
    summary = title_cell.locator("details.verdict > summary")
    summary.click()
    researcher.expect(title_cell.locator("details.verdict ul"))
    assert _page_width(researcher) <= 390, "the reasons and hidden words stay in the scroll box"

    researcher.click_and_load(title_cell.get_by_role("link", name=re.compile("^Add to a draft")))
    researcher.expect(researcher.role("heading", f"Add to draft {draft.reference}?"))
    assert _page_width(researcher) <= 390
    researcher.click_and_load(researcher.role("button", f"Add to draft {draft.reference}"))
    researcher.expect_text(re.compile(rf"^Added {nsclc.accession} to {draft.reference}"))
    assert set(draft.datasets.all()) == {lung, nsclc}
    assert researcher.csp_violations == []
