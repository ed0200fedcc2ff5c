"""The applicant's side of an access request: drafting (create, update, datasets and diseases;
the team is joined by invitation, access.services.team), the access agreements, submission
(with its consent matches and the committees' automatic decisions), withdrawal, resubmission
after a return, the ethics attachment, and the expiry of idle drafts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit import events
from core.exceptions import Forbidden, Invalid
from governance.choices import DatasetStatus
from governance.models import AccessAgreement, Dataset, OntologyTerm
from governance.rules import ISO_COUNTRIES

from .. import lifecycle, matching
from ..answers import REQUEST_FIELDS
from ..choices import DecisionOutcome, RequestStatus, ReviewStatus
from ..lifecycle import TransitionRefused
from ..models import AccessRequest, AgreementAcceptance, Grant, Review
from ..selectors import (
    bars_for_request,
    committee_reply_missing,
    request_may_view,
    researcher_status_current,
)
from . import amendments as amendment_services
from . import closeouts as closeout_services
from . import common
from . import decisions as decision_services
from . import grants as grant_services
from . import notifications as notification_services

DRAFT_IDLE_DAYS = 90
DRAFT_REMINDER_DAYS = 7


def required_agreements(access_request: AccessRequest) -> dict[int, AccessAgreement]:
    """The current agreement version for each requested dataset, by dataset id."""
    out = {}
    for dataset in access_request.datasets.select_related("committee"):
        agreement = dataset.current_agreement
        if agreement is not None:
            out[dataset.pk] = agreement
    return out


# --- drafting ---------------------------------------------------------------------------------
def _clean_request(access_request: AccessRequest, *, written: Iterable[str]) -> None:
    access_request.full_clean(exclude=["applicant", "datasets", "team_members", "diseases"])
    # The field's validator checks the shape only ("ZZ" passes): the code must be assigned.
    # Checked when the country is written, so that a code stored before this check (e.g. "UK")
    # never blocks a change to other answers (it may be locked under an approval).
    country = access_request.country
    if "country" in written and country and country not in ISO_COUNTRIES:
        raise ValidationError(
            {"country": f"{country!r} is not an ISO 3166-1 alpha-2 country code."}
        )


def _set_relations(
    access_request: AccessRequest,
    *,
    datasets: Iterable[Dataset] | None,
    diseases: Iterable[OntologyTerm] | None,
) -> list[str]:
    changed = []
    if datasets is not None:
        datasets = list(datasets)
        unpublished = [d.accession for d in datasets if d.status != DatasetStatus.PUBLISHED]
        if unpublished:
            raise Invalid({"datasets": f"Not in the catalogue: {', '.join(unpublished)}."})
        if {d.pk for d in datasets} != set(access_request.datasets.values_list("pk", flat=True)):
            access_request.datasets.set(datasets)
            changed.append("datasets")
    if diseases is not None:
        diseases = list(diseases)
        if any(d.ontology != "DOID" for d in diseases):
            raise Invalid({"diseases": "Diseases must be Human Disease Ontology (DOID) terms."})
        if {d.pk for d in diseases} != set(access_request.diseases.values_list("pk", flat=True)):
            access_request.diseases.set(diseases)
            changed.append("diseases")
    return changed


@transaction.atomic
def request_create(
    *,
    applicant,
    data: dict[str, Any],
    datasets: Iterable[Dataset] = (),
    diseases: Iterable[OntologyTerm] = (),
    copied_from: AccessRequest | None = None,
) -> AccessRequest:
    """A draft filed by `applicant` for themselves: the caller passes the person asking (the
    signed-in user, a token's user), never someone else, so there is no one else to check.
    `copied_from` is set by `request_copy` only."""
    unknown = set(data) - set(REQUEST_FIELDS)
    if unknown:
        raise Invalid({f: "Not a field of an access request." for f in unknown})
    access_request = AccessRequest(applicant=applicant, copied_from=copied_from, **data)
    _clean_request(access_request, written=data)
    access_request.save()
    _set_relations(access_request, datasets=datasets, diseases=diseases)
    events.request_created(access_request=access_request, actor=applicant)
    return access_request


# The answers a copy never carries over: a file is uploaded again for each request (its copy
# would be a second stored file that nobody chose to send).
NOT_COPIED = ("ethics_document",)


def _copyable_answers(source: AccessRequest) -> tuple[dict[str, Any], list[str]]:
    """The answers of `source` a new draft can take as they are, and the names of those it
    cannot: the ethics document, and any answer stored before a rule that now refuses it (a
    country code that is not ISO 3166-1, a value out of its field's bounds)."""
    data: dict[str, Any] = {}
    left_out = list(NOT_COPIED)
    for name in REQUEST_FIELDS:
        if name in NOT_COPIED:
            continue
        value = getattr(source, name)
        field = AccessRequest._meta.get_field(name)
        try:
            field.clean(value, source)
        except ValidationError:
            left_out.append(name)
            continue
        if name == "country" and value and value not in ISO_COUNTRIES:
            left_out.append(name)
            continue
        data[name] = value
    return data, left_out


@transaction.atomic
def request_copy(*, access_request: AccessRequest, actor) -> AccessRequest:
    """Start a new draft from a finished request of the applicant's ("Copy as new request"):
    its answers, its datasets still in the catalogue and its diseases, through `request_create`,
    with `copied_from` naming the source. Not copied: the ethics approval document (uploaded
    again), datasets no longer in the catalogue, answers the form would now refuse, and the team
    (each member is invited again and accepts again; nobody joins a project unasked).

    The returned draft carries what was left out, for the caller to say:
    `copy.datasets_skipped` (accessions), `copy.not_copied` (answer names) and
    `copy.team_not_copied` (how many team members are to be invited again)."""
    common.require_applicant(access_request, actor)
    # Read fresh: the caller's copy may predate a decision or a withdrawal. Nothing of the source
    # is written, so no lock is needed; a review reopened meanwhile changes nothing we copy.
    source = AccessRequest.objects.get(pk=access_request.pk)
    refusal = lifecycle.copy_refusal(source.status, source.reviews.values_list("status", flat=True))
    if refusal:
        raise TransitionRefused(refusal)
    data, not_copied = _copyable_answers(source)
    datasets = list(source.datasets.order_by("accession"))
    kept = [d for d in datasets if d.status == DatasetStatus.PUBLISHED]
    skipped = [d.accession for d in datasets if d.status != DatasetStatus.PUBLISHED]
    copy = request_create(
        applicant=actor,
        data=data,
        datasets=kept,
        diseases=source.diseases.filter(ontology="DOID"),
        copied_from=source,
    )
    events.request_copied(
        access_request=copy,
        source=source,
        actor=actor,
        datasets_skipped=skipped,
        not_copied=not_copied,
    )
    copy.datasets_skipped = skipped
    copy.not_copied = not_copied
    copy.team_not_copied = source.team_members.count()
    return copy


def approvals_standing(access_request: AccessRequest) -> list[Review]:
    """The reviews whose approval of this request still stands: at least one of the grants it
    created is neither revoked nor expired (active, or waiting for an agreement or an ethics
    approval). While one stands, `lifecycle.APPROVAL_FIELDS` cannot change. An amendment's
    approvals make no grant until every committee has approved (`amendments`): for it, any
    approval stands."""
    if access_request.is_amendment:
        return list(
            access_request.reviews.filter(status=ReviewStatus.APPROVED)
            .select_related("committee")
            .order_by("pk")
        )
    return list(
        Review.objects.filter(
            request_id=access_request.pk,
            decisions__grants__revoked_at__isnull=True,
            decisions__grants__valid_until__gt=timezone.now(),
        )
        .select_related("committee")
        .distinct()
        .order_by("pk")
    )


def _relation_changes(
    access_request: AccessRequest, *, diseases: Iterable[OntologyTerm] | None
) -> list[str]:
    if diseases is not None and {x.pk for x in diseases} != set(
        access_request.diseases.values_list("pk", flat=True)
    ):
        return ["diseases"]
    return []


def _answer_changed(access_request: AccessRequest, field: str, value: Any) -> bool:
    current = getattr(access_request, field)
    if field == "ethics_document":
        # A new upload always changes it; "no document" changes it only if one is on file.
        return bool(value) or bool(current)
    return current != value


def editable(access_request: AccessRequest) -> bool:
    """A draft, or a request returned for changes (the applicant edits, then resubmits)."""
    if access_request.status == RequestStatus.DRAFT:
        return True
    return (
        access_request.status == RequestStatus.SUBMITTED
        and access_request.reviews.filter(status=ReviewStatus.RETURNED).exists()
    )


TEAM_FIXED = "The team of this request cannot change now: only a draft's, or a returned request's."


def team_change_refusal(access_request: AccessRequest) -> str | None:
    """Why the team of this request cannot change now, or None: it changes while the request
    is editable and no approval relying on it stands (`lifecycle.APPROVAL_FIELDS`)."""
    if not editable(access_request):
        return TEAM_FIXED
    if access_request.status != RequestStatus.DRAFT:
        standing = approvals_standing(access_request)
        if lifecycle.locked_changes(["team_members"], approvals_standing=bool(standing)):
            return str(
                lifecycle.AnswersLocked(
                    fields=["team_members"], committees=[r.committee.name for r in standing]
                )
            )
    return None


@transaction.atomic
def request_update(
    *,
    access_request: AccessRequest,
    actor,
    data: dict[str, Any],
    datasets: Iterable[Dataset] | None = None,
    diseases: Iterable[OntologyTerm] | None = None,
) -> AccessRequest:
    common.lock_reviews_of(access_request)
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    if not editable(access_request):
        raise TransitionRefused("Only a draft, or a request returned for changes, can be edited.")
    if datasets is not None and access_request.status != RequestStatus.DRAFT:
        raise Invalid({"datasets": "The datasets of a submitted request cannot change."})
    unknown = set(data) - set(REQUEST_FIELDS)
    if unknown:
        raise Invalid({f: "Not a field of an access request." for f in unknown})
    diseases = None if diseases is None else list(diseases)
    changed = [f for f, v in data.items() if _answer_changed(access_request, f, v)]
    if access_request.is_amendment:
        fixed = sorted(set(changed) & set(amendment_services.FIXED_ANSWERS))
        if fixed:
            raise Invalid(
                {
                    f: "An amendment changes what the project does and who does it; ask for "
                    "more time with a renewal."
                    for f in fixed
                }
            )
    if access_request.is_renewal:
        # A renewal continues its parent's project as approved: only the title and summaries
        # may change (a different project is a new request).
        fixed = sorted(
            set(changed + _relation_changes(access_request, diseases=diseases))
            & set((*lifecycle.APPROVAL_FIELDS, "requested_months"))
        )
        if fixed:
            raise Invalid(
                {
                    f: f"A renewal continues {access_request.parent.reference} as approved; "
                    "this answer cannot change."
                    for f in fixed
                }
            )
    if access_request.status != RequestStatus.DRAFT:
        # Refused before anything is written: a standing approval's grants were made for these
        # answers, and would otherwise keep giving access to a project no committee approved.
        standing = approvals_standing(access_request)
        locked = lifecycle.locked_changes(
            changed + _relation_changes(access_request, diseases=diseases),
            approvals_standing=bool(standing),
        )
        if locked:
            raise lifecycle.AnswersLocked(
                fields=locked, committees=[r.committee.name for r in standing]
            )
    for field, value in data.items():
        setattr(access_request, field, value)
    _clean_request(access_request, written=changed)
    access_request.last_activity_at = timezone.now()
    access_request.save()
    changed += _set_relations(access_request, datasets=datasets, diseases=diseases)
    if changed:
        events.request_changed(access_request=access_request, actor=actor, fields=changed)
    return access_request


@transaction.atomic
def request_datasets_add(
    *, access_request: AccessRequest, actor, datasets: Iterable[Dataset]
) -> AccessRequest:
    """Add `datasets` to a draft: the cart ("Add to draft TSR-AR-…?" on the catalogue and a
    dataset's page). Only the applicant, only while the request is a draft (a submitted request's
    datasets are fixed), only datasets in the catalogue now: a retired or unpublished one is
    refused by accession. Datasets already on the draft stay as they are; a change is recorded
    in the ledger as an update's is (`request.changed`, field "datasets")."""
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    if access_request.status != RequestStatus.DRAFT:
        raise TransitionRefused(
            f"Datasets can be added to a draft only; {access_request.reference} is "
            f"{access_request.get_status_display().lower()}. Start a new request instead."
        )
    datasets = list(datasets)
    if not datasets:
        raise Invalid({"datasets": "Choose a dataset to add."})
    unavailable = sorted(d.accession for d in datasets if d.status != DatasetStatus.PUBLISHED)
    if unavailable:
        raise Invalid(
            {
                "datasets": f"No longer available in the catalogue, so nothing was added: "
                f"{', '.join(unavailable)}."
            }
        )
    present = set(access_request.datasets.values_list("pk", flat=True))
    new = [d for d in datasets if d.pk not in present]
    if new:
        access_request.datasets.add(*new)
        access_request.last_activity_at = timezone.now()
        access_request.save(update_fields=["last_activity_at", "updated_at"])
        events.request_changed(access_request=access_request, actor=actor, fields=["datasets"])
    return access_request


@transaction.atomic
def agreement_accept(
    *, access_request: AccessRequest, user, agreement: AccessAgreement
) -> AgreementAcceptance:
    access_request = common.lock_request(access_request)
    if (
        user.pk != access_request.applicant_id
        and not access_request.team_members.filter(pk=user.pk).exists()
    ):
        raise Forbidden("Only the applicant and the team members accept the agreement.")
    if agreement.pk not in {a.pk for a in required_agreements(access_request).values()}:
        raise Invalid({"agreement": "That is not the current agreement for any requested dataset."})
    acceptance, created = AgreementAcceptance.objects.get_or_create(
        request=access_request, user=user, agreement=agreement
    )
    if created:
        events.agreement_accepted(acceptance=acceptance, actor=user)
    return acceptance


@transaction.atomic
def agreements_accept_all(
    *, access_request: AccessRequest, user, agreements: Iterable[AccessAgreement]
) -> list[AgreementAcceptance]:
    """Accept several agreement versions in one step, all or none: the portal's "accept all"
    button sends the versions the person was shown (a version published meanwhile is refused,
    never accepted unseen). Each goes through `agreement_accept`, in this one transaction, so
    each newly accepted version appends its own `access.agreement_accepted` event, as one by
    one; versions already accepted are left as they are."""
    agreements = sorted(set(agreements), key=lambda a: a.pk)
    if not agreements:
        raise Invalid({"agreement": "There is no agreement to accept."})
    return [
        agreement_accept(access_request=access_request, user=user, agreement=agreement)
        for agreement in agreements
    ]


def submission_problems(access_request: AccessRequest) -> dict[str, str]:
    """What stops a draft from being submitted, or a returned request from being resubmitted
    (then also a reply to the committee, "reply"), by field (shown before the applicant does)."""
    problems: dict[str, str] = {}
    for field, label in (
        ("title", "a project title"),
        ("lay_summary", "a lay summary"),
        ("scientific_abstract", "a scientific abstract"),
    ):
        if not getattr(access_request, field).strip():
            problems[field] = f"Give {label}."
    datasets = list(access_request.datasets.select_related("committee"))
    if not datasets:
        problems["datasets"] = "Choose at least one dataset."
    gone = [d.accession for d in datasets if d.status != DatasetStatus.PUBLISHED]
    if gone:
        problems["datasets"] = f"No longer in the catalogue: {', '.join(gone)}."
    purpose_given = (
        access_request.diseases.exists()
        or access_request.methods_development
        or access_request.population_ancestry
        or access_request.clinical_care
        or access_request.other_purpose.strip()
        or access_request.scientific_abstract.strip()
    )
    if not purpose_given:
        problems["diseases"] = "State the research purpose."
    if any(d.committee.requires_ethics_approval for d in datasets):
        today = timezone.localdate()
        if not access_request.ethics_reference.strip():
            problems["ethics_reference"] = (
                "A committee of these datasets requires an ethics approval reference."
            )
        if access_request.ethics_expiry is None or access_request.ethics_expiry < today:
            problems["ethics_expiry"] = "The ethics approval must not have expired."
        if not access_request.ethics_document:
            problems["ethics_document"] = "Upload the ethics approval document."
    if any(d.committee.requires_bona_fide for d in datasets) and (
        researcher_status_current(access_request.applicant) is None
    ):
        committees = sorted({d.committee.name for d in datasets if d.committee.requires_bona_fide})
        problems["researcher_status"] = (
            f"{' and '.join(committees)} only accept{'s' if len(committees) == 1 else ''} "
            "requests from bona fide researchers, and you have no current researcher status. "
            "Sign in through your institution, which sends your status to Tessera."
        )
    # A new request only: a returned one was accepted for review already, and an amendment
    # continues a project the committees accepted.
    closeouts = (
        closeout_services.closeouts_due(access_request, datasets)
        if access_request.status == RequestStatus.DRAFT and not access_request.is_amendment
        else []
    )
    if closeouts:
        problems["closeouts"] = closeout_services.closeouts_due_text(closeouts)
    accepted = set(
        AgreementAcceptance.objects.filter(
            request=access_request, user_id=access_request.applicant_id
        ).values_list("agreement_id", flat=True)
    )
    missing = {a for a in required_agreements(access_request).values() if a.pk not in accepted}
    if missing:
        names = ", ".join(sorted(f"{a.title} v{a.version}" for a in missing))
        problems["agreements"] = f"Accept the current access agreement(s): {names}."
    if access_request.is_amendment:
        problems.update(amendment_services.submission_problems(access_request))
    if access_request.status == RequestStatus.SUBMITTED and committee_reply_missing(access_request):
        problems["reply"] = (
            "Reply to the committee's questions: write to the committees (in the portal, "
            "the reply box at the top of the request's page)."
        )
    return problems


@transaction.atomic
def request_submit(*, access_request: AccessRequest, actor) -> AccessRequest:
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    if access_request.status != RequestStatus.DRAFT:
        raise TransitionRefused(
            f"Only a draft can be submitted; this request is {access_request.get_status_display().lower()}."
        )
    # An amendment takes its project's locks before the first ledger event (see
    # `amendments.lock_project`): the committees' automatic decisions, or the amendment itself
    # when no committee has to review it, change the project's grants in this transaction.
    project_grants = (
        amendment_services.lock_project(access_request) if access_request.is_amendment else None
    )
    problems = submission_problems(access_request)
    if problems:
        raise Invalid(problems)
    now = timezone.now()
    access_request.status = RequestStatus.SUBMITTED
    access_request.submitted_at = now
    access_request.last_activity_at = now
    access_request.save(update_fields=["status", "submitted_at", "last_activity_at", "updated_at"])
    if access_request.is_amendment:
        # Only the committees whose decision the change touches review it.
        changes = amendment_services.amendment_changes(access_request)
        amendment_services.summary_record(access_request, changes)
        committees = changes.committees
    else:
        committees = {
            d.committee_id: d.committee for d in access_request.datasets.select_related("committee")
        }
    reviews = []
    for committee in committees.values():
        review = Review.objects.create(request=access_request, committee=committee)
        for perm in common.REVIEW_PERMS:
            assign_perm(perm, committee.member_group, review)
        reviews.append(review)
    matching.matches_record(access_request=access_request)
    events.request_submitted(access_request=access_request, actor=actor, reviews=reviews)
    if project_grants is not None and not reviews:
        amendment_services.apply_unreviewed(
            amendment=access_request, actor=actor, grants=project_grants
        )
        return access_request
    notification_services.notify_submitted(access_request=access_request, reviews=reviews)
    # A committee that rejects barred people's requests does so first; then matching says what
    # the committees' consent policies decide. Both are recorded here.
    rejected = _reject_barred(access_request, reviews)
    fresh = [r for r in reviews if r.pk not in rejected]
    for automatic in matching.automatic_decisions(access_request=access_request, reviews=fresh):
        decision_services.decision_record(
            review=automatic.review,
            actor=None,
            outcome=automatic.outcome,
            automatic=True,
            end_date=automatic.end_date,
            conditions=automatic.conditions,
            reason=automatic.reason,
        )
    return access_request


def _reject_barred(access_request: AccessRequest, reviews: list[Review]) -> set[int]:
    """Reject, for each committee whose policy says so, a fresh review of a request whose
    applicant or team member it has barred; the ids of the reviews rejected. Other committees
    see the bar on their review page (`bars_for_request`)."""
    strict = {r.committee_id: r for r in reviews if r.committee.auto_reject_barred}
    if not strict:
        return set()
    barred: dict[int, list] = {}
    for bar in bars_for_request(access_request, strict):
        barred.setdefault(bar.committee_id, []).append(bar)
    for committee_id, bars in barred.items():
        who = "; ".join(
            f"{'the applicant' if b.user_id == access_request.applicant_id else 'team member'} "
            f"{b.user.username} until {b.until.strftime('%-d %b %Y')}"
            for b in bars
        )
        decision_services.decision_record(
            review=strict[committee_id],
            actor=None,
            outcome=DecisionOutcome.REJECT,
            automatic=True,
            reason="Automatic rejection under the committee's policy: it has barred "
            f"{who} from its datasets.",
        )
    return {strict[c].pk for c in barred}


WITHDRAWAL_REASON = "Request withdrawn by the applicant"


@transaction.atomic
def request_withdraw(*, access_request: AccessRequest, actor) -> AccessRequest:
    """Withdraw the request: open reviews stop, and since withdrawal ends the project, every
    grant it still holds is revoked (tokens swept into the revocation feed), and a renewal of it
    still waiting for its committees is withdrawn with it."""
    reviews = common.lock_reviews_of(access_request)
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    if access_request.status not in (RequestStatus.DRAFT, RequestStatus.SUBMITTED):
        raise TransitionRefused(
            f"A {access_request.get_status_display().lower()} request cannot be withdrawn."
        )
    # The project's renewals still waiting end with it. Their reviews are locked before the
    # grants: a renewal's decision locks its review, then the project's grants.
    renewals = list(access_request.follow_ups.filter(status=RequestStatus.SUBMITTED).order_by("pk"))
    renewal_reviews = list(
        Review.objects.select_for_update(of=("self",))
        .filter(request__in=renewals, status__in=lifecycle.OPEN_REVIEW_STATES)
        .order_by("pk")
    )
    # Grants last, and before the first ledger event: a token issuer holds a grant's lock while
    # its own event waits for the ledger's (see tokens.issue).
    grants = list(
        Grant.objects.select_for_update(of=("self",))
        .filter(request=access_request, revoked_at__isnull=True, valid_until__gt=timezone.now())
        .select_related("decision__review__committee", "dataset", "user")
        .order_by("pk")
    )
    open_reviews = [r for r in reviews if r.status in lifecycle.OPEN_REVIEW_STATES]
    if access_request.status == RequestStatus.SUBMITTED and not open_reviews and not grants:
        raise TransitionRefused("Every committee has decided already; nothing is left to withdraw.")
    for review in open_reviews:
        common.transition(review, ReviewStatus.WITHDRAWN)
    access_request.status = RequestStatus.WITHDRAWN
    access_request.last_activity_at = timezone.now()
    access_request.save(update_fields=["status", "last_activity_at", "updated_at"])
    events.request_withdrawn(
        access_request=access_request, actor=actor, grants_ended=[g.pk for g in grants]
    )
    for renewal in renewals:
        waiting = [r for r in renewal_reviews if r.request_id == renewal.pk]
        if not waiting:
            continue
        for review in waiting:
            common.transition(review, ReviewStatus.WITHDRAWN)
        renewal.status = RequestStatus.WITHDRAWN
        renewal.last_activity_at = timezone.now()
        renewal.save(update_fields=["status", "last_activity_at", "updated_at"])
        events.request_withdrawn(access_request=renewal, actor=actor, grants_ended=[])
    for grant in grants:
        grant_services.grant_revoke_locked(
            grant=grant,
            actor=actor,
            reason=WITHDRAWAL_REASON,
            notice=f"{access_request.reference} “{access_request.title}” was withdrawn, so your "
            f"access to {grant.dataset.title} has ended.",
        )
    return access_request


@transaction.atomic
def request_resubmit(*, access_request: AccessRequest, actor) -> AccessRequest:
    reviews = common.lock_reviews_of(access_request)
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    returned = [r for r in reviews if r.status == ReviewStatus.RETURNED]
    if not returned:
        raise TransitionRefused("No committee has returned this request for changes.")
    problems = submission_problems(access_request)
    if problems:
        raise Invalid(problems)
    access_request.last_activity_at = timezone.now()
    access_request.save(update_fields=["last_activity_at", "updated_at"])
    if access_request.is_amendment:
        # Its answers may have changed since: the summary says what it changes now.
        amendment_services.summary_record(
            access_request, amendment_services.amendment_changes(access_request)
        )
    for review in returned:
        review.round += 1
        common.transition(review, ReviewStatus.RESUBMITTED)
        events.request_resubmitted(access_request=access_request, review=review, actor=actor)
        notification_services.notify_resubmitted(access_request=access_request, review=review)
    # Only the parts going back to a committee are matched again: a decided part keeps the
    # verdict its committee saw (a later date alone could turn an approved part's match).
    matching.matches_record(
        access_request=access_request,
        datasets=[d for review in returned for d in review.datasets()],
    )
    return access_request


# --- attachments ------------------------------------------------------------------------------
@transaction.atomic
def attachment_view(*, access_request: AccessRequest, actor) -> None:
    """Record that someone opened the ethics approval document (before it is sent to them)."""
    if not request_may_view(actor, access_request):
        raise Forbidden("Only the people on the request and its committees may see it.")
    if not access_request.ethics_document:
        raise Invalid({"ethics_document": "No ethics approval document is attached."})
    events.attachment_viewed(access_request=access_request, actor=actor)


# --- housekeeping (Celery beat) ---------------------------------------------------------------
@transaction.atomic
def drafts_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Remind owners of drafts idle for 83 days; close drafts idle for 90 days. Trusted caller:
    the system (Celery beat), no actor."""
    now = now or timezone.now()
    reminded = expired = 0
    idle_limit = now - timedelta(days=DRAFT_IDLE_DAYS)
    remind_limit = now - timedelta(days=DRAFT_IDLE_DAYS - DRAFT_REMINDER_DAYS)
    for draft in (
        AccessRequest.objects.select_for_update(of=("self",))
        .filter(status=RequestStatus.DRAFT, last_activity_at__lt=remind_limit)
        .select_related("applicant")
    ):
        if draft.last_activity_at < idle_limit:
            draft.status = RequestStatus.CLOSED
            draft.save(update_fields=["status", "updated_at"])
            events.request_expired(access_request=draft)
            notification_services.notify_draft(
                draft=draft, expired=True, days=DRAFT_IDLE_DAYS, key=f"draft-expired:{draft.pk}"
            )
            expired += 1
        elif notification_services.notify_draft(
            draft=draft,
            expired=False,
            days=DRAFT_REMINDER_DAYS,
            key=f"draft-expiring:{draft.pk}:{draft.last_activity_at:%Y%m%d}",
        ):
            reminded += 1
    return {"reminded": reminded, "expired": expired}
