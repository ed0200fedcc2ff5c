"""A Redis cache that is down, hung or restarted never fails a request (core/caching.py): the
throttles count in Redis while it is there, let requests through while it is not, and count
again once it is back; the failures are logged as one line, not a traceback per call.

Against a real `redis-server` (tests/redis_server.py), configured by `cache_config` exactly as
settings.py configures CACHE_URL."""

from __future__ import annotations

import logging
import math

import pytest
from axes.signals import user_locked_out
from django.test import Client

from audit.choices import EventType
from audit.models import AuditEvent
from core.caching import cache_config, cache_unreachable
from core.logs import CacheOutage
from tests.redis_server import redis_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis(tmp_path, settings):
    with redis_server(tmp_path) as server:
        settings.CACHES = {
            "default": cache_config(f"redis://127.0.0.1:{server.port}/1", timeout=0.5)
        }
        yield server


@pytest.fixture
def anon_rate(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "3/min",
        },
    }


@pytest.fixture
def outage_log(caplog):
    """The records of `tessera.cache` that got through its filter, which starts afresh."""
    (thinning,) = [
        f for f in logging.getLogger("tessera.cache").filters if isinstance(f, CacheOutage)
    ]
    thinning.last, thinning.failed = -math.inf, 0
    caplog.set_level(logging.WARNING, logger="tessera.cache")
    return lambda: [r for r in caplog.records if r.name == "tessera.cache"]


def catalogue(n: int) -> list[int]:
    return [Client().get("/api/v1/datasets/").status_code for _ in range(n)]


def test_the_backend_is_django_redis_with_timeouts_and_failures_let_go():
    config = cache_config("redis://cache.example.org:6379/1", timeout=0.25)
    assert config["BACKEND"] == "django_prometheus.cache.backends.redis.RedisCache"
    assert config["OPTIONS"] == {
        "IGNORE_EXCEPTIONS": True,
        "SOCKET_CONNECT_TIMEOUT": 0.25,
        "SOCKET_TIMEOUT": 0.25,
    }
    local = cache_config("locmemcache://tessera", timeout=0.25)
    assert local["BACKEND"] == "django_prometheus.cache.backends.locmem.LocMemCache"
    assert "OPTIONS" not in local


def test_throttles_count_in_redis_let_requests_through_while_it_is_down_and_count_again(
    redis, anon_rate, outage_log
):
    assert catalogue(4) == [200, 200, 200, 429]

    redis.stop()
    assert catalogue(6) == [200] * 6
    (line,) = outage_log()
    assert line.levelname == "WARNING" and line.exc_info is None
    assert line.getMessage().startswith("cache unreachable (")

    redis.start()  # the same port, empty: the count starts again
    assert catalogue(4) == [200, 200, 200, 429]


def test_readiness_warns_while_the_cache_is_unreachable_and_stays_up_for_it(redis):
    def warnings() -> list[str]:
        return Client().get("/readyz").json()["warnings"]

    assert cache_unreachable() is None
    assert not any(w.startswith("cache") for w in warnings())

    redis.stop()
    assert cache_unreachable() == (
        "cache unreachable (ConnectionError): requests go on without it and the API throttles "
        "let every request through"
    )
    assert cache_unreachable() in warnings()  # a warning: the status is the other checks'

    redis.start()
    assert cache_unreachable() is None


def test_a_hung_redis_costs_a_request_its_timeout_not_an_error(redis, anon_rate):
    assert catalogue(1) == [200]
    redis.pause()  # connections accepted, never answered
    try:
        assert catalogue(2) == [200, 200]
    finally:
        redis.resume()
    assert catalogue(3) == [200, 200, 429]


def test_a_lockout_is_recorded_while_the_cache_is_down(redis):
    def locked_out():
        user_locked_out.send(
            sender="test", request=None, username="someone", ip_address="192.0.2.9"
        )

    events = AuditEvent.objects.filter(event_type=EventType.LOGIN_LOCKED_OUT)
    locked_out()
    locked_out()
    assert events.count() == 1  # once per address, account and cool-off, kept in the cache

    redis.stop()
    locked_out()
    assert events.count() == 2  # cannot know whether it was recorded: recorded again


def test_the_outage_filter_lets_one_line_through_per_interval_with_the_count():
    thinning = CacheOutage(interval=60)
    record = lambda: logging.LogRecord(  # noqa: E731
        "tessera.cache", logging.ERROR, __file__, 1, "Redis ConnectionError: refused", None, None
    )
    first = record()
    assert thinning.filter(first)
    assert first.getMessage() == (
        "cache unreachable (Redis ConnectionError): requests go on without it; "
        "1 failed calls since the last such line"
    )
    assert [thinning.filter(record()) for _ in range(4)] == [False] * 4
    thinning.last -= 61  # a minute later
    later = record()
    assert thinning.filter(later)
    assert later.getMessage().endswith("; 5 failed calls since the last such line")
