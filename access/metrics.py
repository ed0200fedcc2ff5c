"""Requests, reviews, decisions and the outbox: figures for `/metrics` and `/readyz`
(registered in `AccessConfig.ready()`).

Six queries per scrape, whatever the number of requests: five aggregates grouped by committee
and status or outcome, and the open reviews that can be overdue (a committee's open workload,
not its history), to which the one overdue rule (`lifecycle.review_overdue`) is applied.
Labels: committee slugs, statuses, outcomes.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from . import lifecycle
from .models import AccessRequest, Decision, Notification, Review

DAY = 24 * 3600
# Upper bounds (days) of the time-to-decision histogram's buckets.
DECISION_BUCKET_DAYS = (1, 3, 7, 14, 21, 30, 45, 60, 90, 180)


def outbox_state(now=None) -> dict:
    """The outbox's unsent mail: `backlog` (all of it, less the rows held for a digest that was
    never tried), `due` (its next attempt has come), `failing` (tried and failed at least once)
    and `oldest_due` (when the oldest due row was written, or None)."""
    now = now or timezone.now()
    due = Q(next_attempt_at__lte=now)
    return (
        Notification.objects.filter(sent_at__isnull=True)
        .exclude(digest=True, attempts=0)
        .aggregate(
            backlog=Count("pk"),
            due=Count("pk", filter=due),
            failing=Count("pk", filter=Q(attempts__gt=0)),
            oldest_due=Min("created_at", filter=due),
        )
    )


def _time_to_decision():
    bucket_counts = {
        f"le_{days}": Count(
            "pk", filter=Q(decided_at__lte=F("request__submitted_at") + timedelta(days=days))
        )
        for days in DECISION_BUCKET_DAYS
    }
    taken = ExpressionWrapper(
        F("decided_at") - F("request__submitted_at"), output_field=DurationField()
    )
    return (
        Review.objects.filter(decided_at__isnull=False, request__submitted_at__isnull=False)
        .values("committee__slug")
        .order_by("committee__slug")
        .annotate(count=Count("pk"), total=Sum(taken), **bucket_counts)
    )


class AccessCollector:
    """The figures of requests, reviews, decisions and the outbox, read at scrape time."""

    def collect(self):
        now = timezone.now()
        requests = GaugeMetricFamily(
            "tessera_requests",
            "Access requests by the applicant's status (draft, submitted, withdrawn, closed).",
            labels=["status"],
        )
        for row in AccessRequest.objects.values("status").order_by().annotate(n=Count("pk")):
            requests.add_metric([row["status"]], row["n"])
        yield requests

        by_committee = GaugeMetricFamily(
            "tessera_committee_requests",
            "Requests at each committee, by that committee's review status.",
            labels=["committee", "status"],
        )
        rows = Review.objects.values("committee__slug", "status").order_by().annotate(n=Count("pk"))
        for row in rows:
            by_committee.add_metric([row["committee__slug"], row["status"]], row["n"])
        yield by_committee

        overdue: dict[str, int] = {}
        open_reviews = Review.objects.filter(status__in=lifecycle.DECIDABLE_STATES).values_list(
            "committee__slug", "status", "request__submitted_at", "committee__service_level_days"
        )
        for slug, status, submitted_at, days in open_reviews:
            overdue.setdefault(slug, 0)
            if lifecycle.review_overdue(status, lifecycle.review_due(submitted_at, days), now):
                overdue[slug] += 1
        overdue_family = GaugeMetricFamily(
            "tessera_reviews_overdue",
            "Reviews waiting for their committee past its service level.",
            labels=["committee"],
        )
        for slug, n in sorted(overdue.items()):
            overdue_family.add_metric([slug], n)
        yield overdue_family

        decisions = CounterMetricFamily(
            "tessera_decisions",
            "Decisions recorded, by committee and outcome (approve, reject, return).",
            labels=["committee", "outcome"],
        )
        rows = (
            Decision.objects.values("review__committee__slug", "outcome")
            .order_by()
            .annotate(n=Count("pk"))
        )
        for row in rows:
            decisions.add_metric([row["review__committee__slug"], row["outcome"]], row["n"])
        yield decisions

        histogram = HistogramMetricFamily(
            "tessera_time_to_decision_seconds",
            "Time from a request's submission to its committee's final decision (approve or "
            "reject).",
            labels=["committee"],
        )
        for row in _time_to_decision():
            buckets = [(str(float(days * DAY)), row[f"le_{days}"]) for days in DECISION_BUCKET_DAYS]
            buckets.append(("+Inf", row["count"]))
            total = row["total"].total_seconds() if row["total"] is not None else 0.0
            histogram.add_metric([row["committee__slug"]], buckets, total)
        yield histogram

        outbox = outbox_state(now)
        yield GaugeMetricFamily(
            "tessera_outbox_backlog",
            "E-mails in the outbox not sent yet (less those held for a digest).",
            value=outbox["backlog"],
        )
        yield GaugeMetricFamily(
            "tessera_outbox_due",
            "E-mails in the outbox whose next attempt has come.",
            value=outbox["due"],
        )
        yield GaugeMetricFamily(
            "tessera_outbox_failing",
            "E-mails in the outbox not sent after at least one failed attempt.",
            value=outbox["failing"],
        )
        oldest = outbox["oldest_due"]
        yield GaugeMetricFamily(
            "tessera_outbox_oldest_due_seconds",
            "Age of the oldest e-mail due in the outbox (0 when none is due).",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )


def outbox_problem() -> str | None:
    """Readiness: no more than TESSERA_READY_OUTBOX_BACKLOG e-mails are due and unsent."""
    due = outbox_state()["due"]
    limit = settings.TESSERA_READY_OUTBOX_BACKLOG
    if due > limit:
        return f"{due} e-mails are due in the outbox (limit {limit}): are the workers running?"
    return None
