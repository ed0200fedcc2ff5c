"""The ledger as JSON Lines that an outside verifier checks alone (docs/verify_export.py).

    {"type": "header", "format": "tessera-audit-export/1", "exported_at", "tree_size",
     "public_keys": [{"key_id", "algorithm": "Ed25519", "public_key": base64 raw}], ...}
    {"type": "event", <the eleven hashed fields, occurred_at as hashed>, "hash"}   x tree_size
    {"type": "checkpoint", "tree_size", "root_hash", "issued_at", "key_id", "body", "signature"}

Events come in seq order, then every checkpoint that the exported events cover.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

import orjson
from django.db import transaction
from django.utils import timezone

from . import signing
from .canonical import HASHED_FIELDS, format_time, time_reader
from .ledger import flush
from .models import Checkpoint
from .verification import _rows

FORMAT = "tessera-audit-export/1"


@dataclass
class ExportSummary:
    events: int
    checkpoints: int
    sha256: str


def _line(obj: dict) -> bytes:
    # Payloads go out as the stored canonical text (a Fragment), so orjson never has to
    # represent a value it cannot (integers beyond 64 bits).
    return orjson.dumps(obj) + b"\n"


def export_ledger(out: IO[bytes]) -> ExportSummary:
    flush()
    digest = hashlib.sha256()

    def write(obj: dict) -> None:
        data = _line(obj)
        digest.update(data)
        out.write(data)

    with transaction.atomic():
        checkpoints = list(Checkpoint.objects.order_by("tree_size"))
        write(
            {
                "type": "header",
                "format": FORMAT,
                "exported_at": format_time(timezone.now()),
                "public_keys": [
                    {
                        "key_id": signing.key_id(),
                        "algorithm": "Ed25519",
                        "public_key": signing.public_key_raw_b64(),
                    }
                ],
                "hashed_fields": list(HASHED_FIELDS),
                "leaf": "SHA-256(0x00 || 32 raw bytes of the event hash)",
            }
        )
        count = 0
        to_time = time_reader()
        for batch in _rows(start=0):
            for row in batch:
                (seq, when, etype, actor_id, actor_kind, ttype, tid, payload, rid, addr, ph, h) = (
                    row
                )
                write(
                    {
                        "type": "event",
                        "seq": seq,
                        "occurred_at": to_time(when),
                        "event_type": etype,
                        "actor_id": actor_id,
                        "actor_kind": actor_kind,
                        "target_type": ttype,
                        "target_id": tid,
                        "payload": orjson.Fragment(payload),
                        "request_id": rid,
                        "client_addr": addr,
                        "prev_hash": ph,
                        "hash": h,
                    }
                )
                count += 1
        covered = [c for c in checkpoints if c.tree_size <= count]
        for checkpoint in covered:
            write(
                {
                    "type": "checkpoint",
                    "tree_size": checkpoint.tree_size,
                    "root_hash": checkpoint.root_hash,
                    "issued_at": format_time(checkpoint.issued_at),
                    "key_id": checkpoint.key_id,
                    "body": checkpoint.body,
                    "signature": checkpoint.signature,
                }
            )
    return ExportSummary(events=count, checkpoints=len(covered), sha256=digest.hexdigest())
