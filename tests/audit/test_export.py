"""audit_export writes JSON Lines that docs/verify_export.py checks with no help from Tessera."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from audit import ledger, signing
from audit.canonical import entry_hash
from audit.checkpoints import checkpoint_sign
from audit.choices import EventType
from audit.models import AuditEvent

VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "verify_export.py"


@pytest.fixture
def exported(db, tmp_path):
    for n in range(9):
        ledger.append(
            event_type=EventType.ADMIN_ACTION, payload={"n": n, "ratio": 1e-05, "text": "é\n"}
        )
    checkpoint_sign()
    ledger.append(event_type=EventType.ADMIN_ACTION, payload={"after": "checkpoint"})
    checkpoint_sign()
    path = tmp_path / "ledger.jsonl"
    call_command("audit_export", out=str(path))
    return path


def outside_verifier(path: Path, *args: str) -> subprocess.CompletedProcess:
    # A separate interpreter that imports nothing of Tessera: only the file and the key.
    return subprocess.run(  # noqa: S603
        [sys.executable, "-I", str(VERIFIER), str(path), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=path.parent,
    )


def rewrite(path: Path, change) -> None:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    change(lines)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def test_export_holds_every_event_every_checkpoint_and_the_key(exported):
    records = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    header, events = records[0], [r for r in records if r["type"] == "event"]
    assert header["public_keys"][0]["public_key"] == signing.public_key_raw_b64()
    # The export's own ledger event comes after the export, so it is not in the file.
    assert len(events) == AuditEvent.objects.count() - 1
    assert [r["tree_size"] for r in records if r["type"] == "checkpoint"] == [
        len(events) - 1,
        len(events),
    ]


def test_outside_verifier_accepts_an_untouched_export_with_the_trusted_key(exported):
    result = outside_verifier(exported, "--public-key", signing.public_key_raw_b64())
    assert result.returncode == 0, result.stderr
    assert "export OK" in result.stdout and "2 checkpoints" in result.stdout


def test_outside_verifier_accepts_the_pem_key_too(exported, tmp_path):
    result = outside_verifier(exported, "--public-key", signing.public_key_pem())
    assert result.returncode == 0, result.stderr


def test_outside_verifier_catches_a_changed_payload(exported):
    rewrite(exported, lambda lines: lines[3]["payload"].update(n=42))
    result = outside_verifier(exported, "--public-key", signing.public_key_raw_b64())
    assert result.returncode == 1
    assert f"event {2}: content does not match" in result.stderr


def test_outside_verifier_catches_a_removed_event(exported):
    rewrite(exported, lambda lines: lines.pop(4))
    result = outside_verifier(exported, "--public-key", signing.public_key_raw_b64())
    assert result.returncode == 1 and "event 3: missing" in result.stderr


def test_outside_verifier_catches_a_rewritten_chain_through_the_checkpoint(exported):
    def forge(lines):
        events = [line for line in lines if line["type"] == "event"]
        events[1]["actor_id"] = "forger"
        prev = events[0]["hash"]
        for event in events[1:]:
            event["prev_hash"] = prev
            event["hash"] = entry_hash(event)
            prev = event["hash"]

    rewrite(exported, forge)
    result = outside_verifier(exported, "--public-key", signing.public_key_raw_b64())
    assert result.returncode == 1 and "root does not match" in result.stderr


def test_outside_verifier_rejects_checkpoints_under_another_key(exported):
    other = Ed25519PrivateKey.generate().public_key()
    other_b64 = base64.b64encode(signing.public_key_raw(other)).decode()
    result = outside_verifier(exported, "--public-key", other_b64)
    assert result.returncode == 1 and "signature does not verify" in result.stderr


def test_exporting_is_itself_a_ledger_event(exported):
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.event_type == "audit.ledger_exported"
    assert event.payload["events"] == AuditEvent.objects.count() - 1
