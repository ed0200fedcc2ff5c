"""A second factor for staff who sign in with a local password: a TOTP authenticator app
(django-otp's `TOTPDevice`), required before any admin page when TESSERA_STAFF_MFA is on.

Who is asked (`mfa_required`): a signed-in, active staff user with a usable password, who did
not sign in through the identity provider in this session (accounts.views marks such a session
with SESSION_SIGNED_IN_WITH: the institution's login, with its own factors, is the factor) and
has not verified a device in this session (django-otp's session key, read by its
OTPMiddleware as `request.user.is_verified()`).

What is protected (`mfa_protected`): every page of the admin site (the committee workspace is
served inside it), the REST API reached with the session's cookie (`/api/`: a 403, not a
redirect; OAuth bearer tokens are not sessions and are not affected), OAuth's authorisation page
(`/o/authorize/`: otherwise a stolen password alone would authorise a client and get bearer and
refresh tokens with the person's scopes), and linking an identity to the account
(`/accounts/oidc/link/`): otherwise a stolen password could link the thief's own identity and
sign in through the provider, unasked.

The services lock the device, check the code with django-otp (which refuses a code used
before, and backs off after failures) and append auth.mfa_enrolled, auth.mfa_verified or
auth.mfa_failed (bounded per person and address: a script could guess codes). A device created
for enrolment is unconfirmed (a draft: no event) until its first code is right."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import events
from audit.bounded import actor_and_address, bounded_record
from audit.choices import EventType

# Set by the OpenID Connect sign-in (accounts.views.oidc_callback) to the provider's issuer:
# this session began with the institution's login. Django's login() flushes the session when
# another person signs in, so the marker never outlives the person it was set for.
SESSION_SIGNED_IN_WITH = "tessera_signed_in_with"
DEVICE_NAME = "Authenticator app"


def subject_to_mfa(user) -> bool:
    """Whether this account needs a second factor after a password sign-in."""
    return bool(
        settings.TESSERA_STAFF_MFA
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_usable_password()
    )


def mfa_required(request) -> bool:
    """Whether the signed-in person must verify a code before a protected page."""
    user = request.user
    if not subject_to_mfa(user):
        return False
    if request.session.get(SESSION_SIGNED_IN_WITH):
        return False
    return not user.is_verified()


API_PREFIX = "/api/"  # config/urls.py's `api/v1/` (accounts does not import config)


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def mfa_protected(request) -> bool:
    """Whether the requested page needs a verified second factor (see the module's docstring)."""
    path = request.path_info
    if path.startswith(reverse("admin:index")):
        return path not in (reverse("admin:login"), reverse("admin:logout"))
    return (
        is_api(request)
        or path == reverse("oidc-link")
        or path == reverse("oauth2_provider:authorize")
    )


def confirmed_devices(user) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))


@transaction.atomic
def mfa_device_draft(*, user) -> TOTPDevice:
    """The unconfirmed device the enrolment page shows (its key as a QR code and text): the
    person's existing draft, or a new one with a fresh random key. No event: it authenticates
    nothing until `mfa_enrol` confirms it."""
    draft = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if draft is None:
        draft = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return draft


def _failed(*, user, step: str, throttled: bool) -> None:
    bounded_record(
        kind=EventType.MFA_FAILED,
        key=actor_and_address(user),
        write=lambda: events.mfa_failed(user=user, step=step, throttled=throttled),
    )


def _check(device: TOTPDevice, token: str) -> tuple[bool, bool]:
    """(verified, throttled). django-otp saves the device's counters itself."""
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return False, True
    return bool(device.verify_token((token or "").strip())), False


@transaction.atomic
def mfa_enrol(*, user, token: str) -> TOTPDevice | None:
    """Confirm the person's draft device with a code from their app: the device is theirs from
    now on (auth.mfa_enrolled), and the caller marks the session verified with it
    (django_otp.login). None, with auth.mfa_failed, when the code is wrong; the draft stays."""
    draft = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if draft is None:
        return None
    verified, throttled = _check(draft, token)
    if not verified:
        _failed(user=user, step="enrol", throttled=throttled)
        return None
    draft.confirmed = True
    draft.save(update_fields=["confirmed"])
    events.mfa_enrolled(device=draft)
    return draft


@transaction.atomic
def mfa_verify(*, user, token: str) -> TOTPDevice | None:
    """The person's confirmed device that accepts this code (auth.mfa_verified), for the
    caller to mark the session verified (django_otp.login); None, with auth.mfa_failed, when
    none does."""
    devices = list(
        TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
    )
    throttled = False
    for device in devices:
        verified, device_throttled = _check(device, token)
        if verified:
            events.mfa_verified(device=device)
            return device
        throttled = throttled or device_throttled
    _failed(user=user, step="verify", throttled=throttled)
    return None


@transaction.atomic
def mfa_reset(*, user, actor) -> int:
    """Remove every device of the person (a lost phone): at their next password sign-in they
    enrol a new one; a session verified with a removed device is no longer verified. Appends
    auth.mfa_reset with the number removed (nothing when there was none). Trusted caller: the
    `mfa_reset` management command, run by an administrator on the server."""
    devices = list(TOTPDevice.objects.select_for_update().filter(user=user))
    for device in devices:
        device.delete()
    if devices:
        events.mfa_reset(user=user, actor=actor, devices=len(devices))
    return len(devices)
