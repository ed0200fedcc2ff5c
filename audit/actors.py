"""Who did it: the pseudonymous actor ids written to the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from .choices import ActorKind


@dataclass(frozen=True)
class Actor:
    id: str
    kind: str


SYSTEM = Actor(id="system", kind=ActorKind.SYSTEM)
ANONYMOUS = Actor(id="anonymous", kind=ActorKind.USER)


def pseudonym_for(user) -> str:
    """The user's stable pseudonymous id, created on first use."""
    from .models import ActorPseudonym

    cached = getattr(user, "_tessera_pseudonym", None)
    if cached:
        return cached
    row, _ = ActorPseudonym.objects.get_or_create(user=user)
    user._tessera_pseudonym = row.pseudonym
    return row.pseudonym


def client_actor_id(application_pk) -> str:
    """The ledger's id of an OAuth application: its primary key, never its client_id string,
    which a later registration could reuse."""
    return f"client:{application_pk}"


def actor_for(who) -> Actor:
    """An Actor for a user, an OAuth application, an Actor, or None (the system)."""
    if who is None:
        return SYSTEM
    if isinstance(who, Actor):
        return who
    # Users first (the hot path): only users and AnonymousUser have `is_authenticated`.
    if getattr(who, "is_authenticated", False):
        return Actor(id=pseudonym_for(who), kind=ActorKind.USER)
    if _is_application(who):
        return Actor(id=client_actor_id(who.pk), kind=ActorKind.CLIENT)
    return ANONYMOUS


def _is_application(who) -> bool:
    from oauth2_provider.models import get_application_model

    return isinstance(who, get_application_model())
