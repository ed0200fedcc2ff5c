"""Webhook delivery throughput (issue 15, part 4) against a plain POST loop, same run.

    .venv/bin/python bench/webhook_delivery.py [--deliveries 2000] [--runs 3] [--sqlite] [--keep]

Starts the tests' real receiver process (tests/webhooks/receiver.py) on a free loopback port and
queues `--deliveries` webhook deliveries for one subscription. Then measures, in the same run
and against the same receiver:

  plain     a plain `requests.post(url, data=body)` loop over the same bodies (a new connection
            each, no signature, no database)
  session   the same loop over one `requests.Session` (kept-alive connections)
  webhooks  `webhooks.services.deliveries_send_due()`: lease, head of the queue, sign (Standard
            Webhooks HMAC-SHA256), POST, record the outcome, for every delivery, in order

and prints deliveries/s and the ratio to `plain` (median of `--runs`). One subscription is sent
strictly in order, one at a time: this is the floor of one endpoint's throughput; several
endpoints are sent in parallel by the Celery workers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import (
    ROOT,
    db_variant,
    drop_database,
    git_revision,
    setup_django,
    table,
    use_database,
)

NAME = "tessera_bench_webhooks"
JSON = {"content-type": "application/json"}


def start_receiver(folder: Path):
    sys.path.insert(0, str(ROOT))
    from tests.webhooks.conftest import free_port

    port = free_port()
    script = ROOT / "tests" / "webhooks" / "receiver.py"
    files = ["--log", str(folder / "log.jsonl"), "--mode-file", str(folder / "mode")]
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port), *files],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process, f"http://127.0.0.1:{port}/hooks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    use_database(NAME, sqlite=args.sqlite)
    setup_django(ontologies=False)

    import requests
    from django.utils import timezone

    from webhooks import payloads, services, signing
    from webhooks.choices import DeliveryStatus, WebhookEvent
    from webhooks.models import WebhookDelivery

    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-webhooks-"))
    receiver, url = start_receiver(folder)
    try:
        subscription, _secret = services.subscription_create(
            url=url, events=[WebhookEvent.GRANT_CREATED], actor=None
        )
        now = timezone.now()
        bodies = [
            payloads.body_for(
                event=WebhookEvent.GRANT_CREATED,
                data={
                    "grant": k,
                    "dataset": f"TSR-DS-{k % 500:06d}",
                    "subject": f"u-{k:032x}",
                    "request": f"TSR-AR-{k:06d}",
                    "decision": k,
                    "valid_from": now.isoformat(),
                    "valid_until": now.isoformat(),
                },
                at=now,
            )
            for k in range(args.deliveries)
        ]

        def plain() -> None:
            for body in bodies:
                response = requests.post(url, data=body.encode(), headers=JSON, timeout=10)
                response.raise_for_status()

        def session() -> None:
            with requests.Session() as http:
                for body in bodies:
                    response = http.post(url, data=body.encode(), headers=JSON, timeout=10)
                    response.raise_for_status()

        def webhooks() -> None:
            WebhookDelivery.objects.bulk_create(
                WebhookDelivery(
                    subscription=subscription,
                    event_type=WebhookEvent.GRANT_CREATED,
                    webhook_id=signing.webhook_id_new(),
                    body=body,
                    created_at=now,
                    next_attempt_at=now,
                )
                for body in bodies
            )
            start = time.perf_counter()
            sent = services.deliveries_send_due()
            timings["webhooks"].append(time.perf_counter() - start)
            assert sent == len(bodies), sent
            assert not WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()

        timings: dict[str, list[float]] = {"plain": [], "session": [], "webhooks": []}
        for _ in range(args.runs):
            for name, fn in (("plain", plain), ("session", session)):
                start = time.perf_counter()
                fn()
                timings[name].append(time.perf_counter() - start)
            webhooks()  # times itself: the queueing is not part of delivery
        received = sum(1 for _ in (folder / "log.jsonl").open())
        assert received == 3 * args.runs * args.deliveries, received

        base = args.deliveries / statistics.median(timings["plain"])
        rows = []
        for name, seconds in timings.items():
            rate = args.deliveries / statistics.median(seconds)
            rows.append([name, f"{rate:,.0f}", f"{rate / base:.2f}"])
        print(f"webhook delivery, {args.deliveries} deliveries x {args.runs} runs, one endpoint")
        print(
            f"git {git_revision()}  db {'sqlite' if args.sqlite else 'postgresql'}  {db_variant()}"
        )
        print(table(rows, ["loop", "deliveries/s", "ratio to plain"]))
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
        if not args.keep:
            drop_database(NAME)


if __name__ == "__main__":
    main()
