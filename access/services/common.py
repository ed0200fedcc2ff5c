"""What the access service modules share: the row locks, taken in one order (reviews, then the
request, then its grants), the applicant check, a review's state transition, and the signed
tokens of e-mailed links (team invitations, outside experts)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.core import signing

from audit import events
from core.exceptions import Forbidden, NotFound

from .. import lifecycle
from ..models import AccessRequest, AgreementAcceptance, Review

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


def acceptances_carry(*, source: AccessRequest, target: AccessRequest, committee_ids=None) -> None:
    """Copy the agreement acceptances of `source` (of `committee_ids`' agreements, or all) to
    `target`, for the people on `target` who have not accepted that version there: a renewal or
    a change binds the same people by the versions they accepted for the project. Each is in
    the ledger as carried over, by its person."""
    people = [target.applicant_id, *target.team_members.values_list("pk", flat=True)]
    have = set(
        AgreementAcceptance.objects.filter(request=target).values_list("user_id", "agreement_id")
    )
    accepted = source.acceptances.filter(user__in=people)
    if committee_ids is not None:
        accepted = accepted.filter(agreement__committee_id__in=committee_ids)
    for acceptance in accepted.select_related("user", "agreement").order_by("pk"):
        if (acceptance.user_id, acceptance.agreement_id) in have:
            continue
        carried = AgreementAcceptance.objects.create(
            request=target,
            user=acceptance.user,
            agreement=acceptance.agreement,
            accepted_at=acceptance.accepted_at,
        )
        have.add((acceptance.user_id, acceptance.agreement_id))
        events.agreement_accepted(acceptance=carried, actor=acceptance.user, carried_from=source)


def require_applicant(access_request: AccessRequest, actor) -> None:
    if access_request.applicant_id != actor.pk:
        raise Forbidden("Only the applicant may do this.")


def transition(review: Review, target: str) -> None:
    lifecycle.check_transition(review.status, target)
    review.status = target
    review.save(update_fields=["status", "updated_at", "round", "decided_at"])


# --- e-mailed links: a signed token naming one row and its random nonce --------------------------
def link_token(pk: int, nonce: str, *, salt: str) -> str:
    return signing.dumps({"i": pk, "n": nonce}, salt=salt, compress=False)


def link_row(token: str, queryset, *, salt: str, days: int, refused: str):
    """The row of `queryset` a token names, its nonce checked in constant time; `NotFound
    (refused)` for a malformed, tampered, too old or unknown token (the caller checks state)."""
    try:
        value = signing.loads(str(token)[:500], salt=salt, max_age=timedelta(days=days))
        pk, nonce = int(value["i"]), str(value["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(refused) from None
    row = queryset.filter(pk=pk).first()
    if row is None or not secrets.compare_digest(row.nonce, nonce):
        raise NotFound(refused)
    return row
