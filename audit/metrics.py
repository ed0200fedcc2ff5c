"""The ledger's figures for `/metrics` and `/readyz` (registered in `AuditConfig.ready()`).

- The sequencer's backlog and lag: events committed and waiting in `PendingEvent` to be
  chained, and the age of the oldest (AUDIT_SEQUENCING=batched; always 0 when inline). A
  growing lag means no `audit_sequencer` (nor its beat fallback) is running.
- Checkpoints: the age of the newest, and the chained events no checkpoint covers yet with the
  age of the oldest of them. A quiet ledger needs no new checkpoint (`checkpoint_sign` signs
  only over something new), so alert on the uncovered events' age, not on the checkpoint's.

Four queries per scrape, each an aggregate or a primary-key lookup.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .models import AuditEvent, Checkpoint, PendingEvent


def sequencer_backlog(now=None) -> tuple[int, float]:
    """(events waiting for the sequencer, the oldest one's age in seconds; 0 when none)."""
    now = now or timezone.now()
    row = PendingEvent.objects.aggregate(waiting=Count("pk"), oldest=Min("occurred_at"))
    lag = (now - row["oldest"]).total_seconds() if row["oldest"] is not None else 0.0
    return row["waiting"], max(lag, 0.0)


class LedgerCollector:
    """The ledger's figures (see the module), read at scrape time."""

    def collect(self):
        now = timezone.now()
        waiting, lag = sequencer_backlog(now)
        yield GaugeMetricFamily(
            "tessera_ledger_backlog_events",
            "Ledger events committed and waiting for the sequencer to chain them.",
            value=waiting,
        )
        yield GaugeMetricFamily(
            "tessera_ledger_lag_seconds",
            "Age of the oldest ledger event waiting for the sequencer (0 when none waits).",
            value=lag,
        )
        last_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
        size = 0 if last_seq is None else last_seq + 1
        yield CounterMetricFamily(
            "tessera_ledger_events", "Events chained into the ledger.", value=size
        )
        checkpoint = (
            Checkpoint.objects.order_by("-tree_size").values("tree_size", "issued_at").first()
        )
        covered = checkpoint["tree_size"] if checkpoint else 0
        if checkpoint is not None:
            yield GaugeMetricFamily(
                "tessera_checkpoint_age_seconds",
                "Seconds since the newest ledger checkpoint was signed.",
                value=max((now - checkpoint["issued_at"]).total_seconds(), 0.0),
            )
        first_uncovered = (
            AuditEvent.objects.filter(seq=covered).values_list("occurred_at", flat=True).first()
        )
        yield GaugeMetricFamily(
            "tessera_checkpoint_uncovered_events",
            "Chained ledger events that no signed checkpoint covers yet.",
            value=size - covered,
        )
        yield GaugeMetricFamily(
            "tessera_checkpoint_lag_seconds",
            "Age of the oldest chained ledger event no checkpoint covers (0 when all are).",
            value=max((now - first_uncovered).total_seconds(), 0.0) if first_uncovered else 0.0,
        )


def ledger_problem() -> str | None:
    """Readiness: the oldest event waiting for the sequencer is younger than
    TESSERA_READY_LEDGER_LAG_SECONDS."""
    waiting, lag = sequencer_backlog()
    limit = settings.TESSERA_READY_LEDGER_LAG_SECONDS
    if waiting and lag > limit:
        return (
            f"{waiting} events wait for the sequencer, the oldest for {lag:.0f} s "
            f"(limit {limit} s): is audit_sequencer running?"
        )
    return None
