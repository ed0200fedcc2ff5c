"""The token signing keys in the database: which key signs, which keys are published, and
their rotation. The cryptography is in `tokens.keys`; this module stores and selects.

A key's life: NEXT (published in the JWKS, signs nothing) → ACTIVE (signs) → RETIRED (still
published, signs nothing, until every token and visa it signed has expired) → DROPPED
(unpublished, private key erased; the row stays for the record).

The JWKS caching rule. Verifiers may cache the JWKS for TESSERA_JWKS_MAX_AGE (the
Cache-Control max-age we send). A key must therefore be in the JWKS at least that long before
it signs anything, so that no verifier meets a token whose key it has never fetched:
`keys_rotate` keeps a NEXT key published ahead of time and refuses to promote one younger than
TESSERA_JWKS_MAX_AGE. With the defaults (rotation every 30 days, max-age 1 hour) the next key
has been published for a whole rotation period before it signs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit import events
from core.exceptions import Conflict, NotFound

from . import keys
from .choices import KeyState
from .models import IssuedToken, SigningKey
from .revocation import tokens_revoke_for_key

# A process signs with the active key it loaded for up to this long after a rotation; the drop
# rule below waits for it.
ACTIVE_KEY_CACHE_SECONDS = 60
# Public keys never change under a kid, so caching them cannot delay any revocation. Whether a
# key is still trusted (not dropped) is read fresh with the token's state, in the same query.
PUBLIC_KEY_CACHE_SECONDS = 300
# At most one reload per second for kids we do not know: random kids cannot make us query.
UNKNOWN_KID_RELOAD_SECONDS = 1.0
PUBLISHED_STATES = (KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRED)
# Arbitrary but fixed pg_advisory_xact_lock key for rotations: "TSRK".
KEYRING_LOCK_KEY = 0x5453524B


class RotationRefused(Conflict):
    """A rotation that would make verifiers meet a key they cannot have fetched yet."""


@dataclass(frozen=True)
class Signer:
    """The active key, decrypted, for this process."""

    kid: str
    alg: str
    private_key: Any = field(repr=False)


def kek() -> bytes:
    try:
        return keys.key_encryption_key(debug=settings.DEBUG, base_dir=settings.BASE_DIR)
    except keys.KeyConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _decrypt(key: SigningKey) -> bytes:
    """A stored key's private PEM, under whichever known KEK it was encrypted with."""
    try:
        return keys.decrypt_private_key(
            key.private_key_encrypted,
            kek=kek_for(key.private_key_encrypted),
            kid=key.kid,
            alg=key.alg,
        )
    except keys.KeyConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def kek_for(ciphertext: str) -> bytes:
    """The KEK a stored key can be decrypted with: the current one, or a previous one (from
    TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS) with the stored KEK id. Otherwise the current one, so
    that decryption fails naming both ids."""
    current = kek()
    wanted = keys.stored_kek_id(ciphertext)
    if wanted is None or wanted == keys.kek_id(current):
        return current
    try:
        previous = keys.previous_keks()
    except keys.KeyConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    return next((old for old in previous if keys.kek_id(old) == wanted), current)


# --- the signer (active key), cached per process ---------------------------------------------
_lock = threading.Lock()
_signer: tuple[Signer, float] | None = None
_public: dict[str, tuple[Any, str]] = {}
_public_loaded_at = float("-inf")
_last_reload = float("-inf")


def reset_caches() -> None:
    """Forget the cached signer and public keys (tests, and after a rotation in this process)."""
    global _signer, _public, _public_loaded_at, _last_reload
    with _lock:
        _signer = None
        _public = {}
        _public_loaded_at = _last_reload = float("-inf")


def signer() -> Signer:
    """The active signing key. In DEBUG, a first key (and its successor) is made on first use."""
    with _lock:
        if _signer is not None and time.monotonic() - _signer[1] < ACTIVE_KEY_CACHE_SECONDS:
            return _signer[0]
    row = SigningKey.objects.filter(state=KeyState.ACTIVE).first()
    if row is None:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "No active token signing key: run `python manage.py keys_rotate` once to create "
                "the first key and its successor."
            )
        row = keys_bootstrap(actor=None)
    loaded = _loaded(row)

    def remember() -> None:
        global _signer
        with _lock:
            _signer = (loaded, time.monotonic())

    # Cached only once committed: a key made (or read) in a transaction that rolls back must
    # not go on signing tokens that no verifier can check. Outside a transaction: at once.
    transaction.on_commit(remember)
    return loaded


def _loaded(row: SigningKey) -> Signer:
    """The active key's row, checked against TESSERA_TOKEN_ALG and decrypted."""
    configured = keys.check_algorithm(settings.TESSERA_TOKEN_ALG)
    if row.alg != configured:
        raise ImproperlyConfigured(
            f"The active signing key {row.kid} is {row.alg} but TESSERA_TOKEN_ALG is "
            f"{configured}: run `python manage.py keys_rotate --force` twice to switch."
        )
    pem = _decrypt(row)
    return Signer(kid=row.kid, alg=row.alg, private_key=keys.import_private(pem, row.alg))


def signer_problem() -> str | None:
    """Why no token could be signed now, or None: the readiness check. Loads the active key as
    `signer()` does (`_loaded`) but never makes one, not even in DEBUG where `signer()` would."""
    with _lock:
        if _signer is not None and time.monotonic() - _signer[1] < ACTIVE_KEY_CACHE_SECONDS:
            return None
    row = SigningKey.objects.filter(state=KeyState.ACTIVE).first()
    if row is None:
        return "no active token signing key (run `manage.py keys_rotate`)"
    try:
        _loaded(row)
    except (ImproperlyConfigured, keys.KeyConfigurationError) as exc:
        # Their messages name variables, kids and algorithms, never a key (tokens.keys).
        return str(exc)
    return None


# --- public keys by kid (verification) --------------------------------------------------------
def public_key_for(kid: str) -> tuple[Any, str] | None:
    """(public key, alg) for a published kid, from the process cache; None if unknown."""
    global _last_reload
    now = time.monotonic()
    with _lock:
        stale = now - _public_loaded_at > PUBLIC_KEY_CACHE_SECONDS
        found = None if stale else _public.get(kid)
        may_reload = stale or now - _last_reload >= UNKNOWN_KID_RELOAD_SECONDS
        if found is not None or not may_reload:
            return found
        _last_reload = now
    _reload_public_keys()
    with _lock:
        return _public.get(kid)


def _reload_public_keys() -> None:
    global _public, _public_loaded_at
    loaded = {
        row.kid: (keys.import_public(row.public_jwk), row.alg)
        for row in SigningKey.objects.filter(state__in=PUBLISHED_STATES).only(
            "kid", "alg", "public_jwk"
        )
    }
    with _lock:
        _public = loaded
        _public_loaded_at = time.monotonic()


def published_keys() -> list[SigningKey]:
    order = {KeyState.ACTIVE: 0, KeyState.NEXT: 1, KeyState.RETIRED: 2}
    rows = list(
        SigningKey.objects.filter(state__in=PUBLISHED_STATES).defer("private_key_encrypted")
    )
    return sorted(rows, key=lambda k: (order[k.state], -k.created_at.timestamp()))


def jwks() -> dict[str, list[dict[str, Any]]]:
    """The JWKS document: active key first, then the next key, then retired keys."""
    if settings.DEBUG and not SigningKey.objects.filter(state=KeyState.ACTIVE).exists():
        keys_bootstrap(actor=None)
    return {"keys": [dict(k.public_jwk) for k in published_keys()]}


# --- rotation (a service: locked, ledgered) ---------------------------------------------------
@dataclass
class Rotation:
    activated: str | None = None
    retired: str | None = None
    published: str | None = None
    dropped: list[str] = field(default_factory=list)


def _new_key(state: str, now: datetime) -> SigningKey:
    made = keys.generate(keys.check_algorithm(settings.TESSERA_TOKEN_ALG))
    return SigningKey.objects.create(
        kid=made.kid,
        alg=made.alg,
        public_jwk=made.public_jwk,
        private_key_encrypted=keys.encrypt_private_key(
            made.private_pem, kek=kek(), kid=made.kid, alg=made.alg
        ),
        state=state,
        created_at=now,
        activated_at=now if state == KeyState.ACTIVE else None,
    )


def _lock_keyring() -> None:
    # Two rotations at once would both promote the same next key; serialise them (SQLite's
    # write lock already does).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [KEYRING_LOCK_KEY])


def retired_key_expiry(key: SigningKey) -> datetime:
    """When a retired key may be dropped: after every process stopped signing with it and the
    longest-lived token it could have signed has expired."""
    longest = max(settings.TESSERA_TOKEN_LIFETIME, settings.TESSERA_VISA_LIFETIME)
    assert key.retired_at is not None
    return key.retired_at + timedelta(seconds=ACTIVE_KEY_CACHE_SECONDS) + longest


@transaction.atomic
def keys_bootstrap(*, actor, now: datetime | None = None) -> SigningKey:
    """The active key; on an empty keyring, create it and its published successor first.
    Nobody can have cached the JWKS of an empty keyring, so the first key may sign at once."""
    now = now or timezone.now()
    _lock_keyring()
    active = SigningKey.objects.filter(state=KeyState.ACTIVE).first()
    if active is not None:
        return active
    if SigningKey.objects.filter(state=KeyState.NEXT).exists():
        raise ImproperlyConfigured(
            "There is a next signing key but no active one: run `python manage.py keys_rotate`."
        )
    active = _new_key(KeyState.ACTIVE, now)
    upcoming = _new_key(KeyState.NEXT, now)
    events.keys_rotated(
        actor=actor, activated=active.kid, retired=None, published=upcoming.kid, dropped=[]
    )
    transaction.on_commit(reset_caches)
    return active


@transaction.atomic
def keys_rotate(*, actor, force: bool = False, now: datetime | None = None) -> Rotation:
    """Promote next → active, active → retired, publish a new next key, drop retired keys whose
    tokens have all expired. On an empty keyring: create the first active key and its next."""
    now = now or timezone.now()
    _lock_keyring()
    active = SigningKey.objects.filter(state=KeyState.ACTIVE).first()
    upcoming = SigningKey.objects.filter(state=KeyState.NEXT).first()
    if active is None and upcoming is None:
        first = keys_bootstrap(actor=actor, now=now)
        return Rotation(
            activated=first.kid, published=SigningKey.objects.get(state=KeyState.NEXT).kid
        )
    out = Rotation()
    if upcoming is not None:
        lead = settings.TESSERA_JWKS_MAX_AGE
        if not force and now - upcoming.created_at < lead:
            ready = upcoming.created_at + lead
            raise RotationRefused(
                f"The next key {upcoming.kid} was published at "
                f"{upcoming.created_at:%Y-%m-%d %H:%M:%S} UTC; verifiers may cache the JWKS for "
                f"{int(lead.total_seconds())} s, so it may sign from {ready:%Y-%m-%d %H:%M:%S} "
                "UTC. Rotate then, or pass --force (verifiers that cached the JWKS would refuse "
                "the new key's tokens until they refetch)."
            )
        if active is not None:
            active.state = KeyState.RETIRED
            active.retired_at = now
            active.save(update_fields=["state", "retired_at"])
            out.retired = active.kid
        upcoming.state = KeyState.ACTIVE
        upcoming.activated_at = now
        upcoming.save(update_fields=["state", "activated_at"])
        out.activated = upcoming.kid
    # (An active key without a next one only follows a manual edit: publish one now; it may
    # sign from the next rotation on.)
    out.published = _new_key(KeyState.NEXT, now).kid
    out.dropped = _drop_expired(now)
    events.keys_rotated(
        actor=actor,
        activated=out.activated,
        retired=out.retired,
        published=out.published,
        dropped=out.dropped,
    )
    transaction.on_commit(reset_caches)
    return out


def active_key_age(now: datetime | None = None) -> timedelta | None:
    """How long the active key has signed (since it was made, if it never recorded when it
    began, which only a manual edit leaves); None when there is no active key. The one rule of
    rotation, the readiness warning and `tessera_signing_key_age_seconds`."""
    now = now or timezone.now()
    since = (
        SigningKey.objects.filter(state=KeyState.ACTIVE)
        .values_list(Coalesce("activated_at", "created_at"), flat=True)
        .first()
    )
    return None if since is None else max(now - since, timedelta(0))


def _due(age: timedelta | None) -> bool:
    return age is None or age >= timedelta(days=settings.TESSERA_KEY_ROTATION_DAYS)


def rotation_due(now: datetime | None = None) -> bool:
    """Whether the active key has signed for TESSERA_KEY_ROTATION_DAYS (or there is none)."""
    return _due(active_key_age(now))


def rotation_overdue(now: datetime | None = None) -> str | None:
    """The readiness warning when the daily `keys_rotate --if-due` should have rotated the
    active key by now (a day after `rotation_due`), or None. A warning, not a failure: every
    node shares the key, so failing readiness over it would take them all out for a missed cron
    job. No active key at all is the `signing_key` check's failure, not a warning."""
    age = active_key_age(now)
    if age is None or age < timedelta(days=settings.TESSERA_KEY_ROTATION_DAYS + 1):
        return None
    return (
        f"signing key overdue for rotation ({age.days} days old, rotate every "
        f"{settings.TESSERA_KEY_ROTATION_DAYS}): run `manage.py keys_rotate`"
    )


@transaction.atomic
def keys_prune(*, actor, now: datetime | None = None) -> list[str]:
    """Drop retired keys whose tokens have all expired (also done by every rotation)."""
    now = now or timezone.now()
    _lock_keyring()
    dropped = _drop_expired(now)
    if dropped:
        events.keys_rotated(
            actor=actor, activated=None, retired=None, published=None, dropped=dropped
        )
        transaction.on_commit(reset_caches)
    return dropped


class UnknownKey(NotFound):
    """No key with that kid, or it is already dropped."""


@dataclass(frozen=True)
class CompromiseResponse:
    dropped: str
    activated: str | None
    published: str | None
    tokens_revoked: int


@transaction.atomic
def keys_drop_compromised(
    *, kid: str, actor, reason: str, now: datetime | None = None
) -> CompromiseResponse:
    """Take a compromised key out of service at once, whatever its state.

    The key leaves the JWKS and its private key is erased; every unexpired token and visa it
    signed is revoked and listed in the revocation feed (cause "key_compromised"), and
    introspection answers inactive for them from this commit on (it reads the key's state
    fresh). If it was the active key, the next key (already published) signs from now on and
    a new next key is published: verifiers that cached the JWKS before that key was published
    refetch on its unknown kid. Other web processes may go on signing with their cached copy
    of the dropped key for up to ACTIVE_KEY_CACHE_SECONDS; introspection refuses those tokens,
    and offline verifiers must refetch the JWKS to forget the key (see
    docs/storage-verification.md)."""
    now = now or timezone.now()
    if not reason.strip():
        raise ValueError("Say why the key is taken out of service.")
    _lock_keyring()
    key = SigningKey.objects.filter(kid=kid).exclude(state=KeyState.DROPPED).first()
    if key is None:
        raise UnknownKey(f"No signing key {kid!r} in service (unknown, or already dropped).")
    was_active = key.state == KeyState.ACTIVE
    key.state = KeyState.DROPPED
    key.dropped_at = now
    key.private_key_encrypted = ""
    key.save(update_fields=["state", "dropped_at", "private_key_encrypted"])
    activated = published = None
    if was_active:
        upcoming = SigningKey.objects.filter(state=KeyState.NEXT).first()
        if upcoming is not None:  # published already: most verifiers have it
            upcoming.state = KeyState.ACTIVE
            upcoming.activated_at = now
            upcoming.save(update_fields=["state", "activated_at"])
        else:
            upcoming = _new_key(KeyState.ACTIVE, now)
        activated = upcoming.kid
    if not SigningKey.objects.filter(state=KeyState.NEXT).exists():
        published = _new_key(KeyState.NEXT, now).kid
    revoked = tokens_revoke_for_key(kid=kid, actor=actor, now=now)
    events.key_compromised(
        actor=actor,
        kid=kid,
        reason=reason.strip(),
        activated=activated,
        published=published,
        tokens_revoked=revoked,
    )
    transaction.on_commit(reset_caches)
    return CompromiseResponse(
        dropped=kid, activated=activated, published=published, tokens_revoked=revoked
    )


@transaction.atomic
def keys_reencrypt(*, actor) -> list[str]:
    """Re-encrypt every stored private key under the current KEK; return their kids.

    Keys under a previous KEK (TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS) are decrypted with it; a
    key under a KEK that is neither current nor listed stops the whole run, naming both ids.
    To replace a KEK without downtime: give every process the new KEK as
    TESSERA_KEY_ENCRYPTION_KEY and the old one in TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS, run
    this, then remove the old one."""
    _lock_keyring()
    current = kek()
    moved = []
    for key in SigningKey.objects.exclude(private_key_encrypted="").order_by("pk"):
        if keys.stored_kek_id(key.private_key_encrypted) == keys.kek_id(current):
            continue
        key.private_key_encrypted = keys.encrypt_private_key(
            _decrypt(key), kek=current, kid=key.kid, alg=key.alg
        )
        key.save(update_fields=["private_key_encrypted"])
        moved.append(key.kid)
    if moved:
        events.keys_reencrypted(actor=actor, kids=moved, kek_id=keys.kek_id(current))
        transaction.on_commit(reset_caches)
    return moved


def _drop_expired(now: datetime) -> list[str]:
    dropped = []
    for key in SigningKey.objects.filter(state=KeyState.RETIRED).order_by("retired_at"):
        if now < retired_key_expiry(key):
            continue
        # Tokens are recorded in the transaction that signs them, so this also covers a
        # lifetime setting that was longer when they were issued.
        if IssuedToken.objects.filter(kid=key.kid, expires_at__gt=now).exists():
            continue
        key.state = KeyState.DROPPED
        key.dropped_at = now
        key.private_key_encrypted = ""
        key.save(update_fields=["state", "dropped_at", "private_key_encrypted"])
        dropped.append(key.kid)
    return dropped
