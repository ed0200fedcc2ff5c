"""What tokens does when the layers below it change (their signals, connected in
`TokensConfig.ready`): each receiver runs inside the sender's transaction, at the sender's call
site (see `access.signals` and `governance.signals`)."""

from __future__ import annotations

from access.models import Grant
from access.signals import grant_revoked
from governance.models import Dataset
from governance.signals import dataset_retiring

from .revocation import tokens_revoke_for_dataset, tokens_revoke_for_grant


def revoke_tokens_of_grant(sender, *, grant, **kwargs) -> None:  # noqa: ARG001 - signal signature
    """Tokens and visas derived from a revoked grant are revoked with it."""
    tokens_revoke_for_grant(grant=grant)


def revoke_tokens_of_dataset(sender, *, dataset, actor, **kwargs) -> None:  # noqa: ARG001
    """Tokens and visas for a retired dataset stop at once."""
    tokens_revoke_for_dataset(dataset=dataset, actor=actor)


def connect() -> None:
    grant_revoked.connect(revoke_tokens_of_grant, sender=Grant, dispatch_uid="tokens.grant_revoked")
    dataset_retiring.connect(
        revoke_tokens_of_dataset, sender=Dataset, dispatch_uid="tokens.dataset_retiring"
    )
