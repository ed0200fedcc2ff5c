"""The storage tier's part of `manage.py seed_demo`: its OAuth client, and an active grant for
`researcher` so that the token button on "My access" and docs/verify_token_example.py work on
a fresh demo. Everything goes through the services; a second run changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from governance.models import Dataset
from tokens.oauth import client_scopes_set

from . import services
from .models import AccessRequest, Grant

STORAGE_CLIENT_ID = "storage-demo"
# Demo only, printed with the demo logins; seed_demo refuses to run on a production site.
STORAGE_CLIENT_SECRET = "storage-demo-secret"  # noqa: S105
STORAGE_SCOPES = ["introspection", "ga4gh_passport"]

# Used only when no other demo step gave `researcher` an active grant: an animal dataset whose
# committee decides alone and needs no ethics approval.
FALLBACK_DATASET = "Rat kidney, two-year carcinogenicity studies (Sprague Dawley)"
FALLBACK_TITLE = "Grading chronic progressive nephropathy in rat carcinogenicity studies"


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
    from .selectors import grant_list_for_user

    now = timezone.now()
    return next((g for g in grant_list_for_user(user) if g.inactive_reason(now) is None), None)


@transaction.atomic
def researcher_grant(*, researcher, decider) -> bool:
    """An approved, active grant for `researcher`; reuses any they have. True if made now."""
    if _active_grant(researcher) is not None:
        return False
    dataset = Dataset.objects.get(title=FALLBACK_DATASET)
    access_request = AccessRequest.objects.filter(
        title=FALLBACK_TITLE, applicant=researcher
    ).first()
    if access_request is None:
        access_request = services.request_create(
            applicant=researcher,
            data={
                "title": FALLBACK_TITLE,
                "lay_summary": "Old rats' kidneys scar slowly. We teach software to grade the "
                "scarring the way toxicologic pathologists do, to speed up safety studies.",
                "scientific_abstract": "Ordinal regression of chronic progressive nephropathy "
                "grade on H&E whole-slide images from two-year carcinogenicity studies.",
                "methods_development": True,
                "requested_months": 12,
                "country": "NL",
                "institution": "Radboud University Medical Center",
            },
            datasets=[dataset],
        )
        for agreement in set(services.required_agreements(access_request).values()):
            services.agreement_accept(
                access_request=access_request, user=researcher, agreement=agreement
            )
        services.request_submit(access_request=access_request, actor=researcher)
    review = access_request.reviews.get(committee=dataset.committee)
    if review.status != "approved":
        services.decision_record(
            review=review,
            actor=decider,
            outcome="approve",
            end_date=timezone.localdate() + timedelta(days=180),
            conditions="Study codes stay pseudonymous.",
        )
    return _active_grant(researcher) is not None


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
