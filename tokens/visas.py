"""GA4GH Passport visas (ControlledAccessGrants, Passport v1.2), one per active grant, and the
grant a person holds on a dataset. Locking as for access tokens (see `tokens.issue`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access import selectors
from access.models import Grant
from audit import events
from audit.actors import pseudonym_for

from . import keyring, keys
from .choices import TokenKind
from .issue import access_ends
from .models import IssuedToken
from .revocation import lock_grants
from .subjects import visa_subject

VISA_TYP = "vnd.ga4gh.visa+jwt"
JWKS_PATH = "/.well-known/jwks.json"


def grant_for_dataset(user, accession: str) -> tuple[Grant | None, str | None]:
    """The user's active grant on a dataset (the one lasting longest), else (None, why not)."""
    grants = list(selectors.grant_list_for_user(user).filter(dataset__accession=accession))
    if not grants:
        return None, f"You have no grant for {accession}."
    now = timezone.now()
    reasons = {g.pk: g.inactive_reason(now) for g in grants}
    active = [g for g in grants if reasons[g.pk] is None]
    if active:
        return max(active, key=lambda g: g.valid_until), None
    newest = max(grants, key=lambda g: g.valid_until)
    return None, f"No active grant for {accession}: {reasons[newest.pk]}"


# --- GA4GH Passport visas ---------------------------------------------------------------------
@transaction.atomic
def visas_issue(*, user, actor) -> list[str]:
    """One ControlledAccessGrants visa (GA4GH Passport v1.2) per active grant of `user`."""
    lock_grants(user=user)
    now = timezone.now()
    grants = [g for g in selectors.grant_list_for_user(user) if g.inactive_reason(now) is None]
    if not grants:
        return []
    use = keyring.signer()
    issued = math.floor(now.timestamp())
    lifetime = int(settings.TESSERA_VISA_LIFETIME.total_seconds())
    # `sub`: the federated subject (LS ID) when the person has one (tokens/subjects.py); the
    # ledger names the pseudonym, as for every token.
    subject = visa_subject(user)
    holder = pseudonym_for(user)
    base = settings.TESSERA_BASE_URL
    header = {"jku": f"{base}{JWKS_PATH}"}
    out, rows = [], []
    for grant in sorted(grants, key=lambda g: g.dataset.accession):
        committee = grant.decision.review.committee
        ends = access_ends(
            grant.valid_until,
            requires_ethics=committee.requires_ethics_approval,
            ethics_expiry=grant.request.ethics_expiry,
        )
        expires = min(issued + lifetime, math.floor(ends.timestamp()))
        if expires <= issued:
            continue
        jti = keys.new_jti()
        claims = {
            "iss": base,
            "sub": subject,
            "iat": issued,
            "exp": expires,
            "jti": jti,
            "ga4gh_visa_v1": {
                "type": "ControlledAccessGrants",
                "asserted": math.floor(grant.decision.decided_at.timestamp()),
                "value": f"{base}{grant.dataset.get_absolute_url()}",
                "source": f"{base}{committee.get_absolute_url()}",
                "by": "dac",
            },
        }
        out.append(
            keys.sign(
                claims,
                private_key=use.private_key,
                kid=use.kid,
                alg=use.alg,
                typ=VISA_TYP,
                extra_header=header,
            )
        )
        expires_at = datetime.fromtimestamp(expires, tz=UTC)
        rows.append(
            IssuedToken(
                jti=jti,
                kind=TokenKind.VISA,
                grant=grant,
                user=user,
                kid=use.kid,
                issued_at=datetime.fromtimestamp(issued, tz=UTC),
                expires_at=expires_at,
            )
        )
        events.visa_issued(
            grant=grant,
            actor=actor,
            jti=jti,
            kid=use.kid,
            expires_at=expires_at,
            dataset=grant.dataset.accession,
            holder=holder,
        )
    IssuedToken.objects.bulk_create(rows)
    return out
