"""What the access service modules share: the row locks, taken in one order (reviews, then the
request, then its grants), the applicant check, and a review's state transition."""

from __future__ import annotations

from core.exceptions import Forbidden

from .. import lifecycle
from ..models import AccessRequest, Review

REVIEW_PERMS = ("access.view_review", "access.change_review")


def lock_request(access_request: AccessRequest) -> AccessRequest:
    # Every applicant-side transition re-reads the request under a row lock, so that two
    # tabs (or a tab and the API) cannot both act on the same old state.
    return AccessRequest.objects.select_for_update().get(pk=access_request.pk)


def lock_reviews_of(access_request: AccessRequest) -> list[Review]:
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


def lock_review(review: Review) -> Review:
    # Decisions, votes and closes on one review serialise on its row: the second of two
    # concurrent decisions sees the first one's status and is refused.
    return (
        Review.objects.select_for_update(of=("self",))
        .select_related("committee", "request")
        .get(pk=review.pk)
    )


def require_applicant(access_request: AccessRequest, actor) -> None:
    if access_request.applicant_id != actor.pk:
        raise Forbidden("Only the applicant may do this.")


def transition(review: Review, target: str) -> None:
    lifecycle.check_transition(review.status, target)
    review.status = target
    review.save(update_fields=["status", "updated_at", "round", "decided_at"])
