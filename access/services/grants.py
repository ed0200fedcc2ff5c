"""Grants of access: created by an approval, revoked by the deciding committee or by a
withdrawal (with their tokens), and their expiry reminders and notices."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import events
from core.dates import DateWithinYears, end_of_day
from core.exceptions import Forbidden, Invalid
from governance.choices import CommitteeRole
from governance.models import Dataset

from .. import lifecycle
from ..lifecycle import TransitionRefused
from ..models import Bar, Decision, Grant, Notification
from ..selectors import bars_in_force, grant_last_day_or_date, renewal_grants
from ..signals import grant_revoked
from . import notifications as notification_services
from . import reviews as review_services

# The last reminder before a grant ends, in days; the first is `TESSERA_EXPIRY_REMINDER_DAYS`.
LAST_REMINDER_DAYS = 7


def reminder_days() -> tuple[int, ...]:
    """The days before its end at which a grant's holder is reminded (each once per grant)."""
    return tuple(sorted({settings.TESSERA_EXPIRY_REMINDER_DAYS, LAST_REMINDER_DAYS}, reverse=True))


def grants_create(*, decision: Decision, datasets: list[Dataset], actor) -> list[Grant]:
    access_request = decision.review.request
    matches = {m.dataset_id: m.obligations for m in access_request.matches.all()}
    now = timezone.now()
    # A grant ending on `end_date` is valid through that whole day (UTC).
    valid_until = end_of_day(decision.end_date)
    grants = []
    for person in access_request.people():
        for dataset in datasets:
            grant = Grant.objects.create(
                user=person,
                dataset=dataset,
                request=access_request,
                decision=decision,
                valid_from=now,
                valid_until=valid_until,
                conditions=decision.conditions,
                obligations=matches.get(dataset.pk, []),
            )
            events.grant_created(grant=grant, actor=actor)
            grants.append(grant)
    return grants


BOUND_WORDS = {
    lifecycle.BOUND_REQUESTED: "the months asked for",
    lifecycle.BOUND_DECISION: "the committee's end date",
    lifecycle.BOUND_ETHICS: "the ethics approval's expiry",
    lifecycle.BOUND_RETENTION: "the dataset's retention end",
}


def grants_lock_for_renewal(*, renewal, datasets: list[Dataset]) -> list[Grant]:
    """The parent's grants an approval of `renewal` would extend (`selectors.renewal_grants`),
    locked. Taken before the decision's first ledger event: an event holds the ledger's lock
    until commit, and a token issuer or a sweep holding one of these grants waits for it."""
    return list(
        renewal_grants(renewal)
        .filter(dataset_id__in=[d.pk for d in datasets])
        .select_for_update(of=("self",))
        .order_by("pk")
    )


def grants_extend(
    *, decision: Decision, datasets: list[Dataset], grants: list[Grant], actor
) -> list[Grant]:
    """An approved renewal: the parent request's `grants` (locked by `grants_lock_for_renewal`)
    that are still live are extended in place (the same rows, so tokens and visas derived from
    them keep working, and there is no gap), each to `lifecycle.renewal_last_day`. A grant that
    expired or was revoked since the renewal was asked for is not brought back: the decision's
    `renewal_note` names it. Returns the grants extended."""
    renewal = decision.review.request
    # The clock is read after the locks: a grant that expired while we waited for them is
    # judged expired, and `grants_expire` (which locks them too) never tells its holder of an
    # expiry that an extension committed before.
    now = timezone.now()
    retention = {d.pk: d.retention_until for d in datasets}
    parent = renewal.parent
    # An extension is new access: only for people still on the project (the applicant, or on
    # both the project's team and the renewal's), and not for anyone the committee has barred.
    on_team = {parent.applicant_id} | (
        set(parent.team_members.values_list("pk", flat=True))
        & set(renewal.team_members.values_list("pk", flat=True))
    )
    barred = set(
        bars_in_force(
            committee_ids=[decision.review.committee_id], users=[g.user_id for g in grants]
        ).values_list("user_id", flat=True)
    )
    extended, lines = [], []
    for grant in grants:
        who = f"{grant.user.get_username()} on {grant.dataset.accession}"
        if grant.revoked_at is not None:
            lines.append(f"{who}: not extended, the grant was revoked.")
            continue
        if grant.user_id not in on_team:
            lines.append(f"{who}: not extended, they are no longer on the project's team.")
            continue
        if grant.user_id in barred:
            lines.append(f"{who}: not extended, the committee has barred them.")
            continue
        if grant.valid_until <= now:
            lines.append(
                f"{who}: not extended, the grant expired before the decision; ask for access anew."
            )
            continue
        old_last = grant_last_day_or_date(grant)
        renewed = lifecycle.renewal_last_day(
            old_last_day=old_last,
            months=renewal.renewal_months or 0,
            decided_end=decision.end_date,
            ethics_expiry=renewal.ethics_expiry,
            retention_until=retention.get(grant.dataset_id),
        )
        if not renewed.extended:
            lines.append(
                f"{who}: not extended, its current end ({old_last.isoformat()}) is already as "
                "late as this renewal allows."
            )
            continue
        old_until = grant.valid_until
        grant.valid_until = end_of_day(renewed.last_day)
        grant.save(update_fields=["valid_until"])
        events.grant_extended(
            grant=grant, actor=actor, decision=decision, old_until=old_until, bound=renewed.bound
        )
        extended.append(grant)
        line = f"{who}: extended from {old_last.isoformat()} to {renewed.last_day.isoformat()}"
        if renewed.bound != lifecycle.BOUND_REQUESTED:
            line += f", bounded by {BOUND_WORDS[renewed.bound]}"
        lines.append(line + ".")
    if not grants:
        lines.append("No grant of these datasets was live when the renewal was asked for.")
    decision.renewal_note = "\n".join(lines)
    decision.save(update_fields=["renewal_note"])
    return extended


# The longest a committee may bar a person for, in years.
BAR_MAX_YEARS = 10


def bar_until_problem(until: date | None) -> str | None:
    """Why `until` cannot end a bar, or None (no bar, or a day from tomorrow to ten years on)."""
    if until is None:
        return None
    today = timezone.localdate()
    if until <= today:
        return "A bar ends on a day after today."
    if until > DateWithinYears(BAR_MAX_YEARS).latest(today):
        return f"A bar lasts at most {BAR_MAX_YEARS} years."
    return None


@transaction.atomic
def grant_revoke(*, grant: Grant, actor, reason: str, bar_until: date | None = None) -> Grant:
    """Revoke a grant (the deciding committee's chair or secretary). With `bar_until`, for
    misuse, the person is also barred from the committee's datasets to the end of that day."""
    if not (reason or "").strip():
        raise Invalid({"reason": "Say why the grant is revoked."})
    problem = bar_until_problem(bar_until)
    if problem:
        raise Invalid({"bar_until": problem})
    grant = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("decision__review__committee", "dataset", "user")
        .get(pk=grant.pk)
    )
    committee = grant.decision.review.committee
    role = review_services.require_eligible(grant.decision.review, actor)
    if not lifecycle.may_manage(policy=committee.decision_policy, role=role):
        raise Forbidden("Only the chair or the secretary of the deciding committee may revoke.")
    if bar_until is not None and role not in (CommitteeRole.CHAIR, CommitteeRole.SECRETARY):
        raise Forbidden("Only the chair or the secretary of the committee may bar a person.")
    if grant.revoked_at is not None:
        raise TransitionRefused("This grant is already revoked.")
    bar = None
    if bar_until is not None:
        bar = Bar.objects.create(
            committee=committee,
            user=grant.user,
            until=bar_until,
            reason=reason.strip(),
            grant=grant,
            created_by=actor,
        )
        events.person_barred(bar=bar, actor=actor)
    return grant_revoke_locked(
        grant=grant,
        actor=actor,
        reason=reason,
        notice=f"{committee.name} revoked your access to {grant.dataset.title}: {reason.strip()}",
        bar=bar,
    )


def grant_revoke_locked(
    *, grant: Grant, actor, reason: str, notice: str, bar: Bar | None = None
) -> Grant:
    """Revoke a live grant whose row the caller holds locked: the change, its ledger event, its
    tokens revoked into the feed, and the holder told (`notice`)."""
    grant.revoked_at = timezone.now()
    grant.revoked_by = actor
    grant.revoked_reason = reason.strip()
    grant.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    events.grant_revoked(grant=grant, actor=actor)
    _on_grant_revoked(grant)
    notification_services.notify_revoked(grant=grant, notice=notice, bar=bar)
    return grant


def _on_grant_revoked(grant: Grant) -> None:
    """Derived tokens are revoked with the grant: `tokens` receives `grant_revoked`, in this
    transaction (see access/signals.py)."""
    grant_revoked.send(sender=Grant, grant=grant)


@transaction.atomic
def grants_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Notify grant holders `TESSERA_EXPIRY_REMINDER_DAYS` (30) and 7 days before the end, and
    when a grant has expired. Trusted caller: the system (Celery beat), no actor."""
    now = now or timezone.now()
    counts = {"reminded": 0, "expired": 0}
    thresholds = reminder_days()
    horizon = now + timedelta(days=max(thresholds))
    # Locked before the first ledger event (see `grants_lock_for_renewal`): a renewal extending
    # one of these grants commits first, and the grant is then read with its new end (and no
    # longer expired), or waits for this sweep and finds it expired.
    grants = (
        Grant.objects.filter(
            revoked_at__isnull=True,
            valid_until__lte=horizon,
            valid_until__gt=now - timedelta(days=1),
        )
        .select_related("user", "dataset", "request")
        .select_for_update(of=("self",))
        .order_by("pk")  # the lock order of every grant writer: no deadlock with them
    )
    for grant in grants:
        if grant.valid_until <= now:
            if notification_services.notify_grant_expired(grant=grant):
                events.grant_expired(grant=grant)
                counts["expired"] += 1
            continue
        days_left = (grant.valid_until - now).days
        # The nearest threshold first: at 6 days left the 7-day reminder is due, not the 30-day one.
        for threshold in sorted(thresholds):
            if days_left < threshold:
                key = f"grant-expiring:{grant.pk}:{threshold}"
                if not Notification.objects.filter(dedupe_key=key).exists():
                    notification_services.notify_grant_expiring(
                        grant=grant, days_left=days_left + 1, key=key
                    )
                    counts["reminded"] += 1
                break
    return counts
