"""Fault drill (issue 16): the production-like stack under mixed load, one fault at a time.

Starts on loopback, against a throw-away PostgreSQL database and a private `redis-server`:
gunicorn (4 sync workers, DEBUG off, TESSERA_ENV=production), the batched ledger with
`audit_sequencer`, a Celery worker and Celery beat, with Redis as broker and cache (as
docs/deployment.md sets them up). Mail goes to Django's file backend, so the drill counts what
actually left. Then it runs mixed load (introspection, token issue, the catalogue in the portal
and the API, a committee decision every second through the API) and injects, in turn:

- a database outage: the drill's database refuses connections and its sessions are terminated
  for `--outage` seconds; with `--restart-postgres`, the local PostgreSQL cluster is restarted
  instead (`pg_ctlcluster VERSION NAME restart`, every database on it: asked for, and said so);
- Redis stopped for `--outage` seconds, then started again on the same port (empty);
- the Celery worker's pool processes SIGKILLed mid-load (the worker's parent replaces them);
- `audit_sequencer` SIGKILLed and started again a second later, as systemd's `Restart=always`
  would.

It prints, per phase, the answers by kind and status, the time from the fault's end to the last
answer that was not a success (recovery), and the ledger events queued and chained; then
whether every successful introspection, token and decision has exactly one ledger event (matched
by the request id the client sent), whether the ledger verifies, and the decision mails sent
against those expected. It exits 1 when anything was lost or sent twice, a 5xx other than 503
was answered, a request got no answer, or a process did not recover within `--recovery`
seconds; 0 otherwise.

    .venv/bin/python bench/fault_drill.py                      # about 6 minutes
    .venv/bin/python bench/fault_drill.py --restart-postgres   # restarts the local cluster
    .venv/bin/python bench/fault_drill.py --root /tmp/old      # drill another checkout

Loopback only; every wait is bounded; every process it started is stopped at the end, and the
database dropped (unless --keep). The load is paced (it measures honesty under faults, not
throughput) and the API throttles are raised so that they do not shape the answers.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from _harness import (
    ROOT,
    bench_db_name,
    drop_database,
    free_port,
    git_revision,
    production_env,
    setup_django,
    table,
    use_database,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DB = "tessera_bench_fault_drill"
VENV = Path(sys.executable).parent
TIMEOUT = 20.0  # seconds a client waits for one answer
KINDS = ("introspect", "token", "catalogue", "decide")


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- processes ------------------------------------------------------------------------------
@dataclass
class Proc:
    """One long-running process of the stack, in a session of its own (so its children go with
    it), its output in a log file the drill names when something goes wrong."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    logdir: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def log(self) -> Path:
        return self.logdir / f"{self.name}.log"

    def start(self) -> None:
        self.starts += 1
        out = self.log.open("a")
        out.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')}\n")
        out.flush()
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def children(self) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, timeout=10
        ).stdout.split()
        return [int(pid) for pid in found]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None:
            return
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(timeout=20)
        self.kill(signal.SIGKILL)  # whatever is left of the group (a pool, an embedded beat)


def wait_for(check, *, timeout: float, what: str, every: float = 0.2) -> float:
    """Seconds until `check()` was true; raises after `timeout`."""
    began = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


# --- the load -------------------------------------------------------------------------------
@dataclass
class Answer:
    kind: str
    phase: str
    at: float  # monotonic
    status: int  # 0: no answer (the exception is in `error`)
    request_id: str
    error: str = ""
    body: str = ""
    retry_after: str = ""


@dataclass
class Load:
    port: int
    bearer_storage: str
    bearer_researcher: str
    bearer_chair: str
    token: str
    accession: str
    decisions: list[int]  # access request ids waiting for the chair's decision
    end_date: str
    phase: str = "warm-up"
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    decided: list[int] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)

    def call(self, kind: str, method: str, path: str, *, body: str = "", headers=None) -> Answer:
        request_id = uuid.uuid4().hex
        sent = {"X-Request-ID": request_id, "Host": "127.0.0.1", **(headers or {})}
        phase = self.phase
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            conn.request(method, path, body=body or None, headers=sent)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            conn.close()
            answer = Answer(kind, phase, time.monotonic(), response.status, request_id, body=text,
                            retry_after=response.getheader("Retry-After") or "")  # fmt: skip
        except (OSError, http.client.HTTPException) as exc:
            answer = Answer(kind, phase, time.monotonic(), 0, request_id, error=repr(exc))
        with self.lock:
            self.answers.append(answer)
        return answer

    def paced(self, every: float, step) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                step()
            except Exception as exc:  # a client that stops would hide its kind's answers
                with self.lock:
                    self.crashes.append(f"{step.__name__}: {exc!r}")
                return
            self.stop.wait(max(0.0, every - (time.monotonic() - began)))

    def introspect(self) -> None:
        form = urllib.parse.urlencode({"token": self.token})
        self.call("introspect", "POST", "/api/v1/tokens/introspect", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {self.bearer_storage}",
        })  # fmt: skip

    def token_issue(self) -> None:
        self.call("token", "POST", "/api/v1/tokens/", body=json.dumps({"dataset": self.accession}),
                  headers={"Content-Type": "application/json",
                           "Authorization": f"Bearer {self.bearer_researcher}"})  # fmt: skip

    def catalogue(self) -> None:
        self.call("catalogue", "GET", "/datasets/?q=kidney")
        self.call("catalogue", "GET", "/api/v1/datasets/?q=kidney")

    def decide(self) -> None:
        """The chair decides the next request; after an answer that is not a success they press
        again on the same one, as a person would."""
        if not self.decisions:
            return
        pk = self.decisions[0]
        body = json.dumps({"outcome": "approve", "end_date": self.end_date})
        answer = self.call("decide", "POST", f"/api/v1/access-requests/{pk}/decide/", body=body,
                           headers={"Content-Type": "application/json",
                                    "Authorization": f"Bearer {self.bearer_chair}"})  # fmt: skip
        if answer.status == 200 or answer.status == 409:
            self.decisions.pop(0)
            with self.lock:
                self.decided.append(pk)

    def threads(self, *, introspectors: int) -> list[threading.Thread]:
        plan = [(0.04, self.introspect)] * introspectors
        plan += [(1.0, self.token_issue), (0.25, self.catalogue), (1.0, self.decide)]
        return [threading.Thread(target=self.paced, args=p, daemon=True) for p in plan]


# --- watching the ledger and the outbox -----------------------------------------------------
class Watch:
    """Samples, twice a second, the ledger's queued and chained events and the outbox, through
    a connection of its own (which may fail during an outage: the sample is skipped)."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.samples: list[
            tuple[float, str, int, int, int]
        ] = []  # at, phase, queued, chained, unsent
        self.phase = "warm-up"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def sample(self) -> tuple[int, int, int]:
        import psycopg

        with psycopg.connect(self.dsn, connect_timeout=2, autocommit=True) as conn:
            queued = conn.execute("SELECT count(*) FROM audit_pendingevent").fetchone()[0]
            chained = conn.execute("SELECT coalesce(max(seq), 0) FROM audit_auditevent").fetchone()[
                0
            ]
            unsent = conn.execute(
                "SELECT count(*) FROM access_notification WHERE sent_at IS NULL AND NOT digest"
            ).fetchone()[0]
        return queued, chained, unsent

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(Exception):
                self.samples.append((time.monotonic(), self.phase, *self.sample()))
            self.stop.wait(0.5)

    def of(self, phase: str) -> list[tuple[float, str, int, int, int]]:
        return [s for s in self.samples if s[1] == phase]


# --- the faults -----------------------------------------------------------------------------
def database_switch(dbname: str, *, refuse: bool) -> None:
    import psycopg

    host = os.environ.get("PGHOST", "127.0.0.1")
    with psycopg.connect(f"host={host} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS {str(not refuse).lower()}')
        if refuse:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [dbname],
            )


@dataclass
class Fault:
    name: str
    inject: object  # () -> None: the fault begins
    restore: object  # () -> None: the fault ends (what the operator or systemd does)
    hold: float  # seconds between the two


# --- the run --------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase-seconds", type=float, default=20.0,
                        help="load after each fault's end (and the baseline's length)")  # fmt: skip
    parser.add_argument("--outage", type=float, default=5.0,
                        help="seconds the database refuses, or Redis is stopped")  # fmt: skip
    parser.add_argument("--recovery", type=float, default=60.0,
                        help="seconds a fault may take to recover from, and the queues to drain "
                             "once the load stops")  # fmt: skip
    parser.add_argument("--restart-postgres", action="store_true",
                        help="restart the local PostgreSQL cluster (every database on it)")  # fmt: skip
    parser.add_argument("--cluster", default="15 main", help="pg_ctlcluster VERSION NAME")
    parser.add_argument("--introspectors", type=int, default=3, help="introspection clients")
    parser.add_argument("--root", type=Path, default=ROOT, help="the Tessera checkout to run")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args()
    root = args.root.resolve()
    if root != ROOT:  # another checkout: its code, not this one's
        sys.path.insert(0, str(root))
        os.chdir(root)

    # A closed terminal or a `kill` runs the clean-up too: every process the drill started is
    # in a session of its own and would outlive it.
    def stop_drill(signum, frame):  # noqa: ARG001 - signal handler
        raise SystemExit(f"stopped by signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop_drill)
    try:
        return drill(args, root)
    finally:
        if not args.keep:
            drop_database(DB)


def drill(args, root: Path) -> int:
    os.environ["DEBUG"] = "true"  # set-up only (seed_demo); the stack runs with DEBUG off
    url = use_database(DB)
    kek = base64.b64encode(os.urandom(32)).decode()
    audit_key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    os.environ["AUDIT_SIGNING_KEY"] = audit_key  # audit_verify, at the end, checks with it
    os.environ["TESSERA_KEY_ENCRYPTION_KEY"] = kek
    os.environ["AUDIT_SEQUENCING"] = "inline"  # set-up only; the stack runs batched
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"  # set-up only
    log(f"drill database {DB}; migrating and loading the ontologies")
    setup_django()
    # A decision a second, through six phases and the faults' own time, and some to spare.
    world = build_world(decisions=int(6 * (args.phase_seconds + args.outage + 12)) + 30)

    work = Path(tempfile.mkdtemp(prefix="tessera-drill-"))
    mail = work / "mail"
    mail.mkdir()
    redis_port, web_port = free_port(), free_port()
    env = {
        **production_env(url, kek),
        "PYTHONPATH": str(root),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Checkpoints signed every minute, so that the signer's loop meets the faults too.
        "AUDIT_SIGNING_KEY": audit_key,
        "AUDIT_CHECKPOINT_MINUTES": "1",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail),
        # The beat sweep sends what a lost publish left in the outbox; every 5 s instead of 60
        # so that the drill's drain stays short.
        "TESSERA_NOTIFICATION_SWEEP_SECONDS": "5",
        "TESSERA_THROTTLE_ANON": "100000/min",
        "TESSERA_THROTTLE_USER": "100000/min",
        "TESSERA_THROTTLE_CLIENT": "100000/min",
        "TESSERA_THROTTLE_TOKENS": "100000/min",
        "PYTHONUNBUFFERED": "1",
    }
    python = str(VENV / "python")
    procs = {
        "redis": Proc("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(work)],
                      env, work, work),
        "web": Proc("web", [str(VENV / "gunicorn"), "config.wsgi:application",
                            "-b", f"127.0.0.1:{web_port}", "-w", "4", "--log-level", "warning"],
                    env, root, work),
        "sequencer": Proc("sequencer", [python, "manage.py", "audit_sequencer"], env, root, work),
        "worker": Proc("worker", [python, "-m", "celery", "-A", "config", "worker", "-l",
                                  "warning", "-c", "2", "--without-gossip", "--without-mingle"],
                       env, root, work),
        "beat": Proc("beat", [python, "-m", "celery", "-A", "config", "beat", "-l", "warning",
                              "-s", str(work / "beat-schedule")], env, root, work),
    }  # fmt: skip
    from django.db import connections

    connections.close_all()
    dsn = url.replace("postgres://", "postgresql://")
    watch = Watch(dsn)
    load = Load(port=web_port, **world)
    failures: list[str] = []
    report: list[list[object]] = []
    try:
        for proc in procs.values():
            proc.start()
        wait_for(lambda: redis_ping(redis_port), timeout=30, what="redis-server")
        wait_for(lambda: http_status(web_port, "/readyz") == 200, timeout=60, what="/readyz")
        log(f"stack up: gunicorn :{web_port}, redis :{redis_port}, logs in {work}")
        watch.thread.start()
        for thread in load.threads(introspectors=args.introspectors):
            thread.start()
        time.sleep(3)  # warm-up: every worker connected, keys loaded

        pool_before: list[int] = []

        def kill_pool() -> None:
            pool_before[:] = procs["worker"].children()
            if not pool_before:
                raise RuntimeError("the worker has no pool processes to kill")
            for pid in pool_before:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

        def pool_replaced() -> None:
            wait_for(lambda: procs["worker"].alive() and len(
                set(procs["worker"].children()) - set(pool_before)) >= 2,
                timeout=args.recovery, what="worker pool replaced")  # fmt: skip

        db_fault = (
            Fault(f"PostgreSQL restart ({args.cluster})",
                  lambda: subprocess.run(["pg_ctlcluster", *args.cluster.split(), "restart"],
                                         check=True, capture_output=True, timeout=120),
                  lambda: None, 0.0)
            if args.restart_postgres
            else Fault("database refuses connections",
                       lambda: database_switch(bench_db_name(DB), refuse=True),
                       lambda: database_switch(bench_db_name(DB), refuse=False), args.outage)
        )  # fmt: skip
        faults = [
            None,
            db_fault,
            Fault("Redis stopped", procs["redis"].stop,
                  lambda: (procs["redis"].start(),
                           wait_for(lambda: redis_ping(redis_port), timeout=30, what="redis")),
                  args.outage),
            Fault("worker pool SIGKILL", kill_pool, pool_replaced, 0.0),
            Fault("sequencer SIGKILL", procs["sequencer"].kill,
                  procs["sequencer"].start, 1.0),
            None,
        ]  # fmt: skip
        if args.restart_postgres:
            log(f"--restart-postgres: the cluster {args.cluster} will be restarted")
        for n, fault in enumerate(faults):
            name = fault.name if fault else ("baseline" if n == 0 else "after")
            load.phase = watch.phase = name
            began = time.monotonic()
            ended = began
            if fault:
                time.sleep(2)
                log(f"fault: {name}")
                try:
                    fault.inject()
                    time.sleep(fault.hold)
                    fault.restore()
                except (RuntimeError, subprocess.SubprocessError) as exc:
                    failures.append(f"{name}: {exc}")
                ended = time.monotonic()
                log(f"fault over after {ended - began - 2:.1f} s")
            time.sleep(args.phase_seconds)
            report.append([name, began, ended])
            # What died and stayed dead is a failure; it is started again, as systemd's
            # Restart=always would, so that the next phases still mean something.
            for proc in procs.values():
                if not proc.alive():
                    code = proc.process.returncode if proc.process else None
                    failures.append(
                        f"{name}: {proc.name} exited ({code}) and did not come back by itself "
                        f"(log: {proc.log}); the drill started it again"
                    )
                    proc.start()
        load.phase = watch.phase = "drain"
        load.stop.set()
        log("load stopped; waiting for the ledger and the outbox to drain")
        drained = drain(watch, timeout=args.recovery)
        if drained is None:
            failures.append(f"the ledger or the outbox did not drain within {args.recovery:.0f} s")
        for name, proc in procs.items():
            if not proc.alive():
                failures.append(f"{name} is not running at the end (log: {proc.log})")
        ready = http_status(web_port, "/readyz")
        if ready != 200:
            failures.append(f"/readyz answers {ready} at the end")
    finally:
        watch.stop.set()
        load.stop.set()
        for proc in procs.values():
            proc.stop()
        with contextlib.suppress(Exception):
            database_switch(bench_db_name(DB), refuse=False)

    connections.close_all()
    failures += print_report(load, watch, report, args, mail, root)
    if failures:
        print("\nFAILED:")
        for line in failures:
            print(f"- {line}")
        print(f"logs: {work}")
    if not failures and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def http_status(port: int, path: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return 0


def drain(watch: Watch, *, timeout: float) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        with contextlib.suppress(Exception):
            queued, _, unsent = watch.sample()
            if queued == 0 and unsent == 0:
                return time.monotonic() - began
        time.sleep(0.5)
    return None


# --- the world ------------------------------------------------------------------------------
def build_world(*, decisions: int) -> dict:
    """The demo world (seed_demo), then requests the chair decides during the drill, and the
    OAuth tokens the load uses. Returns Load's fields."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    from access.services import requests as request_services
    from demo.data import FALLBACK_DECIDER, FALLBACK_REQUEST, STORAGE_CLIENT_ID
    from governance.models import Dataset
    from tokens.issue import token_issue
    from tokens.oauth import client_register

    log("seeding the demo world")
    call_command("seed_demo", force=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    User = get_user_model()
    researcher = User.objects.get(username="researcher")
    chair = User.objects.get(username=FALLBACK_DECIDER)
    dataset = Dataset.objects.get(title=FALLBACK_REQUEST.datasets[0])
    requests_ = []
    log(f"{decisions} requests for the chair to decide")
    for n in range(decisions):
        applicant = User.objects.create_user(
            f"drill-{n}", f"drill-{n}@example.org", secrets.token_urlsafe(12),
            first_name="Drill", last_name=f"Applicant {n}",
        )  # fmt: skip
        access_request = request_services.request_create(
            applicant=applicant,
            data={"title": f"Drill request {n}", **FALLBACK_REQUEST.answers},
            datasets=[dataset],
        )
        for agreement in set(request_services.required_agreements(access_request).values()):
            request_services.agreement_accept(
                access_request=access_request, user=applicant, agreement=agreement
            )
        request_services.request_submit(access_request=access_request, actor=applicant)
        requests_.append(access_request.pk)

    from access.models import Grant

    grant = next(g for g in Grant.objects.filter(user=researcher) if g.inactive_reason() is None)
    issued = token_issue(grant=grant, actor=researcher)
    tool = client_register(
        name="Drill tool",
        grant_type="authorization-code",
        scopes=["tokens:issue", "committee:review"],
        redirect_uris="https://tool.example.org/callback",
        actor=None,
    )
    expires = timezone.now() + timedelta(hours=4)

    def bearer(user, application, scope) -> str:
        raw = secrets.token_urlsafe(32)
        AccessToken.objects.create(
            user=user, application=application, token=raw, expires=expires, scope=scope
        )
        return raw

    storage = Application.objects.get(client_id=STORAGE_CLIENT_ID)
    return {
        "bearer_storage": bearer(None, storage, "introspection"),
        "bearer_researcher": bearer(researcher, tool.application, "tokens:issue"),
        "bearer_chair": bearer(chair, tool.application, "committee:review"),
        "token": issued.token,
        "accession": grant.dataset.accession,
        "decisions": requests_,
        "end_date": (timezone.localdate() + timedelta(days=180)).isoformat(),
    }


# --- checking and reporting -----------------------------------------------------------------
def print_report(load: Load, watch: Watch, phases, args, mail: Path, root: Path) -> list[str]:
    from access.models import AccessRequest, Decision, Notification
    from audit.choices import EventType
    from audit.models import AuditEvent, Checkpoint, PendingEvent

    failures: list[str] = [f"a load client stopped: {crash}" for crash in load.crashes]
    answers = [a for a in load.answers if a.phase != "warm-up"]
    span = max(answers[-1].at - answers[0].at, 1.0) if answers else 1.0
    rate = Counter(a.kind for a in answers)
    print()
    print(
        f"fault drill: gunicorn 4 workers, PostgreSQL, ledger batched + audit_sequencer, Celery "
        f"worker + beat, Redis broker and cache; rev {git_revision(root)}, {os.cpu_count()} "
        f"CPUs; answers/s over {span:.0f} s: "
        + ", ".join(f"{kind} {rate[kind] / span:.1f}" for kind in KINDS)
    )
    # Every answer, the warm-up's too, is a success, an honest 503 with Retry-After, or (for a
    # chair pressing again on a request whose decision committed) 409.
    wrong: Counter = Counter()
    for a in load.answers:
        if a.status in (200, 201) or (a.kind == "decide" and a.status == 409):
            continue
        if a.status == 503 and a.retry_after:
            continue
        what = (
            "no answer"
            if a.status == 0
            else "503 without Retry-After"
            if a.status == 503
            else f"answered {a.status}"
        )
        wrong[(a.phase, a.kind, what)] += 1
    failures += [f"{phase}: {kind} {what}: {n} times" for (phase, kind, what), n in wrong.items()]
    for phase in ("baseline", "after"):
        for kind in KINDS:
            mine = [a.status for a in answers if a.phase == phase and a.kind == kind]
            if not any(status in (200, 201) for status in mine):
                failures.append(f"{phase}: no successful {kind} answer")
            elif phase == "after" and any(status not in (200, 201) for status in mine):
                failures.append(f"after: {kind} answers other than success once all had recovered")
    rows = []
    normal_queue = max((s[2] for s in watch.of("baseline")), default=0)
    for name, _began, ended in phases:
        mine = [a for a in answers if a.phase == name]
        by = defaultdict(Counter)
        for a in mine:
            by[a.kind][a.status] += 1
        cells = [
            " ".join(f"{s or 'none'}:{n}" for s, n in sorted(by[k].items())) or "-" for k in KINDS
        ]
        samples = watch.of(name)
        if samples:
            queued = f"{max(s[2] for s in samples):,}"
            chained = f"{samples[-1][3] - samples[0][3]:,}"
        else:
            queued = chained = "?"
        recovery = "-"
        if name not in ("baseline", "after"):
            # From the fault's end: the last answer that was not a success, and the first
            # sample with the ledger queue back to the baseline's largest.
            bad = [a.at - ended for a in mine if a.status not in (200, 201)]
            back = [s[0] - ended for s in samples if s[0] >= ended and s[2] <= normal_queue]
            if not back:
                failures.append(f"{name}: the ledger queue did not come back to {normal_queue}")
            took = max([0.0, *bad, back[0] if back else math.inf])
            if back and took > args.recovery:
                failures.append(f"{name}: recovered only after {took:.1f} s")
            recovery = f"{took:.1f}"
        rows.append([name, *cells, recovery, queued, chained])
    print(table(rows, ["phase", *[f"{k} (status:n)" for k in KINDS],
                       "recovered +s", "max queued", "chained"]))  # fmt: skip

    # One ledger event per successful answer, matched by the request id the client sent.
    events = Counter(
        AuditEvent.objects.filter(
            event_type__in=[EventType.TOKEN_INTROSPECTED, EventType.TOKEN_ISSUED,
                            EventType.DECISION_RECORDED]
        ).values_list("event_type", "request_id")
    )  # fmt: skip
    expected_type = {
        "introspect": EventType.TOKEN_INTROSPECTED,
        "token": EventType.TOKEN_ISSUED,
        "decide": EventType.DECISION_RECORDED,
    }
    lines = []
    for kind, event_type in expected_type.items():
        ok = [a for a in load.answers if a.kind == kind and a.status in (200, 201)]
        refused = [a for a in load.answers if a.kind == kind and a.status not in (200, 201, 0)]
        once = sum(events[(event_type, a.request_id)] == 1 for a in ok)
        extra = sum(events[(event_type, a.request_id)] for a in refused)
        lines.append(
            f"{kind}: {len(ok):,} successful answers, {once:,} with exactly one ledger event; "
            f"{len(refused):,} refused answers, {extra} with an event"
        )
        if once != len(ok):
            failures.append(
                f"{kind}: {len(ok) - once} successful answers without exactly one event"
            )
        if extra:
            failures.append(f"{kind}: {extra} refused answers have a ledger event")
    # Every decision committed has exactly one event, whatever its client saw.
    drill = AccessRequest.objects.filter(title__startswith="Drill request ")
    decisions = Decision.objects.filter(review__request__in=drill)
    per_review = Counter(decisions.values_list("review_id", flat=True))
    recorded = Counter(
        payload.get("decision")
        for payload in AuditEvent.objects.filter(
            event_type=EventType.DECISION_RECORDED
        ).values_list("payload", flat=True)
    )
    unrecorded = [d for d in decisions.values_list("pk", flat=True) if recorded[d] != 1]
    lines.append(
        f"decisions committed: {decisions.count()} on {len(per_review)} requests "
        f"(chair pressed {len(load.decided)} through); without exactly one event: {len(unrecorded)}"
    )
    if unrecorded or any(n > 1 for n in per_review.values()):
        failures.append(f"decisions: {len(unrecorded)} without one event, or a request twice")
    # The ledger as a whole.
    verify = subprocess.run(
        [str(VENV / "python"), "manage.py", "audit_verify"],
        cwd=root, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)},
        timeout=600,
    )  # fmt: skip
    summary = (verify.stdout.strip().splitlines() or [verify.stderr.strip()[-200:]])[-1]
    lines.append(
        f"ledger: {AuditEvent.objects.count():,} events chained, "
        f"{PendingEvent.objects.count()} still queued; audit_verify: {summary}"
    )
    if verify.returncode:
        failures.append(f"audit_verify exit {verify.returncode}: {summary}")
    checkpoints = Checkpoint.objects.count()
    lines.append(f"checkpoints signed during the drill (one a minute): {checkpoints}")
    if not checkpoints:
        failures.append("no checkpoint was signed")
    # Mail: each decision's notification sent, and each exactly once.
    expected = {
        (n.recipient.email, n.subject): n
        for n in Notification.objects.filter(
            dedupe_key__startswith="decided:", recipient__username__startswith="drill-"
        ).select_related("recipient")
    }
    sent = Counter()
    for path in mail.iterdir():
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                message = message_from_bytes(raw.strip(), policy=policy.default)
                sent[(message["To"], message["Subject"])] += 1
    delivered = sum(sent[key] == 1 for key in expected)
    twice = sum(n > 1 for n in sent.values())
    lines.append(
        f"decision mails: {len(expected)} expected, {delivered} sent exactly once, "
        f"{sum(sent[key] == 0 for key in expected)} missing; mails sent twice (any): {twice}"
    )
    if delivered != len(expected) or twice:
        failures.append("decision mails lost or duplicated")
    if len(expected) != decisions.count():
        failures.append(f"{decisions.count()} decisions but {len(expected)} decision mails")
    print()
    for line in lines:
        print(line)
    return failures


if __name__ == "__main__":
    sys.exit(main())
