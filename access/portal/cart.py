"""The cart: a dataset added to an open draft from the catalogue or a dataset's page.

`GET /requests/cart/?dataset=…` asks where the dataset goes: with no draft open it starts a new
request (the request form, the dataset chosen); with one, "Add to draft TSR-AR-…?"; with several,
which one. `POST` adds it (`access.services.requests.request_datasets_add`). Works without
JavaScript. `catalogue_cart` is what the catalogue's pages show a person about their own
requests (registered in `governance.cart`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.exceptions import REFUSALS, refusal_text

from .. import selectors
from ..services import requests as request_services

MAX_DATASETS = 50


def catalogue_cart(user, datasets) -> dict:
    """For `governance.cart`: the person's holdings among `datasets`, and their open drafts."""
    return {
        "holdings": selectors.dataset_holdings_for(user, datasets),
        "drafts": selectors.drafts_open_for(user),
    }


def _accessions(values) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values[:MAX_DATASETS] if v.strip()))


def _cart_url(accessions) -> str:
    return reverse("access:cart") + "?" + urlencode([("dataset", a) for a in accessions])


def _create_url(accessions) -> str:
    return reverse("access:request-create") + "?" + urlencode([("dataset", a) for a in accessions])


@login_required
@require_http_methods(["GET", "POST"])
def cart(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    wanted = _accessions(source.getlist("dataset"))
    found = {d.accession: d for d in selectors.datasets_named(wanted)}
    missing = [a for a in wanted if a not in found]
    if not wanted or missing:
        messages.error(
            request,
            f"Not in the catalogue: {', '.join(missing)}."
            if missing
            else "Choose a dataset in the catalogue first.",
        )
        return redirect("portal:catalogue")
    datasets = [found[a] for a in wanted]
    if request.method == "POST":
        return _add(request, datasets)
    drafts = selectors.drafts_open_for(request.user)
    if not drafts:
        return redirect(_create_url(wanted))
    ids = {d.pk for d in datasets}
    holdings = selectors.dataset_holdings_for(request.user, datasets)
    choices = [
        {
            "draft": draft,
            "has_all": ids <= {d.pk for d in draft.datasets.all()},
        }
        for draft in drafts
    ]
    return render(
        request,
        "access/cart.html",
        {
            "datasets": datasets,
            "choices": choices,
            "one": choices[0] if len(choices) == 1 else None,
            "items": [{"dataset": d, "holding": holdings.get(d.pk)} for d in datasets],
            "create_url": _create_url(wanted),
        },
    )


def _add(request: HttpRequest, datasets) -> HttpResponse:
    accessions = [d.accession for d in datasets]
    pk = request.POST.get("request", "").strip()
    if not pk:
        messages.error(request, "Choose the draft to add the dataset to.")
        return redirect(_cart_url(accessions))
    access_request = selectors.request_get_for_applicant(request.user, pk)
    try:
        request_services.request_datasets_add(
            access_request=access_request, actor=request.user, datasets=datasets
        )
    except REFUSALS as exc:
        messages.error(request, f"Not added. {refusal_text(exc)}")
        return redirect(access_request)
    messages.success(
        request,
        f"Added {', '.join(accessions)} to {access_request.reference} “{access_request.title}”. "
        "Check what is still needed below, then submit.",
    )
    return redirect(access_request)
