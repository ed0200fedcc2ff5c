"""The notification outbox, and who is told what.

`notify` writes a row once per key in the caller's transaction, and after commit
`notification_ready` is sent so that `access.tasks` (connected in `AccessConfig.ready`) queues its
delivery; `notification_deliver` sends one row's e-mail (text and HTML), `notifications_due`
lists what the sweep still has to send.

`notify_event` renders a mail from templates (`templates/notifications/<event>_subject.txt`,
`<event>.txt`, `<event>.html`) found through the normal template loader order, so a deployment
overrides any of them by putting its own file first (docs/deployment.md). Every mail carries a
deep link, absolute from `TESSERA_BASE_URL`, to the page where the person acts.

A person who chose the daily digest (`NotificationPreference`) has their rows held
(`Notification.digest`): `notification_digest_deliver` sends all of a person's held rows as one
mail (the daily `access.tasks.notifications_digest`), and the sweep retries a digest that failed.
Invitations to an address alone are always sent at once.

The `notify_*` functions below say who each event reaches; the services call them."""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.dispatch import Signal
from django.template import Context
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone

from audit import events
from core.exceptions import Forbidden

from ..choices import CommentVisibility, DecisionOutcome, NotificationKind, ReviewStatus
from ..models import AgreementAcceptance, Notification, NotificationPreference
from ..selectors import notification_digest_chosen

log = logging.getLogger(__name__)

# Sent after the commit that queued a notification, with `notification_id`. `access.tasks`
# (above the services: its tasks call them) connects the receiver that queues its delivery.
notification_ready = Signal()

# The kind recorded for each templated event (its templates are notifications/<event>*).
EVENT_KINDS = {
    "submitted": NotificationKind.SUBMITTED,
    "submitted_applicant": NotificationKind.SUBMITTED,
    "resubmitted": NotificationKind.SUBMITTED,
    "decided": NotificationKind.DECIDED,
    "returned": NotificationKind.RETURNED,
    "comment": NotificationKind.COMMENT,
    "reply": NotificationKind.REPLY,
    "invitation": NotificationKind.INVITATION,
    "expert_invitation": NotificationKind.EXPERT_INVITATION,
    "team_joined": NotificationKind.TEAM_JOINED,
    "team_left": NotificationKind.TEAM_LEFT,
    "revoked": NotificationKind.REVOKED,
    "grant_expiring": NotificationKind.GRANT_EXPIRING,
    "grant_expired": NotificationKind.GRANT_EXPIRED,
    "draft_expiring": NotificationKind.DRAFT_EXPIRING,
    "draft_expired": NotificationKind.DRAFT_EXPIRED,
    "review_closed": NotificationKind.REVIEW_CLOSED,
    "review_reminder": NotificationKind.REVIEW_REMINDER,
}


# --- the outbox -------------------------------------------------------------------------------
def notify(
    *,
    recipient=None,
    address: str = "",
    kind: str,
    subject: str,
    body: str,
    key: str,
    html_body: str = "",
) -> Notification | None:
    """Write an outbox row (once per key) and send it after commit; None if already queued.

    It goes to `recipient`'s e-mail, or, with no recipient, to `address` alone (a team
    invitation: whether the address has an account is never looked up). A recipient who chose
    the daily digest has it held for the digest instead."""
    if recipient is not None and not recipient.email:
        return None
    if recipient is None and not address:
        return None
    held = recipient is not None and notification_digest_chosen(recipient)
    notification, created = Notification.objects.get_or_create(
        dedupe_key=key[:200],
        defaults={
            "recipient": recipient,
            "address": "" if recipient is not None else address,
            "kind": kind,
            "subject": subject[:200],
            "body": body,
            "html_body": html_body,
            "digest": held,
        },
    )
    if not created:
        return None
    events.notification_queued(notification=notification)
    if not held:
        # robust: a broker outage must not fail the user's action; the outbox sweep sends it later.
        transaction.on_commit(
            lambda: notification_ready.send(sender=Notification, notification_id=notification.pk),
            robust=True,
        )
    return notification


def link(path: str) -> str:
    """The absolute address of a path on this site (`TESSERA_BASE_URL`)."""
    return settings.TESSERA_BASE_URL + path


SIGNATURE = "\n-- \n"  # the text part's signature line (notifications/base.txt)


def _render_text(name: str, context: dict) -> str:
    # Plain text is not HTML: nothing is escaped (the HTML part is, as every page is).
    text = get_template(name).template.render(Context(context, autoescape=False))
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", text)


def _digest_item(notification: Notification) -> dict:
    """A held row as its digest shows it: its text without the greeting and the signature."""
    body = notification.body.split(SIGNATURE, 1)[0].strip()
    first, _, rest = body.partition("\n")
    if first.startswith("Hello") and first.endswith(","):
        body = rest.strip()
    return {"subject": notification.subject, "body": body, "created_at": notification.created_at}


def render_event(event: str, context: dict) -> tuple[str, str, str]:
    """The subject, text and HTML of an event's mail, from its templates."""
    context = {
        "base_url": settings.TESSERA_BASE_URL,
        "account_link": link(reverse("account")),
        **context,
    }
    subject = " ".join(_render_text(f"notifications/{event}_subject.txt", context).split())
    text = _render_text(f"notifications/{event}.txt", context).strip() + "\n"
    html = get_template(f"notifications/{event}.html").render(context)
    return subject, text, html


def notify_event(
    *, recipient=None, address: str = "", event: str, context: dict, key: str
) -> Notification | None:
    """`notify` with the mail rendered from the event's templates; `context` must give `link`,
    the page where the person acts."""
    subject, text, html = render_event(event, {"recipient": recipient, **context})
    return notify(
        recipient=recipient,
        address=address,
        kind=EVENT_KINDS[event],
        subject=subject,
        body=text,
        html_body=html,
        key=key,
    )


def _failed(notifications: list[Notification], exc: Exception) -> None:
    now = timezone.now()
    for notification in notifications:
        notification.attempts += 1
        notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
        notification.next_attempt_at = now + timedelta(minutes=min(2**notification.attempts, 360))
        notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        log.warning(
            "notification %s not sent (attempt %s): %s",
            notification.pk,
            notification.attempts,
            type(exc).__name__,
        )


def _sent(notifications: list[Notification]) -> None:
    now = timezone.now()
    for notification in notifications:
        notification.sent_at = now
        notification.attempts += 1
        notification.last_error = ""
        notification.save(update_fields=["sent_at", "attempts", "last_error"])


def _send(*, subject: str, body: str, html_body: str, to: str) -> None:
    message = EmailMultiAlternatives(subject, body, None, [to])
    if html_body:
        message.attach_alternative(html_body, "text/html")
    message.send()


@transaction.atomic
def notification_deliver(*, notification_id: int) -> bool:
    """Send one outbox e-mail; True when it left (or had left already). Trusted caller: the
    system (the outbox task), no actor. A row held for a digest goes with its digest."""
    notification = (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.sent_at is not None:
        return notification is not None
    if notification.digest:
        return notification_digest_deliver(recipient_id=notification.recipient_id)
    if settings.TESSERA_NOTIFICATION_SEND_PAUSE:
        # Fault drills and tests: a send in progress holds its row locked this long, so a worker
        # can be killed mid-task before the mail leaves.
        time.sleep(settings.TESSERA_NOTIFICATION_SEND_PAUSE)
    try:
        _send(
            subject=notification.subject,
            body=notification.body,
            html_body=notification.html_body,
            to=notification.to,
        )
    except Exception as exc:  # any mail failure: keep the row, back off, try again later
        _failed([notification], exc)
        return False
    _sent([notification])
    return True


@transaction.atomic
def notification_digest_deliver(*, recipient_id: int) -> bool:
    """Send one person's held notifications as one mail and mark them sent; True when it left
    (or nothing was held). On failure every row is kept and backs off, as a single row does.
    Trusted caller: the system (the daily digest task, the sweep), no actor."""
    held = list(
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(recipient_id=recipient_id, digest=True, sent_at__isnull=True)
        .order_by("created_at", "pk")
    )
    if not held:
        return True
    person = held[0].recipient
    subject, text, html = render_event(
        "digest",
        {
            "recipient": person,
            "items": [_digest_item(n) for n in held],
            "link": link(reverse("portal:home")),
        },
    )
    try:
        _send(subject=subject, body=text, html_body=html, to=person.email)
    except Exception as exc:  # any mail failure: keep the rows, back off, try again later
        _failed(held, exc)
        return False
    _sent(held)
    return True


def notifications_due(now: datetime | None = None) -> list[int]:
    """The rows the sweep sends: immediate ones not sent yet, and the held rows of a digest that
    failed before (delivering the first sends the whole digest; the rest are then sent)."""
    now = now or timezone.now()
    due = Notification.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
    return list(
        due.filter(digest=False).order_by("next_attempt_at").values_list("pk", flat=True)[:500]
    ) + list(
        due.filter(digest=True, attempts__gt=0)
        .order_by("recipient_id", "pk")
        .values_list("pk", flat=True)[:500]
    )


def digest_recipients(now: datetime | None = None) -> list[int]:
    """The people with held notifications whose digest is due (the daily task)."""
    now = now or timezone.now()
    return list(
        Notification.objects.filter(digest=True, sent_at__isnull=True, next_attempt_at__lte=now)
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()
    )


@transaction.atomic
def notification_preference_set(*, user, actor, digest: bool) -> NotificationPreference:
    """A person chooses immediate mail or the daily digest (for themselves only). Rows held
    already go with the next digest."""
    if actor is None or actor.pk != user.pk:
        raise Forbidden("A person sets only their own notification preference.")
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    if preference.digest != digest:
        preference.digest = digest
        preference.save(update_fields=["digest", "updated_at"])
        events.notification_preference_changed(user=user, digest=digest)
    return preference


# --- the deep links ---------------------------------------------------------------------------
def request_link(access_request, *, agreements: bool = False) -> str:
    """The applicant's and the team's page of a request (the portal); at its agreements when
    the person has some to accept."""
    return link(access_request.get_absolute_url() + ("#agreements" if agreements else ""))


def review_link(review) -> str:
    """The committee's page of a review (the admin)."""
    return link(reverse("admin:access_review_change", args=[review.pk]))


def grants_link() -> str:
    return link(reverse("access:grant-list"))


# --- who is told what -------------------------------------------------------------------------
def _committee_members(review) -> list:
    """The members of the review's committee who may act on it: less those recused from it,
    and less the applicant and the team when they sit on the committee (their own request is
    not theirs to review; the applicant has a receipt of their own)."""
    access_request = review.request
    excluded = set(review.recusals.values_list("member_id", flat=True))
    excluded.add(access_request.applicant_id)
    excluded |= set(access_request.team_members.values_list("pk", flat=True))
    return [
        m.user
        for m in review.committee.memberships.select_related("user")
        if m.user_id not in excluded
    ]


def notify_submitted(*, access_request, reviews) -> None:
    """A new request: each committee's members, and the applicant."""
    for review in reviews:
        for person in _committee_members(review):
            notify_event(
                recipient=person,
                event="submitted",
                context={
                    "access_request": access_request,
                    "review": review,
                    "link": review_link(review),
                },
                key=f"submitted:{review.pk}:{person.pk}",
            )
    notify_event(
        recipient=access_request.applicant,
        event="submitted_applicant",
        context={
            "access_request": access_request,
            "reviews": reviews,
            "link": request_link(access_request),
        },
        key=f"submitted:{access_request.pk}:applicant",
    )


def notify_resubmitted(*, access_request, review) -> None:
    for person in _committee_members(review):
        notify_event(
            recipient=person,
            event="resubmitted",
            context={
                "access_request": access_request,
                "review": review,
                "link": review_link(review),
            },
            key=f"resubmitted:{review.pk}:{review.round}:{person.pk}",
        )


def _awaiting_acceptance(access_request, person, agreements) -> list:
    accepted = set(
        AgreementAcceptance.objects.filter(request=access_request, user=person).values_list(
            "agreement_id", flat=True
        )
    )
    return [a for a in agreements if a.pk not in accepted]


def notify_decided(*, decision) -> None:
    """A decision: the applicant and every team member, with the datasets, the end date, the
    conditions and obligations, and the agreements each of them has still to accept."""
    review = decision.review
    access_request = review.request
    returned = decision.outcome == DecisionOutcome.RETURN
    obligations = {m.dataset_id: m.obligations for m in access_request.matches.all()}
    datasets = [
        {"dataset": d, "obligations": obligations.get(d.pk, [])}
        for d in decision.approved_datasets.order_by("accession")
    ]
    agreements = list(decision.agreements.order_by("pk"))
    for person in access_request.people():
        to_accept = _awaiting_acceptance(access_request, person, agreements)
        notify_event(
            recipient=person,
            event="returned" if returned else "decided",
            context={
                "access_request": access_request,
                "committee": review.committee,
                "decision": decision,
                "approved": decision.outcome == DecisionOutcome.APPROVE,
                "datasets": datasets,
                "to_accept": to_accept,
                "is_applicant": person.pk == access_request.applicant_id,
                "link": request_link(access_request, agreements=bool(to_accept)),
                "grants_link": grants_link(),
            },
            key=f"decided:{decision.pk}:{person.pk}",
        )


def notify_comment(*, comment) -> None:
    """A committee's public comment or question reaches the applicant and the team; the
    applicant's reply reaches the members of the committees still reviewing the request.
    Internal comments stay within the committee; nobody is told of their own comment."""
    access_request = comment.request
    if comment.committee_id is not None:
        if comment.visibility != CommentVisibility.PUBLIC:
            return
        for person in access_request.people():
            if person.pk == comment.author_id:
                continue
            notify_event(
                recipient=person,
                event="comment",
                context={
                    "access_request": access_request,
                    "comment": comment,
                    "committee": comment.committee,
                    "link": request_link(access_request),
                },
                key=f"comment:{comment.pk}:{person.pk}",
            )
        return
    reviews = access_request.reviews.select_related("committee").exclude(
        status__in=[ReviewStatus.CLOSED, ReviewStatus.WITHDRAWN]
    )
    for review in reviews:
        for person in _committee_members(review):
            if person.pk == comment.author_id:
                continue
            notify_event(
                recipient=person,
                event="reply",
                context={
                    "access_request": access_request,
                    "comment": comment,
                    "review": review,
                    "link": review_link(review),
                },
                key=f"reply:{comment.pk}:{review.pk}:{person.pk}",
            )


def notify_invitation(*, invitation, invitation_link: str) -> None:
    """A team invitation goes to the address alone, at once (never held for a digest)."""
    notify_event(
        address=invitation.email,
        event="invitation",
        context={
            "invitation": invitation,
            "access_request": invitation.request,
            "inviter": invitation.request.applicant,
            "link": invitation_link,
        },
        key=f"invitation:{invitation.pk}",
    )


def notify_expert_invitation(*, expert, link: str) -> None:
    """An outside expert's invitation goes to the address alone, at once."""
    notify_event(
        address=expert.email,
        event="expert_invitation",
        context={
            "expert": expert,
            "access_request": expert.review.request,
            "committee": expert.review.committee,
            "inviter": expert.invited_by,
            "link": link,
        },
        key=f"expert-invitation:{expert.pk}",
    )


def notify_team_joined(*, invitation, agreements) -> None:
    """The person who joined a team: the request, and the agreements they have to accept."""
    access_request = invitation.request
    person = invitation.accepted_by
    to_accept = _awaiting_acceptance(access_request, person, sorted(agreements, key=lambda a: a.pk))
    notify_event(
        recipient=person,
        event="team_joined",
        context={
            "access_request": access_request,
            "to_accept": to_accept,
            "link": request_link(access_request, agreements=bool(to_accept)),
        },
        key=f"team-joined:{invitation.pk}",
    )


def notify_team_left(*, access_request, user, left: bool, reason: str, grants, key: str) -> None:
    """A member left the team or was taken off it: the member (their grants' own notices say
    the same per dataset) and the applicant, with the datasets whose access ended."""
    datasets = sorted({g.dataset.title for g in grants})
    member_name = user.get_full_name() or user.get_username()
    for person, is_member in ((user, True), (access_request.applicant, False)):
        notify_event(
            recipient=person,
            event="team_left",
            context={
                "access_request": access_request,
                "member_name": member_name,
                "is_member": is_member,
                "left": left,
                "reason": reason,
                "datasets": datasets,
                # The member no longer sees the request: their link is to what access they hold.
                "link": grants_link() if is_member else request_link(access_request),
            },
            key=f"team-left:{access_request.pk}:{key}:{'member' if is_member else 'applicant'}",
        )


def notify_revoked(*, grant, notice: str, bar=None) -> None:
    """The holder told of a revocation; `bar`, when the committee also barred them."""
    notify_event(
        recipient=grant.user,
        event="revoked",
        context={
            "grant": grant,
            "notice": notice,
            "bar": bar,
            "reason": grant.revoked_reason,
            "link": grants_link(),
        },
        key=f"revoked:{grant.pk}",
    )


def renewal_link(access_request) -> str:
    return link(reverse("access:request-renew", kwargs={"pk": access_request.pk}))


def notify_grant_expiring(*, grant, days_left: int, key: str) -> Notification | None:
    """The reminder links to the renewal of the grant's request: its applicant asks there; a
    team member is sent to the request's page (the applicant asks for the team)."""
    access_request = grant.request
    is_applicant = access_request.applicant_id == grant.user_id
    renew = renewal_link(access_request)
    return notify_event(
        recipient=grant.user,
        event="grant_expiring",
        context={
            "grant": grant,
            "days_left": days_left,
            "access_request": access_request,
            "is_applicant": is_applicant,
            "renewal_link": renew,
            "link": renew if is_applicant else request_link(access_request),
        },
        key=key,
    )


def notify_grant_expired(*, grant) -> Notification | None:
    return notify_event(
        recipient=grant.user,
        event="grant_expired",
        context={"grant": grant, "link": grants_link()},
        key=f"grant-expired:{grant.pk}",
    )


def notify_draft(*, draft, expired: bool, days: int, key: str) -> Notification | None:
    return notify_event(
        recipient=draft.applicant,
        event="draft_expired" if expired else "draft_expiring",
        context={"access_request": draft, "days": days, "link": request_link(draft)},
        key=key,
    )


def notify_review_closed(*, review, reason: str) -> None:
    """A committee closed its review: the applicant and the team, with the reason."""
    access_request = review.request
    for person in access_request.people():
        notify_event(
            recipient=person,
            event="review_closed",
            context={
                "access_request": access_request,
                "committee": review.committee,
                "reason": reason.strip(),
                "link": request_link(access_request),
            },
            key=f"review-closed:{review.pk}:{person.pk}",
        )
