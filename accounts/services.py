"""People's accounts: suspension (which revokes every token and visa derived from the person's
grants) and reinstatement. Keyword-only services that lock, write and append their ledger
event in one transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from audit import events
from core.exceptions import Conflict, Forbidden, Invalid
from tokens.choices import RevocationCause
from tokens.revocation import lock_grants, tokens_revoke_for_grants

from .models import Suspension


@transaction.atomic
def user_suspend(*, user, actor, reason: str) -> Suspension:
    """Deactivate an account and revoke every token and visa derived from its grants."""
    if not (reason or "").strip():
        raise Invalid({"reason": "Say why the account is suspended."})
    if actor is not None and not (actor.is_superuser or actor.has_perm("auth.change_user")):
        raise Forbidden("Only an administrator may suspend an account.")
    if actor is not None and actor.pk == user.pk:
        raise Forbidden("You cannot suspend your own account.")
    # Lock order, the same as a token being issued: the grants first, then the rest. An issuer
    # holds its grant's lock while its insert takes a key-share lock on the user row and its
    # ledger event waits for the ledger lock (inline sequencing), which any write here may take.
    # The user row is locked FOR NO KEY UPDATE: the key does not change, so issuers' foreign-key
    # checks are not blocked by it.
    ids = lock_grants(user=user)
    User = get_user_model()
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if not user.is_active:
        raise Conflict("This account is already suspended.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    now = timezone.now()
    suspension = Suspension.objects.create(
        user=user, actor=actor, reason=reason.strip(), suspended_at=now
    )
    revoked = tokens_revoke_for_grants(
        ids, cause=RevocationCause.USER_SUSPENDED, actor=actor, now=now
    )
    # OAuth tokens the person holds (authorisation-code clients) end with the account.
    for oauth_token in get_access_token_model().objects.filter(user=user):
        oauth_token.revoke()
    events.user_suspended(suspension=suspension, actor=actor, grants=len(ids), tokens=revoked)
    return suspension


@transaction.atomic
def user_reinstate(*, user, actor, reason: str) -> Suspension:
    """Lift a suspension: the person may sign in again, and their grants that are still within
    their dates count as active again. Tokens and visas revoked by the suspension stay revoked:
    the person asks for new ones."""
    if not (reason or "").strip():
        raise Invalid({"reason": "Say why the account is reinstated."})
    if actor is not None and not (actor.is_superuser or actor.has_perm("auth.change_user")):
        raise Forbidden("Only an administrator may reinstate an account.")
    User = get_user_model()
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if user.is_active:
        raise Conflict("This account is not suspended.")
    suspension = (
        Suspension.objects.select_for_update()
        .filter(user=user, lifted_at__isnull=True)
        .order_by("-suspended_at")
        .first()
    )
    if suspension is None:
        raise Conflict(
            "This account was deactivated without a suspension; activate it on its own page."
        )
    user.is_active = True
    user.save(update_fields=["is_active"])
    suspension.lifted_at = timezone.now()
    suspension.lifted_by = actor
    suspension.lift_reason = reason.strip()
    suspension.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    events.user_reinstated(suspension=suspension, actor=actor)
    return suspension
