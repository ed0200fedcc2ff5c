"""Signed checkpoints: the body format, Ed25519 round trips, and where the key comes from."""

from __future__ import annotations

import base64
import hashlib
import logging
import stat
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured

from audit import signing
from core.secrets import read_secret

ROOT = hashlib.sha256(b"some tree").digest()
WHEN = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)


def raw_b64(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def private_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture(autouse=True)
def clean_key_settings(settings, tmp_path):
    """No key from the developer's shell, no development key written into the working tree."""
    settings.AUDIT_SIGNING_KEY = None
    settings.BASE_DIR = tmp_path
    settings.DEBUG = False
    signing.reset_signing_key_cache()
    yield
    signing.reset_signing_key_cache()


@pytest.fixture
def configured_key(settings) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    settings.AUDIT_SIGNING_KEY = read_secret(
        "AUDIT_SIGNING_KEY", environ={"AUDIT_SIGNING_KEY": raw_b64(key)}
    )
    return key


# --- the checkpoint body -----------------------------------------------------------------------


def test_checkpoint_body_is_the_documented_text():
    body = signing.checkpoint_body(1234, ROOT, WHEN)
    expected_root = base64.b64encode(ROOT).decode()
    assert body == (f"tessera-audit\n1234\n{expected_root}\n2026-11-27T10:00:00.123456Z\n").encode()


def test_checkpoint_time_is_written_in_utc_whatever_zone_it_came_in():
    cet = WHEN.astimezone(timezone(timedelta(hours=1)))
    assert signing.checkpoint_body(7, ROOT, cet) == signing.checkpoint_body(7, ROOT, WHEN)
    assert b"\n2026-11-27T10:00:00.000000Z\n" in signing.checkpoint_body(
        7, ROOT, WHEN.replace(microsecond=0)
    )


@pytest.mark.parametrize(
    ("tree_size", "root", "timestamp"),
    [
        (-1, ROOT, WHEN),
        (True, ROOT, WHEN),
        (1.0, ROOT, WHEN),
        (1, ROOT[:31], WHEN),
        (1, ROOT.hex(), WHEN),
        (1, ROOT, WHEN.replace(tzinfo=None)),
        (1, ROOT, "2026-11-27T10:00:00Z"),
    ],
)
def test_checkpoint_body_refuses_values_it_cannot_write_unambiguously(tree_size, root, timestamp):
    with pytest.raises(ValueError):
        signing.checkpoint_body(tree_size, root, timestamp)


def test_checkpoint_body_parses_back_to_its_values():
    for size in (0, 1, 10**12):
        assert signing.parse_checkpoint_body(signing.checkpoint_body(size, ROOT, WHEN)) == (
            size,
            ROOT,
            WHEN,
        )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda body: body.replace(b"\n1234\n", b"\n01234\n"),
        lambda body: body.replace(b"\n1234\n", b"\n+1234\n"),
        lambda body: body.replace(b"tessera-audit", b"other-log"),
        lambda body: body.replace(b".123456Z", b".123456+00:00"),
        lambda body: body.replace(b".123456Z", b"Z"),
        lambda body: body.rstrip(b"\n"),
        lambda body: body + b"extra line\n",
        lambda body: body.replace(b"\n", b"\r\n"),
        # Same 32 bytes, but the unused low bits of the last base64 digit set: not canonical.
        lambda body: body.replace(
            base64.b64encode(ROOT), base64.b64encode(ROOT)[:-2] + _sibling_digit(ROOT) + b"="
        ),
    ],
)
def test_non_canonical_bodies_do_not_parse(mangle):
    body = signing.checkpoint_body(1234, ROOT, WHEN)
    mangled = mangle(body)
    assert mangled != body
    with pytest.raises(ValueError):
        signing.parse_checkpoint_body(mangled)


def _sibling_digit(root: bytes) -> bytes:
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = base64.b64encode(root)[-2]
    return bytes([alphabet[alphabet.index(last) ^ 1]])


# --- signing and verifying ---------------------------------------------------------------------


def test_signed_checkpoint_verifies_with_the_published_key(configured_key):
    body = signing.checkpoint_body(1234, ROOT, WHEN)
    signature = signing.sign(body)
    assert len(signature) == 64
    assert signing.verify(body, signature, signing.public_key_pem())
    assert signing.verify(body, signature, signing.public_key_raw_b64())
    assert signing.verify(body, signature, public_raw(configured_key))
    assert signing.verify(body, signature, configured_key.public_key())
    assert signing.verify(body, signature, signing.public_key_pem().encode())


@pytest.mark.parametrize(
    "tampered",
    [
        lambda: signing.checkpoint_body(1235, ROOT, WHEN),
        lambda: signing.checkpoint_body(1233, ROOT, WHEN),
        lambda: signing.checkpoint_body(1234, hashlib.sha256(b"other tree").digest(), WHEN),
        lambda: signing.checkpoint_body(1234, bytes([ROOT[0] ^ 1]) + ROOT[1:], WHEN),
        lambda: signing.checkpoint_body(1234, ROOT, WHEN + timedelta(microseconds=1)),
        lambda: signing.checkpoint_body(1234, ROOT, WHEN - timedelta(days=1)),
        lambda: signing.checkpoint_body(1234, ROOT, WHEN) + b"\n",
    ],
)
def test_signature_does_not_cover_a_tampered_checkpoint(configured_key, tampered):
    signature = signing.sign(signing.checkpoint_body(1234, ROOT, WHEN))
    assert not signing.verify(tampered(), signature, signing.public_key_pem())


def test_tampered_signature_is_rejected(configured_key):
    body = signing.checkpoint_body(1234, ROOT, WHEN)
    signature = signing.sign(body)
    for bit in range(0, 512, 37):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not signing.verify(body, bytes(flipped), signing.public_key_pem()), bit
    assert not signing.verify(body, signature[:63], signing.public_key_pem())
    assert not signing.verify(body, signature + b"\x00", signing.public_key_pem())


def test_signature_by_another_key_is_rejected(configured_key):
    body = signing.checkpoint_body(1234, ROOT, WHEN)
    forged = Ed25519PrivateKey.generate().sign(body)
    assert not signing.verify(body, forged, signing.public_key_pem())
    genuine = signing.sign(body)
    assert not signing.verify(body, genuine, Ed25519PrivateKey.generate().public_key())


@pytest.mark.parametrize(
    ("body", "signature", "public_key"),
    [
        (None, b"s" * 64, b"k" * 32),
        ("text body", b"s" * 64, b"k" * 32),
        (b"body", None, b"k" * 32),
        (b"body", "s" * 64, b"k" * 32),
        (b"body", b"", b"k" * 32),
        (b"body", b"s" * 64, None),
        (b"body", b"s" * 64, 42),
        (b"body", b"s" * 64, b""),
        (b"body", b"s" * 64, b"k" * 31),
        (b"body", b"s" * 64, "not base64 at all!"),
        (b"body", b"s" * 64, base64.b64encode(b"k" * 31).decode()),
        (b"body", b"s" * 64, "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"),
        (b"body", b"s" * 64, b"-----BEGIN PUBLIC KEY-----\n"),
        (b"body", b"s" * 64, "caf\u00e9" * 8),
    ],
)
def test_verify_says_no_to_garbage_and_never_raises(body, signature, public_key):
    assert signing.verify(body, signature, public_key) is False


def test_verify_refuses_a_public_key_of_another_algorithm():
    ec_public_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert signing.verify(b"body", b"s" * 64, ec_public_pem) is False


def test_key_id_is_the_first_eight_bytes_of_the_public_key_digest(configured_key):
    expected = hashlib.sha256(public_raw(configured_key)).digest()[:8].hex()
    assert signing.key_id() == expected
    assert signing.key_id(signing.public_key_pem()) == expected
    assert signing.key_id(signing.public_key_raw_b64()) == expected
    assert signing.signing_key().key_id == expected
    assert signing.key_id(Ed25519PrivateKey.generate().public_key()) != expected


def test_published_public_key_forms_are_the_configured_key(configured_key):
    assert base64.b64decode(signing.public_key_raw_b64()) == public_raw(configured_key)
    assert signing.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----\n")


def test_private_key_stays_out_of_reprs(configured_key):
    key = signing.signing_key()
    text = repr(key) + str(key)
    assert raw_b64(configured_key) not in text
    assert "private_key" not in text
    assert "source='AUDIT_SIGNING_KEY'" in text


# --- where the key comes from ------------------------------------------------------------------


def test_key_is_read_from_base64_in_the_environment(configured_key):
    assert signing.signing_key().source == "AUDIT_SIGNING_KEY"
    assert base64.b64decode(signing.public_key_raw_b64()) == public_raw(configured_key)


@pytest.mark.parametrize("one_line", [False, True])
def test_key_is_read_from_a_pem_in_the_environment(settings, one_line):
    key = Ed25519PrivateKey.generate()
    pem = private_pem(key)
    settings.AUDIT_SIGNING_KEY = pem.replace("\n", "\\n") if one_line else pem
    assert base64.b64decode(signing.public_key_raw_b64()) == public_raw(key)


@pytest.mark.parametrize("form", ["pem", "base64"])
def test_key_is_read_from_the_file_named_in_the_environment(settings, tmp_path, form):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "secrets" / "audit-key"
    path.parent.mkdir()
    path.write_text(private_pem(key) if form == "pem" else raw_b64(key) + "\n")
    settings.AUDIT_SIGNING_KEY = read_secret(
        "AUDIT_SIGNING_KEY", environ={"AUDIT_SIGNING_KEY_FILE": str(path)}
    )
    assert signing.signing_key().source == "AUDIT_SIGNING_KEY_FILE"
    assert base64.b64decode(signing.public_key_raw_b64()) == public_raw(key)


def test_a_malformed_key_file_is_named_by_its_variable_and_path(settings, tmp_path):
    path = tmp_path / "key.pem"
    path.write_text("not a key\n")
    settings.AUDIT_SIGNING_KEY = read_secret(
        "AUDIT_SIGNING_KEY", environ={"AUDIT_SIGNING_KEY_FILE": str(path)}
    )
    with pytest.raises(ImproperlyConfigured, match=r"AUDIT_SIGNING_KEY_FILE \(.*key\.pem\)"):
        signing.signing_key()


@pytest.mark.parametrize(
    "value",
    [
        "not-a-key-but-a-secret-looking-string!",
        base64.b64encode(b"k" * 31).decode(),
        base64.b64encode(b"k" * 64).decode(),
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    ],
)
def test_malformed_key_is_refused_without_echoing_it(settings, value):
    settings.AUDIT_SIGNING_KEY = value
    with pytest.raises(ImproperlyConfigured) as failure:
        signing.signing_key()
    assert value.strip() not in str(failure.value)
    assert "AUDIT_SIGNING_KEY" in str(failure.value)


def test_key_of_another_algorithm_is_refused(settings):
    settings.AUDIT_SIGNING_KEY = private_pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ImproperlyConfigured, match="not Ed25519"):
        signing.signing_key()


def test_production_without_a_key_refuses_to_sign(settings, tmp_path):
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY"):
        signing.sign(b"anything")
    assert not (tmp_path / "var").exists()


def test_development_key_is_generated_once_privately_and_announced_without_its_value(
    settings, tmp_path, caplog
):
    settings.DEBUG = True
    with caplog.at_level(logging.WARNING, logger="audit.signing"):
        first = signing.signing_key()
    path = tmp_path / "var" / "keys" / "audit-ed25519.pem"
    assert first.source == "development"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["audit-ed25519.pem"]
    stored = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert public_raw(stored) == public_raw(first.private_key)

    log = caplog.text
    assert "DEVELOPMENT key" in log
    assert first.key_id in log
    assert raw_b64(stored) not in log
    assert path.read_text().splitlines()[1] not in log  # the PEM's base64 body

    # A restart (cache forgotten) finds the same key and does not rewrite it.
    contents = path.read_bytes()
    signing.reset_signing_key_cache()
    again = signing.signing_key()
    assert again.key_id == first.key_id
    assert path.read_bytes() == contents


def test_a_second_process_never_replaces_an_existing_development_key(settings, tmp_path):
    settings.DEBUG = True
    path = tmp_path / "var" / "keys" / "audit-ed25519.pem"
    signing._write_development_key(path)
    winner = path.read_bytes()
    signing._write_development_key(path)  # the process that lost the race
    assert path.read_bytes() == winner
    assert sorted(p.name for p in path.parent.iterdir()) == ["audit-ed25519.pem"]


def test_loaded_key_is_kept_until_the_cache_is_reset(settings, configured_key):
    first = signing.key_id()
    settings.AUDIT_SIGNING_KEY = raw_b64(Ed25519PrivateKey.generate())
    assert signing.key_id() == first
    signing.reset_signing_key_cache()
    assert signing.key_id() != first
