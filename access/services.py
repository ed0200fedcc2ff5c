"""Every write of the access-request journey. Each service locks what it reads-then-writes,
checks the actor's right, writes the change and its ledger event in one transaction, and
queues notifications that leave only after commit.

Rule: no `QuerySet.update()` / `bulk_update()` on audited models here (it would bypass
django-auditlog and our events); save instances one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit import events
from core.dates import end_of_day
from governance.choices import DatasetStatus
from governance.models import AccessAgreement, DataAccessCommittee, Dataset, OntologyTerm

from . import lifecycle, matching
from .answers import REQUEST_FIELDS
from .choices import (
    CommentVisibility,
    DecisionOutcome,
    NotificationKind,
    RequestStatus,
    ReviewStatus,
    VoteChoice,
)
from .lifecycle import TransitionRefused
from .models import (
    AccessRequest,
    AgreementAcceptance,
    Comment,
    Decision,
    DeputyDecider,
    Grant,
    Notification,
    Recusal,
    Review,
    Vote,
)
from .signals import grant_revoked

log = logging.getLogger(__name__)

REVIEW_PERMS = ("access.view_review", "access.change_review")
DRAFT_IDLE_DAYS = 90
DRAFT_REMINDER_DAYS = 7
GRANT_REMINDER_DAYS = (30, 7)


# --- helpers ----------------------------------------------------------------------------------
def _lock_request(access_request: AccessRequest) -> AccessRequest:
    # Every applicant-side transition re-reads the request under a row lock, so that two
    # tabs (or a tab and the API) cannot both act on the same old state.
    return AccessRequest.objects.select_for_update().get(pk=access_request.pk)


def _lock_reviews_of(access_request: AccessRequest) -> list[Review]:
    # Lock order for an applicant's change: the request's reviews, then the request, then its
    # grants. Committee actions (decision_record, review_close) lock their review and then write
    # the request, so taking the request first here could deadlock with them; holding every
    # review also means no approval lands between our check of the approvals and our write.
    return list(
        Review.objects.select_for_update(of=("self",))
        .filter(request_id=access_request.pk)
        .select_related("committee")
        .order_by("pk")
    )


def _lock_review(review: Review) -> Review:
    # Decisions, votes and closes on one review serialise on its row: the second of two
    # concurrent decisions sees the first one's status and is refused.
    return (
        Review.objects.select_for_update(of=("self",))
        .select_related("committee", "request")
        .get(pk=review.pk)
    )


def _require_applicant(access_request: AccessRequest, actor) -> None:
    if access_request.applicant_id != actor.pk:
        raise PermissionDenied("Only the applicant may do this.")


def _transition(review: Review, target: str) -> None:
    lifecycle.check_transition(review.status, target)
    review.status = target
    review.save(update_fields=["status", "updated_at", "round", "decided_at"])


def _notify(*, recipient, kind: str, subject: str, body: str, key: str) -> Notification | None:
    """Write an outbox row (once per key) and send it after commit; None if already queued."""
    if not recipient.email:
        return None
    notification, created = Notification.objects.get_or_create(
        dedupe_key=key[:200],
        defaults={"recipient": recipient, "kind": kind, "subject": subject[:200], "body": body},
    )
    if created:
        events.notification_queued(notification=notification)
        from .tasks import notification_send

        # robust: a broker outage must not fail the user's action; the outbox sweep sends it later.
        transaction.on_commit(lambda: notification_send.delay(notification.pk), robust=True)
        return notification
    return None


def _committee_people(committee: DataAccessCommittee):
    return [m.user for m in committee.memberships.select_related("user")]


def required_agreements(access_request: AccessRequest) -> dict[int, AccessAgreement]:
    """The current agreement version for each requested dataset, by dataset id."""
    out = {}
    for dataset in access_request.datasets.select_related("committee"):
        agreement = dataset.current_agreement
        if agreement is not None:
            out[dataset.pk] = agreement
    return out


# --- drafting ---------------------------------------------------------------------------------
# One answer for a username that does not exist and for an account that may not be on a team
# (suspended, deactivated): the team field must not tell anyone which usernames exist.
TEAM_MEMBER_NOT_ADDED = (
    "We could not add {names} to the team. Ask them to sign in to Tessera once, and check the "
    "spelling of their username."
)


def team_member_not_added(names: Iterable[str]) -> str:
    return TEAM_MEMBER_NOT_ADDED.format(names=", ".join(f"“{n}”" for n in names))


def _clean_request(access_request: AccessRequest) -> None:
    access_request.full_clean(exclude=["applicant", "datasets", "team_members", "diseases"])


def _set_relations(
    access_request: AccessRequest,
    *,
    datasets: Iterable[Dataset] | None,
    diseases: Iterable[OntologyTerm] | None,
    team_members: Iterable[Any] | None,
) -> list[str]:
    changed = []
    if datasets is not None:
        datasets = list(datasets)
        unpublished = [d.accession for d in datasets if d.status != DatasetStatus.PUBLISHED]
        if unpublished:
            raise ValidationError({"datasets": f"Not in the catalogue: {', '.join(unpublished)}."})
        if {d.pk for d in datasets} != set(access_request.datasets.values_list("pk", flat=True)):
            access_request.datasets.set(datasets)
            changed.append("datasets")
    if diseases is not None:
        diseases = list(diseases)
        if any(d.ontology != "DOID" for d in diseases):
            raise ValidationError(
                {"diseases": "Diseases must be Human Disease Ontology (DOID) terms."}
            )
        if {d.pk for d in diseases} != set(access_request.diseases.values_list("pk", flat=True)):
            access_request.diseases.set(diseases)
            changed.append("diseases")
    if team_members is not None:
        team_members = list(team_members)
        if any(u.pk == access_request.applicant_id for u in team_members):
            raise ValidationError({"team_members": "The applicant is on the team already."})
        ineligible = [u.get_username() for u in team_members if not u.is_active]
        if ineligible:
            raise ValidationError({"team_members": team_member_not_added(ineligible)})
        if {u.pk for u in team_members} != set(
            access_request.team_members.values_list("pk", flat=True)
        ):
            access_request.team_members.set(team_members)
            changed.append("team_members")
    return changed


@transaction.atomic
def request_create(
    *,
    applicant,
    data: dict[str, Any],
    datasets: Iterable[Dataset] = (),
    diseases: Iterable[OntologyTerm] = (),
    team_members: Iterable[Any] = (),
) -> AccessRequest:
    unknown = set(data) - set(REQUEST_FIELDS)
    if unknown:
        raise ValidationError({f: "Not a field of an access request." for f in unknown})
    access_request = AccessRequest(applicant=applicant, **data)
    _clean_request(access_request)
    access_request.save()
    _set_relations(access_request, datasets=datasets, diseases=diseases, team_members=team_members)
    events.request_created(access_request=access_request, actor=applicant)
    return access_request


def approvals_standing(access_request: AccessRequest) -> list[Review]:
    """The reviews whose approval of this request still stands: at least one of the grants it
    created is neither revoked nor expired (active, or waiting for an agreement or an ethics
    approval). While one stands, `lifecycle.APPROVAL_FIELDS` cannot change."""
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
    access_request: AccessRequest,
    *,
    diseases: Iterable[OntologyTerm] | None,
    team_members: Iterable[Any] | None,
) -> list[str]:
    changed = []
    for name, given in (("diseases", diseases), ("team_members", team_members)):
        if given is not None and {x.pk for x in given} != set(
            getattr(access_request, name).values_list("pk", flat=True)
        ):
            changed.append(name)
    return changed


def _answer_changed(access_request: AccessRequest, field: str, value: Any) -> bool:
    current = getattr(access_request, field)
    if field == "ethics_document":
        # A new upload always changes it; "no document" changes it only if one is on file.
        return bool(value) or bool(current)
    return current != value


def _editable(access_request: AccessRequest) -> bool:
    if access_request.status == RequestStatus.DRAFT:
        return True
    # Answering a "returned for changes": the applicant edits, then resubmits.
    return (
        access_request.status == RequestStatus.SUBMITTED
        and access_request.reviews.filter(status=ReviewStatus.RETURNED).exists()
    )


@transaction.atomic
def request_update(
    *,
    access_request: AccessRequest,
    actor,
    data: dict[str, Any],
    datasets: Iterable[Dataset] | None = None,
    diseases: Iterable[OntologyTerm] | None = None,
    team_members: Iterable[Any] | None = None,
) -> AccessRequest:
    _lock_reviews_of(access_request)
    access_request = _lock_request(access_request)
    _require_applicant(access_request, actor)
    if not _editable(access_request):
        raise TransitionRefused("Only a draft, or a request returned for changes, can be edited.")
    if datasets is not None and access_request.status != RequestStatus.DRAFT:
        raise ValidationError({"datasets": "The datasets of a submitted request cannot change."})
    unknown = set(data) - set(REQUEST_FIELDS)
    if unknown:
        raise ValidationError({f: "Not a field of an access request." for f in unknown})
    diseases = None if diseases is None else list(diseases)
    team_members = None if team_members is None else list(team_members)
    changed = [f for f, v in data.items() if _answer_changed(access_request, f, v)]
    if access_request.status != RequestStatus.DRAFT:
        # Refused before anything is written: a standing approval's grants were made for these
        # answers, and would otherwise keep giving access to a project no committee approved.
        standing = approvals_standing(access_request)
        locked = lifecycle.locked_changes(
            changed
            + _relation_changes(access_request, diseases=diseases, team_members=team_members),
            approvals_standing=bool(standing),
        )
        if locked:
            raise lifecycle.AnswersLocked(
                fields=locked, committees=[r.committee.name for r in standing]
            )
    for field, value in data.items():
        setattr(access_request, field, value)
    _clean_request(access_request)
    access_request.last_activity_at = timezone.now()
    access_request.save()
    changed += _set_relations(
        access_request, datasets=datasets, diseases=diseases, team_members=team_members
    )
    if changed:
        events.request_changed(access_request=access_request, actor=actor, fields=changed)
    return access_request


@transaction.atomic
def agreement_accept(
    *, access_request: AccessRequest, user, agreement: AccessAgreement
) -> AgreementAcceptance:
    access_request = _lock_request(access_request)
    if (
        user.pk != access_request.applicant_id
        and not access_request.team_members.filter(pk=user.pk).exists()
    ):
        raise PermissionDenied("Only the applicant and the team members accept the agreement.")
    if agreement.pk not in {a.pk for a in required_agreements(access_request).values()}:
        raise ValidationError(
            {"agreement": "That is not the current agreement for any requested dataset."}
        )
    acceptance, created = AgreementAcceptance.objects.get_or_create(
        request=access_request, user=user, agreement=agreement
    )
    if created:
        events.agreement_accepted(acceptance=acceptance, actor=user)
    return acceptance


def submission_problems(access_request: AccessRequest) -> dict[str, str]:
    """What stops a draft from being submitted, by field (shown before the applicant submits)."""
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
    accepted = set(
        AgreementAcceptance.objects.filter(
            request=access_request, user_id=access_request.applicant_id
        ).values_list("agreement_id", flat=True)
    )
    missing = {a for a in required_agreements(access_request).values() if a.pk not in accepted}
    if missing:
        names = ", ".join(sorted(f"{a.title} v{a.version}" for a in missing))
        problems["agreements"] = f"Accept the current access agreement(s): {names}."
    return problems


@transaction.atomic
def request_submit(*, access_request: AccessRequest, actor) -> AccessRequest:
    access_request = _lock_request(access_request)
    _require_applicant(access_request, actor)
    if access_request.status != RequestStatus.DRAFT:
        raise TransitionRefused(
            f"Only a draft can be submitted; this request is {access_request.get_status_display().lower()}."
        )
    problems = submission_problems(access_request)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    access_request.status = RequestStatus.SUBMITTED
    access_request.submitted_at = now
    access_request.last_activity_at = now
    access_request.save(update_fields=["status", "submitted_at", "last_activity_at", "updated_at"])
    committees = {
        d.committee_id: d.committee for d in access_request.datasets.select_related("committee")
    }
    reviews = []
    for committee in committees.values():
        review = Review.objects.create(request=access_request, committee=committee)
        for perm in REVIEW_PERMS:
            assign_perm(perm, committee.member_group, review)
        reviews.append(review)
    matching.matches_record(access_request=access_request)
    events.request_submitted(access_request=access_request, actor=actor, reviews=reviews)
    for review in reviews:
        for person in _committee_people(review.committee):
            _notify(
                recipient=person,
                kind=NotificationKind.SUBMITTED,
                subject=f"New access request {access_request.reference} for {review.committee.name}",
                body=f"{access_request.reference} “{access_request.title}” awaits your committee's review.",
                key=f"submitted:{review.pk}:{person.pk}",
            )
    _notify(
        recipient=access_request.applicant,
        kind=NotificationKind.SUBMITTED,
        subject=f"Your access request {access_request.reference} was submitted",
        body=f"“{access_request.title}” went to {len(reviews)} committee(s). You will hear from them here.",
        key=f"submitted:{access_request.pk}:applicant",
    )
    matching.automatic_decisions(access_request=access_request, reviews=reviews)
    return access_request


WITHDRAWAL_REASON = "Request withdrawn by the applicant"


@transaction.atomic
def request_withdraw(*, access_request: AccessRequest, actor) -> AccessRequest:
    """Withdraw the request: open reviews stop, and since withdrawal ends the project, every
    grant it still holds is revoked (tokens swept into the revocation feed)."""
    reviews = _lock_reviews_of(access_request)
    access_request = _lock_request(access_request)
    _require_applicant(access_request, actor)
    if access_request.status not in (RequestStatus.DRAFT, RequestStatus.SUBMITTED):
        raise TransitionRefused(
            f"A {access_request.get_status_display().lower()} request cannot be withdrawn."
        )
    # Grants last, and before the first ledger event: a token issuer holds a grant's lock while
    # its own event waits for the ledger's (see access.tokens).
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
        _transition(review, ReviewStatus.WITHDRAWN)
    access_request.status = RequestStatus.WITHDRAWN
    access_request.last_activity_at = timezone.now()
    access_request.save(update_fields=["status", "last_activity_at", "updated_at"])
    events.request_withdrawn(
        access_request=access_request, actor=actor, grants_ended=[g.pk for g in grants]
    )
    for grant in grants:
        _grant_revoke_locked(
            grant=grant,
            actor=actor,
            reason=WITHDRAWAL_REASON,
            notice=f"{access_request.reference} “{access_request.title}” was withdrawn, so your "
            f"access to {grant.dataset.title} has ended.",
        )
    return access_request


@transaction.atomic
def request_resubmit(*, access_request: AccessRequest, actor) -> AccessRequest:
    reviews = _lock_reviews_of(access_request)
    access_request = _lock_request(access_request)
    _require_applicant(access_request, actor)
    returned = [r for r in reviews if r.status == ReviewStatus.RETURNED]
    if not returned:
        raise TransitionRefused("No committee has returned this request for changes.")
    problems = submission_problems(access_request)
    if problems:
        raise ValidationError(problems)
    access_request.last_activity_at = timezone.now()
    access_request.save(update_fields=["last_activity_at", "updated_at"])
    for review in returned:
        review.round += 1
        _transition(review, ReviewStatus.RESUBMITTED)
        events.request_resubmitted(access_request=access_request, review=review, actor=actor)
        for person in _committee_people(review.committee):
            _notify(
                recipient=person,
                kind=NotificationKind.SUBMITTED,
                subject=f"{access_request.reference} was resubmitted",
                body=f"The applicant answered your questions on “{access_request.title}”.",
                key=f"resubmitted:{review.pk}:{review.round}:{person.pk}",
            )
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
    from .selectors import request_may_view

    if not request_may_view(actor, access_request):
        raise PermissionDenied("Only the people on the request and its committees may see it.")
    if not access_request.ethics_document:
        raise ValidationError({"ethics_document": "No ethics approval document is attached."})
    events.attachment_viewed(access_request=access_request, actor=actor)


# --- committee work ---------------------------------------------------------------------------
def review_panel(review: Review) -> lifecycle.Panel:
    """Who may act on this review, and who of them is barred by a conflict of interest.
    Reads through `.all()`, so that a list (the API's) prefetches it for a whole page."""
    access_request = review.request
    return lifecycle.Panel.of(
        memberships={m.user_id: m.role for m in review.committee.memberships.all()},
        deputies=[d.user_id for d in review.deputies.all()],
        applicant=access_request.applicant_id,
        team=[u.pk for u in access_request.team_members.all()],
        recused=[r.member_id for r in review.recusals.all()],
    )


def _require_eligible(review: Review, actor, panel: lifecycle.Panel | None = None) -> str:
    """The actor's role on the review's panel; refused if they are not on it or are conflicted.
    Every committee action (start, comment, vote, decide, close, revoke) passes through here."""
    panel = panel or review_panel(review)
    role = panel.role_of(getattr(actor, "pk", None))
    if role is None:
        raise PermissionDenied("Only members of this request's committee may do this.")
    refusal = lifecycle.conflict_refusal(panel, actor.pk)
    if refusal:
        raise PermissionDenied(refusal)
    return role


def _start_review_if_needed(review: Review, *, actor) -> None:
    if review.status in (ReviewStatus.SUBMITTED, ReviewStatus.RESUBMITTED):
        _transition(review, ReviewStatus.UNDER_REVIEW)
        events.review_started(review=review, actor=actor)


@transaction.atomic
def review_start(*, review: Review, actor) -> Review:
    review = _lock_review(review)
    _require_eligible(review, actor)
    if review.status not in (ReviewStatus.SUBMITTED, ReviewStatus.RESUBMITTED):
        raise TransitionRefused(
            f"A review that is {review.get_status_display().lower()} cannot be started."
        )
    _start_review_if_needed(review, actor=actor)
    return review


@transaction.atomic
def comment_add(
    *,
    access_request: AccessRequest,
    actor,
    body: str,
    visibility: str = CommentVisibility.PUBLIC,
    committee: DataAccessCommittee | None = None,
) -> Comment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write a comment."})
    if visibility not in CommentVisibility.values:
        raise ValidationError({"visibility": "Choose internal or public."})
    access_request = _lock_request(access_request)
    if access_request.status == RequestStatus.DRAFT:
        raise TransitionRefused("Comments open once the request is submitted.")
    if committee is None:
        if actor.pk != access_request.applicant_id:
            raise PermissionDenied("Say which committee you comment for.")
        if visibility != CommentVisibility.PUBLIC:
            raise ValidationError(
                {"visibility": "The applicant's comments are visible to the committees."}
            )
    else:
        review = (
            access_request.reviews.select_related("request", "committee")
            .filter(committee=committee)
            .first()
        )
        if review is None:
            raise PermissionDenied("Only members of this request's committee may comment for it.")
        _require_eligible(review, actor)
    comment = Comment.objects.create(
        request=access_request, committee=committee, author=actor, body=body, visibility=visibility
    )
    access_request.last_activity_at = timezone.now()
    access_request.save(update_fields=["last_activity_at"])
    events.comment_added(comment=comment, actor=actor)
    return comment


@transaction.atomic
def vote_cast(*, review: Review, actor, choice: str, rationale: str) -> Vote:
    review = _lock_review(review)
    role = _require_eligible(review, actor)
    if not lifecycle.may_vote(role):
        raise PermissionDenied("Only the chair and members vote; a secretary records decisions.")
    if choice not in VoteChoice.values:
        raise ValidationError({"choice": "Vote approve, reject or abstain."})
    if not (rationale or "").strip():
        raise ValidationError({"rationale": "Give the rationale for your vote."})
    if review.status not in lifecycle.DECIDABLE_STATES:
        raise TransitionRefused(
            f"Votes are closed: the review is {review.get_status_display().lower()}."
        )
    _start_review_if_needed(review, actor=actor)
    vote, _ = Vote.objects.update_or_create(
        review=review,
        voter=actor,
        round=review.round,
        defaults={"choice": choice, "rationale": rationale.strip(), "cast_at": timezone.now()},
    )
    events.vote_cast(vote=vote, actor=actor)
    return vote


@transaction.atomic
def recusal_declare(*, review: Review, actor, reason: str) -> Recusal:
    """A member of the review's panel declares a conflict of interest: from now on they take no
    part in it, and their votes in it no longer count."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say what the conflict of interest is."})
    review = _lock_review(review)
    if review_panel(review).role_of(actor.pk) is None:
        raise PermissionDenied("Only members of this request's committee may declare a conflict.")
    if review.recusals.filter(member_id=actor.pk).exists():
        raise TransitionRefused("You have already declared a conflict on this review.")
    recusal = Recusal.objects.create(review=review, member=actor, reason=reason)
    events.recusal_declared(recusal=recusal, actor=actor)
    return recusal


@transaction.atomic
def deputy_appoint(*, review: Review, actor, user, reason: str) -> DeputyDecider:
    """An administrator appoints a deputy decider for one review, when conflicts of interest
    leave its committee without an eligible decider. The deputy acts on that review only, with
    the chair's powers, and is bound by the same conflict rules."""
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only an administrator may appoint a deputy decider.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why a deputy decider is needed."})
    if not (user.is_active and user.is_staff):
        raise ValidationError(
            {"user": "A deputy decider needs an active staff account to work on the review."}
        )
    review = _lock_review(review)
    if review.status not in lifecycle.OPEN_REVIEW_STATES | {
        ReviewStatus.APPROVED,
        ReviewStatus.REJECTED,
    }:
        raise TransitionRefused(
            f"This review is {review.get_status_display().lower()}: it needs no deputy."
        )
    panel = review_panel(review)
    conflict = lifecycle.conflict_refusal(panel, user.pk)
    if conflict:
        raise ValidationError(
            {
                "user": f"{user.username} {lifecycle.CONFLICT_OF_ANOTHER[conflict]}: "
                "they may not decide it."
            }
        )
    if review.deputies.filter(user=user).exists():
        raise TransitionRefused(f"{user.username} is already a deputy decider for this review.")
    deputy = DeputyDecider.objects.create(
        review=review, user=user, appointed_by=actor, reason=reason
    )
    # The deputy sees and works on this one review through the same object permissions as a
    # committee, given to them personally.
    for perm in REVIEW_PERMS:
        assign_perm(perm, user, review)
    events.deputy_appointed(deputy=deputy, actor=actor)
    return deputy


def latest_end_date(access_request: AccessRequest, *, today: date | None = None) -> date:
    today = today or timezone.localdate()
    return today + relativedelta(months=access_request.requested_months)


@transaction.atomic
def decision_record(
    *,
    review: Review,
    actor,
    outcome: str,
    end_date: date | None = None,
    conditions: str = "",
    reason: str = "",
    questions: str = "",
    datasets: Iterable[Dataset] | None = None,
    automatic: bool = False,
) -> Decision:
    """Approve (with an end date, optional conditions), reject (with a reason) or return (with questions)."""
    review = _lock_review(review)
    access_request = review.request
    committee = review.committee
    if review.status not in lifecycle.DECIDABLE_STATES:
        raise TransitionRefused(
            f"This review is {review.get_status_display().lower()}: no decision can be taken on it now."
        )
    if outcome not in DecisionOutcome.values:
        raise ValidationError({"outcome": "Decide approve, reject or return."})
    if not automatic:
        panel = review_panel(review)
        role = _require_eligible(review, actor, panel)
        tally = lifecycle.eligible_tally(
            review.votes.filter(round=review.round).values_list("voter_id", "choice"), panel
        )
        refusal = lifecycle.decision_refusal(
            policy=committee.decision_policy,
            quorum=committee.quorum,
            role=role,
            outcome=outcome,
            tally=tally,
        )
        if refusal:
            raise PermissionDenied(refusal)
    review_datasets = list(review.datasets())
    approved: list[Dataset] = []
    if outcome == DecisionOutcome.APPROVE:
        if end_date is None:
            raise ValidationError({"end_date": "An approval needs an end date."})
        today = timezone.localdate()
        limit = latest_end_date(access_request, today=today)
        if end_date <= today:
            raise ValidationError({"end_date": "The end date must be in the future."})
        if end_date > limit:
            raise ValidationError(
                {
                    "end_date": f"The end date may not be later than the requested duration allows ({limit.isoformat()})."
                }
            )
        approved = review_datasets if datasets is None else list(datasets)
        outside = [d.accession for d in approved if d.pk not in {x.pk for x in review_datasets}]
        if outside or not approved:
            raise ValidationError(
                {"datasets": "Approve one or more of this committee's requested datasets."}
            )
        retired = [d.accession for d in approved if d.status != DatasetStatus.PUBLISHED]
        if retired:
            raise ValidationError({"datasets": f"No longer published: {', '.join(retired)}."})
    elif outcome == DecisionOutcome.REJECT and not reason.strip():
        raise ValidationError({"reason": "A rejection needs a reason."})
    elif outcome == DecisionOutcome.RETURN and not questions.strip():
        raise ValidationError({"questions": "Returning a request needs the committee's questions."})

    _start_review_if_needed(review, actor=actor)
    decision = Decision.objects.create(
        review=review,
        round=review.round,
        outcome=outcome,
        decided_by=None if automatic else actor,
        end_date=end_date if outcome == DecisionOutcome.APPROVE else None,
        conditions=conditions.strip(),
        reason=reason.strip(),
        questions=questions.strip(),
    )
    target = lifecycle.OUTCOME_STATUS[DecisionOutcome(outcome)]
    if outcome != DecisionOutcome.RETURN:
        review.decided_at = timezone.now()
    _transition(review, target)
    if approved:
        decision.approved_datasets.set(approved)
        agreements = {d.current_agreement for d in approved} - {None}
        decision.agreements.set(agreements)
    events.decision_recorded(
        decision=decision, actor=None if automatic else actor, automatic=automatic
    )
    if approved:
        _grants_create(decision=decision, datasets=approved, actor=None if automatic else actor)
    if outcome == DecisionOutcome.RETURN and not automatic:
        # The questions appear in the applicant's conversation with the committee.
        comment = Comment.objects.create(
            request=access_request,
            committee=committee,
            author=actor,
            body=decision.questions,
            visibility=CommentVisibility.PUBLIC,
        )
        events.comment_added(comment=comment, actor=actor)
    access_request.last_activity_at = timezone.now()
    access_request.save(update_fields=["last_activity_at"])
    kind = (
        NotificationKind.RETURNED if outcome == DecisionOutcome.RETURN else NotificationKind.DECIDED
    )
    verb = {
        DecisionOutcome.APPROVE: "approved",
        DecisionOutcome.REJECT: "rejected",
        DecisionOutcome.RETURN: "returned for changes",
    }[outcome]
    _notify(
        recipient=access_request.applicant,
        kind=kind,
        subject=f"{access_request.reference}: {committee.name} {verb} your request",
        body=(reason or questions or conditions or f"Your request was {verb}.").strip(),
        key=f"decided:{decision.pk}",
    )
    return decision


def _grants_create(*, decision: Decision, datasets: list[Dataset], actor) -> list[Grant]:
    access_request = decision.review.request
    matches = {m.dataset_id: m.obligations for m in access_request.matches.all()}
    now = timezone.now()
    # A grant ending on `end_date` is valid through that whole day (UTC).
    valid_until = end_of_day(decision.end_date)
    grants = []
    for person in access_request.people():
        for dataset in datasets:
            grant = Grant.objects.create(
                user=person,
                dataset=dataset,
                request=access_request,
                decision=decision,
                valid_from=now,
                valid_until=valid_until,
                conditions=decision.conditions,
                obligations=matches.get(dataset.pk, []),
            )
            events.grant_created(grant=grant, actor=actor)
            grants.append(grant)
    return grants


@transaction.atomic
def grant_revoke(*, grant: Grant, actor, reason: str) -> Grant:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the grant is revoked."})
    grant = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("decision__review__committee", "dataset", "user")
        .get(pk=grant.pk)
    )
    committee = grant.decision.review.committee
    role = _require_eligible(grant.decision.review, actor)
    if not lifecycle.may_manage(policy=committee.decision_policy, role=role):
        raise PermissionDenied(
            "Only the chair or the secretary of the deciding committee may revoke."
        )
    if grant.revoked_at is not None:
        raise TransitionRefused("This grant is already revoked.")
    return _grant_revoke_locked(
        grant=grant,
        actor=actor,
        reason=reason,
        notice=f"{committee.name} revoked your access to {grant.dataset.title}: {reason.strip()}",
    )


def _grant_revoke_locked(*, grant: Grant, actor, reason: str, notice: str) -> Grant:
    """Revoke a live grant whose row the caller holds locked: the change, its ledger event, its
    tokens revoked into the feed, and the holder told (`notice`)."""
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.revoked_reason = reason.strip()
    grant.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    events.grant_revoked(grant=grant, actor=actor)
    _on_grant_revoked(grant)
    _notify(
        recipient=grant.user,
        kind=NotificationKind.REVOKED,
        subject=f"Your access to {grant.dataset.accession} was revoked",
        body=notice,
        key=f"revoked:{grant.pk}",
    )
    return grant


def _on_grant_revoked(grant: Grant) -> None:
    """Derived tokens are revoked with the grant: `tokens` receives `grant_revoked`, in this
    transaction (see access/signals.py)."""
    grant_revoked.send(sender=Grant, grant=grant)


@transaction.atomic
def review_close(*, review: Review, actor) -> Review:
    review = _lock_review(review)
    role = _require_eligible(review, actor)
    if not lifecycle.may_manage(policy=review.committee.decision_policy, role=role):
        raise PermissionDenied("Only the chair or the secretary may close a review.")
    from_status = review.status
    _transition(review, ReviewStatus.CLOSED)
    events.review_closed(review=review, actor=actor, from_status=from_status)
    access_request = _lock_request(review.request)
    if not access_request.reviews.exclude(
        status__in=[ReviewStatus.CLOSED, ReviewStatus.WITHDRAWN]
    ).exists():
        access_request.status = RequestStatus.CLOSED
        access_request.save(update_fields=["status", "updated_at"])
        events.request_closed(access_request=access_request, actor=actor)
    return review


# --- housekeeping (Celery beat) ---------------------------------------------------------------
@transaction.atomic
def notification_deliver(*, notification_id: int) -> bool:
    """Send one outbox e-mail; True when it left (or had left already)."""
    notification = (
        Notification.objects.select_for_update(skip_locked=True).filter(pk=notification_id).first()
    )
    if notification is None or notification.sent_at is not None:
        return notification is not None
    try:
        send_mail(notification.subject, notification.body, None, [notification.recipient.email])
    except Exception as exc:  # any mail failure: keep the row, back off, try again later
        notification.attempts += 1
        notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
        notification.next_attempt_at = timezone.now() + timedelta(
            minutes=min(2**notification.attempts, 360)
        )
        notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        log.warning(
            "notification %s not sent (attempt %s): %s",
            notification.pk,
            notification.attempts,
            type(exc).__name__,
        )
        return False
    notification.sent_at = timezone.now()
    notification.attempts += 1
    notification.last_error = ""
    notification.save(update_fields=["sent_at", "attempts", "last_error"])
    return True


def notifications_due(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Notification.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )


@transaction.atomic
def drafts_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Remind owners of drafts idle for 83 days; close drafts idle for 90 days."""
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
            _notify(
                recipient=draft.applicant,
                kind=NotificationKind.DRAFT_EXPIRED,
                subject=f"Your draft {draft.reference} expired",
                body=f"“{draft.title}” was idle for {DRAFT_IDLE_DAYS} days and was closed.",
                key=f"draft-expired:{draft.pk}",
            )
            expired += 1
        elif _notify(
            recipient=draft.applicant,
            kind=NotificationKind.DRAFT_EXPIRING,
            subject=f"Your draft {draft.reference} expires in {DRAFT_REMINDER_DAYS} days",
            body=f"“{draft.title}” will be closed unless you edit or submit it.",
            key=f"draft-expiring:{draft.pk}:{draft.last_activity_at:%Y%m%d}",
        ):
            reminded += 1
    return {"reminded": reminded, "expired": expired}


@transaction.atomic
def grants_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Notify grant holders 30 and 7 days before the end, and when a grant has expired."""
    now = now or timezone.now()
    counts = {"reminded": 0, "expired": 0}
    horizon = now + timedelta(days=max(GRANT_REMINDER_DAYS))
    grants = Grant.objects.filter(
        revoked_at__isnull=True, valid_until__lte=horizon, valid_until__gt=now - timedelta(days=1)
    ).select_related("user", "dataset")
    for grant in grants:
        if grant.valid_until <= now:
            if _notify(
                recipient=grant.user,
                kind=NotificationKind.GRANT_EXPIRED,
                subject=f"Your access to {grant.dataset.accession} has ended",
                body=f"Your grant for {grant.dataset.title} ended on {grant.valid_until:%Y-%m-%d}.",
                key=f"grant-expired:{grant.pk}",
            ):
                events.grant_expired(grant=grant)
                counts["expired"] += 1
            continue
        days_left = (grant.valid_until - now).days
        # The nearest threshold first: at 6 days left the 7-day reminder is due, not the 30-day one.
        for threshold in sorted(GRANT_REMINDER_DAYS):
            if days_left < threshold:
                key = f"grant-expiring:{grant.pk}:{threshold}"
                if not Notification.objects.filter(dedupe_key=key).exists():
                    _notify(
                        recipient=grant.user,
                        kind=NotificationKind.GRANT_EXPIRING,
                        subject=f"Your access to {grant.dataset.accession} ends in {days_left + 1} days",
                        body=f"Your grant for {grant.dataset.title} ends on {grant.valid_until:%Y-%m-%d}.",
                        key=key,
                    )
                    counts["reminded"] += 1
                break
    return counts
