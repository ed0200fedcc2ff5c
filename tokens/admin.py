"""Tokens in the Django admin, for superusers only: the signing keys (read-only), which OAuth
clients may obtain the storage tier's scopes, and the OAuth applications themselves."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.models import get_application_model

from audit import events
from audit.admin_mixins import LedgeredSavesMixin, SuperuserOnlyMixin, ViewOnlyMixin
from core.scopes import PRIVILEGED_SCOPES

from .models import ClientScopes, SigningKey
from .oauth import client_scopes_set


@admin.register(SigningKey)
class SigningKeyAdmin(SuperuserOnlyMixin, ViewOnlyMixin, admin.ModelAdmin):
    """Read-only: keys change through `manage.py keys_rotate`; the private half is never shown."""

    list_display = ["kid", "alg", "state", "created_at", "activated_at", "retired_at", "dropped_at"]
    list_filter = ["state", "alg"]
    fields = ["kid", "alg", "state", "public_jwk", "created_at", "activated_at", "retired_at",
              "dropped_at"]  # fmt: skip
    readonly_fields = fields
    actions = None


class ClientScopesForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(s, f"{s}: {text}") for s, text in PRIVILEGED_SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ClientScopes
        fields = ["application", "scopes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].label = "OAuth client"
        if self.instance.pk:
            self.fields["application"].disabled = True
            self.initial["scopes"] = self.instance.scopes.split()


@admin.register(ClientScopes)
class ClientScopesAdmin(SuperuserOnlyMixin, LedgeredSavesMixin, admin.ModelAdmin):
    """Which OAuth clients may obtain the storage tier's scopes; saved through the service."""

    form = ClientScopesForm
    list_display = ["application", "scopes", "updated_at"]
    list_select_related = ["application"]
    actions = None

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        saved = client_scopes_set(
            application=form.cleaned_data["application"],
            scopes=form.cleaned_data["scopes"],
            actor=request.user,
        )
        obj.pk = saved.pk


# --- OAuth applications: registered by superusers only, each registration in the ledger ------
_Application = get_application_model()
admin.site.unregister(_Application)


@admin.register(_Application)
class OAuthApplicationAdmin(SuperuserOnlyMixin, ApplicationAdmin):
    """django-oauth-toolkit's application admin, for superusers only (there is no
    self-service registration); a registration records `auth.client_registered`."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def log_addition(self, request, obj, message):
        events.client_registered(application=obj, actor=request.user, scopes=[])
        return super().log_addition(request, obj, message)
