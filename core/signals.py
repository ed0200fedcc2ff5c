"""Signals core sends for the apps above it to act on (core imports no app).

`api_refused`: the API refused an action a view lists in `refusals_recorded` (401, 403 or
404); sent with `who` (a user, an AnonymousUser, a client's Actor, or None), `action`,
`method`, `path` and `status`. `audit.signals` records it in the ledger.
"""

from __future__ import annotations

from django.dispatch import Signal

# What counts as a refusal: 401 only where credentials are the point (a client without valid
# ones at introspection), 403 and 404 for a person or client without the right.
REFUSED_STATUSES = frozenset({401, 403, 404})

api_refused = Signal()
