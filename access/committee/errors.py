"""How the committee's workspace answers a service's refusal, in one place.

A service refuses with ValidationError, PermissionDenied or TransitionRefused (`SERVICE_ERRORS`):
the refusal comes back as an error on the form or a message on the page, never as a 500, and a
refused person (404 for a review they may not see, 403 where a service said no) goes to the ledger.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from audit.refusals import access_refused_record

from .. import lifecycle

SERVICE_ERRORS = (ValidationError, PermissionDenied, lifecycle.TransitionRefused)


class MethodNotAllowed(Exception):
    """Raised by a custom admin view after its 404 check; answered with a 405."""


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "Not allowed."


def add_service_error(form: forms.Form, exc: Exception) -> None:
    """Put a service's refusal on the form: field errors next to their field, the rest on top."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error_text(exc))


def record_refusal(request, action: str, status: int) -> None:
    """A refused committee action or review page, in the ledger (bounded, audit/refusals.py):
    a 404 for a review the person may not see, 403 where a service refused the person."""
    access_refused_record(
        who=request.user,
        action=f"admin.{action}",
        method=request.method,
        path=request.path,
        status=status,
    )
