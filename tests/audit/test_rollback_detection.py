"""A database restored from an older backup is caught by the checkpoint published outside it.

A restore silently drops the newest ledger events and the checkpoints that covered them; what is
left verifies on its own. `audit_verify --against` compares it with the signed checkpoint that
`audit_checkpoint` wrote to AUDIT_CHECKPOINT_PUBLISH_PATH, read from a file or a real local
HTTP server.
"""

from __future__ import annotations

# ruff: noqa: S603, S607  (the tests start Python's http.server and PostgreSQL's own tools)
import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import ledger, published, signing
from audit.checkpoints import PublishedCheckpointConflict, checkpoint_publish, checkpoint_sign
from audit.choices import EventType
from audit.models import AuditEvent, Checkpoint

from .attacker import raw

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def publish_path(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_PUBLISH_PATH = str(tmp_path / "witness" / "checkpoint.json")
    settings.AUDIT_CHECKPOINT_PUBLISH_HISTORY_DIR = str(tmp_path / "witness" / "history")
    return Path(settings.AUDIT_CHECKPOINT_PUBLISH_PATH)


def append(count: int, **payload) -> None:
    for n in range(count):
        ledger.append(event_type=EventType.ADMIN_ACTION, actor=None, payload={**payload, "n": n})


def sign(capture) -> Checkpoint | None:
    # Publishing waits for the commit; the test's transaction never commits, so run the
    # callbacks as a commit would.
    with capture(execute=True):
        return checkpoint_sign()


@pytest.fixture
def backed_up_then_grown(db, publish_path, django_capture_on_commit_callbacks):
    """Seven events and their checkpoint (the state a nightly backup caught), then five more
    and a newer checkpoint, published. Returns (size at backup, size published)."""
    append(7, phase="before backup")
    at_backup = sign(django_capture_on_commit_callbacks).tree_size
    append(5, phase="after backup")
    latest = sign(django_capture_on_commit_callbacks).tree_size
    assert published.published_size(publish_path) == latest
    return at_backup, latest


def restore_older_backup(at_backup: int) -> None:
    """What restoring the backup leaves: the events and checkpoints written since are gone.

    The ledger's triggers refuse DELETE, so this runs with them lifted, as a restore does:
    pg_restore --disable-triggers (as the superuser it needs) and SQLite's file copy never fire
    them. `test_a_real_pg_restore_of_an_older_dump_is_caught` does the real thing."""
    raw("DELETE FROM audit_checkpoint WHERE tree_size > %s", [at_backup])
    raw("DELETE FROM audit_auditevent WHERE seq >= %s", [at_backup])


def verify_against(source: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `audit_verify --against source`."""
    out, err = _Buffer(), _Buffer()
    try:
        call_command("audit_verify", "--against", source, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code), out.text, err.text
    return 0, out.text, err.text


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def unusable(source: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", "--against", source)
    assert caught.value.returncode == 2
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- publishing -------------------------------------------------------------------------------


def test_signing_publishes_a_self_contained_signed_document(backed_up_then_grown, publish_path):
    at_backup, latest = backed_up_then_grown
    document = json.loads(publish_path.read_text())
    checkpoint = Checkpoint.objects.get(tree_size=latest)
    assert document == {
        "format": "tessera-audit-checkpoint",
        "tree_size": latest,
        "root_hash": checkpoint.root_hash,
        "issued_at": signing.format_time(checkpoint.issued_at),
        "key_id": signing.key_id(),
        "body": checkpoint.body,
        "signature": checkpoint.signature,
    }
    body = document["body"].encode()
    assert signing.verify(body, base64.b64decode(document["signature"]), signing.public_key_pem())
    history = sorted(p.name for p in (publish_path.parent / "history").iterdir())
    assert history == [f"checkpoint-{size:020d}.json" for size in (at_backup, latest)]
    # Written by rename: no temporary file is left beside it.
    assert sorted(p.name for p in publish_path.parent.iterdir()) == [
        "checkpoint.json",
        "checkpoint.json.lock",
        "history",
    ]


def test_nothing_is_published_before_the_checkpoint_commits(db, publish_path):
    append(3)
    checkpoint_sign()  # inside the test's transaction, which never commits
    assert not publish_path.exists()


def test_the_published_copy_never_moves_backwards(backed_up_then_grown, publish_path):
    before = publish_path.read_bytes()
    older = Checkpoint.objects.get(tree_size=backed_up_then_grown[0])
    assert checkpoint_publish(older) is None
    assert publish_path.read_bytes() == before


def test_a_path_configured_later_catches_up_with_the_latest_checkpoint(
    db, settings, tmp_path, django_capture_on_commit_callbacks
):
    append(4)
    size = sign(django_capture_on_commit_callbacks).tree_size
    settings.AUDIT_CHECKPOINT_PUBLISH_PATH = str(tmp_path / "checkpoint.json")
    assert sign(django_capture_on_commit_callbacks) is None  # nothing new to sign
    assert published.published_size(tmp_path / "checkpoint.json") == size


def test_audit_checkpoint_reports_a_copy_it_could_not_write(transactional_db, settings, tmp_path):
    # Transactional: outside any transaction the copy is written as soon as signing commits,
    # inside the command, as in production.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.AUDIT_CHECKPOINT_PUBLISH_PATH = str(blocker / "checkpoint.json")
    append(2)
    with pytest.raises(
        CommandError, match=r"signed, but not published to .*not-a-folder/checkpoint\.json: "
    ):
        call_command("audit_checkpoint")
    assert Checkpoint.objects.exists()  # the database keeps what it signed


# --- detecting a restore ----------------------------------------------------------------------


def test_an_untouched_ledger_passes_against_the_published_checkpoint(
    backed_up_then_grown, publish_path
):
    append(3, phase="since")  # grown past the checkpoint: checked by a consistency proof
    status, out, err = verify_against(str(publish_path))
    assert status == 0, err
    assert "audit ledger OK" in out
    latest = backed_up_then_grown[1]
    assert f"published checkpoint {latest} signed" in out
    assert f"grown consistently to {latest + 3} events" in out


def test_a_restore_from_an_older_backup_is_reported_as_rolled_back(
    backed_up_then_grown, publish_path
):
    at_backup, latest = backed_up_then_grown
    restore_older_backup(at_backup)
    # On its own, the restored ledger is whole: its hashes, chain and older checkpoint verify.
    call_command("audit_verify", stdout=_Buffer())
    status, _, err = verify_against(str(publish_path))
    assert status == 1
    assert f"rolled back: events {at_backup}..{latest - 1} are missing" in err
    assert f"the database holds {at_backup}" in err


def test_new_events_after_a_restore_show_as_diverged_not_ok(backed_up_then_grown, publish_path):
    at_backup, latest = backed_up_then_grown
    restore_older_backup(at_backup)
    append(8, phase="after restore")  # more events than were lost, but other ones
    status, _, err = verify_against(str(publish_path))
    assert status == 1
    assert f"diverged: the ledger at size {latest} does not match the published checkpoint" in err


def test_signing_after_a_restore_is_refused_and_the_evidence_kept(
    backed_up_then_grown, publish_path, django_capture_on_commit_callbacks
):
    at_backup, latest = backed_up_then_grown
    evidence = publish_path.read_bytes()
    restore_older_backup(at_backup)
    append(2, phase="after restore")
    missing = rf"rolled back: events {at_backup + 2}\.\.{latest - 1} are missing"
    with pytest.raises(PublishedCheckpointConflict, match=missing):
        sign(django_capture_on_commit_callbacks)
    with pytest.raises(CommandError, match="not signed: rolled back"):
        call_command("audit_checkpoint")
    assert not Checkpoint.objects.filter(tree_size__gt=at_backup).exists()
    assert publish_path.read_bytes() == evidence


def test_a_witness_copy_of_the_api_answer_serves_as_well(backed_up_then_grown, client, tmp_path):
    at_backup, latest = backed_up_then_grown
    saved = tmp_path / "latest-from-api.json"
    saved.write_bytes(client.get("/api/v1/audit/checkpoints/latest").content)
    restore_older_backup(at_backup)
    status, _, err = verify_against(str(saved))
    assert status == 1
    assert f"rolled back: events {at_backup}..{latest - 1} are missing" in err


# --- documents that cannot be trusted or read -------------------------------------------------


def rewritten(publish_path: Path, **changes) -> str:
    document = {**json.loads(publish_path.read_text()), **changes}
    forged = publish_path.with_name("forged.json")
    forged.write_text(json.dumps(document))
    return str(forged)


def test_a_document_whose_fields_were_edited_is_refused(backed_up_then_grown, publish_path):
    # Claiming a smaller size would hide a rollback; the signed body says otherwise.
    message = unusable(rewritten(publish_path, tree_size=backed_up_then_grown[0]))
    assert "tree_size differs from the signed body" in message


def test_a_document_with_an_edited_body_is_refused(backed_up_then_grown, publish_path):
    at_backup, latest = backed_up_then_grown
    body = json.loads(publish_path.read_text())["body"].replace(f"\n{latest}\n", f"\n{at_backup}\n")
    message = unusable(rewritten(publish_path, body=body, tree_size=at_backup))
    assert "signature does not verify" in message


def test_a_document_signed_by_an_untrusted_key_is_refused(backed_up_then_grown, publish_path):
    other = Ed25519PrivateKey.generate()
    body = json.loads(publish_path.read_text())["body"]
    message = unusable(
        rewritten(
            publish_path,
            signature=base64.b64encode(other.sign(body.encode())).decode(),
            key_id=signing.key_id(other.public_key()),
        )
    )
    assert "signed by unknown key" in message


def test_an_unsigned_document_is_refused(backed_up_then_grown, publish_path):
    document = json.loads(publish_path.read_text())
    del document["signature"]
    forged = publish_path.with_name("unsigned.json")
    forged.write_text(json.dumps(document))
    assert "no signed checkpoint body and signature" in unusable(str(forged))


def test_a_document_with_a_key_id_that_is_not_text_is_refused(backed_up_then_grown, publish_path):
    assert "key_id is not text" in unusable(rewritten(publish_path, key_id=["a"]))


def test_a_document_signed_by_a_retired_key_still_counts(
    backed_up_then_grown, publish_path, settings
):
    old_key_public = signing.public_key_raw_b64()
    settings.AUDIT_SIGNING_KEY = base64.b64encode(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    ).decode()
    settings.AUDIT_PREVIOUS_PUBLIC_KEYS = [old_key_public]
    signing.reset_signing_key_cache()
    try:
        status, out, err = verify_against(str(publish_path))
    finally:
        signing.reset_signing_key_cache()
    assert status == 0, err
    assert "grown consistently" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read (No such file or directory)"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"body": "tessera-audit\\n", "signature": "x"}', "body unreadable"),
        (b"[" * 50_000 + b"]" * 10_000, "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
    ],
)
def test_bad_input_is_one_clear_line(db, tmp_path, content, expected):
    path = tmp_path / "checkpoint.json"
    if content is not None:
        path.write_bytes(content)
    assert expected in unusable(str(path))


def test_plain_http_to_another_host_is_refused(db):
    assert "use https" in unusable("http://witness.example/checkpoint.json")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("", "cannot read"),
        ("http://[::1/checkpoint.json", "not a path or URL"),
        ("https://", "cannot fetch"),
        ("witness/\x00checkpoint.json", "not a path"),
    ],
)
def test_malformed_sources_are_one_clear_line(db, source, expected):
    assert expected in unusable(source)


def test_a_url_nobody_answers_is_one_clear_line(db):
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert "cannot fetch (ConnectionError)" in unusable(f"http://127.0.0.1:{port}/checkpoint.json")


@pytest.fixture
def one_answer_server():
    """A server on a real socket that answers one request with the bytes it is given, then hangs
    up: a witness whose answer breaks off or is not what its headers claim."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    answers: list[bytes] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(answers[0])

    def start(answer: bytes) -> str:
        answers.append(answer)
        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/checkpoint.json"

    yield start
    listener.close()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{",
            "cannot fetch (ChunkedEncodingError)",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnot gzip",
            "cannot fetch (ContentDecodingError)",
        ),
    ],
)
def test_a_url_whose_answer_breaks_off_or_does_not_decode_is_one_clear_line(
    db, one_answer_server, answer, expected
):
    assert expected in unusable(one_answer_server(answer))


# --- the keys a check needs ---------------------------------------------------------------------


@pytest.fixture
def audit_keys(settings):
    """Change the audit key settings in a test; the loaded key is forgotten before and after."""
    signing.reset_signing_key_cache()
    yield settings
    signing.reset_signing_key_cache()


def test_no_audit_signing_key_is_one_clear_line_naming_what_to_set(
    backed_up_then_grown, publish_path, audit_keys
):
    audit_keys.AUDIT_SIGNING_KEY = None  # and DEBUG off, as in production: no development key
    message = unusable(str(publish_path))
    assert "No audit signing key: set AUDIT_SIGNING_KEY" in message
    assert "AUDIT_SIGNING_KEY_FILE" in message


def test_an_audit_signing_key_that_does_not_load_is_one_clear_line(
    backed_up_then_grown, publish_path, audit_keys
):
    audit_keys.AUDIT_SIGNING_KEY = "c2hvcnQ="  # base64, but of 5 bytes
    message = unusable(str(publish_path))
    assert "AUDIT_SIGNING_KEY decodes to 5 bytes" in message
    assert "c2hvcnQ=" not in message


def test_a_previous_public_key_that_does_not_load_is_one_clear_line(
    backed_up_then_grown, publish_path, audit_keys
):
    audit_keys.AUDIT_PREVIOUS_PUBLIC_KEYS = [signing.public_key_raw_b64(), "not-a-key"]
    message = unusable(str(publish_path))
    assert "AUDIT_PREVIOUS_PUBLIC_KEYS entry 2" in message
    assert "not-a-key" not in message


def test_verifying_checkpoints_without_a_key_is_one_clear_line_too(
    backed_up_then_grown, audit_keys
):
    audit_keys.AUDIT_SIGNING_KEY = None
    with pytest.raises(CommandError, match="No audit signing key: set AUDIT_SIGNING_KEY") as caught:
        call_command("audit_verify")
    assert caught.value.returncode == 2


def test_manage_py_without_a_key_prints_one_line_and_no_traceback(publish_path, tmp_path):
    """The command as an operator runs it: its own process, DEBUG off, no audit key set."""
    publish_path.parent.mkdir(parents=True)
    publish_path.write_bytes(b'{"body": "", "signature": ""}')
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AUDIT_", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"))
    }
    environ.update(
        DEBUG="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "audit_verify", "--against", str(publish_path)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("CommandError: ") and "set AUDIT_SIGNING_KEY" in line


# --- a URL served by a real HTTP server -------------------------------------------------------


@pytest.fixture
def witness_server(publish_path):
    """Python's http.server, in its own process, serving the folder the checkpoint is
    published into, as a witness's web server would."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=publish_path.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("http.server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_published_checkpoint_read_over_http(backed_up_then_grown, witness_server):
    at_backup, latest = backed_up_then_grown
    url = f"{witness_server}/checkpoint.json"
    status, out, err = verify_against(url)
    assert status == 0, err
    assert f"grown consistently to {latest} events" in out

    restore_older_backup(at_backup)
    status, _, err = verify_against(url)
    assert status == 1
    assert f"rolled back: events {at_backup}..{latest - 1} are missing" in err

    assert "answered HTTP 404" in unusable(f"{witness_server}/missing.json")


# --- a real restore on PostgreSQL -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump/pg_restore of PostgreSQL")
@pytest.mark.skipif(shutil.which("pg_restore") is None, reason="PostgreSQL client tools missing")
def test_a_real_pg_restore_of_an_older_dump_is_caught(
    transactional_db, publish_path, tmp_path, django_capture_on_commit_callbacks
):
    """Dump the database after seven events, carry on to twelve (published), restore the dump
    into a new database with pg_restore, and run `manage.py audit_verify` there."""
    db = connection.settings_dict
    pg = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432)}
    pg["PGUSER"] = db["USER"]
    if db.get("PASSWORD"):
        pg["PGPASSWORD"] = db["PASSWORD"]
    append(7, phase="before backup")
    at_backup = sign(django_capture_on_commit_callbacks).tree_size
    dump = tmp_path / "nightly.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), db["NAME"]], env=pg, check=True)
    append(5, phase="after backup")
    latest = sign(django_capture_on_commit_callbacks).tree_size
    assert AuditEvent.objects.count() == latest == at_backup + 5

    restored = f"{db['NAME']}_restored"
    subprocess.run(["dropdb", "--if-exists", restored], env=pg, check=True)
    subprocess.run(["createdb", restored], env=pg, check=True)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "-d", restored, str(dump)],
            env=pg,
            check=True,
            capture_output=True,
        )
        private = signing.signing_key().private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        child = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{pg['PGHOST']}:{pg['PGPORT']}/{restored}",
            "AUDIT_SIGNING_KEY": base64.b64encode(private).decode(),
            "PYTHONPATH": str(ROOT),
        }
        if db.get("PASSWORD"):
            child["PGPASSWORD"] = db["PASSWORD"]
        result = subprocess.run(
            [sys.executable, "manage.py", "audit_verify", "--against", str(publish_path)],
            cwd=ROOT,
            env=child,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        subprocess.run(["dropdb", "--if-exists", restored], env=pg, check=True)
    assert result.returncode == 1, result.stdout + result.stderr
    # The restored database verifies on its own; only the published checkpoint shows the loss.
    assert f"audit ledger OK: {at_backup} events" in result.stdout
    assert f"rolled back: events {at_backup}..{latest - 1} are missing" in result.stderr
    assert "Traceback" not in result.stderr
