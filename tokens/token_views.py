"""The portal's token button on "My access": issue a token for one active grant and show it
once, with its expiry and a curl example for the storage tier. The token is never stored in
the session or the URL; the page is not cached.

Reloading the page re-sends the form. Each "My access" page gives its token forms a fresh
`form_id`; the session remembers the last few used (the id and the token's expiry, never the
token), so a re-sent form gets a page that says no new token was issued. A GET (a bookmark, a
reload after the browser dropped the POST) goes to My access."""

from __future__ import annotations

import math
import secrets
import shlex

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from access import selectors

from .api.tokens import TokenThrottle
from .issue import TokenRefused, token_issue

# The session key of the token forms already used, and how many are remembered.
FORMS_USED = "tokens_forms_used"
FORMS_KEPT = 20


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def grant_token(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        messages.info(request, "To get a token, press “Get a token” on the grant below.")
        return redirect("access:grant-list")
    grant = selectors.grant_list_for_user(request.user).filter(pk=pk).first()
    if grant is None:
        raise Http404("No such grant.")
    form_id = request.POST.get("form_id", "")[:64]
    key = f"{grant.pk}:{form_id}"
    used: dict[str, str] = request.session.get(FORMS_USED, {})
    if form_id and key in used:
        return render(
            request,
            "tokens/token_reloaded.html",
            {
                "grant": grant,
                "expires_at": parse_datetime(used[key]),
                "now": timezone.now(),
                "form_id": secrets.token_urlsafe(12),
            },
        )
    # The same budget per person as `POST /api/v1/tokens/`: one counter, whichever way asked.
    throttle = TokenThrottle()
    if not throttle.allow_request(request, None):
        wait = throttle.wait()
        messages.error(
            request,
            f"Too many tokens asked for in the last minute; try again in {math.ceil(wait or 1)} "
            "seconds. A token lasts an hour: the one you have can be used again.",
        )
        return redirect("access:grant-list")
    try:
        issued = token_issue(grant=grant, actor=request.user)
    except TokenRefused as exc:
        messages.error(request, f"No token for {grant.dataset.accession}: {exc}")
        return redirect("access:grant-list")
    if form_id:
        used[key] = issued.expires_at.isoformat()
        request.session[FORMS_USED] = dict(list(used.items())[-FORMS_KEPT:])
    url = f"{settings.TESSERA_STORAGE_URL.rstrip('/')}/datasets/{issued.dataset}/"
    curl = f"curl -H {shlex.quote('Authorization: Bearer ' + issued.token)} {shlex.quote(url)}"
    return render(
        request,
        "tokens/token_issued.html",
        {
            "grant": grant,
            "issued": issued,
            "curl": curl,
            "storage_url": url,
            "minutes": max(1, round(issued.expires_in / 60)),
        },
    )
