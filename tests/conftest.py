"""Personas and shared set-up. The ontologies are loaded once per test database."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import override_settings

from accounts import passports
from audit import signing
from governance import services

from . import factories, visa_issuers
from .audit.attacker import triggers_lifted
from .visa_issuers import JwksServer

pytest_plugins = ["tests.access_world"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_ontologies", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _flush_past_ledger_triggers():
    """pytest-django empties every table after a transactional test (TRUNCATE on PostgreSQL,
    DELETE on SQLite), which the ledger's append-only triggers rightly refuse. Lift them for
    that flush only, as a superuser would; production never does this."""
    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with triggers_lifted(self.connection):
            return original(self, sql_list)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    BaseDatabaseOperations.execute_sql_flush = original


@pytest.fixture(scope="session", autouse=True)
def _audit_signing_key():
    """Tests run with DEBUG off, where checkpoint signing needs a configured key: give the
    session a throwaway one unless the environment already names a key."""
    if settings.AUDIT_SIGNING_KEY is not None:
        yield
        return
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    with override_settings(AUDIT_SIGNING_KEY=base64.b64encode(raw).decode()):
        signing.reset_signing_key_cache()
        yield
    signing.reset_signing_key_cache()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters kept in the cache (sign-in lockout, bounded ledger events, API throttles) start at zero in every
    test, whatever the tests before it did from the same address."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def organisation(db):
    return factories.organisation("Radboud University Medical Center")


@pytest.fixture
def committee(db, organisation):
    return factories.committee("radboud-dac", organisation=organisation)


@pytest.fixture
def other_committee(db):
    return factories.committee("leeds-dac")


@pytest.fixture
def chair(db, committee):
    return factories.committee_staff("chair", committee, "chair")


@pytest.fixture
def member(db, committee):
    return factories.committee_staff("member", committee, "member")


@pytest.fixture
def other_chair(db, other_committee):
    return factories.committee_staff("otherchair", other_committee, "chair")


@pytest.fixture
def other_member(db, other_committee):
    return factories.committee_staff("othermember", other_committee, "member")


@pytest.fixture
def steward(db, organisation):
    person = factories.user("steward", is_staff=True)
    services.organisation_steward_add(organisation=organisation, user=person, actor=None)
    return person


@pytest.fixture
def researcher(db):
    return factories.user("researcher")


@pytest.fixture
def outsider(db):
    return factories.user("outsider", is_staff=True)


@pytest.fixture
def admin_user(db):
    return factories.user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def dataset(db, committee, organisation):
    return factories.dataset(
        committee=committee, controller=organisation, title="Lung adenocarcinoma H&E"
    )


@pytest.fixture
def other_dataset(db, other_committee):
    return factories.dataset(
        committee=other_committee,
        controller=factories.organisation("Leeds Teaching Hospitals"),
        title="Colon biopsies",
        organ="colon",
    )


# --- GA4GH visa issuers (tests/visa_issuers.py) ---------------------------------------------
@pytest.fixture(scope="session")
def jwks_server():
    server = JwksServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _visa_keys():
    # An RSA key takes a moment to generate: one per session is enough.
    return {
        "ec": visa_issuers.ec_key(),
        "rsa": visa_issuers.rsa_key(),
        "bad": visa_issuers.ec_key(),
    }


@pytest.fixture
def visa_world(settings, jwks_server, _visa_keys):
    """Issuers whose key sets the local server serves; two of them are trusted."""
    jwks_server.reset()
    passports.reset_jwks_cache()
    trusted = visa_issuers.Issuer(
        iss="https://login.example.org/oidc/",
        jku=jwks_server.url("/trusted/jwks"),
        alg="ES256",
        private_key=_visa_keys["ec"],
        kid="trusted-ec-1",
    )
    trusted_rsa = visa_issuers.Issuer(
        iss="https://broker.example.eu",
        jku=jwks_server.url("/broker/jwks"),
        alg="RS256",
        private_key=_visa_keys["rsa"],
        kid="broker-rsa-1",
    )
    untrusted = visa_issuers.Issuer(
        iss="https://attacker.example.net",
        jku=jwks_server.url("/attacker/jwks"),
        alg="ES256",
        private_key=_visa_keys["bad"],
        kid="attacker-1",
    )
    world = visa_issuers.VisaWorld(
        server=jwks_server, trusted=trusted, trusted_rsa=trusted_rsa, untrusted=untrusted
    )
    for issuer, path in ((trusted, "/trusted/jwks"), (trusted_rsa, "/broker/jwks"),
                         (untrusted, "/attacker/jwks")):  # fmt: skip
        world.serve(issuer, path)
    settings.TESSERA_TRUSTED_VISA_ISSUERS = {
        trusted.iss: trusted.jku,
        trusted_rsa.iss: trusted_rsa.jku,
    }
    yield world
    passports.reset_jwks_cache()
