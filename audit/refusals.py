"""Refused attempts at committee actions and introspection calls, recorded in the ledger.

NEN 7513 and ASVS V16 ask that refused access to protected actions leaves a trace. Anyone can
repeat a refused request at will, so the event is bounded (audit/bounded.py) per actor and per
client address. Callers: the API's exception handler (core/api.py) for views that name their
recorded actions, the committee admin's review pages (access/admin.py) and the introspection
fast path (tokens/introspection.py). Ordinary 404s elsewhere are not recorded.
"""

from __future__ import annotations

from . import events
from .actors import ANONYMOUS
from .bounded import actor_and_address, bounded_record
from .choices import EventType


def access_refused_record(*, who, action: str, method: str, path: str, status: int) -> bool:
    """Record that `who` (a user, an AnonymousUser, an OAuth client's Actor, or None) was refused
    `action`; False when the bound left it to the window's summary. None is an unknown
    caller (no valid credentials), not the system."""
    who = ANONYMOUS if who is None else who
    return bounded_record(
        kind=EventType.ACCESS_REFUSED,
        key=actor_and_address(who),
        write=lambda: events.access_refused(
            actor=who, action=action, method=method, path=path, status=status
        ),
    )
