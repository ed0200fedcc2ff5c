"""django-auditlog's field-level entries, mirrored into the ledger (generic change capture: the
one place where a signal is the right tool).

Every LogEntry that auditlog saves (field changes, creations, deletions and many-to-many
changes alike; `post_log` is not sent for the latter, `post_save` is) appends an
`audit.field_change` event carrying the diff, in the same transaction: if the ledger cannot
take it, the change fails. Bulk `QuerySet.update()` bypasses auditlog and so this capture;
services never use it on audited models (governance/services.py says so where it matters).

The ledger stays pseudonymous: the acting user becomes their pseudonym, and changes to the
user model itself, or to a many-to-many set of users, keep only field names and counts, never
the values (usernames, e-mail addresses). Fields that name a person in other models
(`audit.personal.PERSONAL_FIELDS`: a DPO's name and address, a committee's contact address) keep
their keyed fingerprint, never the value.
"""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import events, personal

_ACTIONS = {0: "create", 1: "update", 2: "delete", 3: "access"}


def _redacted(changes: dict, model) -> dict:
    user_model = get_user_model()
    if model is user_model:
        return {name: "[redacted]" for name in changes}
    out = {}
    for name, change in changes.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a field auditlog logged and the model no longer has
            field = None
        if (
            isinstance(change, dict)
            and change.get("type") == "m2m"
            and field is not None
            and field.related_model is user_model
        ):
            change = {
                "type": "m2m",
                "operation": change.get("operation"),
                "count": len(change.get("objects", [])),
            }
        out[name] = change
    # auditlog masks these already (governance/auditing.py); redacting again costs nothing and
    # holds for a model registered without the mask.
    return personal.redact(model._meta.label_lower, out)


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_field_change")
def on_log_entry(sender, instance: LogEntry, created: bool, raw: bool = False, **kwargs):  # noqa: ARG001 - signal receiver
    if not created or raw:
        return
    model = instance.content_type.model_class()
    label = instance.content_type.app_label + "." + instance.content_type.model
    changes = instance.changes if isinstance(instance.changes, dict) else {}
    events.field_change(
        log_entry=instance,
        actor=instance.actor,
        model_label=label,
        action=_ACTIONS.get(instance.action, str(instance.action)),
        changes=_redacted(changes, model) if model is not None else changes,
    )
