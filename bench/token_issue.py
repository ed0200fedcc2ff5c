"""Token issue benchmark (issue 6): access tokens per second through `tokens.issue.token_issue`
(lock the grant, read its state in one query, sign ES256, record the token, ledger event, commit),
against two baselines measured in the same run: the bare ES256 signature, and a bare
one-row INSERT + COMMIT on the same database (each token is one durable commit, so the disk's
commit latency bounds one issuer; concurrent issuers share WAL flushes). Run once in one
process, then with --procs processes issuing at once (as gunicorn workers would).
Target: at least 1,000 tokens/s.

    .venv/bin/python bench/token_issue.py                 # PostgreSQL (tessera_bench_tokens)
    .venv/bin/python bench/token_issue.py --sqlite        # a temporary SQLite file instead
    .venv/bin/python bench/token_issue.py --tokens 5000 --procs 8

Ledger sequencing is "batched" on PostgreSQL (the production default: the event is committed
with the token, chained by the sequencer afterwards) and "inline" on SQLite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from _harness import db_variant, drop_database, git_revision, setup_django, table, use_database
from _tokens_world import build, set_kek

DB = "tessera_bench_tokens"


def bare_commits(n: int) -> float:
    """Transactions per second for a one-row INSERT + COMMIT into an ordinary (WAL-logged)
    table: the durable-commit floor of this machine's disk."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_commit (x integer)")
    start = time.perf_counter()
    for i in range(n):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_commit VALUES (%s)", [i])
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_commit")
    return n / seconds


def _issuer(grant_id: int, holder_id: int, count: int, start, done) -> None:
    from django.contrib.auth import get_user_model

    from access.models import Grant
    from tokens.issue import token_issue

    grant = Grant.objects.get(pk=grant_id)
    holder = get_user_model().objects.get(pk=holder_id)
    token_issue(grant=grant, actor=holder)  # warm this process
    start.wait()
    for _ in range(count):
        token_issue(grant=grant, actor=holder)
    done.wait()


def concurrent_issue(pairs: list[tuple[int, int]], n: int) -> float:
    """Seconds for one process per (grant, holder) to issue n tokens between them. Each
    process has its own researcher and grant, as concurrent users do: issuers of one grant
    queue on its row lock (deliberately, see tokens/issue.py)."""
    procs = len(pairs)
    from django.db import connections

    connections.close_all()  # each child opens its own connection
    context = multiprocessing.get_context("fork")
    start, done = context.Barrier(procs + 1), context.Barrier(procs + 1)
    workers = [
        context.Process(target=_issuer, args=(grant_id, holder_id, n // procs, start, done))
        for grant_id, holder_id in pairs
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    done.wait()
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return seconds * n / (n // procs * procs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument(
        "--tokens", type=int, default=12_000, help="per measurement (short runs are noisy)"
    )
    parser.add_argument("--procs", type=int, default=4, help="concurrent issuers (processes)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "false")  # DEBUG would record every query
    use_database(DB, sqlite=args.sqlite)
    os.environ.setdefault("AUDIT_SEQUENCING", "inline" if args.sqlite else "batched")
    set_kek()
    setup_django()
    # Needs Django set up; runs the hot-path reads as plain ORM if TESSERA_BENCH_PLAIN_READS.
    import _plain_reads  # noqa: F401
    from django.conf import settings
    from django.db import connection

    from audit import ledger
    from tokens import keyring, keys
    from tokens.issue import token_issue
    from tokens.models import IssuedToken

    world = build(holders=max(1, args.procs))
    grant, holder = world[0]
    use = keyring.signer()
    claims = {"iss": "x", "sub": "y", "aud": "z", "exp": 2**31, "nbf": 0, "iat": 0, "jti": "j"}
    n = args.tokens

    # Warm-up: caches (signer, pseudonym), connections, statement plans.
    for _ in range(50):
        token_issue(grant=grant, actor=holder)

    start = time.perf_counter()
    for _ in range(n):
        keys.sign(claims, private_key=use.private_key, kid=use.kid, alg=use.alg, typ="at+jwt")
    sign_seconds = time.perf_counter() - start

    commit_rate = bare_commits(n)

    start = time.perf_counter()
    for _ in range(n):
        token_issue(grant=grant, actor=holder)
    issue_seconds = time.perf_counter() - start

    parallel_seconds = concurrent_issue([(g.pk, h.pk) for g, h in world], n)
    unflushed_seconds = None
    if connection.vendor == "postgresql":
        # Diagnostic only (Tessera never does this): the same loop without waiting for the WAL
        # flush at commit, to separate the code's cost from this disk's fsync latency.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
        start = time.perf_counter()
        for _ in range(n):
            token_issue(grant=grant, actor=holder)
        unflushed_seconds = time.perf_counter() - start
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = on")

    recorded = IssuedToken.objects.count()
    chained = ledger.flush()
    sign_rate, issue_rate = n / sign_seconds, n / issue_seconds
    parallel_rate = n / parallel_seconds
    print(
        f"token issue, {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"ledger {ledger.mode()}, {settings.TESSERA_TOKEN_ALG}, {n} tokens, rev {git_revision()}"
    )
    print(f"database options: {db_variant()}")
    print(
        table(
            [
                ["ES256 signature only (baseline)", f"{sign_rate:,.0f}", f"{1e6 / sign_rate:.0f}"],
                ["INSERT + COMMIT, 1 process (baseline)", f"{commit_rate:,.0f}", f"{1e6 / commit_rate:.0f}"],
                ["token_issue, 1 process", f"{issue_rate:,.0f}", f"{1e6 / issue_rate:.0f}"],
                [f"token_issue, {args.procs} processes", f"{parallel_rate:,.0f}", f"{1e6 / parallel_rate:.0f}"],
            ]
            + (
                [[
                    "token_issue, 1 process, no commit flush (diagnostic)",
                    f"{n / unflushed_seconds:,.0f}",
                    f"{1e6 * unflushed_seconds / n:.0f}",
                ]]
                if unflushed_seconds
                else []
            ),
            ["what", "per second", "µs each"],
        )
    )  # fmt: skip
    print(f"token_issue (1 process) / bare commit: {issue_rate / commit_rate:.2f}")
    print(f"token_issue (1 process) / signature:   {issue_rate / sign_rate:.2f}")
    best = max(issue_rate, parallel_rate)
    print(f"target >= 1,000 tokens/s: {'met' if best >= 1000 else 'NOT met'} ({best:,.0f}/s)")
    print(f"tokens recorded: {recorded}; ledger events chained after the run: {chained}")
    if not args.keep:
        drop_database(DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
