"""Edge middleware: health probes before everything else; NUL characters, nesting too deep
and unreadable bodies refused with a 400; a service's refusal that a view let through answered
with its status (`RefusalMiddleware`)."""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import unquote_plus

from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError

from core import safejson

from . import errors
from .exceptions import ServiceError, refusal
from .health import healthz, readyz
from .metrics import metrics

# /metrics is answered here too: a scrape every few seconds should cost no session or user
# query, and Prometheus scrapes a node directly, over plain HTTP, like the probes.
PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}


class ProbeMiddleware:
    """Answers `/healthz`, `/readyz` and `/metrics` before sessions, authentication and
    django-auditlog run.

    Further down the stack a request carrying a session cookie costs two queries (auditlog asks
    who the user is): liveness would fail whenever the database does, so a load balancer would
    restart healthy web nodes during a database outage, and readiness would answer 500 instead
    of its 503. First in the stack the probes also skip the HTTPS redirect (orchestrators probe
    a node over plain HTTP), but not the Host check: a probe sends a Host from ALLOWED_HOSTS, as
    docs/deployment.md says, and any other Host gets the 400 every other path gives.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            request.get_host()  # DisallowedHost: Django answers 400
            return probe(request)
        return self.get_response(request)


NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."
MALFORMED_MESSAGE = "The request could not be read."
TOO_DEEP_MESSAGE = "The request nests too deeply to be processed."
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

security_log = logging.getLogger("django.security.BadInput")


def wants_json(request) -> bool:
    """The REST API and the OAuth endpoints answer in JSON, the portal and admin in text."""
    return request.path_info.startswith(errors.JSON_PREFIXES)


def bad_request(request, errors: dict[str, list[str]]) -> HttpResponse:
    """A 400 naming what was refused: JSON for the API (RFC 6749 §5.2 shape under /o/)."""
    if request.path_info.startswith("/o/"):
        description = "; ".join(f"{field}: {' '.join(m)}" for field, m in errors.items())
        return JsonResponse(
            {"error": "invalid_request", "error_description": description}, status=400
        )
    if wants_json(request):
        return JsonResponse(errors, status=400)
    message = "; ".join(f"{' '.join(m)} ({field})" for field, m in errors.items())
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _shown(name: str) -> str:
    return name.replace(NUL, "\\x00")


def _nul_in_json(value, path: str = "") -> str | None:
    """The dotted path of the first string (or key) in `value` holding a NUL character."""
    if isinstance(value, str):
        return (path or "body") if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            found = here if NUL in str(key) else _nul_in_json(item, here)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in_json(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _nul_in_form(data, files=None) -> list[str]:
    fields = [
        key for key, values in data.lists() if NUL in key or any(NUL in value for value in values)
    ]
    # File names need no check: Django drops their non-printable characters.
    fields += [key for key in (files or {}) if NUL in key]
    return fields


def _header_name(meta_key: str) -> str:
    return meta_key.removeprefix("HTTP_").replace("_", "-").title()


def _nul_in_basic_credentials(authorization: str) -> bool:
    """Basic credentials hide NUL twice: base64, then (RFC 6749 §2.3.1) form-urlencoding,
    which django-oauth-toolkit undoes before it looks the client up."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False  # not credentials at all: the authenticator refuses them
    return NUL in decoded or NUL in unquote_plus(decoded)


def _nul_in_headers(request) -> list[str]:
    fields = []
    for key, value in request.META.items():
        if not isinstance(value, str) or not (key.startswith("HTTP_") or key == "CONTENT_TYPE"):
            continue
        if NUL in key or NUL in value:
            fields.append(_header_name(key))
        elif key == "HTTP_AUTHORIZATION" and _nul_in_basic_credentials(value):
            fields.append("Authorization")
    return fields


def _nul_in_body(request) -> list[str]:
    content_type = request.content_type or ""
    if content_type == FORM:
        data = request.POST if request.method == "POST" else QueryDict(request.body)
        return _nul_in_form(data)
    if content_type == MULTIPART:
        if request.method != "POST":
            # Django parses multipart bodies of POSTs only; parse a PUT's or PATCH's here and
            # leave the result where DRF's Request looks for an already-read form.
            request._post, request._files = request.parse_file_upload(request.META, request)
        return _nul_in_form(request.POST, request.FILES)
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            found = _nul_in_json(safejson.loads(request.body))
        except ValueError:
            found = None  # not JSON, or nested too deep: the view's parser answers that
        return [found] if found else []
    return []


def _nul_fields(request) -> list[str]:
    if NUL in request.path_info:
        return ["path"]
    fields = _nul_in_form(request.GET) + _nul_in_headers(request)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        fields += _nul_in_body(request)
    return [_shown(f) for f in fields]


class NulCharacterMiddleware:
    """Refuses NUL characters in the path, the query string, headers and cookies (Basic
    credentials decoded), and form, multipart or JSON bodies of any method, with a 400 naming
    the parameter.

    PostgreSQL cannot store or even compare text holding NUL: any lookup with such a value
    fails with a DataError, a 500. Form and serializer fields reject NUL, but lookups made
    before field validation (related-field slugs, ontology codes, path converters, filters read
    straight from the query string, OAuth client ids from a Basic header) do not, and the
    fuzzer kept finding new ones. No valid input to Tessera contains NUL, so it is refused
    once, here. The content of uploaded files is left alone (a PDF may well hold NUL bytes).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            fields = _nul_fields(request)
        except (MultiPartParserError, SuspiciousOperation) as exc:
            # An unreadable or oversized body, met here first: the same 400 the view would give,
            # in the caller's format.
            security_log.warning("Refused %s %s: %s", request.method, request.path_info, exc)
            return bad_request(request, {"body": [MALFORMED_MESSAGE]})
        if not fields:
            return self.get_response(request)
        return bad_request(request, {field: [NUL_MESSAGE] for field in fields})


class BadInputMiddleware:
    """Turns what a view raises on hostile input into a 400 instead of a 500 (or an HTML 400
    from the JSON API).

    - RecursionError, on any path: deeply nested input that slipped past the parsers' nesting
      limit (core/safejson.py) into some other recursive code;
    - SuspiciousOperation and unreadable multipart bodies under the API: Django answers those
      with its HTML 400 page, which an API client cannot read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RecursionError):
            security_log.warning("RecursionError on %s %s", request.method, request.path_info)
            return bad_request(request, {"body": [TOO_DEEP_MESSAGE]})
        if isinstance(exception, SuspiciousOperation | MultiPartParserError) and wants_json(
            request
        ):
            logging.getLogger(f"django.security.{exception.__class__.__name__}").error(
                "%s", exception
            )
            return bad_request(request, {"detail": [MALFORMED_MESSAGE]})
        return None


class RefusalMiddleware:
    """A service's refusal (core/exceptions.py) that a portal or admin view did not answer on
    its own page becomes the branded error page for its status, saying why: 400 bad input,
    403 not allowed, 404 not found, 409 wrong state; JSON for the API and the OAuth endpoints
    (DRF views answer their own in `core.api.exception_handler` first). Django's own
    PermissionDenied and Http404 are left to its handlers (the same pages, core/errors.py); a
    Django ValidationError that escaped a view is bad input too, not a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ServiceError | ValidationError):
            return None
        found = refusal(exception)
        if wants_json(request):
            return JsonResponse(found.body(), status=found.status)
        return errors.refused(request, found)
