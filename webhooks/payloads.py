"""What each webhook says: the ledger event it follows, and its body. Identifiers, accessions,
pseudonymous subjects (the pseudonym access tokens name, `audit.actors.pseudonym_for`) and
times; never a name, an e-mail address or a free-text reason (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson

from audit.actors import pseudonym_for
from audit.choices import EventType

from .choices import WebhookEvent


def _time(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _grant(grant, _ledger: dict) -> dict[str, Any]:
    return {
        "grant": grant.pk,
        "dataset": grant.dataset.accession,
        "subject": pseudonym_for(grant.user),
        "request": grant.request.reference,
        "decision": grant.decision_id,
        "valid_from": _time(grant.valid_from),
        "valid_until": _time(grant.valid_until),
    }


def _grant_extended(grant, ledger: dict) -> dict[str, Any]:
    return {
        **_grant(grant, ledger),
        "previous_valid_until": ledger["old_valid_until"],
        "renewal_decision": ledger["decision"],
    }


def _grant_revoked(grant, ledger: dict) -> dict[str, Any]:
    return {**_grant(grant, ledger), "revoked_at": _time(grant.revoked_at)}


def _request_decided(review, ledger: dict) -> dict[str, Any]:
    access_request = review.request
    return {
        "request": access_request.reference,
        "subject": pseudonym_for(access_request.applicant),
        "committee": review.committee.slug,
        "decision": ledger["decision"],
        "outcome": ledger["outcome"],
        "round": ledger["round"],
        "end_date": ledger["end_date"],
        "datasets": ledger["datasets"],
        "automatic": ledger["automatic"],
    }


def _dataset_retired(dataset, _ledger: dict) -> dict[str, Any]:
    return {"dataset": dataset.accession, "retired_at": _time(dataset.retired_at)}


def _key_rotated(_obj, ledger: dict) -> dict[str, Any]:
    return {
        "activated": ledger.get("activated"),
        "retired": ledger.get("retired"),
        "published": ledger.get("published"),
        "dropped": ledger.get("dropped", []),
        "compromised": ledger.get("kid"),
    }


Builder = Callable[[Any, dict], dict[str, Any]]

# The ledger event each webhook follows (the one hook point, `audit.recorded.event_recorded`).
# A compromised key is a rotation too: a new key signs, the old one is gone from the JWKS.
SOURCES: dict[EventType, tuple[WebhookEvent, Builder]] = {
    EventType.GRANT_CREATED: (WebhookEvent.GRANT_CREATED, _grant),
    EventType.GRANT_EXTENDED: (WebhookEvent.GRANT_EXTENDED, _grant_extended),
    EventType.GRANT_REVOKED: (WebhookEvent.GRANT_REVOKED, _grant_revoked),
    EventType.GRANT_EXPIRED: (WebhookEvent.GRANT_EXPIRED, _grant),
    EventType.DECISION_RECORDED: (WebhookEvent.REQUEST_DECIDED, _request_decided),
    EventType.DATASET_RETIRED: (WebhookEvent.DATASET_RETIRED, _dataset_retired),
    EventType.KEY_ROTATED: (WebhookEvent.KEY_ROTATED, _key_rotated),
    EventType.KEY_COMPROMISED: (WebhookEvent.KEY_ROTATED, _key_rotated),
}


def body_for(*, event: WebhookEvent, data: dict[str, Any], at: datetime) -> str:
    """The JSON body Standard Webhooks suggests: the type, when it happened, and its data."""
    return orjson.dumps({"type": str(event), "timestamp": at.isoformat(), "data": data}).decode()
