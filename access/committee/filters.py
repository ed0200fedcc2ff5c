"""The list filters of the access admin: the committee's review queue (its committees, what waits
for this person, the consent-match verdict), the grants (their state now) and the notification
outbox (delivery). Each filter only narrows the queryset its ModelAdmin already allows."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from governance.matching import Outcome
from governance.models import DataAccessCommittee

from .. import selectors
from ..models import ConsentMatch
from .context import VERDICT_LABELS


# --- the review queue ---------------------------------------------------------------------------
class CommitteeFilter(admin.SimpleListFilter):
    title = "committee"
    parameter_name = "committee"

    def lookups(self, request, model_admin):
        committees = DataAccessCommittee.objects.order_by("name")
        if not request.user.is_superuser:
            committees = committees.filter(memberships__user=request.user)
        return [(str(c.pk), c.name) for c in committees]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(committee_id=int(value))


class NeedsMeFilter(admin.SimpleListFilter):
    """What waits for this person (`selectors.review_work_for`). The queue opens on "needs me"
    (a vote or a decision) for anyone on a committee; "All reviews" shows the whole queue."""

    title = "what waits for you"
    parameter_name = "needs"
    choices_by_value = {
        "me": ("Needs me (vote or decision)", "needs_me"),
        "vote": ("Needs your vote", "needs_vote"),
        "decision": ("Needs your decision", "needs_decision"),
        "applicant": ("Waiting for the applicant", "waiting_for_applicant"),
        "overdue": ("Overdue", "overdue"),
    }

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        if self.parameter_name not in self.used_parameters and _sits_on_a_panel(request):
            self.default = "me"
        else:
            self.default = None

    def value(self):
        return super().value() or self.default

    def has_output(self):
        return True

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in self.choices_by_value.items()]

    def choices(self, changelist):
        current = self.value()
        yield {
            "selected": current in (None, "all"),
            "query_string": changelist.get_query_string({self.parameter_name: "all"}),
            "display": "All reviews",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value in (None, "all"):
            return queryset
        if value not in self.choices_by_value:
            return queryset.none()
        work = selectors.review_work_for(request.user)
        reviews = getattr(work, self.choices_by_value[value][1])
        return queryset.filter(pk__in=[r.pk for r in reviews])


def _sits_on_a_panel(request) -> bool:
    user = request.user
    return user.committee_memberships.exists() or user.deputy_for.exists()


class VerdictFilter(admin.SimpleListFilter):
    title = "consent match (any dataset)"
    parameter_name = "verdict"

    def lookups(self, request, model_admin):
        return [
            (Outcome.APPROVE, "Fits"),
            (Outcome.REVIEW, "Needs review"),
            (Outcome.DENY, "Does not fit"),
            ("none", "Not evaluated yet"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # Only the verdicts on this review's own committee's datasets count.
        matches = ConsentMatch.objects.filter(
            request_id=OuterRef("request_id"), dataset__committee_id=OuterRef("committee_id")
        )
        if value == "none":
            return queryset.filter(~Exists(matches))
        if value not in VERDICT_LABELS:
            return queryset.none()
        return queryset.filter(Exists(matches.filter(decision=value)))


# --- filters over a few named states ----------------------------------------------------------
class _StateFilter(admin.SimpleListFilter):
    """A filter whose choices are named states: `labels` names them, `conditions(now)` says what
    each one means at the time of the request; any other value leaves the list as it is."""

    labels: dict[str, str]

    def conditions(self, now: datetime) -> dict[str, Q]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return list(self.labels.items())

    def queryset(self, request, queryset):
        condition = self.conditions(timezone.now()).get(self.value())
        return queryset if condition is None else queryset.filter(condition)


# --- grants -------------------------------------------------------------------------------------
class GrantStateFilter(_StateFilter):
    title = "state"
    parameter_name = "state"
    labels = {
        "current": "Within its dates, not revoked",
        "revoked": "Revoked",
        "ended": "Ended",
    }

    def conditions(self, now):
        return {
            "current": Q(revoked_at__isnull=True, valid_from__lte=now, valid_until__gt=now),
            "revoked": Q(revoked_at__isnull=False),
            "ended": Q(revoked_at__isnull=True, valid_until__lte=now),
        }


# --- the notification outbox --------------------------------------------------------------------
class DeliveryFilter(_StateFilter):
    title = "delivery"
    parameter_name = "delivery"
    labels = {
        "waiting": "Waiting (not sent yet)",
        "failing": "Failed at least once",
        "sent": "Sent",
    }

    def conditions(self, now):
        return {
            "waiting": Q(sent_at__isnull=True),
            "failing": Q(sent_at__isnull=True, attempts__gt=0),
            "sent": Q(sent_at__isnull=False),
        }
