"""What the committee's review workspace shows: the review page's context (`review_page_context`,
which also says which of its forms this person may use right now) and the small pieces the
review queue's columns share with it (verdict badges, a request's age, its ethics document)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from governance import matching as consent_engine
from governance.choices import CommitteeRole, DecisionPolicy
from governance.matching import Outcome
from governance.models import DataAccessCommittee, Dataset

from .. import lifecycle, selectors
from ..answers import PURPOSE_FLAGS, SENSITIVE_FLAGS
from ..choices import DecisionOutcome, ReviewStatus
from ..models import AccessRequest, CloseOut, Grant, Review
from ..services import amendments as amendment_services
from ..services import decisions as decision_services
from ..services import reviews as review_services
from .forms import DECISION_FORMS, CommentForm, DeputyForm, ExpertInviteForm, RecusalForm, VoteForm

# How the consent match reads: whether the purpose fits the consent, never a recommendation.
VERDICT_LABELS = {
    Outcome.APPROVE: "fits",
    Outcome.DENY: "does not fit",
    Outcome.REVIEW: "needs review",
}


@dataclass
class DecisionOption:
    outcome: str
    label: str
    form: forms.Form | None
    refusal: str | None


@dataclass
class GrantRow:
    grant: Grant
    state: str
    may_revoke: bool


def committee_datasets(review: Review) -> list[Dataset]:
    return [d for d in review.request.datasets.all() if d.committee_id == review.committee_id]


def verdict_badge(decision: str | None):
    if decision is None:
        return "—"
    return format_html(
        '<span class="verdict verdict--{}">{}</span>',
        decision,
        VERDICT_LABELS.get(decision, decision),
    )


def due_text(review: Review, now=None) -> tuple[str, bool]:
    """The review's deadline in words, and whether it is overdue: "Due 3 Dec 2026", "Overdue
    since 3 Dec 2026", or nothing once the committee no longer has to act on it."""
    due = selectors.review_due_at(review)
    if due is None or review.status not in lifecycle.DECIDABLE_STATES:
        return "", False
    day = date_format(timezone.localtime(due), "DATE_FORMAT")
    if lifecycle.review_overdue(review.status, due, now or timezone.now()):
        return f"Overdue since {day}", True
    return f"Due {day}", False


def display_name(user) -> str:
    return user.get_full_name() or user.username


def _names(people: list[str]) -> str:
    return people[0] if len(people) == 1 else f"{', '.join(people[:-1])} and {people[-1]}"


ROLE_NAMES = {
    CommitteeRole.CHAIR: ("the chair", "the chairs"),
    lifecycle.DEPUTY: ("the deputy decider", "the deputy deciders"),
    CommitteeRole.SECRETARY: ("the secretary", "the secretaries"),
    CommitteeRole.MEMBER: ("a member", "the members"),
}


def who_decides(review: Review, panel: lifecycle.Panel) -> str:
    """One sentence for someone who may not decide: who can, by role and name."""
    committee = review.committee
    deciders = panel.eligible_deciders(committee.decision_policy)
    if not deciders:
        return "Nobody on this committee can decide this review now: every decider is conflicted."
    users = {m.user_id: m.user for m in committee.memberships.select_related("user") if m.user_id}
    users.update({d.user_id: d.user for d in review.deputies.select_related("user")})
    groups = []
    for role, (one, many) in ROLE_NAMES.items():
        names = sorted(display_name(users[u]) for u in deciders if panel.roles.get(u) == role)
        if names:
            groups.append(f"{one if len(names) == 1 else many}, {_names(names)},")
    who = " or ".join(groups).rstrip(",")
    verb = (
        "record the decision"
        if committee.decision_policy in lifecycle.VOTING_POLICIES
        else ("decide this review")
    )
    return f"Only {who}, can {verb}."


def reevaluation_refusal(review: Review, role: str | None) -> str | None:
    """Why someone with this acting role (None: off the panel or conflicted) may not have the
    review's consent matches judged again now, or None if they may; the service
    (`consent_reevaluate`) checks the same on POST."""
    if role is None:
        return "Only members of this request's committee, without a conflict, may do this."
    if review.status not in lifecycle.DECIDABLE_STATES:
        return (
            f"This review is {review.get_status_display().lower()}: its consent matches are "
            "kept as they were when it was decided."
        )
    return None


def days_since(moment) -> int | None:
    if moment is None:
        return None
    return (timezone.now() - moment).days


def ethics_document_url(access_request: AccessRequest) -> str | None:
    """The portal's protected download: it admits the request's committees and ledgers each opening."""
    if not access_request.ethics_document:
        return None
    try:
        return reverse("access:ethics-document", kwargs={"pk": access_request.pk})
    except NoReverseMatch:
        return None


def researcher_status_text(user) -> str:
    """The person's current researcher status in one line, for the committees (the review page
    and the request's admin page)."""
    status = selectors.researcher_status_current(user)
    if status is None:
        return "No researcher status"
    asserted = date_format(timezone.localtime(status.asserted), "j M Y")
    expires = date_format(timezone.localtime(status.expires_at), "j M Y")
    return f"Bona fide researcher: asserted {asserted} by {status.source}, expires {expires}"


def _policy_summary(committee: DataAccessCommittee, tally: lifecycle.Tally) -> str:
    policy = committee.get_decision_policy_display()
    if committee.decision_policy in (DecisionPolicy.MAJORITY, DecisionPolicy.UNANIMITY):
        votes = "vote" if tally.cast == 1 else "votes"
        return (
            f"{policy}. Quorum {committee.quorum}: {tally.cast} {votes} cast "
            f"({tally.approve} approve, {tally.reject} reject, {tally.abstain} abstain)."
        )
    return f"{policy}."


def review_page_context(request, review: Review, bound: dict[str, forms.Form]) -> dict[str, Any]:
    """Everything the review page shows, and which of its forms this person may use right now."""
    user = request.user
    access_request = review.request
    committee = review.committee
    panel = review_services.review_panel(review)
    on_panel_role = panel.role_of(user.pk)
    conflict = lifecycle.conflict_refusal(panel, user.pk) if on_panel_role else None
    # A conflicted member keeps reading the page, but may do nothing on it.
    role = None if conflict else on_panel_role
    datasets = list(review.datasets().select_related("consent_scope__permission"))
    matches = selectors.matches_for_request(access_request)
    votes = list(selectors.votes_for_review(review))
    current_votes = [v for v in votes if v.round == review.round]
    tally = lifecycle.eligible_tally(((v.voter_id, v.choice) for v in current_votes), panel)
    decidable = review.status in lifecycle.DECIDABLE_STATES
    may_manage = lifecycle.may_manage(policy=committee.decision_policy, role=role)

    closed_refusal = None
    if not decidable:
        closed_refusal = (
            f"This review is {review.get_status_display().lower()}: "
            "no decision can be taken on it now."
        )
    decider = role is not None and (
        lifecycle.role_refusal(policy=committee.decision_policy, role=role) is None
    )
    decision_options = []
    decision_refusals: list[str] = []
    for outcome, label in DecisionOutcome.choices:
        refusal = closed_refusal or lifecycle.decision_refusal(
            policy=committee.decision_policy,
            quorum=committee.quorum,
            role=role,
            outcome=outcome,
            tally=tally,
        )
        if refusal:
            if refusal not in decision_refusals:
                decision_refusals.append(refusal)
            continue
        # Only the decisions this person may take now are offered: approve here, reject and
        # return through their confirmation page (a reason the applicant reads).
        form = None
        if outcome == DecisionOutcome.APPROVE:
            form = bound.get(outcome) or DECISION_FORMS[outcome](prefix=outcome, review=review)
        decision_options.append(DecisionOption(outcome, label, form, None))

    grants = []
    for grant in selectors.grants_for_review(review):
        state = grant.inactive_reason() or "Active."
        may_revoke = may_manage and grant.revoked_at is None
        grants.append(GrantRow(grant, state, may_revoke))

    people = access_request.people()
    # Only this committee's agreements: what the applicant signed for others is not its business.
    acceptances = [
        a
        for a in selectors.acceptances_for_request(access_request)
        if a.agreement.committee_id == committee.pk
    ]
    current_agreements = {d.current_agreement for d in datasets} - {None}
    accepted = {(a.user_id, a.agreement_id) for a in acceptances}
    missing_acceptances = [
        (person, agreement)
        for agreement in sorted(current_agreements, key=lambda a: a.pk)
        for person in people
        if (person.pk, agreement.pk) not in accepted
    ]

    own_vote = next((v for v in current_votes if v.voter_id == user.pk), None)
    dataset_rows = [_dataset_row(d, matches.get(d.pk)) for d in datasets]
    return {
        "review": review,
        "access_request": access_request,
        "committee": committee,
        "role": on_panel_role,
        "role_label": _role_label(on_panel_role),
        "conflict": conflict,
        "decider_shortfall": lifecycle.decider_shortfall(
            panel, policy=committee.decision_policy, quorum=committee.quorum
        )
        if review.status in lifecycle.OPEN_REVIEW_STATES
        else None,
        "recusals": list(review.recusals.select_related("member")),
        "bars": list(selectors.bars_for_request(access_request, [committee.pk])),
        "deputies": list(review.deputies.select_related("user", "appointed_by")),
        "uncounted_votes": [v for v in current_votes if v.voter_id not in panel.eligible_voters()],
        "may_recuse": on_panel_role is not None
        and user.pk not in panel.excluded
        and review.status not in (ReviewStatus.CLOSED, ReviewStatus.WITHDRAWN),
        "recusal_form": bound.get("recusal") or RecusalForm(prefix="recusal"),
        "experts": selectors.experts_of_review(review),
        "may_invite_expert": on_panel_role is not None
        and not conflict
        and review.status in lifecycle.OPEN_REVIEW_STATES,
        "expert_form": bound.get("expert") or ExpertInviteForm(prefix="expert"),
        "may_appoint_deputy": user.is_superuser
        and review.status not in (ReviewStatus.CLOSED, ReviewStatus.WITHDRAWN),
        "deputy_form": bound.get("deputy") or DeputyForm(prefix="deputy", actor=user),
        "age_days": days_since(access_request.submitted_at),
        "today": timezone.localdate(),
        "latest_end_date": decision_services.latest_end_date(access_request),
        "diseases": list(access_request.diseases.order_by("curie")),
        "team": list(access_request.team_members.order_by("username")),
        "researcher_status": researcher_status_text(access_request.applicant),
        # The end of this project, and the applicant's other projects with this committee: a
        # committee that requires close-outs sees at once whose are missing.
        "closeout": CloseOut.objects.filter(request=access_request)
        .select_related("filed_by")
        .first(),
        "earlier_projects": selectors.earlier_projects(access_request, committee.pk),
        "purpose_flags": _purpose_flags(access_request),
        "sensitive_flags": _sensitive_flags(access_request),
        "ethics_document_url": ethics_document_url(access_request),
        "acceptances": acceptances,
        "missing_acceptances": missing_acceptances,
        "dataset_rows": dataset_rows,
        "engine_version": consent_engine.ENGINE_VERSION,
        # Verdicts stay as the engine of the day gave them; someone who may act is offered to
        # have the outdated ones judged again (a confirmation page, then one service).
        "may_reevaluate": any(row.outdated for row in dataset_rows)
        and reevaluation_refusal(review, role) is None,
        "other_datasets": [
            d for d in access_request.datasets.all() if d.committee_id != committee.pk
        ],
        "comments": list(selectors.comments_for_review(review)),
        "current_votes": current_votes,
        "previous_votes": [v for v in votes if v.round != review.round],
        "tally": tally,
        "policy_summary": _policy_summary(committee, tally),
        "decisions": list(selectors.decisions_for_review(review)),
        "grants": grants,
        "may_comment": role is not None,
        "comment_form": bound.get("comment") or CommentForm(prefix="comment"),
        "may_vote": lifecycle.may_vote(role) and decidable,
        "vote_form": bound.get("vote")
        or VoteForm(
            prefix="vote",
            initial={"choice": own_vote.choice, "rationale": own_vote.rationale}
            if own_vote
            else None,
        ),
        "own_vote": own_vote,
        "may_decide": decider and decidable and bool(decision_options),
        "decision_options": decision_options,
        # One sentence instead of refused forms: why the other decisions are not open yet, or,
        # for someone who may not decide, who can.
        "decision_note": " ".join(decision_refusals) if decider and decidable else None,
        "who_decides": who_decides(review, panel)
        if decidable and not decider and not conflict
        else None,
        "closed_note": closed_refusal,
        "decidable": decidable,
        "due": due_text(review),
        "may_start": role is not None
        and review.status in (ReviewStatus.SUBMITTED, ReviewStatus.RESUBMITTED),
        "may_close": may_manage
        and ReviewStatus.CLOSED in lifecycle.REVIEW_TRANSITIONS.get(review.status, set()),
        "may_manage": may_manage,
        "start_error": _form_errors(bound.get("start")),
        "close_error": _form_errors(bound.get("close")),
        **_renewal(access_request, committee),
        **_amendment(access_request, committee),
    }


def _amendment(access_request: AccessRequest, committee: DataAccessCommittee) -> dict[str, Any]:
    """For an amendment: its project, this committee's review there, what the amendment changes
    and why this committee reviews it, and the project's end (an approval cannot outlast it)."""
    if not access_request.is_amendment:
        return {}
    project = access_request.parent
    summary = amendment_services.amendment_summary(access_request)
    mine = [line for line in summary.get("review", []) if line.startswith(f"{committee.name}:")]
    return {
        "amendment_project": project,
        "amendment_project_review": project.reviews.filter(committee=committee).first(),
        "amendment_changes": summary.get("changes", []),
        "amendment_why": mine[0].removeprefix(f"{committee.name}: ") if mine else "",
        "amendment_project_end": selectors.project_last_day(project),
    }


def _renewal(access_request: AccessRequest, committee: DataAccessCommittee) -> dict[str, Any]:
    """For a renewal: the parent and this committee's part of it (its review there, and the
    current end of each grant the renewal would extend)."""
    if not access_request.is_renewal:
        return {}
    parent = access_request.parent
    return {
        "now": timezone.now(),
        "renewal_parent": parent,
        "renewal_parent_review": parent.reviews.filter(committee=committee).first(),
        "renewal_grants": [
            g
            for g in selectors.renewal_grants(access_request)
            if g.dataset.committee_id == committee.pk
        ],
    }


@dataclass
class DatasetRow:
    dataset: Dataset
    match: Any
    verdict: str
    rules: list[dict]
    # Judged by an older consent engine than the one running now (the verdict is kept until a
    # committee member has it judged again).
    outdated: bool = False


def _dataset_row(dataset: Dataset, match) -> DatasetRow:
    """A dataset with its consent match, in the workspace's words (fits / does not fit)."""
    if match is None:
        return DatasetRow(dataset, None, "", [])
    rules = [
        {**rule, "outcome": VERDICT_LABELS.get(rule.get("outcome"), rule.get("outcome"))}
        for rule in match.rules or []
    ]
    return DatasetRow(
        dataset,
        match,
        VERDICT_LABELS.get(match.decision, match.decision),
        rules,
        outdated=match.engine_version != consent_engine.ENGINE_VERSION,
    )


def _role_label(role: str | None) -> str:
    if role == lifecycle.DEPUTY:
        return "Deputy decider"
    return CommitteeRole(role).label if role else ""


def _form_errors(form: forms.Form | None) -> list[str]:
    return [str(e) for e in form.non_field_errors()] if form is not None else []


def _purpose_flags(access_request: AccessRequest) -> list[tuple[str, bool]]:
    opts = AccessRequest._meta
    return [
        (str(opts.get_field(f).verbose_name), getattr(access_request, f))
        for f in PURPOSE_FLAGS
        if f not in SENSITIVE_FLAGS
    ]


def _sensitive_flags(access_request: AccessRequest) -> list[str]:
    """The labels of the sensitive-research answers the applicant ticked."""
    opts = AccessRequest._meta
    return [
        str(opts.get_field(f).verbose_name) for f in SENSITIVE_FLAGS if getattr(access_request, f)
    ]
