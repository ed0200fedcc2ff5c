"""Revocation: the sweeps that revoke tokens and visas when their grant, dataset, holder or
signing key goes, and the revocation feed that offline verifiers poll.

Every sweep takes the row locks of the grants it sweeps (`lock_grants`, in primary-key order)
before it reads their tokens; issuing takes its grant's lock too (`tokens.issue`), so no token
escapes a sweep. Feed cursors are assigned under a lock held until commit, so readers see them
appear in increasing order. This module imports neither the keyring nor the issuers:
`tokens.keyring` calls `tokens_revoke_for_key` when a key is compromised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from access.models import Grant
from audit import events, ledger

from .choices import RevocationCause
from .models import IssuedToken, TokenRevocation

FEED_PAGE_MAX = 1000
# Arbitrary but fixed pg_advisory_xact_lock key for revocation-feed cursors: "TSRF".
FEED_LOCK_KEY = 0x54535246


def lock_grants(**filters) -> list[int]:
    # Row locks, in primary-key order (every sweep takes them in the same order: no deadlock).
    return list(
        Grant.objects.select_for_update()
        .filter(**filters)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- revocation -------------------------------------------------------------------------------
def _lock_feed() -> None:
    # Cursors must become visible in increasing order (a poller that saw cursor n must never
    # later find a smaller one): assign them under a lock held until commit. SQLite's write
    # lock already serialises writers. Revocations are rare; nothing else takes this lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK_KEY])


def tokens_revoke_for_grants(grant_ids: list[int], *, cause: str, actor, now: datetime) -> int:
    """Revoke the unexpired tokens and visas of these grants, locked by `lock_grants` in the
    caller's transaction; list them in the feed."""
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
    ids = lock_grants(pk=grant.pk)
    return tokens_revoke_for_grants(
        ids, cause=cause, actor=actor or getattr(grant, "revoked_by", None), now=timezone.now()
    )


@transaction.atomic
def tokens_revoke_for_dataset(*, dataset, actor) -> int:
    """Called by `dataset_retire`, in its transaction."""
    ids = lock_grants(dataset=dataset)
    return tokens_revoke_for_grants(
        ids, cause=RevocationCause.DATASET_RETIRED, actor=actor, now=timezone.now()
    )


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
