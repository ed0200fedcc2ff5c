"""Password reset by e-mail for local accounts (administrators, break-glass access): the two
ledger events around Django's own reset views (accounts/account_views.py).

Django's PasswordResetView sends a link only to active accounts with a usable password whose
address matches, and answers the same page whatever the address: the page never says whether an
address has an account. Accounts created by an identity provider have no usable password and
are never sent a link (their password is their institution's)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from audit import events
from audit.bounded import actor_and_address, bounded_record
from audit.choices import EventType


def password_reset_requested(*, users: list) -> bool:
    """Record a reset request: the accounts sent a link (by pseudonym; none when the address
    matched none), never the address typed. Anyone can ask, so bounded per client address
    (audit.bounded). True when the event was written."""
    return bounded_record(
        kind=EventType.PASSWORD_RESET_REQUESTED,
        key=actor_and_address(None),
        write=lambda: events.password_reset_requested(users=users),
    )


@transaction.atomic
def password_reset_complete(*, user, password: str):
    """Set the password chosen through a valid reset link (the view checked the link and the
    password validators). Changing the password ends the person's other sessions and makes the
    link, and any other outstanding one, invalid. Appends auth.password_reset_completed."""
    User = get_user_model()
    locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    locked.set_password(password)
    locked.save(update_fields=["password"])
    user.password = locked.password  # the caller's object (the form's user) agrees
    events.password_reset_completed(user=locked)
    return locked
