"""Signals access sends for the apps above it to act on (access imports no app above it).

`grant_revoked`: a grant was just revoked (by its committee, or by the withdrawal of its
request). Sent by `access.services.grants.grant_revoke` with `sender=Grant` and `grant` (the revoked,
locked grant, `revoked_by` set), inside that service's transaction, after the grant's row is
written and its `grant.revoked` event appended and before its notification is queued: the same
place, in the same transaction, where `tokens_revoke_for_grant` used to be called. Received by
`tokens` (`tokens.receivers`, connected in `TokensConfig.ready`), which revokes every token and
visa derived from the grant and lists them in the revocation feed; a receiver's exception rolls
the revocation back (`send`, not `send_robust`).
"""

from __future__ import annotations

from django.dispatch import Signal

grant_revoked = Signal()
