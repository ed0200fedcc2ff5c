"""Events that anyone can repeat at will, written to the append-only ledger at a bounded rate.

An outsider hammering a refused URL, or a script guessing passwords, must leave a trace (NEN
7513, ASVS V16) without growing the ledger without bound. For each kind of event and each key
(an actor's pseudonym, a client address), the first `AUDIT_BOUNDED_LIMIT` events in a window of
`AUDIT_BOUNDED_WINDOW_SECONDS` are written as usual; the rest are only counted, and once the
window has closed one `audit.events_suppressed` event says how many were left out. That summary
is written by whichever comes first: the next event of that kind and key (it opens a new window)
or the `audit.tasks.bounded_flush` beat task.

    bounded_record(
        kind=EventType.ACCESS_REFUSED,
        key=actor_and_address(user),  # ["actor:<pseudonym>", "address:<client address>"]
        write=lambda: events.access_refused(actor=user, ...),
    )

A caller may pass its own `limit` and `window_seconds`: failed sign-ins (password or identity
provider) are bounded per address and cool-off window, `sign_in_failure_record`.

Windows are fixed, aligned on multiples of the window length since the epoch, so that every
web node counts into the same row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import context

from . import events
from .actors import ANONYMOUS, actor_for
from .choices import ActorKind
from .models import BoundedWindow

FLUSH_BATCH = 500
_KEY_LENGTH = BoundedWindow._meta.get_field("key").max_length


def window_start(moment: datetime, length: int) -> datetime:
    """The start of the window of `length` seconds that `moment` falls in."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % length, tz=UTC)


def actor_and_address(who=None) -> list[str]:
    """The keys that bound an event: the acting person or client (when there is one) and the
    client address of the current request."""
    keys = []
    actor = actor_for(who)
    if actor.kind != ActorKind.SYSTEM and actor != ANONYMOUS:
        keys.append(f"actor:{actor.id}")
    keys.append(f"address:{context.current().client_addr or 'unknown'}")
    return keys


@transaction.atomic
def bounded_record(
    *,
    kind: str,
    key: str | Iterable[str],
    write: Callable[[], object],
    limit: int | None = None,
    window_seconds: int | None = None,
) -> bool:
    """Count one event of `kind` for each key; call `write()` (which appends the event) only
    while every key is within `limit` (default `AUDIT_BOUNDED_LIMIT`) in its window of
    `window_seconds` (default `AUDIT_BOUNDED_WINDOW_SECONDS`). True when the event was written.

    The counts and the event commit together: if `write` fails, nothing was counted."""
    keys = sorted({k[:_KEY_LENGTH] for k in ([key] if isinstance(key, str) else key)})
    if not keys:
        raise ValueError("bounded_record needs at least one key")
    limit = settings.AUDIT_BOUNDED_LIMIT if limit is None else limit
    length = window_seconds or settings.AUDIT_BOUNDED_WINDOW_SECONDS
    now = timezone.now()
    start = window_start(now, length)
    windows = []
    # Sorted keys give every caller the same lock order, so two callers sharing keys cannot
    # deadlock. The row lock makes read-count-then-decide atomic: of N concurrent callers at the
    # limit, exactly the first `limit` write their event (a bare UPDATE could not tell them so).
    for name in keys:
        window, created = BoundedWindow.objects.select_for_update().get_or_create(
            kind=kind,
            key=name,
            window_start=start,
            defaults={"window_end": start + timedelta(seconds=length)},
        )
        if created:  # this key's earlier windows are closed: summarise them now
            _flush(BoundedWindow.objects.filter(kind=kind, key=name, window_end__lte=now))
        windows.append(window)
    for window in windows:
        window.count += 1
    written = all(w.count <= limit for w in windows)
    for window in windows:
        if not written:
            window.suppressed += 1
        window.save(update_fields=["count", "suppressed"])
    if written:
        write()
    return written


def sign_in_failure_record(*, kind: str, write: Callable[[], object]) -> bool:
    """Call `write()` (which appends one failed sign-in event of `kind`) within the per-address
    bound: TESSERA_LOGIN_FAILED_EVENTS_PER_ADDRESS per sign-in cool-off window, the rest
    summarised once the window has closed. Anyone can fail a sign-in (a wrong password, a
    provider's refusal, a forged callback), so without a bound an attacker decides how fast the
    append-only ledger grows; django-axes still counts every failed password for the lockout."""
    return bounded_record(
        kind=kind,
        key=f"address:{context.current().client_addr or 'unknown'}",
        write=write,
        limit=settings.TESSERA_LOGIN_FAILED_EVENTS_PER_ADDRESS,
        window_seconds=settings.TESSERA_LOGIN_COOL_OFF_MINUTES * 60,
    )


def bounded_flush(*, now: datetime | None = None) -> int:
    """Summarise and drop every closed window; the number of summary events written."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            written, seen = _flush(
                BoundedWindow.objects.filter(window_end__lte=now), limit=FLUSH_BATCH
            )
        total += written
        if seen < FLUSH_BATCH:
            return total


def _flush(windows, *, limit: int | None = None) -> tuple[int, int]:
    """Summarise and delete closed windows (inside the caller's transaction). Rows another
    transaction holds are skipped: they are still counting, the next flush takes them."""
    query = windows.select_for_update(skip_locked=True).order_by("window_start", "pk")
    rows = list(query[:limit] if limit else query)
    written = 0
    for window in rows:
        # Deleting is the claim: of two flushers (the beat task, a new window's first event)
        # only the one whose DELETE removed the row writes the summary.
        deleted, _ = BoundedWindow.objects.filter(pk=window.pk).delete()
        if deleted and window.suppressed:
            events.events_suppressed(
                kind=window.kind,
                key=window.key,
                window_start=window.window_start,
                window_seconds=int((window.window_end - window.window_start).total_seconds()),
                seen=window.count,
                suppressed=window.suppressed,
            )
            written += 1
    return written, len(rows)
