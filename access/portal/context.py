"""What the researcher's pages show: labels, the buttons a person may press, the next step, each
dataset's status, the live consent verdicts and the request's timeline in sentences.

Page-building helpers for `access.portal.views`; reads only, no writes.
"""

from __future__ import annotations

import logging
from datetime import date

from audit.choices import EventType
from governance.matching import Outcome
from governance.models import AccessAgreement

from .. import lifecycle, matching, selectors
from ..choices import DecisionOutcome, RequestKind, RequestStatus, ReviewStatus
from ..models import AccessRequest
from ..services import amendments as amendment_services
from ..services import renewals as renewal_services
from ..services import requests as request_services

log = logging.getLogger(__name__)

STATUS_LABELS = {
    **dict(RequestStatus.choices),
    **dict(ReviewStatus.choices),
    "decided": "Decided",
}
VERDICT_LABELS = {
    Outcome.APPROVE: "Fits the consent",
    Outcome.REVIEW: "Needs a person to check",
    Outcome.DENY: "Does not fit the consent",
}
RULE_LABELS = {
    Outcome.APPROVE: "fits",
    Outcome.REVIEW: "needs a person",
    Outcome.DENY: "does not fit",
}
# A request's answers by the labels of their model fields (the admin shows the same).
FIELD_LABELS = {
    f.name: str(f.verbose_name)
    for f in [*AccessRequest._meta.fields, *AccessRequest._meta.many_to_many]
}


def copy_left_out_text(copy: AccessRequest) -> str:
    """What `request_copy` left out of the new draft `copy`, in a sentence or two."""
    parts = []
    if copy.datasets_skipped:
        parts.append(
            f"No longer in the catalogue, so not copied: {', '.join(copy.datasets_skipped)}."
        )
    answers = [FIELD_LABELS.get(f, f) for f in copy.not_copied]
    if answers:
        parts.append(f"Not copied, give again: {', '.join(answers)}.")
    team = copy.team_not_copied
    if team:
        parts.append(
            f"The team is not copied: invite its {team} member{'s' if team != 1 else ''} again."
        )
    return " ".join(parts)


def person_name(user, viewer) -> str:
    if user.pk == viewer.pk:
        return "you"
    return user.get_full_name() or user.get_username()


def capitalised(text: str) -> str:
    """Capitalise the first letter only ("jonas Becker" must not become "Jonas becker")."""
    return text[:1].upper() + text[1:]


def status_label(value: str) -> str:
    return STATUS_LABELS.get(value, value.replace("_", " ").capitalize())


def actions(access_request: AccessRequest, user, reviews) -> dict[str, bool]:
    """Which buttons to show. The services enforce the same rules; this only hides the
    buttons that would be refused."""
    applicant = access_request.applicant_id == user.pk
    status = access_request.status
    returned = any(r.status == ReviewStatus.RETURNED for r in reviews)
    open_reviews = any(r.status in lifecycle.OPEN_REVIEW_STATES for r in reviews)
    return {
        "edit": applicant
        and (status == RequestStatus.DRAFT or (status == RequestStatus.SUBMITTED and returned)),
        "submit": applicant and status == RequestStatus.DRAFT,
        "withdraw": applicant
        and (
            status == RequestStatus.DRAFT
            or (
                status == RequestStatus.SUBMITTED
                and (
                    open_reviews
                    # A change holds no grant of its own: once decided, nothing is left of it.
                    or (
                        not access_request.is_amendment
                        and bool(request_services.approvals_standing(access_request))
                    )
                )
            )
        ),
        "resubmit": applicant and status == RequestStatus.SUBMITTED and returned,
        "comment": applicant and status == RequestStatus.SUBMITTED,
        "accept": status in (RequestStatus.DRAFT, RequestStatus.SUBMITTED),
        "leave": not applicant
        and status in (RequestStatus.DRAFT, RequestStatus.SUBMITTED)
        and not access_request.is_renewal  # a renewal's team is its project's: leave that
        and access_request.team_members.filter(pk=user.pk).exists(),
        "copy": applicant and lifecycle.copy_refusal(status, [r.status for r in reviews]) is None,
        "renew": applicant
        and status == RequestStatus.SUBMITTED
        and not access_request.is_renewal
        and renewal_services.renewal_refusal(access_request) is None,
        "amend": applicant
        and status == RequestStatus.SUBMITTED
        and amendment_services.amendment_refusal(access_request) is None,
    }


def renewal_context(access_request: AccessRequest, reviews) -> dict:
    """What a request's page shows of renewals: for a renewal, its parent, report and what its
    approval did to each grant; for any other request, its renewals."""
    if access_request.is_renewal:
        return {
            "renewal_notes": [
                decision
                for review in reviews
                for decision in review.decisions.all()
                if decision.renewal_note
            ],
        }
    if access_request.is_amendment:
        return {"amendment": amendment_services.amendment_summary(access_request)}
    return {
        "renewal_window_days": selectors.renewal_window_days(),
        "renewals": list(
            access_request.follow_ups.filter(kind=RequestKind.RENEWAL).order_by("-created_at")
        ),
        "amendments": [
            (amendment, amendment_state(amendment))
            for amendment in access_request.follow_ups.filter(kind=RequestKind.AMENDMENT)
            .prefetch_related("reviews")
            .order_by("-created_at")
        ],
    }


def amendment_state(amendment: AccessRequest) -> str:
    """Where an amendment stands, in a few words (its project's page lists them)."""
    if amendment.applied_at is not None:
        return f"applied on {amendment.applied_at:%-d %B %Y}"
    if amendment.status == RequestStatus.DRAFT:
        return "a draft, not submitted yet"
    if amendment.status != RequestStatus.SUBMITTED:
        return amendment.get_status_display().lower()
    statuses = {r.status for r in amendment.reviews.all()}
    if statuses & lifecycle.OPEN_REVIEW_STATES:
        return "waiting for the committees"
    return "not approved: the project continues as it was"


def next_step(access_request, user, *, reviews, pending: bool, problems=None) -> str:
    """What this person has to do next, in a few words."""
    applicant = access_request.applicant_id == user.pk
    status = access_request.status
    if status == RequestStatus.DRAFT:
        if not applicant:
            if pending:
                return "Accept the access agreement."
            return "Nothing for now: the applicant has not submitted the request yet."
        if problems is not None and not problems:
            return "Submit the request."
        if problems is not None and set(problems) == {"agreements"}:
            return "Accept the access agreement, then submit."
        return "Complete the draft and submit it."
    if status == RequestStatus.SUBMITTED:
        if any(r.status == ReviewStatus.RETURNED for r in reviews):
            if applicant:
                return "Answer the committee's questions and resubmit."
            return "Nothing for now: the applicant is answering the committee's questions."
        if pending:
            return "Accept the access agreement."
        if any(r.status in lifecycle.OPEN_REVIEW_STATES for r in reviews):
            return "Nothing for now: wait for the committee's decision."
        if any(r.status == ReviewStatus.APPROVED for r in reviews):
            return "Use your access (see My access)."
        return "Nothing: every committee has decided."
    return f"Nothing: the request is {status_label(status).lower()}."


def dataset_statuses(access_request, datasets, reviews) -> list[dict]:
    by_committee = {r.committee_id: r for r in reviews}
    rows = []
    for dataset in datasets:
        review = by_committee.get(dataset.committee_id)
        status, label = access_request.status, access_request.get_status_display()
        if review is not None:
            status, label = review.status, review.get_status_display()
        elif access_request.is_amendment and access_request.status == RequestStatus.SUBMITTED:
            # A submitted change its committee does not review: this dataset stays as it is.
            status, label = "unchanged", "Unchanged: no review needed"
        rows.append({"dataset": dataset, "review": review, "status": status, "status_label": label})
    return rows


def pending_agreements(access_request, user, agreements: dict, accepted: set) -> list:
    """The current agreement versions this person has not accepted for this request."""
    if access_request.applicant_id != user.pk and user not in access_request.team_members.all():
        return []
    return sorted(
        {a for a in agreements.values() if (access_request.pk, a.pk) not in accepted},
        key=lambda a: (a.committee.name, a.pk),
    )


# --- My requests --------------------------------------------------------------------------------
# --- a request's page ---------------------------------------------------------------------------
def live_verdicts(access_request) -> dict[str, dict]:
    """Consent-match verdicts computed now, before submission, with the purpose that submission
    will store (`access.matching`)."""
    try:
        verdicts = matching.verdicts_for_request(access_request)
    except ValueError as exc:  # the engine refuses a purpose it cannot read; say nothing
        log.warning("live consent check failed for request %s: %s", access_request.pk, exc)
        return {}
    return {accession: verdict.to_dict() for accession, verdict in verdicts.items()}


def timeline(access_request, user, reviews, people) -> list[dict]:
    """The ledger's events in sentences. The selector has already dropped votes and internal
    comments; committee members are named by their committee, never in person."""
    events = selectors.timeline_for_applicant(access_request)
    who = selectors.people_by_pseudonym(people)
    committee_of_review = {str(r.pk): r.committee for r in reviews}
    committee_by_slug = {r.committee.slug: r.committee for r in reviews}
    agreement_ids = {e.payload.get("agreement") for e in events} - {None}
    agreements = {a.pk: a for a in AccessAgreement.objects.filter(pk__in=agreement_ids)}

    def name(event) -> str:
        person = who.get(event.actor_id)
        if person is not None:
            return person_name(person, user)
        return "the system" if event.actor_kind == "system" else "a committee member"

    def committee_name(event) -> str:
        # target_id is a review's id only for events about a review; a request's id may
        # collide with an unrelated review's.
        by_review = (
            committee_of_review.get(event.target_id)
            if event.target_type == "access.review"
            else None
        )
        committee = by_review or committee_by_slug.get(event.payload.get("committee", ""))
        return committee.name if committee else "A committee"

    out = []
    for event in events:
        p = event.payload
        kind = event.event_type
        actor = name(event)
        if kind == EventType.REQUEST_CREATED:
            text = f"{capitalised(actor)} drafted the request."
        elif kind == EventType.REQUEST_CHANGED:
            fields = ", ".join(FIELD_LABELS.get(f, f) for f in p.get("fields", []))
            text = (
                f"{capitalised(actor)} changed these answers: {fields}."
                if fields
                else "The request changed."
            )
        elif kind == EventType.REQUEST_SUBMITTED:
            names = sorted(
                committee_by_slug[s].name if s in committee_by_slug else s
                for s in p.get("reviews", {})
            )
            text = f"{capitalised(actor)} submitted the request to {', '.join(names) or 'the committees'}."
        elif kind == EventType.REQUEST_WITHDRAWN:
            text = f"{capitalised(actor)} withdrew the request."
            if p.get("grants_ended"):
                text += " The access it gave ended."
        elif kind == EventType.REQUEST_RESUBMITTED:
            text = (
                f"{capitalised(actor)} resubmitted the request to {committee_name(event)}"
                f" (round {p.get('round', '?')})."
            )
        elif kind == EventType.REQUEST_CLOSED:
            text = "The request was closed."
        elif kind == EventType.REQUEST_COPIED:
            source = AccessRequest(pk=p["source"]).reference if p.get("source") else "another"
            text = f"{capitalised(actor)} started this draft as a copy of {source}."
        elif kind == EventType.AMENDMENT_OPENED:
            project = AccessRequest(pk=p["parent"]).reference if p.get("parent") else "a project"
            text = f"{capitalised(actor)} started this change to {project}."
        elif kind == EventType.AMENDMENT_APPLIED:
            change = (
                AccessRequest(pk=p["amendment"]).reference if p.get("amendment") else "A change"
            )
            created, ended = len(p.get("grants_created", [])), len(p.get("grants_revoked", []))
            text = (
                f"The change {change} was made to the project: {created} grant"
                f"{'' if created == 1 else 's'} given, {ended} ended."
            )
        elif kind == EventType.CLOSEOUT_FILED:
            text = f"{capitalised(actor)} filed the close-out of the project."
        elif kind == EventType.REQUEST_EXPIRED:
            text = "The draft was closed after 90 days without activity."
        elif kind == EventType.AGREEMENT_ACCEPTED:
            agreement = agreements.get(p.get("agreement"))
            title = f"“{agreement.title}”" if agreement else "the access agreement"
            text = f"{capitalised(actor)} accepted {title}, version {p.get('version', '?')}."
        elif kind == EventType.CONSENT_MATCHED:
            verdict = VERDICT_LABELS.get(p.get("decision"), p.get("decision", ""))
            text = (
                f"Automatic consent check for {p.get('dataset', 'a dataset')}: {verdict.lower()}."
            )
        elif kind == EventType.CONSENT_REEVALUATED:
            checks = "; ".join(
                f"{d.get('dataset', 'a dataset')}: "
                f"{VERDICT_LABELS.get(d.get('after'), d.get('after') or '').lower()}"
                for d in p.get("datasets", [])
            )
            text = (
                f"{committee_name(event)} had the consent check run again with the current "
                f"consent engine ({p.get('engine', '?')})" + (f": {checks}." if checks else ".")
            )
        elif kind == EventType.REVIEW_STARTED:
            text = f"{committee_name(event)} started its review."
        elif kind == EventType.REVIEW_CLOSED:
            reason = p.get("reason")
            text = f"{committee_name(event)} closed its review." + (
                f" Reason: {reason}" if reason else ""
            )
        elif kind == EventType.COMMENT_ADDED:
            if p.get("committee"):
                text = f"{committee_name(event)} wrote a message (see Conversation)."
            else:
                text = f"{capitalised(actor)} replied to the committees."
        elif kind == EventType.DECISION_RECORDED:
            committee = committee_name(event)
            outcome = p.get("outcome")
            if outcome == DecisionOutcome.APPROVE:
                until = p.get("end_date")
                until = date.fromisoformat(until).strftime("%-d %B %Y") if until else "?"
                text = f"{committee} approved access to {', '.join(p.get('datasets', []))} until {until}."
            elif outcome == DecisionOutcome.REJECT:
                text = f"{committee} rejected the request."
            else:
                text = f"{committee} returned the request with questions."
            if p.get("automatic"):
                text = text[:-1] + ", automatically under the committee's policy."
        elif kind == EventType.INVITATION_SENT:
            text = f"{capitalised(actor)} invited someone to the team by e-mail."
        elif kind == EventType.INVITATION_WITHDRAWN:
            text = f"{capitalised(actor)} withdrew an invitation to the team."
        elif kind == EventType.INVITATION_ACCEPTED:
            member = who.get(p.get("member", ""))
            joined = person_name(member, user) if member is not None else "someone"
            text = f"{capitalised(joined)} accepted an invitation and joined the team."
        elif kind == EventType.INVITATION_DECLINED:
            # The person who declined is on no list of this request: not named.
            text = "An invitation to the team was declined."
        elif kind == EventType.TEAM_MEMBER_REMOVED:
            text = f"{capitalised(actor)} removed a member from the team."
            if p.get("grants_ended"):
                text = text[:-1] + "; their access ended."
            if p.get("reason"):
                text += f" Reason: {p['reason']}"
        elif kind == EventType.TEAM_MEMBER_LEFT:
            # Whoever left is on no list of this request any more: not named.
            text = "A member left the team."
            if p.get("grants_ended"):
                text = text[:-1] + "; their access ended."
            if p.get("reason"):
                text += f" Reason: {p['reason']}"
        else:  # a new event type the selector lets through: say what the ledger calls it
            text = EventType(kind).label if kind in EventType.values else kind
        out.append({"when": event.occurred_at, "text": text, "seq": event.seq})
    return out
