"""The portal's token button on "My access": issue a token for one active grant and show it
once, with its expiry and a curl example for the storage tier. Nothing is stored in the
session or the URL; the page is not cached."""

from __future__ import annotations

import math
import shlex

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from access import selectors

from .api.tokens import TokenThrottle
from .issue import TokenRefused, token_issue


@never_cache
@login_required
@require_POST
def grant_token(request: HttpRequest, pk: int) -> HttpResponse:
    grant = selectors.grant_list_for_user(request.user).filter(pk=pk).first()
    if grant is None:
        raise Http404("No such grant.")
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
    url = f"{settings.TESSERA_STORAGE_URL.rstrip('/')}/datasets/{issued.dataset}/"
    curl = f"curl -H {shlex.quote('Authorization: Bearer ' + issued.token)} {shlex.quote(url)}"
    return render(
        request,
        "tokens/token_issued.html",
        {"grant": grant, "issued": issued, "curl": curl, "storage_url": url},
    )
