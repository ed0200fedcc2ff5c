"""The canonical encoding of a ledger entry, shared by the writer, `audit_verify` and exports.

An entry's hash is SHA-256 over the UTF-8 bytes of this JSON object:

    {"actor_id", "actor_kind", "client_addr", "event_type", "occurred_at", "payload",
     "prev_hash", "request_id", "seq", "target_id", "target_type"}

serialised with keys sorted at every level, no whitespace (separators "," and ":"),
non-ASCII characters kept as UTF-8 (ensure_ascii=False). `occurred_at` is ISO 8601 in UTC
with microseconds and a "Z" suffix ("2026-11-27T10:00:00.123456Z"); `seq` is an integer;
`prev_hash` is the previous entry's hash as 64 lowercase hex digits, and for seq 0 it is
64 zeros. Anything outside this module that reimplements it (docs/audit-ledger.md) must agree.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "actor_id",
    "actor_kind",
    "client_addr",
    "event_type",
    "occurred_at",
    "payload",
    "prev_hash",
    "request_id",
    "seq",
    "target_id",
    "target_type",
)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode(entry: dict[str, Any]) -> bytes:
    fields = {name: entry[name] for name in HASHED_FIELDS}
    if isinstance(fields["occurred_at"], datetime):
        fields["occurred_at"] = format_time(fields["occurred_at"])
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(encode(entry)).hexdigest()
