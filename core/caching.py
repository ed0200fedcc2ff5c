"""The CACHES setting, from CACHE_URL (docs/deployment.md)."""

from __future__ import annotations

from typing import Any

import environ

# The same backends, counting gets, hits and misses for /metrics (django-prometheus).
COUNTED = {
    "django.core.cache.backends.locmem.LocMemCache": (
        "django_prometheus.cache.backends.locmem.LocMemCache"
    ),
    "django.core.cache.backends.filebased.FileBasedCache": (
        "django_prometheus.cache.backends.filebased.FileBasedCache"
    ),
    "django.core.cache.backends.redis.RedisCache": (
        "django_prometheus.cache.backends.redis.NativeRedisCache"
    ),
    "django_redis.cache.RedisCache": "django_prometheus.cache.backends.redis.RedisCache",
}


def cache_config(url: str, *, timeout: float) -> dict[str, Any]:
    """One cache's settings. Nothing in Tessera's cache is needed to answer (throttle counts,
    consent decisions, ledger proofs): with Redis (django-redis) down or hung, each call gives
    up after `timeout` seconds and the request goes on as after a miss (throttles let requests
    through), never a 500. django-redis logs each such failure to `tessera.cache`, which
    core.logs.CacheOutage thins to one line a minute per process."""
    config = environ.Env.cache_url_config(url)
    if config["BACKEND"] == "django_redis.cache.RedisCache":
        options = config.setdefault("OPTIONS", {})
        options["IGNORE_EXCEPTIONS"] = True
        options.setdefault("SOCKET_CONNECT_TIMEOUT", timeout)
        options.setdefault("SOCKET_TIMEOUT", timeout)
    config["BACKEND"] = COUNTED.get(config["BACKEND"], config["BACKEND"])
    return config


def cache_unreachable() -> str | None:
    """Readiness warning: the Redis cache does not answer (down, or a wrong address or
    password, which IGNORE_EXCEPTIONS would otherwise hide for good). A warning, not a 503:
    requests go on without the cache, and every node shares it."""
    from django.core.cache import cache  # noqa: PLC0415 - the configured cache, at call time

    client = getattr(cache, "client", None)
    if not hasattr(client, "get_client"):  # not django-redis: nothing that can be away
        return None
    try:
        client.get_client(write=True).ping()
    except Exception as exc:  # any failure is the answer; named by its type alone
        return (
            f"cache unreachable ({type(exc).__name__}): requests go on without it and the API "
            "throttles let every request through"
        )
    return None
