"""The browser tests' shared pieces: Debian's Chromium (`chromium_path`, `browser`), the reference
data a transactional test needs back (`_reference_data`), a small world of two committees
(`world`), and a person's browser tab (`Journey`, opened by the `journey` fixture).

Needs Debian's `chromium` (`apt-get install chromium`; Playwright's own browser download is not
used), or another Chromium named by TESSERA_CHROMIUM. Without one a browser test fails under
CI=true and is skipped elsewhere. Set TESSERA_E2E_SCREENSHOTS to a folder to keep a screenshot of
each step.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from governance.models import LegalBasisArticle
from tests import factories
from tests.access_world import publish_agreement

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


def _unavailable(
    reason: str,
    fix: str = "install Debian's chromium (.ci/run does so as root) and the dev extras "
    "(make install)",
):
    """Skip a browser test that lacks a part; fail it under CI=true, where it must run."""
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} CI must run the browser tests: {fix}.", pytrace=False)
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
