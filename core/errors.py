"""Error pages: branded HTML with a way back for people, JSON for the API.

Django calls these when DEBUG is off (handler400/403/404/500 in config.urls, CSRF_FAILURE_VIEW);
`refused` answers a service's refusal that a portal or admin view let through
(`core.middleware.RefusalMiddleware`), with its status and its reason, whatever DEBUG says.
The 500 page renders without the request's context: the database may be what failed, and the
context processors would ask it who the user is.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

from .exceptions import ServiceError

API_PREFIX = "/api/"

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


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": MESSAGES[500]}, status=500)
    return HttpResponse(loader.get_template("errors/500.html").render({}), status=500)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: usually an expired form or blocked cookies, so say how to go on."""
    if _is_api(request):
        return JsonResponse({"detail": f"CSRF failed: {reason}"}, status=403)
    return render(request, "errors/403_csrf.html", status=403)
