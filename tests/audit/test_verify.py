"""audit_verify catches every rewrite an attacker with raw SQL could make, and names where."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit import ledger, signing, verification
from audit.canonical import entry_hash
from audit.checkpoints import LedgerBroken, checkpoint_sign
from audit.choices import EventType
from audit.models import AuditEvent, Checkpoint
from audit.verification import verify_ledger

from .attacker import raw, triggers_lifted


@pytest.fixture
def ledger_of_ten(db):
    """Ten more events, a checkpoint over all of them, then two events no checkpoint covers."""
    for n in range(10):
        ledger.append(event_type=EventType.ADMIN_ACTION, actor=None, payload={"n": n})
    checkpoint = checkpoint_sign()
    for n in range(2):
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"after": n})
    return checkpoint


def broken_at() -> tuple[int, str]:
    report = verify_ledger()
    assert not report.ok, "verification should have failed"
    return report.problem.position, report.problem.what


def test_an_untouched_ledger_verifies(ledger_of_ten):
    report = verify_ledger()
    assert report.ok, report.summary()
    assert report.events == AuditEvent.objects.count()
    assert report.checkpoints == 1


def test_changed_payload_is_caught_at_its_position(ledger_of_ten):
    raw("UPDATE audit_auditevent SET payload = %s WHERE seq = 3", ['{"n": 99}'])
    position, what = broken_at()
    assert position == 3 and "content does not match its hash" in what


def test_changed_actor_is_caught(ledger_of_ten):
    raw("UPDATE audit_auditevent SET actor_id = 'someone-else' WHERE seq = 5")
    position, what = broken_at()
    assert position == 5 and "content does not match" in what


def test_changed_time_is_caught(ledger_of_ten):
    event = AuditEvent.objects.get(seq=6)
    raw(
        "UPDATE audit_auditevent SET occurred_at = %s WHERE seq = 6",
        [event.occurred_at - timedelta(days=1)],
    )
    assert broken_at()[0] == 6


def test_deleted_middle_event_is_caught(ledger_of_ten):
    raw("DELETE FROM audit_auditevent WHERE seq = 4")
    position, what = broken_at()
    assert position == 4 and "event 4 is missing" in what


def test_deleted_newest_event_covered_by_a_checkpoint_is_caught(ledger_of_ten):
    size = ledger_of_ten.tree_size
    raw("DELETE FROM audit_auditevent WHERE seq >= %s", [size - 1])
    position, what = broken_at()
    assert position == size - 1
    assert f"checkpoint {size} covers events up to {size - 1}" in what


def test_deleting_uncovered_newest_events_is_only_caught_by_a_later_checkpoint_witness(
    ledger_of_ten,
):
    # The honest limit of a hash chain: the tail after the last checkpoint can be cut
    # undetected. Witnesses holding a later checkpoint close that window.
    last = AuditEvent.objects.order_by("-seq").first()
    raw("DELETE FROM audit_auditevent WHERE seq = %s", [last.seq])
    assert verify_ledger().ok


def test_reordered_events_are_caught(ledger_of_ten):
    raw("UPDATE audit_auditevent SET seq = -1 WHERE seq = 2")
    raw("UPDATE audit_auditevent SET seq = 2 WHERE seq = 7")
    raw("UPDATE audit_auditevent SET seq = 7 WHERE seq = -1")
    position, what = broken_at()
    assert position == 2 and "prev_hash" in what


def test_forged_event_appended_with_a_made_up_hash_is_caught(ledger_of_ten):
    last = AuditEvent.objects.order_by("-seq").first()
    AuditEvent.objects.create(
        seq=last.seq + 1,
        occurred_at=timezone.now(),
        event_type=EventType.ADMIN_ACTION,
        actor_id="forger",
        actor_kind="user",
        payload={},
        prev_hash=last.hash,
        hash="f" * 64,
    )
    assert broken_at()[0] == last.seq + 1


def test_forged_event_inserted_with_the_chain_recomputed_is_caught_by_the_checkpoint(
    ledger_of_ten,
):
    # The attacker inserts an event at position 5 and rewrites every hash after it, so the
    # chain alone looks perfect; only the signed Merkle root can tell.
    rows = list(AuditEvent.objects.filter(seq__gte=5).order_by("seq").values())
    raw("DELETE FROM audit_auditevent WHERE seq >= 5")
    prev = AuditEvent.objects.get(seq=4).hash
    forged = {**rows[0], "actor_id": "forger", "payload": {"forged": True}, "pending_id": None}
    for seq, row in enumerate([forged, *rows], start=5):
        row = {**row, "seq": seq, "prev_hash": prev, "pending_id": None}
        row["hash"] = entry_hash(row)
        with triggers_lifted():
            AuditEvent.objects.create(**row)
        prev = row["hash"]
    size = ledger_of_ten.tree_size
    position, what = broken_at()
    assert position == size
    assert f"checkpoint {size}: signed root does not match" in what


@pytest.mark.parametrize(
    ("size", "under_our_key_id", "message"),
    [(5, False, "unknown key"), (3, True, "signature does not verify")],
    ids=["signed-by-another-key", "forged-signature-under-our-key-id"],
)
def test_checkpoint_signed_by_a_key_not_ours_is_caught(
    ledger_of_ten, size, under_our_key_id, message
):
    other = Ed25519PrivateKey.generate()
    body = ledger_of_ten.body.replace(str(ledger_of_ten.tree_size), str(size), 1)
    Checkpoint.objects.create(
        tree_size=size,
        root_hash=signing.parse_checkpoint_body(body.encode())[1].hex(),
        issued_at=ledger_of_ten.issued_at,
        key_id=ledger_of_ten.key_id if under_our_key_id else signing.key_id(other.public_key()),
        body=body,
        signature=base64.b64encode(other.sign(body.encode())).decode(),
    )
    position, what = broken_at()
    assert position == size and message in what


def test_checkpoint_whose_stored_root_differs_from_its_signed_body_is_caught(ledger_of_ten):
    raw(
        "UPDATE audit_checkpoint SET root_hash = %s WHERE id = %s",
        ["0" * 64, ledger_of_ten.pk],
    )
    position, what = broken_at()
    assert position == ledger_of_ten.tree_size and "differ from the signed body" in what


def test_command_prints_a_one_line_summary_and_exits_zero(ledger_of_ten, capsys):
    call_command("audit_verify")
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0
    count = AuditEvent.objects.count()
    assert f"OK: {count} events, 1 checkpoints verified in" in out


def test_command_exits_non_zero_naming_the_first_broken_position(ledger_of_ten, capsys):
    raw("UPDATE audit_auditevent SET payload = '{}' WHERE seq = 8")
    raw("UPDATE audit_auditevent SET payload = '{}' WHERE seq = 9")
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify")
    assert exit_info.value.code == 1
    assert "BROKEN at position 8" in capsys.readouterr().err


def test_checkpoint_refuses_to_sign_a_broken_chain(ledger_of_ten):
    last = AuditEvent.objects.order_by("-seq").first()
    raw("UPDATE audit_auditevent SET target_id = 'x' WHERE seq = %s", [last.seq])
    with pytest.raises(LedgerBroken, match=f"position {last.seq}"):
        checkpoint_sign()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="parallel verification runs on PostgreSQL only",
)
@pytest.mark.parametrize("tampered", [None, 3, 17])
def test_parallel_verification_agrees_with_the_sequential_one(
    transactional_db, monkeypatch, tampered
):
    for n in range(25):
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"n": n})
    checkpoint_sign()
    if tampered is not None:
        raw("UPDATE audit_auditevent SET payload = '{}' WHERE seq = %s", [tampered])
    monkeypatch.setattr(verification, "PARALLEL_MIN", 10)
    sequential = verify_ledger(workers=1)
    parallel = verify_ledger(workers=3)
    assert (parallel.events, parallel.ok) == (sequential.events, sequential.ok)
    if tampered is None:
        assert parallel.ok and parallel.events == AuditEvent.objects.count()
    else:
        assert parallel.problem.position == sequential.problem.position == tampered
