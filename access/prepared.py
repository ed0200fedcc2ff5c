"""Hot-path reads: a values() query compiled once per connection and run as a prepared
statement (see `Prepared`). Used by token issue, introspection and client authentication."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection


class Prepared:
    """A values() query compiled once per connection and run with one changing parameter.

    The two hot paths run the same query shape thousands of times a second. Building and
    compiling it with the ORM cost more than running it, and PostgreSQL spent longer planning
    its joins (~2 ms) than executing them (~0.2 ms): so the SQL is compiled once, and on
    PostgreSQL run as a server-side prepared statement (psycopg names and re-prepares it per
    connection; TESSERA_PREPARED_STATEMENTS=false turns this off behind a pooler that cannot
    keep them, such as PgBouncer in transaction mode before 1.21). The SQL and the result
    converters are Django's own."""

    def __init__(self, make_queryset, sentinel):
        queryset = make_queryset(sentinel)
        query = queryset.query
        self.compiler = query.get_compiler(queryset.db)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.slot = self.params.index(sentinel)
        self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        self.server_prepared = connection.vendor == "postgresql" and getattr(
            settings, "TESSERA_PREPARED_STATEMENTS", True
        )

    def fetch(self, value) -> dict[str, Any] | None:
        params = list(self.params)
        params[self.slot] = value
        if self.server_prepared:
            import psycopg

            connection.ensure_connection()
            raw = connection.connection
            # Django turns psycopg's prepared statements off for the connection (its own
            # cursors bind client-side and never use them); allow them for this one query.
            threshold, raw.prepare_threshold = raw.prepare_threshold, 0
            start = time.monotonic()
            try:
                with connection.wrap_database_errors, psycopg.Cursor(raw) as cur:
                    cur.execute(self.sql, params, prepare=True)
                    row = cur.fetchone()
            finally:
                raw.prepare_threshold = threshold
            if connection.queries_logged:
                # Seen by assertNumQueries and the debug toolbar like any other query.
                connection.queries_log.append(
                    {
                        "sql": f"{self.sql} /* prepared */",
                        "time": f"{time.monotonic() - start:.3f}",
                    }
                )
        else:
            with connection.cursor() as cursor:
                cursor.execute(self.sql, params)
                row = cursor.fetchone()
        if row is None:
            return None
        converted = next(iter(self.compiler.results_iter(results=[[row]])))
        return dict(zip(self.names, converted, strict=True))


def prepared(name: str, make_queryset, sentinel) -> Prepared:
    # Per connection wrapper (Django's are per thread): the compiler holds its connection.
    cache = connection.__dict__.setdefault("_tessera_prepared", {})
    if name not in cache:
        cache[name] = Prepared(make_queryset, sentinel)
    return cache[name]
