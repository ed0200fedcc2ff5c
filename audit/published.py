"""Checkpoints published outside the database, so that a restore from an older backup shows.

A database restored from a backup silently loses every ledger event written after the backup,
and the checkpoints that covered them: what is left still verifies. A copy of the latest signed
checkpoint kept somewhere else (a file on another volume, a URL a witness serves) remembers how
far the ledger had grown; `audit_verify --against` compares the database with it
(`audit.checkpoints.published_compare`).

The published document is JSON: the fields of `GET /api/v1/audit/checkpoints/latest` (tree
size, root, time, key id, the exact signed body and its base64 Ed25519 signature) plus
`"format"`. Only the signed body counts: the other fields must agree with it, and the
signature must verify with a trusted key (the current one or AUDIT_PREVIOUS_PUBLIC_KEYS). So a
witness's saved copy of the API's answer reads the same as the file Tessera writes.

Nothing here knows the ORM: it reads, checks and writes documents.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import ipaddress
import json
import os
import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from . import signing

FORMAT = "tessera-audit-checkpoint"
MAX_DOCUMENT_BYTES = 64 * 1024
URL_TIMEOUT = (3.05, 10)  # connect, read (seconds)


class PublishedCheckpointUnusable(ValueError):
    """A published checkpoint that cannot be read or trusted: missing, not JSON, not signed by
    a trusted key. The message is one line, fit for an operator."""


@dataclass(frozen=True)
class PublishedCheckpoint:
    """A signed checkpoint read back from outside the database, its signature verified."""

    tree_size: int
    root: bytes
    issued_at: datetime
    key_id: str
    body: str
    signature: str

    def describe(self) -> str:
        return (
            f"checkpoint {self.tree_size} signed {signing.format_time(self.issued_at)} "
            f"by key {self.key_id}"
        )


def document(
    *, tree_size: int, root_hash: str, issued_at: datetime, key_id: str, body: str, signature: str
) -> bytes:
    """The published JSON of a signed checkpoint (one line, UTF-8, newline-terminated)."""
    fields = {
        "format": FORMAT,
        "tree_size": tree_size,
        "root_hash": root_hash,
        "issued_at": signing.format_time(issued_at),
        "key_id": key_id,
        "body": body,
        "signature": signature,
    }
    return json.dumps(fields, sort_keys=True).encode("utf-8") + b"\n"


def parse(data: bytes, keys: dict[str, object]) -> PublishedCheckpoint:
    """The checkpoint in a published document, once its signature verifies with one of `keys`
    (key id -> public key); PublishedCheckpointUnusable otherwise."""
    try:
        fields = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested ten thousand deep
        raise PublishedCheckpointUnusable("not JSON") from None
    if not isinstance(fields, dict):
        raise PublishedCheckpointUnusable("not a JSON object")
    body, signature = fields.get("body"), fields.get("signature")
    if not isinstance(body, str) or not isinstance(signature, str):
        raise PublishedCheckpointUnusable("no signed checkpoint body and signature in it")
    try:
        tree_size, root, issued_at = signing.parse_checkpoint_body(body.encode("utf-8"))
    except ValueError as exc:
        raise PublishedCheckpointUnusable(f"body unreadable ({exc})") from None
    # The unsigned fields are a convenience for readers; if they differ from the body, the
    # document was edited, and a reader who trusted them would be misled.
    stated = {"tree_size": tree_size, "root_hash": root.hex()}
    for name, value in stated.items():
        if name in fields and fields[name] != value:
            raise PublishedCheckpointUnusable(f"its {name} differs from the signed body")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise PublishedCheckpointUnusable("signature is not base64") from None
    stated_key = fields.get("key_id")
    if stated_key is not None and not isinstance(stated_key, str):
        raise PublishedCheckpointUnusable("its key_id is not text")
    candidates = [(stated_key, keys[stated_key])] if stated_key in keys else list(keys.items())
    for key_id, key in candidates:
        if signing.verify(body.encode("utf-8"), raw_signature, key):
            return PublishedCheckpoint(tree_size, root, issued_at, key_id, body, signature)
    if stated_key is not None and stated_key not in keys:
        raise PublishedCheckpointUnusable(
            f"signed by unknown key {str(stated_key)[:64]!r} (not the audit key nor in "
            "AUDIT_PREVIOUS_PUBLIC_KEYS)"
        )
    raise PublishedCheckpointUnusable("signature does not verify with any trusted key")


def load(source: str, keys: dict[str, object]) -> PublishedCheckpoint:
    """Read and check a published checkpoint from a file path or an http(s) URL."""
    try:
        scheme = urlsplit(source).scheme.lower()
    except ValueError:
        raise PublishedCheckpointUnusable(f"{source}: not a path or URL") from None
    data = _fetch(source) if scheme in ("http", "https") else _read(source)
    try:
        return parse(data, keys)
    except PublishedCheckpointUnusable as exc:
        raise PublishedCheckpointUnusable(f"{source}: {exc}") from None


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise PublishedCheckpointUnusable(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError:  # a NUL byte in the path
        raise PublishedCheckpointUnusable(f"{path!r}: not a path") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PublishedCheckpointUnusable(f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes")
    return data


def _fetch(url: str) -> bytes:
    """GET over https (plain http only to a loopback address: the signature proves who wrote
    the document, but not that it is the latest one, which only TLS to a trusted host does)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise PublishedCheckpointUnusable(f"{url}: not a URL") from None
    if parts.scheme.lower() == "http" and not _is_loopback(host):
        raise PublishedCheckpointUnusable(f"{url}: use https (http only to a loopback address)")
    try:
        with requests.get(url, timeout=URL_TIMEOUT, stream=True, allow_redirects=False) as answer:
            if answer.status_code != 200:
                raise PublishedCheckpointUnusable(f"{url}: answered HTTP {answer.status_code}")
            # Through iter_content, not answer.raw: a body that breaks off or does not decode
            # then raises requests' own errors, not urllib3's, and reads as one line below.
            data = b""
            for chunk in answer.iter_content(chunk_size=16 * 1024):
                data += chunk
                if len(data) > MAX_DOCUMENT_BYTES:
                    break
    except requests.RequestException as exc:
        raise PublishedCheckpointUnusable(f"{url}: cannot fetch ({type(exc).__name__})") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PublishedCheckpointUnusable(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    return data


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- writing ----------------------------------------------------------------------------------


@contextmanager
def locked(path: Path):
    """Serialise publishers of one path (two signers committing at once must not let the
    smaller checkpoint overwrite the larger)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def published_size(path: Path) -> int | None:
    """The tree size the document at `path` states, unchecked; None if there is none."""
    try:
        fields = json.loads(path.read_bytes())
        size = fields["tree_size"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return size if isinstance(size, int) else None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` by `data` so that a reader sees the old document or the new, never half
    of one, and the new one survives a crash once this returns (fsync of file and folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # public: it holds nothing secret
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
