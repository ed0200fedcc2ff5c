"""The researcher's requests in the portal: "My requests", the request form, a request's page and
its actions (submit, withdraw, agreements, comments, the ethics document). Server-rendered, usable
without JavaScript; the pages' contents are built in `access.portal.context`.

Reads go through `access.selectors` (404 for anything not the user's); every change goes
through `access.services`, whose refusals (core/exceptions.py) become messages on the page or
errors on the form, in the words `core.exceptions` gives them; never a 500.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.exceptions import REFUSALS, refusal, refusal_text
from governance import selectors as catalogue
from governance.models import AccessAgreement

from .. import lifecycle, selectors
from ..answers import PURPOSE_FLAGS
from ..choices import RequestStatus, ReviewStatus
from ..models import AccessRequest, CloseOut
from ..services import amendments as amendment_services
from ..services import closeouts as closeout_services
from ..services import requests as request_services
from ..services import reviews as review_services
from ..services import team as team_services
from ..uploads import sniff
from . import context as ctx
from .forms import AccessRequestForm, CloseOutForm, CommentForm, TeamDepartureForm
from .team import team_context

log = logging.getLogger(__name__)

REQUESTS_PAGE_SIZE = 25
CLOSEOUT_NEXT_STEP = "File the close-out of the project: what became of the data, and its results."
SEARCH_RESULTS = 20


# --- helpers ------------------------------------------------------------------------------------
def _perform(request: HttpRequest, service, *, success: str, failure: str, **kwargs) -> bool:
    """Run one service call; flash its outcome. Refusals are expected answers, not crashes."""
    try:
        service(**kwargs)
    except REFUSALS as exc:
        messages.error(request, f"{failure} {refusal_text(exc)}".strip())
        return False
    messages.success(request, success)
    return True


@login_required
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    requests_qs = selectors.request_list_for_user(request.user).prefetch_related(
        "datasets__committee", "team_members"
    )
    page = Paginator(requests_qs.order_by("-last_activity_at", "-pk"), REQUESTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    items = list(page.object_list)
    agreements = selectors.current_agreements({d for r in items for d in r.datasets.all()})
    accepted = selectors.acceptances_of_user(request.user, items)
    # The applicant's ended projects on this page that still wait for their close-out.
    closeout_due = set(
        selectors.requests_ended(
            AccessRequest.objects.filter(pk__in=[r.pk for r in items], applicant=request.user)
        )
        .filter(closeout__isnull=True)
        .values_list("pk", flat=True)
    )
    rows = []
    for access_request in items:
        reviews = list(access_request.reviews.all())
        datasets = list(access_request.datasets.all())
        mine = {d.pk: agreements[d.pk] for d in datasets if d.pk in agreements}
        pending = bool(ctx.pending_agreements(access_request, request.user, mine, accepted))
        problems = None
        if access_request.status == RequestStatus.DRAFT and (
            access_request.applicant_id == request.user.pk
        ):
            problems = request_services.submission_problems(access_request)
        summary = lifecycle.summary_status(access_request.status, [r.status for r in reviews])
        rows.append(
            {
                "request": access_request,
                "is_applicant": access_request.applicant_id == request.user.pk,
                "summary": summary,
                "summary_label": ctx.status_label(summary),
                "datasets": ctx.dataset_statuses(access_request, datasets, reviews),
                "next_step": CLOSEOUT_NEXT_STEP
                if access_request.pk in closeout_due
                else ctx.next_step(
                    access_request,
                    request.user,
                    reviews=reviews,
                    pending=pending,
                    problems=problems,
                ),
            }
        )
    return render(
        request,
        "access/request_list.html",
        {
            "rows": rows,
            "page": page,
            "invitation_count": len(selectors.invitations_pending_for(request.user)),
        },
    )


# --- the request form ---------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _request_form_post(request, access_request=None)
    wanted = list(dict.fromkeys(a.strip() for a in request.GET.getlist("dataset") if a.strip()))
    found = {d.accession: d for d in selectors.datasets_for_cart(wanted)}
    missing = [a for a in wanted if a not in found]
    if missing:
        messages.warning(
            request,
            f"Not in the catalogue, so not added: {', '.join(missing)}.",
        )
    form = AccessRequestForm(
        applicant=request.user, initial={"datasets": list(found), "requested_months": 12}
    )
    return _render_form(request, form, access_request=None)


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access_request = selectors.request_get_for_user(request.user, pk)
    reviews = list(access_request.reviews.all())
    if not ctx.actions(access_request, request.user, reviews)["edit"]:
        messages.error(
            request,
            "This request cannot be edited: only the applicant edits, and only a draft or a "
            "request returned for changes.",
        )
        return redirect(access_request)
    if request.method == "POST":
        return _request_form_post(request, access_request=access_request)
    form = AccessRequestForm(
        applicant=request.user, access_request=access_request, locked=_locked(access_request)
    )
    return _render_form(request, form, access_request=access_request)


def _locked(access_request) -> tuple[str, ...]:
    """The answers the form shows disabled: those an approval still standing relied on, and an
    amendment's duration (the project's; more time is a renewal's)."""
    fixed = (
        amendment_services.FIXED_ANSWERS if getattr(access_request, "is_amendment", False) else ()
    )
    if access_request is None or access_request.status == RequestStatus.DRAFT:
        return fixed
    if request_services.approvals_standing(access_request):
        return (*lifecycle.APPROVAL_FIELDS, *fixed)
    return fixed


def _request_form_post(request: HttpRequest, *, access_request) -> HttpResponse:
    form = AccessRequestForm(
        request.POST,
        request.FILES,
        applicant=request.user,
        access_request=access_request,
        locked=_locked(access_request),
    )
    # Enter in a text box presses the form's default button, a hidden "save" placed first.
    action = request.POST.get("action", "save")
    had_file = bool(request.FILES.get("ethics_document"))
    if action in ("find-datasets", "find-diseases"):
        form.suppress_errors()
        messages.info(request, "Nothing is saved yet. Press “Save draft” when you are done.")
        if had_file:
            messages.warning(
                request,
                "Files are not kept while you search: choose the ethics approval document again.",
            )
        return _render_form(request, form, access_request=access_request, action=action)
    if form.is_valid():
        try:
            if access_request is None:
                saved = request_services.request_create(
                    applicant=request.user, **form.service_kwargs()
                )
            else:
                saved = request_services.request_update(
                    access_request=access_request, actor=request.user, **form.service_kwargs()
                )
        except ValidationError as exc:  # bad input: next to the fields it names
            form.add_service_errors(exc)
        except REFUSALS as exc:
            messages.error(request, f"Not saved. {refusal_text(exc)}")
            return redirect(access_request) if access_request else redirect("access:request-list")
        else:
            messages.success(
                request,
                f"Saved {saved.reference}. Check what is still needed below, then submit."
                if saved.status == RequestStatus.DRAFT
                else f"Saved your changes to {saved.reference}. Resubmit when you are ready.",
            )
            return redirect(saved)
    if had_file and form.errors and "ethics_document" not in form.errors:
        messages.warning(
            request,
            "Your file was not saved because of the problems below: choose it again.",
        )
    return _render_form(request, form, access_request=access_request)


def _render_form(
    request, form: AccessRequestForm, *, access_request, action: str = ""
) -> HttpResponse:
    chosen_datasets = form.chosen_datasets()
    chosen_diseases = form.chosen_diseases()
    dataset_q = (form.data.get("dataset_q", "") if form.is_bound else "").strip()
    disease_q = (form.data.get("disease_q", "") if form.is_bound else "").strip()
    dataset_results = disease_results = None
    if action == "find-datasets":
        dataset_results = selectors.dataset_search_for_cart(
            dataset_q, exclude=[d.accession for d in chosen_datasets], limit=SEARCH_RESULTS
        )
    if action == "find-diseases" and len(disease_q) >= 2:
        chosen = {d.curie for d in chosen_diseases}
        found, _ = catalogue.disease_search(disease_q, limit=SEARCH_RESULTS + len(chosen))
        disease_results = [t for t in found if t.curie not in chosen][:SEARCH_RESULTS]
    elif action == "find-diseases":
        disease_results = []
    committees = {d.committee for d in chosen_datasets}
    locked_message = ""
    if form.locked:
        standing = request_services.approvals_standing(access_request)
        locked_message = str(
            lifecycle.AnswersLocked(
                fields=form.locked, committees=[r.committee.name for r in standing]
            )
        )
    return render(
        request,
        "access/request_form.html",
        {
            "form": form,
            "access_request": access_request,
            "action": action,
            "chosen_datasets": chosen_datasets,
            "chosen_diseases": chosen_diseases,
            "dataset_q": dataset_q,
            "disease_q": disease_q,
            "dataset_results": dataset_results,
            "disease_results": disease_results,
            "committee_count": len(committees),
            "chosen_dataset_values": {d.accession for d in chosen_datasets},
            "locked_message": locked_message,
            "locked_labels": [ctx.FIELD_LABELS.get(f, f) for f in form.locked],
        },
    )


@login_required
@require_GET
def disease_search_json(request: HttpRequest) -> JsonResponse:
    """Search-as-you-type for the request form (the form works without it)."""
    q = request.GET.get("q", "").strip()[:100]
    if len(q) < 2:
        return JsonResponse({"results": [], "total": 0})
    results, total = catalogue.disease_search(q, limit=SEARCH_RESULTS)
    return JsonResponse(
        {"results": [{"curie": t.curie, "label": t.label} for t in results], "total": total}
    )


@login_required
@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, selectors.request_get_for_user(request.user, pk))


def _detail_page(
    request: HttpRequest, access_request, *, closeout_form: CloseOutForm | None = None
) -> HttpResponse:
    user = request.user
    reviews = list(access_request.reviews.all())
    datasets = list(access_request.datasets.select_related("committee"))
    team = list(access_request.team_members.all())
    people = [access_request.applicant, *team]
    is_applicant = access_request.applicant_id == user.pk
    actions = ctx.actions(access_request, user, reviews)

    agreements_by_dataset = selectors.current_agreements(datasets)
    acceptance_map = selectors.acceptance_map_for_request(access_request)
    agreements = []
    for agreement in sorted(
        set(agreements_by_dataset.values()), key=lambda a: (a.committee.name, a.pk)
    ):
        accepted_ids = acceptance_map.get(agreement.pk, set())
        agreements.append(
            {
                "agreement": agreement,
                "datasets": [d for d in datasets if agreements_by_dataset.get(d.pk) == agreement],
                "people": [
                    {
                        "person": p,
                        "name": ctx.person_name(p, user),
                        "accepted": p.pk in accepted_ids,
                    }
                    for p in people
                ],
                "user_accepted": user.pk in accepted_ids,
            }
        )

    stored = selectors.matches_for_request(access_request)
    live = (
        ctx.live_verdicts(access_request)
        if access_request.status == RequestStatus.DRAFT and datasets
        else {}
    )
    rows = ctx.dataset_statuses(access_request, datasets, reviews)
    for row in rows:
        dataset = row["dataset"]
        match = stored.get(dataset.pk)
        if match is not None:
            row["verdict"] = {
                "decision": match.decision,
                "rules": match.rules,
                "obligations": match.obligations,
                "when": match.evaluated_at,
                "stored": True,
            }
        elif dataset.accession in live:
            row["verdict"] = {**live[dataset.accession], "stored": False}
        else:
            row["verdict"] = None
        if row["verdict"]:
            row["verdict"]["label"] = ctx.VERDICT_LABELS.get(
                row["verdict"]["decision"], row["verdict"]["decision"]
            )
            row["verdict"]["rules"] = [
                {**rule, "label": ctx.RULE_LABELS.get(rule.get("outcome"), rule.get("outcome", ""))}
                for rule in row["verdict"]["rules"]
            ]
        row["agreement"] = agreements_by_dataset.get(dataset.pk)

    problems = None
    if is_applicant and (actions["submit"] or actions["resubmit"]):
        problems = request_services.submission_problems(access_request)
    accepted_pairs = {(access_request.pk, a) for a, ids in acceptance_map.items() if user.pk in ids}
    pending = ctx.pending_agreements(access_request, user, agreements_by_dataset, accepted_pairs)
    summary = lifecycle.summary_status(access_request.status, [r.status for r in reviews])
    closeout = CloseOut.objects.filter(request=access_request).select_related("filed_by").first()
    closeout_due = is_applicant and closeout is None and selectors.request_ended(access_request)
    closeouts_due = []
    if problems and "closeouts" in problems:
        closeouts_due = [
            earlier
            for _, projects in closeout_services.closeouts_due(access_request)
            for earlier in projects
        ]
    latest_questions = [r for r in reviews if r.status == ReviewStatus.RETURNED]
    # A returned request: the committees' questions and the reply box open the page.
    questions = selectors.returned_questions(access_request) if latest_questions else []
    return render(
        request,
        "access/request_detail.html",
        {
            "access_request": access_request,
            "is_applicant": is_applicant,
            **ctx.renewal_context(access_request, reviews),
            **team_context(access_request, user),
            "reviews": reviews,
            "returned_reviews": latest_questions,
            "returned_questions": questions,
            "reply_missing": bool(problems and "reply" in problems),
            "checklist": {f: p for f, p in (problems or {}).items() if f != "reply"},
            "rows": rows,
            "live_verdicts": bool(live),
            "agreements": agreements,
            "pending_agreements": pending,
            "actions": actions,
            "problems": problems,
            "summary": summary,
            "summary_label": ctx.status_label(summary),
            "next_step": CLOSEOUT_NEXT_STEP
            if closeout_due
            else ctx.next_step(
                access_request, user, reviews=reviews, pending=bool(pending), problems=problems
            ),
            "closeout": closeout,
            "closeout_due": closeout_due,
            "closeout_form": closeout_form or CloseOutForm(),
            "closeouts_due": closeouts_due,
            "comments": selectors.comments_for_applicant(access_request),
            "comment_form": CommentForm(),
            "timeline": ctx.timeline(access_request, user, reviews, people),
            "diseases": list(access_request.diseases.order_by("label")),
            "purposes": [
                capfirst(ctx.FIELD_LABELS[name])
                for name in PURPOSE_FLAGS
                if getattr(access_request, name)
            ],
        },
    )


# --- state changes (POST, each behind a confirmation page) --------------------------------------
CONFIRMATIONS = {
    "submit": {
        "service": request_services.request_submit,
        "title": "Submit request {ref}",
        "button": "Submit request {ref}",
        "success": "Submitted {ref}. Each committee reviews its datasets; you will hear from them here and by e-mail.",
        "failure": "{ref} was not submitted.",
    },
    "withdraw": {
        "service": request_services.request_withdraw,
        "title": "Withdraw request {ref}",
        "button": "Withdraw request {ref}",
        "success": "Withdrew {ref}. The committees stop reviewing it, and any access it gave has ended.",
        "failure": "{ref} was not withdrawn.",
    },
    "resubmit": {
        "service": request_services.request_resubmit,
        "title": "Resubmit request {ref}",
        "button": "Resubmit request {ref}",
        "success": "Resubmitted {ref}. The committees that asked questions review it again.",
        "failure": "{ref} was not resubmitted.",
    },
    # A member (not the applicant) leaves the team: no review, their access ends at once.
    "leave": {
        "service": team_services.team_member_leave,
        "title": "Leave the team of {ref}",
        "button": "Leave this project and end my access",
        "success": "You left the team of {ref}. Your access from it was revoked, and tokens "
        "issued for it no longer work.",
        "failure": "You did not leave {ref}.",
        "reason": True,
        # Off the team the request is no longer theirs to see: back to their list.
        "done": "access:request-list",
    },
}


def _success_text(action: str, access_request, spec) -> str:
    """What the applicant is told after a transition; a submitted amendment says who reviews it,
    or that the change was made at once (no committee had to review it)."""
    ref = access_request.reference
    if action != "submit" or not access_request.is_amendment:
        return spec["success"].format(ref=ref)
    access_request.refresh_from_db()
    project = access_request.parent.reference
    if access_request.applied_at is not None:
        return (
            f"Submitted {ref}. No committee had to review it, so the change was made to "
            f"{project} now; anyone taken off has lost their access."
        )
    names = sorted(r.committee.name for r in access_request.reviews.select_related("committee"))
    return (
        f"Submitted {ref} to {' and '.join(names)}, the committees the change concerns. Until "
        f"{'they approve' if len(names) > 1 else 'it approves'}, {project} continues as it is."
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in CONFIRMATIONS:
        raise Http404("No such action.")
    access_request = selectors.request_get_for_user(request.user, pk)
    spec = CONFIRMATIONS[action]
    ref = access_request.reference
    form = (
        TeamDepartureForm(request.POST if request.method == "POST" else None)
        if spec.get("reason")
        else None
    )
    if request.method == "POST" and (form is None or form.is_valid()):
        extra = {"reason": form.cleaned_data["reason"]} if form is not None else {}
        try:
            spec["service"](access_request=access_request, actor=request.user, **extra)
        except REFUSALS as exc:
            found = refusal(exc)
            if found is not None and "reply" in found.field_errors:
                # The reply to the committee is missing: say so, with a link to the reply box.
                messages.error(
                    request,
                    format_html(
                        '{} {} <a href="{}#reply">Go to the reply box</a>.',
                        spec["failure"].format(ref=ref),
                        refusal_text(exc),
                        access_request.get_absolute_url(),
                    ),
                )
                return redirect(access_request.get_absolute_url() + "#reply")
            messages.error(request, f"{spec['failure'].format(ref=ref)} {refusal_text(exc)}")
        else:
            messages.success(request, _success_text(action, access_request, spec))
            if spec.get("done"):
                return redirect(spec["done"])
        return redirect(access_request)
    reviews = list(access_request.reviews.all())
    if not ctx.actions(access_request, request.user, reviews)[action]:
        messages.error(request, f"You cannot {action} {ref} now.")
        return redirect(access_request)
    datasets = list(access_request.datasets.select_related("committee"))
    problems = (
        request_services.submission_problems(access_request)
        if action in ("submit", "resubmit")
        else {}
    )
    return render(
        request,
        "access/confirm.html",
        {
            "access_request": access_request,
            "action": action,
            "title": spec["title"].format(ref=ref),
            "button": spec["button"].format(ref=ref),
            "committees": sorted({d.committee.name for d in datasets}),
            "returned": [r for r in reviews if r.status == ReviewStatus.RETURNED],
            "open_reviews": [r for r in reviews if r.status in lifecycle.OPEN_REVIEW_STATES],
            "approved_by": [
                r.committee.name for r in request_services.approvals_standing(access_request)
            ]
            if action in ("withdraw", "leave")
            else [],
            "problems": problems,
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
def request_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Copy as new request": a new draft pre-filled from this finished request, opened in the
    form, with what could not be copied said above it. The applicant's only (404 for the team)."""
    access_request = selectors.request_get_for_user(request.user, pk)
    if access_request.applicant_id != request.user.pk:
        raise Http404("No such access request.")
    ref = access_request.reference
    try:
        copy = request_services.request_copy(access_request=access_request, actor=request.user)
    except REFUSALS as exc:
        messages.error(request, f"{ref} was not copied. {refusal_text(exc)}")
        return redirect(access_request)
    messages.success(
        request,
        f"Started {copy.reference}, a new draft copied from {ref}. Check the answers, save, "
        "then submit it.",
    )
    left_out = ctx.copy_left_out_text(copy)
    if left_out:
        messages.warning(request, left_out)
    return redirect("access:request-edit", pk=copy.pk)


@login_required
@require_POST
def request_amend(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Change this project": a draft amendment pre-filled from the approved project, opened
    in the form. The applicant's only (404 for anyone else)."""
    access_request = selectors.request_get_for_applicant(request.user, pk)
    ref = access_request.reference
    try:
        amendment = amendment_services.amendment_open(
            access_request=access_request, actor=request.user
        )
    except REFUSALS as exc:
        messages.error(request, f"{ref} cannot be changed now. {refusal_text(exc)}")
        return redirect(access_request)
    messages.success(
        request,
        f"Started {amendment.reference}, a change to {ref}. Add or remove datasets, change the "
        "purpose or the ethics approval, or change the team on its page; then submit it. Only "
        "the committees the change concerns review it, and until they approve, the project "
        "continues as it is.",
    )
    return redirect("access:request-edit", pk=amendment.pk)


@login_required
@require_POST
def closeout_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The close-out form on the request's page: the applicant's only (404 for the team)."""
    access_request = selectors.request_get_for_user(request.user, pk)
    if access_request.applicant_id != request.user.pk:
        raise Http404("No such access request.")
    form = CloseOutForm(request.POST)
    if form.is_valid():
        try:
            closeout_services.closeout_file(
                access_request=access_request, actor=request.user, data=form.cleaned_data
            )
        except ValidationError as exc:  # bad input: next to the fields it names
            form.add_service_errors(exc)
        except REFUSALS as exc:
            messages.error(request, f"Not filed. {refusal_text(exc)}")
            return redirect(access_request)
        else:
            messages.success(
                request,
                f"Filed the close-out of {access_request.reference}. Its committees can read it.",
            )
            return redirect(access_request.get_absolute_url() + "#closeout")
    messages.error(request, "Not filed: see the problems in the close-out form.")
    return _detail_page(request, access_request, closeout_form=form)


@login_required
@require_POST
def agreement_accept(request: HttpRequest, pk: int, agreement_pk: int) -> HttpResponse:
    access_request = selectors.request_get_for_user(request.user, pk)
    agreement = get_object_or_404(AccessAgreement, pk=agreement_pk)
    _perform(
        request,
        request_services.agreement_accept,
        success=f"You accepted “{agreement.title}”, version {agreement.version}, for {access_request.reference}.",
        failure="Not accepted.",
        access_request=access_request,
        user=request.user,
        agreement=agreement,
    )
    return redirect(reverse("access:request-detail", kwargs={"pk": pk}) + "#agreements")


@login_required
@require_POST
def agreements_accept_all(request: HttpRequest, pk: int) -> HttpResponse:
    """The "accept all" button: the versions listed in the form, the ones the person saw."""
    access_request = selectors.request_get_for_user(request.user, pk)
    # Ids as the form sends them; anything else (not ASCII digits, too long for a key) is no id.
    posted = request.POST.getlist("agreement")[:50]
    ids = [int(v) for v in posted if v.isascii() and v.isdigit() and len(v) <= 18]
    agreements = list(AccessAgreement.objects.filter(pk__in=ids))
    _perform(
        request,
        request_services.agreements_accept_all,
        success=f"You accepted {len(agreements)} agreement{pluralize(len(agreements))} for "
        f"{access_request.reference}: "
        + "; ".join(f"“{a.title}”, version {a.version}" for a in agreements)
        + ".",
        failure="Nothing was accepted.",
        access_request=access_request,
        user=request.user,
        agreements=agreements,
    )
    return redirect(reverse("access:request-detail", kwargs={"pk": pk}) + "#agreements")


@login_required
@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    access_request = selectors.request_get_for_user(request.user, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not sent. " + " ".join(form.errors.get("body", [])))
    else:
        _perform(
            request,
            review_services.comment_add,
            success="Your reply was sent to the committees.",
            failure="Not sent.",
            access_request=access_request,
            actor=request.user,
            body=form.cleaned_data["body"],
            committee=None,
        )
    # The reply box at the top of a returned request sends the person back to it.
    anchor = "#reply" if request.POST.get("from") == "reply" else "#conversation"
    return redirect(reverse("access:request-detail", kwargs={"pk": pk}) + anchor)


@login_required
@require_GET
def ethics_document(request: HttpRequest, pk: int) -> HttpResponse:
    """The ethics approval, as a download, for the people on the request and its committees."""
    access_request = selectors.request_get_for_viewer(request.user, pk)
    if not access_request.ethics_document:
        raise Http404("No ethics approval document.")
    try:
        handle = access_request.ethics_document.open("rb")
    except FileNotFoundError:
        log.error("ethics document of request %s is missing from storage", access_request.pk)
        raise Http404("No ethics approval document.") from None
    head = handle.read(16)
    handle.seek(0)
    kind = sniff(head)
    suffix, content_type = kind if kind else ("bin", "application/octet-stream")
    try:
        request_services.attachment_view(access_request=access_request, actor=request.user)
    except REFUSALS:
        handle.close()
        raise Http404("No ethics approval document.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{access_request.reference}-ethics-approval.{suffix}",
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response
