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
        config.setdefault("OPTIONS", {}).update(
            IGNORE_EXCEPTIONS=True, SOCKET_CONNECT_TIMEOUT=timeout, SOCKET_TIMEOUT=timeout
        )
    config["BACKEND"] = COUNTED.get(config["BACKEND"], config["BACKEND"])
    return config
