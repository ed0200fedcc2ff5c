"""The signal the ledger sends for the apps above it: an event was just appended.

`event_recorded`: sent by `audit.events` after each typed helper appends its event, inside the
caller's transaction, with `sender` the `EventType` member, `obj` (the event's target object, or
None), `payload` (what the ledger recorded) and `actor`. Receivers connect with the event types
they want as `sender` (the signal caches receivers per sender), so the other events (token issue,
introspection: the hot paths) find none at the cost of one dictionary lookup. Received by `webhooks` (`webhooks.receivers`, connected
in `WebhooksConfig.ready`), which writes its outbox rows in the same transaction: a webhook is
queued exactly when the ledger records the change, on every path that changes an entitlement. A
receiver's exception rolls the change back (`send`, not `send_robust`).
"""

from __future__ import annotations

from django.dispatch import Signal

event_recorded = Signal(use_caching=True)
