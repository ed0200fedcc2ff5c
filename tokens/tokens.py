"""Tokens for the storage tier: access tokens (RFC 9068), GA4GH visas, their revocation, the
revocation feed and introspection (RFC 7662).

Whether a grant is active has one rule, `access.lifecycle.grant_inactive_reason`, over a
`GrantState`. Issuing visas feeds it from the model (`Grant.inactive_reason`); the two hot paths
(issuing an access token, introspecting one) feed it the state read in one query
(`grant_row_state`): the same rule, only the reading differs.

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

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone

from access import selectors
from access.lifecycle import GrantRecord, TransitionRefused, grant_inactive_reason
from access.models import AgreementAcceptance, Decision, Grant, Suspension
from audit import events, ledger
from audit.actors import pseudonym_for, user_actor
from core import db
from core.dates import end_of_day
from core.scopes import INTROSPECTION

from . import keyring, keys
from .choices import KeyState, RevocationCause, TokenKind
from .models import IssuedToken, SigningKey, TokenRevocation
from .prepared import prepared, prepared_pair

log = logging.getLogger(__name__)

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type, not a secret)
VISA_TYP = "vnd.ga4gh.visa+jwt"
# RFC 9068 `client_id`: the client the token was issued to, here Tessera's own portal.
PORTAL_CLIENT_ID = "tessera-portal"
JWKS_PATH = "/.well-known/jwks.json"
FEED_PAGE_MAX = 1000
# Arbitrary but fixed pg_advisory_xact_lock key for revocation-feed cursors: "TSRF".
FEED_LOCK_KEY = 0x54535246


class TokenRefused(PermissionDenied):
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


def _grant_state_query(grant_id):
    return Grant.objects.filter(pk=grant_id).order_by().values(**_state_fields(""))


def _token_state_query(jti):
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


def _access_ends(state_until: datetime, *, requires_ethics: bool, ethics_expiry) -> datetime:
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
    """`_lock_grants(pk=...)` for the issue hot path: one prepared statement."""
    if connection.features.has_select_for_update:
        with db.server_cursor() as cursor:
            cursor.execute(_LOCK_GRANT, [grant_id])


def _lock_grants(**filters) -> list[int]:
    # Row locks, in primary-key order (every sweep takes them in the same order: no deadlock).
    return list(
        Grant.objects.select_for_update()
        .filter(**filters)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


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
    ends = _access_ends(
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


def grant_for_dataset(user, accession: str) -> tuple[Grant | None, str | None]:
    """The user's active grant on a dataset (the one lasting longest), else (None, why not)."""
    grants = list(selectors.grant_list_for_user(user).filter(dataset__accession=accession))
    if not grants:
        return None, f"You have no grant for {accession}."
    now = timezone.now()
    reasons = {g.pk: g.inactive_reason(now) for g in grants}
    active = [g for g in grants if reasons[g.pk] is None]
    if active:
        return max(active, key=lambda g: g.valid_until), None
    newest = max(grants, key=lambda g: g.valid_until)
    return None, f"No active grant for {accession}: {reasons[newest.pk]}"


# --- GA4GH Passport visas ---------------------------------------------------------------------
@transaction.atomic
def visas_issue(*, user, actor) -> list[str]:
    """One ControlledAccessGrants visa (GA4GH Passport v1.2) per active grant of `user`."""
    _lock_grants(user=user)
    now = timezone.now()
    grants = [g for g in selectors.grant_list_for_user(user) if g.inactive_reason(now) is None]
    if not grants:
        return []
    use = keyring.signer()
    issued = math.floor(now.timestamp())
    lifetime = int(settings.TESSERA_VISA_LIFETIME.total_seconds())
    subject = pseudonym_for(user)
    base = settings.TESSERA_BASE_URL
    header = {"jku": f"{base}{JWKS_PATH}"}
    out, rows = [], []
    for grant in sorted(grants, key=lambda g: g.dataset.accession):
        committee = grant.decision.review.committee
        ends = _access_ends(
            grant.valid_until,
            requires_ethics=committee.requires_ethics_approval,
            ethics_expiry=grant.request.ethics_expiry,
        )
        expires = min(issued + lifetime, math.floor(ends.timestamp()))
        if expires <= issued:
            continue
        jti = keys.new_jti()
        claims = {
            "iss": base,
            "sub": subject,
            "iat": issued,
            "exp": expires,
            "jti": jti,
            "ga4gh_visa_v1": {
                "type": "ControlledAccessGrants",
                "asserted": math.floor(grant.decision.decided_at.timestamp()),
                "value": f"{base}{grant.dataset.get_absolute_url()}",
                "source": f"{base}{committee.get_absolute_url()}",
                "by": "dac",
            },
        }
        out.append(
            keys.sign(
                claims,
                private_key=use.private_key,
                kid=use.kid,
                alg=use.alg,
                typ=VISA_TYP,
                extra_header=header,
            )
        )
        expires_at = datetime.fromtimestamp(expires, tz=UTC)
        rows.append(
            IssuedToken(
                jti=jti,
                kind=TokenKind.VISA,
                grant=grant,
                user=user,
                kid=use.kid,
                issued_at=datetime.fromtimestamp(issued, tz=UTC),
                expires_at=expires_at,
            )
        )
        events.visa_issued(
            grant=grant,
            actor=actor,
            jti=jti,
            kid=use.kid,
            expires_at=expires_at,
            dataset=grant.dataset.accession,
            holder=subject,
        )
    IssuedToken.objects.bulk_create(rows)
    return out


# --- revocation -------------------------------------------------------------------------------
def _lock_feed() -> None:
    # Cursors must become visible in increasing order (a poller that saw cursor n must never
    # later find a smaller one): assign them under a lock held until commit. SQLite's write
    # lock already serialises writers. Revocations are rare; nothing else takes this lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK_KEY])


def _sweep(grant_ids: list[int], *, cause: str, actor, now: datetime) -> int:
    """Revoke the unexpired tokens and visas of these (locked) grants; list them in the feed."""
    if not grant_ids:
        return 0
    return _revoke(IssuedToken.objects.filter(grant_id__in=grant_ids), cause, actor, now)


def tokens_revoke_for_key(*, kid: str, actor, now: datetime) -> int:
    """Revoke every unexpired token and visa a (compromised) key signed; list them in the feed.
    Called by `keyring.keys_drop_compromised` in its transaction, which holds the keyring lock."""
    return _revoke(IssuedToken.objects.filter(kid=kid), RevocationCause.KEY_COMPROMISED, actor, now)


def _revoke(candidates, cause: str, actor, now: datetime) -> int:
    tokens = list(
        candidates.filter(revoked_at__isnull=True, expires_at__gt=now)
        .select_related("grant__dataset")
        .order_by("pk")
    )
    if not tokens:
        return 0
    _lock_feed()
    head = TokenRevocation.objects.aggregate(head=Max("cursor"))["head"] or 0
    TokenRevocation.objects.bulk_create(
        TokenRevocation(
            cursor=head + n,
            token=token,
            jti=token.jti,
            expires_at=token.expires_at,
            revoked_at=now,
            cause=cause,
        )
        for n, token in enumerate(tokens, start=1)
    )
    # IssuedToken is not under django-auditlog; the ledger events below name every jti.
    IssuedToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=now)
    by_grant: dict[int, list[IssuedToken]] = {}
    for token in tokens:
        by_grant.setdefault(token.grant_id, []).append(token)
    with ledger.buffered():  # one event per grant, one INSERT for them all
        for grant_tokens in by_grant.values():
            grant = grant_tokens[0].grant
            events.tokens_revoked(
                grant=grant,
                actor=actor,
                cause=cause,
                jtis=[t.jti for t in grant_tokens],
                dataset=grant.dataset.accession,
            )
    return len(tokens)


@transaction.atomic
def tokens_revoke_for_grant(
    *, grant: Grant, actor=None, cause: str = RevocationCause.GRANT_REVOKED
) -> int:
    """Called when a grant is revoked (by its committee, or by the request's withdrawal), in
    that transaction, which holds the grant's lock already."""
    ids = _lock_grants(pk=grant.pk)
    return _sweep(
        ids, cause=cause, actor=actor or getattr(grant, "revoked_by", None), now=timezone.now()
    )


@transaction.atomic
def tokens_revoke_for_dataset(*, dataset, actor) -> int:
    """Called by `dataset_retire`, in its transaction."""
    ids = _lock_grants(dataset=dataset)
    return _sweep(ids, cause=RevocationCause.DATASET_RETIRED, actor=actor, now=timezone.now())


@transaction.atomic
def user_suspend(*, user, actor, reason: str) -> Suspension:
    """Deactivate an account and revoke every token and visa derived from its grants."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the account is suspended."})
    if actor is not None and not (actor.is_superuser or actor.has_perm("auth.change_user")):
        raise PermissionDenied("Only an administrator may suspend an account.")
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied("You cannot suspend your own account.")
    # Lock order, the same as a token being issued: the grants first, then the rest. An issuer
    # holds its grant's lock while its insert takes a key-share lock on the user row and its
    # ledger event waits for the ledger lock (inline sequencing), which any write here may take.
    # The user row is locked FOR NO KEY UPDATE: the key does not change, so issuers' foreign-key
    # checks are not blocked by it.
    ids = _lock_grants(user=user)
    User = get_user_model()
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if not user.is_active:
        raise TransitionRefused("This account is already suspended.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    now = timezone.now()
    suspension = Suspension.objects.create(
        user=user, actor=actor, reason=reason.strip(), suspended_at=now
    )
    revoked = _sweep(ids, cause=RevocationCause.USER_SUSPENDED, actor=actor, now=now)
    # OAuth tokens the person holds (authorisation-code clients) end with the account.
    from oauth2_provider.models import get_access_token_model

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
        raise ValidationError({"reason": "Say why the account is reinstated."})
    if actor is not None and not (actor.is_superuser or actor.has_perm("auth.change_user")):
        raise PermissionDenied("Only an administrator may reinstate an account.")
    User = get_user_model()
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if user.is_active:
        raise TransitionRefused("This account is not suspended.")
    suspension = (
        Suspension.objects.select_for_update()
        .filter(user=user, lifted_at__isnull=True)
        .order_by("-suspended_at")
        .first()
    )
    if suspension is None:
        raise TransitionRefused(
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


# --- the revocation feed (offline verifiers poll it) ------------------------------------------
@dataclass(frozen=True)
class FeedPage:
    entries: list[dict[str, Any]]
    next_cursor: int
    has_more: bool


def revocation_feed(*, since: int, limit: int, now: datetime | None = None) -> FeedPage:
    """Revoked, still-unexpired tokens with a cursor above `since`, in cursor order.

    The head is read first and the page is bounded by it, so a revocation committed between
    the two reads is left for the next poll instead of being skipped by `next_cursor`."""
    now = now or timezone.now()
    limit = max(1, min(limit, FEED_PAGE_MAX))
    head = TokenRevocation.objects.aggregate(head=Max("cursor"))["head"] or 0
    rows = list(
        TokenRevocation.objects.filter(cursor__gt=since, cursor__lte=head, expires_at__gt=now)
        .order_by("cursor")
        .values("cursor", "jti", "expires_at", "revoked_at")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    entries = [
        {
            "cursor": r["cursor"],
            "jti": r["jti"],
            "exp": math.floor(r["expires_at"].timestamp()),
            "revoked_at": math.floor(r["revoked_at"].timestamp()),
        }
        for r in rows
    ]
    next_cursor = rows[-1]["cursor"] if has_more else max(since, head)
    return FeedPage(entries=entries, next_cursor=next_cursor, has_more=has_more)


# --- introspection (RFC 7662) -----------------------------------------------------------------
def token_introspect(*, bearer: str, token: str, scope: str = INTROSPECTION):
    """Authenticate the storage client by its OAuth bearer token and introspect `token` (RFC
    7662): the one implementation of `POST /api/v1/tokens/introspect`, whichever of
    `tokens.introspection` and the DRF view answers it.

    The client's token and the introspected token's state are read in one query. Returns
    (None, None) if the bearer is not a valid client token (401), (client, None) if the client
    lacks `scope` (403), else (client, the answer). The answer is `{"active": false}` for every
    kind of failure, with no hint of which; the ledger records which (for auditors), and its
    event is committed before this returns, so no answer leaves without its record."""
    from .oauth import bearer_checksum, client_for_row, client_token_query

    now = timezone.now()
    claims, reason = _checked_claims(token, now)
    pair = prepared_pair(
        "client_and_token_state",
        (client_token_query, "tessera:checksum-sentinel"),
        (_token_state_query, "tessera:jti-sentinel"),
    )
    checksum = bearer_checksum(bearer) if bearer and len(bearer) <= 512 else ""
    client_row, state = pair.fetch(checksum, claims.get("jti", ""))
    client = client_for_row(client_row, now)
    if client is None:
        return None, None
    if not client.allow_scopes([scope]):
        return client, None
    return client, _introspection_answer(token, client.actor, claims, state, reason, now)


def _checked_claims(token: str, now: datetime) -> tuple[dict[str, Any], str]:
    """(claims, "") for a well-signed token whose claims hold now; else ({}, a reason code for
    the ledger, which then names the token by its SHA-256 rather than a claimed jti)."""
    try:
        claims = _verified_claims(token)
        keys.check_claims(
            claims,
            now=math.floor(now.timestamp()),
            issuer=settings.TESSERA_BASE_URL,
            audiences=settings.TESSERA_TOKEN_AUDIENCE,
        )
    except keys.InvalidToken as exc:
        return {}, exc.code
    return claims, ""


# Signature checks by token text. A token's signature under its kid never changes (kids are
# never reused, keys are immutable), so a verified token stays verified: what can change is
# whether its key was dropped, its times and its grant, and those are checked on every call
# (the key's state comes from the same fresh query as the grant's). Keyed by the pinned
# algorithm too. Bounded: emptied when full.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}


def _verified_claims(token: str) -> dict[str, Any]:
    alg = settings.TESSERA_TOKEN_ALG
    claims = _VERIFIED.get((alg, token))
    if claims is not None:
        return claims
    claims = keys.verify(
        token, alg=alg, typ=ACCESS_TOKEN_TYP, key_for=keyring.public_key_for
    ).claims
    limit = settings.TESSERA_VERIFIED_TOKEN_CACHE
    if limit > 0:
        if len(_VERIFIED) >= limit:
            _VERIFIED.clear()
        _VERIFIED[(alg, token)] = claims
    return claims


def _introspection_answer(token, client, claims, state, reason, now) -> dict[str, Any]:
    jti = claims.get("jti")
    if not reason:
        reason = _token_reason(state, claims, now)
    active = reason == ""
    # Outside a transaction the event's INSERT commits by itself: one round trip, durable
    # before the answer is returned.
    events.token_introspected(
        client=client,
        active=active,
        reason=reason,
        jti=jti,
        token_sha256=None if jti else keys.token_fingerprint(token),
        grant_id=state["grant_id"] if state else None,
        dataset=state["d_accession"] if state else None,
        sub=claims.get("sub") if state else None,
    )
    if not active:
        return {"active": False}
    return {
        "active": True,
        "iss": claims["iss"],
        "sub": claims["sub"],
        "aud": claims["aud"],
        "scope": claims.get("scope"),
        "dataset": claims.get("dataset"),
        "grant": claims.get("grant"),
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "jti": claims["jti"],
        "client_id": claims.get("client_id"),
        "token_type": "Bearer",
    }


def _token_reason(state: dict[str, Any] | None, claims: dict[str, Any], now: datetime) -> str:
    """The empty string when the token is active now; else a short code for the ledger."""
    if state is None:
        return "unknown_jti"
    if state["kind"] != TokenKind.ACCESS:
        return "kind"
    if not state["key_live"]:
        return "key_dropped"
    if state["revoked_at"] is not None:
        return "revoked"
    if claims.get("grant") != state["grant_id"] or claims.get("sub") != state["u_pseudonym"]:
        return "claims"
    grant_reason = grant_inactive_reason(grant_row_state(state), now)
    if grant_reason:
        return f"grant_inactive: {grant_reason}"
    return ""
