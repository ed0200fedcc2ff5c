"""A second factor (TOTP) for staff who sign in with a local password, when TESSERA_STAFF_MFA
is on: every admin page sends them to /accounts/mfa/ until they enter a code from their
authenticator app, or enrol one. Real codes, computed from the device's key with django-otp's
own TOTP (django_otp.oath.totp); real sign-ins through the login page, and for the identity
provider case through a real OpenID provider process."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.choices import EventType
from audit.models import AuditEvent

from .oidc_support import sign_in

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a long local password 7"


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    settings.TESSERA_STAFF_MFA = True


def events(kind):
    return list(AuditEvent.objects.filter(event_type=kind).order_by("seq"))


def code(device: TOTPDevice, offset_steps: int = 0) -> str:
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + offset_steps,
    )
    return f"{value:0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    accepted = {code(device, n) for n in range(-device.tolerance - 1, device.tolerance + 2)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)


def staff(username="root", **extra):
    return User.objects.create_user(username, password=PASSWORD, is_staff=True, **extra)


def signed_in(user) -> Client:
    """A session begun with the password, through the login page (as a person would)."""
    client = Client()
    answer = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    return client


def test_staff_without_a_device_enrol_then_reach_the_admin():
    admin = staff(is_superuser=True)
    client = signed_in(admin)
    sent = client.get("/admin/auth/user/?o=1")
    assert sent.status_code == 302
    assert sent["Location"] == "/accounts/mfa/?next=%2Fadmin%2Fauth%2Fuser%2F%3Fo%3D1"
    page = client.get(sent["Location"])
    text = page.content.decode()
    assert page.status_code == 200 and "Set up your authenticator app" in text
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    secret = re.search(r'<code id="mfa-secret">([A-Z2-7=]+)</code>', text).group(1)
    assert b32decode(secret) == device.bin_key  # the key shown is the device's
    assert "otpauth://totp/Tessera%3Aroot?secret=" in text and "data:image/svg+xml" in text
    # Reloading the page shows the same key (one draft), not a new one each time.
    client.get("/accounts/mfa/")
    assert TOTPDevice.objects.filter(user=admin).count() == 1

    done = client.post("/accounts/mfa/", {"token": code(device), "next": "/admin/auth/user/"})
    assert done.status_code == 302 and done["Location"] == "/admin/auth/user/"
    device.refresh_from_db()
    assert device.confirmed
    (enrolled,) = events(EventType.MFA_ENROLLED)
    assert enrolled.payload == {"device": device.pk} and enrolled.target_id == str(admin.pk)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200


def test_a_wrong_code_is_refused_and_recorded_and_the_admin_stays_closed(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute's back-off after the first failure
    admin = staff()
    device = TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    client = signed_in(admin)
    page = client.get("/accounts/mfa/?next=/admin/")
    assert b"Enter your code" in page.content
    refused = client.post("/accounts/mfa/", {"token": wrong_code(device), "next": "/admin/"})
    assert refused.status_code == 400 and b"error-summary" in refused.content
    assert client.get("/admin/").status_code == 302
    (failed,) = events(EventType.MFA_FAILED)
    assert failed.payload == {"step": "verify", "throttled": False}
    # django-otp backs off after a failure: a right code at once is refused too, and says so.
    client.post("/accounts/mfa/", {"token": code(device), "next": "/admin/"})
    assert events(EventType.MFA_FAILED)[-1].payload == {"step": "verify", "throttled": True}
    assert client.get("/admin/").status_code == 302
    assert not events(EventType.MFA_VERIFIED)
    # Not a number at all: the form says so and nothing is checked.
    assert client.post("/accounts/mfa/", {"token": "abc"}).status_code == 400


def test_the_right_code_opens_the_admin_and_cannot_be_used_twice(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no back-off between this test's attempts
    admin = staff()
    device = TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    client = signed_in(admin)
    right = code(device)
    done = client.post("/accounts/mfa/", {"token": right, "next": "/admin/"})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    (verified,) = events(EventType.MFA_VERIFIED)
    assert verified.payload == {"device": device.pk}
    # Once verified, the page sends the person straight on.
    assert client.get("/accounts/mfa/?next=/admin/")["Location"] == "/admin/"
    # Another session with the same code (seen by someone over a shoulder): refused.
    thief = signed_in(admin)
    assert thief.post("/accounts/mfa/", {"token": right}).status_code == 400
    assert thief.get("/admin/").status_code == 302
    # A new sign-in needs a new code.
    client.post("/accounts/logout/")
    again = signed_in(admin)
    assert again.get("/admin/").status_code == 302


def test_everyone_else_is_not_asked(settings):
    person = User.objects.create_user("ada", password=PASSWORD)
    client = signed_in(person)
    assert client.get("/accounts/me/").status_code == 200
    # The admin sends a non-staff person to its own login page, not to a code.
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/accounts/mfa/?next=/requests/")["Location"] == "/requests/"
    assert b"Second factor" not in client.get("/accounts/me/").content
    # Staff outside the admin are not asked either; their account page says what will happen.
    admin = staff()
    page = signed_in(admin).get("/accounts/me/")
    assert page.status_code == 200 and b"No authenticator app yet" in page.content
    assert not TOTPDevice.objects.exists()


def test_with_the_setting_off_staff_go_straight_to_the_admin(settings):
    settings.TESSERA_STAFF_MFA = False
    admin = staff()
    client = signed_in(admin)
    assert client.get("/admin/").status_code == 200
    assert b"Second factor" not in client.get("/accounts/me/").content
    assert not events(EventType.MFA_VERIFIED)


def test_staff_signed_in_through_the_identity_provider_are_not_asked(oidc):
    admin = staff("chair")
    call_command("identity_link", "chair", "chair-ls-id")
    oidc.set_user("chair-ls-id", given_name="Cha", family_name="Ir", email="chair@uni.example")
    client = Client()
    sign_in(client, sub="chair-ls-id")
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert client.get("/admin/").status_code == 200
    # The same person with their password is asked.
    assert signed_in(admin).get("/admin/").status_code == 302


def test_linking_an_identity_to_a_staff_account_needs_the_code_first(oidc):
    admin = staff()
    client = signed_in(admin)
    link = client.post("/accounts/oidc/link/")
    assert link.status_code == 302 and link["Location"].startswith("/accounts/mfa/")
    device = TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    client.post("/accounts/mfa/", {"token": code(device)})
    started = client.post("/accounts/oidc/link/")
    assert started.status_code == 302 and started["Location"].startswith(oidc.url)


def test_authorising_an_oauth_client_needs_the_code_first():
    """Without it, the password alone would authorise a client (the CLI's public client, PKCE)
    and get bearer and refresh tokens with the person's scopes, around the second factor."""
    admin = staff()
    client = signed_in(admin)
    authorize = client.get("/o/authorize/", {"response_type": "code", "client_id": "any"})
    assert authorize.status_code == 302
    assert authorize["Location"].startswith("/accounts/mfa/")


def test_a_lost_device_is_removed_on_the_record_and_a_new_one_enrolled(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    admin = staff()
    device = TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    client = signed_in(admin)
    client.post("/accounts/mfa/", {"token": code(device)})
    assert client.get("/admin/").status_code == 200
    call_command("mfa_reset", "root")
    assert not TOTPDevice.objects.filter(user=admin).exists()
    (reset,) = events(EventType.MFA_RESET)
    assert reset.payload == {"devices": 1} and reset.actor_kind == "system"
    # The session verified with the removed device is verified no longer: enrol anew.
    assert client.get("/admin/").status_code == 302
    assert b"Set up your authenticator app" in client.get("/accounts/mfa/").content
    # Nothing else removes or shows devices: django-otp's device admin is not registered.
    assert TOTPDevice not in admin_site._registry


def test_the_api_with_an_unverified_staff_session_is_refused(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    admin = staff()
    device = TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    client = signed_in(admin)
    refused = client.get("/api/v1/datasets/")
    assert refused.status_code == 403 and "/accounts/mfa/" in refused.json()["detail"]
    client.post("/accounts/mfa/", {"token": code(device)})
    assert client.get("/api/v1/datasets/").status_code == 200
    # Everyone else's session, and no session at all, are not affected.
    assert (
        signed_in(User.objects.create_user("ada", password=PASSWORD))
        .get("/api/v1/datasets/")
        .status_code
        == 200
    )
