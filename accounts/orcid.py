"""ORCID iDs (pure, no database): the form `0000-0000-0000-000X` and the ISO 7064 MOD 11-2 check
character ORCID specifies (https://support.orcid.org/hc/en-us/articles/360006897674)."""

from __future__ import annotations

import re

_FORM = re.compile(r"[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9X]")  # ASCII digits only
_URL_PREFIXES = ("https://orcid.org/", "http://orcid.org/", "orcid.org/")


def check_character(base_digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first fifteen digits ("0"-"9" or "X")."""
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def normalise(value: str) -> str:
    """The iD as ORCID writes it (`0000-0002-1825-0097`), from what a person typed: surrounding
    spaces and the `https://orcid.org/` prefix dropped, a lower-case `x` raised. Raises
    ValueError (with a message for the person) when it is not a valid ORCID iD."""
    text = (value or "").strip()
    for prefix in _URL_PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.upper()
    if not _FORM.fullmatch(text):
        raise ValueError("Enter an ORCID iD in the form 0000-0000-0000-000X.")
    digits = text.replace("-", "")
    if check_character(digits[:15]) != digits[15]:
        raise ValueError("This is not a valid ORCID iD: its last character does not match.")
    return text
