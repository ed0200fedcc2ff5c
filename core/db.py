"""Database helpers for the hot paths (token issue, introspection, ledger appends).

`server_cursor()` is `connection.cursor()` (same query logging, execute wrappers and error
translation) with parameters bound on the server and, unless TESSERA_PREPARED_STATEMENTS is
off, every query run as a prepared statement: parsed and planned once per connection. Django's
own cursors bind client-side and never prepare, so that PgBouncer in transaction mode keeps
working; turn the setting off behind a pooler that cannot keep prepared statements (PgBouncer
before 1.21 in transaction mode). Server-side binding also lets arrays travel in binary (`%b`).

On SQLite it is `connection.cursor()`; with Django's own `server_side_binding` OPTION on (env
TESSERA_DB_SERVER_SIDE_BINDING, TESSERA_DB_PREPARE_THRESHOLD) it is Django's cursor, prepared by
psycopg's threshold.

Why this plumbing stays (issue 11, `bench/db_options.py`, 2 rounds alternating, 2 busy cores,
ratios to each run's own baseline, then to variant (a) of the same round): (a) this cursor and
`tokens.prepared`'s SQL compiled once per connection; (b) Django's supported OPTIONS
(server_side_binding + prepare_threshold=5) with the reads as plain ORM; (c) neither; (d) the
OPTIONS plus the compiled SQL. Means vs (a):
token_issue.py --tokens 1000 --procs 2: 1 proc b 0.43, c 0.37, d 0.69; 2 procs b 0.24, c 0.17,
d 0.40; no commit flush b 0.34, c 0.19, d 0.70. introspection.py --no-wrk --requests 2000
--runs 2 --workers 3: b 0.26, c 0.28, d 0.91 (p99 b x4.0, c x3.7, d x1.07). In one process on
the same data: compiling the state query with the ORM costs ~10 ms, running its compiled SQL
unprepared ~6.4 ms and prepared ~1.3 ms. No Django setting caches the compilation, and the
threshold's preparation (d) stayed more than 10% behind this cursor on token issue.
"""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper

ONLY_WHEN_ASKED = 2**31 - 1


def prepared_statements(conn=None) -> bool:
    conn = conn or connections[DEFAULT_DB_ALIAS]
    return conn.vendor == "postgresql" and getattr(settings, "TESSERA_PREPARED_STATEMENTS", True)


def django_binds_server_side(conn=None) -> bool:
    """DATABASES OPTIONS `server_side_binding` is on: Django's own cursors bind on the server
    (and psycopg prepares what runs `prepare_threshold` times), so they are used as they are."""
    conn = conn or connections[DEFAULT_DB_ALIAS]
    return (
        conn.vendor == "postgresql"
        and conn.settings_dict["OPTIONS"].get("server_side_binding") is True
    )


def server_cursor():
    # One lookup of the thread's connection: each attribute read through the `connection`
    # proxy is a lookup of its own, and this runs several times per token.
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql" or django_binds_server_side(conn):
        return conn.cursor()
    conn.ensure_connection()
    conn.validate_thread_sharing()
    pg = conn.connection
    raw = _ServerBindingCursor(pg)
    if prepared_statements(conn):
        raw.prepare_default = True
        if pg.prepare_threshold is None:
            # Django sets None, which makes psycopg ignore even prepare=True. Django's own
            # cursors bind client-side and never prepare whatever the threshold; with this one
            # only queries run with prepare=True (ours) are prepared.
            pg.prepare_threshold = ONLY_WHEN_ASKED
    if conn.queries_logged:
        return _DebugWrapper(raw, conn)
    return conn.make_cursor(raw)


class _DebugWrapper(CursorDebugWrapper):
    """Logs the SQL as written: psycopg keeps no text of a query it ran by prepared name."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):  # noqa: ARG002 - always False here, see docstring
        return super().debug_sql(sql, params, use_last_executed_query=False, many=many)


class _ServerBindingCursor(psycopg.Cursor):
    # None: psycopg's own rule (Django sets prepare_threshold=None: never prepare).
    prepare_default: bool | None = None

    def execute(self, query, params=None, *, prepare=None, binary=None):
        prepare = self.prepare_default if prepare is None else prepare
        return super().execute(query, params, prepare=prepare, binary=binary)
