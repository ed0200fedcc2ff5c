"""Every portal page and every committee-workspace page, checked in a real browser: axe-core finds
no serious or critical violation, and no page scrolls sideways.

One world holds something for every page: a researcher's draft, submitted, returned and approved
requests (with an active grant and its token page), an invitation waiting for a colleague, a
retired dataset, a committee with a secretary, a member and a chair (majority of votes), an
organisation's data steward, an auditor and a superuser. Each person signs in in a browser context
of their own (one Chromium for the whole run) and visits the pages of `portal_pages` and
`workspace_pages`, which name each page by its URL name, so it is plain which pages are covered.

axe-core comes from npm (package.json, pinned in package-lock.json; `make install` runs `npm ci`)
and is injected into each page as an init script, which the Content-Security-Policy does not
govern: the pages run under the production policy, as people see them. Every rule axe runs by default counts; a violation of impact
serious or critical fails the test, listed by page, rule and nodes. Widths: every portal page
and every workspace page must fit 390 px and 1280 px.

Without Chromium, Playwright or node_modules/axe-core the test fails under CI=true and is skipped
elsewhere (tests/e2e/conftest.py).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from access.models import Bar
from access.services import amendments as amendment_services
from access.services import decisions as decision_services
from access.services import experts as expert_services
from access.services import requests as request_services
from access.services import reviews as review_services
from access.services import team as team_services
from audit.models import AuditEvent
from governance import services as gov
from tests import factories
from tests.access_world import (
    accept_all,
    approve_part,
    make_draft,
    publish_agreement,
    submit_request,
)
from tokens import keyring, keys

from .conftest import PASSWORD, STEP_TIMEOUT_MS, _reference_data, _unavailable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(django_settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}
PHONE, DESKTOP = 390, 1280
# The innermost elements that reach past the right edge of the window and no box with a scroll bar
# of its own clips (for the failure message).
WIDEST_ELEMENTS = """() => {
  const clipped = (el) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(box).overflowX)) return true;
    }
    return false;
  };
  const past = (el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(el);
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("")
    + ` (${Math.round(el.getBoundingClientRect().right)} px)`;
  return [...document.body.querySelectorAll("*")]
    .filter((el) => past(el) && ![...el.children].some(past))
    .slice(0, 5).map(describe);
}"""


@pytest.fixture
def axe_source() -> str:
    if not AXE.is_file():
        _unavailable(
            f"No axe-core at {AXE}: `make install` runs `npm ci` (package-lock.json).",
            "install npm (.ci/run does so as root: apt-get install npm), then `make install`",
        )
    return AXE.read_text(encoding="utf-8")


# --- the world -----------------------------------------------------------------------------------
@pytest.fixture
def a11y_world(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    settings.ROOT_URLCONF = (
        "tests.error_urls"  # Tessera's URLs and views that fail, for the error pages
    )
    settings.TESSERA_KEY_ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS = None
    keys.reset_kek_cache()
    keyring.reset_caches()
    _reference_data()
    keyring.keys_bootstrap(actor=None)

    radboud = factories.organisation("Radboud University Medical Center")
    human = factories.committee(
        "human-dac", name="Human Pathology DAC", organisation=radboud, decision_policy="majority"
    )
    nordic = factories.committee("nordic-dac", name="Nordic Pathology DAC", organisation=radboud)
    for committee in (human, nordic):
        publish_agreement(committee, f"{committee.name} data access agreement")
    people = {
        "researcher": factories.user("researcher", first_name="Elena", last_name="Rossi"),
        "colleague": factories.user("colleague", first_name="Noor", last_name="Visser"),
        "secretary": factories.committee_staff("secretary", human, "secretary"),
        "member": factories.committee_staff("member", human, "member"),
        "chair": factories.committee_staff("chair", human, "chair"),
        "chair2": factories.committee_staff("chair2", nordic, "chair"),
        "steward": factories.user("steward", is_staff=True),
        "auditor": factories.user("auditor", is_staff=True),
        "root": factories.user("root", is_staff=True, is_superuser=True),
        "expert": factories.user("expert", first_name="Ines", last_name="Costa"),
    }
    gov.organisation_steward_add(organisation=radboud, user=people["steward"], actor=None)
    people["auditor"].user_permissions.add(
        Permission.objects.get(codename="view_auditevent", content_type__app_label="audit")
    )
    lung, colon, nsclc, retired = (
        factories.dataset(committee=committee, controller=radboud, title=title)
        for committee, title in [
            (human, "Lung adenocarcinoma resections, H&E and PD-L1"),
            (human, "Colorectal carcinoma biopsies, H&E"),
            (nordic, "Non-small cell lung cancer, H&E and TTF-1"),
            (human, "Breast cancer resections, H&E (withdrawn by the biobank)"),
        ]
    )
    gov.dataset_retire(dataset=retired, actor=None, reason="The biobank withdrew the slides.")

    researcher = people["researcher"]
    draft = make_draft(researcher, [lung], title="A draft about lung tumours")
    invitation = team_services.invitation_send(
        access_request=draft, actor=researcher, email=people["colleague"].email
    )
    submitted = submit_request(researcher, [lung, nsclc], title="Immune cells in lung cancer")
    review = submitted.reviews.get(committee=human)
    review_services.review_start(review=review, actor=people["chair"])
    review_services.comment_add(
        access_request=submitted,
        actor=people["member"],
        body="Which cohort is this?",
        visibility="internal",
        committee=human,
    )
    returned = submit_request(researcher, [nsclc], title="Lung cancer subtypes")
    decision_services.decision_record(
        review=returned.reviews.get(),
        actor=people["chair2"],
        outcome="return",
        questions="Which subtypes do you compare?",
    )
    approved = submit_request(researcher, [nsclc, colon], title="Colon and lung, approved")
    for dataset in (nsclc, colon):
        review = approved.reviews.get(committee=dataset.committee)
        if dataset.committee == human:  # majority of votes: two of three say yes
            for person in ("member", "chair"):
                review_services.vote_cast(
                    review=review, actor=people[person], choice="approve", rationale="Fits."
                )
            approve_part(approved, dataset, people["chair"])
        else:
            approve_part(approved, dataset, people["chair2"])
    grant = approved.grants.get(user=researcher, dataset=colon)
    # Issue 14: a project whose grants end within the renewal window, and one that ended (its
    # close-out due).
    ending = submit_request(researcher, [nsclc], title="Lung cancer grading, ending soon")
    approve_part(ending, nsclc, people["chair2"], days=30)
    ended = submit_request(researcher, [nsclc], title="A finished lung study")
    approve_part(ended, nsclc, people["chair2"], days=90)
    request_services.request_withdraw(access_request=ended, actor=researcher)
    # A change to the project ending soon, adding a dataset of the other committee (issue 14).
    changing = submit_request(researcher, [nsclc], title="Lung cancer grading, changing")
    approve_part(changing, nsclc, people["chair2"], days=120)
    amendment = amendment_services.amendment_open(access_request=changing, actor=researcher)
    request_services.request_update(
        access_request=amendment, actor=researcher, data={}, datasets=[nsclc, lung]
    )
    accept_all(amendment, researcher)
    request_services.request_submit(access_request=amendment, actor=researcher)
    # An outside expert reading the submitted request, another invited (issue 14), and a bar.
    review = submitted.reviews.get(committee=human)
    expert = expert_services.expert_invite(
        review=review, actor=people["member"], email="ines.costa@example.org"
    )
    expert_services.expert_accept(
        token=expert_services.expert_token(expert), actor=people["expert"]
    )
    invited = expert_services.expert_invite(
        review=review, actor=people["member"], email="noor@example.org"
    )
    bar = Bar.objects.create(
        committee=human,
        user=people["colleague"],
        until=date.today() + timedelta(days=365),
        reason="Shared slides outside the project.",
        created_by=people["chair"],
    )
    return {
        **people,
        "datasets": {"lung": lung, "colon": colon, "nsclc": nsclc, "retired": retired},
        "requests": {
            "draft": draft,
            "submitted": submitted,
            "returned": returned,
            "approved": approved,
            "ending": ending,
            "ended": ended,
            "amendment": amendment,
        },
        "invitation": team_services.invitation_token(invitation),
        "review": submitted.reviews.get(committee=human),
        "decided_review": approved.reviews.get(committee=human),
        "grant": grant,
        "expert": expert,
        "expert_invitation": expert_services.expert_token(invited),
        "bar": bar,
    }


# --- the pages -----------------------------------------------------------------------------------
@dataclass
class Page:
    """One page to check: who looks (a username, or None signed out), how to reach it (a URL, or
    `steps` that lead there from `url` and return the last response), the status it answers
    with (None: any)."""

    role: str | None
    label: str
    url: str
    status: int = 200
    steps: Callable | None = None


def _run_admin_action(action: str, pk: int):
    def steps(page):
        page.locator(f"input[name=_selected_action][value='{pk}']").check()
        page.locator("select[name=action]").select_option(action)
        with page.expect_navigation() as navigation:
            page.locator("button[name=index]").click()
        return navigation.value

    return steps


def _get_token(accession: str):
    def steps(page):
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=f"Get a token for {accession}").click()
        return navigation.value

    return steps


def portal_pages(w) -> list[Page]:
    r = w["requests"]
    ds = w["datasets"]
    researcher = w["researcher"]
    uid = urlsafe_base64_encode(force_bytes(researcher.pk))
    reset_token = default_token_generator.make_token(researcher)
    purpose = (
        f"{reverse('portal:catalogue')}?p-diseases=DOID:1324&p-methods_development=on&p-country=NL"
    )
    signed_out = [
        Page(None, "home", reverse("portal:home")),
        Page(None, "catalogue", reverse("portal:catalogue")),
        Page(None, "catalogue, purpose filter", purpose),
        Page(None, "dataset", reverse("portal:dataset", args=[ds["lung"].accession])),
        Page(None, "committee", reverse("portal:committee", args=["human-dac"])),
        Page(None, "disease search", f"{reverse('portal:disease-search')}?q=lung"),
        Page(None, "sign in", reverse("login")),
        Page(None, "password reset", reverse("password_reset")),
        Page(None, "password reset sent", reverse("password_reset_done")),
        Page(
            None,
            "password reset: new password",
            reverse("password_reset_confirm", args=[uid, reset_token]),
        ),
        Page(None, "password reset done", reverse("password_reset_complete")),
        Page(None, "404", "/no-such-page/", status=404),
        Page(None, "403", "/forbidden/", status=403),
        Page(None, "409", "/conflict/", status=409),
        Page(None, "500", "/boom/", status=500),
    ]
    mine = [
        Page("researcher", "home, signed in", reverse("portal:home")),
        Page("researcher", "catalogue, purpose filter, signed in", purpose),
        Page("researcher", "dataset, signed in", reverse("portal:dataset", args=[ds["lung"].accession])),
        # A retired dataset: a page of its own once the portal has one, a 404 page until then.
        Page("researcher", "retired dataset", reverse("portal:dataset", args=[ds["retired"].accession]), status=None),
        Page("researcher", "request list", reverse("access:request-list")),
        Page("researcher", "new request", reverse("access:request-create")),
        Page("researcher", "new request for a dataset", f"{reverse('access:request-create')}?dataset={ds['lung'].accession}"),
        *(
            Page("researcher", f"request detail ({state})", reverse("access:request-detail", args=[r[state].pk]))
            for state in ("draft", "submitted", "returned", "approved")
        ),
        Page("researcher", "request detail (ended, close-out due)", reverse("access:request-detail", args=[r["ended"].pk])),
        Page("researcher", "ask for more time", reverse("access:request-renew", args=[r["ending"].pk])),
        Page("researcher", "request detail (a change to a project)", reverse("access:request-detail", args=[r["amendment"].pk])),
        Page("researcher", "edit request (draft)", reverse("access:request-edit", args=[r["draft"].pk])),
        Page("researcher", "edit request (returned)", reverse("access:request-edit", args=[r["returned"].pk])),
        Page("researcher", "submit confirmation", reverse("access:request-submit", args=[r["draft"].pk])),
        Page("researcher", "withdraw confirmation", reverse("access:request-withdraw", args=[r["submitted"].pk])),
        Page("researcher", "resubmit confirmation", reverse("access:request-resubmit", args=[r["returned"].pk])),
        Page("researcher", "invitations", reverse("access:invitation-list")),
        Page("researcher", "My access", reverse("access:grant-list")),
        Page("researcher", "token", reverse("access:grant-list"), steps=_get_token(w["grant"].dataset.accession)),
        Page("researcher", "My account", reverse("account")),
        Page("researcher", "404, signed in", f"{reverse('access:request-list')}999999/", status=404),
        Page("colleague", "invitation", reverse("access:invitation", args=[w["invitation"]])),
        Page("colleague", "invitations (one waiting)", reverse("access:invitation-list")),
        Page("colleague", "expert invitation", reverse("access:expert-invitation", args=[w["expert_invitation"]])),
        Page("expert", "expert reviews", reverse("access:expert-list")),
        Page("expert", "expert review", reverse("access:expert-review", args=[w["expert"].pk])),
    ]  # fmt: skip
    return signed_out + mine


def workspace_pages(w) -> list[Page]:
    review, decided = w["review"], w["decided_review"]
    ds = w["datasets"]

    def admin(name, *args, query=""):
        return reverse(f"admin:{name}", args=args) + query

    pages = [
        Page(None, "admin sign in", admin("login")),
        *(
            page
            for role in ("secretary", "member", "chair")
            for page in (
                Page(role, f"admin index ({role})", admin("index")),
                Page(role, f"review queue ({role})", admin("access_review_changelist")),
                Page(role, f"review page ({role})", admin("access_review_change", review.pk)),
            )
        ),
        Page("chair", "decided review page", admin("access_review_change", decided.pk)),
        Page("chair", "review page (a change to a project)", admin("access_review_change", w["requests"]["amendment"].reviews.get().pk)),
        Page("chair", "review history", admin("access_review_history", review.pk)),
        Page("chair", "grant list", admin("access_grant_changelist")),
        Page("chair", "grant", admin("access_grant_change", w["grant"].pk)),
        Page("chair", "grant revoke confirmation", admin("access_grant_changelist"), steps=_run_admin_action("revoke", w["grant"].pk)),
        # The confirmation pages of the review workspace (issue 13), each asking for a reason. A
        # vote has none: it is cast on the review page and a second vote replaces it.
        Page("secretary", "close confirmation", admin("access_review_close", review.pk)),
        Page("chair", "reject confirmation", admin("access_review_decide", review.pk, query="?outcome=reject")),
        Page("chair", "return confirmation", admin("access_review_decide", review.pk, query="?outcome=return")),
        Page("chair", "revoke confirmation", admin("access_review_revoke", decided.pk, w["grant"].pk)),
        Page("steward", "admin index (steward)", admin("index")),
        Page("steward", "dataset list", admin("governance_dataset_changelist")),
        Page("steward", "dataset", admin("governance_dataset_change", ds["lung"].pk)),
        Page("steward", "new dataset", admin("governance_dataset_add")),
        Page("steward", "dataset retire confirmation", admin("governance_dataset_changelist"), steps=_run_admin_action("retire", ds["colon"].pk)),
        Page("root", "committee list", admin("governance_dataaccesscommittee_changelist")),
        Page("root", "committee", admin("governance_dataaccesscommittee_change", ds["lung"].committee.pk)),
        Page("root", "agreement list", admin("governance_accessagreement_changelist")),
        Page("root", "consent scope list", admin("governance_consentscope_changelist")),
        Page("root", "consent scope", admin("governance_consentscope_change", ds["lung"].consent_scope.pk)),
        Page("root", "organisation", admin("governance_organisation_change", ds["lung"].controller.pk)),
        Page("auditor", "admin index (auditor)", admin("index")),
        Page("auditor", "ledger", admin("audit_auditevent_changelist")),
        Page("auditor", "ledger event", admin("audit_auditevent_change", AuditEvent.objects.order_by("seq").first().pk)),
        Page("root", "checkpoints", admin("audit_checkpoint_changelist")),
        Page("root", "admin index (superuser)", admin("index")),
        Page("root", "access requests", admin("access_accessrequest_changelist")),
        Page("root", "notification outbox", admin("access_notification_changelist")),
        Page("root", "people", admin("auth_user_changelist")),
        Page("root", "person", admin("auth_user_change", w["researcher"].pk)),
        Page("root", "field history", admin("auditlog_logentry_changelist")),
        Page("chair", "bars", admin("access_bar_changelist")),
        Page("chair", "bar", admin("access_bar_change", w["bar"].pk)),
        Page("chair", "committee reports", admin("committee_reports")),
        Page("chair", "committee report", admin("committee_report", ds["lung"].committee.slug)),
        Page("chair", "committee report, bad period", admin("committee_report", ds["lung"].committee.slug, query="?from=2026-06-01&to=2026-01-01"), status=400),
        Page("steward", "committee report (steward)", admin("committee_report", ds["lung"].committee.slug)),
        Page("auditor", "committee report (auditor)", admin("committee_report", ds["lung"].committee.slug)),
        Page("root", "admin 404", admin("access_review_change", 999999), status=404),
    ]  # fmt: skip
    return pages


# --- the run -------------------------------------------------------------------------------------
@dataclass
class Findings:
    violations: list[str] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)
    wrong_status: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


def _sign_in(context, role: str) -> None:
    page = context.new_page()
    page.goto(reverse("login"))
    page.get_by_label("Username").fill(role)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    page.close()


def _check(page, spec: Page, found: Findings) -> None:
    name = f"{spec.label} [{spec.role or 'signed out'}] {spec.url}"
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    started = time.monotonic()
    response = page.goto(spec.url)
    if spec.steps is not None:
        response = spec.steps(page)
        name = f"{spec.label} [{spec.role or 'signed out'}] after {spec.url}"
    status = response.status
    if spec.status is not None and status != spec.status:
        found.wrong_status.append(f"{name}: {status}, expected {spec.status} ({page.url})")
        return
    # Tessera's admin script names some controls after "load", a frame later at most.
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    found.checked.append(f"{name} ({time.monotonic() - started:.1f} s)")
    for violation in result:
        if violation["impact"] in FAILING_IMPACTS:
            nodes = "; ".join(
                f"{' '.join(node['target'])} ({node['html'][:120]})"
                for node in violation["nodes"][:5]
            )
            found.violations.append(
                f"{name}: {violation['id']} ({violation['impact']}) {violation['help']}; "
                f"{len(violation['nodes'])} node(s): {nodes}"
            )
    for width in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            culprits = ", ".join(page.evaluate(WIDEST_ELEMENTS))
            found.too_wide.append(
                f"{name}: {scroll} px wide at {width} px, past the edge: {culprits}"
            )


def test_every_page_passes_axe_and_fits_the_screen(
    axe_source, browser, a11y_world, live_server, capsys
):
    pages = portal_pages(a11y_world) + workspace_pages(a11y_world)
    found = Findings()
    roles: dict[str | None, list[Page]] = {}
    for spec in pages:
        roles.setdefault(spec.role, []).append(spec)
    for role, specs in roles.items():
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        context.add_init_script(script=axe_source)  # into every page, before its own scripts
        try:
            if role is not None:
                _sign_in(context, role)
            page = context.new_page()
            for spec in specs:
                _check(page, spec, found)
        finally:
            context.close()

    with capsys.disabled():
        print(f"\naxe-core and page width: {len(found.checked)} pages checked")
        for line in found.checked:
            print(f"  {line}")
    problems = [
        *(f"status: {line}" for line in found.wrong_status),
        *(f"axe: {line}" for line in found.violations),
        *(f"scrolls sideways: {line}" for line in found.too_wide),
    ]
    assert not problems, "\n".join(problems)
