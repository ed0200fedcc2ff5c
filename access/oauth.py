"""Which OAuth clients may hold the storage tier's scopes.

django-oauth-toolkit's default scopes backend offers every scope to every client, so any
registered application could ask `/o/token/` for `introspection` and read who accesses what.
Here the privileged scopes are offered only to the clients listed in `ClientScopes`; the others
get the public scopes alone.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.scopes import SettingsScopes

from audit import events

from .models import ClientScopes

PRIVILEGED_SCOPES = ("introspection", "ga4gh_passport")


class ClientScopesBackend(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        public = [
            s
            for s in super().get_available_scopes(application, request)
            if s not in PRIVILEGED_SCOPES
        ]
        if application is None:
            return public
        row = ClientScopes.objects.filter(client_id=application.client_id).first()
        allowed = set(row.scopes.split()) if row else set()
        return public + [s for s in PRIVILEGED_SCOPES if s in allowed]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        available = set(self.get_available_scopes(application, request))
        return [s for s in super().get_default_scopes(application, request) if s in available]


@transaction.atomic
def client_scopes_set(*, application, scopes: list[str], actor) -> ClientScopes:
    """Let an OAuth client obtain these privileged scopes (and no others)."""
    unknown = set(scopes) - set(PRIVILEGED_SCOPES)
    if unknown:
        raise ValidationError({"scopes": f"Not a privileged scope: {', '.join(sorted(unknown))}."})
    row, _ = ClientScopes.objects.select_for_update().get_or_create(client_id=application.client_id)
    previous = row.scopes.split()
    wanted = [s for s in PRIVILEGED_SCOPES if s in scopes]
    if wanted != previous:
        row.scopes = " ".join(wanted)
        row.save(update_fields=["scopes", "updated_at"])
        events.client_scopes_changed(
            application=application, actor=actor, scopes=wanted, previous=previous
        )
    return row
