"""Signed checkpoints of the ledger and the Merkle proofs that tie events and checkpoints together.

A checkpoint signs (tree size, RFC 9162 root over events 0..size-1, time) with the audit
Ed25519 key (`audit.signing`). Before signing, the entries appended since the previous
checkpoint are re-hashed and their chain checked, so a checkpoint never certifies a broken
chain; the previous checkpoint's signature and stored compact range are checked too.
"""

from __future__ import annotations

import base64

from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import Conflict

from . import merkle, signing
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


def ledger_size() -> int:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    return 0 if last is None else last + 1


def checkpoint_sign(*, force: bool = False) -> Checkpoint | None:
    """Sign a checkpoint over everything chained so far; None if nothing is new (unless
    `force`, which still never signs the same size twice)."""
    flush()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHECKPOINT_LOCK_KEY])
        last = Checkpoint.objects.order_by("-tree_size").first()
        size = ledger_size()
        if last is not None and size <= last.tree_size:
            return None
        if last is None and size == 0 and not force:
            return None
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
