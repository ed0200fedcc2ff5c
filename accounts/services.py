"""People's accounts: suspension (which revokes every token and visa derived from the person's
grants) and reinstatement; sign-in with an identity provider (just-in-time accounts, linked
identities). Keyword-only services that lock, write and append their ledger event in one
transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from audit import events
from audit.bounded import sign_in_failure_record
from audit.choices import EventType
from core.exceptions import Conflict, Forbidden, Invalid
from tokens.choices import RevocationCause
from tokens.revocation import lock_grants, tokens_revoke_for_grants

from .models import ExternalIdentity, Profile, Suspension


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


# --- Identities at OpenID providers -----------------------------------------------------------
# The views (accounts/views.py) call these with the claims accounts.oidc verified. An identity is
# found by (issuer, subject) only, never by e-mail address: an address can change hands, and a
# provider's unverified address could otherwise take over someone's account.

_USERNAME_JUNK = re.compile(r"[^a-z0-9._+-]+")
_USERNAME_BASE_LENGTH = 30
_AFFILIATION_MAX = 2000


@dataclass(frozen=True)
class SignIn:
    """Who signed in, with which identity, and whether the account was just created."""

    user: object
    identity: ExternalIdentity
    created: bool


def _text(claims: dict, name: str, limit: int) -> str:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _claimed_email(claims: dict) -> tuple[str, bool]:
    """The address the provider sent (if it is one) and whether it says it verified it."""
    email = _text(claims, "email", 254)
    try:
        validate_email(email)
    except ValidationError:
        return "", False
    return email, claims.get("email_verified") in (True, "true")


def _claimed_affiliation(claims: dict) -> str:
    """eduperson_scoped_affiliation (a string or a list of `role@domain`), sorted, comma-joined."""
    raw = claims.get("eduperson_scoped_affiliation")
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    found = sorted({v.strip()[:255] for v in values if isinstance(v, str) and v.strip()})
    return ", ".join(found)[:_AFFILIATION_MAX]


def _claimed_names(claims: dict) -> tuple[str, str]:
    first, last = _text(claims, "given_name", 150), _text(claims, "family_name", 150)
    if not (first or last):
        first, _, last = _text(claims, "name", 301).partition(" ")
    return first[:150], last.strip()[:150]


def _new_username(claims: dict) -> str:
    """A free username from the preferred username or the address's local part: lower case,
    letters, digits and `._+-` only; `-2`, `-3`, … when taken. Never an existing account's."""
    User = get_user_model()
    wanted = _text(claims, "preferred_username", 150) or _text(claims, "email", 254).split("@")[0]
    base = _USERNAME_JUNK.sub("", wanted.lower())[:_USERNAME_BASE_LENGTH].strip("._+-") or "user"
    taken = set(User.objects.filter(username__startswith=base).values_list("username", flat=True))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _apply_claims(*, identity: ExternalIdentity, claims: dict, now) -> bool:
    """Copy what the provider says to the identity, the user and their profile; True when the
    user's e-mail address changed."""
    user = identity.user
    email, verified = _claimed_email(claims)
    affiliation = _claimed_affiliation(claims)
    first, last = _claimed_names(claims)
    identity.email, identity.email_verified = email, verified and bool(email)
    identity.affiliation = affiliation
    identity.last_login = now
    identity.save(update_fields=["email", "email_verified", "affiliation", "last_login"])
    email_changed = bool(email) and email != user.email
    changed = []
    if email_changed:
        user.email = email
        changed.append("email")
    if (first or last) and (first, last) != (user.first_name, user.last_name):
        user.first_name, user.last_name = first, last
        changed += ["first_name", "last_name"]
    if changed:
        user.save(update_fields=changed)
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    if email:
        profile.email_verified = identity.email_verified
    if affiliation:
        profile.affiliation = affiliation
    profile.save()
    return email_changed


def _refuse_inactive(user) -> None:
    if not user.is_active:
        raise Forbidden("This account is suspended.")


def identity_sign_in(*, issuer: str, subject: str, claims: dict) -> SignIn:
    """The account of the person the provider vouched for (`claims` verified by accounts.oidc):
    found by (issuer, subject), or created just in time on their first sign-in (username
    derived from their claims, no usable password). Their name, e-mail address (verified only
    when the provider says `email_verified`) and affiliation are brought up to date. Refuses a
    suspended account (Forbidden). The caller then starts the session (django.contrib.auth.login,
    which records auth.login). Appends auth.account_created (first time) and
    auth.identity_signed_in."""
    if not issuer or not subject:
        raise Invalid("The provider did not say who signed in.")
    try:
        return _identity_sign_in(issuer=issuer, subject=subject, claims=claims)
    except IntegrityError:
        # A concurrent first sign-in created the identity (or took the username) between our
        # read and our insert: everything rolled back; the second attempt finds it (or picks
        # another name).
        return _identity_sign_in(issuer=issuer, subject=subject, claims=claims)


@transaction.atomic
def _identity_sign_in(*, issuer: str, subject: str, claims: dict) -> SignIn:
    now = timezone.now()
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    created = identity is None
    if created:
        User = get_user_model()
        user = User(username=_new_username(claims))
        user.set_unusable_password()
        user.save()
        identity = ExternalIdentity.objects.create(
            user=user, issuer=issuer, subject=subject, created=now
        )
        events.account_created(identity=identity)
    else:
        _refuse_inactive(identity.user)
    email_changed = _apply_claims(identity=identity, claims=claims, now=now)
    events.identity_signed_in(identity=identity, email_changed=email_changed and not created)
    return SignIn(user=identity.user, identity=identity, created=created)


@transaction.atomic
def identity_link(*, user, issuer: str, subject: str, claims: dict, actor) -> ExternalIdentity:
    """Link an identity at a provider to `user`: the one the provider just vouched for, while
    `user` is signed in and asked for it (the actor is the user), or one an administrator names
    (`manage.py identity_link`, actor None: the system). The caller is trusted to have checked
    that. Refuses an identity already linked to another account (Conflict) and a suspended
    account (Forbidden). Appends auth.identity_linked (nothing when it was already linked to
    this account)."""
    if not issuer or not subject:
        raise Invalid("The provider did not say who signed in.")
    User = get_user_model()
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    _refuse_inactive(user)
    identity = (
        ExternalIdentity.objects.select_for_update().filter(issuer=issuer, subject=subject).first()
    )
    if identity is not None and identity.user_id != user.pk:
        raise Conflict("This identity is already linked to another account.")
    now = timezone.now()
    linked = identity is None
    if linked:
        identity = ExternalIdentity.objects.create(
            user=user, issuer=issuer, subject=subject, created=now
        )
    identity.user = user
    if claims:  # none when an administrator links it (it has not signed anyone in yet)
        _apply_claims(identity=identity, claims=claims, now=now)
    if linked:
        events.identity_linked(identity=identity, actor=actor)
    return identity


def identity_sign_in_failed(*, issuer: str, reason: str, user=None) -> bool:
    """Record a failed sign-in with a provider (`reason`: an accounts.oidc code), bounded per
    address like failed passwords (audit.bounded.sign_in_failure_record). True when written."""
    return sign_in_failure_record(
        kind=EventType.IDENTITY_SIGN_IN_FAILED,
        write=lambda: events.identity_sign_in_failed(issuer=issuer, reason=reason, user=user),
    )
