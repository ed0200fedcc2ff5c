"""Signing keys: encrypted at rest, published with kid/alg/use, rotated next → active → retired
→ dropped, the next key published before it signs, retired keys kept until their tokens expire."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import stat
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from audit import ledger
from audit.choices import EventType
from audit.models import AuditEvent
from core.secrets import read_secret
from tokens import keyring, keys
from tokens.choices import KeyState
from tokens.issue import token_issue
from tokens.models import IssuedToken, SigningKey, TokenRevocation

from .token_support import (
    FEED,
    JWKS,
    grant,
    introspect,
    last_introspection,
    published_jwks,
    storage,
    token_keys,
    verify_independently,
)

pytestmark = pytest.mark.django_db


def jwks_kids() -> list[str]:
    return [k["kid"] for k in Client().get(JWKS).json()["keys"]]


def age_next_key(by: timedelta) -> None:
    """Pretend the next key was published `by` ago (as if the rotation schedule had passed)."""
    SigningKey.objects.filter(state=KeyState.NEXT).update(created_at=timezone.now() - by)


def kid_of(token: str) -> str:
    return keys.unverified_header(token)["kid"]


# --- cryptography at rest -----------------------------------------------------------------------
def test_private_keys_are_encrypted_under_the_kek_bound_to_their_kid():
    made = keys.generate("ES256")
    kek, other = os.urandom(32), os.urandom(32)
    sealed = keys.encrypt_private_key(made.private_pem, kek=kek, kid=made.kid, alg="ES256")
    assert b"PRIVATE" not in sealed.encode()
    assert keys.decrypt_private_key(sealed, kek=kek, kid=made.kid, alg="ES256") == made.private_pem
    with pytest.raises(keys.KeyConfigurationError, match=keys.kek_id(kek)) as wrong_kek:
        keys.decrypt_private_key(sealed, kek=other, kid=made.kid, alg="ES256")
    assert base64.b64encode(other).decode() not in str(wrong_kek.value)
    with pytest.raises(keys.KeyConfigurationError, match="does not decrypt"):
        keys.decrypt_private_key(sealed, kek=kek, kid="another-kid", alg="ES256")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(keys.KeyConfigurationError):
        keys.decrypt_private_key(tampered, kek=kek, kid=made.kid, alg="ES256")


def test_stored_keys_hold_no_plaintext_private_key():
    for row in SigningKey.objects.all():
        assert "PRIVATE KEY" not in row.private_key_encrypted
        assert row.private_key_encrypted.startswith("tsr-kek1.")
        assert "d" not in row.public_jwk


def test_kek_is_read_from_the_environment_or_a_file(tmp_path, settings):
    raw = os.urandom(32)
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    settings.TESSERA_KEY_ENCRYPTION_KEY = read_secret(keys.KEK_ENV, environ={keys.KEK_ENV: urlsafe})
    keys.reset_kek_cache()
    assert keys.key_encryption_key(debug=False, base_dir=tmp_path) == raw
    secret_file = tmp_path / "kek"
    secret_file.write_text(base64.b64encode(raw).decode() + "\n")
    settings.TESSERA_KEY_ENCRYPTION_KEY = read_secret(
        keys.KEK_ENV, environ={keys.KEK_FILE_ENV: str(secret_file)}
    )
    keys.reset_kek_cache()
    assert keys.key_encryption_key(debug=False, base_dir=tmp_path) == raw
    secret_file.write_text("c2hvcnQ=\n")
    settings.TESSERA_KEY_ENCRYPTION_KEY = read_secret(
        keys.KEK_ENV, environ={keys.KEK_FILE_ENV: str(secret_file)}
    )
    keys.reset_kek_cache()
    with pytest.raises(keys.KeyConfigurationError, match="not base64 of 32 bytes") as short:
        keys.key_encryption_key(debug=False, base_dir=tmp_path)
    assert f"{keys.KEK_FILE_ENV} ({secret_file})" in str(short.value)
    assert "c2hvcnQ" not in str(short.value)


def test_without_a_kek_production_refuses_and_debug_makes_a_private_one(tmp_path, settings):
    settings.TESSERA_KEY_ENCRYPTION_KEY = None
    keys.reset_kek_cache()
    with pytest.raises(keys.KeyConfigurationError, match=keys.KEK_ENV):
        keys.key_encryption_key(debug=False, base_dir=tmp_path)
    keys.reset_kek_cache()
    first = keys.key_encryption_key(debug=True, base_dir=tmp_path)
    path = tmp_path / keys.DEV_KEK_RELATIVE_PATH
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys.reset_kek_cache()
    assert keys.key_encryption_key(debug=True, base_dir=tmp_path) == first


def test_debug_makes_a_development_key_on_first_use(grant, researcher, settings):
    SigningKey.objects.all().delete()
    keyring.reset_caches()
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="keys_rotate"):
        keyring.signer()
    settings.DEBUG = True
    issued = token_issue(grant=grant, actor=researcher)
    assert SigningKey.objects.get(state=KeyState.ACTIVE).kid == kid_of(issued.token)
    assert SigningKey.objects.filter(state=KeyState.NEXT).count() == 1


def test_nothing_secret_is_logged(caplog, grant, researcher):
    caplog.set_level(logging.DEBUG)
    keyring.keys_rotate(actor=None, force=True)
    token_issue(grant=grant, actor=researcher)
    kek = keys.key_encryption_key(debug=False, base_dir=None)
    text = caplog.text
    assert "PRIVATE KEY" not in text
    assert base64.b64encode(kek).decode() not in text
    for row in SigningKey.objects.all():
        assert row.private_key_encrypted.split(".")[-1][:40] not in text


# --- publication --------------------------------------------------------------------------------
def test_jwks_publishes_every_key_with_kid_alg_and_use(settings):
    response = Client().get(JWKS)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwk-set+json"
    body = response.json()
    states = dict(SigningKey.objects.values_list("kid", "state"))
    assert [states[k["kid"]] for k in body["keys"]] == [KeyState.ACTIVE, KeyState.NEXT]
    for jwk in body["keys"]:
        assert (jwk["alg"], jwk["use"], jwk["kty"], jwk["crv"]) == ("ES256", "sig", "EC", "P-256")
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)
        # kid = RFC 7638 thumbprint, computed here by hand
        canonical = json.dumps(
            {k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
        )
        digest = hashlib.sha256(canonical.encode()).digest()
        assert jwk["kid"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_jwks_cache_lifetime_is_the_configured_max_age(settings):
    settings.TESSERA_JWKS_MAX_AGE = timedelta(minutes=15)
    response = Client().get(JWKS)
    assert response["Cache-Control"] == "public, max-age=900"
    again = Client().get(JWKS, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again["Cache-Control"] == "public, max-age=900"


def test_the_signing_key_was_published_before_it_signed(grant, researcher):
    before = jwks_kids()
    next_kid = SigningKey.objects.get(state=KeyState.NEXT).kid
    assert next_kid in before
    age_next_key(timedelta(days=30))
    keyring.keys_rotate(actor=None)
    issued = token_issue(grant=grant, actor=researcher)
    assert kid_of(issued.token) == next_kid
    assert kid_of(issued.token) in before, "a cached JWKS from before the rotation verifies it"


# --- rotation -----------------------------------------------------------------------------------
def test_rotation_refuses_a_next_key_younger_than_the_jwks_max_age(settings):
    settings.TESSERA_JWKS_MAX_AGE = timedelta(hours=1)
    age_next_key(timedelta(minutes=59))
    with pytest.raises(keyring.RotationRefused, match="may cache the JWKS for 3600 s"):
        keyring.keys_rotate(actor=None)
    with pytest.raises(CommandError):
        call_command("keys_rotate", stdout=io.StringIO())
    age_next_key(timedelta(minutes=61))
    assert keyring.keys_rotate(actor=None).activated


def test_old_tokens_stay_valid_and_new_ones_use_the_new_key(grant, researcher, storage):
    old = token_issue(grant=grant, actor=researcher)
    old_kid = kid_of(old.token)
    age_next_key(timedelta(days=30))
    rotation = keyring.keys_rotate(actor=None)
    keyring.reset_caches()  # as every process does within ACTIVE_KEY_CACHE_SECONDS
    assert rotation.retired == old_kid
    new = token_issue(grant=grant, actor=researcher)
    assert kid_of(new.token) == rotation.activated != old_kid
    assert rotation.published in jwks_kids()
    for token in (old, new):
        assert verify_independently(token.token, typ="at+jwt")["jti"] == token.jti
        assert introspect(storage[1], token.token).json()["active"] is True
    assert jwks_kids() == [rotation.activated, rotation.published, old_kid]


def test_retired_keys_are_dropped_only_after_their_tokens_expire(grant, researcher, storage):
    old = token_issue(grant=grant, actor=researcher)
    old_kid = kid_of(old.token)
    age_next_key(timedelta(days=30))
    keyring.keys_rotate(actor=None)
    retired = SigningKey.objects.get(kid=old_kid)
    assert keyring.keys_prune(actor=None) == []
    just_before = keyring.retired_key_expiry(retired) - timedelta(seconds=1)
    assert keyring.keys_prune(actor=None, now=just_before) == []
    assert old.expires_at <= keyring.retired_key_expiry(retired)
    after = keyring.retired_key_expiry(retired) + timedelta(seconds=1)
    assert keyring.keys_prune(actor=None, now=after) == [old_kid]
    retired.refresh_from_db()
    assert retired.state == KeyState.DROPPED
    assert retired.private_key_encrypted == ""
    assert old_kid not in jwks_kids()
    with pytest.raises(KeyError):
        published_jwks()[old_kid]
    keyring.reset_caches()  # another process, or this one after PUBLIC_KEY_CACHE_SECONDS
    introspect(storage[1], old.token)
    assert last_introspection().payload["reason"] == "kid"
    ledger.flush()
    event = AuditEvent.objects.filter(event_type=EventType.KEY_ROTATED).last()
    assert event.payload["dropped"] == [old_kid]


def test_a_retired_key_stays_while_a_longer_lived_token_it_signed_is_valid(
    grant, researcher, settings
):
    issued = token_issue(grant=grant, actor=researcher)
    # issued under a longer lifetime setting than today's
    IssuedToken.objects.filter(jti=issued.jti).update(expires_at=timezone.now() + timedelta(days=2))
    age_next_key(timedelta(days=30))
    keyring.keys_rotate(actor=None)
    retired = SigningKey.objects.get(kid=kid_of(issued.token))
    later = keyring.retired_key_expiry(retired) + timedelta(hours=1)
    assert keyring.keys_prune(actor=None, now=later) == []
    assert keyring.keys_prune(actor=None, now=timezone.now() + timedelta(days=3)) == [retired.kid]


def test_rotate_command_prints_kids_only(grant, researcher):
    out = io.StringIO()
    call_command("keys_rotate", "--force", stdout=out)
    text = out.getvalue()
    active = SigningKey.objects.get(state=KeyState.ACTIVE)
    upcoming = SigningKey.objects.get(state=KeyState.NEXT)
    assert active.kid in text and upcoming.kid in text
    assert "PRIVATE" not in text and "tsr-kek1" not in text
    out = io.StringIO()
    call_command("keys_rotate", "--if-due", stdout=out)
    assert "Dropped" in out.getvalue()
    assert SigningKey.objects.get(state=KeyState.ACTIVE) == active, "not due: nothing rotated"


def test_rs256_as_a_setting(grant, researcher, storage, settings):
    es256 = token_issue(grant=grant, actor=researcher)
    settings.TESSERA_TOKEN_ALG = "RS256"
    with pytest.raises(ImproperlyConfigured, match="keys_rotate --force"):
        keyring.signer()
    keyring.keys_rotate(actor=None, force=True)  # the ES256 next key signs, an RS256 one is next
    keyring.keys_rotate(actor=None, force=True)  # the RS256 key signs
    keyring.reset_caches()
    issued = token_issue(grant=grant, actor=researcher)
    assert keys.unverified_header(issued.token)["alg"] == "RS256"
    claims = verify_independently(issued.token, typ="at+jwt", alg="RS256")
    assert claims["jti"] == issued.jti
    assert introspect(storage[1], issued.token).json()["active"] is True
    # ES256 tokens are not accepted once RS256 is the configured algorithm.
    introspect(storage[1], es256.token)
    assert last_introspection().payload["reason"] == "alg"


def test_at_most_one_active_and_one_next_key():
    made = keys.generate("ES256")
    for state in (KeyState.ACTIVE, KeyState.NEXT):
        with pytest.raises(IntegrityError), transaction.atomic():
            SigningKey.objects.create(
                kid=f"{made.kid}-{state}", alg="ES256", public_jwk=made.public_jwk, state=state
            )


# --- emergency: a compromised key ---------------------------------------------------------------
def _feed(bearer: str) -> list[dict]:
    response = Client().get(f"{FEED}?since=0", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert response.status_code == 200, response.content
    return response.json()["revoked"]


def test_a_compromised_active_key_is_out_of_service_at_once(grant, researcher, storage):
    issued = [token_issue(grant=grant, actor=researcher) for _ in range(2)]
    bad = kid_of(issued[0].token)
    upcoming = SigningKey.objects.get(state=KeyState.NEXT).kid
    out = keyring.keys_drop_compromised(kid=bad, actor=None, reason="Key file leaked.")
    keyring.reset_caches()  # as every process does within ACTIVE_KEY_CACHE_SECONDS

    assert (out.dropped, out.activated, out.tokens_revoked) == (bad, upcoming, 2)
    dropped = SigningKey.objects.get(kid=bad)
    assert dropped.state == KeyState.DROPPED and dropped.private_key_encrypted == ""
    assert bad not in jwks_kids()
    assert jwks_kids()[:2] == [upcoming, out.published]
    # Its tokens: inactive at introspection, listed in the feed for offline verifiers.
    for token in issued:
        assert introspect(storage[1], token.token).json() == {"active": False}
    listed = {entry["jti"] for entry in _feed(storage[1])}
    assert listed == {t.jti for t in issued}
    assert set(TokenRevocation.objects.values_list("cause", flat=True)) == {"key_compromised"}
    # New tokens come from the promoted key and are active.
    fresh = token_issue(grant=grant, actor=researcher)
    assert kid_of(fresh.token) == upcoming
    assert introspect(storage[1], fresh.token).json()["active"] is True
    ledger.flush()
    event = AuditEvent.objects.filter(event_type=EventType.KEY_COMPROMISED).get()
    assert event.payload == {
        "kid": bad,
        "reason": "Key file leaked.",
        "activated": upcoming,
        "published": out.published,
        "tokens_revoked": 2,
    }


def test_a_compromised_next_key_is_replaced_and_signing_goes_on(grant, researcher):
    active = keyring.keys_bootstrap(actor=None).kid
    bad = SigningKey.objects.get(state=KeyState.NEXT).kid
    out = keyring.keys_drop_compromised(kid=bad, actor=None, reason="Generated on a bad host.")
    assert (out.activated, out.tokens_revoked) == (None, 0)
    assert SigningKey.objects.get(state=KeyState.NEXT).kid == out.published != bad
    assert kid_of(token_issue(grant=grant, actor=researcher).token) == active


def test_dropping_needs_a_known_key_in_service_and_a_reason(grant, researcher):
    active = keyring.keys_bootstrap(actor=None).kid
    with pytest.raises(keyring.UnknownKey):
        keyring.keys_drop_compromised(kid="no-such-kid", actor=None, reason="x")
    with pytest.raises(ValueError):
        keyring.keys_drop_compromised(kid=active, actor=None, reason="  ")
    keyring.keys_drop_compromised(kid=active, actor=None, reason="Leaked.")
    with pytest.raises(keyring.UnknownKey):
        keyring.keys_drop_compromised(kid=active, actor=None, reason="Again.")


def test_the_command_drops_a_compromised_key_and_prints_kids_only(grant, researcher):
    token = token_issue(grant=grant, actor=researcher)
    # A kid beginning with "-" (base64url) must work too: hence --compromised=KID.
    bad = "-" + kid_of(token.token)[1:]
    SigningKey.objects.filter(kid=kid_of(token.token)).update(kid=bad)
    IssuedToken.objects.filter(jti=token.jti).update(kid=bad)
    with pytest.raises(CommandError, match="--reason"):
        call_command("keys_rotate", f"--compromised={bad}")
    with pytest.raises(CommandError, match="No signing key"):
        call_command("keys_rotate", "--compromised=nope", "--reason", "x")
    out = io.StringIO()
    call_command("keys_rotate", f"--compromised={bad}", "--reason", "Leaked.", stdout=out)
    text = out.getvalue()
    assert bad in text and "Tokens revoked:          1" in text
    assert "PRIVATE" not in text and token.token not in text


# --- replacing the key-encryption key ---------------------------------------------------------
@pytest.fixture
def kek_swap(settings):
    """Switch TESSERA_KEY_ENCRYPTION_KEY (and the previous-KEK list) within one test."""

    def swap(new: bytes, *, previous: list[bytes] = ()) -> None:
        settings.TESSERA_KEY_ENCRYPTION_KEY = base64.b64encode(new).decode()
        settings.TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS = (
            ",".join(base64.b64encode(p).decode() for p in previous) or None
        )
        keys.reset_kek_cache()
        keyring.reset_caches()

    yield swap
    keys.reset_kek_cache()
    keyring.reset_caches()


def test_a_new_kek_takes_over_without_downtime(grant, researcher, storage, kek_swap):
    old, new = keyring.kek(), os.urandom(32)  # the keys so far are under the test's KEK
    before = token_issue(grant=grant, actor=researcher)
    kids = sorted(SigningKey.objects.values_list("kid", flat=True))
    # Step 1: the new KEK everywhere, the old one still accepted: signing goes on.
    kek_swap(new, previous=[old])
    assert token_issue(grant=grant, actor=researcher).token
    # Step 2: re-encrypt.
    out = io.StringIO()
    call_command("keys_reencrypt", stdout=out)
    assert keys.kek_id(new) in out.getvalue() and all(k in out.getvalue() for k in kids)
    for key in SigningKey.objects.all():
        assert keys.stored_kek_id(key.private_key_encrypted) == keys.kek_id(new)
        assert old.hex() not in key.private_key_encrypted
    # Step 3: the old KEK gone, nothing lost: the same keys sign, old tokens still verify.
    kek_swap(new)
    after = token_issue(grant=grant, actor=researcher)
    assert kid_of(after.token) == kid_of(before.token)
    assert introspect(storage[1], before.token).json()["active"] is True
    call_command("keys_reencrypt", stdout=(again := io.StringIO()))
    assert "already" in again.getvalue()
    ledger.flush()
    event = AuditEvent.objects.filter(event_type=EventType.KEYS_REENCRYPTED).get()
    assert event.payload == {"kids": kids, "kek_id": keys.kek_id(new)}


def test_without_the_old_kek_reencryption_stops_and_changes_nothing(grant, researcher, kek_swap):
    old, new = keyring.kek(), os.urandom(32)
    token_issue(grant=grant, actor=researcher)
    stored = dict(SigningKey.objects.values_list("kid", "private_key_encrypted"))
    kek_swap(new)  # the old KEK is not listed
    with pytest.raises(CommandError, match=keys.kek_id(old)):
        call_command("keys_reencrypt")
    assert dict(SigningKey.objects.values_list("kid", "private_key_encrypted")) == stored
    with pytest.raises(ImproperlyConfigured, match=keys.kek_id(old)):
        token_issue(grant=grant, actor=researcher)


def test_a_malformed_previous_kek_is_named_not_shown(kek_swap, settings):
    kek_swap(os.urandom(32))
    settings.TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS = "c2VjcmV0LXNob3J0"
    with pytest.raises(keys.KeyConfigurationError) as raised:
        keys.previous_keks()
    assert keys.PREVIOUS_KEKS_ENV in str(raised.value)
    assert "c2VjcmV0" not in str(raised.value)
