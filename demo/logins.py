"""What the demo's people and clients log in with, printed by `manage.py seed_demo`: the demo
users' table, and the storage tier's OAuth client with an active grant for `researcher`, so
that the token button on "My access" and docs/verify_token_example.py work on a fresh demo.
Everything is made through the services; a second run changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from access.models import AccessRequest, Grant
from access.selectors import grant_list_for_user
from access.services import decisions as decision_services
from access.services import requests as request_services
from governance.models import Dataset
from tokens.oauth import client_scopes_set

from .data import (
    DEMO_USERS,
    FALLBACK_CONDITIONS,
    FALLBACK_REQUEST,
    STORAGE_CLIENT_ID,
    STORAGE_CLIENT_SECRET,
    STORAGE_SCOPES,
    DemoUser,
)


@transaction.atomic
def storage_client(*, actor) -> bool:
    """The confidential client-credentials client `storage-demo`; True if made now."""
    Application = get_application_model()
    app = Application.objects.filter(client_id=STORAGE_CLIENT_ID).first()
    created = app is None
    if created:
        app = Application.objects.create(
            client_id=STORAGE_CLIENT_ID,
            client_secret=STORAGE_CLIENT_SECRET,  # stored hashed by django-oauth-toolkit
            hash_client_secret=True,
            name="Storage tier (demo)",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        )
    client_scopes_set(application=app, scopes=STORAGE_SCOPES, actor=actor)
    return created


def _active_grant(user) -> Grant | None:
    now = timezone.now()
    return next((g for g in grant_list_for_user(user) if g.inactive_reason(now) is None), None)


@transaction.atomic
def researcher_grant(*, researcher, decider) -> bool:
    """An approved, active grant for `researcher`; reuses any they have. True if made now."""
    if _active_grant(researcher) is not None:
        return False
    spec = FALLBACK_REQUEST
    dataset = Dataset.objects.get(title=spec.datasets[0])
    access_request = AccessRequest.objects.filter(title=spec.title, applicant=researcher).first()
    if access_request is None:
        access_request = request_services.request_create(
            applicant=researcher, data={"title": spec.title, **spec.answers}, datasets=[dataset]
        )
        for agreement in set(request_services.required_agreements(access_request).values()):
            request_services.agreement_accept(
                access_request=access_request, user=researcher, agreement=agreement
            )
        request_services.request_submit(access_request=access_request, actor=researcher)
    review = access_request.reviews.get(committee=dataset.committee)
    if review.status != "approved":
        decision_services.decision_record(
            review=review,
            actor=decider,
            outcome="approve",
            end_date=timezone.localdate() + timedelta(days=180),
            conditions=FALLBACK_CONDITIONS,
        )
    return _active_grant(researcher) is not None


def logins_table(people: list[DemoUser] = DEMO_USERS) -> str:
    """Who logs in where with the demo password, then the storage client's credentials."""
    base = settings.TESSERA_BASE_URL
    where = {"portal": f"{base}/", "admin": f"{base}/admin/"}
    password = settings.TESSERA["DEMO_PASSWORD"]
    rows = [("username", "password", "role", "where")]
    rows += [(u.username, password, u.role, where[u.where]) for u in people]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["", "Demo logins:"]
    for n, row in enumerate(rows):
        cells = (c.ljust(w) for c, w in zip(row, widths, strict=True))
        lines.append(("  " + "  ".join(cells)).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines + login_lines())


def login_lines() -> list[str]:
    """The storage client's credentials, for the demo logins table."""
    base = settings.TESSERA_BASE_URL
    return [
        "",
        "Storage tier OAuth client (client credentials; demo only):",
        f"  client_id {STORAGE_CLIENT_ID}  client_secret {STORAGE_CLIENT_SECRET}  "
        f"scopes {' '.join(STORAGE_SCOPES)}",
        f"  token:      curl -u {STORAGE_CLIENT_ID}:{STORAGE_CLIENT_SECRET} "
        f"-d grant_type=client_credentials -d 'scope={' '.join(STORAGE_SCOPES)}' {base}/o/token/",
        f"  introspect: curl -H 'Authorization: Bearer <that access_token>' "
        f"-d token=<a researcher's token> {base}/api/v1/tokens/introspect",
        f"  keys:       {base}/.well-known/jwks.json",
    ]
