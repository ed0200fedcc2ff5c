"""A real OpenID provider for the sign-in tests: `oidc-provider-mock` (Flask and Authlib) run as
its own process on a free local port, and what a person does at its authorisation page, done
with `requests`. Tessera is driven with Django's test client; only the provider is outside it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

CLIENT_ID = "tessera-test"
CLIENT_SECRET = "tessera-test-secret"
CALLBACK_PATH = "/accounts/oidc/callback/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningProvider:
    url: str
    process: subprocess.Popen

    def set_user(self, sub: str, **claims) -> None:
        """The provider's `PUT /users/<sub>`: the claims it will assert for `sub`."""
        answer = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert answer.status_code == 204, answer.text

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_provider(*extra: str, port: int | None = None) -> RunningProvider:
    """Start `python -m oidc_provider_mock` (nonces required) and wait until its discovery
    document answers."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--port",
            str(port),
            "--require-nonce",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"oidc-provider-mock exited with {process.returncode}")
        try:
            if requests.get(f"{url}/.well-known/openid-configuration", timeout=1).ok:
                return RunningProvider(url=url, process=process)
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("oidc-provider-mock did not answer within 30 s")
        time.sleep(0.1)


class DiscoveryMirror:
    """Another issuer URL for the same provider: serves, at its own port, the provider's
    discovery document unchanged (which names the provider's issuer and endpoints). A site
    configured with this URL as its issuer must refuse the provider's ID tokens."""

    def __init__(self, provider: RunningProvider):
        document = requests.get(f"{provider.url}/.well-known/openid-configuration", timeout=10)
        body = json.dumps(document.json()).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status = 200 if self.path == "/.well-known/openid-configuration" else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if status == 200 else b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def configure(settings, issuer: str, *, name: str = "Life Science Login") -> None:
    settings.TESSERA_OIDC_ISSUER = issuer
    settings.TESSERA_OIDC_CLIENT_ID = CLIENT_ID
    settings.TESSERA_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.TESSERA_OIDC_NAME = name
    settings.TESSERA_OIDC_SCOPES = "openid profile email"


def at_provider(client, *, query: dict | None = None) -> str:
    """Start a sign-in in Tessera; the provider's authorisation URL it redirects to."""
    started = client.get("/accounts/oidc/login/", query or {})
    assert started.status_code == 302, started.status_code
    return started["Location"]


def authorize(authorize_url: str, *, sub: str | None = None, deny: bool = False) -> str:
    """What the person does at the provider: open its page, then choose an identity (`sub`) or
    deny. The URL the provider sends them back to."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200 and "Authorize" in page.text, page.text[:500]
    form = {"action": "deny"} if deny else {"sub": sub}
    answer = requests.post(authorize_url, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def back_to_tessera(client, callback_url: str):
    """Follow the provider's redirect back into Tessera (its path and query)."""
    parts = urlsplit(callback_url)
    assert parts.path == CALLBACK_PATH, callback_url
    return client.get(f"{parts.path}?{parts.query}")


def link(client, *, sub: str, next_url: str = ""):
    """A signed-in person links an identity: the account page's button (a POST), the provider,
    Tessera's callback; the callback's response."""
    started = client.post("/accounts/oidc/link/", {"next": next_url})
    assert started.status_code == 302, started.status_code
    return back_to_tessera(client, authorize(started["Location"], sub=sub))


def sign_in(client, *, sub: str, query: dict | None = None):
    """The whole flow: Tessera → provider → Tessera's callback; the callback's response."""
    return back_to_tessera(client, authorize(at_provider(client, query=query), sub=sub))
