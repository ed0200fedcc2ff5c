"""A committee's decision on a review (approve, reject, return) and what follows from it: the
review's new state, the grants of an approval, the questions of a return in the conversation, and
the applicant told."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import timezone

from audit import events
from core.exceptions import Forbidden, Invalid
from governance.choices import DatasetStatus
from governance.models import Dataset

from .. import lifecycle, selectors
from ..choices import CommentVisibility, DecisionOutcome
from ..lifecycle import TransitionRefused
from ..models import AccessRequest, Comment, Decision, Review
from . import amendments as amendment_services
from . import common
from . import grants as grant_services
from . import notifications as notification_services
from . import reviews as review_services


def latest_end_date(
    access_request: AccessRequest, *, today: date | None = None, committee=None
) -> date:
    """The latest end date `committee` may approve (`selectors.request_latest_end`)."""
    return selectors.request_latest_end(
        access_request,
        today=today or timezone.localdate(),
        committee_id=getattr(committee, "pk", None),
    )


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
    # An amendment's project, its reviews and the project's grants first, before any ledger
    # event: the last approval applies the amendment to them (`amendments.lock_project`).
    project_grants = None
    if review.request.is_amendment:
        project_grants = amendment_services.lock_project(review.request)
    review = common.lock_review(review)
    access_request = review.request
    committee = review.committee
    if review.status not in lifecycle.DECIDABLE_STATES:
        raise TransitionRefused(
            f"This review is {review.get_status_display().lower()}: no decision can be taken on it now."
        )
    if outcome not in DecisionOutcome.values:
        raise Invalid({"outcome": "Decide approve, reject or return."})
    if not automatic:
        panel = review_services.review_panel(review)
        role = review_services.require_eligible(review, actor, panel)
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
            raise Forbidden(refusal)
    review_datasets = list(review.datasets())
    approved: list[Dataset] = []
    if outcome == DecisionOutcome.APPROVE:
        if end_date is None:
            raise Invalid({"end_date": "An approval needs an end date."})
        if project_grants is not None:
            refusal = amendment_services.project_refusal(access_request.parent)
            if refusal or not project_grants:
                raise TransitionRefused(
                    f"{refusal or 'The project holds no active grants.'} This change cannot be "
                    "approved; reject it or close the review."
                )
        today = timezone.localdate()
        limit = latest_end_date(access_request, today=today, committee=committee)
        if end_date <= today:
            raise Invalid({"end_date": "The end date must be in the future."})
        if end_date > limit:
            raise Invalid(
                {
                    "end_date": f"The end date may not be later than the requested duration allows ({limit.isoformat()})."
                }
            )
        approved = review_datasets if datasets is None else list(datasets)
        outside = [d.accession for d in approved if d.pk not in {x.pk for x in review_datasets}]
        if outside or not approved:
            raise Invalid(
                {"datasets": "Approve one or more of this committee's requested datasets."}
            )
        retired = [d.accession for d in approved if d.status != DatasetStatus.PUBLISHED]
        if retired:
            raise Invalid({"datasets": f"No longer published: {', '.join(retired)}."})
    elif outcome == DecisionOutcome.REJECT and not reason.strip():
        raise Invalid({"reason": "A rejection needs a reason."})
    elif outcome == DecisionOutcome.RETURN and not questions.strip():
        raise Invalid({"questions": "Returning a request needs the committee's questions."})

    renewed = None
    if approved and access_request.is_renewal:
        renewed = grant_services.grants_lock_for_renewal(renewal=access_request, datasets=approved)
    review_services.review_start_if_needed(review, actor=actor)
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
    common.transition(review, target)
    if approved:
        decision.approved_datasets.set(approved)
        agreements = {d.current_agreement for d in approved} - {None}
        decision.agreements.set(agreements)
    events.decision_recorded(
        decision=decision, actor=None if automatic else actor, automatic=automatic
    )
    if renewed is not None:
        # A renewal extends the parent's grants in place; it creates none.
        grant_services.grants_extend(
            decision=decision, datasets=approved, grants=renewed, actor=None if automatic else actor
        )
    elif project_grants is not None:
        # An amendment changes its project's grants once every committee it went to approved.
        if outcome != DecisionOutcome.RETURN:
            amendment_services.amendment_settle(
                amendment=access_request,
                actor=None if automatic else actor,
                grants=project_grants,
            )
    elif approved:
        grant_services.grants_create(
            decision=decision, datasets=approved, actor=None if automatic else actor
        )
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
    notification_services.notify_decided(decision=decision)
    return decision
