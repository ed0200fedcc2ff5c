"""Renewals: the applicant of an approved request asks for more time, from
`TESSERA_RENEWAL_WINDOW_DAYS` (60) days before a grant ends. A renewal is a request of its own
(`kind=renewal`, `parent` the approved request), pre-filled from its parent and submitted at
once, so that the committees of the datasets it covers review it as any request, their automatic
policies included; its approval extends the parent's grants in place
(`grants.grants_extend`), its rejection leaves them as they were."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit import events
from core.exceptions import Invalid

from .. import selectors
from ..answers import REQUEST_FIELDS
from ..choices import RequestKind, RequestStatus
from ..lifecycle import TransitionRefused
from ..models import MAX_REQUESTED_MONTHS, AccessRequest, Grant
from . import common
from . import requests as request_services

PROGRESS_REPORT_MAX = 10000


def renewal_refusal(access_request: AccessRequest) -> str | None:
    """Why the applicant of this request cannot ask for a renewal now, or None (the portal
    shows the reason instead of the form; the service refuses with it)."""
    if access_request.is_renewal:
        return (
            f"This is a renewal; ask for more time on {access_request.parent.reference}, "
            "the request whose grants it extends."
        )
    if access_request.status != RequestStatus.SUBMITTED:
        return f"A {access_request.get_status_display().lower()} request has no grants to renew."
    pending = selectors.renewal_pending_of(access_request)
    if pending is not None:
        return f"A renewal of this request is already waiting for a decision: {pending.reference}."
    change = selectors.amendment_pending_of(access_request)
    if change is not None:
        return (
            f"A change to this project is under way ({change.reference}): ask for more time "
            "once it is decided, or withdraw it."
        )
    if not selectors.grants_renewable(access_request):
        opens = selectors.renewal_window_opens(access_request)
        if opens is None:
            return "This request has no active grants to renew."
        return (
            f"A renewal can be asked for from {selectors.renewal_window_days()} days before a "
            f"grant ends: from {opens.isoformat()}."
        )
    return None


def _clean(months, progress_report: str) -> tuple[int, str]:
    errors = {}
    try:
        months = int(months)
    except (TypeError, ValueError):
        months = 0
    if not 1 <= months <= MAX_REQUESTED_MONTHS:
        errors["months"] = f"Ask for 1 to {MAX_REQUESTED_MONTHS} months."
    report = (progress_report or "").strip()
    if not report:
        errors["progress_report"] = (
            "Report on the project's progress: what was done with the data, and publications."
        )
    elif len(report) > PROGRESS_REPORT_MAX:
        errors["progress_report"] = f"Keep the report under {PROGRESS_REPORT_MAX} characters."
    if errors:
        raise Invalid(errors)
    return months, report


@transaction.atomic
def renewal_open(
    *, access_request: AccessRequest, actor, months: int, progress_report: str
) -> AccessRequest:
    """Ask for `months` more on the grants of `access_request` that end within the renewal
    window: a renewal request for their datasets, with the parent's answers, team and accepted
    agreements, submitted in the same step (`request_submit`: reviews, consent matches, the
    committees' automatic decisions). Only the parent's applicant; one renewal waiting at a time."""
    # The parent's reviews and then the parent, as every applicant-side change locks them: two
    # tabs asking at once serialise here, and the second sees the first one's renewal.
    common.lock_reviews_of(access_request)
    parent = common.lock_request(access_request)
    common.require_applicant(parent, actor)
    months, report = _clean(months, progress_report)
    refusal = renewal_refusal(parent)
    if refusal:
        raise TransitionRefused(refusal)
    # The grants it would extend, locked before the first ledger event: the committees'
    # automatic policies may extend them in this transaction (see `grants_lock_for_renewal`).
    grants = selectors.grants_renewable(parent)
    list(
        Grant.objects.select_for_update(of=("self",))
        .filter(pk__in=[g.pk for g in grants])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    datasets = sorted({g.dataset for g in grants}, key=lambda d: d.pk)
    data = {field: getattr(parent, field) for field in REQUEST_FIELDS}
    data["requested_months"] = months
    renewal = AccessRequest.objects.create(
        applicant=parent.applicant,
        kind=RequestKind.RENEWAL,
        parent=parent,
        renewal_months=months,
        progress_report=report,
        **data,
    )
    renewal.datasets.set(datasets)
    events.request_created(access_request=renewal, actor=actor)
    events.renewal_requested(renewal=renewal, actor=actor)
    renewal.diseases.set(parent.diseases.all())
    # The team as approved: the renewal continues the same people's access.
    renewal.team_members.set(parent.team_members.all())
    # The agreement versions accepted for the parent still bind the same people; a version
    # published since must be accepted on the parent first (submission names it).
    committees = {d.committee_id for d in datasets}
    common.acceptances_carry(source=parent, target=renewal, committee_ids=committees)
    problems = request_services.submission_problems(renewal)
    if problems:
        if "agreements" in problems:
            problems["agreements"] += f" Accept it on {parent.reference} first."
        raise Invalid(problems)
    renewal = request_services.request_submit(access_request=renewal, actor=actor)
    parent.last_activity_at = timezone.now()
    parent.save(update_fields=["last_activity_at", "updated_at"])
    return renewal
