"""Signed checkpoints of the ledger and the Merkle proofs that tie events and checkpoints together.

A checkpoint signs (tree size, RFC 9162 root over events 0..size-1, time) with the audit
Ed25519 key (`audit.signing`). Before signing, the entries appended since the previous
checkpoint are re-hashed and their chain checked, so a checkpoint never certifies a broken
chain; the previous checkpoint's signature and stored compact range are checked too.

With AUDIT_CHECKPOINT_PUBLISH_PATH set, every signed checkpoint is also written there once its
transaction commits (`audit.published`), and signing first compares the ledger with the copy
already there: after a restore from an older backup, nothing is signed or published over the
loss until an operator has looked (docs/audit-ledger.md, "Restore from backup").
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import Conflict

from . import merkle, published, signing
from .canonical import GENESIS_HASH
from .ledger import flush
from .models import AuditEvent, Checkpoint
from .verification import (
    Problem,
    _rows,
    chain_rows,
    checkpoint_problem,
    leaf_for,
    trusted_public_keys,
)

# Separate from the ledger lock, so signing never holds up the sequencer.
CHECKPOINT_LOCK_KEY = 0x54534350  # "TSCP"


class LedgerBroken(Conflict):
    """The ledger failed verification; nothing is signed over it. A refusal because of the
    ledger's state (a 409, core/exceptions.py); the command and the task report it."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class PublishedCheckpointConflict(Conflict):
    """The checkpoint published outside the database is ahead of the ledger, differs from it,
    or cannot be trusted: nothing is signed or published until an operator has looked."""


def ledger_size() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return 0 if last is None else last + 1


def checkpoint_sign(*, force: bool = False) -> Checkpoint | None:
    """Sign a checkpoint over everything chained so far; None if nothing is new (unless
    `force`, which still never signs the same size twice). The latest checkpoint is published
    (AUDIT_CHECKPOINT_PUBLISH_PATH) after the commit, so a copy outside never runs ahead of
    what the database kept."""
    flush()
    _refuse_over_published_loss()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHECKPOINT_LOCK_KEY])
        last = Checkpoint.objects.order_by("-tree_size").first()
        size = ledger_size()
        nothing_new = (last is not None and size <= last.tree_size) or (
            last is None and size == 0 and not force
        )
        signed = None if nothing_new else _sign(last, size)
    # Also when nothing is new: a copy that failed to be written, or a path just configured,
    # catches up with the latest checkpoint.
    latest = signed or last
    if latest is not None:
        transaction.on_commit(partial(checkpoint_publish, latest))
    return signed


def _sign(last: Checkpoint | None, size: int) -> Checkpoint:
    compact, start, prev_hash = _resume_from(last)
    chain = chain_rows(
        _rows(start=start, stop=size, with_prev=False), start=start, prev_hash=prev_hash
    )
    problem = chain.problem
    if problem is None and chain.reached != size:
        problem = Problem(chain.reached, f"event {chain.reached} is missing")
    if problem is not None:
        raise LedgerBroken(problem)
    compact.extend(chain.leaves)
    root = compact.root()
    issued_at = timezone.now()
    body = signing.checkpoint_body(size, root, issued_at)
    return Checkpoint.objects.create(
        tree_size=size,
        root_hash=root.hex(),
        issued_at=issued_at,
        key_id=signing.key_id(),
        body=body.decode("ascii"),
        signature=base64.b64encode(signing.sign(body)).decode("ascii"),
        compact_nodes=[node.hex() for node in compact.nodes],
    )


def _resume_from(last: Checkpoint | None) -> tuple[merkle.CompactRange, int, str]:
    if last is None:
        return merkle.CompactRange(), 0, GENESIS_HASH
    problem = checkpoint_problem(last, trusted_public_keys())
    compact = merkle.CompactRange.from_state(
        last.tree_size, [bytes.fromhex(node) for node in last.compact_nodes]
    )
    if problem is None and compact.root().hex() != last.root_hash:
        problem = f"checkpoint {last.tree_size}: stored compact range does not give its root"
    if problem:
        raise LedgerBroken(Problem(last.tree_size, problem))
    prev = AuditEvent.objects.filter(seq=last.tree_size - 1).values_list("hash", flat=True)
    if not prev:
        raise LedgerBroken(Problem(last.tree_size - 1, f"event {last.tree_size - 1} is missing"))
    return compact, last.tree_size, prev[0]


# --- proofs -----------------------------------------------------------------------------------


def leaf_hashes(tree_size: int) -> list[bytes]:
    """Leaf hashes of events 0..tree_size-1 (from the `hash` column only)."""
    hashes = list(
        AuditEvent.objects.filter(seq__lt=tree_size).order_by("seq").values_list("hash", flat=True)
    )
    if len(hashes) != tree_size:
        raise LookupError(f"the ledger does not hold {tree_size} consecutive events")
    return [leaf_for(h) for h in hashes]


def inclusion_proof(*, seq: int, tree_size: int) -> dict:
    leaves = leaf_hashes(tree_size)
    proof = merkle.inclusion_proof(leaves, seq, tree_size)
    return {
        "seq": seq,
        "tree_size": tree_size,
        "leaf_hash": leaves[seq].hex(),
        "root_hash": merkle.root(leaves).hex(),
        "proof": [node.hex() for node in proof],
    }


def consistency_proof(*, first: int, second: int) -> dict:
    leaves = leaf_hashes(second)
    proof = merkle.consistency_proof(leaves, first, second)
    return {
        "first": first,
        "second": second,
        "first_root_hash": merkle.root(leaves[:first]).hex(),
        "second_root_hash": merkle.root(leaves).hex(),
        "proof": [node.hex() for node in proof],
    }


# --- checkpoints published outside the database -----------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """How the ledger stands against a checkpoint published outside the database."""

    published: published.PublishedCheckpoint
    ledger_size: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem:
            return self.problem
        return (
            f"published {self.published.describe()} OK: the ledger holds it and has grown "
            f"consistently to {self.ledger_size} events"
        )


def published_compare(copy: published.PublishedCheckpoint) -> Comparison:
    """Compare the ledger with a published checkpoint (its signature already checked): events
    missing at the end (a restore from an older backup), a different root at its size, or an
    RFC 9162 consistency proof from it to the ledger's head that verifies.

    Reads every event's hash once (32 bytes each), like the consistency proof endpoint."""
    size = ledger_size()
    first = copy.tree_size
    if size < first:
        return Comparison(
            copy,
            size,
            f"rolled back: events {size}..{first - 1} are missing (the published "
            f"{copy.describe()} covers {first} events, the database holds {size})",
        )
    diverged = Comparison(
        copy,
        size,
        f"diverged: the ledger at size {first} does not match the published checkpoint "
        f"({copy.describe()})",
    )
    if first == 0:
        return Comparison(copy, size, None) if copy.root == merkle.EMPTY_ROOT else diverged
    try:
        proof = consistency_proof(first=first, second=size)
    except LookupError:  # an event below `size` is missing: the tree cannot be built at all
        return diverged
    first_root = bytes.fromhex(proof["first_root_hash"])
    consistent = first_root == copy.root and merkle.verify_consistency(
        first,
        size,
        copy.root,
        bytes.fromhex(proof["second_root_hash"]),
        [bytes.fromhex(node) for node in proof["proof"]],
    )
    return Comparison(copy, size, None) if consistent else diverged


def published_latest() -> published.PublishedCheckpoint | None:
    """The copy at AUDIT_CHECKPOINT_PUBLISH_PATH, checked; None if unset or nothing there yet."""
    target = settings.AUDIT_CHECKPOINT_PUBLISH_PATH
    if not target or not Path(target).exists():
        return None
    return published.load(str(target), trusted_public_keys())


def _refuse_over_published_loss() -> None:
    try:
        copy = published_latest()
    except published.PublishedCheckpointUnusable as exc:
        raise PublishedCheckpointConflict(f"published checkpoint unusable: {exc}") from None
    if copy is None:
        return
    # The usual case, without reading the ledger: the database still holds the very checkpoint
    # that was published (each new one extends the last, see `_resume_from`).
    if Checkpoint.objects.filter(tree_size=copy.tree_size, root_hash=copy.root.hex()).exists():
        return
    comparison = published_compare(copy)
    if not comparison.ok:
        raise PublishedCheckpointConflict(comparison.summary())


def checkpoint_publish(checkpoint: Checkpoint) -> Path | None:
    """Write `checkpoint` to AUDIT_CHECKPOINT_PUBLISH_PATH (and a copy of it into
    AUDIT_CHECKPOINT_PUBLISH_HISTORY_DIR), unless what is there is as large already: the
    published copy never moves backwards. The path written, or None."""
    target = settings.AUDIT_CHECKPOINT_PUBLISH_PATH
    if not target:
        return None
    path = Path(target)
    data = published.document(
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        issued_at=checkpoint.issued_at,
        key_id=checkpoint.key_id,
        body=checkpoint.body,
        signature=checkpoint.signature,
    )
    with published.locked(path):
        current = published.published_size(path)
        if current is not None and current >= checkpoint.tree_size:
            return None
        history = settings.AUDIT_CHECKPOINT_PUBLISH_HISTORY_DIR
        if history:
            name = f"checkpoint-{checkpoint.tree_size:020d}.json"
            published.write_atomically(Path(history) / name, data)
        published.write_atomically(path, data)
    return path
