"""A person's researcher status from their GA4GH passport (GA4GH Passport v1.2).

An identity provider such as Life Science Login sends the passport as the `ga4gh_passport_v1`
claim (in the ID token or from userinfo): a list of visa JWTs. Each visa is a "visa document
token": its header names the issuer's key set (`jku`) and key (`kid`); its claims are `iss`,
`sub`, `iat`, `exp`, `jti` and `ga4gh_visa_v1` {type, asserted, value, source, by}. Only
visas of type `ResearcherStatus` count, and only when all of this holds:

- `iss` is one of TESSERA_TRUSTED_VISA_ISSUERS (core/visa_issuers.py), and the header's `jku`
  is exactly the URL configured for it: keys are fetched from no other place;
- the header's `alg` is one of TESSERA_VISA_ALGORITHMS and the key (PyJWT's `PyJWKClient`,
  one per configured URL, the key set cached for TESSERA_VISA_JWKS_LIFESPAN_SECONDS) verifies
  the signature;
- `exp`, `iat`, `iss` and `sub` are present, `exp` has not passed, `asserted` is not in the
  future; `sub` is the signed-in subject when the caller knows it;
- `by` is not "self" (a person's word about themselves is not a status) and the visa carries
  no `conditions` (not supported: such a visa would need other visas to hold).

Anything else is ignored: never trusted, never a 500, logged with its reason (Python logging and
the ledger's `access.researcher_visa_ignored`, bounded). Accepted visas go to
`access.services.researcher_status.researcher_status_record`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import jwt
from django.conf import settings
from django.utils import timezone

from access.choices import VisaIgnoredReason
from access.models import ResearcherStatus
from access.services.researcher_status import (
    VerifiedVisa,
    researcher_status_ignore,
    researcher_status_record,
)
from core.exceptions import Invalid

logger = logging.getLogger(__name__)

PASSPORT_CLAIM = "ga4gh_passport_v1"
VISA_CLAIM = "ga4gh_visa_v1"
RESEARCHER_STATUS = "ResearcherStatus"
# Bounds on what one sign-in makes us read: a passport's visas, and each visa's size.
MAX_VISAS = 100
MAX_VISA_LENGTH = 16_384
# Clock skew allowed for `iat` and `asserted`; `exp` is checked without any.
LEEWAY_SECONDS = 60


class VisaIgnored(Exception):
    """A visa that is not trusted, and why (a `VisaIgnoredReason`)."""

    def __init__(self, reason: VisaIgnoredReason, issuer: str = ""):
        super().__init__(reason.value)
        self.reason = reason
        self.issuer = issuer


@dataclass
class PassportResult:
    """What came of a passport: the statuses recorded (or found recorded), and the visas ignored
    as (reason, SHA-256 of the visa)."""

    accepted: list[ResearcherStatus] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)


@cache
def _jwks_client(jku: str) -> jwt.PyJWKClient:
    """One client per configured key set URL, for the life of the process: the key set is
    cached for its lifespan, and an unknown `kid` refetches it at most every 30 seconds."""
    return jwt.PyJWKClient(
        jku,
        cache_jwk_set=True,
        lifespan=settings.TESSERA_VISA_JWKS_LIFESPAN_SECONDS,
        timeout=settings.TESSERA_VISA_JWKS_TIMEOUT_SECONDS,
    )


def reset_jwks_cache() -> None:
    """Forget the fetched key sets (tests; a changed configuration in a running process)."""
    _jwks_client.cache_clear()


def _timestamp(value) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VisaIgnored(VisaIgnoredReason.INVALID_CLAIMS)
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise VisaIgnored(VisaIgnoredReason.INVALID_CLAIMS) from exc


def _text(value, *, max_length: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > max_length:
        raise VisaIgnored(VisaIgnoredReason.INVALID_CLAIMS)
    return value


def verify_visa(token: str, *, subject: str | None = None) -> VerifiedVisa:
    """The verified claims of a ResearcherStatus visa, or VisaIgnored saying why not."""
    if not isinstance(token, str) or not token:
        raise VisaIgnored(VisaIgnoredReason.MALFORMED)
    if len(token) > MAX_VISA_LENGTH:
        raise VisaIgnored(VisaIgnoredReason.TOO_LARGE)
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise VisaIgnored(VisaIgnoredReason.MALFORMED) from exc
    claimed_issuer = unverified.get("iss")
    issuer = claimed_issuer if isinstance(claimed_issuer, str) else ""
    trusted = settings.TESSERA_TRUSTED_VISA_ISSUERS
    if issuer not in trusted:
        raise VisaIgnored(VisaIgnoredReason.UNTRUSTED_ISSUER, issuer)
    if header.get("jku") != trusted[issuer]:
        raise VisaIgnored(VisaIgnoredReason.JKU_MISMATCH, issuer)
    if header.get("alg") not in settings.TESSERA_VISA_ALGORITHMS:
        raise VisaIgnored(VisaIgnoredReason.ALGORITHM, issuer)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise VisaIgnored(VisaIgnoredReason.UNKNOWN_KEY, issuer)
    try:
        key = _jwks_client(trusted[issuer]).get_signing_key(kid)
    except jwt.PyJWKClientConnectionError as exc:
        raise VisaIgnored(VisaIgnoredReason.KEYS_UNAVAILABLE, issuer) from exc
    except jwt.PyJWKClientError as exc:
        raise VisaIgnored(VisaIgnoredReason.UNKNOWN_KEY, issuer) from exc
    except (jwt.PyJWTError, ValueError) as exc:  # not JSON, not a key set
        raise VisaIgnored(VisaIgnoredReason.KEYS_UNAVAILABLE, issuer) from exc
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=settings.TESSERA_VISA_ALGORITHMS,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            # Visas are bearer documents for any clearinghouse: GA4GH gives them no audience.
            options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
        )
    except jwt.InvalidAlgorithmError as exc:
        raise VisaIgnored(VisaIgnoredReason.ALGORITHM, issuer) from exc
    except jwt.InvalidSignatureError as exc:
        raise VisaIgnored(VisaIgnoredReason.BAD_SIGNATURE, issuer) from exc
    except jwt.ExpiredSignatureError as exc:
        raise VisaIgnored(VisaIgnoredReason.EXPIRED, issuer) from exc
    except jwt.DecodeError as exc:
        raise VisaIgnored(VisaIgnoredReason.MALFORMED, issuer) from exc
    except jwt.PyJWTError as exc:  # missing claims, iat in the future, ...
        raise VisaIgnored(VisaIgnoredReason.INVALID_CLAIMS, issuer) from exc

    now = timezone.now()
    expires_at = _timestamp(claims["exp"])
    if expires_at <= now:  # the leeway was for iat only
        raise VisaIgnored(VisaIgnoredReason.EXPIRED, issuer)
    sub = _text(claims["sub"], max_length=255)
    if subject is not None and sub != subject:
        raise VisaIgnored(VisaIgnoredReason.SUBJECT_MISMATCH, issuer)
    visa = claims.get(VISA_CLAIM)
    if not isinstance(visa, dict):
        raise VisaIgnored(VisaIgnoredReason.INVALID_CLAIMS, issuer)
    if visa.get("type") != RESEARCHER_STATUS:
        raise VisaIgnored(VisaIgnoredReason.NOT_RESEARCHER_STATUS, issuer)
    if visa.get("conditions"):
        raise VisaIgnored(VisaIgnoredReason.CONDITIONAL, issuer)
    by = _text(visa.get("by"), max_length=32, required=False)
    if by == "self":
        raise VisaIgnored(VisaIgnoredReason.SELF_ASSERTED, issuer)
    asserted = _timestamp(visa.get("asserted"))
    if (asserted - now).total_seconds() > LEEWAY_SECONDS or asserted > expires_at:
        raise VisaIgnored(VisaIgnoredReason.INVALID_CLAIMS, issuer)
    return VerifiedVisa(
        issuer=issuer,
        subject=sub,
        source=_text(visa.get("source"), max_length=500),
        value=_text(visa.get("value"), max_length=500, required=False),
        by=by,
        asserted=min(asserted, now),
        expires_at=expires_at,
        jti=_text(claims.get("jti"), max_length=255, required=False),
        visa_sha256=_sha256(token),
    )


def _sha256(token) -> str:
    data = token.encode("utf-8", "replace") if isinstance(token, str) else repr(token).encode()
    return hashlib.sha256(data).hexdigest()


def researcher_status_from_passport(
    *, user, passport_jwts: list[str], subject: str | None = None
) -> PassportResult:
    """Verify each visa of a passport and record `user`'s researcher status from those that
    hold (see the module's docstring). `subject`, when given, is the person's subject at the
    identity provider: a visa naming another is ignored. Never raises for a bad visa."""
    result = PassportResult()
    if not isinstance(passport_jwts, list | tuple):
        passport_jwts = []
    for index, token in enumerate(passport_jwts):
        digest = _sha256(token)
        try:
            if index >= MAX_VISAS:
                raise VisaIgnored(VisaIgnoredReason.TOO_LARGE)
            visa = verify_visa(token, subject=subject)
            try:
                status = researcher_status_record(user=user, visa=visa, actor=user)
            except Invalid as exc:  # expired between the check and the write
                raise VisaIgnored(VisaIgnoredReason.EXPIRED, visa.issuer) from exc
        except VisaIgnored as ignored:
            _ignore(user=user, ignored=ignored, digest=digest)
            result.ignored.append((ignored.reason.value, digest))
            continue
        result.accepted.append(status)
    return result


def researcher_status_from_claims(*, user, claims: dict) -> PassportResult:
    """The same, from the claims of an ID token or of userinfo after sign-in: the passport is
    their `ga4gh_passport_v1`, and their `sub` is the subject every visa must name. Claims
    without a passport record nothing."""
    if not isinstance(claims, dict):
        return PassportResult()
    passport = claims.get(PASSPORT_CLAIM)
    if passport is None:
        return PassportResult()
    subject = claims.get("sub")
    return researcher_status_from_passport(
        user=user,
        passport_jwts=passport if isinstance(passport, list) else [passport],
        subject=subject if isinstance(subject, str) and subject else None,
    )


def _ignore(*, user, ignored: VisaIgnored, digest: str) -> None:
    # A visa of another type is the passport's ordinary content, not a warning sign.
    level = (
        logging.INFO
        if ignored.reason == VisaIgnoredReason.NOT_RESEARCHER_STATUS
        else logging.WARNING
    )
    logger.log(
        level,
        "visa ignored: %s (issuer %r, sha256 %s)",
        ignored.reason.value,
        ignored.issuer[:200],
        digest[:16],
    )
    researcher_status_ignore(
        user=user, reason=ignored.reason, issuer=ignored.issuer, visa_sha256=digest
    )
