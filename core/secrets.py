"""Secrets from the environment: NAME, or the file that NAME_FILE names (Docker/Kubernetes secrets).

One rule for every secret Tessera reads, and config/settings.py is its only caller: the key
modules (audit.signing, tokens.keys) read `settings`, never the environment.

- NAME set: its value, surrounding whitespace stripped.
- NAME_FILE set: the file's text (UTF-8), surrounding whitespace stripped (so the trailing
  newline an editor or `echo` leaves is not part of the secret).
- Both set: refused. Which one wins would be a guess the operator should not have to make.
- NAME_FILE names a file that cannot be read (missing, unreadable, not UTF-8) or is blank:
  refused, naming the variable and the path.
- Neither set (a blank variable counts as unset): the caller's default.

A secret is a `Secret`, which remembers where it came from, so that a key module can say
"AUDIT_SIGNING_KEY_FILE (/run/secrets/audit) is not a PEM private key" without seeing the
environment. Messages name variables and paths, never any part of a value.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Secret:
    """A secret's text and the variable (and file) it came from; its repr hides the text."""

    value: str = field(repr=False)
    variable: str
    path: str | None = None

    @property
    def origin(self) -> str:
        """Where the value came from, for error messages: `NAME` or `NAME_FILE (path)`."""
        return f"{self.variable} ({self.path})" if self.path else self.variable


def read_secret(name: str, *, environ: Mapping[str, str] | None = None) -> Secret | None:
    """The secret given as NAME or NAME_FILE, or None when neither is set (see the module)."""
    environ = os.environ if environ is None else environ
    file_variable = f"{name}_FILE"
    inline = environ.get(name, "").strip()
    path = environ.get(file_variable, "").strip()
    if inline and path:
        raise ImproperlyConfigured(
            f"Both {name} and {file_variable} are set; set only one, so it is clear which "
            "value is used."
        )
    if inline:
        return Secret(inline, name)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{file_variable} names {path}, which cannot be read ({exc.strerror})."
        ) from None
    except UnicodeDecodeError:
        raise ImproperlyConfigured(
            f"{file_variable} names {path}, which cannot be read (it is not UTF-8 text)."
        ) from None
    text = text.strip()
    if not text:
        # Naming a file is deliberate; an empty one is a mount gone wrong, and falling back to
        # the default (SQLite for DATABASE_URL) would hide it.
        raise ImproperlyConfigured(f"{file_variable} names {path}, which is empty.")
    return Secret(text, file_variable, path)


def secret_text(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """The text of the secret NAME / NAME_FILE, or `default` when neither is set."""
    found = read_secret(name, environ=environ)
    return default if found is None else found.value


def as_secret(value: Secret | str | None, name: str) -> Secret | None:
    """A setting's value as a Secret: settings hold Secrets, but a plain string (a test's or a
    settings override's) is taken as given inline under NAME. Blank or None: None."""
    if value is None or isinstance(value, Secret):
        return value if value is None or value.value else None
    text = str(value).strip()
    return Secret(text, name) if text else None


def write_private_file(path: Path, data: bytes, *, prefix: str) -> None:
    """Create `path` (mode 0600, in a 0700 directory) holding `data`, unless it exists already.

    Written whole to a private temporary file (`prefix` names it), then hard-linked into place:
    linking fails if another process got there first, so two workers starting together agree on
    one file and nobody ever reads a half-written one. The development keys' one writer."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
