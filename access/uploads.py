"""Checks on uploaded ethics approvals: size and real content type (by signature, not name).

A stored upload is named after its sniffed type (`ethics-approval.pdf`), never after the
client's file name: that may carry personal data, a misleading extension or one too long for
the column (a 95-character extension once gave a 500, then an HTML 400 from the JSON API)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = {
    b"%PDF-": ("pdf", "application/pdf"),
    b"\x89PNG\r\n\x1a\n": ("png", "image/png"),
    b"\xff\xd8\xff": ("jpg", "image/jpeg"),
}


EXTENSIONS = frozenset(extension for extension, _ in SIGNATURES.values())


def sniff(head: bytes) -> tuple[str, str] | None:
    for signature, kind in SIGNATURES.items():
        if head.startswith(signature):
            return kind
    return None


def check_ethics_document(upload) -> str:
    """Raise ValidationError unless the upload is a PDF, PNG or JPEG of at most 10 MB; return its
    type, and rename the upload after it."""
    if upload.size > MAX_BYTES:
        raise ValidationError(
            f"The ethics approval may be at most {MAX_BYTES // (1024 * 1024)} MB."
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(16)
    upload.seek(position)
    kind = sniff(head)
    if kind is None:
        raise ValidationError("The ethics approval must be a PDF, PNG or JPEG file.")
    upload.name = f"ethics-approval.{kind[0]}"
    return kind[1]
