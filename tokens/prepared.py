"""Hot-path reads: a values() query compiled once per connection and run as a prepared
statement (see `Prepared`). Used by token issue, introspection and client authentication."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from core.db import server_cursor


class Prepared:
    """A values() query compiled once per connection and run with one changing parameter.

    The two hot paths run the same query shape thousands of times a second. Building and
    compiling it with the ORM cost more than running it, and PostgreSQL spent longer planning
    its joins (~2 ms) than executing them (~0.2 ms): so the SQL is compiled once, and on
    PostgreSQL run as a server-side prepared statement (psycopg names and re-prepares it per
    connection; TESSERA_PREPARED_STATEMENTS=false turns this off behind a pooler that cannot
    keep them, such as PgBouncer in transaction mode before 1.21). The SQL and the result
    converters are Django's own. `core.db.server_cursor` runs it."""

    def __init__(self, make_queryset, sentinel):
        queryset = make_queryset(sentinel)
        query = queryset.query
        self.compiler = query.get_compiler(queryset.db)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.slot = self.params.index(sentinel)
        self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        # What results_iter() would work out on every call: the converters of each column.
        fields = [column[0] for column in self.compiler.select[: self.compiler.col_count]]
        self.converters = self.compiler.get_converters(fields)

    def bound(self, value) -> list:
        params = list(self.params)
        params[self.slot] = value
        return params

    def fetch(self, value) -> dict[str, Any] | None:
        with server_cursor() as cursor:
            cursor.execute(self.sql, self.bound(value))
            row = cursor.fetchone()
        return self.convert(row)

    def convert(self, row) -> dict[str, Any] | None:
        if row is None:
            return None
        if self.converters:
            row = next(iter(self.compiler.apply_converters([row], self.converters)))
        return dict(zip(self.names, row, strict=True))


class PreparedPair:
    """Two `Prepared` queries of at most one row each, run as one statement (one round trip):
    `SELECT a.*, b.* FROM (SELECT 1) LEFT JOIN (first) a LEFT JOIN (second) b`. A side that
    found no row comes back as None."""

    def __init__(self, first: Prepared, second: Prepared):
        self.first, self.second = first, second
        self.sql = (
            f"SELECT a.*, b.* FROM (SELECT 1) AS one "  # noqa: S608 (compiled SQL, no input)
            f"LEFT JOIN ({first.sql}) AS a ON TRUE LEFT JOIN ({second.sql}) AS b ON TRUE"
        )
        self.split = len(first.names)

    def fetch(self, first_value, second_value) -> tuple[dict | None, dict | None]:
        with server_cursor() as cursor:
            cursor.execute(
                self.sql, [*self.first.bound(first_value), *self.second.bound(second_value)]
            )
            row = cursor.fetchone()
        a, b = row[: self.split], row[self.split :]
        return (
            None if all(v is None for v in a) else self.first.convert(a),
            None if all(v is None for v in b) else self.second.convert(b),
        )


def prepared(name: str, make_queryset, sentinel) -> Prepared:
    """The named query for this connection."""
    # Per connection wrapper (Django's are per thread): the compiler holds its connection.
    cache = connections[DEFAULT_DB_ALIAS].__dict__.setdefault("_tessera_prepared", {})
    query = cache.get(name)
    if query is None:
        query = cache[name] = Prepared(make_queryset, sentinel)
    return query


def prepared_pair(name: str, first, second) -> PreparedPair:
    """The named pair of queries for this connection; `first` and `second` are
    (make_queryset, sentinel) as for `prepared`."""
    cache = connections[DEFAULT_DB_ALIAS].__dict__.setdefault("_tessera_prepared", {})
    pair = cache.get(name)
    if pair is None:
        pair = cache[name] = PreparedPair(Prepared(*first), Prepared(*second))
    return pair
