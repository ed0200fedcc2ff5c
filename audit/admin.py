"""The ledger in the admin: read-only for everyone (superusers included), visible to auditors
(`audit.view_auditevent`) and superusers. auditlog's own entries cannot be deleted either."""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin

from .admin_mixins import ViewOnlyMixin
from .models import AuditEvent, Checkpoint


class ReadOnlyAdmin(ViewOnlyMixin, admin.ModelAdmin):
    def get_actions(self, request):
        return {}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "occurred_at", "event_type", "actor_kind", "actor_id", "target"]
    # No filter on event_type: it would run SELECT DISTINCT over the whole ledger per page.
    list_filter = ["actor_kind"]
    search_fields = ["=seq", "=event_type", "=actor_id", "=target_id", "=request_id"]
    ordering = ["-seq"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page is wasteful

    @admin.display(description="target")
    def target(self, obj: AuditEvent) -> str:
        return f"{obj.target_type}:{obj.target_id}" if obj.target_type else ""


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "root_hash", "issued_at", "key_id"]
    exclude = ["compact_nodes"]


class UndeletableLogEntryAdmin(LogEntryAdmin):
    """auditlog's admin allows deleting entries in some paths; field history is evidence."""

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
admin.site.register(LogEntry, UndeletableLogEntryAdmin)
