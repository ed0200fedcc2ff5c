"""Who did it: the pseudonymous actor ids written to the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from oauth2_provider.models import get_application_model

from .choices import ActorKind
from .models import ActorPseudonym


@dataclass(frozen=True)
class Actor:
    id: str
    kind: str


SYSTEM = Actor(id="system", kind=ActorKind.SYSTEM)
ANONYMOUS = Actor(id="anonymous", kind=ActorKind.USER)


def pseudonym_for(user) -> str:
    """The user's stable pseudonymous id, created on first use.

    Read through the user's `pseudonym` relation, which Django keeps on the user object: asked
    again about the same object (the several events of one action) it costs no query, nor at
    all for a user loaded with `select_related("pseudonym")` or reached from its row through
    `ActorPseudonym.objects.select_related("user")`.
    """
    try:
        return user.pseudonym.pseudonym
    except ActorPseudonym.DoesNotExist:
        pass
    # First use. What `get_or_create` does, less its first read, which the relation just made.
    try:
        with transaction.atomic():
            row = ActorPseudonym.objects.create(user=user)  # sets `user.pseudonym` too
    except IntegrityError:
        # Created meanwhile by another transaction; if not, the clash was something else.
        row = ActorPseudonym.objects.filter(user=user).first()
        if row is None:
            raise
        user.pseudonym = row
    return row.pseudonym


def user_actor(pseudonym: str) -> Actor:
    """The Actor for a person whose pseudonym the caller has already read (a hot path's row)."""
    return Actor(id=pseudonym, kind=ActorKind.USER)


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
    return isinstance(who, get_application_model())
