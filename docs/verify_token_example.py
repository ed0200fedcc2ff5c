"""Verifying Tessera access tokens in a storage service: a small, runnable example.

Read docs/storage-verification.md first. This file shows the offline path (JWKS + revocation
feed) and the online path (introspection), with the Python standard library and PyJWT
(`pip install "pyjwt[crypto]"`). It is an example to copy from, not a library: keep the checks,
adapt the plumbing (HTTP client, cache, threads) to your service.

    # offline and online verdicts for one token, for a read of one dataset
    python docs/verify_token_example.py --base-url http://127.0.0.1:8000 \\
        --client-id storage-demo --client-secret storage-demo-secret \\
        --dataset TSR-DS-000019 "$TOKEN"
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt  # PyJWT

ALGORITHM = "ES256"  # pinned: what Tessera is configured with (TESSERA_TOKEN_ALG); never "none"
TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type)
LEEWAY_SECONDS = 30  # clock skew between Tessera and this node
UNKNOWN_KID_REFETCH_SECONDS = 60  # at most one JWKS refetch a minute for kids we do not know


class Refused(Exception):
    """The token must not be honoured; the message is for your logs, not for the caller."""


def http_json(
    url: str, *, data: dict | None = None, headers: dict | None = None
) -> tuple[dict, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (https in production)
        return json.load(response), dict(response.headers)


# --- offline: the JWKS, cached by kid -------------------------------------------------------------
@dataclass
class JWKSCache:
    """Public keys by kid. Fetched once; refreshed when the server's max-age runs out; refetched
    at once for an unknown kid, but at most once per UNKNOWN_KID_REFETCH_SECONDS, so that tokens
    with made-up kids cannot make us hammer Tessera."""

    url: str
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    expires: float = 0.0
    last_fetch: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, kid: str) -> jwt.PyJWK:
        now = time.monotonic()
        with self.lock:
            stale = now >= self.expires
            unknown = kid not in self.keys
            if stale or (unknown and now - self.last_fetch >= UNKNOWN_KID_REFETCH_SECONDS):
                self._fetch(now)
            found = self.keys.get(kid)
        if found is None:
            raise Refused(f"unknown kid {kid!r}")
        return found

    def _fetch(self, now: float) -> None:
        self.last_fetch = now
        document, headers = http_json(self.url)
        keys = {}
        for jwk in document.get("keys", []):
            # Only signing keys of the pinned algorithm; anything else is ignored.
            if jwk.get("use") == "sig" and jwk.get("alg") == ALGORITHM and jwk.get("kid"):
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=ALGORITHM)
        self.keys = keys
        self.expires = now + _max_age(headers.get("Cache-Control", ""), default=300)


def _max_age(cache_control: str, *, default: int) -> int:
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name == "max-age" and value.isdigit():
            return int(value)
    return default


# --- offline: the revocation feed ---------------------------------------------------------------
@dataclass
class RevocationFeed:
    """Revoked jtis, kept until their token would have expired anyway. Poll every few seconds
    (the poll interval is how long a revocation takes to bite on this node)."""

    url: str
    bearer: Callable[[], str]
    cursor: int = 0
    revoked: dict[str, int] = field(default_factory=dict)  # jti -> exp

    def poll(self) -> None:
        while True:
            query = urllib.parse.urlencode({"since": self.cursor, "limit": 1000})
            page, _ = http_json(
                f"{self.url}?{query}", headers={"Authorization": f"Bearer {self.bearer()}"}
            )
            for entry in page["revoked"]:
                self.revoked[entry["jti"]] = entry["exp"]
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        now = time.time()
        self.revoked = {jti: exp for jti, exp in self.revoked.items() if exp > now}

    def is_revoked(self, jti: str) -> bool:
        return jti in self.revoked


# --- the checks ---------------------------------------------------------------------------------
@dataclass
class Verifier:
    issuer: str
    audience: str
    jwks: JWKSCache
    feed: RevocationFeed

    def verify(self, token: str, *, dataset: str) -> dict:
        """The token's claims if it may read `dataset` now; Refused otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Refused("not a JWT") from exc
        # Pin the algorithm and the type before touching the key: never let the token choose.
        if header.get("alg") != ALGORITHM:
            raise Refused(f"algorithm {header.get('alg')!r} is not {ALGORITHM}")
        if str(header.get("typ", "")).lower().removeprefix("application/") != TOKEN_TYPE:
            raise Refused("not an access token (typ)")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Refused("no kid")
        key = self.jwks.key(kid)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "scope"]},
            )
        except jwt.PyJWTError as exc:  # signature, exp, nbf, aud, iss
            raise Refused(str(exc)) from exc
        if self.feed.is_revoked(claims["jti"]):
            raise Refused("revoked")
        if f"dataset:{dataset}:read" not in claims["scope"].split():
            raise Refused(f"not a token for {dataset}")
        return claims


def introspect(base_url: str, bearer: str, token: str) -> dict:
    """The online answer: always current (revocation bites at once), one round trip."""
    answer, _ = http_json(
        f"{base_url}/api/v1/tokens/introspect",
        data={"token": token},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    return answer


@dataclass
class ClientCredentials:
    """An OAuth2 access token for this storage node, renewed a minute before it expires."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str = "introspection"
    token: str = ""
    expires: float = 0.0

    def __call__(self) -> str:
        if time.time() > self.expires - 60:
            basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            answer, _ = http_json(
                self.token_url,
                data={"grant_type": "client_credentials", "scope": self.scope},
                headers={"Authorization": f"Basic {basic}"},
            )
            self.token, self.expires = answer["access_token"], time.time() + answer["expires_in"]
        return self.token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("token")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--issuer", help="Tessera's TESSERA_BASE_URL (default: --base-url)")
    parser.add_argument("--audience", default="urn:tessera:storage")
    parser.add_argument("--dataset", required=True, help="the accession this read is for")
    parser.add_argument("--client-id", default="storage-demo")
    parser.add_argument("--client-secret", default="storage-demo-secret")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    credentials = ClientCredentials(f"{base}/o/token/", args.client_id, args.client_secret)
    feed = RevocationFeed(f"{base}/api/v1/tokens/revoked", credentials)
    feed.poll()  # in a service: in a background thread, every few seconds
    verifier = Verifier(
        args.issuer or base, args.audience, JWKSCache(f"{base}/.well-known/jwks.json"), feed
    )
    try:
        claims = verifier.verify(args.token, dataset=args.dataset)
        print(f"offline: ACCEPT sub={claims['sub']} jti={claims['jti']} exp={claims['exp']}")
    except Refused as exc:
        print(f"offline: REFUSE ({exc})")
    except urllib.error.URLError as exc:
        print(f"offline: cannot reach Tessera for the JWKS ({exc}); refuse unless cached")
    answer = introspect(base, credentials(), args.token)
    # Active is not enough: the token must be for the dataset being read.
    allowed = answer.get("active") and f"dataset:{args.dataset}:read" in answer["scope"].split()
    print(f"online:  {'ACCEPT' if allowed else 'REFUSE'} {json.dumps(answer)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
