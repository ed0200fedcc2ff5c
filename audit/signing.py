"""Ed25519 signatures over ledger checkpoints, with `cryptography` and nothing of the ORM.

A checkpoint body is UTF-8 text in the C2SP tlog-checkpoint layout (origin, tree size, base64
root, then one extension line carrying the time), every line ending in a newline:

    tessera-audit
    1234
    3q2+7w...base64 of the 32-byte RFC 9162 root, standard alphabet with padding...=
    2026-11-27T10:00:00.123456Z

The size is a decimal integer without sign or leading zeros; the time is RFC 3339 in UTC with
exactly six fractional digits and a "Z". Each value has exactly one encoding, so a body parses
back to one (size, root, time) and a witness can rebuild it byte for byte. The signature is
plain Ed25519 (RFC 8032) over these bytes: 64 bytes.

The private key comes from the environment, never from the repository, through
`settings.AUDIT_SIGNING_KEY` (read by core.secrets; this module never reads the environment):

- AUDIT_SIGNING_KEY: a PKCS#8 PEM ("\\n" escapes allowed, for one-line variables) or the
  base64 of the raw 32-byte private key;
- AUDIT_SIGNING_KEY_FILE: a file holding either of those (Docker/Kubernetes secrets).

With DEBUG on and neither set, a development key is generated once into
BASE_DIR/var/keys/audit-ed25519.pem (mode 0600). With DEBUG off, a missing key is a
configuration error: checkpoints signed by a throwaway key would prove nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.secrets import as_secret, write_private_file

logger = logging.getLogger(__name__)

CHECKPOINT_ORIGIN = "tessera-audit"
ROOT_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ENV = "AUDIT_SIGNING_KEY"
KEY_FILE_ENV = "AUDIT_SIGNING_KEY_FILE"
DEV_KEY_RELATIVE_PATH = Path("var") / "keys" / "audit-ed25519.pem"

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_BODY_PATTERN = re.compile(
    rb"tessera-audit\n"
    rb"(0|[1-9][0-9]{0,19})\n"
    rb"([A-Za-z0-9+/]{43}=)\n"
    rb"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z)\n"
)

PublicKeyLike = Ed25519PublicKey | bytes | str


@dataclass(frozen=True)
class SigningKey:
    """The audit signing key in use, and where it came from (env, file or development)."""

    private_key: Ed25519PrivateKey = field(repr=False)
    source: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)


# --- checkpoint bodies ------------------------------------------------------------------------


def format_time(timestamp: datetime) -> str:
    """RFC 3339 in UTC with microseconds: the only form a checkpoint body accepts."""
    if not isinstance(timestamp, datetime) or timestamp.utcoffset() is None:
        raise ValueError("a checkpoint time must be a timezone-aware datetime")
    return timestamp.astimezone(UTC).strftime(_TIME_FORMAT)


def checkpoint_body(tree_size: int, root: bytes, timestamp: datetime) -> bytes:
    """The exact bytes that are signed for a checkpoint (layout in the module docstring)."""
    if not isinstance(tree_size, int) or isinstance(tree_size, bool) or tree_size < 0:
        raise ValueError(f"tree_size must be a non-negative integer, not {tree_size!r}")
    if not isinstance(root, bytes | bytearray) or len(root) != ROOT_SIZE:
        raise ValueError(f"root must be {ROOT_SIZE} bytes")
    encoded_root = base64.b64encode(bytes(root)).decode("ascii")
    return f"{CHECKPOINT_ORIGIN}\n{tree_size}\n{encoded_root}\n{format_time(timestamp)}\n".encode(
        "ascii"
    )


def parse_checkpoint_body(body: bytes) -> tuple[int, bytes, datetime]:
    """(tree_size, root, timestamp) from a body; ValueError unless it is exactly canonical."""
    if not isinstance(body, bytes | bytearray):
        raise ValueError("a checkpoint body is bytes")
    match = _BODY_PATTERN.fullmatch(bytes(body))
    if match is None:
        raise ValueError("not a tessera-audit checkpoint body")
    size_text, root_text, time_text = match.groups()
    root = base64.b64decode(root_text, validate=True)
    timestamp = datetime.strptime(time_text.decode("ascii"), _TIME_FORMAT).replace(tzinfo=UTC)
    tree_size = int(size_text)
    # A base64 string whose padding bits are not zero decodes to the same root as the canonical
    # one; re-encoding rejects such twins so that one checkpoint has one body.
    if checkpoint_body(tree_size, root, timestamp) != body:
        raise ValueError("checkpoint body is not in canonical form")
    return tree_size, root, timestamp


# --- signing and verification -----------------------------------------------------------------


def sign(body: bytes) -> bytes:
    """The 64-byte Ed25519 signature of `body` with the configured audit key."""
    if not isinstance(body, bytes | bytearray):
        raise TypeError("only bytes are signed")
    return signing_key().private_key.sign(bytes(body))


def verify(body: bytes, signature: bytes, public_key: PublicKeyLike) -> bool:
    """Whether `signature` is a valid signature of `body` by `public_key`; never raises.

    `public_key` may be an Ed25519PublicKey, the 32 raw bytes, their base64, or a PEM
    (str or bytes), so stored and published keys can be checked as they are.
    """
    if not isinstance(body, bytes | bytearray) or not isinstance(signature, bytes | bytearray):
        return False
    if len(signature) != SIGNATURE_SIZE:
        return False
    try:
        key = load_public_key(public_key)
        key.verify(bytes(signature), bytes(body))
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def load_public_key(public_key: PublicKeyLike) -> Ed25519PublicKey:
    """An Ed25519PublicKey from any form `verify` accepts; ValueError for anything else.

    Bytes are the 32 raw bytes or a PEM; text is base64 of the raw bytes or a PEM. Keeping
    the two apart means a 44-character base64 string is never mistaken for raw bytes.
    """
    if isinstance(public_key, Ed25519PublicKey):
        return public_key
    if isinstance(public_key, str):
        text = public_key.strip()
        if text.startswith("-----BEGIN"):
            return _load_public_pem(text.encode("ascii", "replace"))
        try:
            raw = base64.b64decode(text.encode("ascii", "replace"), validate=True)
        except binascii.Error as exc:
            raise ValueError("not base64 of an Ed25519 public key") from exc
    elif isinstance(public_key, bytes | bytearray):
        if bytes(public_key).lstrip().startswith(b"-----BEGIN"):
            return _load_public_pem(bytes(public_key))
        raw = bytes(public_key)
    else:
        raise ValueError("not an Ed25519 public key")
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def _load_public_pem(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data.strip())
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the PEM public key is not Ed25519")
    return key


def public_key_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: PublicKeyLike | None = None) -> str:
    """First 8 bytes of SHA-256 of the raw public key, as 16 hex digits (default: our key)."""
    key = signing_key().public_key if public_key is None else load_public_key(public_key)
    return hashlib.sha256(public_key_raw(key)).digest()[:8].hex()


def public_key_pem() -> str:
    """The audit public key as SubjectPublicKeyInfo PEM, for witnesses and the API."""
    return (
        signing_key()
        .public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode("ascii")
    )


def public_key_raw_b64() -> str:
    """The audit public key as base64 of its 32 raw bytes."""
    return base64.b64encode(public_key_raw(signing_key().public_key)).decode("ascii")


# --- key loading ------------------------------------------------------------------------------

_cache_lock = threading.Lock()
_cached: SigningKey | None = None


def signing_key() -> SigningKey:
    """The configured key, loaded on first use and kept for the life of the process."""
    global _cached
    with _cache_lock:
        if _cached is None:
            _cached = _load_signing_key()
        return _cached


def reset_signing_key_cache() -> None:
    """Forget the loaded key, so that changed settings (tests, rotation) are read again."""
    global _cached
    with _cache_lock:
        _cached = None


def _load_signing_key() -> SigningKey:
    # settings.AUDIT_SIGNING_KEY is read from AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE by
    # core.secrets (which refuses both, and a file it cannot read).
    configured = as_secret(settings.AUDIT_SIGNING_KEY, KEY_ENV)
    if configured is not None:
        data = configured.value.encode("ascii", "replace")
        return SigningKey(_parse_private_key(data, configured.origin), configured.variable)
    if settings.DEBUG:
        return _development_key(Path(settings.BASE_DIR) / DEV_KEY_RELATIVE_PATH)
    raise ImproperlyConfigured(
        f"No audit signing key: set {KEY_ENV} (PKCS#8 PEM or base64 of the raw 32-byte Ed25519 "
        f"private key) or {KEY_FILE_ENV} (a file holding one). A development key is only "
        "generated when DEBUG is on."
    )


def _parse_private_key(data: bytes, origin: str) -> Ed25519PrivateKey:
    # Error messages name where the key came from, never any part of its value.
    data = data.strip()
    if data.startswith(b"-----BEGIN"):
        data = data.replace(b"\\n", b"\n")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ImproperlyConfigured(
                f"{origin} is not an unencrypted PKCS#8 PEM private key."
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured(f"{origin} holds a private key that is not Ed25519.")
        return key
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ImproperlyConfigured(
            f"{origin} is neither a PEM private key nor base64 of 32 raw bytes."
        ) from None
    if len(raw) != 32:
        raise ImproperlyConfigured(
            f"{origin} decodes to {len(raw)} bytes; a raw Ed25519 private key is 32."
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def _development_key(path: Path) -> SigningKey:
    if not path.exists():
        _write_development_key(path)
    key = _parse_private_key(path.read_bytes(), f"the development key {path}")
    signing = SigningKey(key, "development")
    logger.warning(
        "Audit checkpoints are signed with a DEVELOPMENT key from %s (key id %s). "
        "Set %s or %s before this ledger has to prove anything.",
        path,
        signing.key_id,
        KEY_ENV,
        KEY_FILE_ENV,
    )
    return signing


def _write_development_key(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_file(path, pem, prefix=".audit-key-")
