"""Bench switch for issue 11: TESSERA_BENCH_PLAIN_READS=1 runs the hot-path reads of
`tokens.prepared` (`prepared()` / `prepared_pair()`) as plain ORM querysets, compiled on every
call and run through Django's own cursor, instead of SQL compiled once per connection and run
as a prepared statement; a pair becomes two queries. `install()` patches the names where
`tokens.issue`, `tokens.introspection` and `tokens.oauth` imported them; `application` is Tessera's WSGI app with the
switch applied (for gunicorn in `introspection.py`). Nothing outside bench/ imports this.
"""

from __future__ import annotations

import os

from config.wsgi import application  # sets Django up first

# isort: split
from tokens import introspection, issue, oauth


class _Plain:
    def __init__(self, make_queryset, sentinel):  # noqa: ARG002 - same signature as Prepared
        self.make_queryset = make_queryset

    def fetch(self, value):
        rows = list(self.make_queryset(value))
        return rows[0] if rows else None


class _PlainPair:
    def __init__(self, first, second):
        self.first, self.second = _Plain(*first), _Plain(*second)

    def fetch(self, first_value, second_value):
        return self.first.fetch(first_value), self.second.fetch(second_value)


def plain_prepared(name, make_queryset, sentinel):  # noqa: ARG001 - same signature
    return _Plain(make_queryset, sentinel)


def plain_prepared_pair(name, first, second):  # noqa: ARG001 - same signature
    return _PlainPair(first, second)


def enabled() -> bool:
    return os.environ.get("TESSERA_BENCH_PLAIN_READS", "") in {"1", "true", "on"}


def install() -> bool:
    """Patch the hot paths if TESSERA_BENCH_PLAIN_READS is on; True if it did."""
    if not enabled():
        return False
    issue.prepared = plain_prepared
    introspection.prepared_pair = plain_prepared_pair
    oauth.prepared = plain_prepared
    return True


install()
__all__ = ["application", "install"]
