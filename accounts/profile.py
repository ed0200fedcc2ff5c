"""A person's own account: what the account page shows (`account_overview`) and the one write
it offers, `profile_update` (name and ORCID iD), which appends auth.profile_changed.

The account page's views are in accounts/account_views.py; the page shows what the identity
provider said (e-mail address and whether it was verified, affiliation, linked identities) but
lets the person change only their name and ORCID iD: the rest is the provider's to say."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from access.models import ResearcherStatus
from access.selectors import researcher_status_current
from audit import events
from core.exceptions import Forbidden, Invalid

from . import orcid as orcid_ids
from .models import ExternalIdentity, Profile

NAME_MAX = 150


@dataclass(frozen=True)
class AccountOverview:
    """Everything the account page shows about the signed-in person."""

    user: object
    profile: Profile | None
    identities: list[ExternalIdentity]
    researcher_status: ResearcherStatus | None


def account_overview(user) -> AccountOverview:
    """The signed-in person's own account (never anyone else's: the view passes request.user)."""
    return AccountOverview(
        user=user,
        profile=Profile.objects.filter(user=user).first(),
        identities=list(ExternalIdentity.objects.filter(user=user).order_by("created", "pk")),
        researcher_status=researcher_status_current(user),
    )


def _name(value: str, field: str) -> str:
    text = (value or "").strip()
    if len(text) > NAME_MAX:
        raise Invalid({field: f"Use at most {NAME_MAX} characters."})
    return text


@transaction.atomic
def profile_update(*, user, actor, first_name: str, last_name: str, orcid: str) -> list[str]:
    """Change a person's own name and ORCID iD (optional; given as `0000-0000-0000-000X` or
    `https://orcid.org/…`, stored in ORCID's form after its ISO 7064 MOD 11-2 check). Only the
    person may (Forbidden otherwise). Returns the names of the fields that changed and appends
    auth.profile_changed with those names (never their values); nothing when nothing changed.

    A name given by an identity provider is brought back at the next sign-in with it
    (accounts.services.identity_sign_in): the provider's is the authoritative one."""
    if actor is None or actor.pk != user.pk:
        raise Forbidden("Only the account's owner may change its profile.")
    first, last = _name(first_name, "first_name"), _name(last_name, "last_name")
    if not (first or last):
        raise Invalid({"first_name": "Enter your name."})
    try:
        orcid_id = orcid_ids.normalise(orcid) if (orcid or "").strip() else ""
    except ValueError as bad:
        raise Invalid({"orcid": str(bad)}) from bad
    User = get_user_model()
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    changed = []
    if (first, last) != (user.first_name, user.last_name):
        changed += [
            f for f, new in (("first_name", first), ("last_name", last)) if getattr(user, f) != new
        ]
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    if orcid_id != profile.orcid:
        profile.orcid = orcid_id
        profile.save(update_fields=["orcid", "updated"])
        changed.append("orcid")
    if changed:
        events.profile_changed(user=user, fields=changed)
    return changed
