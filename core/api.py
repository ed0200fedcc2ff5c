"""API-wide conventions: error bodies name the field; a service's refusal (core/exceptions.py:
Invalid, Forbidden, NotFound, Conflict, and Django's ValidationError and PermissionDenied) is
answered here and nowhere else, with its status and its body; what Django calls a suspicious
operation is a 400 (in JSON, not Django's HTML 400 page); and refusals of the actions a view
lists in `refusals_recorded` are announced (`core.signals.api_refused`), which the audit app
records in the ledger."""

from __future__ import annotations

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .exceptions import refusal
from .signals import REFUSED_STATUSES, api_refused


def exception_handler(exc, context):
    found = None if isinstance(exc, Http404) else refusal(exc)  # DRF words its own 404s
    if found is not None:
        set_rollback()  # what DRF does for its own exceptions: ATOMIC_REQUESTS rolls back
        response = Response(found.body(), status=found.status)
    else:
        if isinstance(exc, SuspiciousOperation | MultiPartParserError):
            # Logged where Django logs them; the message may name storage paths, so it stays.
            logging.getLogger(f"django.security.{exc.__class__.__name__}").error("%s", exc)
            exc = exceptions.ParseError("The request could not be read.")
        response = drf_exception_handler(exc, context)
    if response is not None and response.status_code in REFUSED_STATUSES:
        _record_refusal(response.status_code, context)
    return response


def _record_refusal(status: int, context) -> None:
    """A view names the actions whose refusals are recorded: `refusals_recorded` maps the
    ViewSet action (or, for a plain APIView, the lower-case method) to the ledger's name."""
    view, request = context.get("view"), context.get("request")
    recorded = getattr(view, "refusals_recorded", None)
    if not recorded or request is None:
        return
    label = recorded.get(getattr(view, "action", None) or request.method.lower())
    if label is None:
        return
    # `_auth` and `_user`, not `auth` and `user`: those would authenticate again, and the
    # refusal may be that authentication failed.
    auth = getattr(request, "_auth", None)
    who = getattr(auth, "actor", None) or getattr(request, "_user", None)
    api_refused.send(
        sender=type(view),
        who=who,
        action=label,
        method=request.method,
        path=request.path,
        status=status,
    )


class StandardPagination(PageNumberPagination):
    """Page numbers, `page_size` up to 100."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
