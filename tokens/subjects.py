"""Who a GA4GH visa names in `sub`: the person's subject at the site's identity provider (their
LS ID with Life Science Login) when they have one, as LS Login's passport broker and REMS
expect; otherwise their pseudonym. Access tokens and the ledger always name the pseudonym
(`audit.actors.pseudonym_for`).

External identities belong to `accounts`, a layer above: `AccountsConfig.ready()` registers the
lookup here (`accounts.selectors.federated_subject`), as a receiver connects to a signal. With
nothing registered (an installation without `accounts`), visas name the pseudonym.
"""

from __future__ import annotations

from collections.abc import Callable

from audit.actors import pseudonym_for

FederatedSubject = Callable[[object], str | None]

_federated_subject: FederatedSubject | None = None


def register_federated_subject(lookup: FederatedSubject | None) -> None:
    """Set (or, with None, clear) the lookup of a person's subject at the identity provider."""
    global _federated_subject  # the one registration point, set at start-up
    _federated_subject = lookup


def visa_subject(user) -> str:
    """The `sub` of the person's visas: their federated subject, else their pseudonym."""
    federated = _federated_subject(user) if _federated_subject is not None else None
    return federated or pseudonym_for(user)
