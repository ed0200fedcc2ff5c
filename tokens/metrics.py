"""Grants, tokens, visas, introspection and signing keys: figures for `/metrics` and `/readyz`
(registered in `TokensConfig.ready()`).

Grants active: the grants inside their validity window and not revoked, read in one query with
every fact the one rule needs (the query the token hot path
reads, `grant_state_rows`), then judged by that rule (`access.lifecycle.grant_inactive_reason`): a suspended
holder, a retired dataset, a lapsed ethics approval or an unaccepted agreement count as
inactive here as they do for a token. The query returns the grants in force, not the history.

Introspections are counted by the process as they are answered
(`tessera_token_introspections_total`), by result: `active`, or the short reason code the
ledger records (from a fixed list; anything else is `other`). The ledger has every call, but
counting it at each scrape would cost a scan of the biggest table.

Three queries per scrape.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from access.lifecycle import grant_inactive_reason
from access.models import Grant

from . import keyring
from .choices import TokenKind
from .issue import grant_row_state, grant_state_rows
from .models import IssuedToken

EXPIRING_DAYS = 30

# The reasons `tokens.introspection` gives the ledger (`keys.InvalidToken` codes and
# `_token_reason`'s), the labels of the introspection counter.
INTROSPECTION_RESULTS = frozenset(
    {
        "active",
        "malformed",
        "header",
        "alg",
        "typ",
        "kid",
        "signature",
        "expired",
        "not_yet_valid",
        "iss",
        "aud",
        "claims",
        "unknown_jti",
        "kind",
        "key_dropped",
        "revoked",
        "grant_inactive",
        "unauthenticated",
        "forbidden",
    }
)

introspections = Counter(
    "tessera_token_introspections",
    "Token introspections answered (RFC 7662), by result: active, or why not.",
    ["result"],
)


def introspection_counted(reason: str) -> None:
    """Count one introspection whose ledger reason is `reason` ("" when active)."""
    result = reason.split(":", 1)[0] if reason else "active"
    introspections.labels(result if result in INTROSPECTION_RESULTS else "other").inc()


def _grants_in_force(now):
    in_force = Grant.objects.filter(
        revoked_at__isnull=True, valid_from__lte=now, valid_until__gt=now
    ).annotate(committee=F("decision__review__committee__slug"))
    return grant_state_rows(in_force, "committee")


class TokensCollector:
    """The figures of grants, tokens, visas and signing keys, read at scrape time."""

    def collect(self):
        now = timezone.now()
        soon = now + timedelta(days=EXPIRING_DAYS)
        active: dict[str, int] = {}
        expiring: dict[str, int] = {}
        for row in _grants_in_force(now):
            slug = row["committee"]
            active.setdefault(slug, 0)
            expiring.setdefault(slug, 0)
            if grant_inactive_reason(grant_row_state(row), now) is None:
                active[slug] += 1
                expiring[slug] += row["g_valid_until"] <= soon
        active_family = GaugeMetricFamily(
            "tessera_grants_active", "Grants active now, by committee.", labels=["committee"]
        )
        expiring_family = GaugeMetricFamily(
            "tessera_grants_expiring",
            f"Active grants that end within {EXPIRING_DAYS} days, by committee.",
            labels=["committee"],
        )
        for slug in sorted(active):
            active_family.add_metric([slug], active[slug])
            expiring_family.add_metric([slug], expiring[slug])
        yield active_family
        yield expiring_family

        issued = dict(IssuedToken.objects.values_list("kind").order_by().annotate(n=Count("pk")))
        yield CounterMetricFamily(
            "tessera_tokens_issued",
            "Access tokens signed for the storage tier.",
            value=issued.get(TokenKind.ACCESS, 0),
        )
        yield CounterMetricFamily(
            "tessera_visas_issued",
            "GA4GH visas signed.",
            value=issued.get(TokenKind.VISA, 0),
        )

        age = keyring.active_key_age(now)
        if age is not None:
            yield GaugeMetricFamily(
                "tessera_signing_key_age_seconds",
                "Seconds since the active token signing key began to sign.",
                value=age.total_seconds(),
            )
        yield GaugeMetricFamily(
            "tessera_signing_key_active",
            "1 when there is an active token signing key, else 0.",
            value=int(age is not None),
        )


def signing_key_problem() -> str | None:
    """Readiness: the active signing key exists, has the configured algorithm and decrypts
    with the configured key-encryption key (without making one, even in DEBUG)."""
    return keyring.signer_problem()


def signing_key_overdue() -> str | None:
    """Readiness warning: the active signing key is past TESSERA_KEY_ROTATION_DAYS (the age
    `tessera_signing_key_age_seconds` shows and the TesseraSigningKeyTooOld alert watches)."""
    return keyring.rotation_overdue()
