"""API-wide conventions: error bodies name the field, Django ValidationErrors become 400s, and
so does what Django calls a suspicious operation (in JSON, not Django's HTML 400 page)."""

from __future__ import annotations

import logging

from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, SuspiciousOperation | MultiPartParserError):
        # Logged where Django logs them; the message may name storage paths, so it stays there.
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error("%s", exc)
        exc = exceptions.ParseError("The request could not be read.")
    return drf_exception_handler(exc, context)


class StandardPagination(PageNumberPagination):
    """Page numbers, `page_size` up to 100."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
