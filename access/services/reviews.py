"""A committee's work on one review before and around its decision: who may act (the panel, its
conflicts of interest), starting the review, comments, votes, recusals, deputy deciders, closing a review, and judging its consent matches again with the
current consent engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit import events
from core.exceptions import Forbidden, Invalid
from governance import matching as consent_engine
from governance.models import DataAccessCommittee

from .. import lifecycle, matching
from ..choices import (
    CommentVisibility,
    RequestStatus,
    ReviewStatus,
    VoteChoice,
)
from ..lifecycle import TransitionRefused
from ..models import AccessRequest, Comment, ConsentMatch, DeputyDecider, Recusal, Review, Vote
from ..selectors import review_due_at, review_panel, review_work_for
from . import common
from . import notifications as notification_services


def require_eligible(review: Review, actor, panel: lifecycle.Panel | None = None) -> str:
    """The actor's role on the review's panel; refused if they are not on it or are conflicted.
    Every committee action (start, comment, vote, decide, close, revoke) passes through here."""
    panel = panel or review_panel(review)
    role = panel.role_of(getattr(actor, "pk", None))
    if role is None:
        raise Forbidden("Only members of this request's committee may do this.")
    refusal = lifecycle.conflict_refusal(panel, actor.pk)
    if refusal:
        raise Forbidden(refusal)
    return role


def review_start_if_needed(review: Review, *, actor) -> None:
    if review.status in (ReviewStatus.SUBMITTED, ReviewStatus.RESUBMITTED):
        common.transition(review, ReviewStatus.UNDER_REVIEW)
        events.review_started(review=review, actor=actor)


@transaction.atomic
def review_start(*, review: Review, actor) -> Review:
    review = common.lock_review(review)
    require_eligible(review, actor)
    if review.status not in (ReviewStatus.SUBMITTED, ReviewStatus.RESUBMITTED):
        raise TransitionRefused(
            f"A review that is {review.get_status_display().lower()} cannot be started."
        )
    review_start_if_needed(review, actor=actor)
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
        raise Invalid({"body": "Write a comment."})
    if visibility not in CommentVisibility.values:
        raise Invalid({"visibility": "Choose internal or public."})
    access_request = common.lock_request(access_request)
    if access_request.status == RequestStatus.DRAFT:
        raise TransitionRefused("Comments open once the request is submitted.")
    if committee is None:
        if actor.pk != access_request.applicant_id:
            raise Forbidden("Say which committee you comment for.")
        if visibility != CommentVisibility.PUBLIC:
            raise Invalid({"visibility": "The applicant's comments are visible to the committees."})
    else:
        review = (
            access_request.reviews.select_related("request", "committee")
            .filter(committee=committee)
            .first()
        )
        if review is None:
            raise Forbidden("Only members of this request's committee may comment for it.")
        require_eligible(review, actor)
    comment = Comment.objects.create(
        request=access_request, committee=committee, author=actor, body=body, visibility=visibility
    )
    access_request.last_activity_at = timezone.now()
    access_request.save(update_fields=["last_activity_at"])
    events.comment_added(comment=comment, actor=actor)
    notification_services.notify_comment(comment=comment)
    return comment


@transaction.atomic
def vote_cast(*, review: Review, actor, choice: str, rationale: str) -> Vote:
    review = common.lock_review(review)
    role = require_eligible(review, actor)
    if not lifecycle.may_vote(role):
        raise Forbidden("Only the chair and members vote; a secretary records decisions.")
    if choice not in VoteChoice.values:
        raise Invalid({"choice": "Vote approve, reject or abstain."})
    if not (rationale or "").strip():
        raise Invalid({"rationale": "Give the rationale for your vote."})
    if review.status not in lifecycle.DECIDABLE_STATES:
        raise TransitionRefused(
            f"Votes are closed: the review is {review.get_status_display().lower()}."
        )
    review_start_if_needed(review, actor=actor)
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
        raise Invalid({"reason": "Say what the conflict of interest is."})
    review = common.lock_review(review)
    if review_panel(review).role_of(actor.pk) is None:
        raise Forbidden("Only members of this request's committee may declare a conflict.")
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
        raise Forbidden("Only an administrator may appoint a deputy decider.")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": "Say why a deputy decider is needed."})
    if not (user.is_active and user.is_staff):
        raise Invalid(
            {"user": "A deputy decider needs an active staff account to work on the review."}
        )
    review = common.lock_review(review)
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
        raise Invalid(
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
    for perm in common.REVIEW_PERMS:
        assign_perm(perm, user, review)
    events.deputy_appointed(deputy=deputy, actor=actor)
    return deputy


@transaction.atomic
def review_close(*, review: Review, actor, reason: str) -> Review:
    """Close the committee's review for good (it cannot be reopened). The reason is for the
    applicant: it is kept in the ledger event, which their request's history shows."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": "Say why the review is closed; the applicant is told."})
    review = common.lock_review(review)
    role = require_eligible(review, actor)
    if not lifecycle.may_manage(policy=review.committee.decision_policy, role=role):
        raise Forbidden("Only the chair or the secretary may close a review.")
    from_status = review.status
    common.transition(review, ReviewStatus.CLOSED)
    events.review_closed(review=review, actor=actor, from_status=from_status, reason=reason)
    notification_services.notify_review_closed(review=review, reason=reason)
    access_request = common.lock_request(review.request)
    if not access_request.reviews.exclude(
        status__in=[ReviewStatus.CLOSED, ReviewStatus.WITHDRAWN]
    ).exists():
        access_request.status = RequestStatus.CLOSED
        access_request.save(update_fields=["status", "updated_at"])
        events.request_closed(access_request=access_request, actor=actor)
    return review


@dataclass(frozen=True)
class ConsentChange:
    """One dataset's stored verdict before a re-evaluation and its verdict after it."""

    dataset: str  # accession
    engine_before: str | None  # None: it had no stored match
    before: str | None
    after: str


@dataclass(frozen=True)
class ConsentReevaluation:
    """What `consent_reevaluate` did: the review's matches now, and each dataset's change."""

    engine_version: str
    matches: list[ConsentMatch]
    changes: list[ConsentChange]


@transaction.atomic
def consent_reevaluate(*, review: Review, actor) -> ConsentReevaluation:
    """Judge the stored consent matches of this review's datasets again with the current
    consent engine, at the request of someone on its panel. Verdicts are stored on submission
    and kept as they were (the committee may have relied on them) until a committee asks for
    this; other committees' datasets keep theirs. One ledger event records every dataset's
    engine and decision before and its decision after. The committees' automatic policies do
    not run again: they act on fresh submissions only, never on a review already in hand."""
    review = common.lock_review(review)
    if not getattr(actor, "is_active", False):
        raise Forbidden("Only members of this request's committee may do this.")
    require_eligible(review, actor)
    if review.status not in lifecycle.DECIDABLE_STATES:
        raise TransitionRefused(
            f"This review is {review.get_status_display().lower()}: its consent matches are "
            "kept as they were when it was decided."
        )
    datasets = list(review.datasets().order_by("accession"))
    # The review's row lock serialises this with a resubmission's refresh of the same matches
    # (it locks the request's reviews first), so "before" is what the update replaces.
    before = {
        m.dataset_id: m
        for m in ConsentMatch.objects.select_for_update().filter(
            request_id=review.request_id, dataset__in=datasets
        )
    }
    stored = matching.matches_record(
        access_request=review.request, datasets=datasets, record_events=False
    )
    after = {m.dataset_id: m for m in stored}
    changes = [
        ConsentChange(
            dataset=d.accession,
            engine_before=before[d.pk].engine_version if d.pk in before else None,
            before=before[d.pk].decision if d.pk in before else None,
            after=after[d.pk].decision,
        )
        for d in datasets
        if d.pk in after
    ]
    events.consent_reevaluated(
        review=review,
        actor=actor,
        engine_version=consent_engine.ENGINE_VERSION,
        datasets=[
            {
                "dataset": c.dataset,
                "engine_before": c.engine_before,
                "before": c.before,
                "after": c.after,
            }
            for c in changes
        ],
    )
    return ConsentReevaluation(
        engine_version=consent_engine.ENGINE_VERSION,
        matches=sorted(stored, key=lambda m: m.dataset.accession),
        changes=changes,
    )


# --- the members' reminder digest (Celery beat) --------------------------------------------------
def _reminder_item(review: Review) -> dict:
    due = review_due_at(review)
    return {
        "review": review,
        "due": timezone.localtime(due) if due else None,
        "link": notification_services.review_link(review),
    }


def review_reminders_send(*, now: datetime | None = None) -> int:
    """One digest a day to each committee member (or deputy decider) whose reviews wait for
    them: those needing their vote or decision, and their committees' overdue ones, each with
    its link. Nothing is sent to someone with nothing waiting; the outbox key (member and day)
    keeps it to one a day however often beat runs it. Trusted caller: the system, no actor.
    Returns how many digests were queued."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    people = (
        get_user_model()
        .objects.filter(
            Q(committee_memberships__isnull=False) | Q(deputy_for__isnull=False), is_active=True
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    queued = 0
    for person in people:
        work = review_work_for(person, now=now)
        sections = [
            ("Needs your vote", work.needs_vote),
            ("Needs your decision", work.needs_decision),
            ("Overdue", work.overdue),
        ]
        if not any(reviews for _, reviews in sections):
            continue
        notification = notification_services.notify_event(
            recipient=person,
            event="review_reminder",
            context={
                "sections": [
                    {"heading": heading, "reviews": [_reminder_item(r) for r in reviews]}
                    for heading, reviews in sections
                ],
                "waiting": len(work.needs_me),
                "overdue": len(work.overdue),
                "link": notification_services.link(reverse("admin:index")),
            },
            key=f"review-reminder:{person.pk}:{day.isoformat()}",
        )
        queued += notification is not None
    return queued
