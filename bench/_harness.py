"""Shared plumbing for the benchmarks: a throw-away database, Django set-up, timing helpers.

Benchmarks print figures and ratios against a baseline measured in the same run; they assert
nothing about time (that would make the test suite flaky on a shared machine).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    """A loopback port nothing listens on now (for a server the script starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_db_name(name: str) -> str:
    """The database a script uses: its own name, or TESSERA_BENCH_DB (for runs side by side)."""
    return os.environ.get("TESSERA_BENCH_DB") or name


def use_database(name: str, *, sqlite: bool = False) -> str:
    """Point Django at a fresh database (PostgreSQL by default) before django.setup()."""
    name = bench_db_name(name)
    if sqlite:
        path = Path(tempfile.gettempdir()) / f"{name}.sqlite3"
        for p in path.parent.glob(f"{name}.sqlite3*"):
            p.unlink()
        url = f"sqlite:///{path}"
    else:
        host = os.environ.get("PGHOST", "127.0.0.1")
        _psql(host, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _psql(host, f'CREATE DATABASE "{name}"')
        url = f"postgres://postgres@{host}:5432/{name}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    return url


def drop_database(name: str) -> None:
    name = bench_db_name(name)
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        from django.db import connections

        connections.close_all()
        _psql(
            os.environ.get("PGHOST", "127.0.0.1"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )


def _psql(host: str, sql: str) -> None:
    # psycopg directly, so that a machine without the psql client works too.
    import psycopg

    with psycopg.connect(f"host={host} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def setup_django(*, migrate: bool = True, ontologies: bool = True) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)
    if ontologies:
        call_command("load_ontologies", verbosity=0)


def organisation_and_committee(*, slug: str = "bench"):
    """One organisation and one committee of it, made through the governance services (they
    make the groups the permissions hang on); after `setup_django`."""
    from governance import services
    from governance.models import DataAccessCommittee, Organisation

    org = services.organisation_create(
        organisation=Organisation(name="Bench", country="NL", dpo_email="dpo@example.org"),
        actor=None,
    )
    committee = services.committee_create(
        committee=DataAccessCommittee(
            name="Bench DAC", slug=slug, contact_email="dac@example.org", organisation=org
        ),
        actor=None,
    )
    return org, committee


@contextmanager
def stopwatch():
    out = {}
    start = time.perf_counter()
    yield out
    out["seconds"] = time.perf_counter() - start


def measure(fn, *, runs: int = 15, warmup: int = 2) -> tuple[float, int]:
    """(median seconds, queries of the last run) for a callable that performs one request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        fn()
    times = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries


def table(rows: list[list[object]], header: list[str]) -> str:
    cells = [header, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def db_variant() -> str:
    """The statement options in force (issue 11): Django's DATABASES OPTIONS, Tessera's own
    prepared statements (`core.db.server_cursor`), and the bench switch of `_plain_reads`."""
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    return (
        f"server_side_binding={options.get('server_side_binding', False)} "
        f"prepare_threshold={options.get('prepare_threshold')} "
        f"TESSERA_PREPARED_STATEMENTS={settings.TESSERA_PREPARED_STATEMENTS} "
        f"plain_reads={os.environ.get('TESSERA_BENCH_PLAIN_READS', '') in {'1', 'true', 'on'}}"
    )


def production_env(url: str, kek: str) -> dict[str, str]:
    """The environment of a production-like server on loopback (gunicorn and the processes
    beside it): TESSERA_ENV=production, DEBUG off, a fresh SECRET_KEY, the batched ledger."""
    import secrets

    return {
        **os.environ,
        "DATABASE_URL": url,
        "TESSERA_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS ends at the proxy
        "AUDIT_SEQUENCING": "batched",
        "TESSERA_KEY_ENCRYPTION_KEY": kek,
        "LOG_LEVEL": "WARNING",
    }


def git_revision(root: Path = ROOT) -> str:
    try:
        return subprocess.check_output(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True
        ).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
