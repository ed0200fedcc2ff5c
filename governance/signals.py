"""Signals governance sends for the apps above it to act on (governance imports no app above it).

`dataset_retiring`: a dataset is about to be retired. Sent by `governance.services.dataset_retire`
with `sender=Dataset`, `dataset` (locked, not yet retired) and `actor`, inside that service's
transaction, first, before any write appends to the ledger: the same place, in the same
transaction, where `tokens_revoke_for_dataset` used to be called, so the lock order is
unchanged (the sweep takes the grants' row locks, and a token being issued holds its grant's
lock while it waits for the ledger under inline sequencing). Received by `tokens`
(`tokens.receivers`, connected in `TokensConfig.ready`), which revokes every token and visa for
the dataset and lists them in the revocation feed; a receiver's exception rolls the retirement
back (`send`, not `send_robust`).
"""

from __future__ import annotations

from django.dispatch import Signal

dataset_retiring = Signal()
