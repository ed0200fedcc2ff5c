"""Admin mixins every app's ModelAdmins share: admin actions go to the ledger, what a person may
not see is a 404, superuser-only screens; and the admin's one way of saying a service refused
(`refusal_message`, `add_form_errors`: core/exceptions.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.exceptions import add_form_errors, refusal_text

from . import events

__all__ = [
    "LedgeredAdminMixin",
    "LedgeredSavesMixin",
    "NotFoundInsteadOfForbiddenMixin",
    "SuperuserOnlyMixin",
    "add_form_errors",
    "refusal_message",
]


def refusal_message(request, exc: BaseException, *, about: str = "") -> None:
    """A service's refusal as an error message on the admin page, `about` what (an object's
    name) when an action went through several. A refusal on a form goes next to its fields
    instead: `add_form_errors(form, exc)`. A refusal no admin code catches becomes the branded
    page for its status (core.middleware.RefusalMiddleware)."""
    text = refusal_text(exc)
    messages.error(request, f"{about}: {text}" if about else text)


class LedgeredSavesMixin:
    """Adding and changing through the admin are ledger events too (on top of the service's
    own event)."""

    def log_addition(self, request, obj, message):
        events.admin_action(actor=request.user, action="add", obj=obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        events.admin_action(actor=request.user, action="change", obj=obj)
        return super().log_change(request, obj, message)


class LedgeredAdminMixin(LedgeredSavesMixin):
    """Admin actions are ledger events too (on top of the service's own event)."""

    def log_deletions(self, request, queryset):
        for obj in queryset:
            events.admin_action(actor=request.user, action="delete", obj=obj)
        return super().log_deletions(request, queryset)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Missing and forbidden look the same: a 404, never "it exists but is not yours".
        raise Http404("Not found.")


class ViewOnlyMixin:
    """Nothing is added, changed or deleted through this admin: it only shows."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NotFoundInsteadOfForbiddenMixin(ViewOnlyMixin, LedgeredAdminMixin):
    """Whatever a person may not see does not exist for them: the admin's 403s become 404s."""

    def _not_forbidden(self, view: Callable, *args, **kwargs):
        try:
            return view(*args, **kwargs)
        except PermissionDenied:
            raise Http404("Not found.") from None

    def changelist_view(self, request, extra_context=None):
        return self._not_forbidden(super().changelist_view, request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self._not_forbidden(super().change_view, request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return self._not_forbidden(super().history_view, request, object_id, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        raise Http404("Not found.")

    def delete_view(self, request, object_id, extra_context=None):
        raise Http404("Not found.")

    def _record_admin_action(self, request, obj, action: str, message: str, **detail) -> None:
        """One ledger event naming what was done from the admin (the service wrote its own
        event for the change itself), and the admin's history entry for the object."""
        events.admin_action(actor=request.user, action=action, obj=obj, detail=detail or None)
        # The stock LogEntry only: LedgeredAdminMixin.log_change would add a second, vaguer event.
        admin.ModelAdmin.log_change(self, request, obj, message)


class SuperuserOnlyMixin:
    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
