"""A person's researcher status ("bona fide researcher"), from GA4GH ResearcherStatus visas.

accounts/passports.py verifies each visa of a person's passport against the keys of a trusted
issuer and hands the verified claims here as a `VerifiedVisa`; this module only records them.
Visas that were not trusted are recorded as ignored, with the reason, at a bounded rate
(audit/bounded.py): whoever can sign in can present as many as they like.

Which status is current is a read: `access.selectors.researcher_status_current`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit import events
from audit.bounded import actor_and_address, bounded_record
from audit.choices import EventType
from core.exceptions import Invalid

from ..choices import VisaIgnoredReason
from ..models import ResearcherStatus


@dataclass(frozen=True)
class VerifiedVisa:
    """The claims of a ResearcherStatus visa whose signature, issuer, key URL and expiry were
    checked (accounts/passports.py builds it, and nothing else should)."""

    issuer: str
    subject: str
    source: str
    value: str
    by: str
    asserted: datetime
    expires_at: datetime
    jti: str
    visa_sha256: str


@transaction.atomic
def researcher_status_record(*, user, visa: VerifiedVisa, actor) -> ResearcherStatus:
    """Record `user`'s researcher status from a verified visa, once per visa: the same visa
    presented again (each sign-in carries it) returns the row already recorded, with no new
    event. Trusted caller: accounts.passports, which verified the visa for this person; `actor`
    is the person signing in (or None for the system)."""
    now = timezone.now()
    if visa.expires_at <= now:
        raise Invalid({"visa": "The visa has expired."})
    if visa.asserted > now:
        raise Invalid({"visa": "The visa is asserted in the future."})
    # The person's row, FOR NO KEY UPDATE: two sign-ins carrying the same visa record it once.
    user = get_user_model().objects.select_for_update(no_key=True).get(pk=user.pk)
    existing = ResearcherStatus.objects.filter(user=user, visa_sha256=visa.visa_sha256).first()
    if existing is not None:
        return existing
    status = ResearcherStatus.objects.create(
        user=user,
        issuer=visa.issuer,
        source=visa.source,
        value=visa.value,
        by=visa.by,
        asserted=visa.asserted,
        expires_at=visa.expires_at,
        jti=visa.jti,
        visa_sha256=visa.visa_sha256,
        recorded_at=now,
    )
    events.researcher_status_recorded(status=status, actor=actor)
    return status


def researcher_status_ignore(*, user, reason: str, issuer: str, visa_sha256: str) -> bool:
    """Record that a visa presented for `user` was not trusted, and why. Bounded per person and
    client address; False when the bound left it to the window's summary."""
    reason = VisaIgnoredReason(reason)
    return bounded_record(
        kind=EventType.RESEARCHER_VISA_IGNORED,
        key=actor_and_address(user),
        write=lambda: events.researcher_visa_ignored(
            user=user, reason=reason.value, issuer=issuer, visa_sha256=visa_sha256
        ),
    )
