"""Amendments: the applicant of an approved project changes it ("Change this project").

An amendment is a request of its own (`kind=amendment`, `parent` the project's first request),
pre-filled from the project as it stands: the datasets it holds grants for, its answers, its
team and the agreements accepted. The applicant edits and submits it as any draft: datasets
added (from any committee) or removed, team members invited or taken off, the purpose or the
ethics approval changed. Only the committees whose decision the change touches review it
(`amendment_changes`):

- a dataset added: that dataset's committee;
- an answer an approval relied on changed (`lifecycle.APPROVAL_FIELDS`: the purpose, the
  diseases, the ethics approval, the institution, the country): every committee whose datasets
  the project keeps;
- a team member added: every committee of the project (kept and added datasets).

A change no committee has to review (removing a dataset or a member) is made when the amendment
is submitted; otherwise once every committee it went to has approved it. Until then the
project's grants stay as they were; a rejection leaves the project as it was. Applying it
(`_apply`) makes the project match the amendment: grants created for the approved datasets and
new people (ending on their committee's end date, never after the project's current end:
`selectors.project_last_day`), grants revoked for people and datasets no longer on the project,
the project's answers, diseases and team updated, and one `access.amendment_applied` event."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from audit import events
from core.dates import end_of_day

from .. import lifecycle, selectors
from ..answers import REQUEST_FIELDS
from ..choices import DecisionOutcome, RequestKind, RequestStatus, ReviewStatus
from ..lifecycle import TransitionRefused
from ..models import AccessRequest, Decision, Grant, Review
from . import closeouts as closeout_services
from . import common
from . import grants as grant_services

# The answers an amendment may change that its committees review ("diseases" and the team are
# compared as sets, apart).
REVIEWED_ANSWERS: tuple[str, ...] = tuple(
    f for f in lifecycle.APPROVAL_FIELDS if f not in ("diseases", "team_members")
)
# An amendment changes what the project does and who does it, not how long: that is a renewal's.
FIXED_ANSWERS = ("requested_months",)
# Answers no approval relied on: an amendment carries them to the project without a review.
DETAILS = ("title", "lay_summary", "scientific_abstract")


def amendment_refusal(access_request: AccessRequest) -> str | None:
    """Why the applicant cannot start an amendment of this request now, or None."""
    if access_request.kind != RequestKind.INITIAL:
        project = access_request.parent
        return (
            f"This is a {access_request.get_kind_display().lower()}; change the project itself, "
            f"{project.reference}."
        )
    if access_request.status != RequestStatus.SUBMITTED:
        return f"A {access_request.get_status_display().lower()} request cannot be changed."
    pending = selectors.amendment_pending_of(access_request)
    if pending is not None:
        return f"A change to this project is already under way: {pending.reference}."
    return project_refusal(access_request)


def project_refusal(project: AccessRequest) -> str | None:
    """Why this project cannot take a change now (when one is opened, submitted or approved),
    or None: it must hold live grants, every committee must have decided its first request (a
    change never runs beside a review of the same project), and no renewal may be waiting
    (a renewal extends the team and datasets as they were when it was asked for)."""
    if project.status != RequestStatus.SUBMITTED or not selectors.grants_live_of(project).exists():
        return "This project holds no active grants: there is nothing approved to change."
    if project.reviews.filter(status__in=lifecycle.OPEN_REVIEW_STATES).exists():
        return (
            "A committee is still reviewing this project: it can be changed once every "
            "committee has decided."
        )
    renewal = selectors.renewal_pending_of(project)
    if renewal is not None:
        return (
            f"A renewal of this project is waiting for its committees ({renewal.reference}): "
            "change the project once they have decided."
        )
    return None


@dataclass
class AmendmentChanges:
    """What an amendment changes against its project as it stands, and who must review it."""

    datasets_added: list = field(default_factory=list)
    datasets_removed: list = field(default_factory=list)
    members_added: list = field(default_factory=list)
    members_removed: list = field(default_factory=list)
    answers_changed: list[str] = field(default_factory=list)
    details_changed: list[str] = field(default_factory=list)
    # {committee id: committee}, and for each the reasons it reviews the amendment.
    committees: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (
            self.datasets_added
            or self.datasets_removed
            or self.members_added
            or self.members_removed
            or self.answers_changed
            or self.details_changed
        )

    def answer_labels(self, names=None) -> list[str]:
        return [
            str(AccessRequest._meta.get_field(name).verbose_name)
            for name in (self.answers_changed if names is None else names)
        ]

    def lines(self) -> list[str]:
        """The changes in words, for the applicant's and the committees' pages."""
        out = []
        if self.datasets_added:
            out.append("Adds " + ", ".join(d.accession for d in self.datasets_added) + ".")
        if self.datasets_removed:
            out.append("Removes " + ", ".join(d.accession for d in self.datasets_removed) + ".")
        if self.members_added:
            out.append(
                "Adds to the team: " + ", ".join(u.get_username() for u in self.members_added) + "."
            )
        if self.members_removed:
            out.append(
                "Takes off the team: "
                + ", ".join(u.get_username() for u in self.members_removed)
                + "."
            )
        if self.answers_changed:
            out.append("Changes the answers: " + ", ".join(self.answer_labels()) + ".")
        if self.details_changed:
            out.append(
                "Changes, without a review: "
                + ", ".join(self.answer_labels(self.details_changed))
                + "."
            )
        return out

    def review_lines(self) -> list[str]:
        """Which committee reviews the amendment, and why."""
        return [
            f"{self.committees[cid].name}: {'; '.join(self.reasons[cid])}."
            for cid in sorted(self.committees, key=lambda c: self.committees[c].name)
        ]


def _answer_differs(amendment: AccessRequest, project: AccessRequest, name: str) -> bool:
    mine, theirs = getattr(amendment, name), getattr(project, name)
    if name == "ethics_document":
        return (mine.name or "") != (theirs.name or "")
    return mine != theirs


def amendment_changes(amendment: AccessRequest) -> AmendmentChanges:
    """Compare the amendment with its project as it stands now: the datasets the project holds
    live grants for, its team and its answers."""
    project = amendment.parent
    held = {
        g.dataset_id: g.dataset
        for g in selectors.grants_live_of(project).select_related("dataset__committee")
    }
    proposed = {d.pk: d for d in amendment.datasets.select_related("committee")}
    team = {u.pk: u for u in project.team_members.all()}
    new_team = {u.pk: u for u in amendment.team_members.all()}
    changes = AmendmentChanges(
        datasets_added=sorted(
            (d for pk, d in proposed.items() if pk not in held), key=lambda d: d.accession
        ),
        datasets_removed=sorted(
            (d for pk, d in held.items() if pk not in proposed), key=lambda d: d.accession
        ),
        members_added=sorted(
            (u for pk, u in new_team.items() if pk not in team), key=lambda u: u.get_username()
        ),
        members_removed=sorted(
            (u for pk, u in team.items() if pk not in new_team), key=lambda u: u.get_username()
        ),
        answers_changed=[n for n in REVIEWED_ANSWERS if _answer_differs(amendment, project, n)],
        details_changed=[n for n in DETAILS if _answer_differs(amendment, project, n)],
    )
    if set(amendment.diseases.values_list("pk", flat=True)) != set(
        project.diseases.values_list("pk", flat=True)
    ):
        changes.answers_changed.append("diseases")

    def touch(committee, reason: str) -> None:
        changes.committees[committee.pk] = committee
        changes.reasons.setdefault(committee.pk, []).append(reason)

    for dataset in changes.datasets_added:
        touch(dataset.committee, f"adds {dataset.accession}")
    kept = [d for pk, d in held.items() if pk in proposed]
    if changes.answers_changed:
        what = ", ".join(changes.answer_labels())
        for committee in {d.committee_id: d.committee for d in kept}.values():
            touch(committee, f"changes {what}")
    if changes.members_added:
        who = ", ".join(u.get_username() for u in changes.members_added)
        for committee in {
            d.committee_id: d.committee for d in [*kept, *changes.datasets_added]
        }.values():
            touch(committee, f"adds {who} to the team")
    return changes


def amendment_summary(amendment: AccessRequest) -> dict[str, list[str]]:
    """What the amendment changes and who reviews it, in words: as submitted once it is
    (`summary_record`), compared with its project as it stands while it is a draft."""
    if amendment.status != RequestStatus.DRAFT and amendment.amendment_summary:
        return amendment.amendment_summary
    changes = amendment_changes(amendment)
    return {"changes": changes.lines(), "review": changes.review_lines()}


def summary_record(amendment: AccessRequest, changes: AmendmentChanges) -> None:
    """Keep the summary of an amendment as submitted (or resubmitted)."""
    reviewers = changes.review_lines() or amendment.amendment_summary.get("review", [])
    amendment.amendment_summary = {"changes": changes.lines(), "review": reviewers}
    amendment.save(update_fields=["amendment_summary", "updated_at"])


def submission_problems(amendment: AccessRequest) -> dict[str, str]:
    """What stops an amendment from being submitted (a draft) or resubmitted (returned), beyond
    any request's problems."""
    project = amendment.parent
    refusal = project_refusal(project)
    if refusal:
        return {"changes": f"{refusal} ({project.reference})"}
    changes = amendment_changes(amendment)
    if amendment.status != RequestStatus.DRAFT:
        # Returned and edited: the change may now concern a committee that has no review of it.
        reviewing = set(amendment.reviews.values_list("committee_id", flat=True))
        missing = sorted(c.name for cid, c in changes.committees.items() if cid not in reviewing)
        if missing:
            return {
                "changes": f"As it now stands, this change also concerns {', '.join(missing)}, "
                "which did not receive it. Undo that part, or withdraw this change and start a "
                "new one."
            }
        return {}
    if changes.empty:
        return {
            "changes": "This amendment changes nothing yet: add or remove a dataset, change the "
            "team, or change the purpose or the ethics approval."
        }
    # A committee that requires close-outs before it accepts a new request from the applicant
    # requires them before it gives a dataset to a changed project too.
    if changes.datasets_added:
        due = closeout_services.closeouts_due(amendment, changes.datasets_added)
        if due:
            return {"closeouts": closeout_services.closeouts_due_text(due)}
    return {}


@transaction.atomic
def amendment_open(*, access_request: AccessRequest, actor) -> AccessRequest:
    """Start a change to an approved project: a draft amendment, pre-filled from it (answers,
    the datasets it holds live grants for, diseases, team, and the agreements accepted for it,
    which still bind the same people). Only the project's applicant; one at a time."""
    common.lock_reviews_of(access_request)
    project = common.lock_request(access_request)
    common.require_applicant(project, actor)
    refusal = amendment_refusal(project)
    if refusal:
        raise TransitionRefused(refusal)
    live = selectors.grants_live_of(project).select_related("dataset")
    datasets = sorted({g.dataset for g in live}, key=lambda d: d.accession)
    amendment = AccessRequest.objects.create(
        applicant=project.applicant,
        kind=RequestKind.AMENDMENT,
        parent=project,
        **{name: getattr(project, name) for name in REQUEST_FIELDS},
    )
    amendment.datasets.set(datasets)
    amendment.diseases.set(project.diseases.all())
    amendment.team_members.set(project.team_members.all())
    events.request_created(access_request=amendment, actor=actor)
    events.amendment_opened(amendment=amendment, actor=actor)
    common.acceptances_carry(source=project, target=amendment)
    project.last_activity_at = timezone.now()
    project.save(update_fields=["last_activity_at", "updated_at"])
    return amendment


def lock_project(amendment: AccessRequest) -> list[Grant]:
    """Before a decision on (or the submission of) an amendment writes anything: the project's
    reviews and row, the amendment's reviews and the project's live grants, locked in that
    order (the applicant's order: reviews, request, grants), before the first ledger event. The project's row serialises it with a member leaving or
    being taken off (`team._depart` locks it first), so that either the departure sees the
    grants the amendment made, or the amendment sees the team without them. Returns the grants."""
    common.lock_reviews_of(amendment.parent)
    # The locked row from here on: `_apply` writes it, and must not write a stale copy back.
    amendment.parent = common.lock_request(amendment.parent)
    list(
        Review.objects.select_for_update(of=("self",))
        .filter(request_id=amendment.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(
        Grant.objects.select_for_update(of=("self",))
        .filter(
            request_id=amendment.parent_id,
            revoked_at__isnull=True,
            valid_until__gt=timezone.now(),
        )
        .select_related("dataset__committee", "user", "decision__review__committee")
        .order_by("pk")
    )


def amendment_settle(*, amendment: AccessRequest, actor, grants: list[Grant]) -> bool:
    """After a committee's decision on an amendment (the caller holds `lock_project`'s locks):
    apply it once every review of it is approved. Returns whether it was applied."""
    if amendment.applied_at is not None or not grants:
        # Applied already; or the project ended meanwhile (`decision_record` refuses approvals
        # then), and an ended project is given nothing.
        return False
    statuses = list(Review.objects.filter(request_id=amendment.pk).values_list("status", flat=True))
    if not statuses or any(s != ReviewStatus.APPROVED for s in statuses):
        return False
    _apply(amendment=amendment, actor=actor, grants=grants)
    return True


def apply_unreviewed(*, amendment: AccessRequest, actor, grants: list[Grant]) -> None:
    """A submitted amendment no committee has to review (it only takes away): applied now."""
    _apply(amendment=amendment, actor=actor, grants=grants)


def _approvals(amendment: AccessRequest) -> dict[int, Decision]:
    """{dataset id: the approval it was approved by} over the amendment's approved reviews."""
    out: dict[int, Decision] = {}
    for decision in (
        Decision.objects.filter(
            review__request_id=amendment.pk,
            review__status=ReviewStatus.APPROVED,
            outcome=DecisionOutcome.APPROVE,
        )
        .prefetch_related("approved_datasets")
        .order_by("decided_at", "pk")
    ):
        for dataset in decision.approved_datasets.all():
            out[dataset.pk] = decision
    return out


def _apply(*, amendment: AccessRequest, actor, grants: list[Grant]) -> None:
    project = amendment.parent
    changes = amendment_changes(amendment)
    approvals = _approvals(amendment)
    reviewing = set(
        Review.objects.filter(request_id=amendment.pk).values_list("committee_id", flat=True)
    )
    people = amendment.people()
    on_team = {p.pk for p in people}
    proposed = set(amendment.datasets.values_list("pk", flat=True))
    # The amendment's answers become the project's first: a grant's validity reads the ethics
    # approval and the agreements accepted from the project's row.
    written = [n for n in (*changes.answers_changed, *changes.details_changed) if n != "diseases"]
    for name in written:
        setattr(project, name, getattr(amendment, name))
    project.last_activity_at = timezone.now()
    project.save(update_fields=[*written, "last_activity_at", "updated_at"])
    if "diseases" in changes.answers_changed:
        project.diseases.set(amendment.diseases.all())
    project.team_members.set(amendment.team_members.all())
    common.acceptances_carry(source=amendment, target=project)
    revoked, kept = [], set()
    for grant in grants:
        accession = grant.dataset.accession
        if grant.user_id not in on_team:
            reason = f"No longer on the team of {project.reference} after its amendment {amendment.reference}"
            notice = (
                f"The amendment {amendment.reference} of {project.reference} “{project.title}” "
                f"takes you off its team, so your access to {grant.dataset.title} has ended."
            )
        elif grant.dataset_id not in proposed:
            reason = f"{accession} removed from {project.reference} by its amendment {amendment.reference}"
            notice = (
                f"The amendment {amendment.reference} removes {grant.dataset.title} from "
                f"{project.reference} “{project.title}”, so your access to it has ended."
            )
        elif grant.dataset.committee_id in reviewing and grant.dataset_id not in approvals:
            reason = (
                f"{grant.dataset.committee.name} did not approve {accession} for "
                f"{project.reference} as amended by {amendment.reference}"
            )
            notice = f"{reason}, so your access to {grant.dataset.title} has ended."
        else:
            kept.add((grant.user_id, grant.dataset_id))
            continue
        grant_services.grant_revoke_locked(grant=grant, actor=actor, reason=reason, notice=notice)
        revoked.append(grant.pk)
    obligations = {m.dataset_id: m.obligations for m in amendment.matches.all()}
    # New grants go to the people the change adds, on every approved dataset, and to the whole
    # team on the datasets it adds; never to someone whose grant a committee revoked (they are
    # on the team still, without a live grant) or whom it has barred.
    newcomers = {u.pk for u in changes.members_added}
    added = {d.pk for d in changes.datasets_added}
    barred = {
        (bar.committee_id, bar.user_id)
        for bar in selectors.bars_in_force(
            committee_ids={d.committee_id for d in amendment.datasets.all()},
            users=[p.pk for p in people],
        )
    }
    created = []
    now = timezone.now()
    for dataset_id, decision in sorted(approvals.items()):
        dataset = next(d for d in decision.approved_datasets.all() if d.pk == dataset_id)
        for person in people:
            if (person.pk, dataset_id) in kept:
                continue
            if person.pk not in newcomers and dataset_id not in added:
                continue
            if (dataset.committee_id, person.pk) in barred:
                continue
            grant = Grant.objects.create(
                user=person,
                dataset=dataset,
                request=project,
                decision=decision,
                valid_from=now,
                valid_until=end_of_day(decision.end_date),
                conditions=decision.conditions,
                obligations=obligations.get(dataset_id, []),
            )
            events.grant_created(grant=grant, actor=actor)
            created.append(grant.pk)
    amendment.applied_at = now
    amendment.save(update_fields=["applied_at", "updated_at"])
    events.amendment_applied(
        amendment=amendment,
        actor=actor,
        datasets_added=[d.accession for d in changes.datasets_added],
        datasets_removed=[d.accession for d in changes.datasets_removed],
        members_added=changes.members_added,
        members_removed=changes.members_removed,
        answers_changed=changes.answers_changed + changes.details_changed,
        grants_created=created,
        grants_revoked=revoked,
    )
