"""API-wide conventions: error bodies name the field, Django ValidationErrors become 400s."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)


class StandardPagination(PageNumberPagination):
    """Page numbers, `page_size` up to 100."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
