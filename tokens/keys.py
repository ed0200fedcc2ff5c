"""Signing keys for the storage tier's tokens and visas: `cryptography` and JOSE (joserfc), and
nothing of the ORM (`tokens.keyring` stores and selects keys; this module only computes).

Algorithms: ES256 (ECDSA P-256, the default) or RS256 (RSA 3072), both allowed by GA4GH AAI.
Verification is pinned: a token is accepted only if its header names the one configured
algorithm AND the algorithm its key was made for, so `none`, HS256-with-the-public-key and
RS/ES swaps never reach a signature check.

Private keys are stored encrypted with a key-encryption key (KEK), AES-256-GCM, the key's
kid and algorithm bound in as associated data (a ciphertext copied onto another key's row
does not decrypt). The KEK comes from the environment, never from the repository, through
`settings.TESSERA_KEY_ENCRYPTION_KEY` (read by core.secrets; this module never reads the
environment):

- TESSERA_KEY_ENCRYPTION_KEY: base64 (standard or URL-safe) of 32 random bytes
  (`python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"`);
- TESSERA_KEY_ENCRYPTION_KEY_FILE: a file holding that text (Docker/Kubernetes secrets).

With DEBUG on and neither set, a development KEK is generated once into
BASE_DIR/var/keys/token-kek (mode 0600). With DEBUG off, a missing KEK is a configuration
error. Neither the KEK nor a private key is ever logged or put in an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from core import safejson
from core.secrets import as_secret, write_private_file

ES256 = "ES256"
RS256 = "RS256"
ALGORITHMS = (ES256, RS256)
RSA_BITS = 3072
MAX_TOKEN_BYTES = 8192

KEK_ENV = "TESSERA_KEY_ENCRYPTION_KEY"
KEK_FILE_ENV = "TESSERA_KEY_ENCRYPTION_KEY_FILE"
# Retired KEKs, still accepted for decryption while `keys_reencrypt` moves keys off them.
PREVIOUS_KEKS_ENV = "TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS"
DEV_KEK_RELATIVE_PATH = Path("var") / "keys" / "token-kek"
_CIPHERTEXT_PREFIX = "tsr-kek1"


class KeyConfigurationError(Exception):
    """The KEK is missing or malformed, or a stored key cannot be decrypted with it."""


class InvalidToken(Exception):
    """Why a token failed, for the ledger only: callers answer "inactive" and nothing more."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- key generation and JWKs ------------------------------------------------------------------
@dataclass(frozen=True)
class GeneratedKey:
    """A new key pair: the public JWK to publish and the private key as PKCS#8 PEM."""

    kid: str
    alg: str
    public_jwk: dict[str, Any]
    private_pem: bytes = field(repr=False)


def check_algorithm(alg: str) -> str:
    if alg not in ALGORITHMS:
        raise KeyConfigurationError(f"TESSERA_TOKEN_ALG must be one of {', '.join(ALGORITHMS)}.")
    return alg


def generate(alg: str) -> GeneratedKey:
    """A fresh key pair for `alg`; its kid is the RFC 7638 thumbprint of the public key."""
    check_algorithm(alg)
    if alg == ES256:
        key = ECKey.generate_key("P-256", private=True)
    else:
        key = RSAKey.generate_key(RSA_BITS, private=True)
    kid = key.thumbprint()
    private_pem = key.as_pem(private=True)
    return GeneratedKey(kid=kid, alg=alg, public_jwk=public_jwk(key, kid=kid, alg=alg),
                        private_pem=private_pem)  # fmt: skip


def public_jwk(key, *, kid: str, alg: str) -> dict[str, Any]:
    """The public half as a JWK with `kid`, `alg` and `use: sig` (and no private member)."""
    members = key.as_dict(private=False)
    allowed = {"kty", "crv", "x", "y", "n", "e"}
    out = {k: v for k, v in members.items() if k in allowed}
    out.update({"kid": kid, "alg": alg, "use": "sig"})
    return out


def import_public(jwk: dict[str, Any]):
    """A joserfc key object for a published JWK (public members only)."""
    kty = jwk.get("kty")
    members = {k: v for k, v in jwk.items() if k in {"kty", "crv", "x", "y", "n", "e"}}
    if kty == "EC":
        return ECKey.import_key(members)
    if kty == "RSA":
        return RSAKey.import_key(members)
    raise KeyConfigurationError(f"unsupported key type {kty!r}")


def import_private(pem: bytes, alg: str):
    check_algorithm(alg)
    return (ECKey if alg == ES256 else RSAKey).import_key(pem)


# --- key encryption at rest -------------------------------------------------------------------
def kek_id(kek: bytes) -> str:
    """Names a KEK without revealing it (first 8 bytes of SHA-256, hex)."""
    return hashlib.sha256(b"tessera-kek-id\x00" + kek).digest()[:8].hex()


def encrypt_private_key(private_pem: bytes, *, kek: bytes, kid: str, alg: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(kek).encrypt(nonce, private_pem, _aad(kid, alg))
    blob = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{_CIPHERTEXT_PREFIX}.{kek_id(kek)}.{blob}"


def decrypt_private_key(ciphertext: str, *, kek: bytes, kid: str, alg: str) -> bytes:
    try:
        prefix, stored_kek_id, blob = ciphertext.split(".", 2)
    except ValueError:
        raise KeyConfigurationError(
            f"the stored private key {kid} is not in a known format"
        ) from None
    if prefix != _CIPHERTEXT_PREFIX:
        raise KeyConfigurationError(f"the stored private key {kid} is not in a known format")
    if stored_kek_id != kek_id(kek):
        raise KeyConfigurationError(
            f"the private key {kid} was encrypted with key-encryption key {stored_kek_id}, "
            f"but {KEK_ENV} is {kek_id(kek)}"
        )
    try:
        raw = base64.urlsafe_b64decode(blob.encode("ascii"))
        return AESGCM(kek).decrypt(raw[:12], raw[12:], _aad(kid, alg))
    except (InvalidTag, ValueError, binascii.Error):
        raise KeyConfigurationError(f"the stored private key {kid} does not decrypt") from None


def _aad(kid: str, alg: str) -> bytes:
    return f"tessera-signing-key\x00{kid}\x00{alg}".encode()


_kek_lock = threading.Lock()
_kek: bytes | None = None


def key_encryption_key(*, debug: bool, base_dir: Path) -> bytes:
    """The KEK from settings (or the development KEK with DEBUG), loaded once."""
    global _kek
    with _kek_lock:
        if _kek is None:
            _kek = _load_kek(debug=debug, base_dir=base_dir)
        return _kek


def reset_kek_cache() -> None:
    global _kek
    with _kek_lock:
        _kek = None


def previous_keks() -> list[bytes]:
    """Retired KEKs from settings.TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS: base64, comma-separated
    (or one per line in the file TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS_FILE names)."""
    configured = as_secret(settings.TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS, PREVIOUS_KEKS_ENV)
    if configured is None:
        return []
    texts = [t.strip() for t in configured.value.replace("\n", ",").split(",") if t.strip()]
    return [parse_kek(text, f"entry {n} of {configured.origin}") for n, text in enumerate(texts, 1)]


def stored_kek_id(ciphertext: str) -> str | None:
    """The id of the KEK a stored private key was encrypted with (None if not our format)."""
    parts = ciphertext.split(".", 2)
    return parts[1] if len(parts) == 3 and parts[0] == _CIPHERTEXT_PREFIX else None


def _load_kek(*, debug: bool, base_dir: Path) -> bytes:
    # settings.TESSERA_KEY_ENCRYPTION_KEY is read from the variable or its _FILE variant by
    # core.secrets (which refuses both, and a file it cannot read).
    configured = as_secret(settings.TESSERA_KEY_ENCRYPTION_KEY, KEK_ENV)
    if configured is not None:
        return parse_kek(configured.value, configured.origin)
    if debug:
        dev = base_dir / DEV_KEK_RELATIVE_PATH
        if not dev.exists():
            write_private_file(dev, base64.b64encode(os.urandom(32)) + b"\n", prefix=".kek-")
        return parse_kek(dev.read_text(encoding="ascii").strip(), f"the development KEK {dev}")
    raise KeyConfigurationError(
        f"No key-encryption key for the token signing keys: set {KEK_ENV} (base64 of 32 random "
        f"bytes) or {KEK_FILE_ENV}. A development KEK is only generated when DEBUG is on."
    )


def parse_kek(text: str, origin: str) -> bytes:
    # Messages name where the KEK came from, never any part of its value.
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(text.encode("ascii", "replace") + b"=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    raise KeyConfigurationError(f"{origin} is not base64 of 32 bytes.")


# --- signing ----------------------------------------------------------------------------------
_registries: dict[str, jws.JWSRegistry] = {}


def _registry(alg: str) -> jws.JWSRegistry:
    # One registry per algorithm, allowing that algorithm only.
    registry = _registries.get(alg)
    if registry is None:
        registry = _registries[alg] = jws.JWSRegistry(algorithms=[check_algorithm(alg)])
    return registry


def new_jti() -> str:
    return secrets.token_urlsafe(18)


def sign(claims: dict[str, Any], *, private_key, kid: str, alg: str, typ: str,
         extra_header: dict[str, Any] | None = None) -> str:  # fmt: skip
    """A compact JWS over the claims (compact JSON) with header alg, kid, typ (+ extra)."""
    header = {"alg": alg, "kid": kid, "typ": typ, **(extra_header or {})}
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, private_key, registry=_registry(alg))


# --- verification -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Verified:
    header: dict[str, Any]
    claims: dict[str, Any]


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, parsed strictly; InvalidToken("malformed") for anything odd."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("malformed")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken("malformed")
    try:
        header = safejson.loads(_b64url(parts[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidToken("malformed") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed")
    return header


def verify(
    token: str,
    *,
    alg: str,
    typ: str,
    key_for: Callable[[str], tuple[Any, str] | None],
) -> Verified:
    """Check the header (pinned alg, exact typ, known kid) and the signature; nothing about time
    or audience (see `check_claims`). `key_for(kid)` returns (public key, key's alg) or None."""
    header = unverified_header(token)
    if header.get("alg") != alg:
        raise InvalidToken("alg")
    if not _typ_matches(header.get("typ"), typ):
        raise InvalidToken("typ")
    if "crit" in header or "b64" in header:
        raise InvalidToken("header")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("kid")
    found = key_for(kid)
    if found is None:
        raise InvalidToken("kid")
    public_key, key_alg = found
    if key_alg != alg:
        raise InvalidToken("alg")
    try:
        obj = jws.deserialize_compact(token, public_key, registry=_registry(alg))
        claims = safejson.loads(obj.payload)
    except (JoseError, ValueError, TypeError):
        raise InvalidToken("signature") from None
    if not isinstance(claims, dict):
        raise InvalidToken("claims")
    return Verified(header=header, claims=claims)


def check_claims(
    claims: dict[str, Any],
    *,
    now: int,
    issuer: str,
    audiences: Iterable[str],
    leeway: int = 0,
) -> None:
    """iss exact; aud (string or list) shares a value with ours; nbf <= now < exp (integers)."""
    if claims.get("iss") != issuer:
        raise InvalidToken("iss")
    aud = claims.get("aud")
    aud_values = [aud] if isinstance(aud, str) else aud
    if not isinstance(aud_values, list) or not aud_values:
        raise InvalidToken("aud")
    if not set(audiences) & {a for a in aud_values if isinstance(a, str)}:
        raise InvalidToken("aud")
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    for value in (exp, nbf, iat):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidToken("claims")
    if now >= exp + leeway:
        raise InvalidToken("expired")
    if now + leeway < nbf:
        raise InvalidToken("not_yet_valid")
    if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("sub"), str):
        raise InvalidToken("claims")


def _typ_matches(value: Any, expected: str) -> bool:
    # RFC 8725 §3.11 / RFC 9068 §4: compare case-insensitively, "application/" prefix optional.
    if not isinstance(value, str):
        return False
    value = value.lower()
    if value.startswith("application/"):
        value = value[len("application/") :]
    return value == expected.lower()


def _b64url(segment: str) -> bytes:
    if not all(c.isalnum() or c in "-_" for c in segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def token_fingerprint(token: str | bytes) -> str:
    """SHA-256 of a token, hex: how the ledger names a token it could not read."""
    data = token.encode("utf-8", "replace") if isinstance(token, str) else token
    return hashlib.sha256(data).hexdigest()
