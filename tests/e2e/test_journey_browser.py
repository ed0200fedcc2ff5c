"""The whole access journey in a real browser (headless Chromium driven by Playwright), with the
e-mails it sends (issue 13, Proof).

A researcher signs in through the identity provider's own page (oidc-provider-mock) and gathers
three datasets in one request with the cart: the first from its dataset page ("Request access"),
the second on its dataset page ("Add to draft TSR-AR-…?"), the third from the catalogue through
the cart's confirmation page. Two datasets belong to a committee whose members vote and whose
chair decides, one to a committee whose chair decides alone. A colleague with no account yet,
invited by e-mail, opens the link in a second browser context, signs in through the provider
(their account is made then) and joins the team, accepting no agreement yet. The researcher
submits. The second committee's chair returns the request with a question (the confirmation
page asks for it); the researcher reads it at the top of the request, edits, replies in the
reply box and resubmits; that committee's secretary then closes its review through the
confirmation page with a reason, which the researcher reads. The first committee's member sees
"Needs your vote" on the workspace home, opens the queue and votes; the chair approves. The
decision mail tells the colleague to accept the agreement; they follow its link and accept.
Both see the two grants on "My access".

Every e-mail of the journey is checked: who got it, and every link in it opens without an error,
in its recipient's own signed-in tab, on the page it names. Every step goes through the pages
people use, by their accessible names, under the production Content-Security-Policy: no page may
trip it (Chromium's console says so). Chromium and the tabs: tests/e2e/conftest.py.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import resolve, reverse
from django.utils import timezone

from access.models import Decision
from governance import services as gov
from tests import factories

from .conftest import ETHICS_PDF, Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Tumour-infiltrating lymphocytes in lung cancer"
LINK = re.compile(r"https?://[^\s<>\"']+")
HREF = re.compile(r"href=\"([^\"]+)\"")


@pytest.fixture
def journey_world(world):
    """The two committees of `world`, the first deciding by vote (a member votes, the chair
    records the decision) with a second dataset, the second with a secretary."""
    human, nordic = world["committees"]
    lung, nsclc = world["datasets"]
    human.decision_policy = "majority"
    human.quorum = 1
    gov.committee_update(committee=human, actor=None)
    squamous = factories.dataset(
        committee=human,
        controller=lung.controller,
        title="Lung squamous cell carcinoma biopsies, H&E",
        consent_scope=factories.consent_scope("GRU"),
    )
    return {
        **world,
        "datasets": (lung, squamous, nsclc),
        "member": factories.committee_staff("member", human, "member"),
        "secretary2": factories.committee_staff("secretary2", nordic, "secretary"),
    }


def open_review(tab: Journey, reference: str) -> None:
    tab.page.goto("/admin/access/review/")
    tab.click_and_load(tab.role("link", reference, exact=True))
    tab.expect(tab.role("heading", re.compile(rf"^{reference} — ")))


class Mails:
    """The e-mails sent since the last look, and their links opened in their recipients' tabs."""

    def __init__(self, outbox: list, base_url: str, reference: str):
        self.outbox = outbox
        self.base_url = base_url
        self.reference = reference
        self.seen = 0
        self.tabs: dict[str, Journey] = {}  # e-mail address: the person's signed-in tab
        self.opened: set[tuple[str, str]] = set()

    @staticmethod
    def address(person: str) -> str:
        """A username's e-mail address (an address stays as it is)."""
        if "@" in person:
            return person
        return get_user_model().objects.get(username=person).email

    def new(self, **expected: list[str]) -> list:
        """The mails sent since the last call. `expected` names, per fragment of a subject
        (`_` for a space), the people (usernames, or addresses) who got such a mail: every mail
        sent is one of those, and each of them got one."""
        mails = self.outbox[self.seen :]
        self.seen = len(self.outbox)
        got = sorted((m.to[0], m.subject) for m in mails)
        want = []
        for fragment, usernames in expected.items():
            matching = [m for m in mails if fragment.replace("_", " ") in m.subject.lower()]
            want += [(self.address(u), fragment) for u in usernames]
            assert sorted(m.to[0] for m in matching) == sorted(
                self.address(u) for u in usernames
            ), f"{fragment}: {got}"
        assert len(mails) == len(want), f"expected {want}, got {got}"
        return mails

    def heading(self, tab: Journey, path: str):
        """The heading of the page a mail's link names (by its URL name)."""
        name = resolve(path).url_name
        return {
            "request-detail": tab.role("heading", re.compile(rf"^{self.reference} "), level=1),
            "access_review_change": tab.role("heading", re.compile(rf"^{self.reference} — ")),
            "grant-list": tab.role("heading", "My access", exact=True),
            "account": tab.role("heading", "My account", exact=True),
        }[name]

    def _path(self, url: str) -> str:
        return url[len(self.base_url) :].split("#")[0]

    def open_links(self, mails) -> None:
        """Open every link of every mail in its recipient's tab: no error, the right page. The
        page where the mail asks the person to act (not My account, not My access) comes last,
        so that the tab is left there, as if they had clicked the mail's button."""
        for mail in mails:
            tab = self.tabs[mail.to[0]]
            links = list(dict.fromkeys(LINK.findall(mail.body)))
            assert links, mail.body
            (html_body, _), *_ = mail.alternatives
            hrefs = {html.unescape(h) for h in HREF.findall(html_body)}
            assert hrefs <= set(links), (hrefs, links)  # the HTML part links to the same pages
            links.sort(
                key=lambda u: resolve(self._path(u)).url_name not in ("account", "grant-list")
            )
            for url in links:
                assert url.startswith(self.base_url + "/"), url
                if (mail.to[0], url) in self.opened and url != links[-1]:
                    continue
                self.opened.add((mail.to[0], url))
                response = tab.page.goto(url)
                assert response is not None and response.status < 400, (url, response.status)
                tab.expect(self.heading(tab, self._path(url)))


def test_researcher_gathers_three_datasets_two_committees_decide_with_their_mails(
    journey_world, journey, live_server, settings, mailoutbox, oidc
):
    settings.TESSERA_BASE_URL = live_server.url  # the mails' links point here
    world = journey_world
    lung, squamous, nsclc = world["datasets"]
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

    # The request starts from the first dataset's page.
    researcher.page.goto(lung.get_absolute_url())
    researcher.click_and_load(researcher.role("link", f"Request access to {lung.accession}"))
    researcher.expect(researcher.role("heading", "New access request", exact=True))
    lung_box = researcher.page.get_by_label(f"{lung.accession} {lung.title} — {human.name}")
    researcher.expect(lung_box)
    assert lung_box.is_checked()

    # The project and its structured purpose.
    page = researcher.page
    page.get_by_label("Project title").fill(TITLE)
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
    mails = Mails(mailoutbox, live_server.url, reference)
    mails.tabs[mails.address("researcher")] = researcher

    # The cart: the second dataset joins the draft on its own page, the third from the
    # catalogue through the cart's confirmation page.
    page.goto(squamous.get_absolute_url())
    researcher.expect_text(f"Add to draft {reference}?")
    researcher.click_and_load(researcher.role("button", f"Add to draft {reference}"))
    researcher.expect_text(re.compile(rf"^Added {squamous.accession} to {reference}"))
    researcher.click_and_load(researcher.nav("Catalogue"))
    researcher.click_and_load(researcher.role("link", f"Add to a draft ({nsclc.accession})"))
    researcher.expect(researcher.role("heading", f"Add to draft {reference}?"))
    researcher.shot("02-cart-confirmation")
    researcher.click_and_load(researcher.role("button", f"Add to draft {reference}"))
    researcher.expect_text(re.compile(rf"^Added {nsclc.accession} to {reference}"))
    for dataset in (lung, squamous, nsclc):
        researcher.expect(researcher.role("link", f"{dataset.accession} {dataset.title}"))

    # A colleague joins the team by e-mail: the link, opened signed out in a second browser
    # context, leads through sign-in back to the invitation, which they accept. They accept no
    # agreement yet: only the applicant must before submitting.
    page.get_by_label("E-mail address").fill("Noor.Visser@example.org")
    researcher.click_and_load(researcher.role("button", "Send invitation"))
    researcher.expect_text("We sent an invitation to noor.visser@example.org.")
    researcher.expect_text(re.compile(r"^Pending until"))
    (invitation_mail,) = mails.new(invites_you=["noor.visser@example.org"])
    link = re.search(rf"{re.escape(live_server.url)}/invitations/[^/\s]+/", invitation_mail.body)
    assert link, invitation_mail.body
    colleague = journey("colleague")
    colleague.page.goto(link[0])
    colleague.sign_in_with_provider("noor@lifescience-ri.eu")  # their account, made just now
    colleague.expect(colleague.role("heading", "You are invited to a team"))
    colleague.expect_text(TITLE)
    colleague.shot("03-invitation")
    colleague.click_and_load(colleague.role("button", "Accept and join the team"))
    colleague.expect_text(re.compile(rf"^You joined the team of {reference}\."))
    mails.tabs[mails.address("colleague")] = colleague
    mails.open_links(mails.new(joined=["colleague"]))
    researcher.page.reload()
    researcher.expect_text("Noor Visser (colleague)")

    # The researcher accepts both committees' agreements in one step and submits through the
    # confirmation page; each committee's members are told.
    researcher.click_and_load(researcher.role("button", "I accept all 2 agreements above"))
    researcher.expect_text(re.compile(rf"^You accepted 2 agreements for {reference}: "))
    researcher.expect_text("Everything needed is there.")
    researcher.shot("04-draft-ready")
    researcher.click_and_load(researcher.role("link", f"Submit request {reference}"))
    researcher.click_and_load(researcher.role("button", f"Submit request {reference}"))
    researcher.expect_text(re.compile(rf"^Submitted {reference}\."))
    researcher.shot("05-submitted")
    staff = {}
    for username in ("chair", "member", "chair2", "secretary2"):
        staff[username] = journey(username)
        staff[username].sign_in_admin()
        mails.tabs[mails.address(username)] = staff[username]
    chair, member, chair2, secretary2 = staff.values()
    submitted = mails.new(
        new_access_request=["chair", "member", "chair2", "secretary2"],
        was_submitted=["researcher"],
    )
    for mail in submitted:  # each committee hears of its own datasets
        if mail.to[0] in {mails.address("chair"), mails.address("member")}:
            assert (lung.accession, squamous.accession) == tuple(
                a for a in (lung.accession, squamous.accession, nsclc.accession) if a in mail.body
            ), mail.body
        elif mail.to[0] != mails.address("researcher"):
            assert nsclc.accession in mail.body and lung.accession not in mail.body, mail.body
    mails.open_links(submitted)

    # The second committee's chair returns it with a question, through the confirmation page;
    # the researcher and the colleague are told.
    open_review(chair2, reference)
    chair2.expect_text("Download the ethics approval document")
    question = "Which immunotherapy regimens does your cohort cover?"
    chair2.click_and_load(chair2.role("link", "Return for changes…"))
    chair2.expect(chair2.role("heading", re.compile(rf"^Return for changes: {reference} — ")))
    chair2.page.get_by_label("Questions for the applicant").fill(question)
    chair2.shot("06-return-confirmation")
    chair2.click_and_load(chair2.role("button", "Return to the applicant"))
    chair2.expect_text("Returned for changes; the applicant sees your questions.")
    returned = mails.new(questions=["researcher", "colleague"])
    assert all(question in mail.body for mail in returned)
    mails.open_links(returned)

    # The researcher reads the question at the top of the request (the mail's link led there),
    # edits the answers, replies in the reply box and resubmits; the committees are told.
    researcher.expect_text(f"{nordic.name} returned the request with questions.")
    researcher.expect_text(question)
    researcher.shot("07-questions")
    researcher.click_and_load(researcher.role("link", f"Edit request {reference}"))
    page.get_by_label("Scientific abstract").fill(
        "TIL density against response to first-line pembrolizumab, alone or with chemotherapy."
    )
    researcher.click_and_load(researcher.role("button", "Save changes"))
    researcher.expect_text(f"Saved your changes to {reference}. Resubmit when you are ready.")
    reply = "Pembrolizumab alone or with platinum chemotherapy; I added it to the abstract."
    page.get_by_label("Your reply to the committee").fill(reply)
    researcher.click_and_load(researcher.role("button", "Send reply"))
    researcher.expect_text("Your reply was sent to the committees.")
    replies = mails.new(wrote=["chair", "member", "chair2", "secretary2"])
    assert all(reply in mail.body for mail in replies)
    mails.open_links(replies)
    researcher.click_and_load(researcher.role("link", f"Resubmit request {reference}"))
    researcher.click_and_load(researcher.role("button", f"Resubmit request {reference}"))
    researcher.expect_text(re.compile(rf"^Resubmitted {reference}\."))
    researcher.shot("08-resubmitted")
    mails.open_links(mails.new(sent_back=["chair2", "secretary2"]))

    # The second committee's secretary (whose mail's link led to the review) reads the answer and
    # closes the review through the confirmation page, with a reason the researcher and the
    # colleague are told.
    secretary2.expect(secretary2.role("heading", re.compile(rf"^{reference} — ")))
    secretary2.expect_text("pembrolizumab, alone or with chemotherapy")
    secretary2.expect_text("I added it to the abstract.")
    secretary2.click_and_load(secretary2.role("link", "Close review…"))
    secretary2.expect(secretary2.role("heading", re.compile(rf"^Close review: {reference} — ")))
    closing = "The biobank cannot share these slides outside Sweden this year."
    secretary2.page.get_by_label("Reason for closing").fill(closing)
    secretary2.shot("09-close-confirmation")
    secretary2.click_and_load(secretary2.role("button", "Close the review"))
    secretary2.expect_text("The review is closed; the applicant is told your reason.")
    closed = mails.new(closed=["researcher", "colleague"])
    assert all(f"Reason: {closing}" in mail.body for mail in closed)
    mails.open_links(closed)
    researcher.expect_text(f"{nordic.name} closed its review. Reason: {closing}")

    # The first committee's member: the workspace home says one review needs their vote; the
    # queue it opens lists it; they vote.
    member.page.goto("/admin/")
    member.expect(member.role("heading", "What waits for you"))
    member.shot("10-member-home")
    member.click_and_load(member.role("link", "1 Needs your vote"))
    member.click_and_load(member.role("link", reference, exact=True))
    member.role("radio", "Approve", exact=True).check()
    member.page.get_by_label("Rationale").fill("The purpose fits the consent of both datasets.")
    member.click_and_load(member.role("button", "Cast vote"))
    member.expect_text("Your vote (approve) is recorded.")
    member.page.goto("/admin/")
    member.expect(member.role("link", "0 Needs your vote"))

    # The chair approves; the researcher and the colleague are told which datasets until when,
    # and the colleague that they have an agreement to accept first.
    open_review(chair, reference)
    chair.expect_text("1 cast: 1 approve, 0 reject, 0 abstain")
    chair.click_and_load(chair.role("button", "Approve", exact=True))
    chair.expect_text("Approved; the grants are listed below.")
    chair.shot("11-chair-approved")
    decided = {mail.to[0]: mail for mail in mails.new(approved=["researcher", "colleague"])}
    end_date = Decision.objects.get(review__committee=human).end_date
    agreement = f"{human.name} data access agreement"
    for username in ("researcher", "colleague"):
        body = decided[mails.address(username)].body
        assert f"until {end_date.day} {end_date:%b %Y}" in body, body
        for dataset in (lung, squamous):
            assert f"{dataset.title} ({dataset.accession})" in body, body
        assert nsclc.accession not in body
        assert (agreement in body) == (username == "colleague"), body
    told = decided[mails.address("colleague")].body
    detail = reverse("access:request-detail", args=[match[1]])
    assert re.search(rf"Accept the agreement:\n\S+{detail}#agreements\n", told), told
    mails.open_links(decided.values())  # the colleague's tab is left at the agreements

    # The colleague accepts where the mail led them.
    colleague.click_and_load(colleague.role("button", f"I accept {agreement}, version 1"))
    colleague.expect_text(f"You accepted “{agreement}”")

    # Both grants are on "My access", active, for both of them.
    researcher.click_and_load(researcher.nav("My access"))
    for dataset in (lung, squamous):
        card = researcher.page.get_by_role("article", name=f"{dataset.accession} {dataset.title}")
        researcher.expect(card)
        researcher.expect(card.get_by_text("Active", exact=True))
    researcher.expect_text("2 active grants.")
    researcher.shot("12-my-access")
    colleague.click_and_load(colleague.nav("My access"))
    colleague.expect_text("2 active grants.")
    assert mails.new() == []

    # The API documentation (Swagger UI) works under the policy too.
    researcher.page.goto("/api/docs/")
    researcher.expect(researcher.role("heading", re.compile(r"^Tessera API")))
    researcher.expect_text("/api/v1/datasets/")

    for tab in (researcher, colleague, *staff.values()):
        assert tab.csp_violations == [], "\n".join(tab.csp_violations)
