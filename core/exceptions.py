"""One hierarchy for every refusal a service gives, and the one reading of it that the API, the
portal and the admin share (docs/errors.md).

    ServiceError            the base: a refusal, with the HTTP status it answers with
    ├── Invalid     400     bad input; optionally by field (also a Django ValidationError)
    ├── Forbidden   403     this actor may not do it (also a Django PermissionDenied)
    ├── NotFound    404     nothing there, or nothing this actor may see (also an Http404)
    └── Conflict    409     the object's state does not allow it now; `extra` goes in the body

Each is also the Django exception that meant the same before, so `except ValidationError`,
`except PermissionDenied`, a form's `add_error` and Django's own 403 / 404 handling keep their
meaning. Django's ValidationError and PermissionDenied raised by other code (a model's
`full_clean`, a library) are refusals too: `refusal()` reads them as Invalid and Forbidden.

Where they are answered, once each:
- the API: `core.api.exception_handler` (DRF's EXCEPTION_HANDLER), a JSON body with the status;
- the portal: views that can say it on the page use `refusal_text` (a message) or
  `add_form_errors` (next to the form's fields); anything else a view lets through becomes the
  branded error page with its status (`core.middleware.RefusalMiddleware`, `core.errors`);
- the admin: `add_form_errors` and `refusal_text`, through `audit.admin_mixins.refusal_message`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404


class ServiceError(Exception):
    """A service's refusal. `status` is the HTTP status it answers with; `messages` are the
    sentences a person reads; `body()` is the API's JSON body."""

    status: int = 400
    default_message: str = "The request was refused."

    @property
    def messages(self) -> list[str]:
        return [str(self) or self.default_message]

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """{field: [message, ...]} when the refusal is about named fields, else {}."""
        return {}

    def body(self) -> dict[str, Any]:
        return {"detail": " ".join(self.messages)}


class Invalid(ServiceError, ValidationError):
    """Bad input (400). Built like a Django ValidationError: a message, a list of them, or a
    {field: message(s)} dict for errors that belong to named fields."""

    status = 400
    default_message = "The request is not valid."

    def __init__(self, message: Any = None, code: str | None = None, params=None):
        ValidationError.__init__(
            self, self.default_message if message is None else message, code, params
        )

    @property
    def messages(self) -> list[str]:
        return list(ValidationError.messages.fget(self)) or [self.default_message]

    @property
    def field_errors(self) -> dict[str, list[str]]:
        return dict(self.message_dict) if hasattr(self, "error_dict") else {}

    def body(self) -> dict[str, Any]:
        # By field when the refusal names fields (the object as a whole under DRF's name for
        # it), else the messages under "detail": what DRF gives its own ValidationError.
        if hasattr(self, "error_dict"):
            return {
                ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
                for field, messages in self.message_dict.items()
            }
        return {"detail": self.messages}

    def __str__(self) -> str:
        # Sentences, not Django's repr of a list or dict: this is what a log line shows.
        if hasattr(self, "error_dict"):
            return "; ".join(f"{f}: {' '.join(m)}" for f, m in self.message_dict.items())
        return " ".join(self.messages)


class Forbidden(ServiceError, PermissionDenied):
    """This actor may not do this (403)."""

    status = 403
    default_message = "You do not have permission to perform this action."


class NotFound(ServiceError, Http404):
    """Nothing there, or nothing this actor may see: the two look alike (404)."""

    status = 404
    default_message = "Not found."


class Conflict(ServiceError):
    """The object's state does not allow this now (409); what else the API body should carry
    (say, the locked `fields`) goes in `extra`."""

    status = 409
    default_message = "The request is not in a state that allows this."

    def __init__(self, message: str = "", *, extra: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        return {"detail": " ".join(self.messages), **self.extra}


def refusal(exc: BaseException) -> ServiceError | None:
    """`exc` as one of the four, or None when it is no refusal (a bug, a crash): a ServiceError
    as it is, Django's ValidationError as Invalid, PermissionDenied as Forbidden, Http404 as
    NotFound."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, ValidationError):
        return Invalid(exc)
    if isinstance(exc, PermissionDenied):
        return Forbidden(*exc.args)
    if isinstance(exc, Http404):
        return NotFound(*exc.args)
    return None


# What a caller that answers refusals itself catches: the hierarchy and the two Django
# exceptions that mean the same (a model's full_clean raises ValidationError).
REFUSALS: tuple[type[Exception], ...] = (ServiceError, ValidationError, PermissionDenied)


def refusal_messages(exc: BaseException) -> list[str]:
    """The sentences a person reads about a refusal."""
    found = refusal(exc)
    return found.messages if found is not None else [str(exc)]


def refusal_text(exc: BaseException) -> str:
    return " ".join(refusal_messages(exc))


def add_form_errors(form, exc: BaseException) -> None:
    """Put a refusal on a Django form: field errors next to their field, the rest on top."""
    found = refusal(exc)
    fields = found.field_errors if found is not None else {}
    if not fields:
        form.add_error(None, refusal_messages(exc))
        return
    for field, messages in fields.items():
        form.add_error(field if field in form.fields else None, messages)
