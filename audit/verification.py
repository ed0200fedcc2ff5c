"""Recomputing the ledger: every entry's hash, the chain, and every signed checkpoint.

One pass over the ledger in seq order (a server-side cursor on PostgreSQL, so memory stays
flat), feeding each entry's leaf hash into a Merkle compact range; whenever the range reaches a
checkpoint's size, its root must equal the checkpoint's. The first problem found, in ledger
order, is reported with its position.

Merkle leaves: leaf i is RFC 9162's SHA-256(0x00 || the 32 raw bytes of entry i's hash), so a
tree, a proof or a checkpoint can be built from the `hash` column alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from django.conf import settings
from django.db import connection, transaction

from . import merkle, signing
from .canonical import GENESIS_HASH, encode, format_time
from .ledger import flush
from .models import AuditEvent, Checkpoint

FETCH = 20_000
_LEDGER = AuditEvent._meta.db_table
_COLUMNS = (
    "seq, {time}, event_type, actor_id, actor_kind, target_type, target_id, payload, "
    "request_id, client_addr, prev_hash, hash"
)
_PG_TIME = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


@dataclass
class Problem:
    position: int
    what: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.what}"


@dataclass
class Report:
    events: int
    checkpoints: int
    seconds: float
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem:
            return f"audit ledger BROKEN at {self.problem}"
        rate = self.events / self.seconds if self.seconds else 0.0
        return (
            f"audit ledger OK: {self.events} events, {self.checkpoints} checkpoints verified "
            f"in {self.seconds:.2f} s ({rate:,.0f} events/s)"
        )


def leaf_for(entry_hash_hex: str) -> bytes:
    return merkle.leaf_hash(bytes.fromhex(entry_hash_hex))


def trusted_public_keys() -> dict[str, object]:
    """key id -> public key: the current signing key plus any retired ones still trusted."""
    keys = {signing.key_id(): signing.signing_key().public_key}
    for text in getattr(settings, "AUDIT_PREVIOUS_PUBLIC_KEYS", []):
        keys[signing.key_id(text)] = signing.load_public_key(text)
    return keys


def checkpoint_problem(checkpoint: Checkpoint, keys: dict[str, object]) -> str | None:
    """Why a stored checkpoint cannot be trusted (signature, body, fields), or None."""
    body = checkpoint.body.encode("utf-8")
    try:
        size, root, issued_at = signing.parse_checkpoint_body(body)
    except ValueError as exc:
        return f"checkpoint {checkpoint.tree_size}: body unreadable ({exc})"
    if (size, root.hex(), issued_at) != (
        checkpoint.tree_size,
        checkpoint.root_hash,
        checkpoint.issued_at,
    ):
        return f"checkpoint {checkpoint.tree_size}: stored fields differ from the signed body"
    key = keys.get(checkpoint.key_id)
    if key is None:
        return f"checkpoint {checkpoint.tree_size}: signed by unknown key {checkpoint.key_id}"
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except (binascii.Error, ValueError):
        return f"checkpoint {checkpoint.tree_size}: signature is not base64"
    if not signing.verify(body, signature, key):
        return f"checkpoint {checkpoint.tree_size}: signature does not verify"
    return None


def verify_ledger(*, flush_first: bool = True) -> Report:
    """Verify the whole ledger and every checkpoint; stops at the first problem."""
    started = time.perf_counter()
    if flush_first:
        flush()
    with transaction.atomic():
        # Checkpoints first: the event cursor opened afterwards sees every event they cover.
        checkpoints = list(Checkpoint.objects.order_by("tree_size"))
        keys = trusted_public_keys()
        result = scan(
            _rows(start=0),
            start=0,
            prev_hash=GENESIS_HASH,
            compact=merkle.CompactRange(),
            checkpoints=checkpoints,
            keys=keys,
        )
    events, problem = result
    return Report(
        events=events,
        checkpoints=len(checkpoints),
        seconds=time.perf_counter() - started,
        problem=problem,
    )


def _rows(*, start: int, stop: int | None = None) -> Iterator[list[tuple]]:
    """Batches of ledger rows from `start` (and below `stop`) in seq order; occurred_at is
    already in the canonical text form."""
    postgres = connection.vendor == "postgresql"
    columns = _COLUMNS.format(time=_PG_TIME if postgres else "occurred_at")
    where = "seq >= %s" + ("" if stop is None else " AND seq < %s")
    params = [start] if stop is None else [start, stop]
    cursor = connection.chunked_cursor() if postgres else connection.cursor()
    with cursor:
        cursor.execute(f"SELECT {columns} FROM {_LEDGER} WHERE {where} ORDER BY seq", params)  # noqa: S608
        while batch := cursor.fetchmany(FETCH):
            yield batch if postgres else [_sqlite_row(row) for row in batch]


def _sqlite_row(row: tuple) -> tuple:
    # Django keeps aware datetimes in SQLite as naive UTC ("YYYY-MM-DD HH:MM:SS[.ffffff]") and
    # its sqlite3 converter hands them back as naive datetimes.
    when = row[1]
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (row[0], format_time(when), *row[2:])


def _reference_hash(entry: dict, payload) -> str:
    if isinstance(payload, str):
        # orjson reads integers beyond 64 bits as floats; the stdlib keeps them exact.
        entry = {**entry, "payload": json.loads(payload)}
    return hashlib.sha256(encode(entry)).hexdigest()


def scan(
    batches: Iterable[list[tuple]],
    *,
    start: int,
    prev_hash: str,
    compact: merkle.CompactRange,
    checkpoints: list[Checkpoint],
    keys: dict[str, object],
) -> tuple[int, Problem | None]:
    """Check rows from seq `start` onward; return (position reached, first problem or None).

    `compact` must hold the tree of events [0, start); checkpoints of size <= start are skipped.
    """
    pending = [c for c in checkpoints if c.tree_size > start]
    bad = {c.tree_size: checkpoint_problem(c, keys) for c in pending}
    cursor_cp = 0
    next_cp = pending[0].tree_size if pending else -1

    def check_checkpoint(position: int, leaves: list[bytes]) -> Problem | None:
        nonlocal cursor_cp, next_cp
        compact.extend(leaves)
        leaves.clear()
        checkpoint = pending[cursor_cp]
        cursor_cp += 1
        next_cp = pending[cursor_cp].tree_size if cursor_cp < len(pending) else -1
        if bad[checkpoint.tree_size]:
            return Problem(position, bad[checkpoint.tree_size])
        if compact.root().hex() != checkpoint.root_hash:
            return Problem(
                position,
                f"checkpoint {checkpoint.tree_size}: signed root does not match events "
                f"0..{checkpoint.tree_size - 1} (an event before it was changed, inserted, "
                f"removed or rewritten)",
            )
        return None

    expected = start
    prev = prev_hash
    leaves: list[bytes] = []
    if next_cp == expected and (problem := check_checkpoint(expected, leaves)):
        return expected, problem
    loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
    sha256, fromhex = hashlib.sha256, bytes.fromhex
    for batch in batches:
        for row in batch:
            (seq, when, etype, actor_id, actor_kind, ttype, tid, payload, rid, addr, ph, h) = row
            if seq != expected:
                what = (
                    f"event {expected} is missing (the next event has seq {seq})"
                    if seq > expected
                    else f"event {seq} appears again or out of order after {expected - 1}"
                )
                return expected, Problem(expected, what)
            if ph != prev:
                return expected, Problem(
                    expected,
                    f"event {seq}: prev_hash does not match the hash of event {seq - 1} "
                    f"(events removed, inserted or reordered)",
                )
            entry = {
                "actor_id": actor_id,
                "actor_kind": actor_kind,
                "client_addr": addr,
                "event_type": etype,
                "occurred_at": when,
                "payload": loads(payload) if isinstance(payload, str) else payload,
                "prev_hash": ph,
                "request_id": rid,
                "seq": seq,
                "target_id": tid,
                "target_type": ttype,
            }
            try:
                digest = sha256(dumps(entry, option=sort_keys)).hexdigest()
            except TypeError:
                digest = ""
            # orjson is proven byte-identical for our payloads; the reference encoder decides
            # whenever it is not (or the entry really was changed).
            if digest != h and _reference_hash(entry, payload) != h:
                return expected, Problem(
                    expected,
                    f"event {seq}: content does not match its hash (changed after it was "
                    f"written: type, actor, target, time, payload, request or address)",
                )
            leaves.append(sha256(b"\x00" + fromhex(h)).digest())
            prev = h
            expected += 1
            if expected == next_cp and (problem := check_checkpoint(expected, leaves)):
                return expected, problem
    compact.extend(leaves)
    if next_cp != -1:
        return expected, Problem(
            expected,
            f"checkpoint {next_cp} covers events up to {next_cp - 1}, but the ledger ends at "
            f"{expected - 1} (newest events removed)",
        )
    return expected, None
