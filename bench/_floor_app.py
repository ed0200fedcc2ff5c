"""Diagnostic WSGI app for `bench/introspection.py --floor`: Tessera, plus `POST /bench-floor`,
which does only what no introspection can avoid, with no application code around it.

Per call, in one prepared statement on a raw psycopg connection (autocommit): the same fresh
read as the real hot path (the client's OAuth token and the token's state) feeding one durable
INSERT of a ledger queue row, `WITH s AS (read) INSERT ... SELECT ... FROM s`. That is one round
trip and one commit, fewer than the real path's two round trips (it decides in Python between
the read and the write). No Django request handling, no middleware, no JWT, no JSON encoding.
Measured against /healthz on the same gunicorn server, it shows the ceiling of the ratio the
issue asks for on this machine. Every other path goes to Tessera unchanged.
"""

from __future__ import annotations

import os

from config.wsgi import application as tessera

_state: dict = {}


def _setup() -> None:
    import psycopg
    from django.db import connection

    from tokens.issue import token_state_query
    from tokens.oauth import client_token_query
    from tokens.prepared import Prepared, PreparedPair

    pair = PreparedPair(
        Prepared(client_token_query, "tessera:checksum-sentinel"),
        Prepared(token_state_query, "tessera:jti-sentinel"),
    )
    params = [
        *pair.first.bound(os.environ["BENCH_CLIENT_CHECKSUM"]),
        *pair.second.bound(os.environ["BENCH_JTI"]),
    ]
    connection.close()
    settings = connection.settings_dict
    raw = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    )
    _state.update(conn=raw, statement=(f"WITH s AS ({pair.sql}) {INSERT} FROM s", params))


INSERT = (
    "INSERT INTO audit_pendingevent (occurred_at, event_type, actor_id, actor_kind, target_type, "
    "target_id, payload, request_id, client_addr) "
    "SELECT now(), 'admin.action', 'client:bench', 'client', '', '', '{\"floor\":true}', '', ''"
)


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/bench-floor":
        return tessera(environ, start_response)
    if not _state:
        _setup()
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    sql, params = _state["statement"]
    if _state["conn"].execute(sql, params, prepare=True).rowcount != 1:
        raise RuntimeError("the floor's read found no row")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"active":true}']
