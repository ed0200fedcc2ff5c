"""The committees' side of access requests, in the Django admin.

A member sees the reviews of their own committees only (django-guardian, through
`access.selectors`); every other id, in the stock admin URLs and in the custom ones below, is a
404. The admin never writes a model itself: each form on the review page calls its service, and a
service's refusal (ValidationError, PermissionDenied, TransitionRefused) comes back as an error
message on the page, never as a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from weakref import WeakKeyDictionary

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from audit.admin_mixins import (
    NotFoundInsteadOfForbiddenMixin,
    SuperuserOnlyMixin,
    add_form_errors,
)
from audit.refusals import access_refused_record
from core.exceptions import REFUSALS, refusal_text
from governance.choices import CommitteeRole, DecisionPolicy
from governance.matching import Outcome
from governance.models import DataAccessCommittee, Dataset

from . import lifecycle, selectors
from .answers import PURPOSE_FLAGS
from .choices import CommentVisibility, DecisionOutcome, ReviewStatus, VoteChoice
from .models import (
    AccessRequest,
    ConsentMatch,
    Decision,
    Grant,
    Notification,
    Review,
)
from .services import decisions as decision_services
from .services import grants as grant_services
from .services import notifications as notification_services
from .services import reviews as review_services

SERVICE_ERRORS = REFUSALS  # core/exceptions.py: the hierarchy, ValidationError, PermissionDenied
VERDICT_LABELS = {Outcome.APPROVE: "approve", Outcome.DENY: "deny", Outcome.REVIEW: "needs review"}
REFERENCE = re.compile(r"(?:TSR-AR-)?0*(\d{1,12})", re.IGNORECASE)


def _error_text(exc: Exception) -> str:
    return refusal_text(exc)


def _add_service_error(form: forms.Form, exc: Exception) -> None:
    """Put a service's refusal on the form: field errors next to their field, the rest on top."""
    add_form_errors(form, exc)


def _record_refusal(request, action: str, status: int) -> None:
    """A refused committee action or review page, in the ledger (bounded, audit/refusals.py):
    a 404 for a review the person may not see, 403 where a service refused the person."""
    access_refused_record(
        who=request.user,
        action=f"admin.{action}",
        method=request.method,
        path=request.path,
        status=status,
    )


class MethodNotAllowed(Exception):
    """Raised by a custom admin view after its 404 check; answered with a 405."""


# Several admin hooks ask, on one page, how many committees the person sits on, and Django
# hands them nothing but the request: the count is kept here, against the request object, and
# goes with it (a weak reference), so that it is counted once per request.
_committee_counts: WeakKeyDictionary[HttpRequest, int] = WeakKeyDictionary()


def _committee_count(request) -> int:
    """How many committees the person sits on (as a member or a deputy); counted once."""
    count = _committee_counts.get(request)
    if count is None:
        user = request.user
        # The login page lists the apps for an anonymous visitor too.
        active_staff = user.is_active and user.is_staff
        count = user.committee_memberships.count() + user.deputy_for.count() if active_staff else 0
        _committee_counts[request] = count
    return count


def _is_committee_member(request) -> bool:
    if not (request.user.is_active and request.user.is_staff):
        return False
    return request.user.is_superuser or _committee_count(request) > 0


# --- the work queue -----------------------------------------------------------------------------
class CommitteeFilter(admin.SimpleListFilter):
    title = "committee"
    parameter_name = "committee"

    def lookups(self, request, model_admin):
        committees = DataAccessCommittee.objects.order_by("name")
        if not request.user.is_superuser:
            committees = committees.filter(memberships__user=request.user)
        return [(str(c.pk), c.name) for c in committees]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(committee_id=int(value))


class WaitingForMeFilter(admin.SimpleListFilter):
    title = "waiting for me"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("me", "Open, and I may act on it")]

    def queryset(self, request, queryset):
        if self.value() != "me":
            return queryset
        return selectors.reviews_waiting_for(request.user, queryset)


class VerdictFilter(admin.SimpleListFilter):
    title = "consent-match verdict (any dataset)"
    parameter_name = "verdict"

    def lookups(self, request, model_admin):
        return [
            (Outcome.APPROVE, "Approve"),
            (Outcome.REVIEW, "Needs review"),
            (Outcome.DENY, "Deny"),
            ("none", "Not evaluated yet"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # Only the verdicts on this review's own committee's datasets count.
        matches = ConsentMatch.objects.filter(
            request_id=OuterRef("request_id"), dataset__committee_id=OuterRef("committee_id")
        )
        if value == "none":
            return queryset.filter(~Exists(matches))
        if value not in VERDICT_LABELS:
            return queryset.none()
        return queryset.filter(Exists(matches.filter(decision=value)))


def _committee_datasets(review: Review) -> list[Dataset]:
    return [d for d in review.request.datasets.all() if d.committee_id == review.committee_id]


def _verdict_badge(decision: str | None):
    if decision is None:
        return "—"
    return format_html(
        '<span class="verdict verdict--{}">{}</span>',
        decision,
        VERDICT_LABELS.get(decision, decision),
    )


def _days_since(moment) -> int | None:
    if moment is None:
        return None
    return (timezone.now() - moment).days


@admin.register(Review)
class ReviewAdmin(NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "project_title",
        "applicant",
        "committee_slug",
        "status",
        "age",
        "datasets_and_verdicts",
        "votes_so_far",
    ]
    list_display_links = ["reference"]
    list_filter = [WaitingForMeFilter, "status", CommitteeFilter, VerdictFilter]
    search_fields = ["request__title"]  # shows the search box; the search itself is below
    search_help_text = "Reference (TSR-AR-000123 or 123), project title, applicant, accession."
    list_per_page = 50
    show_full_result_count = False
    actions = None

    # --- permissions: the queryset decides; every staff user may look at an (empty) queue --------
    def has_module_permission(self, request):
        return _is_committee_member(request)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_active and request.user.is_staff
        return selectors.review_list_for_user(request.user).filter(pk=obj.pk).exists()

    def get_queryset(self, request):
        return selectors.review_queue_for_user(request.user)

    def get_list_display(self, request):
        # Someone on a single committee needs no committee column: room for the verdicts.
        if request.user.is_superuser or _committee_count(request) > 1:
            return self.list_display
        return [c for c in self.list_display if c != "committee_slug"]

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Reviews for your committees", **(extra_context or {})}
        if request.user.is_superuser:
            extra_context["title"] = "Reviews (all committees)"
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        accession = Exists(
            AccessRequest.datasets.through.objects.filter(
                accessrequest_id=OuterRef("request_id"),
                dataset__committee_id=OuterRef("committee_id"),
                dataset__accession__icontains=term,
            )
        )
        condition = (
            Q(request__title__icontains=term)
            | Q(request__applicant__username__icontains=term)
            | Q(accession)
        )
        reference = REFERENCE.fullmatch(term)
        if reference:
            condition |= Q(request_id=int(reference[1]))
        return queryset.filter(condition), False

    # --- columns ----------------------------------------------------------------------------------
    @admin.display(description="reference", ordering="request_id")
    def reference(self, review):
        return format_html('<span class="nowrap">{}</span>', review.request.reference)

    @admin.display(description="project title", ordering="request__title")
    def project_title(self, review):
        title = review.request.title
        return title if len(title) <= 60 else f"{title[:59]}…"

    @admin.display(description="applicant", ordering="request__applicant__username")
    def applicant(self, review):
        return review.request.applicant.username

    @admin.display(description="committee", ordering="committee__slug")
    def committee_slug(self, review):
        return review.committee.slug

    @admin.display(description="days", ordering="-request__submitted_at")
    def age(self, review):
        days = _days_since(review.request.submitted_at)
        return "—" if days is None else days

    @admin.display(description="datasets · consent match")
    def datasets_and_verdicts(self, review):
        matches = {m.dataset_id: m.decision for m in review.request.matches.all()}
        rows = [
            (d.accession, _verdict_badge(matches.get(d.pk))) for d in _committee_datasets(review)
        ]
        if not rows:
            return "—"
        return format_html_join(mark_safe("<br>"), '<span class="nowrap">{} {}</span>', rows)

    @admin.display(description="votes")
    def votes_so_far(self, review):
        tally = lifecycle.Tally.of(v.choice for v in review.current_votes)
        parts = [
            f"{n} {label}"
            for n, label in (
                (tally.approve, "approve"),
                (tally.reject, "reject"),
                (tally.abstain, "abstain"),
            )
            if n
        ]
        return f"{tally.cast}: {', '.join(parts)}" if parts else "0"

    # --- the review page and its forms --------------------------------------------------------
    def get_urls(self):
        def wrap(view, action: str):
            def answer_405(request, *args, **kwargs):
                try:
                    return view(request, *args, **kwargs)
                except MethodNotAllowed:
                    return HttpResponseNotAllowed(["POST"])
                except Http404:
                    _record_refusal(request, action, 404)
                    raise

            return self.admin_site.admin_view(answer_405)

        name = f"{self.opts.app_label}_{self.opts.model_name}"
        custom = [
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
                "<path:object_id>/grants/<int:grant_id>/revoke/",
                wrap(self.revoke_view, "grant_revoke"),
                name=f"{name}_revoke",
            ),
        ]
        return custom + super().get_urls()

    def _review_or_404(self, request, object_id) -> Review:
        return selectors.review_get_for_user(request.user, unquote(str(object_id)))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            review = self._review_or_404(request, object_id)
        except Http404:
            _record_refusal(request, "review_view", 404)
            raise
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        return self._render_review(request, review)

    def history_view(self, request, object_id, extra_context=None):
        try:
            return super().history_view(request, object_id, extra_context)
        except Http404:
            _record_refusal(request, "review_history", 404)
            raise

    def _refused(self, request, review: Review, form: forms.Form, key: str, exc=None):
        if exc is not None:
            _add_service_error(form, exc)
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(request, f"Not done: {problems or 'see the form below.'}")
        return self._render_review(request, review, bound={key: form}, status=200)

    def _perform(
        self,
        request,
        review: Review,
        form: forms.Form,
        key: str,
        call: Callable[[], Any],
        *,
        action: str,
        success: str | Callable[[Any], str],
        **detail,
    ):
        """Run the service and the admin's ledger record in one transaction; on success go back
        to the review page (POST/redirect/GET), on a refusal re-render it with the reason."""
        try:
            with transaction.atomic():
                result = call()
                self._record_admin_action(request, review, action, action, **detail)
        except SERVICE_ERRORS as exc:
            if isinstance(exc, PermissionDenied):  # a service's authority check said no
                _record_refusal(request, action, 403)
            return self._refused(request, review, form, key, exc)
        messages.success(request, success(result) if callable(success) else success)
        return HttpResponseRedirect(
            reverse(
                "admin:access_review_change", args=[review.pk], current_app=self.admin_site.name
            )
        )

    def _posted_review(self, request, object_id) -> Review:
        # The 404 comes first: a stranger learns nothing, not even which methods a URL takes.
        review = self._review_or_404(request, object_id)
        if request.method != "POST":
            raise MethodNotAllowed
        return review

    def start_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        return self._perform(
            request,
            review,
            forms.Form(request.POST),
            "start",
            lambda: review_services.review_start(review=review, actor=request.user),
            action="review_start",
            success="The review has started.",
        )

    def comment_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        form = CommentForm(request.POST, prefix="comment")
        if not form.is_valid():
            return self._refused(request, review, form, "comment")
        data = form.cleaned_data
        internal = data["visibility"] == CommentVisibility.INTERNAL
        return self._perform(
            request,
            review,
            form,
            "comment",
            lambda: review_services.comment_add(
                access_request=review.request,
                actor=request.user,
                body=data["body"],
                visibility=data["visibility"],
                committee=review.committee,
            ),
            action="comment_add",
            success="Comment added; "
            + ("only the committee can read it." if internal else "the applicant can read it too."),
            visibility=data["visibility"],
        )

    def vote_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        form = VoteForm(request.POST, prefix="vote")
        if not form.is_valid():
            return self._refused(request, review, form, "vote")
        data = form.cleaned_data
        return self._perform(
            request,
            review,
            form,
            "vote",
            lambda: review_services.vote_cast(
                review=review,
                actor=request.user,
                choice=data["choice"],
                rationale=data["rationale"],
            ),
            action="vote_cast",
            success=lambda vote: f"Your vote ({vote.get_choice_display().lower()}) is recorded.",
            choice=data["choice"],
        )

    def decide_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        outcome = request.POST.get("outcome")
        if outcome not in DECISION_FORMS:
            messages.error(request, "Not done: choose approve, reject or return for changes.")
            return self._render_review(request, review)
        form = DECISION_FORMS[outcome](request.POST, prefix=outcome, review=review)
        if not form.is_valid():
            return self._refused(request, review, form, outcome)
        return self._perform(
            request,
            review,
            form,
            outcome,
            lambda: decision_services.decision_record(
                review=review, actor=request.user, outcome=outcome, **form.service_kwargs()
            ),
            action="decision_record",
            success={
                DecisionOutcome.APPROVE: "Approved; the grants are listed below.",
                DecisionOutcome.REJECT: "Rejected; the applicant is told the reason.",
                DecisionOutcome.RETURN: "Returned for changes; the applicant sees your questions.",
            }[outcome],
            outcome=outcome,
        )

    def close_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        return self._perform(
            request,
            review,
            forms.Form(request.POST),
            "close",
            lambda: review_services.review_close(review=review, actor=request.user),
            action="review_close",
            success="The review is closed.",
        )

    def recuse_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        form = RecusalForm(request.POST, prefix="recusal")
        if not form.is_valid():
            return self._refused(request, review, form, "recusal")
        return self._perform(
            request,
            review,
            form,
            "recusal",
            lambda: review_services.recusal_declare(
                review=review, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            action="recusal_declare",
            success="Your conflict of interest is recorded: you take no further part in this review.",
        )

    def deputy_view(self, request, object_id):
        review = self._posted_review(request, object_id)
        form = DeputyForm(request.POST, prefix="deputy", actor=request.user)
        if not form.is_valid():
            return self._refused(request, review, form, "deputy")
        data = form.cleaned_data
        return self._perform(
            request,
            review,
            form,
            "deputy",
            lambda: review_services.deputy_appoint(
                review=review, actor=request.user, user=data["user"], reason=data["reason"]
            ),
            action="deputy_appoint",
            success=f"{data['user'].username} is now a deputy decider for this review.",
        )

    def revoke_view(self, request, object_id, grant_id):
        review = self._review_or_404(request, object_id)
        grant = selectors.grants_for_review(review).filter(pk=grant_id).first()
        if grant is None:
            raise Http404("No such grant on this review.")
        if request.method != "POST":
            raise MethodNotAllowed
        key = f"revoke-{grant.pk}"
        form = RevokeForm(request.POST, prefix=key, grant=grant)
        if not form.is_valid():
            return self._refused(request, review, form, key)
        return self._perform(
            request,
            review,
            form,
            key,
            lambda: grant_services.grant_revoke(
                grant=grant, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            action="grant_revoke",
            success=f"Revoked {grant.user.username}'s access to {grant.dataset.accession}.",
            grant=grant.pk,
        )

    # --- rendering ------------------------------------------------------------------------------
    def _render_review(self, request, review: Review, *, bound=None, status=200):
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


# --- the forms on the review page -------------------------------------------------------------
class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a comment."},
    )
    visibility = forms.ChoiceField(
        label="Who may read it",
        choices=CommentVisibility.choices,
        initial=CommentVisibility.INTERNAL,
        widget=forms.RadioSelect,
    )


class VoteForm(forms.Form):
    choice = forms.ChoiceField(
        label="Your vote",
        choices=VoteChoice.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Vote approve, reject or abstain."},
    )
    rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the rationale for your vote."},
    )


class _DecisionForm(forms.Form):
    def __init__(self, *args, review: Review, **kwargs):
        self.review = review
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError


class ApproveForm(_DecisionForm):
    end_date = forms.DateField(
        label="End date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "An approval needs an end date."},
        validators=Decision._meta.get_field("end_date").validators,
    )
    conditions = forms.CharField(
        label="Conditions (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    datasets = forms.ModelMultipleChoiceField(
        label="Datasets to approve",
        queryset=Dataset.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Approve one or more of this committee's requested datasets."},
    )

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, review=review, **kwargs)
        datasets = review.datasets().order_by("accession")
        self.fields["datasets"].queryset = datasets
        self.fields["datasets"].label_from_instance = lambda d: f"{d.accession} — {d.title}"
        latest = decision_services.latest_end_date(review.request)
        # A hint for the browser; the service enforces the same limits.
        self.fields["end_date"].widget.attrs.update(
            min=(timezone.localdate() + timedelta(days=1)).isoformat(), max=latest.isoformat()
        )
        if not self.is_bound:
            self.initial.setdefault("end_date", latest)
            self.initial.setdefault("datasets", [d.pk for d in datasets])

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            "end_date": data["end_date"],
            "conditions": data["conditions"],
            "datasets": list(data["datasets"]),
        }


class RejectForm(_DecisionForm):
    reason = forms.CharField(
        label="Reason for rejecting",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "A rejection needs a reason."},
    )

    def service_kwargs(self):
        return {"reason": self.cleaned_data["reason"]}


class ReturnForm(_DecisionForm):
    questions = forms.CharField(
        label="Questions for the applicant",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Returning a request needs the committee's questions."},
    )

    def service_kwargs(self):
        return {"questions": self.cleaned_data["questions"]}


DECISION_FORMS: dict[str, type[_DecisionForm]] = {
    DecisionOutcome.APPROVE: ApproveForm,
    DecisionOutcome.REJECT: RejectForm,
    DecisionOutcome.RETURN: ReturnForm,
}


class RevokeForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 1}),
        error_messages={"required": "Say why the grant is revoked."},
    )

    def __init__(self, *args, grant: Grant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "reason"
        ].label = f"Reason for revoking {grant.user.username}'s access to {grant.dataset.accession}"


class RecusalForm(forms.Form):
    reason = forms.CharField(
        label="Your conflict of interest",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what the conflict of interest is."},
    )


class DeputyForm(forms.Form):
    user = forms.CharField(
        label="Username of the deputy decider",
        max_length=150,
        error_messages={"required": "Name the person to appoint."},
    )
    reason = forms.CharField(
        label="Why a deputy is needed",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why a deputy decider is needed."},
    )

    def __init__(self, *args, actor, **kwargs):
        self.actor = actor
        super().__init__(*args, **kwargs)

    def clean_user(self):
        from django.contrib.auth import get_user_model

        # The service refuses anyone but an administrator; refuse before the look-up too, so
        # that a committee member cannot use this form to learn which usernames exist.
        if not self.actor.is_superuser:
            raise ValidationError("Only an administrator may appoint a deputy decider.")
        username = self.cleaned_data["user"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise ValidationError("No account with that username.")
        return user


# --- what the review page shows --------------------------------------------------------------
@dataclass
class DecisionOption:
    outcome: str
    label: str
    form: forms.Form
    refusal: str | None


@dataclass
class GrantRow:
    grant: Grant
    state: str
    revoke_form: RevokeForm | None


def _ethics_document_url(access_request: AccessRequest) -> str | None:
    """The portal's protected download: it admits the request's committees and ledgers each opening."""
    if not access_request.ethics_document:
        return None
    try:
        return reverse("access:ethics-document", kwargs={"pk": access_request.pk})
    except NoReverseMatch:
        return None


def _policy_summary(committee: DataAccessCommittee, tally: lifecycle.Tally) -> str:
    policy = committee.get_decision_policy_display()
    if committee.decision_policy in (DecisionPolicy.MAJORITY, DecisionPolicy.UNANIMITY):
        votes = "vote" if tally.cast == 1 else "votes"
        return (
            f"{policy}. Quorum {committee.quorum}: {tally.cast} {votes} cast "
            f"({tally.approve} approve, {tally.reject} reject, {tally.abstain} abstain)."
        )
    return f"{policy}."


def review_page_context(request, review: Review, bound: dict[str, forms.Form]) -> dict[str, Any]:
    """Everything the review page shows, and which of its forms this person may use right now."""
    user = request.user
    access_request = review.request
    committee = review.committee
    panel = review_services.review_panel(review)
    on_panel_role = panel.role_of(user.pk)
    conflict = lifecycle.conflict_refusal(panel, user.pk) if on_panel_role else None
    # A conflicted member keeps reading the page, but may do nothing on it.
    role = None if conflict else on_panel_role
    datasets = list(review.datasets().select_related("consent_scope__permission"))
    matches = selectors.matches_for_request(access_request)
    votes = list(selectors.votes_for_review(review))
    current_votes = [v for v in votes if v.round == review.round]
    tally = lifecycle.eligible_tally(((v.voter_id, v.choice) for v in current_votes), panel)
    decidable = review.status in lifecycle.DECIDABLE_STATES
    may_manage = lifecycle.may_manage(policy=committee.decision_policy, role=role)

    closed_refusal = None
    if not decidable:
        closed_refusal = (
            f"This review is {review.get_status_display().lower()}: "
            "no decision can be taken on it now."
        )
    decision_options = []
    for outcome, label in DecisionOutcome.choices:
        form = bound.get(outcome) or DECISION_FORMS[outcome](prefix=outcome, review=review)
        refusal = (
            closed_refusal
            or conflict
            or lifecycle.decision_refusal(
                policy=committee.decision_policy,
                quorum=committee.quorum,
                role=role,
                outcome=outcome,
                tally=tally,
            )
        )
        decision_options.append(DecisionOption(outcome, label, form, refusal))

    grants = []
    for grant in selectors.grants_for_review(review):
        state = grant.inactive_reason() or "Active."
        revoke_form = None
        if may_manage and grant.revoked_at is None:
            key = f"revoke-{grant.pk}"
            revoke_form = bound.get(key) or RevokeForm(prefix=key, grant=grant)
        grants.append(GrantRow(grant, state, revoke_form))

    people = access_request.people()
    # Only this committee's agreements: what the applicant signed for others is not its business.
    acceptances = [
        a
        for a in selectors.acceptances_for_request(access_request)
        if a.agreement.committee_id == committee.pk
    ]
    current_agreements = {d.current_agreement for d in datasets} - {None}
    accepted = {(a.user_id, a.agreement_id) for a in acceptances}
    missing_acceptances = [
        (person, agreement)
        for agreement in sorted(current_agreements, key=lambda a: a.pk)
        for person in people
        if (person.pk, agreement.pk) not in accepted
    ]

    own_vote = next((v for v in current_votes if v.voter_id == user.pk), None)
    return {
        "review": review,
        "access_request": access_request,
        "committee": committee,
        "role": on_panel_role,
        "role_label": _role_label(on_panel_role),
        "conflict": conflict,
        "decider_shortfall": lifecycle.decider_shortfall(
            panel, policy=committee.decision_policy, quorum=committee.quorum
        )
        if review.status in lifecycle.OPEN_REVIEW_STATES
        else None,
        "recusals": list(review.recusals.select_related("member")),
        "deputies": list(review.deputies.select_related("user", "appointed_by")),
        "uncounted_votes": [v for v in current_votes if v.voter_id not in panel.eligible_voters()],
        "may_recuse": on_panel_role is not None
        and user.pk not in panel.excluded
        and review.status not in (ReviewStatus.CLOSED, ReviewStatus.WITHDRAWN),
        "recusal_form": bound.get("recusal") or RecusalForm(prefix="recusal"),
        "may_appoint_deputy": user.is_superuser
        and review.status not in (ReviewStatus.CLOSED, ReviewStatus.WITHDRAWN),
        "deputy_form": bound.get("deputy") or DeputyForm(prefix="deputy", actor=user),
        "age_days": _days_since(access_request.submitted_at),
        "today": timezone.localdate(),
        "latest_end_date": decision_services.latest_end_date(access_request),
        "diseases": list(access_request.diseases.order_by("curie")),
        "team": list(access_request.team_members.order_by("username")),
        "purpose_flags": _purpose_flags(access_request),
        "ethics_document_url": _ethics_document_url(access_request),
        "acceptances": acceptances,
        "missing_acceptances": missing_acceptances,
        "dataset_rows": [(d, matches.get(d.pk)) for d in datasets],
        "other_datasets": [
            d for d in access_request.datasets.all() if d.committee_id != committee.pk
        ],
        "comments": list(selectors.comments_for_review(review)),
        "current_votes": current_votes,
        "previous_votes": [v for v in votes if v.round != review.round],
        "tally": tally,
        "policy_summary": _policy_summary(committee, tally),
        "decisions": list(selectors.decisions_for_review(review)),
        "grants": grants,
        "may_comment": role is not None,
        "comment_form": bound.get("comment") or CommentForm(prefix="comment"),
        "may_vote": lifecycle.may_vote(role) and decidable,
        "vote_form": bound.get("vote")
        or VoteForm(
            prefix="vote",
            initial={"choice": own_vote.choice, "rationale": own_vote.rationale}
            if own_vote
            else None,
        ),
        "own_vote": own_vote,
        "may_decide": role is not None and decidable,
        "decision_options": decision_options,
        "may_start": role is not None
        and review.status in (ReviewStatus.SUBMITTED, ReviewStatus.RESUBMITTED),
        "may_close": may_manage
        and ReviewStatus.CLOSED in lifecycle.REVIEW_TRANSITIONS.get(review.status, set()),
        "may_manage": may_manage,
        "start_error": _form_errors(bound.get("start")),
        "close_error": _form_errors(bound.get("close")),
    }


def _role_label(role: str | None) -> str:
    if role == lifecycle.DEPUTY:
        return "Deputy decider"
    return CommitteeRole(role).label if role else ""


def _form_errors(form: forms.Form | None) -> list[str]:
    return [str(e) for e in form.non_field_errors()] if form is not None else []


def _purpose_flags(access_request: AccessRequest) -> list[tuple[str, bool]]:
    opts = AccessRequest._meta
    return [
        (str(opts.get_field(f).verbose_name), getattr(access_request, f)) for f in PURPOSE_FLAGS
    ]


def reason_form(*, label: str, required: str) -> type[forms.Form]:
    """The one-field form an admin action asks before it acts: why."""
    field = forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": required},
    )
    return type("ReasonForm", (forms.Form,), {"reason": field})


# --- grants ----------------------------------------------------------------------------------
RevokeActionForm = reason_form(
    label="Reason for revoking", required="Say why the grants are revoked."
)


class GrantStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("current", "Within its dates, not revoked"),
            ("revoked", "Revoked"),
            ("ended", "Ended"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "current":
            return queryset.filter(
                revoked_at__isnull=True, valid_from__lte=now, valid_until__gt=now
            )
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(revoked_at__isnull=True, valid_until__lte=now)
        return queryset


@admin.register(Grant)
class GrantAdmin(NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    list_display = [
        "user",
        "dataset_accession",
        "request_reference",
        "committee",
        "valid_from",
        "valid_until",
        "state",
    ]
    list_filter = [GrantStateFilter]
    search_fields = ["user__username", "dataset__accession"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["revoke"]
    fields = [
        "user",
        "dataset",
        "request_link",
        "decision",
        "valid_from",
        "valid_until",
        "conditions",
        "obligation_list",
        "state_now",
        "created_at",
        "revoked_at",
        "revoked_by",
        "revoked_reason",
    ]
    readonly_fields = fields

    def has_module_permission(self, request):
        return _is_committee_member(request)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_active and request.user.is_staff
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def get_queryset(self, request):
        if request.user.is_superuser:
            return Grant.objects.select_related(
                "dataset", "decision__review__committee", "request", "user"
            ).prefetch_related("decision__agreements")
        return selectors.grant_list_for_committee_user(request.user)

    def get_actions(self, request):
        # The stock "delete selected" needs a delete permission nobody has; revoke is the only action.
        actions = super().get_actions(request)
        return {k: v for k, v in actions.items() if k == "revoke"}

    @admin.display(description="dataset", ordering="dataset__accession")
    def dataset_accession(self, grant):
        return format_html('<span class="nowrap">{}</span>', grant.dataset.accession)

    @admin.display(description="request", ordering="request_id")
    def request_reference(self, grant):
        return format_html('<span class="nowrap">{}</span>', grant.request.reference)

    def changelist_view(self, request, extra_context=None):
        title = (
            "Grants (all committees)" if request.user.is_superuser else "Your committees' grants"
        )
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.display(description="committee")
    def committee(self, grant):
        return grant.decision.review.committee

    @admin.display(description="state")
    def state(self, grant):
        # Cheap per row (no query): the agreement and account checks are on the grant's page.
        now = timezone.now()
        if grant.revoked_at is not None:
            return "revoked"
        if grant.valid_until <= now:
            return "ended"
        if grant.valid_from > now:
            return "not yet valid"
        return "within its dates"

    @admin.display(description="request")
    def request_link(self, grant):
        review = grant.decision.review
        url = reverse("admin:access_review_change", args=[review.pk])
        return format_html('<a href="{}">{}</a>', url, grant.request.reference)

    @admin.display(description="obligations")
    def obligation_list(self, grant):
        items = [(o.get("term", ""), o.get("text", "")) for o in grant.obligations or []]
        return format_html_join(mark_safe("<br>"), "{}: {}", items) if items else "—"

    @admin.display(description="active now?")
    def state_now(self, grant):
        return grant.inactive_reason() or "Active."

    @admin.action(description="Revoke the selected grants (asks for a reason)")
    def revoke(self, request, queryset):
        form = RevokeActionForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for grant in queryset:
                try:
                    with transaction.atomic():
                        grant_services.grant_revoke(
                            grant=grant, actor=request.user, reason=form.cleaned_data["reason"]
                        )
                        self._record_admin_action(
                            request, grant, "grant_revoke", "Revoked.", grant=grant.pk
                        )
                except SERVICE_ERRORS as exc:
                    self.message_user(
                        request,
                        f"{grant.user.username} / {grant.dataset.accession}: {_error_text(exc)}",
                        messages.ERROR,
                    )
                else:
                    self.message_user(
                        request,
                        f"Revoked {grant.user.username}'s access to {grant.dataset.accession}.",
                        messages.SUCCESS,
                    )
            return None
        return TemplateResponse(
            request,
            "admin/access/grant_revoke_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": "Revoke grants",
                "form": form,
                "grants": queryset,
                "opts": self.opts,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


# --- superusers only: requests and the notification outbox ------------------------------------
@admin.register(AccessRequest)
class AccessRequestAdmin(SuperuserOnlyMixin, NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    list_display = ["reference", "title", "applicant", "status", "submitted_at", "review_links"]
    list_filter = ["status"]
    search_fields = ["title", "applicant__username"]
    list_select_related = ["applicant"]
    list_per_page = 50
    show_full_result_count = False
    actions = None
    exclude = ["ethics_document"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("reviews__committee")
            .select_related("applicant")
        )

    def get_readonly_fields(self, request, obj=None):
        opts = AccessRequest._meta
        own = [f.name for f in [*opts.fields, *opts.many_to_many] if f.name != "ethics_document"]
        return [*own, "ethics_document_link", "review_links"]

    @admin.display(description="reference", ordering="pk")
    def reference(self, access_request):
        return access_request.reference

    @admin.display(description="reviews")
    def review_links(self, access_request):
        rows = [
            (
                reverse("admin:access_review_change", args=[r.pk]),
                r.committee.slug,
                r.get_status_display(),
            )
            for r in access_request.reviews.all()
        ]
        return format_html_join(", ", '<a href="{}">{}</a> ({})', rows) if rows else "—"

    @admin.display(description="ethics approval document")
    def ethics_document_link(self, access_request):
        url = _ethics_document_url(access_request)
        if url is None:
            return "—"
        return format_html('<a href="{}">Download the ethics approval document</a>', url)


class DeliveryFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [
            ("waiting", "Waiting (not sent yet)"),
            ("failing", "Failed at least once"),
            ("sent", "Sent"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(sent_at__isnull=True, attempts__gt=0)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(SuperuserOnlyMixin, NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "subject", "delivery"]
    list_filter = [DeliveryFilter, "kind"]
    search_fields = ["subject", "recipient__username", "dedupe_key"]
    list_select_related = ["recipient"]
    list_per_page = 100
    show_full_result_count = False
    ordering = ["-created_at"]
    actions = ["retry_now"]

    @admin.display(description="delivery", ordering="sent_at")
    def delivery(self, notification):
        if notification.sent_at is not None:
            return f"sent {notification.sent_at:%Y-%m-%d %H:%M}"
        if not notification.attempts:
            return "waiting"
        return format_html(
            "waiting: {} attempt(s), next {}<br><small>{}</small>",
            notification.attempts,
            f"{notification.next_attempt_at:%Y-%m-%d %H:%M}",
            notification.last_error,
        )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Notification._meta.concrete_fields]

    def get_actions(self, request):
        actions = super().get_actions(request)
        return {k: v for k, v in actions.items() if k == "retry_now"}

    def changelist_view(self, request, extra_context=None):
        title = "Notification outbox (e-mails)"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.action(description="Retry now (send the selected unsent e-mails)")
    def retry_now(self, request, queryset):
        sent = failed = already = 0
        for notification in queryset:
            if notification.sent_at is not None:
                already += 1
                continue
            ok = notification_services.notification_deliver(notification_id=notification.pk)
            self._record_admin_action(
                request, notification, "notification_retry", "Retried.", sent=ok
            )
            if ok:
                sent += 1
            else:
                failed += 1
        if sent:
            self.message_user(request, f"Sent {sent} e-mail(s).", messages.SUCCESS)
        if failed:
            self.message_user(
                request,
                f"{failed} e-mail(s) failed again; see their last error. They stay in the outbox.",
                messages.ERROR,
            )
        if already:
            self.message_user(request, f"{already} had been sent already.", messages.INFO)
