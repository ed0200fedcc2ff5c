"""GA4GH visa issuers for the tests: real keys (cryptography), visas signed with PyJWT, and
their key sets served by a real HTTP server on a free local port (http.server in a thread).

    issuer = world.trusted                 # in TESSERA_TRUSTED_VISA_ISSUERS
    token = issuer.visa(sub="ls-id-1")     # a ResearcherStatus visa, valid for an hour
    world.server.hits["/trusted/jwks"]     # how often Tessera fetched that key set
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class JwksServer:
    """Serves a JSON document per path; counts the requests per path."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] += 1
                if self.path not in server.documents:
                    self.send_error(404)
                    return
                body = json.dumps(server.documents[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def reset(self) -> None:
        self.documents.clear()
        self.hits.clear()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@dataclass
class Issuer:
    """A visa issuer: its `iss`, the URL of its key set, and its signing key."""

    iss: str
    jku: str
    alg: str
    private_key: Any
    kid: str

    def jwk(self) -> dict:
        algorithm = ECAlgorithm if self.alg == "ES256" else RSAAlgorithm
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    def jwks(self) -> dict:
        return {"keys": [self.jwk()]}

    def visa(
        self,
        *,
        sub: str,
        visa_type: str = "ResearcherStatus",
        source: str = "https://www.radboudumc.nl",
        by: str = "so",
        value: str = "https://doi.org/10.1038/s41431-018-0219-y",
        asserted: int | None = None,
        exp: int | None = None,
        iat: int | None = None,
        iss: str | None = None,
        headers: dict | None = None,
        key: Any = None,
        extra_visa: dict | None = None,
        jti: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": iss or self.iss,
            "sub": sub,
            "iat": now if iat is None else iat,
            "exp": now + 3600 if exp is None else exp,
            "jti": jti or f"visa-{now}-{id(self)}-{time.perf_counter_ns()}",
            "ga4gh_visa_v1": {
                "type": visa_type,
                "asserted": now - 86400 if asserted is None else asserted,
                "value": value,
                "source": source,
                "by": by,
                **(extra_visa or {}),
            },
        }
        return jwt.encode(
            claims,
            key or self.private_key,
            algorithm=self.alg,
            headers={"jku": self.jku, "kid": self.kid, **(headers or {})},
        )


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class VisaWorld:
    """Two trusted issuers (ES256 and RS256) and one that is not trusted, each serving its key
    set from the local server."""

    server: JwksServer
    trusted: Issuer
    trusted_rsa: Issuer
    untrusted: Issuer
    extra: dict = field(default_factory=dict)

    def serve(self, issuer: Issuer, path: str) -> None:
        self.server.documents[path] = issuer.jwks()
