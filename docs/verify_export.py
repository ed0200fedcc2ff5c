#!/usr/bin/env python3
"""Verify a Tessera audit ledger export on your own, with nothing but Python and `cryptography`.

    python verify_export.py ledger.jsonl --public-key <base64 of the 32-byte Ed25519 key>

Checks, for the JSON Lines written by `manage.py audit_export`:
  1. every event's hash: SHA-256 over the canonical JSON of its eleven fields (keys sorted at
     every level, separators "," and ":", UTF-8, no ASCII escaping);
  2. the chain: seq runs 0, 1, 2, ... without gaps, and each prev_hash is the previous hash
     (64 zeros for seq 0);
  3. every checkpoint: its body is exactly "tessera-audit\\n<size>\\n<base64 root>\\n<time>\\n",
     its Ed25519 signature verifies with the trusted key, and its root is the RFC 9162 Merkle
     tree hash over leaves 0..size-1, where leaf i = SHA-256(0x00 || raw bytes of hash i).

Get the public key from somewhere other than the export (the service's
/api/v1/audit/key, a witness, a printed copy); without --public-key the key inside the
export is used and the result only proves the export is self-consistent.
Exit 0 and a one-line summary when everything checks; 1 and the first problem otherwise.
This file deliberately shares no code with the service.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

FIELDS = (
    "actor_id",
    "actor_kind",
    "client_addr",
    "event_type",
    "occurred_at",
    "payload",
    "prev_hash",
    "request_id",
    "seq",
    "target_id",
    "target_type",
)


def canonical(event: dict) -> bytes:
    fields = {name: event[name] for name in FIELDS}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Tree:
    """RFC 9162 Merkle tree hash, kept as a stack of perfect-subtree roots."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []

    def add(self, leaf: bytes) -> None:
        node, size = leaf, self.size
        while size & 1:
            node = hashlib.sha256(b"\x01" + self.stack.pop() + node).digest()
            size >>= 1
        self.stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        result = self.stack[-1]
        for node in reversed(self.stack[:-1]):
            result = hashlib.sha256(b"\x01" + node + result).digest()
        return result


def load_key(text: str) -> Ed25519PublicKey:
    if text.strip().startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def verify(lines, trusted_key: str | None) -> tuple[bool, str]:
    header = json.loads(next(lines))
    if header.get("type") != "header" or header.get("format") != "tessera-audit-export/1":
        return False, "line 1: not a tessera-audit-export/1 header"
    keys = {k["key_id"]: k["public_key"] for k in header.get("public_keys", [])}
    if trusted_key:
        key = load_key(trusted_key)
        source = "the trusted key given"
    else:
        if len(keys) != 1:
            return False, "header: give --public-key (the export names several keys)"
        key = load_key(next(iter(keys.values())))
        source = "the key inside the export (self-consistency only)"
    tree = Tree()
    prev = "0" * 64
    checkpoints = 0
    roots: dict[int, bytes] = {}
    for number, line in enumerate(lines, start=2):
        record = json.loads(line)
        kind = record.get("type")
        if kind == "event":
            seq = record["seq"]
            if seq != tree.size:
                return False, f"event {tree.size}: missing (next line has seq {seq})"
            if record["prev_hash"] != prev:
                return False, f"event {seq}: prev_hash does not match event {seq - 1}"
            if hashlib.sha256(canonical(record)).hexdigest() != record["hash"]:
                return False, f"event {seq}: content does not match its hash"
            tree.add(hashlib.sha256(b"\x00" + bytes.fromhex(record["hash"])).digest())
            prev = record["hash"]
            if tree.size in wanted:
                roots[tree.size] = tree.root()
        elif kind == "checkpoint":
            size = record["tree_size"]
            body = (
                f"tessera-audit\n{size}\n"
                f"{base64.b64encode(bytes.fromhex(record['root_hash'])).decode()}\n"
                f"{record['issued_at']}\n"
            )
            if record["body"] != body:
                return False, f"checkpoint {size}: body does not match its fields"
            try:
                key.verify(base64.b64decode(record["signature"]), body.encode())
            except (InvalidSignature, ValueError):
                return False, f"checkpoint {size}: signature does not verify with {source}"
            if size > tree.size:
                return False, f"checkpoint {size}: covers events the export does not hold"
            if roots.get(size) != bytes.fromhex(record["root_hash"]):
                return False, f"checkpoint {size}: root does not match events 0..{size - 1}"
            checkpoints += 1
        else:
            return False, f"line {number}: unknown record type {kind!r}"
    return True, (
        f"export OK: {tree.size} events, {checkpoints} checkpoints, chain head {prev[:16]}..., "
        f"signatures checked with {source}"
    )


wanted: set[int] = set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="the JSON Lines file from manage.py audit_export")
    parser.add_argument("--public-key", help="trusted Ed25519 key: base64 of 32 bytes, or PEM")
    args = parser.parse_args(argv)
    # First pass: which tree sizes the checkpoints need roots for (keeps memory flat).
    wanted.clear()
    with open(args.export, encoding="utf-8") as handle:
        for line in handle:
            if '"checkpoint"' in line:
                record = json.loads(line)
                if record.get("type") == "checkpoint":
                    wanted.add(record["tree_size"])
    with open(args.export, encoding="utf-8") as handle:
        try:
            ok, message = verify(iter(handle), args.public_key)
        except (ValueError, KeyError, StopIteration) as exc:
            ok, message = False, f"malformed export: {exc!r}"
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
