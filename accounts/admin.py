"""People's accounts in the Django admin: the stock User admin, plus actions that suspend and
reinstate accounts (each asks for a reason, calls its service in `accounts.services`, and
records an admin event naming the suspension)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.template.response import TemplateResponse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import events
from core.exceptions import REFUSALS, refusal_text
from core.forms import reason_form

from . import services
from .models import ExternalIdentity

User = get_user_model()


SuspendActionForm = reason_form(
    label="Reason for suspending", required="Say why the accounts are suspended."
)


ReinstateActionForm = reason_form(
    label="Reason for reinstating", required="Say why the accounts are reinstated."
)


@dataclass(frozen=True)
class UserAction:
    """What an account action on the User admin asks, says and calls."""

    form: type[forms.Form]
    title: str
    explanation: str
    submit: str
    service: str  # a function of accounts.services: (user, actor, reason) -> Suspension
    logged: str  # the admin log's change message
    done: str


USER_ACTIONS = {
    "suspend": UserAction(
        form=SuspendActionForm,
        title="Suspend accounts",
        explanation="Suspending an account signs the person out, stops them signing in, and "
        "revokes at once every access token and GA4GH visa derived from their grants (storage "
        "nodes see it through introspection and the revocation feed). The reason is kept with "
        "the suspension; the audit ledger refers to it.",
        submit="Suspend the accounts",
        service="user_suspend",
        logged="Suspended.",
        done="Suspended {name}; their tokens no longer work.",
    ),
    "reinstate": UserAction(
        form=ReinstateActionForm,
        title="Reinstate accounts",
        explanation="Reinstating an account lifts its suspension: the person may sign in "
        "again, and their grants that are still within their dates count again. Tokens and "
        "visas revoked by the suspension stay revoked; the person asks for new ones. The reason "
        "is kept with the suspension; the audit ledger refers to it.",
        submit="Reinstate the accounts",
        service="user_reinstate",
        logged="Reinstated.",
        done="Reinstated {name}; they may sign in and ask for new tokens.",
    ),
}


class ExternalIdentityInline(admin.TabularInline):
    """The person's identities at OpenID providers, read-only: they are made by signing in
    (accounts.services) or by `manage.py identity_link`, each with its ledger event."""

    model = ExternalIdentity
    extra = 0
    can_delete = False
    fields = (
        "issuer",
        "subject",
        "email",
        "email_verified",
        "affiliation",
        "created",
        "last_login",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TesseraUserAdmin(UserAdmin):
    """The stock User admin, plus actions that suspend and reinstate accounts through
    `user_suspend` (which also revokes every token and visa derived from their grants) and
    `user_reinstate`, and the person's identities at OpenID providers (read-only)."""

    inlines = [*UserAdmin.inlines, ExternalIdentityInline]
    actions = [*(UserAdmin.actions or []), "suspend", "reinstate"]

    @admin.action(
        description="Suspend the selected accounts and revoke their tokens (asks for a reason)",
        permissions=["change"],
    )
    def suspend(self, request, queryset):
        return self._account_action(request, queryset, "suspend")

    @admin.action(
        description="Reinstate the selected suspended accounts (asks for a reason)",
        permissions=["change"],
    )
    def reinstate(self, request, queryset):
        return self._account_action(request, queryset, "reinstate")

    def _account_action(self, request, queryset, action: str):
        what = USER_ACTIONS[action]
        form = what.form(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/auth/user_action_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": what.title,
                    "explanation": what.explanation,
                    "submit": what.submit,
                    "action": action,
                    "form": form,
                    "people": queryset,
                    "opts": self.opts,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for person in queryset:
            try:
                with transaction.atomic():
                    suspension = getattr(services, what.service)(
                        user=person, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    events.admin_action(
                        actor=request.user,
                        action=what.service,
                        obj=suspension,
                        detail={"suspension": suspension.pk},
                    )
                    admin.ModelAdmin.log_change(self, request, person, what.logged)
            except REFUSALS as exc:
                self.message_user(
                    request, f"{person.get_username()}: {refusal_text(exc)}", messages.ERROR
                )
            else:
                self.message_user(
                    request, what.done.format(name=person.get_username()), messages.SUCCESS
                )
        return None


admin.site.unregister(User)
admin.site.register(User, TesseraUserAdmin)

# django-otp's own device admin would add devices (with a key the administrator chose), show
# their keys and delete them, none of it recorded: a lost device is removed with
# `manage.py mfa_reset` (accounts.mfa.mfa_reset, auth.mfa_reset in the ledger) instead.
admin.site.unregister(TOTPDevice)
