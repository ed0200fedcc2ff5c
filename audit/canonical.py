"""The canonical encoding of a ledger entry, shared by the sequencer, `audit_verify` and exports.

An entry's hash is SHA-256 over the UTF-8 bytes of this JSON object:

    {"actor_id", "actor_kind", "client_addr", "event_type", "occurred_at", "payload",
     "prev_hash", "request_id", "seq", "target_id", "target_type"}

serialised with keys sorted at every level, no whitespace (separators "," and ":"),
non-ASCII characters kept as UTF-8 (ensure_ascii=False); this is exactly Python's
`json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
`occurred_at` is ISO 8601 in UTC with microseconds and a "Z" suffix
("2026-11-27T10:00:00.123456Z"); `seq` is an integer; `prev_hash` is the previous entry's hash
as 64 lowercase hex digits, and for seq 0 it is 64 zeros. The payload is the JSON value as the
database returns it (the sequencer hashes what it read back, so a float's spelling is the one
the database keeps). Anything outside this module that reimplements it (docs/audit-ledger.md,
docs/verify_export.py) must agree.

`encode` is the reference. `encode_fast` uses orjson, whose output tests/audit/test_canonical.py
proves byte-identical for payloads without floats (strings, integers, booleans, null, lists,
objects: everything our event helpers write). orjson spells some floats differently
("0.00001" where the reference writes "1e-05"), so `audit_verify` checks the fast hash first
and re-encodes with `encode` only when it does not match.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection

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


def _fields(entry: dict[str, Any]) -> dict[str, Any]:
    fields = {name: entry[name] for name in HASHED_FIELDS}
    if isinstance(fields["occurred_at"], datetime):
        fields["occurred_at"] = format_time(fields["occurred_at"])
    return fields


def encode(entry: dict[str, Any]) -> bytes:
    """The reference canonical encoding (stdlib json)."""
    return json.dumps(
        _fields(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def encode_fast(entry: dict[str, Any]) -> bytes:
    """The same bytes as `encode` for float-free payloads, through orjson (several times
    faster); `encode` if orjson cannot represent a value (integers beyond 64 bits)."""
    try:
        return orjson.dumps(_fields(entry), option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return encode(entry)


def payload_text(payload: Any) -> str:
    """A payload's canonical JSON text: how the ledger stores it, byte for byte what is hashed."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(encode(entry)).hexdigest()


def time_reader(vendor: str | None = None):
    """A function from the raw occurred_at column (as `audit.verification._rows` and the
    sequencer read it) to its canonical text, for the given database vendor."""
    if vendor is None:
        vendor = connection.vendor
    return _pg_time if vendor == "postgresql" else _sqlite_time


def _pg_time(text: str) -> str:
    # timestamptz's own text output (much cheaper than to_char on the server) in the session
    # time zone, which Django sets to UTC: "2026-11-27 10:00:00.1234+00"; trailing zeros of
    # the fraction are dropped, and the whole fraction when it is zero.
    if text[-3:] != "+00":
        raise ValueError(f"ledger times must be read in UTC, got {text!r}")
    return f"{text[:10]}T{text[11:19]}.{text[20:-3]:0<6}Z"


def _sqlite_time(when) -> str:
    # Django keeps aware datetimes in SQLite as naive UTC text, and its sqlite3 converter
    # hands them back as naive datetimes.
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return format_time(when)
