"""JSON decoding with a nesting limit: deep input is a 400, never a RecursionError (a 500).

Python's decoder recurses once per nested array or object and gives up with RecursionError near
the interpreter's recursion limit; `'[' * 1000 + ']' * 1000` is enough. No document Tessera
accepts nests deeper than a handful of levels, so anything beyond MAX_DEPTH is refused before it
is decoded, by a linear scan that skips over strings.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework.exceptions import ParseError

MAX_DEPTH = 32

# A string (its closing quote optional, so an unterminated one is consumed once rather than
# rescanned from every quote inside it) or a bracket. Possessive: no backtracking.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*+"?|[\[\]{}]', re.DOTALL)


class JSONTooDeep(ParseError, ValueError):
    """JSON nested deeper than MAX_DEPTH (a ValueError too, like any other undecodable JSON)."""

    default_detail = f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise JSONTooDeep if arrays and objects in `text` nest deeper than `max_depth`."""
    if "[" not in text and "{" not in text:
        return
    depth = 0
    for match in _TOKENS.finditer(text):
        piece = match.group()
        if piece in "[{":
            depth += 1
            if depth > max_depth:
                raise JSONTooDeep()
        elif piece in "]}":
            depth -= 1


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs) -> Any:
    """`json.loads` that refuses nesting deeper than `max_depth` with JSONTooDeep (a 400)."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")
    check_depth(text, max_depth)
    return json.loads(text, **kwargs)
