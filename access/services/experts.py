"""Outside reviewers: a committee member invites an expert by e-mail to give an opinion on one
review. The expert signs in, accepts the link, reads that request's answers and attachments,
and comments to the committee (internal comments); they never vote or decide, and their access
ends with the review (decided, closed or withdrawn) or when a member ends it.

Whether an expert may see a review right now is one read, `access.selectors.expert_review_for`.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit import events
from core.exceptions import Conflict, Forbidden, Invalid, NotFound

from .. import lifecycle
from ..choices import CommentVisibility
from ..models import Comment, OutsideReviewer, Review
from . import common
from . import notifications as notification_services
from .reviews import require_eligible
from .team import normalise_email

SALT = "tessera.access.outside-reviewer"
# A review's open invitations at a time: enough for any panel of experts.
MAX_OPEN = 10
LINK_REFUSED = (
    "This invitation link cannot be used. It may have been used already, or the review has "
    "ended, or the committee ended the invitation. Ask the committee member who invited you."
)


def expert_token(expert: OutsideReviewer) -> str:
    return common.link_token(expert.pk, expert.nonce, salt=SALT)


def expert_link(expert: OutsideReviewer) -> str:
    path = reverse("access:expert-invitation", kwargs={"token": expert_token(expert)})
    return settings.TESSERA_BASE_URL + path


def review_is_open(review: Review) -> bool:
    return review.status in lifecycle.OPEN_REVIEW_STATES


def expert_from_token(token: str, *, for_update: bool = False) -> OutsideReviewer:
    """The open, not yet accepted invitation a token names; `NotFound(LINK_REFUSED)` else."""
    found = OutsideReviewer.objects.select_related("review__request", "review__committee")
    if for_update:
        found = found.select_for_update(of=("self",))
    expert = common.link_row(
        token, found, salt=SALT, days=settings.TESSERA_INVITATION_DAYS, refused=LINK_REFUSED
    )
    if (
        expert.ended_at is not None
        or expert.user_id is not None
        or not review_is_open(expert.review)
    ):
        raise NotFound(LINK_REFUSED)
    return expert


@transaction.atomic
def expert_invite(*, review: Review, actor, email: str) -> OutsideReviewer:
    """A member of the review's panel (not recused) invites an address, while the review is
    open. The link goes to the address at once."""
    address = normalise_email(email)
    review = common.lock_review(review)
    require_eligible(review, actor)
    if not review_is_open(review):
        raise Conflict("Experts can be invited while the review is open, not once it has ended.")
    access_request = review.request
    people = [access_request.applicant, *access_request.team_members.all()]
    if address in {(p.email or "").strip().lower() for p in people}:
        raise Invalid({"email": "That address belongs to the applicant or the team."})
    open_ones = review.outside_reviewers.filter(ended_at__isnull=True)
    if open_ones.filter(email=address).exists():
        raise Conflict("This address has an open invitation to this review already.")
    if open_ones.count() >= MAX_OPEN:
        raise Conflict(f"This review has {MAX_OPEN} open expert invitations: end some first.")
    expert = OutsideReviewer(
        review=review, email=address, invited_by=actor, nonce=secrets.token_urlsafe(24)
    )
    try:
        with transaction.atomic():
            expert.save()
    except IntegrityError:  # the same address invited concurrently
        raise Conflict("This address has an open invitation to this review already.") from None
    events.expert_invited(expert=expert, actor=actor)
    notification_services.notify_expert_invitation(expert=expert, link=expert_link(expert))
    return expert


@transaction.atomic
def expert_accept(*, token: str, actor) -> OutsideReviewer:
    """Whoever signs in with the link becomes the expert, unless they are the applicant, on the
    team, or sit on the committee (who need no invitation)."""
    expert = expert_from_token(token, for_update=True)
    access_request = expert.review.request
    if (
        actor.pk == access_request.applicant_id
        or access_request.team_members.filter(pk=actor.pk).exists()
    ):
        raise Forbidden("The applicant and the team cannot give an opinion on their own request.")
    if expert.review.committee.memberships.filter(user=actor).exists():
        raise Conflict("You sit on this committee: open the review in the committee workspace.")
    if OutsideReviewer.objects.filter(
        review=expert.review, user=actor, ended_at__isnull=True
    ).exists():
        raise Conflict("You are an expert on this review already.")
    expert.user = actor
    expert.accepted_at = timezone.now()
    expert.save(update_fields=["user", "accepted_at"])
    events.expert_joined(expert=expert, actor=actor)
    return expert


@transaction.atomic
def expert_end(*, expert: OutsideReviewer, actor) -> OutsideReviewer:
    """A member of the panel ends an invitation or an expert's access."""
    expert = OutsideReviewer.objects.select_for_update(of=("self",)).get(pk=expert.pk)
    require_eligible(expert.review, actor)
    if expert.ended_at is not None:
        raise Conflict("This expert's access has ended already.")
    expert.ended_at = timezone.now()
    expert.ended_by = actor
    expert.save(update_fields=["ended_at", "ended_by"])
    events.expert_ended(expert=expert, actor=actor)
    return expert


@transaction.atomic
def expert_comment(*, expert: OutsideReviewer, actor, body: str) -> Comment:
    """The expert's opinion, to the committee only (an internal comment of its review)."""
    body = (body or "").strip()
    if not body:
        raise Invalid({"body": "Write your opinion."})
    expert = OutsideReviewer.objects.select_for_update(of=("self",)).get(pk=expert.pk)
    if expert.user_id != actor.pk or expert.ended_at is not None:
        raise NotFound("No such review.")
    review = common.lock_review(expert.review)
    if not review_is_open(review):
        raise NotFound("No such review.")
    comment = Comment.objects.create(
        request=review.request,
        committee=review.committee,
        author=actor,
        body=body,
        visibility=CommentVisibility.INTERNAL,
    )
    events.comment_added(comment=comment, actor=actor)
    return comment
