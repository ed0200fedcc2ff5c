"""Edge middleware: health probes before everything else, and NUL characters refused."""

from __future__ import annotations

import json

from django.http import HttpResponseBadRequest, JsonResponse

from .api.views import healthz, readyz

PROBES = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Answers `/healthz` and `/readyz` before sessions, authentication and django-auditlog run.

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


def _nul_fields(request) -> list[str]:
    if NUL in request.path_info:
        return ["path"]
    fields = [
        key
        for key, values in request.GET.lists()
        if NUL in key or any(NUL in value for value in values)
    ]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        content_type = request.content_type or ""
        if content_type == "application/x-www-form-urlencoded":
            fields += [
                key
                for key, values in request.POST.lists()
                if NUL in key or any(NUL in value for value in values)
            ]
        elif content_type == "application/json" or content_type.endswith("+json"):
            try:
                found = _nul_in_json(json.loads(request.body))
            except ValueError:
                found = None  # not JSON: the view's parser answers that
            if found:
                fields.append(found)
    return [_shown(f) for f in fields]


class NulCharacterMiddleware:
    """Refuses NUL characters in the path, the query string and form or JSON bodies with a 400
    naming the parameter.

    PostgreSQL cannot store or even compare text holding NUL: any lookup with such a value
    fails with a DataError, a 500. Form and serializer fields reject NUL, but lookups made
    before field validation (related-field slugs, ontology codes, path converters, filters read
    straight from the query string) do not, and the fuzzer keeps finding new ones. No valid
    input to Tessera contains NUL, so it is refused once, here. Multipart bodies are left alone
    (an uploaded document may well contain NUL bytes; its text fields are validated by forms).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        fields = _nul_fields(request)
        if not fields:
            return self.get_response(request)
        errors = {field: [NUL_MESSAGE] for field in fields}
        if request.path_info.startswith("/api/"):
            return JsonResponse(errors, status=400)
        return HttpResponseBadRequest(
            f"{NUL_MESSAGE} ({', '.join(fields)})", content_type="text/plain; charset=utf-8"
        )
