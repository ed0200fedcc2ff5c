"""Renewals in the portal: "Ask for more time" on an approved request's page, from
`TESSERA_RENEWAL_WINDOW_DAYS` before a grant ends (`access.services.renewals`). The applicant
only; anyone else gets a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.exceptions import REFUSALS, add_form_errors

from .. import selectors
from ..services import renewals as renewal_services
from .forms import RenewalForm


@login_required
@require_http_methods(["GET", "POST"])
def request_renew(request: HttpRequest, pk: int) -> HttpResponse:
    access_request = selectors.request_get_for_applicant(request.user, pk)
    refusal = renewal_services.renewal_refusal(access_request)
    form = RenewalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            renewal = renewal_services.renewal_open(
                access_request=access_request,
                actor=request.user,
                months=form.cleaned_data["months"],
                progress_report=form.cleaned_data["progress_report"],
            )
        except REFUSALS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(
                request,
                f"Asked for {renewal.renewal_months} more months: {renewal.reference} went to "
                "the committees. Your access continues meanwhile.",
            )
            return redirect(renewal)
    grants = selectors.grants_renewable(access_request)
    return render(
        request,
        "access/renew.html",
        {
            "access_request": access_request,
            "form": form,
            "refusal": refusal,
            "grants": grants,
            "pending": selectors.renewal_pending_of(access_request),
        },
    )
