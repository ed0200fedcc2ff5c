"""Notifications that say what happened and take people there: who each event reaches, the deep
link in every mail (opened by that person, it answers 200), the text and HTML parts, templates
a deployment overrides, and the daily digest a person may choose instead."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from access import tasks
from access.models import Grant, Notification, NotificationPreference
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import notifications as notification_services
from access.services import requests as request_services
from access.services import reviews as review_services
from access.services import team as team_services
from audit.choices import EventType
from audit.models import AuditEvent
from core.exceptions import Forbidden
from tests import factories
from tests.access_world import accept_all, approve_part, join_team, make_draft, reply_to_committee
from tests.test_settings import production_env, python

pytestmark = pytest.mark.django_db

BASE = "https://tessera.example"


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.TESSERA_BASE_URL = BASE


def rows(user, **filters):
    return list(Notification.objects.filter(recipient=user, **filters).order_by("pk"))


def one(user, kind):
    (row,) = rows(user, kind=kind)
    return row


def path_in(text: str) -> str:
    """The path of the mail's deep link: the last link above the footer (the text part's
    signature, the HTML part's rule); a link is TESSERA_BASE_URL and a path."""
    above = text.split("\n-- \n")[0].split("<hr")[0]
    found = re.findall(re.escape(BASE) + r"(/[^\s\"<]*)", above)
    assert found, text
    return found[-1]


def opens(client, user, row) -> str:
    """The path of the row's link (without its #fragment), which `user` opens with 200 (text
    and HTML agree)."""
    path = path_in(row.body)
    assert path_in(row.html_body) == path
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return path.split("#")[0]


def review_page(review) -> str:
    return reverse("admin:access_review_change", args=[review.pk])


# --- who is told what, and where the link takes them ----------------------------------------
def test_a_submission_reaches_each_committee_with_a_link_to_its_review(
    client, researcher, chair, member, other_chair, committee, submitted
):
    review = submitted.reviews.get(committee=committee)
    for person in (chair, member):
        row = one(person, "submitted")
        assert submitted.reference in row.subject
        assert opens(client, person, row) == review_page(review)
    other = one(other_chair, "submitted")
    assert path_in(other.body) == review_page(submitted.reviews.get(committee__slug="leeds-dac"))
    mine = one(researcher, "submitted")
    assert opens(client, researcher, mine) == submitted.get_absolute_url()


def test_a_resubmission_reaches_the_committee_that_asked(
    client, researcher, chair, member, other_chair, committee, submitted
):
    review = submitted.reviews.get(committee=committee)
    decision_services.decision_record(
        review=review, actor=chair, outcome="return", questions="Which cohort?"
    )
    reply_to_committee(submitted, "Cohort A.")  # a returned request resubmits after a reply
    request_services.request_resubmit(access_request=submitted, actor=researcher)
    for person in (chair, member):
        (row,) = rows(person, dedupe_key__startswith="resubmitted")
        assert "sent back" in row.subject
        assert opens(client, person, row) == review_page(review)
    assert not rows(other_chair, dedupe_key__startswith="resubmitted")


def test_a_committee_question_reaches_the_applicant_and_the_team(
    client, researcher, teammate, chair, member, committee, submitted
):
    review_services.comment_add(
        access_request=submitted,
        actor=chair,
        body="Which <cohort> & why?",
        visibility="public",
        committee=committee,
    )
    for person in (researcher, teammate):
        row = one(person, "comment")
        assert "Which <cohort> & why?" in row.body  # the text part is not HTML-escaped
        assert "Which &lt;cohort&gt; &amp; why?" in row.html_body
        assert opens(client, person, row) == submitted.get_absolute_url()
    assert not rows(chair, kind="comment") and not rows(member, kind="comment")


def test_an_internal_comment_tells_nobody_outside_the_committee(
    researcher, teammate, chair, committee, submitted
):
    review_services.comment_add(
        access_request=submitted,
        actor=chair,
        body="Between us.",
        visibility="internal",
        committee=committee,
    )
    assert not Notification.objects.filter(kind__in=["comment", "reply"]).exists()


def test_the_applicants_reply_reaches_the_committees_still_reviewing(
    client, researcher, chair, member, other_chair, other_member, committee, submitted
):
    other_review = submitted.reviews.get(committee__slug="leeds-dac")
    review_services.review_close(review=other_review, actor=other_chair, reason="Out of scope.")
    review_services.comment_add(access_request=submitted, actor=researcher, body="The 2019 one.")
    review = submitted.reviews.get(committee=committee)
    for person in (chair, member):
        row = one(person, "reply")
        assert "The 2019 one." in row.body
        assert opens(client, person, row) == review_page(review)
    assert not rows(other_chair, kind="reply") and not rows(other_member, kind="reply")
    assert not rows(researcher, kind="reply")


def test_each_decision_reaches_the_applicant_and_every_team_member_with_its_terms(
    client, researcher, teammate, chair, dataset, submitted
):
    end = approve_part(submitted, dataset, chair, days=90, conditions="Cite the dataset.")
    for person in (researcher, teammate):
        row = one(person, "decided")
        assert "approved" in row.subject
        for part, title in ((row.body, dataset.title), (row.html_body, escape(dataset.title))):
            assert title in part and dataset.accession in part
            assert f"{end.day} {end:%b %Y}" in part  # e.g. 3 Dec 2026
            assert "Cite the dataset." in part
            assert reverse("access:grant-list") in part
        assert opens(client, person, row) == submitted.get_absolute_url()
    # The teammate has not accepted the committee's agreement yet: the mail says so, and takes
    # them to the request's agreements.
    assert "you must accept" in one(teammate, "decided").body
    assert path_in(one(teammate, "decided").body).endswith("/#agreements")
    assert "you must accept" not in one(researcher, "decided").body
    assert path_in(one(researcher, "decided").body) == submitted.get_absolute_url()


def test_the_obligations_of_the_consent_are_listed(researcher, chair, dataset, submitted):
    submitted.matches.filter(dataset=dataset).update(
        obligations=[{"term": "DUO:0000019", "text": "Publish the results."}]
    )
    approve_part(submitted, dataset, chair)
    row = one(researcher, "decided")
    assert "You must: Publish the results." in row.body


def test_a_return_reaches_the_applicant_and_the_team_with_the_questions(
    client, researcher, teammate, chair, committee, submitted
):
    decision_services.decision_record(
        review=submitted.reviews.get(committee=committee),
        actor=chair,
        outcome="return",
        questions="Which cohort exactly?",
    )
    for person in (researcher, teammate):
        row = one(person, "returned")
        assert "Which cohort exactly?" in row.body and "questions" in row.subject
        assert opens(client, person, row) == submitted.get_absolute_url()


def test_joining_a_team_tells_the_member_which_agreements_to_accept(
    client, researcher, dataset, agreement
):
    newcomer = factories.user("newcomer")
    make_draft(researcher, [dataset], team=[newcomer])
    row = one(newcomer, "team_joined")
    assert agreement.title in row.body and "accept" in row.body
    assert path_in(row.body).endswith("/#agreements")
    assert opens(client, newcomer, row).startswith("/requests/")


def test_the_invitation_mail_has_both_parts_and_the_link(researcher, dataset, agreement):
    draft = make_draft(researcher, [dataset])
    invitation = team_services.invitation_send(
        access_request=draft, actor=researcher, email="someone@example.org"
    )
    row = Notification.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    path = path_in(row.body)
    assert path == path_in(row.html_body) and path.startswith("/invitations/")
    assert team_services.invitation_from_token(path.split("/")[2]) == invitation


def test_a_revocation_reaches_the_holder_with_the_reason(
    client, researcher, chair, dataset, submitted
):
    approve_part(submitted, dataset, chair)
    grant = Grant.objects.get(user=researcher, dataset=dataset)
    grant_services.grant_revoke(grant=grant, actor=chair, reason="Data shared with a third party.")
    row = one(researcher, "revoked")
    assert "Data shared with a third party." in row.body
    assert "Data shared with a third party." in row.html_body
    assert opens(client, researcher, row) == reverse("access:grant-list")


def test_expiry_reminders_follow_the_setting_once_per_grant(
    client, settings, researcher, chair, dataset, submitted
):
    settings.TESSERA_EXPIRY_REMINDER_DAYS = 45
    approve_part(submitted, dataset, chair, days=90)
    grant = Grant.objects.get(user=researcher, dataset=dataset)
    end = grant.valid_until
    assert grant_services.grants_expire(now=end - timedelta(days=50))["reminded"] == 0
    assert grant_services.grants_expire(now=end - timedelta(days=44))["reminded"] == 2
    assert grant_services.grants_expire(now=end - timedelta(days=43))["reminded"] == 0
    row = one(researcher, "grant_expiring")
    assert "45 days" in row.subject
    assert f"{end.day} {end:%b %Y}" in row.body
    # The applicant's reminder opens the renewal of the request (issue 14).
    assert opens(client, researcher, row) == reverse("access:request-renew", args=[submitted.pk])


def test_a_closed_review_tells_the_applicant_and_the_team_why(
    client, researcher, teammate, chair, committee, submitted
):
    review = submitted.reviews.get(committee=committee)
    review_services.review_close(review=review, actor=chair, reason="  Duplicate of TSR-AR-7. ")
    for person in (researcher, teammate):
        row = one(person, "review_closed")
        assert committee.name in row.subject
        assert "Reason: Duplicate of TSR-AR-7." in row.body
        assert "Duplicate of TSR-AR-7." in row.html_body
        assert opens(client, person, row) == submitted.get_absolute_url()
    notification_services.notify_review_closed(review=review, reason="again")
    assert len(rows(researcher, kind="review_closed")) == 1  # once per review and person


# --- the mail itself --------------------------------------------------------------------------
def test_the_mail_sent_is_multipart_text_and_html(chair, submitted):
    row = one(chair, "submitted")
    mail.outbox.clear()
    assert notification_services.notification_deliver(notification_id=row.pk) is True
    (message,) = mail.outbox
    assert message.to == [chair.email] and message.subject == row.subject
    assert message.body == row.body and BASE in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html" and html == row.html_body and "<a href=" in html


def test_a_deployment_overrides_a_template(
    settings, tmp_path, researcher, chair, committee, submitted
):
    folder = tmp_path / "notifications"
    folder.mkdir()
    (folder / "comment_subject.txt").write_text(
        "Our committee wrote: {{ access_request.reference }}"
    )
    (folder / "comment.txt").write_text("Custom body. {{ link }}")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    review_services.comment_add(
        access_request=submitted, actor=chair, body="Hi", visibility="public", committee=committee
    )
    row = one(researcher, "comment")
    assert row.subject == f"Our committee wrote: {submitted.reference}"
    assert row.body == f"Custom body. {BASE}{submitted.get_absolute_url()}\n"
    assert "Hi" in row.html_body  # the HTML part not overridden: the shipped one


# --- the daily digest -------------------------------------------------------------------------
def test_digest_rows_wait_and_go_as_one_mail_a_day(
    researcher, chair, committee, django_capture_on_commit_callbacks, submitted
):
    notification_services.notification_preference_set(
        user=researcher, actor=researcher, digest=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        for text in ("First question?", "Second question?"):
            review_services.comment_add(
                access_request=submitted,
                actor=chair,
                body=text,
                visibility="public",
                committee=committee,
            )
    held = rows(researcher, kind="comment")
    assert len(held) == 2 and all(r.digest and r.sent_at is None for r in held)
    assert not [m for m in mail.outbox if researcher.email in m.to]
    assert not set(notification_services.notifications_due()) & {r.pk for r in held}
    assert tasks.notifications_digest() == 1
    (message,) = [m for m in mail.outbox if researcher.email in m.to]
    assert "2 updates" in message.subject
    assert "First question?" in message.body and "Second question?" in message.body
    assert message.body.count("Hello") == 1  # one greeting, not one per item
    assert message.alternatives[0][1] == "text/html"
    assert all(r.sent_at is not None for r in rows(researcher, kind="comment"))
    assert tasks.notifications_digest() == 0  # nothing held any more


def test_a_failed_digest_keeps_its_rows_and_is_retried(researcher, chair, committee, submitted):
    notification_services.notification_preference_set(
        user=researcher, actor=researcher, digest=True
    )
    review_services.comment_add(
        access_request=submitted, actor=chair, body="Q?", visibility="public", committee=committee
    )
    with mock.patch(
        "access.services.notifications.EmailMultiAlternatives.send",
        side_effect=ConnectionRefusedError("smtp down"),
    ):
        assert tasks.notifications_digest() == 0
    (row,) = rows(researcher, kind="comment")
    assert row.sent_at is None and row.attempts == 1 and "smtp down" in row.last_error
    assert row.pk not in notification_services.notifications_due()
    assert row.pk in notification_services.notifications_due(now=row.next_attempt_at)
    mail.outbox.clear()
    with mock.patch("django.utils.timezone.now", return_value=row.next_attempt_at):
        tasks.notifications_sweep()
    (message,) = [m for m in mail.outbox if "summary" in m.subject]
    assert message.to == [researcher.email] and "Q?" in message.body
    row.refresh_from_db()
    assert row.sent_at is not None


def test_invitations_to_an_address_are_never_held(researcher, dataset, agreement):
    invitee = factories.user("invitee")
    notification_services.notification_preference_set(user=invitee, actor=invitee, digest=True)
    draft = make_draft(researcher, [dataset])
    team_services.invitation_send(access_request=draft, actor=researcher, email=invitee.email)
    (row,) = Notification.objects.filter(kind="invitation")
    assert row.digest is False and row.address == invitee.email


# --- the choice on My account -------------------------------------------------------------------
def test_my_account_offers_the_choice_and_saves_it_with_a_ledger_event(client, researcher):
    client.force_login(researcher)
    page = client.get(reverse("account"))
    assert page.status_code == 200
    assert b'value="immediate"' in page.content and b"One summary e-mail a day" in page.content
    response = client.post(reverse("account-notifications"), {"delivery": "digest"})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=researcher).digest is True
    events = AuditEvent.objects.filter(event_type=EventType.NOTIFICATION_PREFERENCE_CHANGED)
    assert [e.payload for e in events] == [{"digest": True}]
    page = client.get(reverse("account"))
    assert re.search(rb'value="digest"[^>]*checked', page.content)
    # Saving the same choice again changes nothing and writes nothing.
    client.post(reverse("account-notifications"), {"delivery": "digest"})
    assert events.count() == 1
    client.post(reverse("account-notifications"), {"delivery": "immediate"})
    assert NotificationPreference.objects.get(user=researcher).digest is False


def test_a_bad_choice_is_refused_with_400_and_a_get_with_405(client, researcher):
    client.force_login(researcher)
    response = client.post(reverse("account-notifications"), {"delivery": "hourly"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    assert not NotificationPreference.objects.exists()
    assert client.get(reverse("account-notifications")).status_code == 405


def test_the_choice_needs_sign_in_and_csrf(client, researcher):
    response = client.post(reverse("account-notifications"), {"delivery": "digest"})
    assert response.status_code == 302 and "login" in response["Location"]
    # A client that enforces CSRF, as a browser's does.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(researcher)
    assert strict.post(reverse("account-notifications"), {"delivery": "digest"}).status_code == 403
    assert not NotificationPreference.objects.exists()


def test_only_the_person_sets_their_own_preference(researcher, outsider):
    with pytest.raises(Forbidden):
        notification_services.notification_preference_set(
            user=researcher, actor=outsider, digest=True
        )


# --- the settings -------------------------------------------------------------------------------
def test_the_daily_digest_is_on_the_beat_schedule(settings):
    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("_digest")]
    assert entry["task"] == tasks.notifications_digest.name
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}


NOTIFICATION_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.TEMPLATES[0]['DIRS'][0], s.TESSERA_EXPIRY_REMINDER_DAYS, "
    "sorted(s.CELERY_BEAT_SCHEDULE['notifications-digest']['schedule'].hour))"
)


def test_a_deployment_sets_its_template_folder_reminder_days_and_digest_hour():
    env = production_env(
        TESSERA_TEMPLATE_DIRS="/etc/tessera/templates",
        TESSERA_EXPIRY_REMINDER_DAYS="45",
        TESSERA_DIGEST_HOUR="6",
    )
    result = python(NOTIFICATION_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/etc/tessera/templates 45 [6]"


def test_a_committee_member_who_applies_gets_the_receipt_not_the_committees_mail(
    member, chair, dataset, agreement, committee
):
    """Their own request is not theirs to review: no committee mail to the applicant, nor to a
    committee member on its team; the other members are told as ever."""
    on_team = factories.committee_staff("onteam", committee, "member")
    draft = make_draft(member, [dataset])
    join_team(draft, on_team)
    accept_all(draft, member)
    accept_all(draft, on_team)
    request_services.request_submit(access_request=draft, actor=member)
    keys = set(Notification.objects.filter(recipient=member).values_list("dedupe_key", flat=True))
    assert keys == {f"submitted:{draft.pk}:applicant"}
    assert not Notification.objects.filter(
        recipient=on_team, dedupe_key__startswith="submitted:"
    ).exists()
    assert Notification.objects.filter(
        recipient=chair, dedupe_key__startswith="submitted:"
    ).exists()
