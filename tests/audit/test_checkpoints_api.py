"""Signed checkpoints, the public key, inclusion and consistency proofs over REST."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.management import call_command

from audit import ledger, merkle, signing
from audit.checkpoints import checkpoint_sign
from audit.choices import EventType
from audit.models import AuditEvent, Checkpoint

API = "/api/v1/audit"


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1 written out recursively, independent of audit.merkle."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def ledger_leaves(size: int) -> list[bytes]:
    hashes = AuditEvent.objects.filter(seq__lt=size).values_list("hash", flat=True)
    return [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hashes]


def grow(n: int) -> None:
    for i in range(n):
        ledger.append(event_type=EventType.ADMIN_ACTION, payload={"i": i})


@pytest.fixture
def two_checkpoints(db):
    grow(6)
    first = checkpoint_sign()
    grow(7)
    second = checkpoint_sign()
    return first, second


def test_checkpoint_signs_the_rfc9162_root_of_the_whole_ledger(two_checkpoints):
    first, second = two_checkpoints
    for checkpoint in (first, second):
        assert checkpoint.tree_size > 0
        assert checkpoint.root_hash == mth(ledger_leaves(checkpoint.tree_size)).hex()
        body = checkpoint.body.encode()
        assert signing.parse_checkpoint_body(body)[0] == checkpoint.tree_size
        key = signing.signing_key().public_key
        assert signing.verify(body, base64.b64decode(checkpoint.signature), key)
    assert second.tree_size == first.tree_size + 7


def test_nothing_new_means_no_new_checkpoint(two_checkpoints):
    assert checkpoint_sign() is None
    assert Checkpoint.objects.count() == 2


def test_batched_events_are_flushed_before_a_checkpoint(two_checkpoints, settings):
    settings.AUDIT_SEQUENCING = ledger.BATCHED
    grow(3)
    checkpoint = checkpoint_sign()
    assert checkpoint.tree_size == two_checkpoints[1].tree_size + 3


def test_management_command_signs_a_checkpoint(db, capsys):
    grow(2)
    call_command("audit_checkpoint")
    latest = Checkpoint.objects.latest()
    assert f"checkpoint {latest.tree_size} root {latest.root_hash}" in capsys.readouterr().out


def test_beat_schedule_signs_checkpoints_and_runs_the_sequencer(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"audit.tasks.checkpoint_sign", "audit.tasks.ledger_sequence"} <= tasks


def test_latest_checkpoint_and_public_key_are_public_and_verify(client, two_checkpoints):
    checkpoint = client.get(f"{API}/checkpoints/latest").json()
    key = client.get(f"{API}/key").json()
    assert checkpoint["tree_size"] == two_checkpoints[1].tree_size
    assert key["key_id"] == checkpoint["key_id"]
    assert signing.verify(
        checkpoint["body"].encode(), base64.b64decode(checkpoint["signature"]), key["public_key"]
    )
    assert signing.verify(
        checkpoint["body"].encode(), base64.b64decode(checkpoint["signature"]), key["pem"]
    )


def test_no_checkpoint_yet_is_a_404(client, db):
    assert client.get(f"{API}/checkpoints/latest").status_code == 404


def test_checkpoint_by_size(client, two_checkpoints):
    first = two_checkpoints[0]
    assert client.get(f"{API}/checkpoints/{first.tree_size}").json()["root_hash"] == first.root_hash
    assert client.get(f"{API}/checkpoints/{first.tree_size + 1}").status_code == 404
    assert client.get(f"{API}/checkpoints/99999999999999999999999").status_code == 404


def test_inclusion_proof_of_every_event_verifies_against_the_signed_root(
    client, auditor, two_checkpoints
):
    client.force_login(auditor)
    checkpoint = two_checkpoints[1]
    root = bytes.fromhex(checkpoint.root_hash)
    for seq in range(checkpoint.tree_size):
        body = client.get(f"{API}/events/{seq}/proof").json()
        assert body["tree_size"] == checkpoint.tree_size
        assert body["checkpoint"]["signature"] == checkpoint.signature
        leaf = hashlib.sha256(
            b"\x00" + bytes.fromhex(AuditEvent.objects.get(seq=seq).hash)
        ).digest()
        assert body["leaf_hash"] == leaf.hex()
        proof = [bytes.fromhex(p) for p in body["proof"]]
        assert merkle.verify_inclusion(leaf, seq, checkpoint.tree_size, proof, root)
        if proof:
            flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not merkle.verify_inclusion(leaf, seq, checkpoint.tree_size, flipped, root)


def test_inclusion_proof_in_an_older_tree_size(client, auditor, two_checkpoints):
    client.force_login(auditor)
    first = two_checkpoints[0]
    body = client.get(f"{API}/events/2/proof?tree_size={first.tree_size}").json()
    leaf = bytes.fromhex(body["leaf_hash"])
    proof = [bytes.fromhex(p) for p in body["proof"]]
    assert merkle.verify_inclusion(leaf, 2, first.tree_size, proof, bytes.fromhex(first.root_hash))


@pytest.mark.parametrize(
    "query", ["tree_size=0", "tree_size=abc", "tree_size=2", "tree_size=10000"]
)
def test_bad_inclusion_queries_get_400(client, auditor, two_checkpoints, query):
    client.force_login(auditor)
    assert client.get(f"{API}/events/5/proof?{query}").status_code == 400


def test_inclusion_proofs_are_for_auditors_only(client, outsider, two_checkpoints):
    assert client.get(f"{API}/events/1/proof").status_code in (401, 403)
    client.force_login(outsider)
    assert client.get(f"{API}/events/1/proof").status_code == 403


def test_inclusion_proof_of_a_missing_event_is_a_404(client, auditor, two_checkpoints):
    client.force_login(auditor)
    assert client.get(f"{API}/events/100000/proof").status_code == 404
    assert client.get(f"{API}/events/99999999999999999999999/proof").status_code == 404


def test_consistency_proof_between_two_checkpoints_verifies(client, two_checkpoints):
    first, second = two_checkpoints
    body = client.get(
        f"{API}/checkpoints/consistency?first={first.tree_size}&second={second.tree_size}"
    ).json()
    assert body["first_root_hash"] == first.root_hash
    assert body["second_root_hash"] == second.root_hash
    proof = [bytes.fromhex(p) for p in body["proof"]]
    args = (first.tree_size, second.tree_size, bytes.fromhex(first.root_hash))
    assert merkle.verify_consistency(*args, bytes.fromhex(second.root_hash), proof)
    assert not merkle.verify_consistency(*args, bytes.fromhex(second.root_hash), proof[:-1])


@pytest.mark.parametrize(
    "query",
    [
        "",
        "first=1",
        "first=abc&second=2",
        "first=-1&second=3",
        "first=9&second=3",
        "first=1&second=99999999999999999999999",
    ],
)
def test_bad_consistency_queries_get_4xx(client, two_checkpoints, query):
    status = client.get(f"{API}/checkpoints/consistency?{query}").status_code
    assert 400 <= status < 500


def test_consistency_only_between_signed_checkpoints(client, two_checkpoints):
    first, second = two_checkpoints
    url = f"{API}/checkpoints/consistency?first={first.tree_size - 1}&second={second.tree_size}"
    assert client.get(url).status_code == 404


def test_every_audit_endpoint_is_in_the_openapi_schema(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in (
        "/api/v1/audit/events/",
        "/api/v1/audit/events/{seq}/proof",
        "/api/v1/audit/checkpoints/latest",
        "/api/v1/audit/checkpoints/{tree_size}",
        "/api/v1/audit/checkpoints/consistency",
        "/api/v1/audit/key",
    ):
        assert path in paths, path
    params = {p["name"] for p in paths["/api/v1/audit/events/"]["get"]["parameters"]}
    assert {"after", "type", "target", "limit"} <= params
