"""Access tokens (RFC 9068) for the storage tier, and the grant's state read in one query.

The rest of the token subsystem: `tokens.visas` (GA4GH visas), `tokens.revocation` (the sweeps
and the revocation feed), `tokens.introspection` (RFC 7662), `tokens.keyring` (signing keys).

Whether a grant is active has one rule, `access.lifecycle.grant_inactive_reason`, over a
`GrantState`. Issuing visas feeds it from the model (`Grant.inactive_reason`); the two hot paths
(issuing an access token, introspecting one) feed it the state read in one query
(`grant_row_state`, here): the same rule, only the reading differs.

Revocation never waits for a token to expire. Introspection reads the token's and its grant's
state fresh, in one query, on every call: nothing that can change when access is taken away
(grant, user, dataset, ethics, agreement, token, key state) is cached anywhere. Offline
verifiers follow the revocation feed.

Locking. Issuing takes the grant's row lock before it reads the grant's state; every sweep
(grant revoked, dataset retired, user suspended) takes the row locks of the grants it sweeps
before it reads their tokens. So a token is either committed before the sweep reads (and is
revoked by it) or issued after the sweep committed (and refused, its grant being inactive):
none escapes the feed. Feed cursors are assigned under a lock held until commit, so readers see
them appear in increasing order, without gaps that a later commit could fill. Grant locks come
before the transaction's first ledger event: with inline sequencing an event holds the ledger's
lock until commit, and an issuer holding a grant lock waits for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from access.lifecycle import GrantRecord, grant_inactive_reason
from access.models import AgreementAcceptance, Decision, Grant
from audit import events
from audit.actors import pseudonym_for, user_actor
from core import db
from core.dates import end_of_day
from core.exceptions import Forbidden

from . import keyring, keys
from .choices import KeyState, TokenKind
from .models import IssuedToken, SigningKey
from .prepared import prepared

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type, not a secret)
# RFC 9068 `client_id`: the client the token was issued to, here Tessera's own portal.
PORTAL_CLIENT_ID = "tessera-portal"


class TokenRefused(Forbidden):
    """No token: the grant is not active (the message says why) or not the caller's."""


# --- the grant's state in one query -----------------------------------------------------------
def _state_fields(prefix: str) -> dict[str, Any]:
    """A grant's `GrantState` (see `grant_row_state`), its holder's pseudonym and its dataset's
    accession, as values() expressions from a query rooted at a grant (prefix "") or at a token
    (prefix "grant__")."""
    agreements = Decision.agreements.through.objects
    required = agreements.filter(
        decision_id=OuterRef(f"{prefix}decision_id"),
        accessagreement__committee_id=OuterRef(f"{prefix}decision__review__committee_id"),
    )
    accepted = AgreementAcceptance.objects.filter(
        request_id=OuterRef(f"{prefix}request_id"),
        user_id=OuterRef(f"{prefix}user_id"),
        agreement_id__in=agreements.filter(
            decision_id=OuterRef(OuterRef(f"{prefix}decision_id")),
            accessagreement__committee_id=OuterRef(
                OuterRef(f"{prefix}decision__review__committee_id")
            ),
        ).values("accessagreement_id"),
    )
    return {
        "g_id": F(f"{prefix}id"),
        "g_user_id": F(f"{prefix}user_id"),
        "g_revoked_at": F(f"{prefix}revoked_at"),
        "g_valid_from": F(f"{prefix}valid_from"),
        "g_valid_until": F(f"{prefix}valid_until"),
        "u_active": F(f"{prefix}user__is_active"),
        "u_pseudonym": F(f"{prefix}user__pseudonym__pseudonym"),
        "d_accession": F(f"{prefix}dataset__accession"),
        "d_status": F(f"{prefix}dataset__status"),
        "c_requires_ethics": F(f"{prefix}decision__review__committee__requires_ethics_approval"),
        "r_ethics_expiry": F(f"{prefix}request__ethics_expiry"),
        "needs_agreement": Exists(required),
        "agreement_accepted": Exists(accepted),
    }


def grant_state_rows(grants, *fields: str):
    """Each of `grants` as a `_state_fields` row (for `grant_row_state`) with `fields` too, in
    one query."""
    return grants.order_by().values(*fields, **_state_fields(""))


def _grant_state_query(grant_id):
    return Grant.objects.filter(pk=grant_id).order_by().values(**_state_fields(""))


def token_state_query(jti):
    key_live = SigningKey.objects.filter(kid=OuterRef("kid")).exclude(state=KeyState.DROPPED)
    return (
        IssuedToken.objects.filter(jti=jti)
        .order_by()
        .values(
            "kind", "revoked_at", "grant_id", key_live=Exists(key_live), **_state_fields("grant__")
        )
    )


def grant_state(grant_id: int) -> dict[str, Any] | None:
    """The grant's state (see `_state_fields`), read now, in one query; None if no such grant."""
    return prepared("grant_state", _grant_state_query, -7_654_321).fetch(int(grant_id))


def grant_row_state(row: dict[str, Any]) -> GrantRecord:
    """The `GrantState` held in a `_state_fields` row, for `grant_inactive_reason`."""
    return GrantRecord(
        revoked_at=row["g_revoked_at"],
        valid_from=row["g_valid_from"],
        valid_until=row["g_valid_until"],
        user_active=row["u_active"],
        dataset_status=row["d_status"],
        requires_ethics=row["c_requires_ethics"],
        ethics_expiry=row["r_ethics_expiry"],
        needs_agreement=row["needs_agreement"],
        agreement_accepted=row["agreement_accepted"],
    )


def access_ends(state_until: datetime, *, requires_ethics: bool, ethics_expiry) -> datetime:
    """The last instant a token may be valid: the grant's end, or the end of the ethics
    approval's last day (UTC) when the committee requires one, whichever comes first."""
    if requires_ethics and ethics_expiry is not None:
        return min(state_until, end_of_day(ethics_expiry))
    return state_until


def _audience() -> str | list[str]:
    audience = list(settings.TESSERA_TOKEN_AUDIENCE)
    return audience[0] if len(audience) == 1 else audience


_LOCK_GRANT = f"SELECT 1 FROM {Grant._meta.db_table} WHERE id = %s FOR UPDATE"  # noqa: S608


def _lock_grant(grant_id: int) -> None:
    """`revocation.lock_grants(pk=...)` for the issue hot path: one prepared statement."""
    if connection.features.has_select_for_update:
        with db.server_cursor() as cursor:
            cursor.execute(_LOCK_GRANT, [grant_id])


# --- access tokens ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AccessToken:
    """A freshly signed access token, shown once to its holder."""

    token: str
    jti: str
    grant_id: int
    dataset: str
    scope: str
    issued_at: datetime
    expires_at: datetime

    @property
    def expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())


@transaction.atomic
def token_issue(*, grant: Grant, actor) -> AccessToken:
    """Sign an access token for the holder of an active grant; never valid beyond the grant."""
    if actor is None or actor.pk != grant.user_id:
        raise TokenRefused("Only the holder of a grant may get a token for it.")
    # Lock, then read in a statement of its own: under READ COMMITTED each statement sees what
    # committed before it began, so a revocation that committed while we waited for the lock is
    # seen here (one statement taking the lock and reading the joins would read them as they
    # were before it waited: tests/tokens/test_token_races.py), and a revocation that starts
    # now waits for our commit, so it finds our token.
    _lock_grant(grant.pk)
    state = grant_state(grant.pk)
    now = timezone.now()
    if state is None or state["g_user_id"] != actor.pk:
        raise TokenRefused("Only the holder of a grant may get a token for it.")
    reason = grant_inactive_reason(grant_row_state(state), now)
    if reason:
        raise TokenRefused(reason)
    issued = math.floor(now.timestamp())
    ends = access_ends(
        state["g_valid_until"],
        requires_ethics=state["c_requires_ethics"],
        ethics_expiry=state["r_ethics_expiry"],
    )
    expires = min(issued + int(settings.TESSERA_TOKEN_LIFETIME.total_seconds()),
                  math.floor(ends.timestamp()))  # fmt: skip
    if expires <= issued:
        raise TokenRefused("The grant has expired.")
    holder = state["u_pseudonym"] or pseudonym_for(actor)
    use = keyring.signer()
    jti = keys.new_jti()
    scope = f"dataset:{state['d_accession']}:read"
    claims = {
        "iss": settings.TESSERA_BASE_URL,
        "sub": holder,
        "aud": _audience(),
        "exp": expires,
        "nbf": issued,
        "iat": issued,
        "jti": jti,
        "client_id": PORTAL_CLIENT_ID,
        "scope": scope,
        "dataset": state["d_accession"],
        "grant": grant.pk,
    }
    token = keys.sign(
        claims, private_key=use.private_key, kid=use.kid, alg=use.alg, typ=ACCESS_TOKEN_TYP
    )
    issued_at = datetime.fromtimestamp(issued, tz=UTC)
    expires_at = datetime.fromtimestamp(expires, tz=UTC)
    # The token's row and its ledger event: one statement, one round trip, then the commit.
    events.token_issued(
        grant=grant,
        actor=user_actor(holder),  # the actor is the holder: named without another query
        jti=jti,
        kid=use.kid,
        expires_at=expires_at,
        dataset=state["d_accession"],
        holder=holder,
        change=_record_token(
            jti=jti,
            kind=TokenKind.ACCESS,
            grant_id=grant.pk,
            user_id=grant.user_id,
            kid=use.kid,
            issued_at=issued_at,
            expires_at=expires_at,
        ),
    )
    return AccessToken(
        token=token,
        jti=jti,
        grant_id=grant.pk,
        dataset=state["d_accession"],
        scope=scope,
        issued_at=issued_at,
        expires_at=expires_at,
    )


_RECORD_TOKEN = (
    f"INSERT INTO {IssuedToken._meta.db_table} "  # noqa: S608
    "(jti, kind, grant_id, user_id, kid, issued_at, expires_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


def _record_token(*, jti, kind, grant_id, user_id, kid, issued_at, expires_at) -> tuple[str, list]:
    """The INSERT of an `IssuedToken` row for the issue hot path, as (sql, params) for
    `ledger.append(change=...)`: no ORM compilation per call, nothing read back."""
    ops = connection.ops
    return _RECORD_TOKEN, [
        jti,
        str(kind),
        grant_id,
        user_id,
        kid,
        ops.adapt_datetimefield_value(issued_at),
        ops.adapt_datetimefield_value(expires_at),
    ]
