"""Permission-filtered reads of requests, reviews and grants. Missing and forbidden are both 404."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from audit.choices import EventType
from audit.models import AuditEvent

from .choices import CommentVisibility
from .models import AccessRequest, Comment, ConsentMatch, Grant, Review


def request_list_for_user(user) -> QuerySet[AccessRequest]:
    """Requests the user applied for or is a team member of."""
    return (
        AccessRequest.objects.filter(Q(applicant=user) | Q(team_members=user))
        .distinct()
        .select_related("applicant")
        .prefetch_related(
            Prefetch("reviews", queryset=Review.objects.select_related("committee")),
            "datasets",
        )
    )


def request_get_for_user(user, pk) -> AccessRequest:
    try:
        return request_list_for_user(user).get(pk=pk)
    except (AccessRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such access request.") from None


def review_list_for_user(user) -> QuerySet[Review]:
    """Reviews of the committees the user sits on (django-guardian group permissions)."""
    qs = Review.objects.select_related("request__applicant", "committee")
    if user.is_superuser:
        return qs
    return get_objects_for_user(user, "access.view_review", klass=qs, accept_global_perms=False)


def review_get_for_user(user, pk) -> Review:
    try:
        return review_list_for_user(user).get(pk=pk)
    except (Review.DoesNotExist, ValueError, TypeError):
        raise Http404("No such review.") from None


def request_get_for_reviewer(user, pk) -> AccessRequest:
    """A request as seen by a committee member: only if one of their committees reviews it."""
    if not review_list_for_user(user).filter(request_id=pk).exists():
        raise Http404("No such access request.")
    return AccessRequest.objects.get(pk=pk)


def request_may_view(user, access_request: AccessRequest) -> bool:
    if not user.is_authenticated:
        return False
    if (
        access_request.applicant_id == user.pk
        or access_request.team_members.filter(pk=user.pk).exists()
    ):
        return True
    return review_list_for_user(user).filter(request_id=access_request.pk).exists()


def grant_list_for_user(user) -> QuerySet[Grant]:
    return (
        Grant.objects.filter(user=user)
        .select_related("dataset", "decision__review__committee", "request", "user")
        .prefetch_related("decision__agreements")
    )


def grant_list_for_committee_user(user) -> QuerySet[Grant]:
    reviews = review_list_for_user(user).values("pk")
    return (
        Grant.objects.filter(decision__review__in=reviews)
        .select_related("dataset", "decision__review__committee", "request", "user")
        .prefetch_related("decision__agreements")
    )


def comments_for_applicant(access_request: AccessRequest) -> QuerySet[Comment]:
    return access_request.comments.filter(visibility=CommentVisibility.PUBLIC).select_related(
        "committee", "author"
    )


def comments_for_committee_member(access_request: AccessRequest, user) -> QuerySet[Comment]:
    committees = review_list_for_user(user).filter(request=access_request).values("committee_id")
    return access_request.comments.filter(
        Q(visibility=CommentVisibility.PUBLIC) | Q(committee_id__in=committees)
    ).select_related("committee", "author")


def matches_for_request(access_request: AccessRequest) -> dict[int, ConsentMatch]:
    return {m.dataset_id: m for m in access_request.matches.all()}


# What an applicant may see of their request's history: not votes, not internal comments.
APPLICANT_EVENTS = {
    EventType.REQUEST_CREATED,
    EventType.REQUEST_CHANGED,
    EventType.REQUEST_SUBMITTED,
    EventType.REQUEST_WITHDRAWN,
    EventType.REQUEST_RESUBMITTED,
    EventType.REQUEST_CLOSED,
    EventType.REQUEST_EXPIRED,
    EventType.AGREEMENT_ACCEPTED,
    EventType.CONSENT_MATCHED,
    EventType.REVIEW_STARTED,
    EventType.REVIEW_CLOSED,
    EventType.COMMENT_ADDED,
    EventType.DECISION_RECORDED,
}


def timeline_for_applicant(access_request: AccessRequest) -> list[AuditEvent]:
    """The request's history from the ledger, filtered to what the applicant may see."""
    review_ids = [str(pk) for pk in access_request.reviews.values_list("pk", flat=True)]
    events = AuditEvent.objects.filter(
        Q(target_type="access.accessrequest", target_id=str(access_request.pk))
        | Q(target_type="access.review", target_id__in=review_ids),
        event_type__in=APPLICANT_EVENTS,
    ).order_by("seq")
    return [
        e
        for e in events
        if not (
            e.event_type == EventType.COMMENT_ADDED
            and e.payload.get("visibility") != CommentVisibility.PUBLIC
        )
    ]
