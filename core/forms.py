"""Forms every app's admin shares."""

from __future__ import annotations

from django import forms


def reason_form(*, label: str, required: str) -> type[forms.Form]:
    """The one-field form an admin action asks before it acts: why (revoking grants,
    suspending or reinstating accounts)."""
    field = forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": required},
    )
    return type("ReasonForm", (forms.Form,), {"reason": field})
