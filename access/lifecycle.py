"""The review lifecycle and the committees' decision policies, as data and pure functions.

No ORM here: services pass plain values in, so every transition and refusal is testable
without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from dateutil.relativedelta import relativedelta

from core.exceptions import Conflict
from governance.choices import CommitteeRole, DatasetStatus, DecisionPolicy

from .answers import ETHICS_ANSWERS, PURPOSE_ANSWERS
from .choices import DecisionOutcome, RequestStatus, ReviewStatus, VoteChoice

S = ReviewStatus

# Allowed review transitions: {from: {to, ...}}. A decision may be taken on a submitted or
# resubmitted review directly; the service then records the implied "under review" step first.
REVIEW_TRANSITIONS: dict[str, set[str]] = {
    S.SUBMITTED: {S.UNDER_REVIEW, S.WITHDRAWN, S.CLOSED},
    S.UNDER_REVIEW: {S.APPROVED, S.REJECTED, S.RETURNED, S.WITHDRAWN, S.CLOSED},
    S.RETURNED: {S.RESUBMITTED, S.WITHDRAWN, S.CLOSED},
    S.RESUBMITTED: {S.UNDER_REVIEW, S.WITHDRAWN, S.CLOSED},
    S.APPROVED: {S.CLOSED},
    S.REJECTED: {S.CLOSED},
    S.WITHDRAWN: set(),
    S.CLOSED: set(),
}
OPEN_REVIEW_STATES = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.RETURNED, S.RESUBMITTED})
DECIDABLE_STATES = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.RESUBMITTED})
OUTCOME_STATUS = {
    DecisionOutcome.APPROVE: S.APPROVED,
    DecisionOutcome.REJECT: S.REJECTED,
    DecisionOutcome.RETURN: S.RETURNED,
}


class TransitionRefused(Conflict):
    """A state change that the lifecycle or the policy does not allow; the message says why
    (a 409 where it is answered, core/exceptions.py)."""


# What an approving committee relied on when it decided: the research purpose it checked against
# the consent, the ethics approval it saw, and the people and place it let use the data. None of
# these may change while an approval of the request stands (`AnswersLocked`); the project title,
# summaries and requested duration stay editable (a returned committee's questions are answered
# there, and a grant's end date is fixed by its decision).
APPROVAL_FIELDS: tuple[str, ...] = (
    *PURPOSE_ANSWERS,
    "diseases",
    *ETHICS_ANSWERS,
    "team_members",
    "institution",
    "country",
)


class AnswersLocked(TransitionRefused):
    """An edit to answers an approving committee relied on, refused while its approval stands;
    the API's 409 names the locked `fields`."""

    def __init__(self, *, fields: Iterable[str], committees: Iterable[str]):
        self.fields = sorted(fields)
        self.committees = sorted(committees)
        names = " and ".join(self.committees)
        part = "The part" if len(self.committees) == 1 else "The parts"
        verb = "is" if len(self.committees) == 1 else "are"
        super().__init__(
            f"{part} reviewed by {names} {verb} approved; the research purpose, diseases, ethics "
            "approval, team, institution and country are what the committee relied on, and "
            "cannot change under its approval. To change them, withdraw this request (the access "
            "it gave ends) and file a new one, or ask the approving committee to revoke its "
            "approval first.",
            extra={"fields": self.fields},
        )


def locked_changes(changed: Iterable[str], *, approvals_standing: bool) -> list[str]:
    """The changed answers an approval forbids changing (none while no approval stands)."""
    if not approvals_standing:
        return []
    return sorted(set(changed) & set(APPROVAL_FIELDS))


def check_transition(current: str, target: str) -> None:
    if target not in REVIEW_TRANSITIONS.get(current, set()):
        raise TransitionRefused(
            f"A review that is {S(current).label.lower()} cannot become {S(target).label.lower()}."
        )


@dataclass(frozen=True)
class Tally:
    approve: int = 0
    reject: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        return self.approve + self.reject + self.abstain

    @classmethod
    def of(cls, votes: Iterable[str]) -> Tally:
        votes = list(votes)
        return cls(
            approve=votes.count(VoteChoice.APPROVE),
            reject=votes.count(VoteChoice.REJECT),
            abstain=votes.count(VoteChoice.ABSTAIN),
        )


# A deputy decider, appointed by an administrator for one review when conflicts leave the
# committee without an eligible decider, acts on that review with the chair's powers.
DEPUTY = "deputy"
VOTING_POLICIES = (DecisionPolicy.MAJORITY, DecisionPolicy.UNANIMITY)


def _chair_like(role: str | None) -> bool:
    return role in (CommitteeRole.CHAIR, DEPUTY)


def role_refusal(*, policy: str, role: str | None) -> str | None:
    """Why someone with this role may not record decisions under the policy, or None."""
    if role is None:
        return "Only members of the committee may decide."
    if role == CommitteeRole.SECRETARY and policy in (
        DecisionPolicy.SINGLE_DECIDER,
        DecisionPolicy.CHAIR_DECIDES,
    ):
        return "A secretary records decisions only for committees that decide by vote."
    if policy == DecisionPolicy.CHAIR_DECIDES and not _chair_like(role):
        return "This committee's policy is that the chair decides."
    if policy in VOTING_POLICIES and not (_chair_like(role) or role == CommitteeRole.SECRETARY):
        return "Under a voting policy the chair or the secretary records the decision."
    return None


def decision_refusal(
    *, policy: str, quorum: int, role: str | None, outcome: str, tally: Tally
) -> str | None:
    """Why this person may not take this decision now under the committee's policy, or None.

    Returning a request for changes asks questions; it needs no votes, but it is taken by
    whoever may decide under the policy. `tally` holds the eligible members' votes only.
    """
    refusal = role_refusal(policy=policy, role=role)
    if refusal:
        return refusal
    if policy in VOTING_POLICIES:
        if outcome == DecisionOutcome.RETURN:
            return None
        if tally.cast < quorum:
            return f"The quorum is {quorum} votes; {tally.cast} cast so far."
        wanted = tally.approve if outcome == DecisionOutcome.APPROVE else tally.reject
        other = tally.reject if outcome == DecisionOutcome.APPROVE else tally.approve
        verb = "approve" if outcome == DecisionOutcome.APPROVE else "reject"
        if policy == DecisionPolicy.MAJORITY and wanted <= other:
            return (
                f"A majority must vote to {verb}: {tally.approve} approve, {tally.reject} reject."
            )
        if policy == DecisionPolicy.UNANIMITY and (other > 0 or wanted == 0):
            return f"Every vote cast (abstentions aside) must be to {verb}: {tally.approve} approve, {tally.reject} reject."
    return None


def may_vote(role: str | None) -> bool:
    return role in (CommitteeRole.CHAIR, CommitteeRole.MEMBER, DEPUTY)


def may_manage(*, policy: str, role: str | None) -> bool:
    """Revoke grants and close reviews: the chair and secretary; any member under a single-decider policy."""
    if role in (CommitteeRole.CHAIR, CommitteeRole.SECRETARY, DEPUTY):
        return True
    return policy == DecisionPolicy.SINGLE_DECIDER and role == CommitteeRole.MEMBER


# --- conflicts of interest ---------------------------------------------------------------------
# Nobody acts as a request's committee who is its applicant or on its team, or who declared a
# conflict on the review. The reasons are written to the person concerned.
APPLICANT_CONFLICT = (
    "You are the applicant of this request; you may not act on it as its committee."
)
TEAM_CONFLICT = "You are on this request's team; you may not act on it as its committee."
RECUSED_CONFLICT = "You declared a conflict of interest on this review; you may not act on it."
# The same reasons, said of someone else (to the administrator appointing a deputy).
CONFLICT_OF_ANOTHER = {
    APPLICANT_CONFLICT: "is the applicant of this request",
    TEAM_CONFLICT: "is on this request's team",
    RECUSED_CONFLICT: "declared a conflict of interest on this review",
}


@dataclass(frozen=True)
class Panel:
    """Who may act on one review: members by role (deputies as DEPUTY) and who of them is barred, with why."""

    roles: Mapping[int, str] = field(default_factory=dict)
    excluded: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        memberships: Mapping[int, str],
        deputies: Iterable[int] = (),
        applicant: int | None,
        team: Iterable[int] = (),
        recused: Iterable[int] = (),
    ) -> Panel:
        roles = {**memberships, **{user_id: DEPUTY for user_id in deputies}}
        excluded: dict[int, str] = {}
        for user_id in recused:
            excluded[user_id] = RECUSED_CONFLICT
        for user_id in team:
            excluded[user_id] = TEAM_CONFLICT
        if applicant is not None:
            excluded[applicant] = APPLICANT_CONFLICT
        return cls(roles=roles, excluded=excluded)

    def role_of(self, user_id: int | None) -> str | None:
        return self.roles.get(user_id) if user_id is not None else None

    def eligible(self) -> dict[int, str]:
        """The panel members who may act, with their roles."""
        return {u: r for u, r in self.roles.items() if u not in self.excluded}

    def eligible_voters(self) -> set[int]:
        return {u for u, r in self.eligible().items() if may_vote(r)}

    def eligible_deciders(self, policy: str) -> set[int]:
        return {
            u for u, r in self.eligible().items() if role_refusal(policy=policy, role=r) is None
        }


def conflict_refusal(panel: Panel, user_id: int | None) -> str | None:
    """Why this person may not act on the review because of a conflict of interest, or None."""
    if user_id is None:
        return None
    return panel.excluded.get(user_id)


def eligible_tally(votes: Iterable[tuple[int, str]], panel: Panel) -> Tally:
    """The tally of (voter id, choice) pairs, counting only the votes of eligible voters: a
    vote cast before a recusal, or by someone barred since, does not count."""
    voters = panel.eligible_voters()
    return Tally.of(choice for voter, choice in votes if voter in voters)


def decider_shortfall(panel: Panel, *, policy: str, quorum: int) -> str | None:
    """Why no decision can be reached on this review by its eligible people, or None."""
    if not panel.eligible_deciders(policy):
        return (
            "No eligible decider remains on this review: every person who may decide is conflicted."
        )
    if policy in VOTING_POLICIES:
        voters = len(panel.eligible_voters())
        if voters < quorum:
            return (
                f"The quorum of {quorum} votes cannot be reached: only {voters} eligible "
                f"voter{'' if voters == 1 else 's'} remain{'s' if voters == 1 else ''} on this review."
            )
    return None


# --- review deadlines ------------------------------------------------------------------------------
def review_due(submitted_at: datetime | None, service_level_days: int) -> datetime | None:
    """When a review is due: its committee's service level after the request was submitted."""
    if submitted_at is None:
        return None
    return submitted_at + timedelta(days=service_level_days)


def review_overdue(status: str, due: datetime | None, now: datetime) -> bool:
    """Whether a review is past its due date while the committee still has to act on it (a
    review returned to the applicant waits for them, not for the committee)."""
    return due is not None and status in DECIDABLE_STATES and now > due


def copy_refusal(request_status: str, review_statuses: Iterable[str]) -> str | None:
    """Why a request cannot be copied as a new one now, or None: only a finished request is
    (withdrawn, closed, or submitted with every committee's part decided), so that a copy never
    runs beside the request it repeats while that one is still drafted or reviewed."""
    if request_status in (RequestStatus.WITHDRAWN, RequestStatus.CLOSED):
        return None
    if request_status == RequestStatus.DRAFT:
        return "A draft cannot be copied: edit it instead, or withdraw it first."
    statuses = set(review_statuses)
    if not statuses or statuses & OPEN_REVIEW_STATES:
        return (
            "This request is still under review: it can be copied once every committee has "
            "decided (or once it is withdrawn)."
        )
    return None


def summary_status(request_status: str, review_statuses: Iterable[str]) -> str:
    """One word for the applicant's list: the request's own state, or the reviews' common state."""
    statuses = set(review_statuses)
    if request_status != RequestStatus.SUBMITTED or not statuses:
        return request_status
    if len(statuses) == 1:
        return statuses.pop()
    if S.RETURNED in statuses:
        return S.RETURNED
    if statuses & {S.SUBMITTED, S.UNDER_REVIEW, S.RESUBMITTED}:
        return S.UNDER_REVIEW
    return "decided"


# --- whether a grant is active -------------------------------------------------------------------
class GrantState(Protocol):
    """The facts that decide whether a grant is active, however they were read: `GrantRecord`
    from the token hot path's one-query row, or the grant model's own view of itself
    (`Grant.state`), which loads the related facts only when the rule reaches them. Read-only."""

    @property
    def revoked_at(self) -> datetime | None: ...

    @property
    def valid_from(self) -> datetime: ...

    @property
    def valid_until(self) -> datetime: ...

    @property
    def user_active(self) -> bool: ...

    @property
    def dataset_status(self) -> str: ...

    @property
    def requires_ethics(self) -> bool: ...

    @property
    def ethics_expiry(self) -> date | None: ...

    @property
    def needs_agreement(self) -> bool: ...

    @property
    def agreement_accepted(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A `GrantState` held as plain values."""

    revoked_at: datetime | None
    valid_from: datetime
    valid_until: datetime
    user_active: bool
    dataset_status: str
    requires_ethics: bool
    ethics_expiry: date | None
    needs_agreement: bool
    agreement_accepted: bool


def grant_inactive_reason(state: GrantState, now: datetime) -> str | None:
    """Why a grant in `state` is not active at `now`, or None when it is: the one rule.

    The checks run in this order and stop at the first that fails, so the first reason is the
    one given (and a lazy state reads no more than it needs). The words are shown to the holder
    and recorded in the ledger."""
    if state.revoked_at is not None:
        return "The grant was revoked."
    if now < state.valid_from:
        return "The grant is not valid yet."
    if now >= state.valid_until:
        return "The grant has expired."
    if not state.user_active:
        return "The account is suspended."
    if state.dataset_status != DatasetStatus.PUBLISHED:
        return "The dataset is no longer published."
    if state.requires_ethics:
        expiry = state.ethics_expiry
        if expiry is None or expiry < now.date():
            return "The ethics approval has expired."
    if state.needs_agreement and not state.agreement_accepted:
        return "The access agreement was not accepted."
    return None


# --- renewals ------------------------------------------------------------------------------------
# What bounded a renewed grant's new last day (`renewal_last_day`), in the ledger's words.
BOUND_REQUESTED = "requested"
BOUND_DECISION = "decision"
BOUND_ETHICS = "ethics"
BOUND_RETENTION = "retention"


@dataclass(frozen=True)
class RenewedEnd:
    """A grant's last day after a renewal, and what bounded it."""

    last_day: date
    bound: str

    @property
    def extended(self) -> bool:
        return self.bound != "unchanged"


def renewal_last_day(
    *,
    old_last_day: date,
    months: int,
    decided_end: date | None,
    ethics_expiry: date | None,
    retention_until: date | None,
) -> RenewedEnd:
    """The last day of a grant that a renewal extends: its old last day plus the months asked
    for, no later than the committee's end date, the ethics approval's expiry or the dataset's
    retention end (the first that bites is named), and never earlier than the old last day:
    the extension continues the grant without a gap, or leaves it as it was ("unchanged")."""
    candidates = [(old_last_day + relativedelta(months=months), BOUND_REQUESTED)]
    if decided_end is not None:
        candidates.append((decided_end, BOUND_DECISION))
    if ethics_expiry is not None:
        candidates.append((ethics_expiry, BOUND_ETHICS))
    if retention_until is not None:
        candidates.append((retention_until, BOUND_RETENTION))
    # min() keeps the first of equal dates: the months asked for win a tie.
    last_day, bound = min(candidates, key=lambda c: c[0])
    if last_day <= old_last_day:
        return RenewedEnd(old_last_day, "unchanged")
    return RenewedEnd(last_day, bound)
