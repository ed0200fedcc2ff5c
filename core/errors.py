"""Error pages: branded HTML with a way back for people, JSON for the API.

Django calls these when DEBUG is off (handler400/403/404/500 in config.urls, CSRF_FAILURE_VIEW);
`refused` answers a service's refusal that a portal or admin view let through
(`core.middleware.RefusalMiddleware`), with its status and its reason, whatever DEBUG says.
The 500 page renders without the request's context: the database may be what failed, and the
context processors would ask it who the user is.

A database that cannot be reached (down, restarting, failing over, refusing connections) is not a
server error: wherever it surfaces (a view, a DRF view, a middleware such as the introspection
endpoint's), Django hands the exception to `server_error`, which answers 503 with `Retry-After`
instead (`unavailable`): JSON for machine clients, the branded page for people. The storage tier
then falls back to its offline check and retries; nothing was committed.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

from .exceptions import ServiceError

API_PREFIX = "/api/"
# Machine clients: the REST API, the OAuth endpoints and the published keys answer in JSON.
JSON_PREFIXES = (API_PREFIX, "/o/", "/.well-known/")
# The database errors that mean "cannot be reached now", not "this request is wrong".
UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5

MESSAGES = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    409: "The request is not in a state that allows this.",
    500: "Server error.",
}


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _page(request, status: int, template: str, context: dict | None = None):
    if _is_api(request):
        return JsonResponse({"detail": MESSAGES[status]}, status=status)
    return render(request, template, context or {}, status=status)


PAGES = {
    400: "errors/400.html",
    403: "errors/403.html",
    404: "errors/404.html",
    409: "errors/409.html",
}


def refused(request, error: ServiceError):
    """A refusal as the branded page for its status, saying why (the reason is written for the
    person who asked); under the API, JSON with the API's body."""
    if _is_api(request):
        return JsonResponse(error.body(), status=error.status)
    template = PAGES.get(error.status, "errors/400.html")
    return render(request, template, {"reason": " ".join(error.messages)}, status=error.status)


def bad_request(request, exception=None):  # noqa: ARG001 - handler400 signature
    return _page(request, 400, "errors/400.html")


def permission_denied(request, exception=None):  # noqa: ARG001 - handler403 signature
    return _page(request, 403, "errors/403.html")


def page_not_found(request, exception=None):  # noqa: ARG001 - handler404 signature
    return _page(request, 404, "errors/404.html")


def unavailable(request) -> HttpResponse:
    """503 with `Retry-After`: the database cannot be reached (see the module's docstring)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if request.path_info.startswith(JSON_PREFIXES):
        return JsonResponse(
            {
                "detail": "The service is briefly unavailable: its database cannot be reached. "
                f"Nothing was changed; retry after {RETRY_AFTER_SECONDS} seconds."
            },
            status=503,
            headers=headers,
        )
    page = loader.get_template("errors/503.html").render({"retry_after": RETRY_AFTER_SECONDS})
    return HttpResponse(page, status=503, headers=headers)


def server_error(request):
    if isinstance(sys.exc_info()[1], UNAVAILABLE):
        return unavailable(request)
    if _is_api(request):
        return JsonResponse({"detail": MESSAGES[500]}, status=500)
    return HttpResponse(loader.get_template("errors/500.html").render({}), status=500)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: usually an expired form or blocked cookies, so say how to go on."""
    if _is_api(request):
        return JsonResponse({"detail": f"CSRF failed: {reason}"}, status=403)
    return render(request, "errors/403_csrf.html", status=403)
