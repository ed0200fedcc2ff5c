"""A real webhook receiver process per test (tests/webhooks/receiver.py), started and stopped
by the test on a free loopback port, and a subscription to it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from webhooks import services
from webhooks.choices import WebhookEvent

RECEIVER = Path(__file__).with_name("receiver.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """The receiver process: `start()`, `stop()`, `mode(...)`, and what it `received()`."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/tessera"
        self.log = folder / "requests.jsonl"
        self.mode_file = folder / "mode"
        self.process: subprocess.Popen | None = None

    def start(self) -> Receiver:
        arguments = ["--port", str(self.port), "--log", str(self.log)]
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, str(RECEIVER), *arguments, "--mode-file", str(self.mode_file)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process.stdout.close()
            self.process = None

    def mode(self, mode: str) -> None:
        self.mode_file.write_text(mode)

    def received(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def receiver(tmp_path, settings):
    # The receiver speaks plain HTTP on loopback: allowed while DEBUG is on, as in development.
    settings.DEBUG = True
    found = Receiver(tmp_path)
    yield found
    found.stop()


def subscribe(url: str, events=tuple(WebhookEvent.values)):
    """An endpoint subscribed (by the system, as `manage.py webhook_subscribe` does)."""
    return services.subscription_create(url=url, events=list(events), actor=None)
