"""Beat tasks: chain queued events (a fallback for the `audit_sequencer` process) and sign
checkpoints. Thin: each calls one function."""

from __future__ import annotations

from celery import shared_task

from . import bounded, checkpoints, ledger


@shared_task(name="audit.tasks.ledger_sequence", ignore_result=True)
def ledger_sequence() -> int:
    return ledger.flush()


@shared_task(name="audit.tasks.checkpoint_sign", ignore_result=True)
def checkpoint_sign() -> int | None:
    checkpoint = checkpoints.checkpoint_sign()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="audit.tasks.bounded_flush", ignore_result=True)
def bounded_flush() -> int:
    return bounded.bounded_flush()
