"""The outside expert's side of the portal: the e-mailed link's page (accept), the list of the
reviews they give an opinion on, and each one's page (the request's answers and attachments,
their opinions to the committee). Anyone else, and the expert once the review has ended, gets
404 (`access.selectors.expert_review_for`)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.views.decorators.http import require_GET, require_http_methods

from core.exceptions import REFUSALS, NotFound, add_form_errors, refusal_text

from .. import selectors
from ..answers import PURPOSE_FLAGS
from ..models import AccessRequest, Comment
from ..services import experts as expert_services


class OpinionForm(forms.Form):
    body = forms.CharField(
        label="Your opinion to the committee",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20000,
        help_text="Only the committee reads it; the applicant does not.",
        error_messages={"required": "Write your opinion."},
    )


def _link_refused(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "access/invitation_refused.html",  # the page of every e-mailed link that cannot be used
        {"reason": expert_services.LINK_REFUSED},
        status=404,
    )


@login_required
@require_http_methods(["GET", "POST"])
def expert_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page the e-mailed link opens: which committee asks, about which request; accept."""
    try:
        expert = expert_services.expert_from_token(token)
    except NotFound:
        return _link_refused(request)
    if request.method == "POST":
        try:
            expert = expert_services.expert_accept(token=token, actor=request.user)
        except NotFound:
            return _link_refused(request)
        except REFUSALS as exc:
            messages.error(request, f"Not accepted. {refusal_text(exc)}".strip())
            return redirect(request.path)
        messages.success(
            request, "You can now read the request and write your opinion to the committee."
        )
        return redirect("access:expert-review", pk=expert.pk)
    return render(
        request,
        "access/expert_invitation.html",
        {
            "expert": expert,
            "access_request": expert.review.request,
            "committee": expert.review.committee,
            "inviter": expert.invited_by,
        },
    )


@login_required
@require_GET
def expert_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "access/expert_list.html",
        {"assignments": list(selectors.experts_active_for(request.user).order_by("-accepted_at"))},
    )


def _purposes(access_request: AccessRequest) -> list[str]:
    opts = AccessRequest._meta
    return [
        capfirst(str(opts.get_field(name).verbose_name))
        for name in PURPOSE_FLAGS
        if getattr(access_request, name)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def expert_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The request's answers and attachments, and the expert's opinions; POST adds one."""
    expert = selectors.expert_review_for(request.user, pk)
    review = expert.review
    access_request = review.request
    form = OpinionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            expert_services.expert_comment(
                expert=expert, actor=request.user, body=form.cleaned_data["body"]
            )
        except REFUSALS as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Your opinion was sent to {review.committee.name}.")
            return redirect(reverse("access:expert-review", kwargs={"pk": pk}) + "#opinions")
    return render(
        request,
        "access/expert_review.html",
        {
            "expert": expert,
            "review": review,
            "committee": review.committee,
            "access_request": access_request,
            "datasets": [d for d in access_request.datasets.order_by("accession")],
            "review_datasets": {d.pk for d in review.datasets()},
            "diseases": list(access_request.diseases.order_by("label")),
            "purposes": _purposes(access_request),
            "opinions": Comment.objects.filter(
                request=access_request, committee=review.committee, author=request.user
            ).order_by("created_at"),
            "form": form,
        },
        status=400 if form.errors else 200,
    )
