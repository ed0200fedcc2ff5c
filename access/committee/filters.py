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


class WaitingForMeFilter(admin.SimpleListFilter):
    title = "waiting for me"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("me", "Open, and I may act on it")]

    def queryset(self, request, queryset):
        if self.value() != "me":
            return queryset
        return selectors.reviews_waiting_for(request.user, queryset)


class VerdictFilter(admin.SimpleListFilter):
    title = "consent-match verdict (any dataset)"
    parameter_name = "verdict"

    def lookups(self, request, model_admin):
        return [
            (Outcome.APPROVE, "Approve"),
            (Outcome.REVIEW, "Needs review"),
            (Outcome.DENY, "Deny"),
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
