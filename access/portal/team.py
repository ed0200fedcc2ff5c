"""A request's team in the portal: the applicant invites people by e-mail, withdraws an
invitation or takes a member off the team (on the request's page); the invitee opens the link
(`/invitations/<token>/`), signs in and accepts or declines; "My invitations" lists the open
invitations sent to the signed-in person's own address.

Every change goes through `access.services.team`. A link that cannot be used gets one page
(`LINK_REFUSED`, 404) whatever the reason, and sending answers the same for any address.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import REFUSALS, NotFound, refusal_text

from .. import selectors
from ..choices import RequestStatus
from ..services import requests as request_services
from ..services import team as team_services
from .forms import InvitationForm, TeamDepartureForm


def team_context(access_request, user) -> dict:
    """What the request's page shows of the team: the accepted members to everyone on it; the
    invitations, the invite form and the buttons to its applicant only."""
    context = {"team": list(access_request.team_members.order_by("last_name", "username"))}
    if access_request.applicant_id == user.pk:
        refusal = request_services.team_change_refusal(access_request)
        context |= {
            "invitations": selectors.invitations_of_request(access_request),
            "invitation_form": InvitationForm(),
            "team_editable": refusal is None,
            "team_fixed_reason": refusal or "",
            # After submission the team shrinks behind a confirmation page (with a reason):
            # leaving needs no review, and what the member holds from the request ends.
            "team_removable": refusal is not None
            and access_request.status == RequestStatus.SUBMITTED
            and not access_request.is_renewal,  # a renewal's team is its project's
        }
    return context


def _applicants_request(request: HttpRequest, pk: int):
    """The request, for its applicant only: anyone else, team members included, gets a 404."""
    access_request = selectors.request_get_for_user(request.user, pk)
    if access_request.applicant_id != request.user.pk:
        raise Http404("No such access request.")
    return access_request


def _team_anchor(pk: int) -> str:
    return reverse("access:request-detail", kwargs={"pk": pk}) + "#team"


@login_required
@require_POST
def invitation_send(request: HttpRequest, pk: int) -> HttpResponse:
    access_request = _applicants_request(request, pk)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not sent. " + " ".join(form.errors.get("email", [])))
        return redirect(_team_anchor(pk))
    try:
        invitation = team_services.invitation_send(
            access_request=access_request, actor=request.user, email=form.cleaned_data["email"]
        )
    except REFUSALS as exc:
        messages.error(request, f"Not sent. {refusal_text(exc)}".strip())
    else:
        # The same words for every address: nothing says whether it has an account.
        messages.success(
            request,
            f"We sent an invitation to {invitation.email}. It works until "
            f"{invitation.expires_at:%d %B %Y}; the person joins the team when they accept it.",
        )
    return redirect(_team_anchor(pk))


@login_required
@require_POST
def invitation_withdraw(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    access_request = _applicants_request(request, pk)
    invitation = get_object_or_404(access_request.invitations, pk=invitation_pk)
    try:
        team_services.invitation_withdraw(invitation=invitation, actor=request.user)
    except REFUSALS as exc:
        messages.error(request, f"Not withdrawn. {refusal_text(exc)}".strip())
    else:
        messages.success(request, f"Withdrew the invitation to {invitation.email}.")
    return redirect(_team_anchor(pk))


@login_required
@require_http_methods(["GET", "POST"])
def team_member_remove(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    """The applicant takes a member off the team. A draft's team changes at a click; after
    submission a confirmation page (GET) says what ends, and asks for an optional reason."""
    access_request = _applicants_request(request, pk)
    member = get_object_or_404(access_request.team_members.all(), pk=user_pk)
    name = member.get_full_name() or member.get_username()
    form = TeamDepartureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            team_services.team_member_remove(
                access_request=access_request,
                actor=request.user,
                user=member,
                reason=form.cleaned_data["reason"],
            )
        except REFUSALS as exc:
            messages.error(request, f"Not removed. {refusal_text(exc)}".strip())
        else:
            ended = access_request.status != RequestStatus.DRAFT
            messages.success(
                request,
                f"{name} is no longer on the team."
                + (" Their access from this request was revoked." if ended else ""),
            )
        return redirect(_team_anchor(pk))
    return render(
        request,
        "access/confirm.html",
        {
            "access_request": access_request,
            "action": "remove",
            "member_name": name,
            "title": f"Remove {name} from the team of {access_request.reference}",
            "button": f"Remove {name} and revoke their access",
            "form": form,
            "approved_by": [
                r.committee.name for r in request_services.approvals_standing(access_request)
            ],
        },
        status=400 if form.errors else 200,
    )


# --- the invitee ------------------------------------------------------------------------------
def _link_refused(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "access/invitation_refused.html",
        {"reason": team_services.LINK_REFUSED},
        status=404,
    )


@login_required
@require_http_methods(["GET", "POST"])
def invitation_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The page the e-mailed link opens: which request, by whom, and accept or decline."""
    try:
        invitation = team_services.invitation_from_token(token)
    except NotFound:
        return _link_refused(request)
    if request.method == "POST":
        answer = request.POST.get("answer")
        service = {
            "accept": team_services.invitation_accept,
            "decline": team_services.invitation_decline,
        }.get(answer)
        if service is None:
            messages.error(request, "Choose to accept or to decline.")
            return redirect(request.path)
        try:
            service(token=token, actor=request.user)
        except NotFound:
            return _link_refused(request)
        except REFUSALS as exc:
            messages.error(request, f"Not answered. {refusal_text(exc)}".strip())
            return redirect(request.path)
        access_request = invitation.request
        if answer == "accept":
            messages.success(
                request,
                f"You joined the team of {access_request.reference}. Accept its access "
                "agreements below: you get access only once you have.",
            )
            return redirect(access_request)
        messages.success(request, f"You declined the invitation to {access_request.reference}.")
        return redirect("access:invitation-list")
    applicant = invitation.request.applicant
    return render(
        request,
        "access/invitation.html",
        {
            "invitation": invitation,
            "access_request": invitation.request,
            "applicant_name": applicant.get_full_name() or applicant.get_username(),
            "is_applicant": applicant.pk == request.user.pk,
        },
    )


@login_required
@require_http_methods(["GET"])
def invitation_list(request: HttpRequest) -> HttpResponse:
    """The "My invitations" page: the open invitations sent to the person's own address, each
    linking to its answer page (a fresh link for the same invitation)."""
    return render(
        request,
        "access/invitation_list.html",
        {"rows": invitation_rows(request.user)},
    )


def invitation_rows(user) -> list[dict]:
    """The rows of "My invitations" (an account page may show the same)."""
    rows = []
    for invitation in selectors.invitations_pending_for(user):
        applicant = invitation.request.applicant
        rows.append(
            {
                "invitation": invitation,
                "access_request": invitation.request,
                "applicant_name": applicant.get_full_name() or applicant.get_username(),
                "url": reverse(
                    "access:invitation",
                    kwargs={"token": team_services.invitation_token(invitation)},
                ),
            }
        )
    return rows
