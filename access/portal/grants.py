"""The researcher's "My access": their grants, active first, with the last day each lasts."""

from __future__ import annotations

import secrets

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import selectors


@login_required
@require_GET
def grant_list(request: HttpRequest) -> HttpResponse:
    grants = []
    for grant in selectors.grant_list_for_user(request.user):
        reason = grant.inactive_reason()
        grants.append(
            {
                "grant": grant,
                "active": reason is None,
                "reason": reason,
                "last_day": selectors.grant_last_day(grant),
            }
        )
    grants.sort(key=lambda g: (not g["active"], g["grant"].valid_until))
    return render(
        request,
        "access/grant_list.html",
        {
            "grants": grants,
            "active_count": sum(g["active"] for g in grants),
            # Tells a fresh "Get a token" from the same form sent again by a reload.
            "token_form_id": secrets.token_urlsafe(12),
        },
    )
