"""The access app's ModelAdmins: the committees' review queue and grants, and, for superusers, the
access requests and the notification outbox.

A member sees the reviews of their own committees only (django-guardian, through
`access.selectors`); every other id, in the stock admin URLs and in the review workspace's, is a
404. The review page, its forms, the views they post to and the list filters are the committee's
review workspace (`access.committee`); the admin wires them in here. The admin never writes a
model itself: each form calls its service, and a service's refusal comes back as an error message
on the page, never as a 500.
"""

from __future__ import annotations

import re
from weakref import WeakKeyDictionary

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from audit.admin_mixins import NotFoundInsteadOfForbiddenMixin, SuperuserOnlyMixin

from . import lifecycle, selectors
from .committee.context import (
    committee_datasets,
    due_text,
    ethics_document_url,
    researcher_status_text,
    verdict_badge,
)
from .committee.errors import record_refusal
from .committee.filters import (
    CommitteeFilter,
    DeliveryFilter,
    GrantStateFilter,
    NeedsMeFilter,
    VerdictFilter,
)
from .committee.views import ReviewWorkspace, revoke_grants
from .models import AccessRequest, Bar, CloseOut, Grant, Notification, ResearcherStatus, Review
from .services import notifications as notification_services

REFERENCE = re.compile(r"(?:TSR-AR-)?0*(\d{1,12})", re.IGNORECASE)


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


class _CommitteeListMixin:
    """The permissions of a committee's list (reviews, grants): the queryset decides; every
    active staff user may look at an (empty) list, and at one object only if the list holds it."""

    def has_module_permission(self, request):
        return _is_committee_member(request)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_active and request.user.is_staff
        return self.get_queryset(request).filter(pk=obj.pk).exists()


# --- the work queue -----------------------------------------------------------------------------
@admin.register(Review)
class ReviewAdmin(_CommitteeListMixin, NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    # Few, wrapping columns: the queue fits 1280 px beside its filters (no sideways scrolling).
    list_display = [
        "reference",
        "project_title",
        "committee_slug",
        "status_and_due",
        "datasets_and_verdicts",
        "votes_so_far",
    ]
    list_display_links = ["reference"]
    list_filter = [NeedsMeFilter, "status", CommitteeFilter, VerdictFilter]
    search_fields = ["request__title"]  # shows the search box; the search itself is below
    search_help_text = "Reference (TSR-AR-000123 or 123), project title, applicant, accession."
    list_per_page = 50
    show_full_result_count = False
    actions = None

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

    @admin.display(description="project · applicant", ordering="request__title")
    def project_title(self, review):
        title = review.request.title
        title = title if len(title) <= 60 else f"{title[:59]}…"
        if review.request.is_renewal:
            # A renewal reads as one at a glance: what it continues, and for how long.
            return format_html(
                '<strong>Renewal</strong> of {}, {} more months: {}<br><span class="quiet">{}</span>',
                f"TSR-AR-{review.request.parent_id:06d}",
                review.request.renewal_months,
                title,
                review.request.applicant.username,
            )
        return format_html(
            '{}<br><span class="quiet">{}</span>', title, review.request.applicant.username
        )

    @admin.display(description="committee", ordering="committee__slug")
    def committee_slug(self, review):
        return review.committee.slug

    @admin.display(description="status · due", ordering="request__submitted_at")
    def status_and_due(self, review):
        due, overdue = due_text(review)
        if not due:
            return review.get_status_display()
        return format_html(
            '{}<br><span class="{}">{}</span>',
            review.get_status_display(),
            "overdue" if overdue else "quiet",
            due,
        )

    @admin.display(description="datasets · consent match")
    def datasets_and_verdicts(self, review):
        matches = {m.dataset_id: m.decision for m in review.request.matches.all()}
        rows = [(d.accession, verdict_badge(matches.get(d.pk))) for d in committee_datasets(review)]
        if not rows:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} {}", rows)

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

    # --- the review page and its forms: the committee's review workspace ------------------------
    @cached_property
    def workspace(self) -> ReviewWorkspace:
        return ReviewWorkspace(self)

    def get_urls(self):
        return self.workspace.urls() + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.workspace.page_view(request, object_id)

    def history_view(self, request, object_id, extra_context=None):
        try:
            return super().history_view(request, object_id, extra_context)
        except Http404:
            record_refusal(request, "review_history", 404)
            raise


# --- grants ----------------------------------------------------------------------------------
@admin.register(Bar)
class BarAdmin(_CommitteeListMixin, NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    """The people a committee has barred, read-only: a bar is made with a grant's revocation
    (the review page's "Revoke" step, or the API's `revoke` with `bar_until`) and runs out on
    its date."""

    list_display = ["user", "committee", "until", "in_force", "created_at"]
    list_filter = ["committee"]
    search_fields = ["user__username"]
    fields = ["user", "committee", "until", "reason", "grant", "created_by", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.bar_list_for_committee_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="in force", boolean=True)
    def in_force(self, bar):
        return bar.until >= timezone.localdate()


@admin.register(Grant)
class GrantAdmin(_CommitteeListMixin, NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
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
        return revoke_grants(self, request, queryset)


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


# --- superusers only: requests and the notification outbox ------------------------------------
class CloseOutInline(admin.StackedInline):
    """The request's close-out, read-only: only its applicant files it (access.services.closeouts)."""

    model = CloseOut
    extra = 0
    can_delete = False
    fields = readonly_fields = ["data_disposition", "agreement", "results", "filed_at", "filed_by"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccessRequest)
class AccessRequestAdmin(SuperuserOnlyMixin, NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    list_display = ["reference", "title", "applicant", "status", "submitted_at", "review_links"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "applicant__username"]
    list_select_related = ["applicant"]
    list_per_page = 50
    show_full_result_count = False
    actions = None
    exclude = ["ethics_document"]
    inlines = [CloseOutInline]

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
        return [*own, "applicant_researcher_status", "ethics_document_link", "review_links"]

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

    @admin.display(description="applicant's researcher status")
    def applicant_researcher_status(self, access_request):
        return researcher_status_text(access_request.applicant)

    @admin.display(description="ethics approval document")
    def ethics_document_link(self, access_request):
        url = ethics_document_url(access_request)
        if url is None:
            return "—"
        return format_html('<a href="{}">Download the ethics approval document</a>', url)


@admin.register(ResearcherStatus)
class ResearcherStatusAdmin(SuperuserOnlyMixin, NotFoundInsteadOfForbiddenMixin, admin.ModelAdmin):
    """People's researcher statuses, as verified from their visas (accounts/passports.py):
    read-only, since only a visa can change them."""

    list_display = ["user", "source", "by", "asserted", "expires_at", "issuer", "recorded_at"]
    list_filter = ["issuer", "by"]
    search_fields = ["user__username", "source"]
    list_select_related = ["user"]
    list_per_page = 100
    show_full_result_count = False
    actions = None
    ordering = ["-recorded_at"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ResearcherStatus._meta.concrete_fields]


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
            return f"sent {_when(notification.sent_at)}"
        if not notification.attempts:
            return "waiting"
        return format_html(
            "waiting: {} attempt(s), next {}<br><small>{}</small>",
            notification.attempts,
            _when(notification.next_attempt_at),
            notification.last_error,
        )

    # The text part is shown; the HTML part says the same with markup, unreadable as source.
    exclude = ["html_body"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Notification._meta.concrete_fields if f.name not in self.exclude]

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
