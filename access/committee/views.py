"""The views of the committee's review workspace, served inside the admin site.

`ReviewWorkspace` takes the ReviewAdmin and gives it the review page and one POST URL per step
on it (start, comment, vote, decide, close, recuse, appoint a deputy, revoke a grant, judge the
consent matches again with the current engine); each view
calls one service and records the admin action in the ledger in the same transaction, then goes
back to the page (POST/redirect/GET), or re-renders it with the service's reason for refusing.
`revoke_grants` is the grant list's "revoke" action. A review the person may not see is a 404
before anything else, so a stranger learns nothing, not even which methods a URL takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from core.exceptions import REFUSALS, add_form_errors, refusal_text
from governance import matching as consent_engine

from .. import lifecycle, selectors
from ..choices import CommentVisibility, DecisionOutcome, VoteChoice
from ..models import Review
from ..services import decisions as decision_services
from ..services import experts as expert_services
from ..services import grants as grant_services
from ..services import reviews as review_services
from .context import VERDICT_LABELS, reevaluation_refusal, review_page_context
from .errors import MethodNotAllowed, record_refusal
from .forms import (
    DECISION_FORMS,
    CloseForm,
    CommentForm,
    DeputyForm,
    ExpertInviteForm,
    RecusalForm,
    RevokeActionForm,
    RevokeForm,
    VoteForm,
)

# The decisions that go through a confirmation page, and what it says.
CONFIRMED_DECISIONS: dict[str, dict[str, Any]] = {
    DecisionOutcome.REJECT: {
        "title": "Reject",
        "explanation": "Rejecting ends this committee's review of the request. The applicant "
        "is told, and reads your reason.",
        "submit": "Reject the request",
    },
    DecisionOutcome.RETURN: {
        "title": "Return for changes",
        "explanation": "The request goes back to the applicant with your questions; the "
        "review waits for their answer and resubmission.",
        "submit": "Return to the applicant",
    },
}


class ReviewWorkspace:
    """The review page of one ReviewAdmin, and the views its forms post to."""

    def __init__(self, model_admin: admin.ModelAdmin):
        self.model_admin = model_admin
        self.admin_site = model_admin.admin_site
        self.opts = model_admin.opts

    def urls(self) -> list[URLPattern]:
        def wrap(view, action: str):
            def answer_405(request, *args, **kwargs):
                try:
                    return view(request, *args, **kwargs)
                except MethodNotAllowed:
                    return HttpResponseNotAllowed(["POST"])
                except Http404:
                    record_refusal(request, action, 404)
                    raise

            return self.admin_site.admin_view(answer_405)

        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/start/",
                wrap(self.start_view, "review_start"),
                name=f"{name}_start",
            ),
            path(
                "<path:object_id>/comment/",
                wrap(self.comment_view, "comment_add"),
                name=f"{name}_comment",
            ),
            path("<path:object_id>/vote/", wrap(self.vote_view, "vote_cast"), name=f"{name}_vote"),
            path(
                "<path:object_id>/decide/",
                wrap(self.decide_view, "decision_record"),
                name=f"{name}_decide",
            ),
            path(
                "<path:object_id>/close/",
                wrap(self.close_view, "review_close"),
                name=f"{name}_close",
            ),
            path(
                "<path:object_id>/recuse/", wrap(self.recuse_view, "recuse"), name=f"{name}_recuse"
            ),
            path(
                "<path:object_id>/deputy/",
                wrap(self.deputy_view, "deputy_appoint"),
                name=f"{name}_deputy",
            ),
            path(
                "<path:object_id>/experts/",
                wrap(self.expert_invite_view, "expert_invite"),
                name=f"{name}_expert_invite",
            ),
            path(
                "<path:object_id>/experts/<int:expert_id>/end/",
                wrap(self.expert_end_view, "expert_end"),
                name=f"{name}_expert_end",
            ),
            path(
                "<path:object_id>/reevaluate/",
                wrap(self.reevaluate_view, "consent_reevaluate"),
                name=f"{name}_reevaluate",
            ),
            path(
                "<path:object_id>/grants/<int:grant_id>/revoke/",
                wrap(self.revoke_view, "grant_revoke"),
                name=f"{name}_revoke",
            ),
        ]

    # --- the page -------------------------------------------------------------------------------
    def _review_or_404(self, request, object_id) -> Review:
        return selectors.review_get_for_user(request.user, unquote(str(object_id)))

    def page_view(self, request, object_id):
        """The review page (the admin's change view): GET only."""
        try:
            review = self._review_or_404(request, object_id)
        except Http404:
            record_refusal(request, "review_view", 404)
            raise
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        return self._render(request, review)

    def _render(self, request, review: Review, *, bound=None, status=200):
        context = {
            **self.admin_site.each_context(request),
            **review_page_context(request, review, bound or {}),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": f"{review.request.reference} · {review.committee.name}",
            "original": review,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/access/review_page.html", context, status=status)

    def _page_url(self, review: Review) -> str:
        return reverse(
            "admin:access_review_change", args=[review.pk], current_app=self.admin_site.name
        )

    def _confirm(self, request, review: Review, form: forms.Form, confirm: dict[str, Any]):
        """The confirmation step of close, reject, return and revoke: what will happen, and the
        reason the applicant (or the grant's holder) will read. Re-shown with its errors."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "review": review,
            "review_url": self._page_url(review),
            "form": form,
            "hidden": [],
            **confirm,
        }
        return TemplateResponse(request, "admin/access/review_confirm.html", context)

    def _confirmed_step(self, request, review, form, key, confirm, call, **step):
        """GET shows the confirmation (to someone who may take the step; anyone else goes back
        to the page, which says who can); a POST without a valid reason shows it again with the
        error; a POST with one runs the step (`_form_step`), whose service has the last word."""
        if request.method != "POST" and not confirm["allowed"]:
            messages.error(request, f"Not done: {confirm['refusal']}")
            return HttpResponseRedirect(self._page_url(review))
        if request.method != "POST" or not form.is_valid():
            return self._confirm(request, review, form, confirm)
        return self._form_step(request, review, form, key, call, **step)

    # --- running a step -------------------------------------------------------------------------
    def _refused(self, request, review: Review, form: forms.Form, key: str, exc=None):
        if exc is not None:
            add_form_errors(form, exc)
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, f"Not done: {problems or 'see the form below.'}")
        return self._render(request, review, bound={key: form}, status=200)

    def _perform(
        self,
        request,
        review: Review,
        form: forms.Form,
        key: str,
        call: Callable[[], Any],
        *,
        action: str,
        success: str,
        reported: Callable[[Any], str] | None = None,
        **detail,
    ):
        """Run the service and the admin's ledger record in one transaction; on success go back
        to the review page (POST/redirect/GET), on a refusal re-render it with the reason.
        `reported` adds what the service's result says to the success message."""
        try:
            with transaction.atomic():
                result = call()
                self.model_admin._record_admin_action(request, review, action, action, **detail)
        except REFUSALS as exc:
            if isinstance(exc, PermissionDenied):  # a service's authority check said no
                record_refusal(request, action, 403)
            return self._refused(request, review, form, key, exc)
        messages.success(request, f"{success} {reported(result)}" if reported else success)
        return HttpResponseRedirect(self._page_url(review))

    def _posted_review(self, request, object_id) -> Review:
        # The 404 comes first: a stranger learns nothing, not even which methods a URL takes.
        review = self._review_or_404(request, object_id)
        if request.method != "POST":
            raise MethodNotAllowed
        return review

    # --- the steps ------------------------------------------------------------------------------
    def _formless_step(self, request, object_id, key: str, service, *, success: str):
        """A step that takes nothing but the POST itself: `service(review=, actor=)`."""
        review = self._posted_review(request, object_id)
        return self._form_step(
            request,
            review,
            forms.Form(request.POST),
            key,
            lambda _form: service(review=review, actor=request.user),
            action=service.__name__,
            success=success,
        )

    def _form_step(
        self,
        request,
        review: Review,
        form: forms.Form,
        key: str,
        call: Callable[[forms.Form], Any],
        *,
        action: str,
        success: str | Callable[[dict[str, Any]], str],
        logged: tuple[str, ...] = (),
        reported: Callable[[Any], str] | None = None,
        **detail,
    ):
        """A step with a form: re-render the page with the form's errors if it is not valid,
        else `_perform` `call(form)`. `success` is the message, or makes it from the form's
        cleaned data; `logged` names the cleaned values the admin's ledger record keeps."""
        if not form.is_valid():
            return self._refused(request, review, form, key)
        data = form.cleaned_data
        return self._perform(
            request,
            review,
            form,
            key,
            lambda: call(form),
            action=action,
            success=success(data) if callable(success) else success,
            reported=reported,
            **{name: data[name] for name in logged},
            **detail,
        )

    def start_view(self, request, object_id):
        return self._formless_step(
            request,
            object_id,
            "start",
            review_services.review_start,
            success="The review has started.",
        )

    def comment_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        return self._form_step(
            request,
            review,
            CommentForm(request.POST, prefix="comment"),
            "comment",
            lambda form: review_services.comment_add(
                access_request=review.request,
                actor=request.user,
                committee=review.committee,
                **form.cleaned_data,
            ),
            action="comment_add",
            success=lambda data: (
                "Comment added; "
                + (
                    "only the committee can read it."
                    if data["visibility"] == CommentVisibility.INTERNAL
                    else "the applicant can read it too."
                )
            ),
            logged=("visibility",),
        )

    def vote_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        return self._form_step(
            request,
            review,
            VoteForm(request.POST, prefix="vote"),
            "vote",
            lambda form: review_services.vote_cast(
                review=review, actor=request.user, **form.cleaned_data
            ),
            action="vote_cast",
            success=lambda data: (
                f"Your vote ({VoteChoice(data['choice']).label.lower()}) is recorded."
            ),
            logged=("choice",),
        )

    def decide_view(self, request, object_id):
        review = self._review_or_404(request, object_id)
        if request.method == "GET" and request.GET.get("outcome") in CONFIRMED_DECISIONS:
            # Reject and return: the confirmation page, with the reason the applicant reads.
            outcome = request.GET["outcome"]
            form = DECISION_FORMS[outcome](prefix=outcome, review=review)
            return self._confirmed_step(
                request,
                review,
                form,
                outcome,
                self._decision_confirm(request, review, outcome),
                None,
            )
        if request.method != "POST":
            raise MethodNotAllowed
        outcome = request.POST.get("outcome")
        if outcome not in DECISION_FORMS:
            messages.error(request, "Not done: choose approve, reject or return for changes.")
            return self._render(request, review)
        form = DECISION_FORMS[outcome](request.POST, prefix=outcome, review=review)
        step = self._form_step if outcome not in CONFIRMED_DECISIONS else self._confirmed_step
        extra = (
            ()
            if outcome not in CONFIRMED_DECISIONS
            else (self._decision_confirm(request, review, outcome),)
        )
        return step(
            request,
            review,
            form,
            outcome,
            *extra,
            lambda form: decision_services.decision_record(
                review=review, actor=request.user, outcome=outcome, **form.service_kwargs()
            ),
            action="decision_record",
            success={
                DecisionOutcome.APPROVE: "Approved; the grants are listed below."
                if not review.request.is_renewal
                else "Approved; the renewal extended the grants as the decision below says.",
                DecisionOutcome.REJECT: "Rejected; the applicant is told the reason.",
                DecisionOutcome.RETURN: "Returned for changes; the applicant sees your questions.",
            }[outcome],
            outcome=outcome,
        )

    @staticmethod
    def _decision_confirm(request, review: Review, outcome: str) -> dict[str, Any]:
        # Who may take the decision; the votes it needs are counted by the service on POST.
        refusal = lifecycle.role_refusal(
            policy=review.committee.decision_policy, role=_acting_role(request.user, review)
        )
        return CONFIRMED_DECISIONS[outcome] | {
            "hidden": [("outcome", outcome)],
            "allowed": refusal is None,
            "refusal": refusal,
        }

    def close_view(self, request, object_id):
        review = self._review_or_404(request, object_id)
        if request.method not in ("GET", "HEAD", "POST"):
            raise MethodNotAllowed
        return self._confirmed_step(
            request,
            review,
            CloseForm(request.POST if request.method == "POST" else None, prefix="close"),
            "close",
            {
                "title": "Close review",
                "explanation": "Closing ends this committee's work on the request, and it cannot "
                "be reopened. The applicant is told, with your reason, and sees it in the "
                "request's history; the reason goes into the audit ledger.",
                "submit": "Close the review",
                **_management(
                    request.user, review, "Only the chair or the secretary may close a review."
                ),
            },
            lambda form: review_services.review_close(
                review=review, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            action="review_close",
            success="The review is closed; the applicant is told your reason.",
        )

    def recuse_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        return self._form_step(
            request,
            review,
            RecusalForm(request.POST, prefix="recusal"),
            "recusal",
            lambda form: review_services.recusal_declare(
                review=review, actor=request.user, **form.cleaned_data
            ),
            action="recusal_declare",
            success="Your conflict of interest is recorded: you take no further part in this review.",
        )

    def deputy_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        return self._form_step(
            request,
            review,
            DeputyForm(request.POST, prefix="deputy", actor=request.user),
            "deputy",
            lambda form: review_services.deputy_appoint(
                review=review, actor=request.user, **form.cleaned_data
            ),
            action="deputy_appoint",
            success=lambda data: (
                f"{data['user'].username} is now a deputy decider for this review."
            ),
        )

    def expert_invite_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        return self._form_step(
            request,
            review,
            ExpertInviteForm(request.POST, prefix="expert"),
            "expert",
            lambda form: expert_services.expert_invite(
                review=review, actor=request.user, email=form.cleaned_data["email"]
            ),
            action="expert_invite",
            success=lambda data: f"{data['email']} is invited to give an opinion on this review.",
        )

    def expert_end_view(self, request, object_id, expert_id):
        review = self._posted_review(request, object_id)
        expert = review.outside_reviewers.filter(pk=expert_id).first()
        if expert is None:
            raise Http404("No such expert on this review.")
        return self._form_step(
            request,
            review,
            forms.Form(request.POST),
            "expert_end",
            lambda _form: expert_services.expert_end(expert=expert, actor=request.user),
            action="expert_end",
            success=f"{expert.email} no longer has access to this review.",
            expert=expert.pk,
        )

    def reevaluate_view(self, request, object_id):
        review = self._review_or_404(request, object_id)
        if request.method not in ("GET", "HEAD", "POST"):
            raise MethodNotAllowed
        refusal = reevaluation_refusal(review, _acting_role(request.user, review))
        return self._confirmed_step(
            request,
            review,
            forms.Form(request.POST if request.method == "POST" else None),
            "reevaluate",
            {
                "title": "Re-evaluate consent",
                "explanation": "The consent engine judges this committee's datasets again "
                f"against the request's purpose, as version {consent_engine.ENGINE_VERSION} "
                "does now; the stored verdicts are replaced and the change goes into the audit "
                "ledger. Other committees' verdicts stay as they are, and no automatic decision "
                "follows: the committee decides as before.",
                "submit": "Re-evaluate consent",
                "allowed": refusal is None,
                "refusal": refusal,
            },
            lambda _form: review_services.consent_reevaluate(review=review, actor=request.user),
            action="consent_reevaluate",
            success="Consent re-evaluated",
            reported=reevaluation_report,
        )

    def revoke_view(self, request, object_id, grant_id):
        review = self._review_or_404(request, object_id)
        grant = selectors.grants_for_review(review).filter(pk=grant_id).first()
        if grant is None:
            raise Http404("No such grant on this review.")
        if request.method not in ("GET", "HEAD", "POST"):
            raise MethodNotAllowed
        key = f"revoke-{grant.pk}"
        return self._confirmed_step(
            request,
            review,
            RevokeForm(request.POST if request.method == "POST" else None, prefix=key, grant=grant),
            key,
            {
                "title": "Revoke access",
                "explanation": f"Revoking ends {grant.user.username}'s access to "
                f"{grant.dataset.accession} at once; every token derived from the grant stops "
                "working. They are told by e-mail with your reason, which also goes into the "
                "audit ledger.",
                "submit": "Revoke the grant",
                **_management(request.user, review, "Only the chair or the secretary may revoke."),
            },
            lambda form: grant_services.grant_revoke(
                grant=grant, actor=request.user, **form.cleaned_data
            ),
            action="grant_revoke",
            success=f"Revoked {grant.user.username}'s access to {grant.dataset.accession}.",
            grant=grant.pk,
        )


def _acting_role(user, review: Review) -> str | None:
    """The person's role on the review's panel, or None when they are off it or conflicted."""
    panel = selectors.review_panel(review)
    if lifecycle.conflict_refusal(panel, user.pk):
        return None
    return panel.role_of(user.pk)


def reevaluation_report(result: review_services.ConsentReevaluation) -> str:
    """What changed, for the success message: "with engine 2.0.0: ACC-1: does not fit → fits;
    ACC-2 unchanged (fits)."."""
    parts = []
    for change in result.changes:
        after = VERDICT_LABELS.get(change.after, change.after)
        if change.before == change.after:
            parts.append(f"{change.dataset} unchanged ({after})")
        else:
            before = VERDICT_LABELS.get(change.before, change.before or "not evaluated")
            parts.append(f"{change.dataset}: {before} → {after}")
    return f"with engine {result.engine_version}: {'; '.join(parts) or 'no dataset'}."


def _management(user, review: Review, refusal: str) -> dict[str, Any]:
    """Whether the person may close the review or revoke its grants (the confirmation's GET)."""
    role = _acting_role(user, review)
    allowed = lifecycle.may_manage(policy=review.committee.decision_policy, role=role)
    return {"allowed": allowed, "refusal": refusal}


def revoke_grants(model_admin: admin.ModelAdmin, request, queryset):
    """The grant list's "revoke" action: asks for a reason, then revokes each selected grant
    through the service (each in its own transaction, with its admin ledger record)."""
    form = RevokeActionForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        for grant in queryset:
            try:
                with transaction.atomic():
                    grant_services.grant_revoke(
                        grant=grant, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    model_admin._record_admin_action(
                        request, grant, "grant_revoke", "Revoked.", grant=grant.pk
                    )
            except REFUSALS as exc:
                model_admin.message_user(
                    request,
                    f"{grant.user.username} / {grant.dataset.accession}: {refusal_text(exc)}",
                    messages.ERROR,
                )
            else:
                model_admin.message_user(
                    request,
                    f"Revoked {grant.user.username}'s access to {grant.dataset.accession}.",
                    messages.SUCCESS,
                )
        return None
    return TemplateResponse(
        request,
        "admin/access/grant_revoke_confirm.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "Revoke grants",
            "form": form,
            "grants": queryset,
            "opts": model_admin.opts,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )
