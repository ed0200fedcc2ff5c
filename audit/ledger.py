"""Appending to the ledger: writers queue events, one sequencer at a time chains them.

Writing and chaining are separated so that business transactions never wait for each other:

1. `append()` inserts the event into `PendingEvent` inside the caller's transaction, with no
   global lock. It commits or rolls back with the change it records; if the insert fails, the
   caller's transaction fails.
2. `sequence()` takes the ledger lock (PostgreSQL: a transaction-level advisory lock; SQLite:
   the database's single write lock), reads the newest ledger entry, reads committed pending
   rows in id order, chains them (seq, prev_hash, hash), inserts them into `AuditEvent` and
   deletes them from `PendingEvent`, all in one transaction. A crash at any point rolls the whole
   batch back; the pending rows stay and the next batch picks them up. `UNIQUE(seq)`,
   `UNIQUE(hash)` and `UNIQUE(pending_id)` turn any bug that would fork the chain or chain an
   event twice into a failed batch instead.

When `sequence()` runs depends on `settings.AUDIT_SEQUENCING`:

- "inline": at the end of `append()`, in the caller's transaction. The ledger is complete at
  every commit; writers serialise on the lock until they commit. The default on SQLite (whose
  write lock serialises writers anyway) and whenever Celery runs eagerly (development, tests).
- "batched": by the `audit_sequencer` management command (a loop), by the `audit.sequence`
  Celery beat task as a fallback, and by `flush()`, which every reader that needs a complete
  ledger (verify, export, checkpoint, the auditor API) calls first. Between its commit and the
  next batch an event is durable but has no seq yet: that window is the sequencer's poll
  interval plus one batch (milliseconds with the command running, `AUDIT_SEQUENCE_SECONDS` with
  only the beat task). The default on PostgreSQL with a real broker.

Order: within one transaction events are chained in the order they were appended; an event
whose transaction committed before another transaction began gets the lower seq (pending ids
come from a sequence, and a batch sees every row committed before it started). Events of
transactions that overlapped may be chained in either order.
"""

from __future__ import annotations

import contextvars
import json
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from core import context
from core.db import server_cursor

from .actors import Actor, actor_for, client_actor_id
from .canonical import GENESIS_HASH, entry_hash, payload_text, time_reader
from .choices import EventType
from .models import AuditEvent, PendingEvent
from .triggers import EVENT_COLUMNS

# Arbitrary but fixed key for pg_advisory_xact_lock: "TSRA" as an int.
LEDGER_LOCK_KEY = 0x54535241
BATCH_SIZE = 5000
INLINE = "inline"
BATCHED = "batched"

_EVENT_TYPES = frozenset(EventType.values)
_PENDING = PendingEvent._meta.db_table
_LEDGER = AuditEvent._meta.db_table
# The rows of the `buffered()` block open in this thread (or task), if any.
_buffer: contextvars.ContextVar[list[tuple] | None] = contextvars.ContextVar(
    "tessera_ledger_buffer", default=None
)
_COPIED = EVENT_COLUMNS


def mode() -> str:
    value = getattr(settings, "AUDIT_SEQUENCING", INLINE)
    if value not in (INLINE, BATCHED):
        raise ValueError(f"AUDIT_SEQUENCING must be {INLINE!r} or {BATCHED!r}, not {value!r}")
    return value


def lock_ledger() -> None:
    """Serialise chaining until the current transaction ends (PostgreSQL advisory lock; on
    SQLite the transaction already holds the database's write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK_KEY])


def append(
    *,
    event_type: str,
    actor: Any = None,
    target_type: str = "",
    target_id: str | int = "",
    payload: dict[str, Any] | None = None,
    change: tuple[str, list] | None = None,
) -> AuditEvent | PendingEvent | None:
    """Append one event in the current transaction.

    Returns the chained `AuditEvent` in "inline" mode, the queued `PendingEvent` in "batched"
    mode (its seq is assigned by the sequencer after commit), None inside `buffered()`.

    `change`, an (sql, params) pair for the data-modifying statement the event records (an
    INSERT or UPDATE without RETURNING), runs in the same SQL statement as the event's INSERT
    on PostgreSQL (`WITH change AS (...) INSERT ...`): one round trip for a hot path's change
    and its event, which commit or fail together. Elsewhere, and inside `buffered()`, it runs
    just before the event is appended.

    The one place the ledger runs a statement it does not own, kept on purpose for token issue
    (`tokens.issue`): running the token's INSERT and the event's as two statements cost 10-20%
    of token issue on PostgreSQL (bench/token_issue.py, issue 11's note: 1 process / bare commit
    0.40, 0.39 against 0.34, 0.37; no-flush diagnostic 504, 525 against 405, 375 tokens/s). The
    caller builds the statement; the ledger only places it in front of its own INSERT.
    """
    if str(event_type) not in _EVENT_TYPES:
        raise ValueError(f"unknown audit event type {event_type!r}: add it to EventType")
    who: Actor = actor_for(actor)
    ctx = context.current()
    oauth_client = (
        client_actor_id(ctx.oauth_application_id) if ctx.oauth_application_id is not None else ""
    )
    if oauth_client and oauth_client != who.id:
        # An action taken with an OAuth token: the client beside the person, in every event.
        payload = {**(payload or {}), "oauth_client": oauth_client}
    # The canonical text, once: what is stored is byte for byte what the sequencer hashes, and
    # a payload JSON cannot hold (NaN, a set) fails here, in the caller's transaction.
    text = payload_text(payload or {})
    conn = connections[DEFAULT_DB_ALIAS]  # one lookup: this runs for every event
    now = timezone.now()
    values = (
        conn.ops.adapt_datetimefield_value(now),
        str(event_type),
        who.id,
        str(who.kind),
        target_type,
        str(target_id),
        text,
        ctx.request_id,
        ctx.client_addr,
    )
    rows = _buffer.get()
    if rows is not None:
        if change is not None:
            with server_cursor() as cursor:
                cursor.execute(*change)
        rows.append(values)
        return None
    batched = mode() == BATCHED
    if batched and not conn.in_atomic_block and (change is None or conn.vendor == "postgresql"):
        # Outside any transaction (introspection's hot path): the INSERT, with its change, is
        # one statement that commits by itself, durably, in one round trip.
        return _queued(_insert_pending(values, change), values, payload, now)
    # No savepoint: it would cost two more round trips per event, and a failed append must fail
    # the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        pending_id = _insert_pending(values, change)
        if batched:
            return _queued(pending_id, values, payload, now)
        _sequence_locked(limit=None)
        return AuditEvent.objects.get(pending_id=pending_id)


@contextmanager
def buffered():
    """Write every event appended inside the block with one INSERT when the block ends.

    For transactions that append many events (a sweep, a bulk revocation, a load of writers):
    one round trip to the database instead of one per event. The block is (or joins) a
    transaction: the events are written inside it, before it commits, and vanish with it if it
    fails (a nested block rolls back to its savepoint). Inside the block `append()` returns
    None, and the new events are not yet visible to queries. Nested blocks join the outermost
    one.
    """
    if _buffer.get() is not None:
        yield
        return
    # A savepoint when nested (two statements for the whole block), so that a failed block
    # leaves the enclosing transaction usable, like any `atomic()` block.
    with transaction.atomic():
        rows: list[tuple] = []
        token = _buffer.set(rows)
        try:
            yield
        finally:
            _buffer.reset(token)
        if rows:
            _insert_many(rows)
            if mode() == INLINE:
                _sequence_locked(limit=None)


def _queued(pending_id: int, values: tuple, payload: dict | None, now) -> PendingEvent:
    # Positional: Model.__init__'s fast path (the fields' order is id, then _COPIED).
    pending = PendingEvent(pending_id, *values)
    pending.occurred_at = now  # values hold it adapted for the database (text on SQLite)
    pending.payload = payload or {}
    pending._state.adding = False
    pending._state.db = connection.alias
    return pending


# The hot path of every business transaction: one INSERT per event, written as SQL rather than
# through Model.save() (whose query compilation cost more than the insert itself), and on
# PostgreSQL executed as a prepared statement (parsed and planned once per connection).
_INSERT_ONE = (
    f"INSERT INTO {_PENDING} ({', '.join(_COPIED)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_COPIED))})"
)
# PostgreSQL: one statement for any number of rows (arrays, one per column), ids in row order.
# The arrays travel in binary (%b): psycopg's text format escapes each element with regular
# expressions, which cost more than the insert.
_INSERT_ARRAYS = (
    f"INSERT INTO {_PENDING} ({', '.join(_COPIED)}) "  # noqa: S608
    f"SELECT {', '.join(_COPIED)} FROM unnest(%b::timestamptz[], "
    f"{', '.join(['%b::text[]'] * (len(_COPIED) - 1))}) "
    f"WITH ORDINALITY AS r({', '.join(_COPIED)}, n) ORDER BY n"
)


def _insert_pending(values: tuple, change: tuple[str, list] | None = None) -> int:
    with server_cursor() as cursor:
        if change is None:
            cursor.execute(_INSERT_ONE + " RETURNING id", values)
        elif connection.vendor == "postgresql":
            # A data-modifying WITH runs exactly once, referenced or not, in the same snapshot.
            sql, params = change
            cursor.execute(f"WITH change AS ({sql}) {_INSERT_ONE} RETURNING id", [*params, *values])
        else:
            cursor.execute(*change)
            cursor.execute(_INSERT_ONE + " RETURNING id", values)
        return cursor.fetchone()[0]


def _insert_many(rows: list[tuple]) -> None:
    with server_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_INSERT_ARRAYS, [list(column) for column in zip(*rows, strict=True)])
        else:
            cursor.executemany(_INSERT_ONE, rows)
        written = cursor.rowcount
    if written != len(rows):
        raise RuntimeError(f"audit: wrote {written} of {len(rows)} buffered events")


def sequence(*, limit: int = BATCH_SIZE) -> int:
    """Chain up to `limit` committed pending events into the ledger; return how many."""
    with transaction.atomic():
        return _sequence_locked(limit=limit)


def flush() -> int:
    """Chain every pending event committed so far; return how many were chained.

    Readers that need a complete ledger (verify, export, checkpoints, the auditor API) call this
    first. Safe to call from anywhere: it waits for a running sequencer, then finishes its work.
    """
    total = 0
    # Readers call this on every request: when nothing is queued (always, in "inline" mode)
    # it costs one indexed read and takes no lock.
    if not PendingEvent.objects.exists():
        return 0
    while True:
        n = sequence()
        total += n
        if n < BATCH_SIZE:
            return total


def _sequence_locked(*, limit: int | None) -> int:
    lock_ledger()
    rows = _pending(limit)
    if not rows:
        return 0
    last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (0, GENESIS_HASH)
    to_time = time_reader(connection.vendor)
    chained = []  # (pending_id, seq, prev_hash, hash)
    for pending_id, when, etype, actor_id, actor_kind, ttype, tid, rid, addr, payload in rows:
        entry = {
            "occurred_at": to_time(when),
            "event_type": etype,
            "actor_id": actor_id,
            "actor_kind": actor_kind,
            "target_type": ttype,
            "target_id": tid,
            # The reference encoder over the parsed payload: the hash never depends on how
            # the queued text happens to be spelled.
            "payload": json.loads(payload),
            "request_id": rid,
            "client_addr": addr,
        }
        entry["seq"] = seq
        entry["prev_hash"] = prev_hash
        digest = entry_hash(entry)
        chained.append((pending_id, seq, prev_hash, digest))
        seq += 1
        prev_hash = digest
    _move(chained)
    return len(chained)


def _pending(limit: int | None) -> list[tuple]:
    """Committed queued rows in id order: (id, occurred_at, event_type, actor_id, actor_kind,
    target_type, target_id, request_id, client_addr, payload text)."""
    when = "occurred_at::text" if connection.vendor == "postgresql" else "occurred_at"
    sql = (
        f"SELECT id, {when}, event_type, actor_id, actor_kind, target_type, target_id, "  # noqa: S608
        f"request_id, client_addr, payload FROM {_PENDING} ORDER BY id"
    )
    with connection.cursor() as cursor:
        if limit is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql + " LIMIT %s", [limit])
        return cursor.fetchall()


def _move(chained: list[tuple[int, int, str, str]]) -> None:
    """Insert the chained rows into the ledger, copying their content from PendingEvent in SQL
    (so the stored payload is byte for byte the one that was hashed), then delete them from
    PendingEvent. The pending table's delete trigger re-checks that each deleted row is in the
    ledger with the same content."""
    columns = ", ".join(_COPIED)
    copied = ", ".join(f"p.{c}" for c in _COPIED)
    ids = [c[0] for c in chained]
    with server_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {_LEDGER} (seq, prev_hash, hash, pending_id, {columns}) "  # noqa: S608
                f"SELECT c.seq, c.prev_hash, c.hash, p.id, {copied} "
                f"FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::text[]) "
                f"AS c(pending_id, seq, prev_hash, hash) "
                f"JOIN {_PENDING} p ON p.id = c.pending_id",
                [ids, [c[1] for c in chained], [c[2] for c in chained], [c[3] for c in chained]],
            )
            inserted = cursor.rowcount
            cursor.execute(f"DELETE FROM {_PENDING} WHERE id = ANY(%b)", [ids])  # noqa: S608
            deleted = cursor.rowcount
        else:
            inserted = 0
            for pending_id, seq, prev_hash, digest in chained:
                cursor.execute(
                    f"INSERT INTO {_LEDGER} (seq, prev_hash, hash, pending_id, {columns}) "  # noqa: S608
                    f"SELECT %s, %s, %s, p.id, {copied} FROM {_PENDING} p WHERE p.id = %s",
                    [seq, prev_hash, digest, pending_id],
                )
                inserted += cursor.rowcount
            deleted = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {_PENDING} WHERE id IN ({marks})", chunk)  # noqa: S608
                deleted += cursor.rowcount
    if inserted != len(chained) or deleted != len(chained):
        # Only possible if the pending table changed under the lock: refuse the whole batch.
        raise RuntimeError(
            f"audit sequencer: chained {len(chained)}, inserted {inserted}, deleted {deleted}"
        )
