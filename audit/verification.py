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
import multiprocessing as mp
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections, transaction

from . import merkle, signing
from .canonical import GENESIS_HASH, encode, time_reader
from .ledger import flush
from .models import AuditEvent, Checkpoint

FETCH = 20_000
PARALLEL_MIN = 200_000
_LEDGER = AuditEvent._meta.db_table
_COLUMNS = (
    "seq, {time}, event_type, actor_id, actor_kind, target_type, target_id, payload, "
    "request_id, client_addr, {prev}hash"
)


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
    """key id -> public key: the current signing key plus any retired ones still trusted.

    ImproperlyConfigured, in one line naming the variable to fix, when one does not load: an
    operator checking the ledger needs that, not a ValueError from deep inside."""
    keys = {signing.key_id(): signing.signing_key().public_key}
    for number, text in enumerate(getattr(settings, "AUDIT_PREVIOUS_PUBLIC_KEYS", []), start=1):
        try:
            keys[signing.key_id(text)] = signing.load_public_key(text)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"AUDIT_PREVIOUS_PUBLIC_KEYS entry {number} is unusable ({exc}): give each "
                "retired key as a PEM public key or the base64 of its raw 32 bytes."
            ) from None
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


def verify_ledger(*, flush_first: bool = True, workers: int | None = None) -> Report:
    """Verify the whole ledger and every checkpoint; stops at the first problem.

    On PostgreSQL, a large ledger (PARALLEL_MIN events or more) outside any transaction is
    hashed by `workers` processes (default: the CPU count, at most 4), each over its own
    seq range and database connection; the Merkle roots are then checked in this process.
    """
    started = time.perf_counter()
    if flush_first:
        flush()
    with transaction.atomic():
        # Checkpoints first: events read afterwards include every event they cover.
        checkpoints = list(Checkpoint.objects.order_by("tree_size"))
        last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    size = 0 if last is None else last + 1
    # The key is only needed when there is a signature to check.
    keys = trusted_public_keys() if checkpoints else {}
    workers = workers or min(os.cpu_count() or 1, 4)
    parallel = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and workers > 1
        and size >= PARALLEL_MIN
    )
    if parallel:
        chain = _chain_in_parallel(size, workers)
    else:
        with transaction.atomic():
            chain = chain_rows(_rows(start=0, with_prev=False), start=0, prev_hash=GENESIS_HASH)
    problem = first_problem(chain, check_checkpoints(chain, checkpoints=checkpoints, keys=keys))
    return Report(
        events=chain.reached,
        checkpoints=len(checkpoints),
        seconds=time.perf_counter() - started,
        problem=problem,
    )


def _chain_in_parallel(size: int, workers: int) -> Chain:
    step = -(-size // workers)
    ranges = [(start, min(start + step, size)) for start in range(0, size, step)]
    # Forked workers must open their own connections.
    connections.close_all()
    with mp.get_context("fork").Pool(len(ranges)) as pool:
        parts = pool.map(_chain_range, ranges)
    leaves: list[bytes] = []
    previous_last = GENESIS_HASH
    for (start, stop), (assumed_prev, blob, part) in zip(ranges, parts, strict=True):
        if assumed_prev != previous_last:
            return Chain(start, previous_last, leaves, _mismatch(start, previous_last))
        leaves.extend(blob[i : i + 32] for i in range(0, len(blob), 32))
        if part.problem:
            return Chain(part.reached, part.last_hash, leaves, part.problem)
        if part.reached != stop:
            missing = Problem(part.reached, f"event {part.reached} is missing")
            return Chain(part.reached, part.last_hash, leaves, missing)
        previous_last = part.last_hash
    return Chain(size, previous_last, leaves, None)


def _chain_range(bounds: tuple[int, int]) -> tuple[str | None, bytes, Chain]:
    start, stop = bounds
    try:
        with transaction.atomic():
            if start == 0:
                prev = GENESIS_HASH
            else:
                prev = (
                    AuditEvent.objects.filter(seq=start - 1).values_list("hash", flat=True).first()
                )
            chain = chain_rows(
                _rows(start=start, stop=stop, with_prev=False),
                start=start,
                prev_hash=prev or "",
            )
    finally:
        connections.close_all()
    blob = b"".join(chain.leaves)
    chain.leaves = []
    return prev, blob, chain


def _rows(*, start: int, stop: int | None = None, with_prev: bool = True) -> Iterator[list[tuple]]:
    """Batches of raw ledger rows from `start` (and below `stop`) in seq order:
    (seq, occurred_at, event_type, actor_id, actor_kind, target_type, target_id, payload,
    request_id, client_addr, [prev_hash,] hash). Pass occurred_at through `time_reader()`."""
    postgres = connection.vendor == "postgresql"
    columns = _COLUMNS.format(
        time="occurred_at::text" if postgres else "occurred_at",
        prev="prev_hash, " if with_prev else "",
    )
    where = "seq >= %s" + ("" if stop is None else " AND seq < %s")
    params = [start] if stop is None else [start, stop]
    cursor = connection.chunked_cursor() if postgres else connection.cursor()
    with cursor:
        cursor.execute(f"SELECT {columns} FROM {_LEDGER} WHERE {where} ORDER BY seq", params)  # noqa: S608
        if not postgres:
            while batch := cursor.fetchmany(FETCH):
                yield batch
            return
        # Fetch the next batch while the caller hashes this one: the server produces rows and
        # Python hashes them at the same time (psycopg waits on the socket without the GIL).
        with ThreadPoolExecutor(max_workers=1) as prefetch:
            upcoming = prefetch.submit(cursor.fetchmany, FETCH)
            while batch := upcoming.result():
                upcoming = prefetch.submit(cursor.fetchmany, FETCH)
                yield batch


def _mismatch(seq: int, expected_prev: str) -> Problem:
    stored_prev = AuditEvent.objects.filter(seq=seq).values_list("prev_hash", flat=True).first()
    if stored_prev != expected_prev:
        return Problem(
            seq,
            f"event {seq}: prev_hash does not match the hash of event {seq - 1} "
            f"(events removed, inserted or reordered)",
        )
    return Problem(
        seq,
        f"event {seq}: content does not match its hash (changed after it was written: "
        f"type, actor, target, time, payload, request or address)",
    )


def _reference_hash(entry: dict, payload) -> str:
    if isinstance(payload, str):
        try:
            entry = {**entry, "payload": json.loads(payload)}
        except ValueError:
            return ""
    return hashlib.sha256(encode(entry)).hexdigest()


@dataclass
class Chain:
    """How far the chain checked out: `reached` events, the last good hash, their leaves."""

    reached: int
    last_hash: str
    leaves: list[bytes]
    problem: Problem | None


def chain_rows(batches: Iterable[list[tuple]], *, start: int, prev_hash: str) -> Chain:
    """Recompute each row's hash and link from seq `start` on; stop at the first problem."""
    expected = start
    prev = prev_hash
    leaves: list[bytes] = []
    fragment, dumps = orjson.Fragment, orjson.dumps
    sha256, fromhex, to_time = hashlib.sha256, bytes.fromhex, time_reader()
    append = leaves.append
    for batch in batches:
        for seq, when, etype, actor_id, actor_kind, ttype, tid, payload, rid, addr, h in batch:
            if seq != expected:
                what = (
                    f"event {expected} is missing (the next event has seq {seq})"
                    if seq > expected
                    else f"event {seq} appears again or out of order after {expected - 1}"
                )
                return Chain(expected, prev, leaves, Problem(expected, what))
            # The hash is recomputed with the previous entry's hash, not the stored prev_hash
            # (one column less to read): a broken link shows up as a mismatch, and `_mismatch`
            # then tells a broken link from changed content.
            # Keys in sorted order already, so orjson needs no OPT_SORT_KEYS (and the payload
            # is a Fragment of its stored canonical text).
            entry = {
                "actor_id": actor_id,
                "actor_kind": actor_kind,
                "client_addr": addr,
                "event_type": etype,
                "occurred_at": to_time(when),
                # Stored as canonical text (CanonicalJSONField): hashed as it is, unparsed.
                "payload": fragment(payload),
                "prev_hash": prev,
                "request_id": rid,
                "seq": seq,
                "target_id": tid,
                "target_type": ttype,
            }
            try:
                raw = fromhex(h)
            except ValueError:  # not even hex: a forged row, reported just below
                raw = b""
            try:
                digest = sha256(dumps(entry)).digest()
            except TypeError:
                digest = b""
            # orjson is proven byte-identical to the reference encoder for the top-level fields;
            # the reference decides whenever they differ (a payload text that is not canonical,
            # or an entry that really was changed).
            if digest != raw and _reference_hash(entry, payload) != h:
                return Chain(expected, prev, leaves, _mismatch(seq, prev))
            append(sha256(b"\x00" + raw).digest())
            prev = h
            expected += 1
    return Chain(expected, prev, leaves, None)


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level of the RFC 9162 tree's perfect subtrees: levels[k][i] is the root of leaves
    [i * 2**k, (i + 1) * 2**k). One pass of hashing serves every checkpoint."""
    sha256 = hashlib.sha256
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [
                sha256(b"\x01" + below[i] + below[i + 1]).digest()
                for i in range(0, len(below) - 1, 2)
            ]
        )
    return levels


def _root_of_prefix(levels: list[list[bytes]], size: int) -> bytes:
    # The perfect subtrees covering leaves [0, size) are one per set bit of size, largest first.
    nodes, position = [], 0
    for k in range(size.bit_length() - 1, -1, -1):
        if size >> k & 1:
            nodes.append(levels[k][position >> k])
            position += 1 << k
    return merkle.CompactRange.from_state(size, nodes).root()


def check_checkpoints(
    chain: Chain,
    *,
    checkpoints: list[Checkpoint],
    keys: dict[str, object],
    start: int = 0,
) -> Problem | None:
    """The first checkpoint (by size) that is forged, or whose root differs from the verified
    leaves, or that covers events the ledger no longer has. `chain.leaves` start at `start`;
    checkpoints of size <= start are not checked here."""
    relevant = [c for c in checkpoints if c.tree_size > start]
    if not relevant:
        return None
    levels = _levels(chain.leaves) if start == 0 else None
    for checkpoint in relevant:
        size = checkpoint.tree_size
        if size > chain.reached:
            if chain.problem:
                return None  # the chain problem comes first
            return Problem(
                chain.reached,
                f"checkpoint {size} covers events up to {size - 1}, but the ledger ends at "
                f"{chain.reached - 1} (newest events removed)",
            )
        if why := checkpoint_problem(checkpoint, keys):
            return Problem(size, why)
        root = _root_of_prefix(levels, size) if levels is not None else None
        if root is not None and root.hex() != checkpoint.root_hash:
            return Problem(
                size,
                f"checkpoint {size}: signed root does not match events 0..{size - 1} (an event "
                f"before it was changed, inserted, removed or rewritten)",
            )
    return None


def first_problem(chain: Chain, checkpoint: Problem | None) -> Problem | None:
    found = [p for p in (chain.problem, checkpoint) if p is not None]
    return min(found, key=lambda p: p.position) if found else None
