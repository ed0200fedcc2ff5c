"""The whole access journey in a real browser (headless Chromium driven by Playwright).

A researcher signs in through the identity provider's own page (oidc-provider-mock) and applies
for two datasets governed by two committees; a colleague with no account yet, invited by
e-mail, opens the link in a second browser context, signs in through the provider (their
account is made then) and accepts; the first committee's chair approves in the admin; the
second committee's chair returns the request with a question; the researcher edits, replies and
resubmits; the second chair approves; the researcher and the colleague see both grants on "My
access". Every step goes through the pages people use, by their accessible names, under the
production Content-Security-Policy: no page may trip it (Chromium's console says so).

Needs Debian's `chromium` (`apt-get install chromium`; Playwright's own browser download is not
used), or another Chromium named by TESSERA_CHROMIUM. Without one the test fails under CI=true
and is skipped elsewhere. Set TESSERA_E2E_SCREENSHOTS to a folder to keep a screenshot of each
step.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from governance.models import LegalBasisArticle
from tests import factories
from tests.access_world import publish_agreement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous for a shared CI machine, yet a broken step fails in seconds, not minutes.
STEP_TIMEOUT_MS = 15_000
PASSWORD = "pw"  # tests.factories.user
ETHICS_PDF = b"%PDF-1.4\n% Ethics approval METC 2026-017 (test document)\n%%EOF\n"


def _unavailable(reason: str):
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(
            f"{reason} CI must run the browser journey: install Debian's chromium "
            "(.ci/run does so as root) and the dev extras (make install).",
            pytrace=False,
        )
    pytest.skip(reason)


@pytest.fixture
def chromium_path() -> str:
    path = os.environ.get("TESSERA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        _unavailable(f"No Chromium at {path} (apt-get install chromium).")
    return path


@pytest.fixture
def browser(chromium_path, monkeypatch):
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional: skip if absent
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]').")
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the test
    # makes between browser steps are ordinary synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _reference_data() -> None:
    """Put back what the flush after an earlier transactional test removed: the GDPR articles
    (loaded by a data migration) and the ontologies (loaded once per session by conftest)."""
    if not LegalBasisArticle.objects.exists():
        importlib.import_module(
            "governance.migrations.0001_squashed_0004_pre_restructure"
        ).seed_articles(apps, None)
    call_command("load_ontologies", verbosity=0)


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"  # the live server stores the upload here
    _reference_data()
    radboud = factories.organisation("Radboud University Medical Center")
    linkoping = factories.organisation("Linköping University", country="SE")
    human = factories.committee(
        "human-dac", name="Human Pathology DAC", organisation=radboud, decision_policy="chair"
    )
    nordic = factories.committee(
        "nordic-dac", name="Nordic Pathology DAC", organisation=linkoping, decision_policy="chair"
    )
    for committee in (human, nordic):
        publish_agreement(
            committee,
            f"{committee.name} data access agreement",
            text="The recipient uses the data only for the approved purpose.",
        )
    people = {
        "researcher": factories.user("researcher", first_name="Elena", last_name="Rossi"),
        "chair": factories.committee_staff("chair", human, "chair"),
        "chair2": factories.committee_staff("chair2", nordic, "chair"),
    }
    lung, nsclc = (
        factories.dataset(
            committee=committee,
            controller=controller,
            title=title,
            consent_scope=factories.consent_scope(permission),
        )
        for committee, controller, title, permission in [
            (human, radboud, "Lung adenocarcinoma resections, H&E and PD-L1", "GRU"),
            (nordic, linkoping, "Non-small cell lung cancer, H&E and TTF-1", "HMB"),
        ]
    )
    return {"datasets": (lung, nsclc), "committees": (human, nordic), **people}


class Journey:
    """One person's browser tab, with the few moves every step repeats."""

    def __init__(self, browser, base_url: str, username: str, shots: Path | None):
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}
        )
        self.context.set_default_timeout(STEP_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.username = username
        self.shots = shots
        # Chromium reports every Content-Security-Policy refusal on the console ("Refused to
        # apply inline style because it violates ..."): the policy must cost no feature.
        self.csp_violations: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(f"{self.page.url}: {message.text}")

    def shot(self, name: str) -> None:
        if self.shots is not None:
            self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def role(self, role: str, name: str | re.Pattern, **kwargs):
        return self.page.get_by_role(role, name=name, **kwargs)

    def nav(self, name: str):
        """A link of the portal's main navigation (the breadcrumbs repeat some of them)."""
        return self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name)

    def click_and_load(self, locator) -> None:
        """Click a link or a button and wait for the page it leads to. A form posted back to
        its own URL leaves the URL as it was, so waiting for a URL would not prove that the new
        page arrived; and a check on the old page could pass before it is replaced."""
        with self.page.expect_navigation():
            locator.click()

    def _sign_in(self, url: str, button: str) -> None:
        self.page.goto(url)
        self.page.get_by_label("Username").fill(self.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.click_and_load(self.role("button", button))

    def sign_in_with_provider(self, sub: str) -> None:
        """From Tessera's sign-in page (where a link requiring sign-in led), through the
        identity provider's own page (oidc-provider-mock's: the person's `sub`, Authorize),
        back to where they were going."""
        self.click_and_load(self.role("link", "Sign in with Life Science Login"))
        self.expect(self.role("heading", "Authorize Client"))
        self.page.get_by_placeholder("sub").fill(sub)
        self.click_and_load(self.role("button", "Authorize", exact=True))

    def sign_in_admin(self) -> None:
        self._sign_in("/admin/login/?next=/admin/access/review/", "Log in")
        self.expect(self.role("heading", "Reviews for your committees"))

    def expect(self, locator):
        from playwright.sync_api import expect  # noqa: PLC0415 - optional dependency, see browser

        expect(locator).to_be_visible()
        return locator

    def expect_text(self, text: str | re.Pattern):
        return self.expect(self.page.get_by_text(text).first)


@pytest.fixture
def journey(browser, live_server, tmp_path):
    folder = os.environ.get("TESSERA_E2E_SCREENSHOTS")
    shots = Path(folder) if folder else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    tabs: list[Journey] = []

    def open_tab(username: str) -> Journey:
        tab = Journey(browser, live_server.url, username, shots)
        tabs.append(tab)
        return tab

    yield open_tab
    for tab in tabs:
        # The last page of every tab, to look at after a failure (pytest keeps the tmp_path
        # of its three latest runs).
        tab.page.screenshot(path=str(tmp_path / f"last-{tab.username}.png"), full_page=True)
        tab.context.close()


def open_review(chair: Journey, reference: str) -> None:
    chair.page.goto("/admin/access/review/")
    chair.click_and_load(chair.role("link", reference, exact=True))
    chair.expect(chair.role("heading", re.compile(rf"^{reference} — ")))


def test_researcher_applies_two_committees_decide_and_both_grants_appear(
    world, journey, live_server, settings, mailoutbox, oidc
):
    settings.TESSERA_BASE_URL = live_server.url  # the invitation's link points here
    lung, nsclc = world["datasets"]
    human, nordic = world["committees"]
    # Researchers sign in with their institution (Life Science Login here, oidc-provider-mock):
    # the researcher's account was linked to their identity beforehand by an administrator;
    # the colleague has no account until their first sign-in.
    for sub, given, family, username in (
        ("elena@lifescience-ri.eu", "Elena", "Rossi", "researcher"),
        ("noor@lifescience-ri.eu", "Noor", "Visser", "colleague"),
    ):
        oidc.set_user(
            sub,
            given_name=given,
            family_name=family,
            preferred_username=username,
            email=f"{given}.{family}@example.org".lower(),
            email_verified=True,
        )
    call_command("identity_link", "researcher", "elena@lifescience-ri.eu", verbosity=0)
    researcher = journey("researcher")
    researcher.page.goto("/accounts/login/")
    researcher.sign_in_with_provider("elena@lifescience-ri.eu")
    researcher.expect(researcher.role("button", "Sign out"))

    # The cart: start from the first dataset's page, find the second by its accession.
    researcher.page.goto(lung.get_absolute_url())
    researcher.click_and_load(researcher.role("link", f"Request access to {lung.accession}"))
    researcher.expect(researcher.role("heading", "New access request", exact=True))
    lung_box = researcher.page.get_by_label(f"{lung.accession} {lung.title} — {human.name}")
    researcher.expect(lung_box)
    assert lung_box.is_checked()
    researcher.page.get_by_label("Find datasets to add").fill(nsclc.accession)
    researcher.click_and_load(researcher.role("button", "Find datasets"))
    researcher.page.get_by_label(f"{nsclc.accession} {nsclc.title} — {nordic.name}").check()

    # The project and its structured purpose.
    page = researcher.page
    page.get_by_label("Project title").fill("Tumour-infiltrating lymphocytes in lung cancer")
    page.get_by_label("Lay summary").fill("We count immune cells in lung tumour slides.")
    page.get_by_label("Scientific abstract").fill("TIL density against immunotherapy response.")
    page.get_by_label("Institution").fill("Radboud University Medical Center")
    page.get_by_label("Find a disease to add").fill("lung cancer")
    researcher.click_and_load(researcher.role("button", "Find diseases"))
    page.get_by_label("lung cancer DOID:1324", exact=True).check()
    page.get_by_label("Methods or algorithm development").check()
    page.get_by_label("Country where the data will be used").select_option(label="Netherlands")
    page.get_by_label("Requested duration (months)").fill("12")

    # The ethics approval, uploaded as a file.
    expiry = timezone.localdate() + timedelta(days=365)
    page.get_by_label("Ethics approval reference").fill("METC 2026-017")
    page.get_by_label("Ethics approval expires on").fill(expiry.isoformat())
    page.get_by_label("Ethics approval document").set_input_files(
        {"name": "ethics-approval.pdf", "mimeType": "application/pdf", "buffer": ETHICS_PDF}
    )
    researcher.shot("01-request-form")
    researcher.click_and_load(researcher.role("button", "Save draft"))
    match = re.search(r"/requests/(\d+)/$", page.url)
    assert match, page.url
    reference = f"TSR-AR-{int(match[1]):06d}"
    researcher.expect_text(re.compile(rf"^Saved {reference}\."))

    # A colleague joins the team by e-mail: the link, opened signed out in a second browser
    # context, leads through sign-in back to the invitation, which they accept; they accept
    # the agreements on the request's page as the applicant does.
    page.get_by_label("E-mail address").fill("Noor.Visser@example.org")
    researcher.click_and_load(researcher.role("button", "Send invitation"))
    researcher.expect_text("We sent an invitation to noor.visser@example.org.")
    researcher.expect_text(re.compile(r"^Pending until"))
    (invitation_mail,) = [m for m in mailoutbox if m.to == ["noor.visser@example.org"]]
    link = re.search(rf"{re.escape(live_server.url)}/invitations/[^/\s]+/", invitation_mail.body)
    assert link, invitation_mail.body
    colleague = journey("colleague")
    colleague.page.goto(link[0])
    colleague.sign_in_with_provider("noor@lifescience-ri.eu")  # their account, made just now
    colleague.expect(colleague.role("heading", "You are invited to a team"))
    colleague.expect_text("Tumour-infiltrating lymphocytes in lung cancer")
    colleague.shot("01b-invitation")
    colleague.click_and_load(colleague.role("button", "Accept and join the team"))
    colleague.expect_text(re.compile(rf"^You joined the team of {reference}\."))
    researcher.page.reload()
    researcher.expect_text("Noor Visser (colleague)")

    # Both committees' agreements: the researcher in one step, the colleague one by one; then
    # submit through the confirmation page.
    researcher.click_and_load(researcher.role("button", "I accept all 2 agreements above"))
    researcher.expect_text(re.compile(rf"^You accepted 2 agreements for {reference}: "))
    for committee in (human, nordic):
        colleague.click_and_load(
            colleague.role("button", f"I accept {committee.name} data access agreement, version 1")
        )
        colleague.expect_text(f"You accepted “{committee.name} data access agreement”")
    researcher.page.reload()
    researcher.expect_text("Everything needed is there.")
    researcher.shot("02-draft-ready")
    researcher.click_and_load(researcher.role("link", f"Submit request {reference}"))
    researcher.click_and_load(researcher.role("button", f"Submit request {reference}"))
    researcher.expect_text(re.compile(rf"^Submitted {reference}\."))
    researcher.shot("03-submitted")

    # The first committee's chair approves in the admin.
    chair = journey("chair")
    chair.sign_in_admin()
    open_review(chair, reference)
    chair.expect_text("Download the ethics approval document")
    chair.shot("04-chair-review")
    chair.click_and_load(chair.role("button", "Approve", exact=True))
    chair.expect_text("Approved; the grants are listed below.")
    chair.shot("05-chair-approved")

    # The second committee's chair returns it with a question.
    chair2 = journey("chair2")
    chair2.sign_in_admin()
    open_review(chair2, reference)
    question = "Which immunotherapy regimens does your cohort cover?"
    chair2.click_and_load(chair2.role("link", "Return for changes…"))
    chair2.page.get_by_label("Questions for the applicant").fill(question)
    chair2.click_and_load(chair2.role("button", "Return to the applicant"))
    chair2.expect_text("Returned for changes; the applicant sees your questions.")
    chair2.shot("06-chair2-returned")

    # The researcher reads the question, edits the answers, replies and resubmits.
    researcher.click_and_load(researcher.nav("My requests"))
    researcher.click_and_load(researcher.role("link", re.compile(reference)).first)
    researcher.expect_text(f"{nordic.name} returned the request with questions.")
    researcher.expect_text(question)
    researcher.click_and_load(researcher.role("link", f"Edit request {reference}"))
    page.get_by_label("Scientific abstract").fill(
        "TIL density against response to first-line pembrolizumab, alone or with chemotherapy."
    )
    researcher.click_and_load(researcher.role("button", "Save changes"))
    researcher.expect_text(f"Saved your changes to {reference}. Resubmit when you are ready.")
    page.get_by_label("Your reply to the committee").fill(
        "Pembrolizumab alone or with platinum chemotherapy; I added it to the abstract."
    )
    researcher.click_and_load(researcher.role("button", "Send reply"))
    researcher.expect_text("Your reply was sent to the committees.")
    researcher.click_and_load(researcher.role("link", f"Resubmit request {reference}"))
    researcher.click_and_load(researcher.role("button", f"Resubmit request {reference}"))
    researcher.expect_text(re.compile(rf"^Resubmitted {reference}\."))
    researcher.shot("07-resubmitted")

    # The second chair sees the answer and approves.
    open_review(chair2, reference)
    chair2.expect_text("pembrolizumab, alone or with chemotherapy")
    chair2.expect_text("I added it to the abstract.")
    chair2.click_and_load(chair2.role("button", "Approve", exact=True))
    chair2.expect_text("Approved; the grants are listed below.")
    chair2.shot("08-chair2-approved")

    # Both grants are on "My access", active.
    researcher.click_and_load(researcher.nav("My access"))
    for dataset in (lung, nsclc):
        card = researcher.page.get_by_role("article", name=f"{dataset.accession} {dataset.title}")
        researcher.expect(card)
        researcher.expect(card.get_by_text("Active", exact=True))
    researcher.expect_text("2 active grants.")
    researcher.shot("09-my-access")
    colleague.click_and_load(colleague.nav("My access"))
    colleague.expect_text("2 active grants.")

    # The API documentation (Swagger UI) works under the policy too.
    researcher.page.goto("/api/docs/")
    researcher.expect(researcher.role("heading", re.compile(r"^Tessera API")))
    researcher.expect_text("/api/v1/datasets/")

    for tab in (researcher, colleague, chair, chair2):
        assert tab.csp_violations == [], "\n".join(tab.csp_violations)
