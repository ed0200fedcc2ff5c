"""A request's team, by invitation: the applicant invites an e-mail address, the link sent there
is signed, single use and expiring, and whoever signs in and accepts it joins the team.

Only accepted members are on the team (`AccessRequest.team_members`), and only they, beside the
applicant, ever receive grants (`grants.grants_create` gives one to each of `people()`).

Nothing here looks an address up among the accounts: sending answers the same for any address,
the e-mail goes to the address alone, and a link that is bad, tampered with, expired, used or
withdrawn is refused with one message (`LINK_REFUSED`), whichever it was.

The token is `django.core.signing.dumps({"i": invitation id, "n": nonce})` with this module's
salt, its age checked against `TESSERA_INVITATION_DAYS`. The nonce is random per invitation and
stored on its row, so a token names exactly one invitation, and one that is no longer pending
is refused however valid its signature.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit import events
from core.exceptions import Conflict, Forbidden, Invalid, NotFound

from ..choices import InvitationStatus, RequestStatus
from ..models import AccessRequest, Grant, TeamInvitation
from . import common
from . import grants as grant_services
from . import notifications as notification_services
from . import requests as request_services

SALT = "tessera.access.team-invitation"
# An applicant's open invitations on one request at a time: enough for any team, too few to
# use Tessera as a mail relay.
MAX_PENDING = 25
# One answer for every link that cannot be used, whatever the reason.
LINK_REFUSED = (
    "This invitation link cannot be used. It may have expired, been answered already or been "
    "withdrawn. Ask the person who invited you to send a new invitation."
)


def invitation_days() -> int:
    return settings.TESSERA_INVITATION_DAYS


def normalise_email(address: str) -> str:
    """The address as stored and compared: trimmed, lower-case, and valid (else `Invalid`)."""
    address = (address or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise Invalid({"email": "Give a valid e-mail address."}) from None
    return address


# --- the link ---------------------------------------------------------------------------------
def invitation_token(invitation: TeamInvitation) -> str:
    return common.link_token(invitation.pk, invitation.nonce, salt=SALT)


def invitation_link(invitation: TeamInvitation) -> str:
    """The absolute link sent by e-mail (`TESSERA_BASE_URL`)."""
    path = reverse("access:invitation", kwargs={"token": invitation_token(invitation)})
    return settings.TESSERA_BASE_URL + path


def invitation_from_token(token: str, *, for_update: bool = False) -> TeamInvitation:
    """The open invitation a token names; `NotFound(LINK_REFUSED)` for any other token
    (malformed, tampered, too old, unknown, used, withdrawn, expired)."""
    found = TeamInvitation.objects.select_related("request__applicant")
    if for_update:
        found = found.select_for_update(of=("self",))
    invitation = common.link_row(
        token, found, salt=SALT, days=invitation_days(), refused=LINK_REFUSED
    )
    if not invitation.is_open():
        raise NotFound(LINK_REFUSED)
    return invitation


# --- the applicant's side ---------------------------------------------------------------------
def _notify_invitee(invitation: TeamInvitation) -> None:
    notification_services.notify_invitation(
        invitation=invitation, invitation_link=invitation_link(invitation)
    )


@transaction.atomic
def invitation_send(*, access_request: AccessRequest, actor, email: str) -> TeamInvitation:
    """The applicant invites an address to the team while the team may change (a draft, or a
    request returned for changes with no approval standing on it). The answer is the same
    whether or not the address has an account."""
    address = normalise_email(email)
    common.lock_reviews_of(access_request)
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    refusal = request_services.team_change_refusal(access_request)
    if refusal:
        raise Conflict(refusal)
    if address == (actor.email or "").strip().lower():
        raise Invalid({"email": "That is your own address: you are the applicant already."})
    pending = TeamInvitation.objects.filter(request=access_request, status=InvitationStatus.PENDING)
    now = timezone.now()
    # A pending invitation past its expiry no longer counts: it is expired now.
    for stale in pending.filter(expires_at__lte=now).select_for_update(of=("self",)):
        _expire(stale, now)
    if pending.filter(email=address).exists():
        raise Conflict("An invitation to this address is pending already.")
    sent_today = TeamInvitation.objects.filter(
        invited_by=actor, created__gt=now - timedelta(days=1)
    ).count()
    if sent_today >= settings.TESSERA_INVITATIONS_PER_DAY:
        raise Conflict(
            f"You sent {sent_today} invitations in the last 24 hours, the most one person may "
            "send in a day (withdrawn ones count too). Try again tomorrow."
        )
    if pending.count() >= MAX_PENDING:
        raise Conflict(
            f"This request has {MAX_PENDING} pending invitations: withdraw some, or wait "
            "for answers, before inviting more."
        )
    invitation = TeamInvitation(
        request=access_request,
        email=address,
        invited_by=actor,
        created=now,
        expires_at=now + timedelta(days=invitation_days()),
        nonce=secrets.token_urlsafe(24),
    )
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:  # the same address invited concurrently
        raise Conflict("An invitation to this address is pending already.") from None
    access_request.last_activity_at = now
    access_request.save(update_fields=["last_activity_at", "updated_at"])
    events.invitation_sent(invitation=invitation, actor=actor)
    _notify_invitee(invitation)
    return invitation


def _lock_invitation(invitation: TeamInvitation) -> TeamInvitation:
    return (
        TeamInvitation.objects.select_for_update(of=("self",))
        .select_related("request__applicant")
        .get(pk=invitation.pk)
    )


@transaction.atomic
def invitation_withdraw(*, invitation: TeamInvitation, actor) -> TeamInvitation:
    """The applicant withdraws a pending invitation: its link stops working."""
    access_request = common.lock_request(invitation.request)
    common.require_applicant(access_request, actor)
    invitation = _lock_invitation(invitation)
    if invitation.status != InvitationStatus.PENDING:
        raise Conflict(
            f"This invitation is {invitation.get_status_display().lower()}: only a pending "
            "one can be withdrawn."
        )
    invitation.status = InvitationStatus.WITHDRAWN
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    events.invitation_withdrawn(invitation=invitation, actor=actor)
    return invitation


# --- leaving the team ---------------------------------------------------------------------------
# Leaving needs no review: a smaller team is never more access than a committee approved, so
# the applicant may take a member off the team, and a member may leave, at any time the request
# is live (a draft, or submitted: under review, returned or approved). What that person holds
# from this request ends at once with the same revocation as a committee's: ledger, feed,
# tokens and visas. The applicant cannot leave (they withdraw the request instead).
APPLICANT_STAYS = (
    "You are the applicant of this request: you cannot leave its team. Withdraw the request "
    "instead (its access ends for everyone)."
)
REASON_MAX = 1000


def team_departure_refusal(access_request: AccessRequest, *, live_grants: bool) -> str | None:
    """Why a member cannot leave this request's team now, or None: a live request's team can
    always shrink; a withdrawn or closed one's only while that member still holds a grant."""
    if access_request.status in (RequestStatus.DRAFT, RequestStatus.SUBMITTED) or live_grants:
        return None
    return (
        f"This request is {access_request.get_status_display().lower()}: its team no longer "
        "changes."
    )


def _depart(*, access_request: AccessRequest, user, actor, reason: str, left: bool) -> list[Grant]:
    """Take `user` off the team (the caller holds the reviews' and the request's locks) and
    revoke what they hold from this request. Returns the grants revoked."""
    if user.pk == access_request.applicant_id:
        raise Conflict(APPLICANT_STAYS)
    if not access_request.team_members.filter(pk=user.pk).exists():
        raise NotFound("That person is not on this request's team.")
    if access_request.is_renewal:
        # A renewal holds no grant: the project's grants are its parent's. Leaving it alone
        # would leave that access running, and the renewal would then extend it.
        raise Conflict(
            "A renewal's team is its project's: leave the project itself, "
            f"{access_request.parent.reference}, or take the member off it there."
        )
    reason = (reason or "").strip()[:REASON_MAX]
    # The grants last in the lock order (reviews, request, grants), and before the first ledger
    # event: a token issuer holds a grant's lock while its own event waits for the ledger's
    # (see tokens.issue). Grants waiting for an agreement end too: nothing is left pending.
    grants = list(
        Grant.objects.select_for_update(of=("self",))
        .filter(
            request=access_request,
            user=user,
            revoked_at__isnull=True,
            valid_until__gt=timezone.now(),
        )
        .select_related("decision__review__committee", "dataset", "user")
        .order_by("pk")
    )
    refusal = team_departure_refusal(access_request, live_grants=bool(grants))
    if refusal:
        raise Conflict(refusal)
    access_request.team_members.remove(user)
    now = timezone.now()
    access_request.last_activity_at = now
    access_request.save(update_fields=["last_activity_at", "updated_at"])
    # The project's renewals carry its team: the person leaves them too (each in the ledger).
    for renewal in access_request.follow_ups.filter(team_members=user).order_by("pk"):
        renewal.team_members.remove(user)
        if left:
            events.team_member_left(
                access_request=renewal, user=user, reason=reason, grants_ended=[]
            )
        else:
            events.team_member_removed(
                access_request=renewal, user=user, actor=actor, reason=reason, grants_ended=[]
            )
    ended = [g.pk for g in grants]
    if left:
        events.team_member_left(
            access_request=access_request, user=user, reason=reason, grants_ended=ended
        )
        why = f"Left the team of request {access_request.reference}"
    else:
        events.team_member_removed(
            access_request=access_request,
            user=user,
            actor=actor,
            reason=reason,
            grants_ended=ended,
        )
        why = f"Removed from the team of request {access_request.reference} by the applicant"
    why += f": {reason}" if reason else ""
    for grant in grants:
        grant_services.grant_revoke_locked(
            grant=grant,
            actor=actor,
            reason=why,
            notice=f"You are no longer on the team of {access_request.reference} "
            f"“{access_request.title}”, so your access to {grant.dataset.title} has ended.",
        )
    if grants or left or access_request.status != RequestStatus.DRAFT:
        notification_services.notify_team_left(
            access_request=access_request,
            user=user,
            left=left,
            reason=reason,
            grants=grants,
            key=f"{user.pk}:{now.timestamp()}",
        )
    return grants


@transaction.atomic
def team_member_remove(
    *, access_request: AccessRequest, actor, user, reason: str = ""
) -> AccessRequest:
    """The applicant takes a member off the team: while the team may change, as a draft's
    edit; after an approval, with that member's grants of this request revoked at once."""
    common.lock_reviews_of(access_request)
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    _depart(access_request=access_request, user=user, actor=actor, reason=reason, left=False)
    return access_request


@transaction.atomic
def team_member_leave(*, access_request: AccessRequest, actor, reason: str = "") -> AccessRequest:
    """A member leaves the team of their own accord: their grants of this request are revoked
    at once, and the applicant is told. The applicant cannot leave."""
    common.lock_reviews_of(access_request)
    access_request = common.lock_request(access_request)
    _depart(access_request=access_request, user=actor, actor=actor, reason=reason, left=True)
    return access_request


# --- the invitee's side -----------------------------------------------------------------------
@transaction.atomic
def invitation_accept(*, token: str, actor) -> TeamInvitation:
    """The signed-in person who opened the link joins the team. Any account may: the address
    is where the link was sent, not whose account it must be. The request's team must still
    be open to change; the applicant cannot join their own team."""
    found = invitation_from_token(token)
    # Lock order of an applicant-side change: reviews, the request, then the invitation.
    common.lock_reviews_of(found.request)
    access_request = common.lock_request(found.request)
    invitation = invitation_from_token(token, for_update=True)
    if actor.pk == access_request.applicant_id:
        raise Forbidden("You are the applicant of this request; you are on it already.")
    if access_request.team_members.filter(pk=actor.pk).exists():
        raise Conflict("You are on this request's team already.")
    if access_request.status in (RequestStatus.WITHDRAWN, RequestStatus.CLOSED):
        raise Conflict(
            f"This request is {access_request.get_status_display().lower()}: nobody joins its "
            "team any more."
        )
    if request_services.team_change_refusal(access_request):
        raise Conflict(
            "The applicant cannot change this request's team now, so the invitation cannot be "
            "accepted yet. Ask them to get in touch."
        )
    now = timezone.now()
    invitation.status = InvitationStatus.ACCEPTED
    invitation.accepted_by = actor
    invitation.answered_at = now
    invitation.save(update_fields=["status", "accepted_by", "answered_at"])
    access_request.team_members.add(actor)
    access_request.last_activity_at = now
    access_request.save(update_fields=["last_activity_at", "updated_at"])
    events.invitation_accepted(invitation=invitation, actor=actor)
    notification_services.notify_team_joined(
        invitation=invitation,
        agreements=set(request_services.required_agreements(access_request).values()),
    )
    return invitation


@transaction.atomic
def invitation_decline(*, token: str, actor) -> TeamInvitation:
    """The signed-in person who opened the link declines it; it cannot be used again."""
    invitation = invitation_from_token(token, for_update=True)
    invitation.status = InvitationStatus.DECLINED
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    events.invitation_declined(invitation=invitation, actor=actor)
    return invitation


# --- housekeeping (Celery beat) ---------------------------------------------------------------
def _expire(invitation: TeamInvitation, now: datetime) -> None:
    invitation.status = InvitationStatus.EXPIRED
    invitation.answered_at = now
    invitation.save(update_fields=["status", "answered_at"])
    events.invitation_expired(invitation=invitation)


@transaction.atomic
def invitations_expire(*, now: datetime | None = None) -> int:
    """Record as expired the pending invitations past their expiry. Trusted caller: the system
    (Celery beat), no actor. Their links stopped working at the expiry already."""
    now = now or timezone.now()
    stale = TeamInvitation.objects.select_for_update(of=("self",)).filter(
        status=InvitationStatus.PENDING, expires_at__lte=now
    )
    count = 0
    for invitation in stale.select_related("request").order_by("pk"):
        _expire(invitation, now)
        count += 1
    return count
